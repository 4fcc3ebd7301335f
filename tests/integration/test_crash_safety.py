"""SIGKILL ``winremedy remediate`` at 20 seeded random moments over a mixed 12-host lab, rerun it, and check that
every state-changing step happened exactly once (the lab's counters) and every host ends as a run without a kill
leaves it, with journals and results that parse.

The fleet: LCS servers (KB903927, a service restart), hosts in an open maintenance window and one whose window is
days away (KB2847346 and KB979223: a restart now, or one scheduled), KB2847346 hosts that may not restart (an adapter
bounce instead), and hosts with nothing to do. ``--reboot`` is one mode per run, so a patch night is two runs
over one journal: the window hosts with ``--reboot window``, then the bounce hosts with ``--reboot never
--nic-bounce``.

A moment is "just after the journal's Nth record" (N seeded among the records a night without a kill writes, so
every phase is hit: installs, service restarts, restarts, a scheduled restart, the bounce): real time varies too
much between runs on a loaded machine, and a record is where a step is about to happen. Each kill is a case of its
own (its own lab and directories); cases run a few at a time.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

KILLS = 20
AT_ONCE = 4  # cases run concurrently: each waits on its lab most of the time
FAST = ("--poll", "0.05", "--verify-samples", "2", "--verify-interval", "60")
NIGHTS = (("-l", "all:!nsi-*", "--reboot", "window"), ("-l", "nsi-*", "--reboot", "never", "--nic-bounce"))
LCS = {"os": "win2003", "sp": 1, "arch": "x86"}
W7 = {"os": "win7", "sp": 1, "arch": "x64"}
OPEN = "daily 00:00-23:59"  # open from the lab's start (Monday 00:05 UTC) for 23.9 host hours: 570 s at time scale 150
# host -> (fleet entry, steps done exactly once: installs, reboots, service restarts, adapter bounces)
HOSTS: dict[str, tuple[dict[str, Any], tuple[int, int, int, int]]] = {
    "lcs-a": ({**LCS, "products": ["lcs2005"], "leak": "lcs"}, (1, 0, 1, 0)),
    "lcs-b": ({**LCS, "products": ["lcs2003"], "leak": "lcs"}, (1, 0, 1, 0)),
    "lcs-done": ({**LCS, "products": ["lcs2005"], "installed": ["KB903927"]}, (0, 0, 0, 0)),
    "nsi-a": ({**W7, "leak": "nsi"}, (1, 0, 0, 1)),
    "nsi-b": ({**W7, "os": "win2008r2"}, (1, 0, 0, 1)),
    "w7-win": ({**W7, "leak": "nsi", "maintenance_window": OPEN}, (1, 1, 0, 0)),
    "r2-win": ({**W7, "os": "win2008r2", "timezone": "Europe/Berlin", "maintenance_window": "Mon 01:00-00:59"},
               (1, 1, 0, 0)),
    "vista-win": ({"os": "vista", "sp": 2, "arch": "x64", "leak": "wfp", "timezone": "America/New_York",
                   "maintenance_window": "Sun 19:00-18:59"}, (1, 1, 0, 0)),
    "w2008-win": ({"os": "win2008", "sp": 1, "arch": "x86", "maintenance_window": OPEN}, (1, 1, 0, 0)),
    "w2008-later": ({"os": "win2008", "sp": 2, "arch": "x64", "maintenance_window": "Sat 02:00-04:00"}, (1, 0, 0, 0)),
    "w7-done": ({**W7, "installed": ["KB2847346"]}, (0, 0, 0, 0)),
    "w2003-sp2": ({"os": "win2003", "sp": 2, "arch": "x86"}, (0, 0, 0, 0)),  # nothing applies
}
FLEET = {"time_scale": 150, "start_time": "2026-12-07T00:05:00Z", "seed": 11, "reboot_downtime": 120,
         "credentials": {"user": "Administrator", "password": "Lab-pass1"},
         "hosts": [{"name": name, **spec} for name, (spec, _) in HOSTS.items()]}


@dataclass(frozen=True)
class Night:
    """What a patch night left: each host's status, the lab's view of each host, the out directory."""

    statuses: dict[str, str]
    lab: dict[str, dict[str, Any]]
    out: Path


def _command(lab: Path, out: Path, night: tuple[str, ...]) -> list[str]:
    return ["remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--out", str(out),
            "--format", "json", *night, *FAST]


def _records(out: Path) -> int:
    journals = out / "journal"
    return sum(len(path.read_bytes().splitlines()) for path in journals.glob("*.jsonl")) if journals.is_dir() else 0


def _statuses(stdout: str) -> dict[str, str]:
    return {host["host"]: host["status"] for host in json.loads(stdout)["hosts"]}


def _kill_at(command: list[str], out: Path, record: int) -> None:
    """Start ``command`` and SIGKILL it as soon as the journal holds ``record`` records."""
    process = subprocess.Popen([sys.executable, "-m", "winremedy.cli", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while _records(out) < record:
        assert process.poll() is None and time.monotonic() < deadline, f"the run ended before record {record}"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, f"the run ended before its kill after record {record}"


def _patch_night(directory: Path, kill: int | None = None, ends: tuple[int, ...] = ()) -> tuple[Night, tuple[int, ...]]:
    """Both runs in a fresh lab; with ``kill``, the run during which the journal reaches that record (``ends``: the
    record count after each run of a night without a kill) is killed right after it and run again. Also returns
    the journal's record count after each run."""
    with running_lab(directory, FLEET) as lab:
        out, statuses, counts = directory / "out", {}, []
        for index, night in enumerate(NIGHTS):
            command = _command(lab, out, night)
            if kill is not None and (index == 0 or ends[index - 1] < kill) and kill <= ends[index]:
                _kill_at(command, out, kill)
            statuses |= _statuses(winremedy(*command).stdout)
            counts.append(_records(out))
        return Night(statuses, lab_hosts(lab), out), tuple(counts)


