"""The history in PostgreSQL: one database that several controllers (or AWX job slices) share.

Each sample is one row keyed by host, series and sample time, and every write
is ``INSERT ... ON CONFLICT DO NOTHING`` in one transaction per host: two
controllers that write the same host leave one row per sample, and a
controller killed mid-run leaves every host it committed whole and nothing of
the one it was writing (PostgreSQL rolls back the open transaction of a lost
connection). The schema lives in its own PostgreSQL schema and is created and
migrated by whichever controller comes first, under a transaction-level
advisory lock, so that two first runs at the same moment do not race
(https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).

psycopg (version 3) is an optional dependency: ``pip install 'winremedy[postgres]'``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .store import HistoryError, HostRecord, Point, StatusRecord, unwritten_run_cutoff

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql://", "postgres://")  # the URI forms libpq accepts
SCHEMA = "winremedy"
CONNECT_TIMEOUT = 10  # seconds: a database that does not answer fails the run early, not after the audit
_LOCK_KEY = 0x77696E72656D6564  # "winremed": the advisory lock that serialises schema creation and migration
_DAY = 86400.0
_HIDDEN = "***"

# Migration N brings the schema from version N to N + 1 (SCHEMA.version). Never edit one: append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"CREATE TABLE {SCHEMA}.runs (id bigserial PRIMARY KEY, started_at timestamptz NOT NULL)",
        f"CREATE TABLE {SCHEMA}.samples (host text NOT NULL, series text NOT NULL, t double precision NOT NULL,"
        " value double precision NOT NULL, boot text NOT NULL, fixed boolean NOT NULL,"
        f" run bigint NOT NULL REFERENCES {SCHEMA}.runs(id), PRIMARY KEY (host, series, t))",
        f"CREATE TABLE {SCHEMA}.statuses (host text NOT NULL, kb text NOT NULL, at double precision NOT NULL,"
        f" status text NOT NULL, run bigint NOT NULL REFERENCES {SCHEMA}.runs(id), PRIMARY KEY (host, kb, at))",
        f"CREATE INDEX ON {SCHEMA}.samples (t)",  # prune's range scan
        f"CREATE INDEX ON {SCHEMA}.statuses (at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def is_postgres_url(location: str) -> bool:
    return location.startswith(SCHEMES)


def redacted(url: str) -> str:
    """``url`` with its password (in the user part or as a ``password=`` parameter) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, where = netloc.rpartition("@")
        name, colon, _password = user.partition(":")
        netloc = f"{name}{':' + _HIDDEN if colon else ''}@{where}"
    query = "&".join(f"{field.partition('=')[0]}={_HIDDEN}" if field.partition("=")[0].lower() == "password"
                     else field for field in parts.query.split("&")) if parts.query else ""
    return parts._replace(netloc=netloc, query=query).geturl()


def _secrets(url: str) -> list[str]:
    """The password of ``url`` as written and as decoded, longest first, to scrub from error texts."""
    parts = urlsplit(url)
    found = [parts.password or ""] + [field.partition("=")[2] for field in parts.query.split("&")
                                      if field.partition("=")[0].lower() == "password"]
    return sorted({text for value in found for text in (value, unquote(value)) if text}, key=len, reverse=True)


