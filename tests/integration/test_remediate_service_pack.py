"""Windows 7 / 2008 R2 RTM hosts through `winremedy remediate`: KB2847346 needs Service Pack 1 (KB976932) first.

A lab with the service pack in its repository (``lab up --service-packs``): without the service pack's package
the hosts are blocked with the prerequisite named; with ``--reboot never`` the run installs the service pack and
stops, saying what remains; with ``--reboot now`` it installs the service pack, restarts, audits and plans again
and installs KB2847346 in the same run, also after being killed in the middle. An independent audit confirms,
and a second run changes nothing. The same through ``ansible-playbook winremedy.windows.remediate``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy
from test_collection_audit import _ansible, ansible_env  # noqa: F401 - ansible_env is a fixture

pytestmark = pytest.mark.integration

TIME_SCALE = 3600  # a host hour per real second
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120",
        "--format", "json")
HOSTS = [
    {"name": "rtm-nsi-x64", "os": "win7", "sp": 0, "arch": "x64", "leak": "nsi"},
    {"name": "rtm-r2-x64", "os": "win2008r2", "sp": 0, "arch": "x64"},
    {"name": "rtm-x86-never", "os": "win7", "sp": 0, "arch": "x86"},
    {"name": "rtm-killed", "os": "win7", "sp": 0, "arch": "x64", "leak": "nsi"},
]
SP_FILES = {"windows6.1-KB976932-X86.exe", "windows6.1-KB976932-X64.exe", "windows6.1-KB976932-IA64.exe"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = {"time_scale": TIME_SCALE, "seed": 5, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
             "hosts": HOSTS}
    with running_lab(tmp_path_factory.mktemp("service-pack"), fleet, "--service-packs") as directory:
        yield directory


def _remediate(lab: Path, repo: Path, *extra: str) -> dict[str, dict[str, Any]]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(repo), *FAST,
                       "--out", str(lab.parent / "out"), *extra)
    return {h["host"]: h for h in json.loads(result.stdout)["hosts"]}


def _steps(outcome: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(s["step"], s["kb"]) for s in outcome["steps"] if s["step"] in ("install", "reboot", "verify")]


@pytest.fixture(scope="module")
def without_service_pack(lab: Path) -> dict[str, dict[str, Any]]:
    """The same repository without the service pack's packages (rebuilt with `winremedy repo scan`)."""
    repo = lab.parent / "repo-without-sp"
    shutil.copytree(lab / "repo", repo, ignore=lambda _, names: [n for n in names if n in SP_FILES or n == "manifest.json"])
    winremedy("repo", "scan", str(repo))
    return _remediate(lab, repo, "--reboot", "now")


