"""Report files are replaced atomically: a dashboard polling ``report.json`` never reads half of one."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_text_atomic
from ..errors import WinRemedyError


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; a failure is one line naming the report."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise WinRemedyError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
