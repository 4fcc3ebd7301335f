"""SIGKILL ``winremedy remediate`` at seeded random moments over a mixed lab, rerun it, and check that every
state-changing step happened exactly once (the lab's counters) and every host ends as a run without a kill
leaves it. The default run kills 4 times; the ``slow`` one 20 times.

A moment is "just after the journal's Nth record" (N seeded among the records a run without a kill writes):
real time varies too much between runs on a loaded machine, and a record is where a step is about to happen.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

FAST = ("--poll", "0.05", "--verify-samples", "2", "--verify-interval", "60", "--reboot", "now")
LCS = {"os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], "leak": "lcs"}
HOSTS = {
    "lcs-a": LCS, "lcs-b": LCS,
    "w7-a": {"os": "win7", "sp": 1, "arch": "x64", "leak": "nsi"},
    "w7-b": {"os": "win7", "sp": 1, "arch": "x64"},
    "vista-a": {"os": "vista", "sp": 2, "arch": "x64"},
    "w2003-sp2": {"os": "win2003", "sp": 2, "arch": "x86"},  # nothing applies
}
# each host's steps, exactly once: (installs, reboots, service restarts)
ONCE = {"lcs-a": (1, 0, 1), "lcs-b": (1, 0, 1), "w7-a": (1, 1, 0), "w7-b": (1, 1, 0), "vista-a": (1, 1, 0),
        "w2003-sp2": (0, 0, 0)}
Reference = tuple[dict[str, tuple[Any, ...]], int]  # end state per host, journal records of a run without a kill


def _fleet() -> dict[str, Any]:
    return {"time_scale": 3600, "seed": 11, "reboot_downtime": 120,
            "credentials": {"user": "Administrator", "password": "Lab-pass1"},
            "hosts": [{"name": name, **spec} for name, spec in HOSTS.items()]}


def _command(lab: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "winremedy.cli", "remediate", "-i", str(lab / "inventory.yml"), "--repo",
            str(lab / "repo"), "--out", str(out), "--format", "json", *FAST]


def _end_state(lab: Path) -> dict[str, tuple[Any, ...]]:
    return {name: (sorted(host["installed"]), host["pending"], host["leaking"]) for name, host in lab_hosts(lab).items()}


def _records(out: Path) -> int:
    return sum(len(path.read_bytes().splitlines()) for path in (out / "journal").glob("*.jsonl"))


def _kill_and_rerun(tmp_path: Path, record: int) -> tuple[dict[str, Any], dict[str, Any], Path]:
    with running_lab(tmp_path, _fleet()) as lab:
        out = tmp_path / "out"
        process = subprocess.Popen(_command(lab, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while (out / "journal").is_dir() is False or _records(out) < record:
            assert process.poll() is None and time.monotonic() < deadline, f"the run ended before record {record}"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, f"the run ended before its kill after record {record}"
        rerun = winremedy(*_command(lab, out)[3:])
        hosts = {h["host"]: h for h in json.loads(rerun.stdout)["hosts"]}
        return hosts, lab_hosts(lab), out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Where hosts end after one run without a kill, and how many journal records it writes."""
    with running_lab(tmp_path_factory.mktemp("reference"), _fleet()) as lab:
        winremedy(*_command(lab, lab.parent / "out")[3:])
        return _end_state(lab), _records(lab.parent / "out")


def _check(tmp_path: Path, moment: float, run: Reference) -> None:
    """Kill just after record ``moment`` (a fraction) of the reference run's journal records."""
    reference, records = run
    record = max(1, min(records - 1, round(moment * records)))
    hosts, state, out = _kill_and_rerun(tmp_path, record)
    for name, (installs, reboots, restarts) in ONCE.items():
        counters = state[name]["counters"]
        assert (counters["installs"], counters["reboots"], counters["service_restarts"], counters["nic_bounces"]) == (
            installs, reboots, restarts, 0), (record, name, counters, hosts[name]["message"])
        assert hosts[name]["status"] in ("fixed", "compliant", "not_applicable"), (record, name, hosts[name]["message"])
        assert (sorted(state[name]["installed"]), state[name]["pending"], state[name]["leaking"]) == reference[name]
    for journal in (out / "journal").glob("*.jsonl"):
        lines = journal.read_text(encoding="utf-8").splitlines()
        assert all(isinstance(json.loads(line), dict) for line in lines[:-1]), journal  # only a last line may be torn
    for record in (out / "remediation").glob("*.json"):
        assert json.loads(record.read_text(encoding="utf-8"))["host"] in ONCE


def _moments(count: int) -> list[float]:
    """Seeded kill moments as fractions of a run's journal records."""
    rng = random.Random(20261204)
    return [round(rng.uniform(0.0, 1.0), 3) for _ in range(count)]


@pytest.mark.parametrize("moment", _moments(4))
def test_a_kill_at_a_random_moment_does_every_step_once(tmp_path: Path, moment: float, reference: Reference) -> None:
    _check(tmp_path, moment, reference)


@pytest.mark.slow
@pytest.mark.parametrize("moment", _moments(20)[4:])
def test_twenty_kills_do_every_step_once(tmp_path: Path, moment: float, reference: Reference) -> None:
    _check(tmp_path, moment, reference)
