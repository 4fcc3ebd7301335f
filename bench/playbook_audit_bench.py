"""Playbook audit benchmark: ``ansible-playbook winremedy.windows.audit`` of an N-host lab, beside ``winremedy audit``.

    .venv/bin/python bench/playbook_audit_bench.py --hosts 200 --forks 50 --json playbook_audit_bench.json

The playbook runs once per ``--modes`` entry (``winremedy_audit_mode``: fleet, the default, and per_host); with
``--repeat N`` the fleet mode and ``winremedy audit`` run N times in turn and each one's fastest run is kept (on
a machine shared with other jobs, the run least disturbed by them).

Starts a lab (``winremedy lab up --hosts N --seed S --time-scale 3600`` in a
temporary directory) and runs, as a user would, ``ansible-playbook -i
LAB/inventory.yml winremedy.windows.audit -f FORKS -e winremedy_report_dir=OUT``
with this checkout as the collection (a symlink under a temporary
ANSIBLE_COLLECTIONS_PATH). Measured with bench/audit_bench.py's helpers: wall
time, CPU of the controller and all its forks, the largest single process's
peak RSS, the peak memory of the whole process tree (PSS and summed RSS:
ansible-playbook forks a worker per host in flight, each with its own copy of
Python), the machine's CPUs (nproc) and load average around each run, and the
lab's per-host WS-Management counters. Every host must have its result in
OUT/hosts/ and none may have failed. Then, unless ``--no-cli``, ``winremedy
audit --forks FORKS`` on the same lab for comparison, and both runs' findings
are compared host by host, and the fleet mode's wall time is held against the
target (at most 1.5x that of ``winremedy audit``). The lab is always stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from audit_bench import around, cli_audit, lab_down, lab_pid, lab_up, machine, per_host, rss_mb, save_figures, table

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO = 1.5  # the target: the fleet mode within 1.5x the wall time of winremedy audit


def collection_env(tmp: Path) -> dict[str, str]:
    """ansible-playbook's environment: this checkout as winremedy.windows, nothing else on the collections path."""
    root = tmp / "collections"
    if not root.exists():
        (root / "ansible_collections" / "winremedy").mkdir(parents=True)
        (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(root), "ANSIBLE_HOME": str(tmp / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def playbook_audit(directory: Path, out: Path, args: argparse.Namespace, tmp: Path, mode: str) -> dict[str, Any]:
    command = [str(BIN / "ansible-playbook"), "-i", str(directory / "inventory.yml"), "winremedy.windows.audit",
               "-f", str(args.forks), "-e", f"winremedy_report_dir={out}", "-e", f"winremedy_samples={args.samples}",
               "-e", f"winremedy_interval={args.interval:g}", "-e", f"winremedy_audit_mode={mode}",
               "-e", f"winremedy_forks={args.forks}"]
    run = around(directory, command, tmp / f"playbook-{mode}.log", collection_env(tmp))
    if run["rc"] != 0:
        raise SystemExit(f"ansible-playbook failed (rc {run['rc']}):\n{run['log'][-3000:]}")
    from winremedy.audit.results import load_results

    results = load_results(out)
    row = per_host(run, args.hosts, len(results))
    row.update(samples=args.samples, failed=sum(1 for r in results if not r.ok),
               errors=[r.error for r in results if not r.ok][:5])
    row["statuses"] = {r.host: {f.kb: f.status.value for f in r.findings} for r in results if r.ok}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forks", type=int, default=50, help="ansible-playbook -f, and winremedy audit --forks")
    parser.add_argument("--samples", type=int, default=1, help="leak samples per indicator (default 1)")
    parser.add_argument("--interval", type=float, default=60.0, help="host seconds between samples (default 60)")
    parser.add_argument("--time-scale", type=float, default=3600.0, help="lab host seconds per real second")
    parser.add_argument("--modes", default="fleet,per_host", help="winremedy_audit_mode values to run, in order")
    parser.add_argument("--no-cli", action="store_true", help="skip the winremedy audit comparison")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the fleet mode and the CLI this many times in turn and keep each one's fastest "
                             "run (the other modes run once)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "nproc": machine()["nproc"],
        "hosts": args.hosts, "seed": args.seed, "forks": args.forks, "time_scale": args.time_scale,
        "samples": args.samples, "interval": args.interval, "load_average_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="winremedy-playbook-bench-") as name:
        tmp = Path(name)
        lab = tmp / "lab"
        try:
            figures["lab_up_s"] = lab_up(lab, args.hosts, args.seed, args.time_scale)
            figures["lab_idle_rss_mb"] = rss_mb(lab_pid(lab))
            print(f"lab up: {args.hosts} hosts in {figures['lab_up_s']:.1f} s", flush=True)
            runs: dict[str, list[dict[str, Any]]] = {}
            for number in range(args.repeat):  # the fleet mode and the CLI in turn, so both meet the same load
                for mode in args.modes.split(",") if number == 0 else ["fleet"]:
                    playbook = playbook_audit(lab, tmp / f"playbook-{mode}-out-{number}", args, tmp, mode)
                    runs.setdefault(mode, []).append(playbook)
                    print(f"ansible-playbook winremedy.windows.audit -f {args.forks} ({mode}): {playbook['audited']} "
                          f"hosts ({playbook['failed']} failed) in {playbook['wall_s']:.1f} s, load average "
                          f"{playbook['load_before']:.1f} before, {playbook['load_after']:.1f} after", flush=True)
                if not args.no_cli:
                    run = cli_audit(lab, tmp / f"cli-out-{number}", args, args.samples, tmp)
                    runs.setdefault("cli", []).append(run)
                    print(f"winremedy audit --forks {args.forks}: {run['audited']} hosts ({run['failed']} failed) "
                          f"in {run['wall_s']:.1f} s, load average {run['load_before']:.1f} before, "
                          f"{run['load_after']:.1f} after", flush=True)
        finally:
            lab_down(lab)

    best = {name: {**min(tries, key=lambda run: run["wall_s"]), "walls_s": [run["wall_s"] for run in tries]}
            for name, tries in runs.items()}  # each one's fastest run: the least disturbed by other jobs
    cli = figures["cli"] = best.pop("cli", None)
    playbooks = best
    figures.update({f"playbook_{mode}": playbook for mode, playbook in playbooks.items()})
    columns = [(f"ansible-playbook -f {args.forks} ({mode})", playbook) for mode, playbook in playbooks.items()]
    if cli:
        columns.append((f"winremedy audit --forks {args.forks}", cli))
    print()
    print(f"{args.hosts} lab hosts, seed {args.seed}, nproc {figures['nproc']}, forks {args.forks}, time scale "
          f"{args.time_scale:g}, samples {args.samples}; lab up {figures['lab_up_s']:.1f} s")
    print(table(columns))
    if args.repeat > 1:
        print("fastest of " + "; ".join(f"{title}: {', '.join(f'{w:.1f}' for w in row['walls_s'])} s"
                                        for title, row in columns))
    checks: dict[str, bool] = {}
    for mode, playbook in playbooks.items():
        complete = checks[f"every_host_{mode}"] = playbook["audited"] == args.hosts and playbook["failed"] == 0
        print(f"\n[{'PASS' if complete else 'FAIL'}] {mode}: every host has its result "
              f"({playbook['audited']}/{args.hosts}, {playbook['failed']} failed)")
        if cli:
            both = sorted(set(cli["statuses"]) & set(playbook["statuses"]))
            differ = [h for h in both if cli["statuses"][h] != playbook["statuses"][h]]
            checks[f"same_findings_{mode}"] = not differ and len(both) == args.hosts
            ratio = figures[f"slower_than_cli_{mode}"] = playbook["wall_s"] / cli["wall_s"]
            print(f"[{'PASS' if checks[f'same_findings_{mode}'] else 'FAIL'}] {mode}: same findings as winremedy "
                  f"audit on {len(both) - len(differ)}/{len(both)} hosts"
                  + (f"; differ: {', '.join(differ[:5])}" if differ else ""))
            if mode == "fleet":
                checks["within_target_fleet"] = ratio <= TARGET_RATIO
                print(f"[{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}] fleet: ansible-playbook took {ratio:.2f}x the "
                      f"wall time of winremedy audit (target <= {TARGET_RATIO:g}x)")
            else:
                print(f"{mode}: ansible-playbook took {ratio:.2f}x the wall time of winremedy audit")
    figures["checks"] = checks
    save_figures(args.json, figures)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
