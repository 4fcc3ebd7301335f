"""The commands integration tests run, as an operator types them: ``winremedy ...`` and a lab up/down; and the
fleet file read as the oracle of what the probe must name on each host."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from winremedy.lab.fleet import default_powershell

# Each fleet key that makes a host differ from a default install, and the topic the probe names it under.
QUIRK_TOPICS = {"free_disk_mb": "free_space", "windows_update": "windows_update", "fips": "fips",
                "system_root": "system_root", "locale": "locale", "adapters": "adapters", "dotnet": "dotnet",
                "powershell": "powershell", "winrm": "powershell"}


def expected_topics(host: dict[str, Any]) -> set[str]:
    """The quirks the fleet sets on ``host``; without PowerShell (2003 SP1 unless said otherwise) the probe script
    cannot run: cmd.exe tools name the WinRM version (1.1 on every such host of the test fleets) and the free space,
    and the probe says only that."""
    if host.get("powershell", default_powershell(host["os"], host["sp"])) is None:
        return {"powershell", "winrm"} | ({"free_space"} if "free_disk_mb" in host else set())
    return {QUIRK_TOPICS[key] for key in QUIRK_TOPICS if key in host}


def winremedy(
    *args: str, check: bool = True, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``winremedy ARGS`` in a subprocess; with ``check``, any exit code but 0 (ok) and 1 (findings) fails the test.

    It runs in a scratch directory removed afterwards: a default output folder (``./winremedy-remediate``) never
    lands in the checkout, and a test that wants one names it.
    """
    with tempfile.TemporaryDirectory(prefix="winremedy-cwd-") as scratch:
        result = subprocess.run([sys.executable, "-m", "winremedy.cli", *args], capture_output=True, text=True,
                                timeout=timeout, env=env, cwd=scratch)
    if check and result.returncode not in (0, 1):
        raise AssertionError(f"winremedy {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


@contextmanager
def running_lab(directory: Path, fleet: dict[str, Any] | None = None, *up: str,
                env: dict[str, str] | None = None) -> Iterator[Path]:
    """``winremedy lab up`` (from ``fleet`` when given, in ``env``) in ``directory``; always ``lab down`` afterwards."""
    if fleet is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "fleet-in.yml").write_text(yaml.safe_dump(fleet))
        up = ("--fleet", str(directory / "fleet-in.yml"), *up)
    winremedy("lab", "up", "--dir", str(directory / "lab"), *up, env=env)
    try:
        yield directory / "lab"
    finally:
        winremedy("lab", "down", "--dir", str(directory / "lab"), check=False)


def lab_hosts(lab: Path) -> dict[str, dict[str, Any]]:
    """``winremedy lab status`` per host: up, installed, pending, files, boot time, leaking, counters."""
    status = json.loads(winremedy("lab", "status", "--dir", str(lab), "--format", "json").stdout)
    return {host["name"]: host for host in status["hosts"]}
