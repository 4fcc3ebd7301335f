"""The commands integration tests run, as an operator types them: ``winremedy ...`` and a lab up/down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml


def winremedy(
    *args: str, check: bool = True, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``winremedy ARGS`` in a subprocess; with ``check``, any exit code but 0 (ok) and 1 (findings) fails the test."""
    result = subprocess.run([sys.executable, "-m", "winremedy.cli", *args], capture_output=True, text=True,
                            timeout=timeout, env=env)
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
