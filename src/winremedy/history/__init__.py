"""Leak history across runs, on the controller: "has this host been growing for days?".

Every audit appends each host's indicator samples and KB statuses; the leak
trend of the next audit uses the last days of them together with its own
samples, so a nightly one-sample audit yields a verdict after a few nights.
The store is an interface (:class:`HistoryStore`) so that another database can
stand behind it; :func:`open_history` picks the implementation from a path or
URL (today: SQLite, embedded in the results directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import WinRemedyError

DEFAULT_DAYS = 7.0
FILE_NAME = "history.sqlite"


class HistoryError(WinRemedyError):
    """The history database cannot be opened, read or written."""

    code = "history"


@dataclass(frozen=True)
class Point:
    """One sample of one series, with what splits a series: the boot it belongs to and whether the fix was in."""

    t: float  # host time, seconds since the epoch
    value: float
    boot: str  # the host's boot time (ISO 8601), "" when unknown
    fixed: bool  # the indicator's KB was fixed when the sample was taken


@dataclass(frozen=True)
class StatusRecord:
    """The status of one KB on one host at one audit."""

    at: float  # host time of the audit's last sample (or its collection time)
    kb: str
    status: str


@dataclass(frozen=True)
class HostRecord:
    """What one audit adds to the history for one host: written whole or not at all."""

    host: str
    at: float
    series: dict[str, list[Point]]
    statuses: dict[str, str]  # KB -> status


class HistoryStore(Protocol):
    """Where the history lives. Implementations are safe for one writer and many readers at a time."""

    location: str

    def begin_run(self, started_at: str) -> int:
        """A new run; its id tags the records written for it."""

    def write_host(self, run: int, record: HostRecord) -> None:
        """Append one host's samples and statuses in one transaction (idempotent for the same samples)."""

    def read(self, host: str, since: float, indicator: str | None = None) -> dict[str, list[Point]]:
        """The host's series (or one of them) with samples at or after ``since``, oldest first."""

    def statuses(self, host: str, since: float) -> list[StatusRecord]:
        """The host's KB statuses recorded at or after ``since``, oldest first."""

    def prune(self, keep_days: float) -> int:
        """Forget what is older than ``keep_days`` before the newest sample; compact; the rows deleted."""

    def close(self) -> None: ...


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
    from .sqlite import SqliteHistory

    return SqliteHistory(path)
