"""The history in an embedded SQLite database: versioned schema, WAL, one transaction per host.

WAL lets audits append while ``winremedy history`` reads; ``BEGIN IMMEDIATE``
with a busy timeout serialises concurrent writers instead of failing them; a
killed process leaves every committed host whole and nothing of the host it
was writing (SQLite's journal rolls the partial transaction back on open).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .store import HistoryError, HostRecord, Point, StatusRecord, unwritten_run_cutoff

BUSY_TIMEOUT = 60.0  # seconds a writer waits for another one
_DAY = 86400.0

# Migration N brings the schema from version N to N + 1 (PRAGMA user_version). Never edit one: append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL)",
        "CREATE TABLE samples (host TEXT NOT NULL, series TEXT NOT NULL, t REAL NOT NULL, value REAL NOT NULL,"
        " boot TEXT NOT NULL, fixed INTEGER NOT NULL, run INTEGER NOT NULL REFERENCES runs(id),"
        " PRIMARY KEY (host, series, t)) WITHOUT ROWID",
        "CREATE TABLE statuses (host TEXT NOT NULL, kb TEXT NOT NULL, at REAL NOT NULL, status TEXT NOT NULL,"
        " run INTEGER NOT NULL REFERENCES runs(id), PRIMARY KEY (host, kb, at)) WITHOUT ROWID",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteHistory:
    """A :class:`~winremedy.history.HistoryStore` in one SQLite file; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.location = str(path)
        self._path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate(self._connection())
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"{path}: cannot open the history database: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self, connection: sqlite3.Connection) -> None:
        with self._transaction():
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{self._path}: history schema version {version} is newer than this winremedy "
                                   f"knows ({SCHEMA_VERSION}); upgrade winremedy")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _guard(self, what: str) -> _Guard:
        return _Guard(self._path, what)

    def begin_run(self, started_at: str) -> int:
        with self._guard("start a run"), self._transaction() as db:
            run = db.execute("INSERT INTO runs (started_at) VALUES (?)", (started_at,)).lastrowid
        assert run is not None
        return run

    def write_host(self, run: int, record: HostRecord) -> None:
        rows = [(record.host, key, p.t, p.value, p.boot, int(p.fixed), run)
                for key, points in record.series.items() for p in points]
        with self._guard(f"write {record.host}"), self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT OR REPLACE INTO statuses VALUES (?, ?, ?, ?, ?)",
                           [(record.host, kb, record.at, status, run) for kb, status in record.statuses.items()])

    def read(self, host: str, since: float, indicator: str | None = None) -> dict[str, list[Point]]:
        query = "SELECT series, t, value, boot, fixed FROM samples WHERE host = ? AND t >= ?"
        params: tuple[object, ...] = (host, since)
        if indicator is not None:
            query, params = query + " AND series = ?", (*params, indicator)
        series: dict[str, list[Point]] = {}
        with self._guard(f"read {host}"):
            for key, t, value, boot, fixed in self._connection().execute(query + " ORDER BY series, t", params):
                series.setdefault(key, []).append(Point(t, value, boot, bool(fixed)))
        return series

    def statuses(self, host: str, since: float) -> list[StatusRecord]:
        with self._guard(f"read {host}"):
            rows = self._connection().execute(
                "SELECT at, kb, status FROM statuses WHERE host = ? AND at >= ? ORDER BY at, kb", (host, since))
            return [StatusRecord(at, kb, status) for at, kb, status in rows]

    def prune(self, keep_days: float) -> int:
        with self._guard("prune"):
            with self._transaction() as db:
                newest = db.execute("SELECT max(t) FROM samples").fetchone()[0]
                if newest is None:
                    return 0
                cutoff = newest - keep_days * _DAY
                deleted = db.execute("DELETE FROM samples WHERE t < ?", (cutoff,)).rowcount
                deleted += db.execute("DELETE FROM statuses WHERE at < ?", (cutoff,)).rowcount
                db.execute("DELETE FROM runs WHERE started_at < ? AND id NOT IN"
                           " (SELECT run FROM samples UNION SELECT run FROM statuses)", (unwritten_run_cutoff(),))
            connection = self._connection()
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class _Guard:
    """Turns a database error into one line naming the file and what was being done."""

    def __init__(self, path: Path, what: str) -> None:
        self._path, self._what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if isinstance(error, sqlite3.Error):
            raise HistoryError(f"{self._path}: cannot {self._what} in the history database: {error}") from None
