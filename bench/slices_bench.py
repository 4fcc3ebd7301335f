"""Job slices benchmark: the audit playbook as N concurrent ansible-runner slices of one lab, beside one controller.

    .venv/bin/python bench/slices_bench.py --hosts 2000 --slices 4 --forks 50 --json slices_bench.json

Starts a lab (``winremedy lab up --hosts N --seed S --time-scale T``; with
``--labs 2`` two labs of N/2 hosts, their inventories merged) and runs
``winremedy.windows.audit`` (fleet mode, the default) as AWX's job slicing
would on its execution nodes: N ansible-runner jobs at once, each in its own
private data directory with its own artifacts, the slice's hosts given as
``--limit`` (every N-th host of the inventory ordered by name, from offset
``slice - 1``, as AWX's ``Inventory.get_sliced_hosts`` picks them), each
writing its own results directory. Then one controller runs the whole lab
alone. Measured for both: wall time, CPU of all the runner-started processes
(``RUSAGE_CHILDREN``) per host, and the peak memory of this process's tree of
children (PSS and summed RSS, sampled every 0.25 s). The slices' per-host
result files are merged with ``winremedy report`` and compared with the single
controller's report: the same reachability, error code and status of every KB
on every host, and the same totals. The labs are always stopped.

What this does not run: AWX itself (its inventory copies per slice, its
credential injection; the inventory's passwords are used as the lab wrote them,
tests/integration/test_job_slices.py injects them through the environment) and
separate execution nodes (every slice runs on this machine, sharing its CPUs
with the lab).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ansible_runner
import yaml
from audit_bench import WINREMEDY, lab_down, lab_up, machine, tree_memory_mb
from playbook_audit_bench import collection_env


def merged_inventory(labs: list[Path], tmp: Path) -> Path:
    """One inventory of every lab's hosts: the labs' groups, hosts and variables side by side."""
    if len(labs) == 1:
        return labs[0] / "inventory.yml"
    merged: dict[str, Any] = {"all": {"vars": {}, "children": {}}}
    for lab in labs:
        inventory = yaml.safe_load((lab / "inventory.yml").read_text())["all"]
        merged["all"]["vars"].update(inventory.get("vars", {}))
        for name, group in inventory["children"].items():
            merged["all"]["children"].setdefault(name, {"hosts": {}})["hosts"].update(group["hosts"])
    path = tmp / "inventory.yml"
    path.write_text(yaml.safe_dump(merged))
    return path


def host_names(inventory: Path) -> list[str]:
    groups = yaml.safe_load(inventory.read_text())["all"]["children"].values()
    return sorted(name for group in groups for name in group["hosts"])


def run_jobs(jobs: dict[str, dict[str, Any]], inventory: Path, env: dict[str, str], forks: int) -> dict[str, Any]:
    """Start every job at once (ansible-runner, one private data directory each), wait for all; the figures."""
    cpu_before = _children_cpu()
    before = machine()
    started = time.monotonic()
    running = []
    for ident, job in jobs.items():
        job["dir"].mkdir(parents=True)
        thread, runner = ansible_runner.run_async(
            private_data_dir=str(job["dir"]), playbook="winremedy.windows.audit", inventory=str(inventory),
            limit=job.get("limit"), forks=forks, ident=ident, quiet=True, envvars=env,
            extravars={"winremedy_report_dir": str(job["results"]), "winremedy_forks": forks})
        running.append((ident, thread, runner))
    tree_pss = tree_rss = 0.0
    while any(thread.is_alive() for _, thread, _ in running):
        pss, rss = tree_memory_mb(os.getpid(), include_root=False)
        tree_pss, tree_rss = max(tree_pss, pss), max(tree_rss, rss)
        time.sleep(0.25)
    wall = time.monotonic() - started
    failed = {ident: (runner.status, runner.rc) for ident, _, runner in running if runner.rc != 0}
    if failed:
        ident = next(iter(failed))
        stdout = (jobs[ident]["dir"] / "artifacts" / ident / "stdout").read_text(errors="replace")
        raise SystemExit(f"ansible-runner jobs failed: {failed}\n{ident}:\n{stdout[-3000:]}")
    return {"wall_s": wall, "cpu_s": _children_cpu() - cpu_before, "tree_peak_mb": tree_pss,
            "tree_peak_rss_mb": tree_rss, "nproc": before["nproc"], "load_before": before["load_average"],
            "load_after": os.getloadavg()[0]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def findings(report: dict[str, Any]) -> dict[str, Any]:
    return {name: (host["reachable"], host["error_code"], [(f["kb"], f["status"]) for f in host["findings"]])
            for name, host in report["hosts"].items()}


def merged_report(results: list[Path], tmp: Path) -> dict[str, Any]:
    """``winremedy report`` of every slice's per-host result files, copied into one directory."""
    merged = tmp / "merged"
    (merged / "hosts").mkdir(parents=True)
    for directory in results:
        for path in (directory / "hosts").glob("*.json"):
            shutil.copy(path, merged / "hosts" / path.name)
    report = subprocess.run([*WINREMEDY, "report", str(merged), "--format", "json"], capture_output=True, text=True)
    if report.returncode not in (0, 1):  # 1: findings
        raise SystemExit(f"winremedy report failed: {report.stderr.strip()}")
    return json.loads(report.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--labs", type=int, default=1, help="lab processes serving the hosts (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forks", type=int, default=50, help="ansible-playbook -f and winremedy_forks of each job")
    parser.add_argument("--time-scale", type=float, default=1.0, help="lab host seconds per real second")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **machine(), "hosts": args.hosts,
        "slices": args.slices, "labs": args.labs, "seed": args.seed, "forks": args.forks,
        "time_scale": args.time_scale,
    }
    with tempfile.TemporaryDirectory(prefix="winremedy-slices-bench-") as name:
        tmp = Path(name)
        labs = [tmp / f"lab-{number}" for number in range(1, args.labs + 1)]
        try:
            figures["lab_up_s"] = 0.0
            for number, lab in enumerate(labs):  # distinct seeds: distinct host names
                figures["lab_up_s"] += lab_up(lab, args.hosts // args.labs, args.seed + number, args.time_scale)
            inventory = merged_inventory(labs, tmp)
            names = host_names(inventory)
            print(f"{len(labs)} lab(s) up: {len(names)} hosts in {figures['lab_up_s']:.1f} s", flush=True)
            env = collection_env(tmp)
            slices = {f"slice-{number}": {"dir": tmp / f"slice-{number}", "results": tmp / f"slice-{number}-results",
                                          "limit": ",".join(names[number - 1::args.slices])}
                      for number in range(1, args.slices + 1)}
            sliced = figures["sliced"] = run_jobs(slices, inventory, env, args.forks)
            print(f"{args.slices} slices at once: {sliced['wall_s']:.1f} s", flush=True)
            whole = {"single": {"dir": tmp / "single", "results": tmp / "single-results"}}
            single = figures["single"] = run_jobs(whole, inventory, env, args.forks)
            print(f"one controller: {single['wall_s']:.1f} s", flush=True)
            merged = merged_report([job["results"] for job in slices.values()], tmp)
            alone = json.loads((tmp / "single-results" / "report.json").read_text())
        finally:
            for lab in labs:
                lab_down(lab)

    for row in (sliced, single):
        row["cpu_ms_per_host"] = row["cpu_s"] * 1000 / len(names)
    same = findings(merged) == findings(alone) and merged["summary"]["findings"] == alone["summary"]["findings"]
    complete = len(merged["hosts"]) == len(names) and merged["summary"]["failed"] == 0
    figures["checks"] = {"same_findings": same, "every_host": complete}
    figures["findings"] = merged["summary"]["findings"]
    print(f"\n{len(names)} lab hosts in {len(labs)} lab process(es), nproc {figures['nproc']}, forks {args.forks}, "
          f"time scale {args.time_scale:g}")
    print(f"{'':34}{f'{args.slices} runner slices':>22}{'1 runner job':>22}")
    for label, key, fmt in (("wall time (s)", "wall_s", "{:.1f}"), ("CPU ms/host (all processes)", "cpu_ms_per_host",
                            "{:.1f}"), ("peak tree PSS (MB)", "tree_peak_mb", "{:.0f}"),
                            ("peak tree RSS (MB)", "tree_peak_rss_mb", "{:.0f}"),
                            ("load average before", "load_before", "{:.1f}"), ("load average after", "load_after",
                                                                               "{:.1f}")):
        print(f"{label:34}{fmt.format(sliced[key]):>22}{fmt.format(single[key]):>22}")
    print(f"\n[{'PASS' if complete else 'FAIL'}] merged report: {len(merged['hosts'])}/{len(names)} hosts, "
          f"{merged['summary']['failed']} failed")
    print(f"[{'PASS' if same else 'FAIL'}] the merged report's findings are the single controller's: "
          f"{merged['summary']['findings']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if same and complete else 1


if __name__ == "__main__":
    sys.exit(main())
