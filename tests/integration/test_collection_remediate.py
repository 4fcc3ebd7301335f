"""The collection's remediation (playbooks winremedy.windows.remediate and .verify) against a mixed lab fleet.

As an operator runs it, in order: ``--check --diff`` (what would change; the lab counters show only the audit
ran), the remediation with ``winremedy_reboot=now`` (every applicable host fixed, checked by an independent
``winremedy audit``), a second run (``changed=0`` everywhere), and the verify playbook. ansible-playbook runs
as a subprocess with the repo made the collection winremedy.windows by a symlink (test_collection_audit's
``ansible_env``), against hosts that speak WS-Management to ansible-core's own winrm plugin.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy
from test_collection_audit import BIN, REPO, _ansible, ansible_env  # noqa: F401 - ansible_env is a fixture

pytestmark = pytest.mark.integration

FLEET = {
    "time_scale": 3600, "seed": 11, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
    "hosts": [
        {"name": "w7-leak", "os": "win7", "sp": 1, "arch": "x64", "leak": "nsi"},
        {"name": "w7-x86", "os": "win7", "sp": 1, "arch": "x86"},
        {"name": "r2-gdr", "os": "win2008r2", "sp": 1, "arch": "x64", "patch_level": "gdr"},
        {"name": "r2-done", "os": "win2008r2", "sp": 1, "arch": "x64", "installed": ["KB2847346"]},
        {"name": "vi-wfp", "os": "vista", "sp": 2, "arch": "x64", "leak": "wfp"},
        {"name": "s8-pending", "os": "win2008", "sp": 2, "arch": "x86", "pending": ["KB979223"]},
        {"name": "s3-lcs", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"]},  # no PowerShell (SP1)
        {"name": "s3-none", "os": "win2003", "sp": 2, "arch": "x86"},
    ],
}
NOTHING_TO_DO = {"r2-done", "s3-none"}
BARE = {"s3-lcs"}  # Windows 2003 SP1: no PowerShell (WMF 2.0 needs SP2), remediated through cmd.exe
# Seconds, not minutes: host time runs 3600x, so a poll of 0.05 s is three host minutes.
FAST = ("-e", "winremedy_poll=0.05", "-e", "winremedy_verify_samples=4", "-e", "winremedy_verify_interval=900",
        "-e", "winremedy_reboot_timeout=120")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with running_lab(tmp_path_factory.mktemp("collection-remediate"), FLEET) as directory:
        yield directory


def playbook(name: str, lab: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), f"winremedy.windows.{name}", "-f", "8",
                    "-e", f"winremedy_report_dir={lab.parent / 'report'}", *FAST, *extra, env=env, cwd=lab.parent)


def remediate(lab: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return playbook("remediate", lab, env, "-e", f"winremedy_repo={lab / 'repo'}", *extra)


def recap(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    """PLAY RECAP per host: ok, changed, unreachable, failed."""
    return {m[0]: dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m[1:]), strict=True))
            for m in RECAP.findall(run.stdout)}


@pytest.fixture(scope="module")
def runs(lab: Path, ansible_env: dict[str, str]) -> dict[str, Any]:  # noqa: F811 - the imported fixture
    """--check, the real run with reboot now, and a second run, with the lab's state after each."""
    check = remediate(lab, ansible_env, "-e", "winremedy_reboot=now", "--check", "--diff")
    after_check = lab_hosts(lab)
    first = remediate(lab, ansible_env, "-e", "winremedy_reboot=now")
    after_first = lab_hosts(lab)
    saved = {p.stem: json.loads(p.read_text())["status"] for p in (lab.parent / "report" / "remediation").glob("*.json")}
    second = remediate(lab, ansible_env, "-e", "winremedy_reboot=now")
    return {"check": check, "after_check": after_check, "first": first, "after_first": after_first, "saved": saved,
            "second": second, "after_second": lab_hosts(lab)}


def test_check_reports_what_would_change_and_changes_nothing(runs: dict[str, Any]) -> None:
    check = runs["check"]
    assert check.returncode == 0, check.stdout[-3000:]
    counts = recap(check)
    assert set(counts) == {h["name"] for h in FLEET["hosts"]}
    assert {name for name, c in counts.items() if c["changed"]} == {h["name"] for h in FLEET["hosts"]} - NOTHING_TO_DO
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values())
    assert "+sha256: " in check.stdout and "not probed in check mode" in check.stdout  # --diff: the planned files
    for name, state in runs["after_check"].items():
        assert state["counters"]["installs"] == 0 and state["counters"]["reboots"] == 0, name
        assert state["counters"]["stages"] == 0, name
        scripts = set() if name in BARE else {"probe 1", "collect 1"}  # a host without PowerShell is audited by cmd.exe tools
        assert set(state["counters"]["scripts"]) == scripts, (name, state["counters"]["scripts"])


