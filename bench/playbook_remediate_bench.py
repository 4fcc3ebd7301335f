"""Playbook remediation benchmark: ``ansible-playbook winremedy.windows.remediate`` in fleet and per-host mode.

    .venv/bin/python bench/playbook_remediate_bench.py --hosts 50 --forks 16 --json playbook_remediate_bench.json

Each mode (``--modes``, ``winremedy_remediate_mode``: fleet, the default, and per_host) and then, unless
``--no-cli``, ``winremedy remediate`` remediate their own lab of the same fleet (``winremedy lab up --hosts N
--seed S --time-scale 3600``: a remediation changes the hosts, so each run starts from the same state), with
``winremedy_reboot=now`` and lab-speed polling (host time runs 3600x). The playbook runs as a user runs it,
``ansible-playbook -i LAB/inventory.yml winremedy.windows.remediate -f FORKS -e winremedy_repo=LAB/repo ...``,
with this checkout as the collection (bench/playbook_audit_bench.py's environment). Measured with
bench/audit_bench.py's helpers: wall time, CPU of the controller and all its forks per host, peak memory of the
whole process tree (PSS), the lab's per-host counters; and the load average before and after each run (the
machine may be shared). Every host must have its outcome in OUT/remediation/, and each host's status must be
the same in every run. The labs are always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from audit_bench import WINREMEDY, around, lab_down, lab_up, per_host, save_figures, table
from playbook_audit_bench import BIN, collection_env

# Host time runs 3600x in the lab: a poll of 0.05 s is three host minutes (as the integration tests run it).
LAB_SPEED = {"poll": "0.05", "verify_samples": "4", "verify_interval": "900", "reboot_timeout": "120"}


def playbook(lab: Path, out: Path, args: argparse.Namespace, mode: str) -> list[str]:
    extra = [f"winremedy_{name}={value}" for name, value in LAB_SPEED.items()]
    extra += [f"winremedy_repo={lab / 'repo'}", f"winremedy_report_dir={out}", "winremedy_reboot=now",
              f"winremedy_remediate_mode={mode}", f"winremedy_forks={args.forks}"]
    return [str(BIN / "ansible-playbook"), "-i", str(lab / "inventory.yml"), "winremedy.windows.remediate",
            "-f", str(args.forks), *(arg for pair in extra for arg in ("-e", pair))]


def cli(lab: Path, out: Path, args: argparse.Namespace) -> list[str]:
    options = [arg for name, value in LAB_SPEED.items() for arg in (f"--{name.replace('_', '-')}", value)]
    return [*WINREMEDY, "remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--reboot",
            "now", "--out", str(out), "--forks", str(args.forks), *options]


def measure(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """``name`` (a playbook mode, or "cli") on a lab of its own: its figures, and each host's status."""
    lab, out = tmp / f"lab-{name}", tmp / f"out-{name}"
    try:
        lab_up(lab, args.hosts, args.seed, args.time_scale)
        command = cli(lab, out, args) if name == "cli" else playbook(lab, out, args, name)
        load_before = os.getloadavg()[0]
        run = around(lab, command, tmp / f"{name}.log", collection_env(tmp))
        load_after = os.getloadavg()[0]
    finally:
        lab_down(lab)
    outcomes = {path.stem: json.loads(path.read_text())["status"] for path in (out / "remediation").glob("*.json")}
    if not outcomes:
        raise SystemExit(f"{name}: no host outcome (rc {run['rc']}):\n{run['log'][-3000:]}")
    row = per_host(run, args.hosts, len(outcomes))
    row.update(rc=run["rc"], load_before=load_before, load_after=load_after, statuses=outcomes,
               failed=sum(status in ("failed", "unreachable") for status in outcomes.values()),
               counts={status: list(outcomes.values()).count(status) for status in sorted(set(outcomes.values()))})
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forks", type=int, default=16,
                        help="ansible-playbook -f, winremedy_forks (fleet mode) and winremedy remediate --forks")
    parser.add_argument("--time-scale", type=float, default=3600.0, help="lab host seconds per real second")
    parser.add_argument("--modes", default="fleet,per_host", help="winremedy_remediate_mode values to run, in order")
    parser.add_argument("--no-cli", action="store_true", help="skip the winremedy remediate comparison")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "hosts": args.hosts, "seed": args.seed, "forks": args.forks, "time_scale": args.time_scale,
    }
    names = [*args.modes.split(","), *([] if args.no_cli else ["cli"])]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="winremedy-remediate-bench-") as directory:
        for name in names:
            row = rows[name] = figures[name] = measure(name, args, Path(directory))
            print(f"{name}: {row['audited']} hosts {row['counts']} in {row['wall_s']:.1f} s (rc {row['rc']}), "
                  f"load average {row['load_before']:.1f} -> {row['load_after']:.1f}", flush=True)
    titles = {name: "winremedy remediate" if name == "cli" else f"playbook, {name}" for name in names}
    print(f"\n{args.hosts} lab hosts, seed {args.seed}, {os.cpu_count()} CPUs, forks {args.forks}, time scale "
          f"{args.time_scale:g}, reboot now")
    shown = table([(titles[name], row) for name, row in rows.items()])  # audit_bench's rows: "audited" = done
    print(shown.replace("hosts audited", "hosts remediated").replace("wall time, audit", "wall time, remediation"))
    first, *others = names
    checks = {f"every_host_{name}": rows[name]["audited"] == args.hosts for name in names}
    for name in others:
        differ = sorted(h for h in rows[first]["statuses"] if rows[name]["statuses"].get(h) != rows[first]["statuses"][h])
        checks[f"same_outcomes_{name}"] = not differ
        print(f"[{'PASS' if not differ else 'FAIL'}] {name}: the same status as {first} on "
              f"{args.hosts - len(differ)}/{args.hosts} hosts" + (f"; differ: {', '.join(differ[:5])}" if differ else ""))
        figures[f"{name}_wall_over_{first}"] = rows[name]["wall_s"] / rows[first]["wall_s"]
        print(f"{name}: {figures[f'{name}_wall_over_{first}']:.2f}x the wall time of {first}")
    figures["checks"] = checks
    save_figures(args.json, figures)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
