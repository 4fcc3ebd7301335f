"""``winremedy lab up / status / down / generate`` for real: a detached daemon, Ansible over WinRM, nothing left
running, generated fleet files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import winrm
import yaml

from winremedy.lab.fleet import generate

pytestmark = pytest.mark.integration
VENV_BIN = Path(sys.executable).parent
BENCH = Path(__file__).resolve().parents[2] / "bench"


def lab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "winremedy.lab.cli", "lab", *args], capture_output=True, text=True, timeout=timeout)


def daemon_gone(pid: int, directory: Path) -> bool:
    """No process ``pid`` serves ``directory`` any more (the daemon runs with ``--dir`` and its absolute path)."""
    try:
        return str(directory.resolve()).encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "lab"
    yield directory
    if (directory / "lab.json").exists():
        lab("down", "--dir", str(directory))


def bring_up(directory: Path, hosts: int, limit: float) -> int:
    started = time.monotonic()
    result = lab("up", "--dir", str(directory), "--hosts", str(hosts), "--seed", "4", "--time-scale", "60")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < limit
    return int(json.loads((directory / "lab.json").read_text())["pid"])


def bring_down(directory: Path, pid: int) -> None:
    result = lab("down", "--dir", str(directory))
    assert result.returncode == 0, result.stderr
    assert daemon_gone(pid, directory)
    assert not (directory / "lab.json").exists()


def test_up_ansible_status_down(lab_dir: Path) -> None:
    pid = bring_up(lab_dir, 100, 60)
    inventory = yaml.safe_load((lab_dir / "inventory.yml").read_text())
    assert {(lab_dir / name).stat().st_mode & 0o777 for name in ("inventory.yml", "fleet.yml")} == {0o600}  # passwords
    names = {name for group in inventory["all"]["children"].values() for name in group["hosts"]}
    assert len(names) == 100

    env = {**os.environ, "ANSIBLE_FORKS": "20", "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1"}
    ansible = subprocess.run(
        [str(VENV_BIN / "ansible"), "all", "-i", str(lab_dir / "inventory.yml"), "-m", "raw", "-a", "hostname"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    # Ansible's winrm connection wraps every command in PowerShell: a host without it (2003 SP1) answers 9009
    fleet = yaml.safe_load((lab_dir / "fleet.yml").read_text())
    bare = {h["name"] for h in fleet["hosts"] if h.get("powershell", "2.0") is None or (h["os"], h["sp"]) == ("win2003", 1)}
    assert bare and ansible.returncode == 2, ansible.stdout[-2000:] + ansible.stderr[-2000:]
    for name in names - bare:
        assert f"{name} | CHANGED | rc=0 >>\n{name}\r\n" in ansible.stdout or f"{name} | CHANGED | rc=0 >>\n{name}\n" in ansible.stdout
    for name in bare:
        assert f"{name} | FAILED | rc=9009 >>" in ansible.stdout

    status = lab("status", "--dir", str(lab_dir), "--format", "json")
    assert status.returncode == 0, status.stderr
    hosts = json.loads(status.stdout)["hosts"]
    assert len(hosts) == 100
    assert all(h["counters"]["commands"] >= 1 and h["counters"]["authentications"] >= 1 for h in hosts)
    assert lab("status", "--dir", str(lab_dir)).stdout.startswith("host time ")

    again = lab("up", "--dir", str(lab_dir), "--hosts", "3")
    assert again.returncode == 2 and "already has a running lab" in again.stderr and "Traceback" not in again.stderr
    bring_down(lab_dir, pid)


def test_clean_errors(tmp_path: Path) -> None:
    down = lab("down", "--dir", str(tmp_path))
    assert down.returncode == 2 and down.stderr.startswith("winremedy lab: no lab is running")
    bad = tmp_path / "fleet.yml"
    bad.write_text("hosts:\n  - {name: x1, os: win9, sp: 1, arch: x64, credentials: {user: a, password: b}}\n")
    up = lab("up", "--dir", str(tmp_path / "lab"), "--fleet", str(bad))
    assert up.returncode == 2 and "host 'x1': key 'os'" in up.stderr and "Traceback" not in up.stderr


def test_generate_prints_or_writes_the_fleet_up_would_generate(tmp_path: Path) -> None:
    printed = lab("generate", "--hosts", "12", "--seed", "4")
    assert printed.returncode == 0, printed.stderr
    assert yaml.safe_load(printed.stdout) == generate(12, 4)
    output = tmp_path / "fleet.yml"
    written = lab("generate", "--hosts", "12", "--seed", "4", "--output", str(output))
    assert written.returncode == 0 and written.stdout == "", written.stderr
    assert output.read_text() == printed.stdout and "12 hosts" in written.stderr
    assert yaml.safe_load(lab("generate").stdout) == generate(10, 0)  # the default size, as for 'lab up'

    nowhere = tmp_path / "missing" / "fleet.yml"
    refused = lab("generate", "--output", str(nowhere))
    assert refused.returncode == 2 and refused.stderr.startswith(f"winremedy lab: {nowhere}: cannot write")
    assert refused.stderr.count("\n") == 1 and not nowhere.parent.exists()
    none = lab("generate", "--hosts", "0")
    assert none.returncode == 2 and none.stderr == "winremedy lab: --hosts must be at least 1, got 0\n"


def test_a_fleet_file_without_credentials_serves_the_lab_default(lab_dir: Path, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts:\n  - {name: w7-0001, os: win7, sp: 1, arch: x64}\n")
    up = lab("up", "--dir", str(lab_dir), "--fleet", str(fleet))
    assert up.returncode == 0, up.stderr
    entry = yaml.safe_load((lab_dir / "inventory.yml").read_text())["all"]["children"]["win7"]["hosts"]["w7-0001"]
    assert (entry["ansible_user"], entry["ansible_password"]) == ("Administrator", "winremedy-lab")
    session = winrm.Session(f"http://127.0.0.1:{entry['ansible_port']}/wsman", auth=("Administrator", "winremedy-lab"),
                            transport="ntlm")
    assert session.run_cmd("hostname").std_out == b"w7-0001\r\n"
    bring_down(lab_dir, int(json.loads((lab_dir / "lab.json").read_text())["pid"]))


def test_the_bench_lab_serves_the_naive_baseline_and_lab_down_stops_it(lab_dir: Path, tmp_path: Path) -> None:
    up = subprocess.run([sys.executable, str(BENCH / "lab_naive.py"), "up", "--dir", str(lab_dir), "--hosts", "2",
                         "--time-scale", "3600"], capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    report = tmp_path / "naive.json"
    naive = subprocess.run([sys.executable, str(BENCH / "naive_baseline.py"), "-i", str(lab_dir / "inventory.yml"),
                            "--threads", "2", "--time-scale", "3600", "--json", str(report)],
                           capture_output=True, text=True, timeout=300)
    assert naive.returncode == 0, naive.stderr
    results = json.loads(report.read_text())["results"]
    assert len(results) == 2 and all(r["statuses"] and not r["errors"] and "error" not in r for r in results)
    bring_down(lab_dir, int(json.loads((lab_dir / "lab.json").read_text())["pid"]))


@pytest.mark.slow
def test_a_thousand_hosts_start_within_a_minute(lab_dir: Path) -> None:
    pid = bring_up(lab_dir, 1000, 60)
    status = json.loads(lab("status", "--dir", str(lab_dir), "--format", "json").stdout)
    assert len(status["hosts"]) == 1000
    bring_down(lab_dir, pid)
