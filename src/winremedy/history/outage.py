"""An audit outlives its history database: the results come first.

The store is opened (connected, schema checked) before any host is audited, so
a database that is down or refuses the credentials stops the run before it
starts. If it fails later, mid-run (a network partition, a restarted server),
the audit goes on without it: every host is still audited and its result file
saved; the hosts whose samples could not be written are named at the end,
when :meth:`OutageTolerantHistory.check` fails the run in one line.
"""

from __future__ import annotations

import threading

from .store import HistoryError, HistoryStore, HostRecord, Point, StatusRecord


class OutageTolerantHistory:
    """A :class:`~winremedy.history.HistoryStore` that stops using ``store`` at its first failure and says so."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self.location = store.location
        self.failure: HistoryError | None = None
        self.missed: list[str] = []  # hosts whose samples are not in the history
        self._lock = threading.Lock()

    def _failed(self, error: HistoryError) -> None:
        with self._lock:
            self.failure = self.failure or error

    def begin_run(self, started_at: str) -> int:
        try:
            return self.store.begin_run(started_at)
        except HistoryError as error:
            self._failed(error)
            return 0

    def write_host(self, run: int, record: HostRecord) -> None:
        if self.failure is None:
            try:
                return self.store.write_host(run, record)
            except HistoryError as error:
                self._failed(error)
        self.missed.append(record.host)

    def read(self, host: str, since: float, indicator: str | None = None) -> dict[str, list[Point]]:
        """The host's history; nothing once the store failed (the trend then has this run's samples only)."""
        if self.failure is None:
            try:
                return self.store.read(host, since, indicator)
            except HistoryError as error:
                self._failed(error)
        return {}

    def statuses(self, host: str, since: float) -> list[StatusRecord]:
        return self.store.statuses(host, since)

    def prune(self, keep_days: float) -> int:
        return self.store.prune(keep_days)

    def close(self) -> None:
        self.store.close()

    def check(self) -> None:
        """Raise the first failure, with the hosts it left out of the history, if there was one."""
        if self.failure is None:
            return
        missed = sorted(self.missed)
        shown = ", ".join(missed[:5]) + (f" and {len(missed) - 5} more" if len(missed) > 5 else "")
        raise HistoryError(f"{self.failure}; not in the history: {len(missed)} host(s)"
                           + (f" ({shown})" if missed else "") + "; their result files are saved (a rerun with --resume writes them to the history)")
