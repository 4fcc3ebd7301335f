"""What the history holds and the interface of a store that holds it (SQLite embedded, or PostgreSQL shared)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..errors import WinRemedyError


# A run begun this recently with nothing written yet is spared by prune: an audit still taking its first samples
# (or another controller's) writes its rows under it soon.
UNWRITTEN_RUN_GRACE = timedelta(days=1)


def unwritten_run_cutoff() -> str:
    """Runs started before this instant (ISO 8601 UTC, as audits record them) may be pruned once empty."""
    return (datetime.now(timezone.utc) - UNWRITTEN_RUN_GRACE).isoformat(timespec="seconds")


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
    """Where the history lives. Every implementation takes one writer and many readers at a time; PostgreSQL
    takes many writers (several controllers), each sample stored once."""

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