def _moments(counts: tuple[int, ...]) -> list[int]:
    """Seeded kill moments: distinct journal records, none the last of a run (after it nothing is left to kill)."""
    ends = set(counts)
    candidates = [record for record in range(1, counts[-1]) if record not in ends]
    return sorted(random.Random(20261204).sample(candidates, min(KILLS, len(candidates))))


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Night, dict[int, Night | BaseException]]:
    """The night without a kill, and each kill moment's night (or what went wrong in it)."""
    reference, counts = _patch_night(tmp_path_factory.mktemp("reference"))
    moments = _moments(counts)

    def case(record: int) -> Night | BaseException:
        try:
            return _patch_night(tmp_path_factory.mktemp(f"kill-{record:03d}-"), record, counts)[0]
        except BaseException as error:  # noqa: BLE001 - reported by that moment's test
            return error
    with ThreadPoolExecutor(AT_ONCE) as pool:
        nights = dict(zip(moments, pool.map(case, moments), strict=True))
    return reference, nights


def test_a_night_without_a_kill_does_each_step_once(campaign: tuple[Night, dict[int, Night | BaseException]]) -> None:
    reference, nights = campaign
    assert len(nights) == KILLS
    for name, (_, once) in HOSTS.items():
        assert _counted(reference.lab[name]) == once, (name, reference.lab[name]["counters"])
    assert {name for name, status in reference.statuses.items() if status not in ("fixed", "compliant")} == {
        "nsi-a", "nsi-b", "w2008-later"}, reference.statuses


@pytest.mark.parametrize("index", range(KILLS))
def test_a_kill_at_a_random_moment_does_every_step_once(
    index: int, campaign: tuple[Night, dict[int, Night | BaseException]]
) -> None:
    reference, nights = campaign
    record, night = sorted(nights.items())[index]
    if isinstance(night, BaseException):
        raise AssertionError(f"kill after record {record}: {night}") from night
    for name, (_, once) in HOSTS.items():
        host, expected = night.lab[name], reference.lab[name]
        assert _counted(host) == once, (record, name, host["counters"])
        assert (sorted(host["installed"]), host["pending"], host["leaking"]) == (
            sorted(expected["installed"]), expected["pending"], expected["leaking"]), (record, name)
        # a host whose work the killed run finished is compliant on the rerun
        done = {"compliant"} if reference.statuses[name] == "fixed" else set()
        assert night.statuses[name] in {reference.statuses[name]} | done, (record, name, night.statuses[name])
    for journal in (night.out / "journal").glob("*.jsonl"):
        entries, torn = _parsed(journal.read_text(encoding="utf-8").splitlines())
        assert torn <= 1 and len({entry["host"] for entry in entries}) == 1, (record, journal)
    for result in [*(night.out / "remediation").glob("*.json"), *(night.out / "hosts").glob("*.json")]:
        assert json.loads(result.read_text(encoding="utf-8"))["host"] in HOSTS, (record, result)
    assert json.loads((night.out / "remediation.json").read_text(encoding="utf-8"))["hosts"]


def _counted(host: dict[str, Any]) -> tuple[int, int, int, int]:
    counters = host["counters"]
    return counters["installs"], counters["reboots"], counters["service_restarts"], counters["nic_bounces"]


def _parsed(lines: list[str]) -> tuple[list[dict[str, Any]], int]:
    """The records of a journal, and how many lines a kill tore (at most the one it was writing)."""
    entries, torn = [], 0
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            torn += 1
    return entries, torn
