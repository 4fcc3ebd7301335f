"""The collection's audit (playbook winremedy.windows.audit) against the lab, compared with `winremedy audit`.

Everything runs as a user runs it: ansible-playbook and ansible as
subprocesses, with the repo made the collection winremedy.windows by a symlink
under a temporary ANSIBLE_COLLECTIONS_PATH (nothing copied), against a lab
whose hosts speak WS-Management to ansible-core's own winrm plugin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SAMPLES, INTERVAL = 8, 1200  # 2h40 of host time at 3600x: leak verdicts, so missing_leaking is compared too
REPORTS = ("report.json", "report.csv", "report.xml", "report.html")
FAULTY_FLEET = {
    "time_scale": 3600, "seed": 5, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
    "hosts": [
        {"name": "good-01", "os": "win7", "sp": 1, "arch": "x64", "leak": "nsi"},
        {"name": "dead-01", "os": "win7", "sp": 1, "arch": "x64", "faults": {"unreachable": True}},
        {"name": "badpw-01", "os": "win7", "sp": 1, "arch": "x64", "faults": {"bad_auth": True}},
        {"name": "garbled-01", "os": "win2008r2", "sp": 1, "arch": "x64", "faults": {"garbled": True}},
        {"name": "bare-01", "os": "win2003", "sp": 2, "arch": "x86", "powershell": None},
    ],
}


def _winremedy(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "winremedy.cli", *args], capture_output=True, text=True,
                            timeout=300)
    if check and result.returncode not in (0, 1):
        raise AssertionError(f"winremedy {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """ANSIBLE_COLLECTIONS_PATH with ansible_collections/winremedy/windows -> the repo (a symlink, not a copy)."""
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "winremedy").mkdir(parents=True)
    (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(root), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(root / "tmp"), "ANSIBLE_HOME": str(root / "home")}


def _ansible(tool: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def _vault_password(directory: Path, host: str, env: dict[str, str]) -> None:
    """The lab's password for ``host``, vaulted in ``directory``/host_vars (key: ``directory``/vault-password)."""
    (directory / "vault-password").write_text("fleet-vault\n")
    vaulted = _ansible("ansible-vault", "encrypt_string", "--vault-password-file", str(directory / "vault-password"),
                       "Lab-pass1", "--name", "ansible_password", env=env, cwd=directory)
    assert vaulted.returncode == 0, vaulted.stderr
    (directory / "host_vars").mkdir()
    (directory / "host_vars" / f"{host}.yml").write_text(vaulted.stdout)


def _lab(directory: Path, *up: str) -> Iterator[Path]:
    _winremedy("lab", "up", "--dir", str(directory), *up)
    try:
        yield directory
    finally:
        _winremedy("lab", "down", "--dir", str(directory), check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from _lab(tmp_path_factory.mktemp("lab") / "lab", "--hosts", "20", "--seed", "4", "--time-scale", "3600")


@pytest.fixture(scope="module")
def faulty_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("faulty")
    (directory / "fleet.yml").write_text(yaml.safe_dump(FAULTY_FLEET))
    yield from _lab(directory / "lab", "--fleet", str(directory / "fleet.yml"))


def _counters(lab: Path) -> dict[str, dict[str, Any]]:
    status = json.loads(_winremedy("lab", "status", "--dir", str(lab), "--format", "json").stdout)
    return {h["name"]: h["counters"] for h in status["hosts"]}


def _audit_playbook(lab: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), "winremedy.windows.audit", "-f", "20",
                    "-e", f"winremedy_report_dir={out}", *extra, env=env, cwd=out.parent)


def _cli_audit(lab: Path, *extra: str) -> dict[str, Any]:
    return json.loads(_winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", *extra).stdout)


def _statuses(report: dict[str, Any]) -> dict[str, Any]:
    return {name: (host["reachable"], host["error_code"], [(f["kb"], f["status"]) for f in host["findings"]])
            for name, host in report["hosts"].items()}


@pytest.fixture(scope="module")
def playbook_run(lab: Path, ansible_env: dict[str, str]
                 ) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, int]]:
    """The playbook's audit with leak sampling, and how many commands each host received during it."""
    out = lab.parent / "playbook-report"
    before = _counters(lab)
    run = _audit_playbook(lab, out, ansible_env, "-e", f"winremedy_samples={SAMPLES}",
                          "-e", f"winremedy_interval={INTERVAL}")
    after = _counters(lab)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run, out, {name: after[name]["commands"] - before[name]["commands"] for name in after}


def _bare(lab: Path) -> set[str]:
    """Windows 2003 SP1 hosts: no PowerShell (WMF 2.0 needs SP2), audited by cmd.exe lines."""
    status = json.loads(_winremedy("lab", "status", "--dir", str(lab), "--format", "json").stdout)
    return {h["name"] for h in status["hosts"] if h["os"] == "win2003" and h["sp"] == 1}