class PostgresHistory:
    """A :class:`~winremedy.history.HistoryStore` in a PostgreSQL database, given by a ``postgresql://`` URL.

    The password comes from the URL, ``PGPASSWORD`` or ``~/.pgpass`` (libpq's
    own rules); :attr:`location` and every error show the URL without it.
    One connection, used by one thread at a time: the audit's worker threads
    read a host's history in one short query each.
    """

    def __init__(self, url: str) -> None:
        self.location = redacted(url)
        self._secrets = _secrets(url)
        self._lock = threading.Lock()
        try:
            import psycopg
        except ImportError:
            raise HistoryError(f"{self.location}: a PostgreSQL history needs psycopg: "
                               "pip install 'winremedy[postgres]'") from None
        self._errors: type[Exception] = psycopg.Error
        with self._guard("connect to"):
            self._db: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                                                application_name="winremedy")
        with self._guard("create or migrate"):
            self._migrate()

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """A database error as one line naming the database (no password) and what was being done."""
        try:
            with self._lock:
                yield
        except self._errors as error:
            text = " ".join(str(error).split())
            for secret in self._secrets:  # libpq does not echo passwords, but a server's message could
                text = text.replace(secret, _HIDDEN)
            raise HistoryError(f"{self.location}: cannot {what} the history database: {text}") from None

    def _migrate(self) -> None:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            if self._db.execute("SELECT to_regnamespace(%s)", (SCHEMA,)).fetchone() == (None,):
                self._db.execute(f"CREATE SCHEMA {SCHEMA}")
            if self._db.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.version",)).fetchone() == (None,):
                self._db.execute(f"CREATE TABLE {SCHEMA}.version (version integer NOT NULL)")
                self._db.execute(f"INSERT INTO {SCHEMA}.version VALUES (0)")
            row = self._db.execute(f"SELECT version FROM {SCHEMA}.version").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{self.location}: history schema version {version} is newer than this winremedy "
                                   f"knows ({SCHEMA_VERSION}); upgrade winremedy")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    self._db.execute(statement)
            if version != SCHEMA_VERSION:
                self._db.execute(f"UPDATE {SCHEMA}.version SET version = %s", (SCHEMA_VERSION,))

    def begin_run(self, started_at: str) -> int:
        with self._guard("start a run in"):
            row = self._db.execute(f"INSERT INTO {SCHEMA}.runs (started_at) VALUES (%s) RETURNING id",
                                   (started_at,)).fetchone()
        assert row is not None
        return int(row[0])

    def write_host(self, run: int, record: HostRecord) -> None:
        samples = [(record.host, key, p.t, p.value, p.boot, p.fixed, run)
                   for key, points in record.series.items() for p in points]
        statuses = [(record.host, kb, record.at, status, run) for kb, status in record.statuses.items()]
        with self._guard(f"write {record.host} to"), self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {SCHEMA}.samples VALUES (%s, %s, %s, %s, %s, %s, %s)"
                               " ON CONFLICT DO NOTHING", samples)
            cursor.executemany(f"INSERT INTO {SCHEMA}.statuses VALUES (%s, %s, %s, %s, %s)"
                               " ON CONFLICT (host, kb, at) DO UPDATE SET status = excluded.status, run = excluded.run",
                               statuses)

    def read(self, host: str, since: float, indicator: str | None = None) -> dict[str, list[Point]]:
        query = f"SELECT series, t, value, boot, fixed FROM {SCHEMA}.samples WHERE host = %s AND t >= %s"
        params: tuple[object, ...] = (host, since)
        if indicator is not None:
            query, params = query + " AND series = %s", (*params, indicator)
        series: dict[str, list[Point]] = {}
        with self._guard(f"read {host} from"):
            for key, t, value, boot, fixed in self._db.execute(query + " ORDER BY series, t", params):
                series.setdefault(key, []).append(Point(t, value, boot, fixed))
        return series

    def statuses(self, host: str, since: float) -> list[StatusRecord]:
        with self._guard(f"read {host} from"):
            rows = self._db.execute(f"SELECT at, kb, status FROM {SCHEMA}.statuses WHERE host = %s AND at >= %s"
                                    " ORDER BY at, kb", (host, since)).fetchall()
        return [StatusRecord(at, kb, status) for at, kb, status in rows]

    def prune(self, keep_days: float) -> int:
        """As the SQLite store's (the space is left to PostgreSQL's autovacuum), while other controllers write."""
        with self._guard("prune"), self._db.transaction():
            newest = self._db.execute(f"SELECT max(t) FROM {SCHEMA}.samples").fetchone()
            if newest is None or newest[0] is None:
                return 0
            cutoff = newest[0] - keep_days * _DAY
            deleted = self._db.execute(f"DELETE FROM {SCHEMA}.samples WHERE t < %s", (cutoff,)).rowcount
            deleted += self._db.execute(f"DELETE FROM {SCHEMA}.statuses WHERE at < %s", (cutoff,)).rowcount
            self._db.execute(f"DELETE FROM {SCHEMA}.runs WHERE started_at < %s AND id NOT IN"
                             f" (SELECT run FROM {SCHEMA}.samples UNION SELECT run FROM {SCHEMA}.statuses)",
                             (unwritten_run_cutoff(),))
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()

