"""`winremedy remediate --reboot now` of KB979223 (a restart is needed) on 2008 Server Core hosts, which have no
PowerShell: staged, installed by a schtasks task, restarted by shutdown.exe run in cmd.exe with the boot time read
again by wmic, verified by a new cmd.exe audit; no powershell.exe starts, and a second run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bare_fleet import CREDENTIALS, TIME_SCALE
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

KB = "KB979223"
FLEET = {"time_scale": TIME_SCALE, "seed": 21, "credentials": CREDENTIALS, "hosts": [
    {"name": "core-leak", "os": "win2008", "sp": 2, "arch": "x64", "powershell": None, "leak": "wfp"},
    {"name": "core-x86", "os": "win2008", "sp": 1, "arch": "x86", "powershell": None, "winrm": "1.1"},
]}
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--kb", KB, "--reboot", "now")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("core-reboot"), FLEET) as directory:
        yield directory


def _remediate(lab: Path) -> dict[str, dict[str, Any]]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--format", "json",
                       *FAST)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    return {h["host"]: h for h in json.loads(result.stdout)["hosts"]}


@pytest.fixture(scope="module")
def first_run(lab: Path) -> dict[str, Any]:
    before = lab_hosts(lab)
    return {"before": before, "hosts": _remediate(lab), "after": lab_hosts(lab)}


def test_server_core_is_installed_restarted_by_shutdown_exe_and_verified(first_run: dict[str, Any]) -> None:
    for name, outcome in first_run["hosts"].items():
        assert outcome["status"] == "fixed", (name, outcome["message"])
        steps = {s["step"]: s for s in outcome["steps"]}
        assert list(steps) == ["stage", "install", "reboot", "verify"], (name, list(steps))
        assert steps["reboot"]["message"].startswith(f"{name}: restarted, back after"), steps["reboot"]
        assert steps["verify"]["message"].startswith("verified"), steps["verify"]
        before, after = first_run["before"][name], first_run["after"][name]
        assert after["counters"]["reboots"] == before["counters"]["reboots"] + 1, name
        assert after["boot_time"] != before["boot_time"] and after["counters"]["installs"] == 1, name
        assert after["counters"]["powershell_starts"] == 0 and after["counters"]["scripts"] == {}, name


def test_a_second_run_changes_nothing(lab: Path, first_run: dict[str, Any]) -> None:
    before = lab_hosts(lab)
    hosts = _remediate(lab)
    assert {h["status"] for h in hosts.values()} == {"compliant"} and not any(h["changed"] for h in hosts.values())
    after = lab_hosts(lab)
    for name in before:
        assert after[name]["boot_time"] == before[name]["boot_time"], name
        assert after[name]["counters"]["installs"] == before[name]["counters"]["installs"], name
