"""The history store: schema and migrations, whole-host writes, concurrent writers, pieces, pruning, the command."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from winremedy.cli import main
from winremedy.history import HistoryError, HostRecord, Point, open_history
from winremedy.history.series import pieces, trend_samples
from winremedy.history.sqlite import SCHEMA_VERSION

DAY, HOUR, MB = 86400.0, 3600.0, 1024 * 1024
T0 = 1.7e9


def _record(host: str, night: int, value: float, *, boot: str = "2023-11-14T00:00:00Z", fixed: bool = False,
            status: str = "missing") -> HostRecord:
    t = T0 + night * DAY
    return HostRecord(host, t, {"nsi_private_bytes": [Point(t, value, boot, fixed)]}, {"KB2847346": status})


def test_a_new_database_has_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    store = open_history(tmp_path)
    store.close()
    db = sqlite3.connect(tmp_path / "history.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_winremedy_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match=r"history schema version 99 is newer than this winremedy knows \(1\)"):
        open_history(path)


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "history.sqlite").write_bytes(b"this is no database, but long enough to have a header" * 40)
    assert main(["history", "h1", "--db", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"winremedy: error: {tmp_path / 'history.sqlite'}: cannot open the history database: ")
    assert error.count("\n") == 1


def test_unknown_locations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="unsupported history location"):
        open_history("mysql://db/winremedy")
    store = open_history(f"sqlite://{tmp_path / 'h.sqlite'}")
    assert store.location == str(tmp_path / "h.sqlite")
    store.close()


def test_writes_are_whole_and_idempotent(tmp_path: Path) -> None:
    store = open_history(tmp_path)
    run = store.begin_run("2023-11-15T00:00:00Z")
    for night in range(3):
        store.write_host(run, _record("h1", night, 100 * MB + night * MB))
    store.write_host(run, _record("h1", 2, 100 * MB + 2 * MB))  # the same sample again: kept once
    series = store.read("h1", since=T0 + DAY)
    assert [p.value for p in series["nsi_private_bytes"]] == [101 * MB, 102 * MB]
    assert [(s.kb, s.status) for s in store.statuses("h1", since=0)] == [("KB2847346", "missing")] * 3
    assert store.read("h2", since=0) == {}
    store.close()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Two audits writing at once (two stores, as two processes would): busy writers wait, none fails."""
    stores = [open_history(tmp_path), open_history(tmp_path)]
    runs = [s.begin_run("x") for s in stores]

    def write(index: int) -> None:
        for host in range(60):
            stores[index].write_host(runs[index], _record(f"w{index}-{host}", 0, host))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    count = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT count(*) FROM samples").fetchone()[0]
    assert count == 120
    for store in stores:
        store.close()


def test_a_failed_transaction_leaves_nothing_of_the_host(tmp_path: Path) -> None:
    store = open_history(tmp_path)
    run = store.begin_run("x")
    bad = HostRecord("h1", T0, {"a": [Point(T0, 1.0, "", False)], "b": [Point(T0, object(), "", False)]},  # type: ignore[arg-type]
                     {})
    with pytest.raises(HistoryError, match="cannot write h1 in the history database"):
        store.write_host(run, bad)
    assert store.read("h1", since=0) == {}
    store.close()


def test_series_split_at_reboots_and_at_the_fix() -> None:
    points = [Point(T0 + i * DAY, i, "boot1", False) for i in range(3)]
    points += [Point(T0 + (3 + i) * DAY, 10 + i, "boot2", False) for i in range(2)]
    points += [Point(T0 + (5 + i) * DAY, 20 + i, "boot2", True) for i in range(2)]
    assert [(p.boot, p.fixed, len(p.points)) for p in pieces(points)] == \
        [("boot1", False, 3), ("boot2", False, 2), ("boot2", True, 2)]


def test_a_trend_joins_only_the_current_piece() -> None:
    history = {"x": [Point(T0, 1, "old", False), Point(T0 + DAY, 2, "new", False), Point(T0 + 2 * DAY, 3, "new", True)]}
    current = {"x": [Point(T0 + 3 * DAY, 4, "new", False)], "y": []}
    assert [s.value for s in trend_samples(history, current)["x"]] == [2, 4]


def test_prune_forgets_old_samples_and_their_runs(tmp_path: Path) -> None:
    store = open_history(tmp_path)
    for night in range(10):
        store.write_host(store.begin_run(f"2020-01-{night + 1:02d}T00:00:00+00:00"), _record("h1", night, night))
    assert store.prune(keep_days=3) == 12  # 6 samples and 6 statuses older than 3 days before the newest
    assert [p.value for p in store.read("h1", since=0)["nsi_private_bytes"]] == [6, 7, 8, 9]
    runs = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT count(*) FROM runs").fetchone()[0]
    assert runs == 4
    store.close()