def test_playbook_findings_are_the_cli_findings(lab: Path, playbook_run: Any) -> None:
    _, out, _ = playbook_run
    playbook = json.loads((out / "report.json").read_text())
    cli = _cli_audit(lab, "--samples", str(SAMPLES), "--interval", str(INTERVAL))
    assert len(playbook["hosts"]) == 20
    assert _statuses(playbook) == _statuses(cli)
    assert playbook["summary"]["findings"] == cli["summary"]["findings"]
    assert playbook["summary"]["findings"]["missing_leaking"] > 0  # the leak verdicts were compared too


def test_playbook_writes_every_report_and_one_command_per_host(lab: Path, playbook_run: Any) -> None:
    run, out, commands = playbook_run
    for name in REPORTS:
        assert (out / name).stat().st_size > 0, name
    assert len(list((out / "hosts").glob("*.json"))) == 20
    # fleet mode: the CLI's schedule, a command a sample; a host without PowerShell: the PowerShell try (9009),
    # set + services and the rest, then set + services and the indicators for each later sample
    bare = _bare(lab)
    assert commands == {name: 3 + 2 * (SAMPLES - 1) if name in bare else SAMPLES for name in commands}
    assert "changed=0" in run.stdout and "failed=0" in run.stdout


def test_the_per_host_mode_takes_every_sample_in_one_command(lab: Path, ansible_env: dict[str, str]) -> None:
    out = lab.parent / "per-host-report"
    before = _counters(lab)
    run = _audit_playbook(lab, out, ansible_env, "-e", "winremedy_audit_mode=per_host", "-e", "winremedy_samples=3",
                          "-e", f"winremedy_interval={INTERVAL}", "-l", "w7-0001:w7-0002")
    after = _counters(lab)
    assert run.returncode == 0, run.stdout[-3000:]
    assert {name: after[name]["commands"] - before[name]["commands"] for name in ("w7-0001", "w7-0002")} == {
        "w7-0001": 1, "w7-0002": 1}
    assert "kb_fleet_audit" not in run.stdout and sorted(p.stem for p in (out / "hosts").glob("*.json")) == [
        "w7-0001", "w7-0002"]


RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP: host -> ok, changed, unreachable, failed, skipped, rescued, ignored."""
    recap = stdout[stdout.rindex("PLAY RECAP"):]
    return {host: {key: int(value) for key, value in (pair.split("=") for pair in counts.split())}
            for host, counts in RECAP_LINE.findall(recap)}


def test_a_later_play_sees_each_hosts_findings_as_its_facts(lab: Path, ansible_env: dict[str, str]) -> None:
    out = lab.parent / "later-play"
    (out / "seen").mkdir(parents=True)
    (out / "site.yml").write_text(yaml.safe_dump([
        {"ansible.builtin.import_playbook": "winremedy.windows.audit"},
        {"name": "Later play", "hosts": "all", "gather_facts": False, "tasks": [
            {"name": "Write down the host's own facts", "delegate_to": "localhost", "ansible.builtin.copy": {
                "dest": f"{out / 'seen'}/{{{{ inventory_hostname }}}}.json",
                "content": "{{ {'statuses': ansible_facts.winremedy.statuses,"
                           " 'compliant': hostvars[inventory_hostname].winremedy.compliant} | to_json }}"}}]},
    ]))
    run = _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), "site.yml",
                   "-e", f"winremedy_report_dir={out / 'report'}", env=ansible_env, cwd=out)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "fleet mode" in run.stdout  # the fleet audit is the default
    cli = _cli_audit(lab)["hosts"]
    seen = {path.stem: json.loads(path.read_text()) for path in (out / "seen").glob("*.json")}
    assert seen.keys() == cli.keys() and len(seen) == 20
    for name, facts in seen.items():
        assert facts["statuses"] == {f["kb"]: f["status"] for f in cli[name]["findings"]}
        assert facts["compliant"] is all(f["status"] in ("fixed", "not_applicable") for f in cli[name]["findings"])


def test_the_recap_of_the_fleet_mode_is_the_per_host_modes(faulty_lab: Path, ansible_env: dict[str, str]) -> None:
    """Each host's ok/failed/unreachable/ignored counts in the PLAY RECAP, and the report, are the same in both modes."""
    runs = {mode: _audit_playbook(faulty_lab, faulty_lab.parent / mode, ansible_env, "--check",
                                  "-e", f"winremedy_audit_mode={mode}") for mode in ("fleet", "per_host")}
    # ok and skipped differ by design: the fleet task runs (or is skipped) once, counted on the batch's first host.
    recaps = {mode: {host: {key: counts[key] for key in ("changed", "unreachable", "failed", "rescued", "ignored")}
                     for host, counts in _recap(run.stdout).items()} for mode, run in runs.items()}
    assert recaps["fleet"] == recaps["per_host"], runs["fleet"].stdout[-3000:]
    # ignore_unreachable/ignore_errors: the hosts that could not be audited are "ignored", the others not
    assert {host: counts["ignored"] for host, counts in recaps["fleet"].items()} == {
        "good-01": 0, "bare-01": 0, "dead-01": 1, "badpw-01": 1, "garbled-01": 1}
    assert "fatal: [dead-01]: UNREACHABLE!" in runs["fleet"].stdout
    reports = {mode: json.loads((faulty_lab.parent / mode / "report.json").read_text()) for mode in runs}
    assert _statuses(reports["fleet"]) == _statuses(reports["per_host"])


