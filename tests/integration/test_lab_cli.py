"""``winremedy lab up / status / down`` for real: a detached daemon, Ansible over WinRM, nothing left running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration
VENV_BIN = Path(sys.executable).parent


def lab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "winremedy.lab.cli", "lab", *args], capture_output=True, text=True, timeout=timeout)


def daemon_gone(pid: int) -> bool:
    try:
        return b"winremedy.lab.daemon" not in Path(f"/proc/{pid}/cmdline").read_bytes()
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
    assert daemon_gone(pid)
    assert not (directory / "lab.json").exists()


def test_up_ansible_status_down(lab_dir: Path) -> None:
    pid = bring_up(lab_dir, 100, 60)
    inventory = yaml.safe_load((lab_dir / "inventory.yml").read_text())
    names = {name for group in inventory["all"]["children"].values() for name in group["hosts"]}
    assert len(names) == 100

    env = {**os.environ, "ANSIBLE_FORKS": "20", "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1"}
    ansible = subprocess.run(
        [str(VENV_BIN / "ansible"), "all", "-i", str(lab_dir / "inventory.yml"), "-m", "raw", "-a", "hostname"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert ansible.returncode == 0, ansible.stdout[-2000:] + ansible.stderr[-2000:]
    for name in names:
        assert f"{name} | CHANGED | rc=0 >>\n{name}\r\n" in ansible.stdout or f"{name} | CHANGED | rc=0 >>\n{name}\n" in ansible.stdout

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


@pytest.mark.slow
def test_a_thousand_hosts_start_within_a_minute(lab_dir: Path) -> None:
    pid = bring_up(lab_dir, 1000, 60)
    status = json.loads(lab("status", "--dir", str(lab_dir), "--format", "json").stdout)
    assert len(status["hosts"]) == 1000
    bring_down(lab_dir, pid)