def _filled(tmp_path: Path) -> Path:
    store = open_history(tmp_path)
    run = store.begin_run("x")
    for night in range(5):
        store.write_host(run, _record("h1", night, 100 * MB + night * 30 * MB + 0.5))
    for night in range(5, 8):
        store.write_host(run, _record("h1", night, 90 * MB + night, boot="2023-11-19T00:00:00Z", fixed=True,
                                      status="fixed"))
    store.close()
    return tmp_path


def _db_points(directory: Path) -> list[tuple[float, float]]:
    db = sqlite3.connect(directory / "history.sqlite")
    return db.execute("SELECT t, value FROM samples WHERE host = 'h1' ORDER BY t").fetchall()


def test_history_json_and_csv_hold_the_databases_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _filled(tmp_path)
    assert main(["history", "h1", "--db", str(directory), "--days", "30", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    chunks = data["series"]["nsi_private_bytes"]
    assert [(p["t"], p["value"]) for c in chunks for p in c["points"]] == _db_points(directory)
    assert [(c["fixed"], c["samples"], c["leaking"]) for c in chunks] == [(False, 5, True), (True, 3, False)]
    assert chunks[1]["reason"].startswith("no verdict: too few samples (3 < 4)")
    assert main(["history", "h1", "--db", str(directory), "--days", "30", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(float(r["t"]), float(r["value"])) for r in rows] == _db_points(directory)
    assert {r["piece"] for r in rows} == {"1", "2"}


def test_history_table_and_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _filled(tmp_path)
    assert main(["history", "h1", "--db", str(directory), "--days", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("T22:13:20Z") == 6 and "2023-11-18" not in out  # the last 2 days: 3 samples, 3 statuses
    assert "nsi_private_bytes  1      2023-11-19T22:13:20Z  94,371,845  2023-11-19T00:00:00Z  yes" in out
    assert "no verdict: too few samples (3 < 4)" in out and "KB2847346  fixed" in out


def test_history_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "h1", "--db", str(tmp_path / "nowhere")]) == 2
    assert "no such results directory or database" in capsys.readouterr().err
    directory = _filled(tmp_path)
    assert main(["history", "ghost", "--db", str(directory)]) == 2
    assert capsys.readouterr().err.strip().endswith("ghost: no samples in " + str(directory / "history.sqlite"))
    assert main(["history", "prune", "--db", str(directory)]) == 2
    assert "give --keep-days N" in capsys.readouterr().err


def test_history_prune_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _filled(tmp_path)
    assert main(["history", "prune", "--keep-days", "1", "--db", str(directory)]) == 0
    assert "12 rows older than 1 days deleted" in capsys.readouterr().out
    assert len(_db_points(directory)) == 2


SAMPLE_HOST = Path(__file__).parents[2] / "src" / "winremedy" / "samples" / "web01.json"


def _facts_file(tmp_path: Path, points: list[tuple[float, float]]) -> Path:
    data = json.loads(SAMPLE_HOST.read_text())
    data.pop("leaks")
    data["samples"] = {"nsi_private_bytes": [{"t": t, "value": v} for t, v in points]}
    path = tmp_path / "web01-facts.json"
    path.write_text(json.dumps(data))
    return path


def _assessed(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, str]:
    assert main(["assess", *args, "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["results"][0]["findings"]
    return {f["kb"]: f["status"] for f in findings}


def test_offline_assess_analyses_the_samples_in_a_facts_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    leaking = _facts_file(tmp_path, [(T0 + h * HOUR, 300 * MB + h * 5 * MB) for h in range(6)])
    assert _assessed(capsys, str(leaking))["KB2847346"] == "missing_leaking"
    one = _facts_file(tmp_path, [(T0 + 3 * DAY, 300 * MB + 3 * 120 * MB)])
    assert _assessed(capsys, str(one))["KB2847346"] == "missing"  # one sample: no verdict


def test_offline_assess_joins_a_history_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boot = json.loads(SAMPLE_HOST.read_text())["boot_time"]
    store = open_history(tmp_path)
    run = store.begin_run("x")
    for night in range(3):
        store.write_host(run, _record("web01", night, 300 * MB + night * 120 * MB, boot=boot))
    store.close()
    one = _facts_file(tmp_path, [(T0 + 3 * DAY, 300 * MB + 3 * 120 * MB)])
    assert _assessed(capsys, str(one), "--history", str(tmp_path))["KB2847346"] == "missing_leaking"


def test_prune_spares_a_run_begun_today_with_nothing_written_yet(tmp_path: Path) -> None:
    store = open_history(tmp_path)
    for night in range(3):
        store.write_host(store.begin_run(f"2020-01-0{night + 1}T00:00:00+00:00"), _record("h1", night, night))
    begun = store.begin_run(datetime.now(timezone.utc).isoformat(timespec="seconds"))  # an audit still sampling
    store.prune(keep_days=0)
    runs = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT id FROM runs").fetchall()
    assert runs == [(3,), (begun,)]  # night 2's run (its rows are the newest) and the one not written to yet
    store.close()
