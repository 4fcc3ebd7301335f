"""Controllers sharing one PostgreSQL history, through the real CLI against the lab.

Two ``winremedy audit --samples 3 --history postgresql://...`` processes audit
overlapping halves of one lab at the same time; one is killed (SIGKILL) mid-run.
The database then holds exactly one row per host × indicator × sample time:
everything the survivor saved, everything the killed one saved, nothing twice.
Then a database stopped in the middle of an audit: every host's result file is
still saved and the run fails in one line naming what the history lacks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from labcli import running_lab, winremedy
from pgserver import PostgresServer

from winremedy.catalog import load_catalog
from winremedy.history.postgres import SCHEMA

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Sl1ces share one history"
Sample = tuple[str, str, float, float]  # host, series, t, value


def _env() -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": PASSWORD}  # as an AWX credential injects it: never on the command line


def _audit(lab: Path, out: Path, url: str, hosts: list[str], *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "winremedy.cli", "audit", "-i", str(lab / "inventory.yml"), "-l", ",".join(hosts),
               "--samples", "3", "--interval", "1800", "--forks", "3", "--out", str(out), "--history", url,
               "--format", "json", *extra]
    return subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _hosts(lab: Path) -> list[str]:
    groups = yaml.safe_load((lab / "inventory.yml").read_text())["all"]["children"].values()
    return sorted(host for group in groups for host in group["hosts"])


def _saved(out: Path) -> dict[str, set[Sample]]:
    """Each saved host's samples, as its result file holds them."""
    saved = {}
    for path in (out / "hosts").glob("*.json"):
        facts = json.loads(path.read_text())["facts"]
        saved[path.stem] = {(path.stem, key, p["t"], p["value"]) for key, points in facts["samples"].items()
                            for p in points}
    return saved


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, password=PASSWORD) as db:
        return db.execute(query).fetchall()  # type: ignore[arg-type]  # the test's own literal queries


def _stored(url: str) -> dict[str, set[Sample]]:
    stored: dict[str, set[Sample]] = {}
    for host, series, t, value in _rows(url, f"SELECT host, series, t, value FROM {SCHEMA}.samples"):
        stored.setdefault(host, set()).add((host, series, t, value))
    return stored


def _written(url: str) -> set[str]:
    """The hosts with statuses in the history (none while the audit is still creating the schema)."""
    try:
        return {host for (host,) in _rows(url, f"SELECT DISTINCT host FROM {SCHEMA}.statuses")}
    except psycopg.errors.UndefinedTable:
        return set()


