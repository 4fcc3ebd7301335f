"""Leak history across nightly audits, through the real CLI, pywinrm and the lab's WS-Management server.

Five nights of host time (a manual lab clock, advanced a day between audits):
nightly one-sample audits turn a slowly leaking host into missing_leaking once
four nights of samples exist (the evening baseline and nights 1 to 3), never
call a quiet host leaking, and after the fix and its reboot the history shows
the growth stopped. ``winremedy history`` shows the database's own numbers.
Then an audit killed (SIGKILL) while it writes history: the database opens,
every host in it is whole, and ``--resume`` completes it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser import CHROMIUM, Page, headless_page
from labcli import running_lab, winremedy

from winremedy.cli import main
from winremedy.instants import parse_instant
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile

pytestmark = pytest.mark.integration

DAY, HOUR, MB = 86400.0, 3600.0, 1024 * 1024
USER, PASSWORD = "Administrator", "S3cret!"
LEAK_MB_PER_HOUR = 2.0  # about the 2 MiB/h threshold: 48 MB a day, invisible in one audit's single sample
HOSTS = {
    "leaky": (OsProfile("win7", 1, "x64"), LeakSpec.of(Scenario.NSI, LEAK_MB_PER_HOUR)),
    "quiet": (OsProfile("win7", 1, "x64"), LeakSpec()),
    "quiet-2008": (OsProfile("win2008", 2, "x86"), LeakSpec()),
    "quiet-driver": (OsProfile("win2008r2", 1, "x64"), LeakSpec()),
}


def _statuses(stdout: str) -> dict[str, dict[str, str]]:
    report = json.loads(stdout)
    return {host: {f["kb"]: f["status"] for f in data["findings"]} for host, data in report["hosts"].items()}


@pytest.fixture
def nightly(tmp_path: Path, wire_serve: Any, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    clock = ManualClock(1_700_000_000.0, scale=100_000.0)  # the collector's host seconds pass in real microseconds
    hosts = {name: EmulatedHost(HostSpec(name, profile, USER, PASSWORD, seed=index, leak=leak), clock)
             for index, (name, (profile, leak)) in enumerate(HOSTS.items(), start=7)}
    entries = {name: {"ansible_host": "127.0.0.1", "ansible_port": wire_serve(host)[0].listeners[0].port,
                      "ansible_user": USER, "ansible_password": PASSWORD} for name, host in hosts.items()}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": {
        "ansible_connection": "winrm", "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http"},
        "hosts": entries}}))
    out = tmp_path / "results"
    nights = []
    for night in range(6):  # the evening the fleet is taken on (night 0), then five nights
        if night:
            clock.advance(DAY)
        if night == 4:  # the morning after night 3's finding: the fix goes in, with its reboot
            hosts["leaky"].install("KB2847346")
            hosts["leaky"].reboot()
            clock.advance(HOUR)
        assert main(["audit", "-i", str(inventory), "--out", str(out), "--format", "json"]) in (0, 1)
        nights.append(_statuses(capsys.readouterr().out))
    return {"out": out, "nights": nights, "capsys": capsys}


def test_nightly_one_sample_audits_find_the_slow_leak_by_the_third_night(nightly: dict[str, Any]) -> None:
    leaky = [night["leaky"]["KB2847346"] for night in nightly["nights"]]
    assert leaky == ["missing", "missing", "missing", "missing_leaking", "fixed", "fixed"]
    for night in nightly["nights"]:
        for host, statuses in night.items():
            if host != "leaky":
                assert "missing_leaking" not in statuses.values(), (host, statuses)


def test_the_history_shows_the_growth_stopped_after_the_fix(nightly: dict[str, Any]) -> None:
    out, capsys = nightly["out"], nightly["capsys"]
    assert main(["history", "leaky", "--db", str(out), "--indicator", "nsi_private_bytes", "--format", "json"]) == 0
    pieces = json.loads(capsys.readouterr().out)["series"]["nsi_private_bytes"]
    before, after = pieces
    assert (before["fixed"], before["samples"], before["leaking"]) == (False, 4, True)
    assert before["rate_per_hour"] == pytest.approx(LEAK_MB_PER_HOUR * MB, rel=0.1)
    assert (after["fixed"], after["samples"]) == (True, 2) and after["boot"] != before["boot"]
    assert abs(after["rate_per_hour"]) < 0.1 * LEAK_MB_PER_HOUR * MB
    db = sqlite3.connect(out / "history.sqlite")
    rows = db.execute("SELECT t, value FROM samples WHERE host = 'leaky' AND series = 'nsi_private_bytes' "
                      "ORDER BY t").fetchall()
    assert [(p["t"], p["value"]) for piece in pieces for p in piece["points"]] == rows
    assert main(["history", "leaky", "--db", str(out), "--indicator", "nsi_private_bytes", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [(float(line.split(",")[5]), float(line.split(",")[7])) for line in lines] == rows
    page = (out / "report.html").read_text()
    leaky = page[page.index("<b>leaky</b>"):]
    chart = leaky[leaky.index('aria-label="nsi_private_bytes: 6 samples'):]
    chart = chart[:chart.index("</svg>")]
    assert "nsi_private_bytes: 6 samples over 5.0 days" in chart and "reboot + fix" in chart
    titles = re.findall(r'<circle class="sample"[^>]*><title>([^<]*)</title>', chart)
    assert [(parse_instant(t.split(": ")[0]), float(t.split(": ")[1].split()[0].replace(",", ""))) for t in titles] \
        == rows
    statuses = db.execute("SELECT status FROM statuses WHERE host = 'leaky' AND kb = 'KB2847346' ORDER BY at")
    assert [s for (s,) in statuses] == ["missing", "missing", "missing", "missing_leaking", "fixed", "fixed"]


# --- the report in a real browser ------------------------------------------------------------------------------

_VISIBLE = ("Array.from(document.querySelectorAll('#fleet-hosts tbody tr')).filter(r => !r.hidden)"
            ".map(r => r.getAttribute('data-host'))")
_CHARTS = ("Array.from(document.querySelectorAll('details')).map(d => [d.querySelector('summary b').textContent,"
           " Array.from(d.querySelectorAll('svg.chart-history')).map(s => [s.getAttribute('aria-label').split(':')[0],"
           " s.querySelectorAll('circle.sample').length])])")


def _open(page: Page, url: str) -> None:
    page.call("Page.navigate", {"url": "about:blank"})
    page.wait_for("Page.loadEventFired")
    page.events.clear()
    page.call("Page.navigate", {"url": url})
    page.wait_for("Page.loadEventFired")


def _choose(page: Page, control: str, value: str) -> str:
    """Pick ``value`` in a select as a user does (the change event fires); the URL fragment it leaves."""
    return str(page.evaluate(f"(function () {{ var s = document.getElementById('{control}'); s.value = '{value}'; "
                             "s.dispatchEvent(new Event('change')); return location.hash; })()"))


def _problems(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("method") == "Runtime.exceptionThrown"
            or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning"))
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"))]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_report_in_headless_chromium(nightly: dict[str, Any], tmp_path: Path) -> None:
    out = nightly["out"]
    url = (out / "report.html").as_uri()
    last = nightly["nights"][-1]
    with headless_page(tmp_path / "profile") as page:
        _open(page, url)
        assert _problems(page.events) == []  # no console error, no CSP violation, no exception
        requests = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
        assert requests == [url]  # the page itself and nothing else

        db = sqlite3.connect(out / "history.sqlite")
        stored = dict(((host, series), count) for host, series, count in db.execute(
            "SELECT host, series, count(*) FROM samples WHERE series NOT LIKE 'pool%' GROUP BY host, series"))
        drawn = {(host, series): count for host, charts in page.evaluate(_CHARTS) for series, count in charts}
        assert drawn == stored and drawn[("leaky", "nsi_private_bytes")] == 6

        assert page.evaluate(_VISIBLE) == sorted(HOSTS)
        assert _choose(page, "filter-leak", "stopped") == "#leak=stopped"
        assert page.evaluate(_VISIBLE) == ["leaky"]  # the host whose leak stopped after the fix
        assert page.evaluate("document.getElementById('fleet-count').textContent") == f"1 of {len(HOSTS)} hosts"
        _choose(page, "filter-leak", "all")
        assert _choose(page, "filter-status", "missing") == "#status=missing"
        assert page.evaluate(_VISIBLE) == sorted(h for h, s in last.items() if "missing" in s.values())
        _choose(page, "filter-kb", "KB979223")
        assert page.evaluate(_VISIBLE) == sorted(h for h, s in last.items() if s.get("KB979223") == "missing")
        _choose(page, "filter-status", "all")
        _choose(page, "filter-kb", "all")
        _choose(page, "sort-hosts", "rank")
        order = page.evaluate(_VISIBLE)
        worst = {h: min(["missing_leaking", "unknown", "pending_reboot", "missing", "fixed", "not_applicable"]
                        .index(v) for v in s.values()) for h, s in last.items()}
        assert order == sorted(HOSTS, key=lambda h: (worst[h], h)) and order[-1] == "leaky"  # fixed: best last

        _open(page, url + "#status=missing&kb=KB2847346")  # a bookmarked view
        assert page.evaluate(_VISIBLE) == sorted(h for h, s in last.items() if s.get("KB2847346") == "missing")
        assert page.evaluate("document.getElementById('filter-kb').value") == "KB2847346"
        assert _problems(page.events) == []


# --- a killed audit --------------------------------------------------------------------------------------------


def _db_hosts(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return {host for (host,) in db.execute("SELECT DISTINCT host FROM statuses")}
    except sqlite3.Error:
        return set()  # the schema is being created


def test_an_audit_killed_while_writing_history_leaves_whole_hosts_and_resume_completes(tmp_path: Path) -> None:
    with running_lab(tmp_path, None, "--hosts", "60", "--seed", "2", "--time-scale", "3600") as lab:
        out, inventory = tmp_path / "out", str(lab / "inventory.yml")
        database = out / "history.sqlite"
        audit = [sys.executable, "-m", "winremedy.cli", "audit", "-i", inventory, "--out", str(out), "--forks", "2",
                 "--format", "json"]
        process = subprocess.Popen(audit, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(_db_hosts(database)) < 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        written = _db_hosts(database)
        assert 5 <= len(written) < 60  # killed mid-run

        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            kbs = dict(db.execute("SELECT host, count(DISTINCT kb) FROM statuses GROUP BY host").fetchall())
            assert set(kbs.values()) == {3}  # every host in the database is whole: all three KBs
        saved = {path.stem for path in (out / "hosts").glob("*.json")}
        assert saved <= written  # a saved result is in the history too (history first, then the result file)
        for host in saved:
            facts = json.loads((out / "hosts" / f"{host}.json").read_text())["facts"]
            with sqlite3.connect(database) as db:
                stored = {(s, t, v) for s, t, v in db.execute(
                    "SELECT series, t, value FROM samples WHERE host = ?", (host,))}
            assert {(k, p["t"], p["value"]) for k, points in facts["samples"].items() for p in points} <= stored

        winremedy("audit", "-i", inventory, "--out", str(out), "--resume", "--format", "json")
        assert len(_db_hosts(database)) == 60
