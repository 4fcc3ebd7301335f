"""Leak history across runs, on the controller: "has this host been growing for days?".

Every audit appends each host's indicator samples and KB statuses; the leak
trend of the next audit uses the last days of them together with its own
samples, so a nightly one-sample audit yields a verdict after a few nights.
The store is an interface (:class:`HistoryStore`) so that another database can
stand behind it; :func:`open_history` picks the implementation from a path or
URL (today: SQLite, embedded in the results directory).
"""

from __future__ import annotations

from pathlib import Path

from .sqlite import SqliteHistory
from .store import HistoryError, HistoryStore, HostRecord, Point, StatusRecord

__all__ = ["DEFAULT_DAYS", "FILE_NAME", "HistoryError", "HistoryStore", "HostRecord", "Point", "StatusRecord",
           "history_path", "open_history"]

DEFAULT_DAYS = 7.0
FILE_NAME = "history.sqlite"


def history_path(directory: Path) -> Path:
    """The history database of a results directory."""
    return directory / FILE_NAME


def open_history(location: str | Path) -> HistoryStore:
    """The store at ``location``: a results directory, a ``.sqlite`` file or a ``sqlite:///`` URL."""
    text = str(location)
    if "://" in text and not text.startswith("sqlite:///"):
        raise HistoryError(f"{text}: unsupported history location (expected a directory, a file or sqlite:///PATH)")
    path = Path(text[len("sqlite://"):] if text.startswith("sqlite:///") else text)
    if path.is_dir():
        path = history_path(path)
    return SqliteHistory(path)