def _wait_for(condition: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_two_controllers_leave_one_row_per_sample_and_a_killed_one_loses_nothing_of_the_other(
        tmp_path: Path, postgres_server: Any) -> None:
    url = postgres_server.database("slices", "slicer", PASSWORD)
    with running_lab(tmp_path, None, "--hosts", "36", "--seed", "5", "--time-scale", "3600") as lab:
        hosts = _hosts(lab)
        first, second = hosts[:24], hosts[12:]  # 12 hosts audited by both controllers
        out_a, out_b = tmp_path / "a", tmp_path / "b"
        survivor, killed = _audit(lab, out_a, url, first), _audit(lab, out_b, url, second)
        _wait_for(lambda: len(list((out_b / "hosts").glob("*.json"))) >= 3 if (out_b / "hosts").exists() else False)
        assert killed.poll() is None, "the second controller finished before it could be killed mid-run"
        os.kill(killed.pid, signal.SIGKILL)
        assert killed.wait() == -signal.SIGKILL
        assert survivor.wait(timeout=300) in (0, 1), survivor.stderr.read().decode() if survivor.stderr else ""

        saved_a, saved_b = _saved(out_a), _saved(out_b)
        stored = _stored(url)
        assert set(saved_a) == set(first) and 3 <= len(saved_b) < len(second)
        # exactly one row per host x indicator x sample time
        assert _rows(url, f"SELECT count(*) = count(DISTINCT (host, series, t)) FROM {SCHEMA}.samples") == [(True,)]
        for host, samples in saved_a.items():  # nothing the survivor wrote is lost, whatever the other did
            assert samples and samples <= stored[host], host
        for host, samples in saved_b.items():  # what the killed one saved, it had committed first
            assert samples <= stored[host], host
        for host in first[:12]:  # audited by the survivor alone: the database holds its samples, nothing else
            assert stored[host] == saved_a[host], host
        both = [host for host in first[12:] if host in saved_b]
        for host in both:  # audited by both: each controller's samples, once each
            assert stored[host] == saved_a[host] | saved_b[host], host
            assert len(stored[host]) == len(saved_a[host]) + len(saved_b[host])
        whole = _rows(url, f"SELECT host, at, count(*) FROM {SCHEMA}.statuses GROUP BY host, at")
        assert {count for _, _, count in whole} == {3}  # every host's audit is whole: all three KBs

        # the shared history is what `winremedy history` and the reports read
        host = both[0] if both else first[0]
        shown = json.loads(winremedy("history", host, "--db", url, "--format", "json", env=_env()).stdout)
        indicators = {i.id for kb in load_catalog() for i in kb.indicators}  # what the command shows by default
        assert {(host, key, p["t"], p["value"]) for key, pieces in shown["series"].items() for piece in pieces
                for p in piece["points"]} == {s for s in stored[host] if s[1] in indicators}
        report = winremedy("report", str(out_a), "--history", url, "--format", "html", env=_env()).stdout
        assert report.count('class="chart-history"') >= len(first)


def test_a_database_lost_mid_run_keeps_every_result_file_and_fails_the_run_in_one_line(tmp_path: Path,
                                                                                       postgres_server: Any) -> None:
    server = PostgresServer(postgres_server.bindir).start()  # its own server: this test stops it
    try:
        url = server.database("outage", "controller", PASSWORD)
        with running_lab(tmp_path, None, "--hosts", "20", "--seed", "6", "--time-scale", "3600") as lab:
            hosts = _hosts(lab)
            out = tmp_path / "out"
            audit = _audit(lab, out, server.url("controller", "outage", PASSWORD), hosts)
            _wait_for(lambda: len(_written(url)) >= 3)
            server.down()
            assert audit.wait(timeout=300) == 2
            stderr = audit.stderr.read().decode() if audit.stderr else ""
            server.up()
            before = _written(url)
            # the rerun audits nothing again and writes the saved hosts the outage left out, once
            resumed = _audit(lab, out, server.url("controller", "outage", PASSWORD), hosts, "--resume")
            assert resumed.wait(timeout=300) in (0, 1)
        errors = [line for line in stderr.splitlines() if line.startswith("winremedy: error: ")]
        assert len(errors) == 1 and stderr.endswith(errors[0] + "\n")  # the progress lines, then one error line
        error = errors[0]
        assert PASSWORD not in stderr and ":***@" in error
        assert "cannot " in error and "the history database" in error and "their result files are saved" in error
        assert {path.stem for path in (out / "hosts").glob("*.json")} == set(hosts)  # every host audited and saved
        assert (out / "report.json").is_file()
        missing = int(error.split("not in the history: ")[1].split(" ")[0])
        assert 3 <= len(before) and len(before) + missing == len(hosts) and "--resume writes them" in error
        assert _written(url) == set(hosts) and _stored(url) == _saved(out)
        assert _rows(url, f"SELECT count(*) FROM {SCHEMA}.samples") == [(sum(map(len, _saved(out).values())),)]
    finally:
        server.stop()


# --- the collection: winremedy_history_url -------------------------------------------------------------------


def _playbook(lab: Path, out: Path, url: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    root = out.parent / "collections"
    if not root.exists():  # ansible_collections/winremedy/windows -> the repo (a symlink, not a copy)
        (root / "ansible_collections" / "winremedy").mkdir(parents=True)
        (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    env = {**env, "ANSIBLE_COLLECTIONS_PATH": str(root), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(root / "tmp"), "ANSIBLE_HOME": str(root / "home")}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab / "inventory.yml"),
               "winremedy.windows.audit", "-e", f"winremedy_report_dir={out}", "-e", f"winremedy_history_url={url}",
               "-e", "winremedy_samples=2", "-e", "winremedy_interval=600", *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent, timeout=600)


def test_the_audit_playbook_writes_the_shared_history_in_both_modes_and_stops_early_on_refused_credentials(
        tmp_path: Path, postgres_server: Any) -> None:
    url = postgres_server.database("playbook", "awx", PASSWORD)
    with running_lab(tmp_path, None, "--hosts", "6", "--seed", "7", "--time-scale", "3600") as lab:
        hosts = _hosts(lab)
        for mode in ("fleet", "per_host"):
            out = tmp_path / mode
            run = _playbook(lab, out, url, _env(), "-e", f"winremedy_audit_mode={mode}")
            assert run.returncode == 0, run.stdout[-3000:]
            saved, stored = _saved(out), _stored(url)
            assert set(saved) == set(hosts)
            for host, samples in saved.items():
                assert samples and samples <= stored[host], (mode, host)
        assert _rows(url, f"SELECT count(*) = count(DISTINCT (host, series, t)) FROM {SCHEMA}.samples") == [(True,)]

        # a password from a vaulted variable, inside the URL, that the database refuses
        wrong = "Wr0ng-but-secret"
        refused = url.replace("awx@", f"awx:{wrong}@")
        out = tmp_path / "refused"
        before = _rows(url, f"SELECT count(*) FROM {SCHEMA}.samples")
        run = _playbook(lab, out, refused, dict(os.environ))
        assert run.returncode == 2
        assert f"{url.replace('awx@', 'awx:***@')}: cannot connect to the history database" in run.stdout
        assert 'password authentication failed for user "awx"' in run.stdout
        assert wrong not in run.stdout + run.stderr and not (out / "hosts").exists()  # no host audited
        assert _rows(url, f"SELECT count(*) FROM {SCHEMA}.samples") == before
