"""One error family for the engine, each kind with a stable code.

Expected failures (bad input, an unreachable host) are raised as a subclass of
:class:`WinRemedyError`; the CLI prints ``str(error)`` on one line and exits 2,
never a traceback. Messages name the file, key, host or KB involved.
"""

from __future__ import annotations


class WinRemedyError(Exception):
    """Base of every expected failure; ``code`` is stable and machine-readable."""

    code = "error"


class CatalogError(WinRemedyError):
    """A catalog file is unreadable or does not follow the schema."""

    code = "catalog"


class FactsError(WinRemedyError):
    """Host facts (JSON, systeminfo, wmic qfe) cannot be read or are not understood."""

    code = "facts"


class VersionError(WinRemedyError, ValueError):
    """A string is not a 4-part Windows file version."""

    code = "version"
