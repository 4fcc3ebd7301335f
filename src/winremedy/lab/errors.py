"""The lab's expected failures: a bad fleet file, a busy directory, no free ports.

Raised as :class:`LabError` so the CLI prints one line and exits 2, never a traceback.
"""

from __future__ import annotations

from ..errors import WinRemedyError


class LabError(WinRemedyError):
    """The lab cannot do what was asked (bad fleet, lab already running, ports exhausted, ...)."""

    code = "lab"
