"""Lab benchmark: start-up time, daemon RSS and throughput with parallel pywinrm clients running ``hostname``.

    .venv/bin/python bench/lab_bench.py --hosts 1000 --clients 32 --seconds 20

Starts a lab with ``winremedy lab up`` in a temporary directory, drives it
with real pywinrm sessions (NTLM with message encryption, one shell per
command, as ``run_cmd`` does), prints the figures and stops the lab.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import winrm
import yaml


def lab(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "winremedy.lab.cli", "lab", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr.strip())
    return result.stdout


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def targets(directory: Path) -> list[tuple[str, str, str, str]]:
    inventory = yaml.safe_load((directory / "inventory.yml").read_text())
    return [
        (name, f"http://{v['ansible_host']}:{v['ansible_port']}/wsman", v["ansible_user"], v["ansible_password"])
        for group in inventory["all"]["children"].values()
        for name, v in group["hosts"].items()
    ]


def drive(hosts: list[tuple[str, str, str, str]], clients: int, seconds: float) -> tuple[int, int]:
    """Run ``hostname`` round-robin from ``clients`` threads for ``seconds``: (commands ok, errors)."""
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {"ok": 0, "errors": 0}

    def worker(offset: int) -> None:
        index = offset
        while time.monotonic() < deadline:
            name, endpoint, user, password = hosts[index % len(hosts)]
            index += clients
            try:
                result = winrm.Session(endpoint, auth=(user, password), transport="ntlm").run_cmd("hostname")
                ok = result.status_code == 0 and result.std_out.strip().decode() == name
            except Exception:  # a failed round trip is a figure here, not a crash
                ok = False
            with lock:
                counts["ok" if ok else "errors"] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return counts["ok"], counts["errors"]


def requests_served(directory: Path) -> int:
    status: dict[str, Any] = json.loads(lab("status", "--dir", str(directory), "--format", "json"))
    return sum(h["counters"]["requests"] for h in status["hosts"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="winremedy-bench-") as tmp:
        directory = Path(tmp) / "lab"
        started = time.monotonic()
        lab("up", "--dir", str(directory), "--hosts", str(args.hosts), "--seed", "1")
        startup = time.monotonic() - started
        pid = int(json.loads((directory / "lab.json").read_text())["pid"])
        idle_rss = rss_mb(pid)
        try:
            ok, errors = drive(targets(directory), args.clients, args.seconds)
            loaded_rss = rss_mb(pid)
            served = requests_served(directory)
        finally:
            lab("down", "--dir", str(directory))
    print(f"hosts              {args.hosts}")
    print(f"start-up           {startup:.2f} s (lab up until every port accepts)")
    print(f"daemon RSS         {idle_rss:.0f} MB idle, {loaded_rss:.0f} MB under load")
    print(f"clients            {args.clients} pywinrm threads, {args.seconds:g} s")
    print(f"commands           {ok / args.seconds:.1f}/s ok ({ok} ok, {errors} errors)")
    print(f"WS-Man requests    {served / args.seconds:.1f}/s (auth legs, shell create/delete, command, receive, signal)")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
