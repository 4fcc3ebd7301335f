"""`winremedy remediate --reboot now` of KB903927 on the fleet of hosts without PowerShell (bare_fleet) through the
real CLI, pywinrm and the lab: the package is staged by echo and certutil, checked by certutil's SHA-1, installed
by a schtasks task as SYSTEM, LCS restarted by net stop/start, and a new cmd.exe audit verifies; no host restarts,
no powershell.exe starts on a bare host, and a second run changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bare_fleet import HOSTS, KB, NEEDS_FIX, UNKNOWN, check_audit_fixed, check_fixed_without_reboot, \
    check_nothing_changed, fleet, is_bare
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--kb", KB)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("bare-fix"), fleet(15)) as directory:
        yield directory


def _remediate(lab: Path) -> dict[str, dict[str, Any]]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--format", "json",
                       "--reboot", "now", *FAST)
    assert result.returncode == (1 if UNKNOWN else 0), (result.stdout, result.stderr)
    hosts = {h["host"]: h for h in json.loads(result.stdout)["hosts"]}
    assert {name for name, h in hosts.items() if h["status"] == "needs_review"} == UNKNOWN
    return hosts


@pytest.fixture(scope="module")
def first_run(lab: Any) -> dict[str, Any]:
    before = lab_hosts(lab)
    return {"before": before, "hosts": _remediate(lab), "after": lab_hosts(lab)}


def test_the_fleet_has_bare_kb903927_hosts_to_fix() -> None:
    assert {"lcs-leak-1", "lcs-leak-2", "lcs-quiet"} <= NEEDS_FIX and UNKNOWN == {"lcs-x64"}
    assert all(is_bare(h) for h in HOSTS if h["name"] in NEEDS_FIX)


def test_every_kb903927_host_is_fixed_through_cmd_exe_with_lcs_restarted_and_no_reboot(first_run: dict[str, Any]) -> None:
    check_fixed_without_reboot(first_run["before"], first_run["after"])
    for host in HOSTS:
        name, outcome = host["name"], first_run["hosts"][host["name"]]
        if name not in NEEDS_FIX:
            assert outcome["status"] in ("compliant", "needs_review"), (name, outcome)
            continue
        assert outcome["status"] == "fixed", (name, outcome["message"])
        steps = {s["step"]: s for s in outcome["steps"]}
        assert {"stage", "install", "restart_service", "verify"} <= set(steps), (name, steps)
        assert "certutil -hashfile" in steps["stage"]["message"] and "SHA1" in steps["stage"]["message"], steps["stage"]
        assert steps["verify"]["message"].startswith("verified"), steps["verify"]


def test_a_new_audit_finds_kb903927_fixed_and_rtcsrv_quiet(lab: Any, first_run: dict[str, Any]) -> None:
    audit = json.loads(winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", "6",
                                 "--interval", "1200", "--kb", KB).stdout)["hosts"]
    check_audit_fixed(audit)


def test_a_second_run_changes_nothing(lab: Any, first_run: dict[str, Any]) -> None:
    before = lab_hosts(lab)
    hosts = _remediate(lab)
    assert {h["status"] for n, h in hosts.items() if n not in UNKNOWN} == {"compliant"} and not any(h["changed"] for h in hosts.values())
    check_nothing_changed(before, lab_hosts(lab))