def test_the_run_fixes_every_applicable_host(lab: Path, runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert first.returncode == 0, first.stdout[-3000:]
    counts = recap(first)
    assert {name for name, c in counts.items() if c["changed"]} == {h["name"] for h in FLEET["hosts"]} - NOTHING_TO_DO
    audit = json.loads(winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", "8",
                                 "--interval", "1200").stdout)
    for name, report in audit["hosts"].items():
        assert {f["status"] for f in report["findings"]} <= {"fixed", "not_applicable"}, (name, report["findings"])
        assert not report["facts"]["pending_reboot"], name
    state = runs["after_first"]
    assert state["s3-lcs"]["counters"]["service_restarts"] == 1 and state["s3-lcs"]["counters"]["reboots"] == 0
    assert state["s3-lcs"]["counters"]["powershell_starts"] == 0 and state["s3-lcs"]["counters"]["scripts"] == {}
    assert all(state[name]["counters"]["installs"] <= 1 for name in state)
    assert runs["saved"] == {name: "compliant" if name in NOTHING_TO_DO else "fixed" for name in state}
    report = json.loads((lab.parent / "report" / "report.json").read_text())  # kb_report after the batch
    assert report["summary"]["compliant"] is True and len(report["hosts"]) == len(FLEET["hosts"])


def test_a_second_run_changes_nothing(runs: dict[str, Any]) -> None:
    second = runs["second"]
    assert second.returncode == 0, second.stdout[-3000:]
    counts = recap(second)
    assert len(counts) == len(FLEET["hosts"]) and all(c["changed"] == 0 for c in counts.values()), counts
    for name, before in runs["after_first"].items():
        after = runs["after_second"][name]
        assert after["boot_time"] == before["boot_time"], name
        for counter in ("installs", "reboots", "stages", "service_restarts"):
            assert after["counters"][counter] == before["counters"][counter], (name, counter)


def test_verify_playbook_passes_after_the_run(lab: Path, runs: dict[str, Any],
                                              ansible_env: dict[str, str]) -> None:  # noqa: F811
    run = playbook("verify", lab, ansible_env)
    assert run.returncode == 0, run.stdout[-3000:]
    assert all(c["failed"] == 0 and c["changed"] == 0 for c in recap(run).values())


def test_serial_batches_and_a_failure_limit_stop_the_rollout(tmp_path: Path, ansible_env: dict[str, str]) -> None:  # noqa: F811
    fleet = {**FLEET, "hosts": [
        {"name": "a-dead", "os": "win7", "sp": 1, "arch": "x64", "faults": {"unreachable": True}},
        {"name": "b-win7", "os": "win7", "sp": 1, "arch": "x64"},
    ]}
    with running_lab(tmp_path, fleet) as lab:
        run = remediate(lab, ansible_env, "-e", "winremedy_serial=1", "-e", "winremedy_max_fail_percentage=0",
                        "-l", "a-dead,b-win7")
        assert run.returncode != 0 and "UNREACHABLE!" in run.stdout and "Traceback" not in run.stdout
        assert "b-win7" not in recap(run)  # its batch never started
        assert lab_hosts(lab)["b-win7"]["counters"]["commands"] == 0


@pytest.mark.parametrize("name", ["kb_stage", "kb_install", "kb_reboot", "kb_verify", "kb_remediate"])
def test_ansible_doc_renders(name: str, ansible_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    run = _ansible("ansible-doc", f"winremedy.windows.{name}", env=ansible_env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "EXAMPLES:" in run.stdout and f"winremedy.windows.{name}:" in run.stdout
    assert "RETURN VALUES:" in run.stdout and "[WARNING]" not in run.stderr


@pytest.mark.slow  # 30-60 s: Molecule starts ansible-playbook seven times
def test_molecule_scenario_passes_against_the_lab(tmp_path: Path, ansible_env: dict[str, str]) -> None:  # noqa: F811
    """``molecule test`` on a copy of molecule/ (so nothing is written into the repo), the collection by symlink."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "molecule", project / "molecule")
    env = {**ansible_env, "PATH": f"{BIN}{os.pathsep}{ansible_env['PATH']}"}
    run = subprocess.run([str(BIN / "molecule"), "test"], capture_output=True, text=True, env=env, cwd=project,
                         timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert re.search(rf"{step}\S*: \S*Executed: Successful", output), step
    assert re.search(r"mol-w7\s+: ok=\d+\s+changed=1", output)  # converge fixed it; idempotence found nothing
    assert sorted(p.name for p in project.iterdir()) == ["molecule"]
