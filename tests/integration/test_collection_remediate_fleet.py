"""The remediate playbook's fleet mode (kb_fleet_remediate once per batch) against its per-host mode.

Two labs of the same mixed fleet, one per mode, each remediated by ``ansible-playbook
winremedy.windows.remediate`` in batches of two with a host that fails its readiness probe (no room to stage a
package): the same outcome per host, the same PLAY RECAP (changed, failed, unreachable), the same files
(journals, results, remediation records, reports) and the same work on the hosts. A failure limit stops both
modes after the failing host's batch; check mode and a second run change nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from labcli import lab_hosts, running_lab
from test_collection_audit import _ansible, _recap, _vault_password, ansible_env  # noqa: F401 - ansible_env is a fixture
from test_collection_remediate import FAST

pytestmark = pytest.mark.integration

MODES = ("fleet", "per_host")
FLEET = {
    "time_scale": 3600, "seed": 23, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
    "hosts": [
        {"name": "a-full", "os": "win7", "sp": 1, "arch": "x64", "free_disk_mb": 20},  # not ready: no room to stage
        {"name": "b-leak", "os": "win7", "sp": 1, "arch": "x64", "leak": "nsi"},
        {"name": "c-r2-done", "os": "win2008r2", "sp": 1, "arch": "x64", "installed": ["KB2847346"]},
        {"name": "d-vi-wfp", "os": "vista", "sp": 2, "arch": "x64", "leak": "wfp"},
        {"name": "e-s8-pending", "os": "win2008", "sp": 2, "arch": "x86", "pending": ["KB979223"]},
        {"name": "f-s3-lcs", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"]},  # no PowerShell
    ],
}
FAILING = "a-full"
NOTHING_TO_DO = {"c-r2-done"}
WORK = ("installs", "reboots", "stages", "service_restarts")  # what a remediation does to a host


def remediate(lab: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), "winremedy.windows.remediate", "-f", "8",
                    "-e", f"winremedy_repo={lab / 'repo'}", "-e", f"winremedy_report_dir={out}",
                    "-e", "winremedy_reboot=now", *FAST, *extra, env=env, cwd=out.parent)


def recap(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    """Per host: what a user reads in the PLAY RECAP about its remediation. ok and skipped differ by design (the
    fleet task runs, or is skipped, once per batch, counted on the batch's first host), and so does ignored: in
    per-host mode a host's failure is first ignored, then reported by its last task, after the reports."""
    return {host: {key: counts[key] for key in ("changed", "unreachable", "failed", "rescued")}
            for host, counts in _recap(run.stdout).items()}


def files(out: Path) -> dict[str, Any]:
    """What a run leaves in winremedy_report_dir, without times: each host's outcome, its journal's steps, its
    saved audit, and the fleet report."""
    journals = {path.stem: [(entry["step"], entry["kb"]) for entry in map(json.loads, path.read_text().splitlines())]
                for path in (out / "journal").glob("*.jsonl")}
    outcomes = {}
    for path in (out / "remediation").glob("*.json"):
        saved = json.loads(path.read_text())
        outcomes[path.stem] = (saved["status"], saved["changed"], saved["error_code"], saved["reboot_required"],
                               [(s["step"], s["kb"], s["changed"]) for s in saved["steps"]],
                               [(f["kb"], f["status"]) for f in saved["findings"]])
    report = json.loads((out / "report.json").read_text())
    return {"journals": journals, "outcomes": outcomes,
            "results": sorted(path.name for path in (out / "hosts").glob("*.json")),
            "reports": sorted(path.name for path in out.glob("report.*")),
            "report": {name: (host["error_code"], [(f["kb"], f["status"]) for f in host["findings"]])
                       for name, host in report["hosts"].items()}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ansible_env: dict[str, str]  # noqa: F811
         ) -> Iterator[dict[str, dict[str, Any]]]:
    """Per mode, on its own lab: --check, the run (batches of 2), a second run; the lab's state after each."""
    done: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        with running_lab(tmp_path_factory.mktemp(f"remediate-{mode}"), FLEET) as lab:
            out = lab.parent / "report"
            select = ("-e", f"winremedy_remediate_mode={mode}", "-e", "winremedy_serial=2")
            check = remediate(lab, lab.parent / "check-report", ansible_env, *select, "--check")
            after_check = lab_hosts(lab)
            first = remediate(lab, out, ansible_env, *select)
            after_first, first_files = lab_hosts(lab), files(out)
            second = remediate(lab, out, ansible_env, *select)
            done[mode] = {"check": check, "after_check": after_check, "first": first, "after_first": after_first,
                          "files": first_files, "second": second, "after_second": lab_hosts(lab)}
    yield done


def test_fleet_mode_runs_one_task_per_batch(runs: dict[str, dict[str, Any]]) -> None:
    fleet, per_host = runs["fleet"]["first"], runs["per_host"]["first"]
    heading = "TASK [Audit, plan, stage, install, restart, verify every host of the batch at once"
    assert fleet.stdout.count(heading) == 3 and "Traceback" not in fleet.stdout  # 6 hosts, serial 2
    assert per_host.stdout.count(heading) == 3 and per_host.stdout.count("skipping: [") >= 3  # skipped per batch


def test_the_outcome_and_the_recap_per_host_are_the_per_host_modes(runs: dict[str, dict[str, Any]]) -> None:
    recaps = {mode: recap(runs[mode]["first"]) for mode in MODES}
    assert recaps["fleet"] == recaps["per_host"], runs["fleet"]["first"].stdout[-3000:]
    hosts = {h["name"] for h in FLEET["hosts"]}
    assert set(recaps["fleet"]) == hosts
    assert {h for h, counts in recaps["fleet"].items() if counts["failed"]} == {FAILING}
    assert {h for h, counts in recaps["fleet"].items() if counts["changed"]} == hosts - NOTHING_TO_DO - {FAILING}
    ignored = {mode: {h: counts["ignored"] for h, counts in _recap(runs[mode]["first"].stdout).items() if counts["ignored"]}
               for mode in MODES}
    assert ignored == {mode: {FAILING: 1} for mode in MODES}  # the host's own task, replayed in fleet mode
    for mode in MODES:  # one failed host of six, max_fail_percentage 100: every batch ran, the play failed
        run = runs[mode]["first"]
        assert run.returncode == 2 and f"fatal: [{FAILING}]: FAILED!" in run.stdout, run.stdout[-3000:]
        assert "not ready" in run.stdout.split(f"fatal: [{FAILING}]")[1].splitlines()[0]


def test_both_modes_write_the_same_files_and_do_the_same_work(runs: dict[str, dict[str, Any]]) -> None:
    fleet, per_host = runs["fleet"]["files"], runs["per_host"]["files"]
    assert fleet == per_host
    assert len(fleet["outcomes"]) == len(FLEET["hosts"]) and fleet["reports"] == [
        "report.csv", "report.html", "report.json", "report.xml"]
    assert fleet["outcomes"][FAILING][:3] == ("failed", False, "not_ready")
    assert {host for host, outcome in fleet["outcomes"].items() if outcome[0] == "fixed"} == {
        h["name"] for h in FLEET["hosts"]} - NOTHING_TO_DO - {FAILING}
    assert set(fleet["journals"]) == {h["name"] for h in FLEET["hosts"]} - NOTHING_TO_DO - {FAILING}
    work = {mode: {host: {key: state["counters"][key] for key in WORK} for host, state in runs[mode]["after_first"].items()}
            for mode in MODES}
    assert work["fleet"] == work["per_host"]
    assert work["fleet"][FAILING] == dict.fromkeys(WORK, 0) and work["fleet"]["b-leak"]["installs"] == 1


def test_check_mode_plans_and_changes_nothing(runs: dict[str, dict[str, Any]]) -> None:
    recaps = {mode: recap(runs[mode]["check"]) for mode in MODES}
    assert recaps["fleet"] == recaps["per_host"]
    assert {h for h, counts in recaps["fleet"].items() if counts["changed"]} == {
        h["name"] for h in FLEET["hosts"]} - NOTHING_TO_DO - {FAILING}
    for host, state in runs["fleet"]["after_check"].items():
        assert {key: state["counters"][key] for key in WORK} == dict.fromkeys(WORK, 0), host


def test_a_second_run_changes_nothing(runs: dict[str, dict[str, Any]]) -> None:
    second = recap(runs["fleet"]["second"])
    assert all(counts["changed"] == 0 for counts in second.values()), second
    assert {h for h, counts in second.items() if counts["failed"]} == {FAILING}
    for host, before in runs["fleet"]["after_first"].items():
        after = runs["fleet"]["after_second"][host]
        assert after["boot_time"] == before["boot_time"], host
        assert {key: after["counters"][key] for key in WORK} == {key: before["counters"][key] for key in WORK}, host


def test_a_failure_limit_stops_both_modes_after_the_batch(tmp_path: Path, ansible_env: dict[str, str]) -> None:  # noqa: F811
    """Batches of two, no failure allowed: the failing host's batch finishes (its partner is fixed), no later
    host is contacted, and the recap is the per-host mode's."""
    fleet = {**FLEET, "hosts": [*FLEET["hosts"][:2], {"name": "c-w7", "os": "win7", "sp": 1, "arch": "x86"},
                                {"name": "d-w7", "os": "win7", "sp": 1, "arch": "x64"}]}  # one group: batches in this order
    recaps, untouched = {}, {}
    for mode in MODES:
        with running_lab(tmp_path / mode, fleet) as lab:
            run = remediate(lab, lab.parent / "report", ansible_env, "-e", f"winremedy_remediate_mode={mode}",
                            "-e", "winremedy_serial=2", "-e", "winremedy_max_fail_percentage=0")
            assert run.returncode == 2 and "Traceback" not in run.stdout, run.stdout[-3000:]
            recaps[mode] = recap(run)
            state = lab_hosts(lab)
            untouched[mode] = {host for host, s in state.items() if s["counters"]["commands"] == 0}
            assert state["b-leak"]["counters"]["installs"] == 1  # the batch itself ran to its end
    assert recaps["fleet"] == recaps["per_host"]
    assert set(recaps["fleet"]) == {FAILING, "b-leak"} and recaps["fleet"][FAILING]["failed"] == 1
    assert untouched["fleet"] == untouched["per_host"] == {"c-w7", "d-w7"}


def test_the_fleet_mode_reads_a_vaulted_password_and_leaves_psrp_hosts_to_their_task(
        tmp_path: Path, ansible_env: dict[str, str]) -> None:  # noqa: F811
    """A host's password vaulted in host_vars reaches the engine's connection; a host on psrp is left to the
    per-host task, which names why it cannot remediate it; the password is never printed."""
    fleet = {**FLEET, "hosts": [FLEET["hosts"][1], {"name": "g-psrp", "os": "win7", "sp": 1, "arch": "x64"}]}
    with running_lab(tmp_path / "lab", fleet) as lab:
        inventory = yaml.safe_load((lab / "inventory.yml").read_text())
        hosts = inventory["all"]["children"]["win7"]["hosts"]
        del hosts["b-leak"]["ansible_password"]
        hosts["g-psrp"]["ansible_connection"] = "psrp"
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
        _vault_password(tmp_path, "b-leak", ansible_env)
        run = _ansible("ansible-playbook", "-i", str(tmp_path / "inventory.yml"), "winremedy.windows.remediate",
                       "--vault-password-file", str(tmp_path / "vault-password"), "-e", f"winremedy_repo={lab / 'repo'}",
                       "-e", f"winremedy_report_dir={tmp_path / 'report'}", "-e", "winremedy_reboot=now", *FAST,
                       env=ansible_env, cwd=tmp_path)
        state = lab_hosts(lab)
    assert "Lab-pass1" not in run.stdout + run.stderr
    assert recap(run)["b-leak"]["changed"] == 1 and state["b-leak"]["counters"]["installs"] == 1
    assert recap(run)["g-psrp"]["failed"] == 1 and state["g-psrp"]["counters"]["commands"] == 0
    assert "g-psrp: connection 'psrp' is not supported; use ansible_connection=winrm" in run.stdout
