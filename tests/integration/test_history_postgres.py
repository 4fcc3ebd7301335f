"""The PostgreSQL history against a real server on loopback: schema and migrations, one row per sample whoever
writes it, the commands that read it, and a database that is down or refuses the credentials."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from winremedy.cli import main
from winremedy.history import HistoryError, HostRecord, Point, open_history
from winremedy.history import postgres
from winremedy.history.postgres import SCHEMA, SCHEMA_VERSION, redacted
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile

pytestmark = pytest.mark.integration

PASSWORD = "p@ss:w0rd/with?odd&chars"  # a password that must survive URL quoting and never be shown
DAY, T0 = 86400.0, 1.7e9
_names = itertools.count(1)


@pytest.fixture
def database(postgres_server: Any) -> Iterator[dict[str, str]]:
    """A new database owned by a new role with a password: its URL with and without the password."""
    number = next(_names)
    name, role = f"history{number}", f"controller{number}"
    bare = postgres_server.database(name, role, PASSWORD)
    yield {"url": postgres_server.url(role, name, PASSWORD), "bare": bare, "name": name, "role": role}


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as db:
        return db.execute(query).fetchall()  # type: ignore[arg-type]  # the tests' own literal queries


def _record(host: str, night: int, value: float, *, status: str = "missing") -> HostRecord:
    t = T0 + night * DAY
    return HostRecord(host, t, {"nsi_private_bytes": [Point(t, value, "2023-11-14T00:00:00Z", False),
                                                      Point(t + 60, value + 1, "2023-11-14T00:00:00Z", False)]},
                      {"KB2847346": status})


def test_the_schema_is_created_once_and_opening_again_changes_nothing(database: dict[str, str]) -> None:
    for _ in range(2):
        store = open_history(database["url"])
        store.close()
    assert _rows(database["url"], f"SELECT version FROM {SCHEMA}.version") == [(SCHEMA_VERSION,)]
    tables = {name for (name,) in _rows(database["url"], "SELECT tablename FROM pg_tables WHERE schemaname = "
                                                         f"'{SCHEMA}'")}
    assert tables == {"version", "runs", "samples", "statuses"}


def test_two_controllers_creating_the_schema_at_once_both_succeed(database: dict[str, str]) -> None:
    start, errors, stores = threading.Barrier(6), [], []

    def first_run() -> None:
        start.wait()
        try:
            stores.append(open_history(database["url"]))
        except HistoryError as error:
            errors.append(error)

    threads = [threading.Thread(target=first_run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == [] and len(stores) == 6
    assert _rows(database["url"], f"SELECT version FROM {SCHEMA}.version") == [(SCHEMA_VERSION,)]


def test_a_newer_migration_upgrades_a_database_in_use_and_keeps_its_rows(database: dict[str, str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_history(database["url"])
    store.write_host(store.begin_run("2026-12-01T00:00:00+00:00"), _record("h1", 0, 100.0))
    store.close()
    upgrade = (f"ALTER TABLE {SCHEMA}.runs ADD COLUMN controller text",)
    monkeypatch.setattr(postgres, "MIGRATIONS", (*postgres.MIGRATIONS, upgrade))
    monkeypatch.setattr(postgres, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = open_history(database["url"])
    assert [p.value for p in store.read("h1", 0.0)["nsi_private_bytes"]] == [100.0, 101.0]
    store.close()
    assert _rows(database["url"], f"SELECT version FROM {SCHEMA}.version") == [(SCHEMA_VERSION + 1,)]
    assert _rows(database["url"], f"SELECT controller FROM {SCHEMA}.runs") == [(None,)]


def test_a_database_from_a_newer_winremedy_is_refused_in_one_line(database: dict[str, str]) -> None:
    open_history(database["url"]).close()
    with psycopg.connect(database["url"], autocommit=True) as db:
        db.execute(f"UPDATE {SCHEMA}.version SET version = 99")  # type: ignore[arg-type]
    with pytest.raises(HistoryError, match=rf"history schema version 99 is newer than this winremedy knows "
                                           rf"\({SCHEMA_VERSION}\)") as raised:
        open_history(database["url"])
    assert PASSWORD not in str(raised.value) and "\n" not in str(raised.value)


def test_the_same_samples_written_twice_or_by_two_controllers_are_one_row_each(database: dict[str, str]) -> None:
    one, other = open_history(database["url"]), open_history(database["url"])
    run_one, run_other = one.begin_run("2026-12-01T00:00:00+00:00"), other.begin_run("2026-12-01T00:00:01+00:00")
    one.write_host(run_one, _record("h1", 0, 100.0))
    one.write_host(run_one, _record("h1", 0, 100.0))  # a retried write
    other.write_host(run_other, _record("h1", 0, 100.0, status="fixed"))  # another controller, same samples
    other.write_host(run_other, _record("h1", 1, 150.0))
    samples = _rows(database["url"], f"SELECT series, t, value FROM {SCHEMA}.samples ORDER BY t")
    assert samples == [("nsi_private_bytes", T0, 100.0), ("nsi_private_bytes", T0 + 60, 101.0),
                       ("nsi_private_bytes", T0 + DAY, 150.0), ("nsi_private_bytes", T0 + DAY + 60, 151.0)]
    assert [(s.at, s.status) for s in one.statuses("h1", 0.0)] == [(T0, "fixed"), (T0 + DAY, "missing")]
    assert {key: [p.t for p in points] for key, points in one.read("h1", T0 + 30).items()} == {
        "nsi_private_bytes": [T0 + 60, T0 + DAY, T0 + DAY + 60]}
    one.close()
    other.close()


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(database: dict[str, str]) -> None:
    stores = [open_history(database["url"]) for _ in range(4)]
    runs = [store.begin_run("2026-12-01T00:00:00+00:00") for store in stores]
    start = threading.Barrier(len(stores))

    def write(index: int) -> None:
        start.wait()
        for host in range(40):  # every writer writes every host: half of them the same night
            stores[index].write_host(runs[index], _record(f"h{host}", night=index % 2, value=float(host)))

    threads = [threading.Thread(target=write, args=(index,)) for index in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert _rows(database["url"], f"SELECT count(*), count(DISTINCT (host, series, t)) FROM {SCHEMA}.samples") == [
        (40 * 2 * 2, 40 * 2 * 2)]
    assert _rows(database["url"], f"SELECT count(*) FROM {SCHEMA}.statuses") == [(40 * 2,)]


def test_prune_forgets_old_samples_and_their_runs(database: dict[str, str]) -> None:
    store = open_history(database["url"])
    for night in range(5):
        store.write_host(store.begin_run(f"2020-01-0{night + 1}T00:00:00+00:00"), _record("h1", night, 10.0 * night))
    # two days before the newest sample (night 4, +60 s): nights 0 and 1, and night 2's first sample and status
    assert store.prune(keep_days=2) == 2 * 3 + 2
    assert min(p.t for p in store.read("h1", 0.0)["nsi_private_bytes"]) == T0 + 2 * DAY + 60
    assert _rows(database["url"], f"SELECT count(*) FROM {SCHEMA}.runs") == [(3,)]
    begun = store.begin_run(datetime.now(timezone.utc).isoformat())  # another controller's run, nothing written yet
    store.prune(keep_days=0)
    store.write_host(begun, _record("h1", 5, 60.0))  # its run survived the prune
    store.close()


def test_the_history_command_reads_the_shared_database_with_the_password_from_pgpassword(
        database: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # the URL carries no password: libpq takes it from the environment
    store = open_history(database["bare"])
    for night in range(3):
        store.write_host(store.begin_run("2026-12-01T00:00:00+00:00"), _record("h1", night, 100.0 + night))
    store.close()
    assert main(["history", "h1", "--db", database["bare"], "--format", "json"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert [p["value"] for p in shown["series"]["nsi_private_bytes"][0]["points"]] == [
        100.0, 101.0, 101.0, 102.0, 102.0, 103.0]
    assert main(["history", "prune", "--keep-days", "0", "--db", database["bare"]]) == 0
    deleted = capsys.readouterr().out
    assert deleted.startswith(f"{database['bare']}: 8 rows older than 0 days deleted")  # all but the newest sample


# --- a database that is down or refuses the credentials -------------------------------------------------------


def _inventory(tmp_path: Path, wire_serve: Any) -> tuple[Path, list[Any]]:
    host = EmulatedHost(HostSpec("w7-01", OsProfile("win7", 1, "x64"), "Administrator", "S3cret!", seed=1),
                        ManualClock(T0))
    server, exchanges = wire_serve(host)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": {
        "ansible_connection": "winrm", "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
        "ansible_user": "Administrator", "ansible_password": "S3cret!"}, "hosts": {
            "w7-01": {"ansible_host": "127.0.0.1", "ansible_port": server.listeners[0].port}}}}))
    return inventory, exchanges


@pytest.mark.parametrize("problem", ["wrong password", "server down"])
def test_an_audit_fails_before_any_host_in_one_line_without_the_password(
        problem: str, database: dict[str, str], postgres_server: Any, tmp_path: Path, wire_serve: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    inventory, exchanges = _inventory(tmp_path, wire_serve)
    if problem == "wrong password":
        url, expected = postgres_server.url(database["role"], database["name"], PASSWORD + "x"), \
            f'password authentication failed for user "{database["role"]}"'
    else:
        url, expected = database["url"].replace(f":{postgres_server.port}/", f":{_closed_port()}/"), \
            "Connection refused"
    out = tmp_path / "results"
    assert main(["audit", "-i", str(inventory), "--out", str(out), "--history", url]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and expected in captured.err
    assert captured.err.startswith(f"winremedy: error: {redacted(url)}: cannot connect to the history database: ")
    assert ":***@" in captured.err and PASSWORD not in captured.err + captured.out
    assert PASSWORD.replace("@", "%40") not in captured.err
    assert exchanges == [] and not (out / "hosts").exists()  # no host was audited


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free once closed: nothing listens there


def test_redaction_hides_the_password_in_the_user_part_and_in_the_parameters() -> None:
    assert redacted("postgresql://ctl:s3cret@db:5432/h?sslmode=require&password=other") == \
        "postgresql://ctl:***@db:5432/h?sslmode=require&password=***"
    assert redacted("postgresql://ctl@db/h") == "postgresql://ctl@db/h"
    assert redacted("postgres://db/h") == "postgres://db/h"