def test_failed_hosts_are_in_the_report_with_the_cli_reasons(faulty_lab: Path, ansible_env: dict[str, str]) -> None:
    out = faulty_lab.parent / "report"
    run = _audit_playbook(faulty_lab, out, ansible_env, "--check")  # read-only: check mode audits the same
    assert run.returncode == 0, run.stdout[-3000:]
    assert "UNREACHABLE!" in run.stdout and "...ignoring" in run.stdout and "Traceback" not in run.stdout
    playbook = json.loads((out / "report.json").read_text())
    assert _statuses(playbook) == _statuses(_cli_audit(faulty_lab))
    codes = {name: host["error_code"] for name, host in playbook["hosts"].items()}
    assert codes == {"good-01": None, "dead-01": "unreachable", "badpw-01": "auth", "garbled-01": "protocol",
                     "bare-01": None}  # no PowerShell: audited through cmd.exe (the connection's protocol)
    assert playbook["hosts"]["bare-01"]["facts"]["notes"][0] == "audited without PowerShell (cmd.exe path)"

    strict = _audit_playbook(faulty_lab, out, ansible_env, "-e", "winremedy_fail_on_findings=true")
    assert strict.returncode == 2 and "not compliant: 3 of 5 hosts failed" in strict.stdout


def test_an_unknown_kb_stops_before_any_report(faulty_lab: Path, ansible_env: dict[str, str]) -> None:
    out = faulty_lab.parent / "unknown-kb"
    run = _audit_playbook(faulty_lab, out, ansible_env, "-e", '{"winremedy_kbs": ["KB1"]}', "-l", "good-01")
    assert run.returncode == 2
    assert "unknown KB 'KB1': the catalog knows KB2847346, KB903927, KB979223" in run.stdout
    assert not out.exists()


def test_an_unknown_option_fails_clearly(faulty_lab: Path, ansible_env: dict[str, str]) -> None:
    run = _ansible("ansible", "-i", str(faulty_lab / "inventory.yml"), "good-01", "-m", "winremedy.windows.kb_facts",
                   "-a", '{"kbz": ["KB2847346"]}', env=ansible_env, cwd=faulty_lab)
    assert run.returncode == 2
    assert ("Unsupported parameters for (ansible_collections.winremedy.windows.plugins.action.kb_facts) module: kbz. "
            "Supported parameters include: catalog_paths, fleet_task, history, interval, kbs, results_dir, samples.") in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_the_fleet_mode_reads_each_hosts_own_variables(faulty_lab: Path, ansible_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    """A vaulted password (host_vars), a host on psrp left to the per-host task (the engine speaks WinRM through
    pywinrm only, and kb_facts refuses psrp: it hands stdin to the pipeline), and --limit, in one fleet run."""
    inventory = yaml.safe_load((faulty_lab / "inventory.yml").read_text())
    del inventory["all"]["children"]["win7"]["hosts"]["good-01"]["ansible_password"]
    inventory["all"]["children"]["win2008r2"]["hosts"]["garbled-01"]["ansible_connection"] = "psrp"
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    _vault_password(tmp_path, "good-01", ansible_env)
    out = tmp_path / "report"
    run = _ansible("ansible-playbook", "-i", str(tmp_path / "inventory.yml"), "winremedy.windows.audit",
                   "--vault-password-file", str(tmp_path / "vault-password"), "-l", "good-01:garbled-01:dead-01",
                   "-e", f"winremedy_report_dir={out}", env=ansible_env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Lab-pass1" not in run.stdout + run.stderr
    report = json.loads((out / "report.json").read_text())
    assert {name: host["error_code"] for name, host in report["hosts"].items()} == {
        "good-01": None, "dead-01": "unreachable", "garbled-01": "transport-config"}
    assert "garbled-01: connection 'psrp' is not supported; use ansible_connection=winrm" in run.stdout


def test_serial_batches_are_one_fleet_audit_each(faulty_lab: Path, ansible_env: dict[str, str]) -> None:
    out = faulty_lab.parent / "serial"
    run = _audit_playbook(faulty_lab, out, ansible_env, "-e", "winremedy_serial=2")
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.stdout.count("TASK [Collect and assess every host of the batch at once") == 3  # 2 + 2 + 1 hosts
    assert _statuses(json.loads((out / "report.json").read_text())) == _statuses(_cli_audit(faulty_lab))