@pytest.fixture(scope="module")
def never(lab: Path, without_service_pack: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return _remediate(lab, lab / "repo", "--reboot", "never", "--limit", "rtm-x86-never")


@pytest.fixture(scope="module")
def killed(lab: Path, never: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`remediate --reboot now` on one host, killed once the service pack's restart is requested, then run again."""
    before = lab_hosts(lab)["rtm-killed"]["counters"]
    journal = lab.parent / "out" / "journal" / "rtm-killed.jsonl"
    command = [sys.executable, "-m", "winremedy.cli", "remediate", "-i", str(lab / "inventory.yml"), "--repo",
               str(lab / "repo"), *FAST, "--out", str(lab.parent / "out"), "--reboot", "now", "--limit", "rtm-killed"]
    earlier = journal.read_text(encoding="utf-8") if journal.is_file() else ""  # the run without the service pack
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if '"reboot_requested"' in journal.read_text(encoding="utf-8")[len(earlier):]:
            break
        time.sleep(0.02)
    process.kill()
    process.wait()
    steps = [json.loads(line)["step"] for line in journal.read_text(encoding="utf-8")[len(earlier):].splitlines()]
    assert steps == ["install_started", "install_finished", "reboot_requested"]  # killed while the host restarts
    return {"before": before, "hosts": _remediate(lab, lab / "repo", "--reboot", "now", "--limit", "rtm-killed")}


@pytest.fixture(scope="module")
def now(lab: Path, killed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _remediate(lab, lab / "repo", "--reboot", "now", "--limit", "rtm-nsi-x64,rtm-r2-x64,rtm-x86-never")


def test_without_the_service_pack_the_hosts_are_blocked_with_the_reason(
        lab: Path, without_service_pack: dict[str, dict[str, Any]]) -> None:
    assert set(without_service_pack) == {h["name"] for h in HOSTS}
    for name, outcome in without_service_pack.items():
        assert outcome["status"] == "failed" and outcome["error_code"] == "blocked", name
        assert "KB2847346: prerequisite not met: install Service Pack 1 (KB976932) first" in outcome["message"], name
        assert _steps(outcome) == [("install", "KB979223"), ("reboot", None), ("verify", None)], name  # RTM's WFP fix
    for name, state in lab_hosts(lab).items():
        assert (state["sp"], state["installed"], state["counters"]["installs"]) == (0, ["KB979223"], 1), name


def test_reboot_never_installs_the_service_pack_and_says_what_remains(lab: Path, never: dict[str, dict[str, Any]]) -> None:
    outcome = never["rtm-x86-never"]
    assert outcome["status"] == "restart_pending" and outcome["reboot_required"]
    assert outcome["message"] == ("rtm-x86-never: restart pending (--reboot never); "
                                  "after that restart a rerun installs KB2847346")
    assert _steps(outcome) == [("install", "KB976932")]
    state = lab_hosts(lab)["rtm-x86-never"]
    assert (state["sp"], state["pending"], state["pending_reboot"]) == (0, ["KB976932"], ["cbs_reboot_pending"])


def test_reboot_now_installs_the_service_pack_restarts_and_continues(lab: Path, now: dict[str, dict[str, Any]]) -> None:
    for name in ("rtm-nsi-x64", "rtm-r2-x64", "rtm-x86-never"):
        outcome = now[name]
        assert outcome["status"] == "fixed", (name, outcome["message"])
        assert _steps(outcome) == [("install", "KB976932"), ("reboot", None), ("install", "KB2847346"),
                                   ("reboot", None), ("verify", None)], name
        assert outcome["plan"]["os"].endswith("6.1.7601 SP1 x86" if "x86" in name else "6.1.7601 SP1 x64"), name


def test_killed_in_the_middle_resumes_without_doing_anything_twice(lab: Path, killed: dict[str, Any]) -> None:
    outcome = killed["hosts"]["rtm-killed"]
    assert outcome["status"] == "fixed", outcome["message"]
    # the rerun waits for the service pack's restart the killed run requested (the shutdown waits at least half a
    # real second for its answer), then goes on: no second service-pack install, no second restart request
    assert outcome["steps"][0]["message"].startswith("restart requested by an earlier run done")
    assert _steps(outcome) == [("reboot", None), ("install", "KB2847346"), ("reboot", None), ("verify", None)]
    state = lab_hosts(lab)["rtm-killed"]
    # the service pack and the fix, each installed once and restarted for once
    assert (state["counters"]["installs"] - killed["before"]["installs"], state["counters"]["reboots"] - killed["before"]["reboots"]) == (2, 2)


def test_an_independent_audit_sees_sp1_and_kb2847346_fixed(lab: Path, now: dict[str, dict[str, Any]],
                                                           killed: dict[str, Any]) -> None:
    audit = json.loads(winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", "8",
                                 "--interval", "1200").stdout)
    for host in HOSTS:
        report = audit["hosts"][host["name"]]
        assert (report["facts"]["os"]["version"], report["facts"]["os"]["sp"]) == ("6.1.7601", 1), host["name"]
        findings = {f["kb"]: f for f in report["findings"]}
        assert (findings["KB2847346"]["status"], findings["KB2847346"]["basis"]) == ("fixed", "files"), host["name"]
        assert not report["facts"]["pending_reboot"], host["name"]
        assert not [n for n, verdict in report["facts"]["leaks"].items() if verdict["leaking"]], host["name"]
    for name, state in lab_hosts(lab).items():
        assert state["sp"] == 1 and {"KB976932", "KB2847346"} <= set(state["installed"]), name


def test_a_second_run_changes_nothing(lab: Path, now: dict[str, dict[str, Any]], killed: dict[str, Any]) -> None:
    before = lab_hosts(lab)
    again = _remediate(lab, lab / "repo", "--reboot", "now")
    assert {h["status"] for h in again.values()} == {"compliant"} and not any(h["changed"] for h in again.values())
    after = lab_hosts(lab)
    for name in before:
        assert (after[name]["counters"]["installs"], after[name]["counters"]["reboots"], after[name]["boot_time"]) == (
            before[name]["counters"]["installs"], before[name]["counters"]["reboots"], before[name]["boot_time"]), name


def test_through_ansible_playbook(tmp_path: Path, ansible_env: dict[str, str]) -> None:  # noqa: F811 - the fixture
    fleet = {"time_scale": TIME_SCALE, "seed": 6, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
             "hosts": [{"name": "rtm-ansible", "os": "win2008r2", "sp": 0, "arch": "x64", "leak": "nsi"}]}
    with running_lab(tmp_path, fleet, "--service-packs") as lab:
        def remediate() -> str:
            run = _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), "winremedy.windows.remediate",
                     "-e", f"winremedy_repo={lab / 'repo'}", "-e", f"winremedy_report_dir={tmp_path / 'report'}",
                     "-e", "winremedy_reboot=now", "-e", "winremedy_poll=0.05", "-e", "winremedy_verify_samples=4",
                     "-e", "winremedy_verify_interval=900", "-e", "winremedy_reboot_timeout=120",
                     env=ansible_env, cwd=tmp_path)
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
            return run.stdout

        remediate()
        saved = json.loads((tmp_path / "report" / "remediation" / "rtm-ansible.json").read_text())
        assert saved["status"] == "fixed", saved["message"]
        assert [(s["step"], s["kb"]) for s in saved["steps"] if s["step"] == "install"] == [
            ("install", "KB976932"), ("install", "KB2847346")]
        audit = json.loads(winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json").stdout)
        report = audit["hosts"]["rtm-ansible"]
        assert report["facts"]["os"]["sp"] == 1
        assert {f["kb"]: f["status"] for f in report["findings"]}["KB2847346"] == "fixed"
        before = lab_hosts(lab)["rtm-ansible"]
        assert re.search(r"^rtm-ansible\s+:\s+ok=\d+\s+changed=0\s", remediate(), re.MULTILINE)
        after = lab_hosts(lab)["rtm-ansible"]
        assert (after["counters"]["installs"], after["counters"]["reboots"]) == (
            before["counters"]["installs"], before["counters"]["reboots"])
