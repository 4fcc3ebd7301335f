"""Leak history across runs, on the controller: "has this host been growing for days?".

Every audit appends each host's indicator samples and KB statuses; the leak
trend of the next audit uses the last days of them together with its own
samples, so a nightly one-sample audit yields a verdict after a few nights.
The store is an interface (:class:`HistoryStore`) so that another database can
stand behind it; :func:`open_history` picks the implementation from a path or
URL: SQLite embedded in the results directory (the default), or a PostgreSQL
database that several controllers share (``postgresql://``).
"""

from __future__ import annotations

from pathlib import Path

from .outage import OutageTolerantHistory
from .postgres import PostgresHistory, is_postgres_url, redacted
from .sqlite import SqliteHistory
from .store import HistoryError, HistoryStore, HostRecord, Point, StatusRecord

__all__ = ["DEFAULT_DAYS", "FILE_NAME", "LOCATIONS", "HistoryError", "HistoryStore", "HostRecord",
           "OutageTolerantHistory", "Point", "StatusRecord", "history_path", "open_history"]

DEFAULT_DAYS = 7.0
FILE_NAME = "history.sqlite"
# What a history location may be, for every option that takes one (CLI and collection alike).
LOCATIONS = ("a results directory, a history .sqlite file, or a shared PostgreSQL database as "
             "postgresql://USER@HOST[:PORT]/DB (the password from PGPASSWORD or ~/.pgpass, not the command line)")


def history_path(directory: Path) -> Path:
    """The history database of a results directory."""
    return directory / FILE_NAME


def open_history(location: str | Path, *, create: bool = True) -> HistoryStore:
    """The store at ``location``: a results directory, a ``.sqlite`` file, a ``sqlite:///`` or a
    ``postgresql://`` URL; connected and its schema current (created or migrated), or a one-line error.

    Without ``create``, a SQLite database that does not exist yet is an error, not a new file.
    """
    text = str(location)
    if is_postgres_url(text):
        return PostgresHistory(text)
    if "://" in text and not text.startswith("sqlite:///"):
        raise HistoryError(f"{redacted(text)}: unsupported history location (expected a directory, a file, "
                           "sqlite:///PATH or postgresql://...)")
    path = Path(text[len("sqlite://"):] if text.startswith("sqlite:///") else text)
    if not create and not path.exists():
        raise HistoryError(f"{path}: no such results directory or database")
    if path.is_dir():
        path = history_path(path)
    return SqliteHistory(path)
