"""`winremedy remediate` on a 30-host lab through the real CLI, pywinrm and the lab's WS-Management server.

In order, as an operator would: ``--check`` (the plan, nothing changes), the remediation with ``--reboot now``,
an independent audit with leak sampling, and a second run that must change nothing.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

TIME_SCALE = 3600  # a host hour per real second: install tasks, reboots and leak trends take moments
PROFILES = [("win7", 1, "x64"), ("win7", 1, "x86"), ("win2008r2", 1, "x64"), ("win7", 0, "x64"), ("win2008r2", 0, "x64"),
            ("vista", 2, "x64"), ("win2008", 1, "x86"), ("win2008", 2, "x64"), ("win2003", 1, "x86"), ("win2003", 2, "x86")]
VARIANTS = ["plain", "leaking", "installed", "pending", "gdr"]
LEAK = {"win7": "nsi", "win2008r2": "nsi", "vista": "wfp", "win2008": "wfp", "win2003": "lcs"}
# Windows 7 / 2008 R2 RTM hosts have the NSI leak but lack KB2847346's prerequisite (SP1) and the lab's repository
# has no service pack: they get KB979223 and end blocked, with the prerequisite named.
RTM_NSI = {"win7", "win2008r2"}
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120")


def _fleet() -> dict[str, Any]:
    hosts = []
    for index, ((os_name, sp, arch), variant) in enumerate(zip(itertools.cycle(PROFILES), itertools.cycle(VARIANTS))):
        if index == 30:
            break
        host: dict[str, Any] = {"name": f"r{index:02d}-{os_name}"[:15], "os": os_name, "sp": sp, "arch": arch}
        if os_name == "win2003" and sp == 1:
            host["products"] = ["lcs2005"]
        kb = "KB2847346" if os_name in ("win7", "win2008r2") and sp == 1 else "KB903927" if os_name == "win2003" else "KB979223"
        if os_name == "win2003" and sp == 2:
            kb = None  # nothing applies
        if variant == "leaking" and kb and not (kb == "KB903927" and "products" not in host):
            host["leak"] = LEAK[os_name]
        if variant == "installed" and kb:
            host["installed"] = [kb]
        if variant == "pending" and kb:
            host["pending"] = [kb]
        if variant == "gdr":
            host["patch_level"] = "gdr"
        hosts.append(host)
    return {"time_scale": TIME_SCALE, "seed": 9, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
            "hosts": hosts}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = _fleet()
    with running_lab(tmp_path_factory.mktemp("remediate"), fleet) as directory:
        yield directory, fleet


def _remediate(lab: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--format", "json",
                       *FAST, *extra)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def check_run(lab: Any) -> dict[str, Any]:
    directory, _ = lab
    code, report = _remediate(directory, "--check")
    assert code == 1  # work is planned
    return {h["host"]: h for h in report["hosts"]}


@pytest.fixture(scope="module")
def first_run(lab: Any, check_run: dict[str, Any]) -> dict[str, Any]:
    directory, _ = lab
    before = lab_hosts(directory)  # taken after --check: it must not have changed anything
    code, report = _remediate(directory, "--reboot", "now", "--out", str(directory.parent / "out"))
    assert code == 1  # the RTM hosts stay blocked on the service pack
    unexpected = [(h["host"], h["status"], h["message"]) for h in report["hosts"]
                  if h["status"] not in ("fixed", "compliant") and not _blocked_on_sp1(h)]
    assert not unexpected
    return {"before": before, "hosts": {h["host"]: h for h in report["hosts"]}}


def _rtm_nsi(host: dict[str, Any]) -> bool:
    return host["os"] in RTM_NSI and host["sp"] == 0


def _blocked_on_sp1(outcome: dict[str, Any]) -> bool:
    return outcome["status"] == "failed" and "KB2847346: prerequisite not met: install Service Pack 1" in outcome["message"]


def test_check_prints_a_plan_and_changes_nothing(lab: Any, check_run: dict[str, Any]) -> None:
    directory, fleet = lab
    assert set(check_run) == {h["name"] for h in fleet["hosts"]}
    planned = [h for h in check_run.values() if h["status"] == "planned"]
    blocked = {name for name, h in check_run.items() if _blocked_on_sp1(h)}
    assert blocked == {h["name"] for h in fleet["hosts"] if _rtm_nsi(h)}
    assert len(planned) + len(blocked) >= 15
    for host in planned:
        installs = [k for k in host["plan"]["kbs"] if k["action"] == "install"]
        assert all(k["package"]["file"] and len(k["package"]["sha256"]) == 64 for k in installs)
        assert host["changed"] is False and host["steps"] == []
    for name, state in lab_hosts(directory).items():
        assert state["counters"]["installs"] == 0 and state["counters"]["reboots"] == 0, name
        bare = name in {h["name"] for h in fleet["hosts"] if h["os"] == "win2003" and h["sp"] == 1}
        # Windows 2003 SP1 has no PowerShell (WMF 2.0 needs SP2): audited by cmd.exe tools, no script runs
        assert set(state["counters"]["scripts"]) == (set() if bare else {"probe 1", "collect 1"}), (name, state["counters"])


def test_the_run_follows_the_plan_check_printed(check_run: dict[str, Any], first_run: dict[str, Any]) -> None:
    for name, host in first_run["hosts"].items():
        assert host["plan"] == check_run[name]["plan"], name
        installed = {s["kb"] for s in host["steps"] if s["step"] == "install"}
        planned = {k["kb"] for k in check_run[name]["plan"]["kbs"] if k["action"] == "install"}
        assert installed == planned, name


def test_every_applicable_host_ends_fixed_verified_and_quiet(lab: Any, first_run: dict[str, Any]) -> None:
    directory, fleet = lab
    rtm = {h["name"] for h in fleet["hosts"] if _rtm_nsi(h)}
    assert rtm and all(_blocked_on_sp1(first_run["hosts"][name]) for name in rtm)
    statuses = {name: h["status"] for name, h in first_run["hosts"].items() if name not in rtm}
    assert set(statuses.values()) <= {"fixed", "compliant"}, statuses
    audit = json.loads(winremedy("audit", "-i", str(directory / "inventory.yml"), "--format", "json", "--samples", "8",
                                 "--interval", "1200").stdout)
    for host in fleet["hosts"]:
        report = audit["hosts"][host["name"]]
        findings = {f["kb"]: f for f in report["findings"]}
        if host["name"] in rtm:
            assert (findings.pop("KB2847346")["basis"], findings["KB979223"]["status"]) == ("prerequisite", "fixed")
        assert {f["status"] for f in findings.values()} <= {"fixed", "not_applicable"}, (host["name"], report["findings"])
        assert not report["facts"]["pending_reboot"], host["name"]
        leaking = [name for name, verdict in report["facts"]["leaks"].items() if verdict["leaking"]]
        assert leaking == [], (host["name"], leaking)
    state = lab_hosts(directory)
    for host in fleet["hosts"]:
        applicable = first_run["hosts"][host["name"]]["status"] == "fixed" or host["name"] in rtm
        assert state[host["name"]]["counters"]["installs"] <= 1
        if applicable:
            assert "verify" in {s["step"] for s in first_run["hosts"][host["name"]]["steps"]}


def test_a_second_run_changes_nothing(lab: Any, first_run: dict[str, Any]) -> None:
    directory, fleet = lab
    before = lab_hosts(directory)
    code, report = _remediate(directory, "--reboot", "now", "--out", str(directory.parent / "out"))
    assert code == 1
    rtm = {h["name"] for h in fleet["hosts"] if _rtm_nsi(h)}
    assert {h["status"] for h in report["hosts"] if h["host"] not in rtm} == {"compliant"}
    assert all(_blocked_on_sp1(h) for h in report["hosts"] if h["host"] in rtm)
    assert not any(h["changed"] for h in report["hosts"])
    after = lab_hosts(directory)
    for name in before:
        for counter in ("installs", "reboots"):
            assert after[name]["counters"][counter] == before[name]["counters"][counter], (name, counter)
        assert after[name]["boot_time"] == before[name]["boot_time"], name
