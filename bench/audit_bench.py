"""Audit benchmark: ``winremedy audit`` of an N-host lab against the naive baseline (one ``run_ps`` per fact).

    .venv/bin/python bench/audit_bench.py --hosts 1000 --json audit_bench.json

Starts a lab (``winremedy lab up --hosts N --seed S --time-scale 3600`` in a
temporary directory) and runs the real CLI on it as a subprocess:
``winremedy audit -i LAB/inventory.yml --format json --out OUT --samples K
--interval I --forks F``. Measured: wall time (lab start + audit, and the audit
alone), hosts per second, the audit process's CPU (user + sys) per host and
peak RSS (``os.wait4`` rusage of that process), the lab daemon's CPU per host
(``/proc``), and from ``winremedy lab status --format json`` the WS-Management
connections, requests, commands and bytes per host. With ``--extra-samples``
the audit runs again on the same lab with more leak samples.

Then the naive baseline (``bench/naive_baseline.py``, a subprocess measured the
same way, as many threads as forks) on a fresh lab with the same seed, so the
counters start at zero. It audits every host unless that would take longer
than ``--naive-budget`` seconds: it then stops starting hosts at the budget
and the figures are extrapolated from the hosts it did, which the output says.
Both runs' findings are compared host by host.

Acceptance (issue): N=1,000 hosts audited in under 60 s, lab start included,
and at least 5 times faster than the naive baseline on the same hosts. The labs
are always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
_SCRIPT = Path(sys.executable).parent / "winremedy"  # the console script pip installed, i.e. the real CLI
WINREMEDY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "winremedy.cli"]
NAIVE_LAB = (sys.executable, str(BENCH / "lab_naive.py"))  # a lab that also answers the baseline's snippets
COUNTERS = ("connections", "authentications", "shells", "commands", "requests", "bytes_in", "bytes_out")
TARGET_SECONDS, TARGET_SPEEDUP, TARGET_HOSTS = 60.0, 5.0, 1000
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the lab -------------------------------------------------------------------------------------


def lab(*args: str, command: tuple[str, ...] = (*WINREMEDY, "lab")) -> str:
    result = subprocess.run([*command, *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"winremedy lab {args[0]}: {result.stderr.strip()}")
    return result.stdout


def lab_up(directory: Path, hosts: int, seed: int, time_scale: float, command: tuple[str, ...] = (*WINREMEDY, "lab")) -> float:
    """Start a lab; the wall time until every port accepts (``lab up`` returns then)."""
    started = time.monotonic()
    lab("up", "--dir", str(directory), "--hosts", str(hosts), "--seed", str(seed), "--time-scale", f"{time_scale:g}",
        command=command)
    return time.monotonic() - started


def lab_down(directory: Path) -> None:
    if (directory / "lab.json").exists():
        subprocess.run([*WINREMEDY, "lab", "down", "--dir", str(directory)], capture_output=True)


def lab_pid(directory: Path) -> int:
    return int(json.loads((directory / "lab.json").read_text())["pid"])


def lab_counters(directory: Path) -> dict[str, int]:
    """The fleet's WS-Management counters, summed over hosts."""
    status = json.loads(lab("status", "--dir", str(directory), "--format", "json"))
    totals = dict.fromkeys(COUNTERS, 0)
    for host in status["hosts"]:
        for name in COUNTERS:
            totals[name] += int(host["counters"][name])
    return totals


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a running process (the lab daemon, which is not our child)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- one measured run ----------------------------------------------------------------------------


def tree_memory_mb(pid: int, include_root: bool = True) -> tuple[float, float]:
    """Memory of ``pid``'s descendants (and of ``pid`` itself unless told not to): proportional set size (shared
    pages counted once) and resident set size (summed over processes, shared pages once per process)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pss = rss = 0
    todo = [pid] if include_root else list(children.get(pid, ()))
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Pss:", "Rss:")):
                    kb = int(line.split()[1])
                    pss, rss = (pss + kb, rss) if line.startswith("Pss:") else (pss, rss + kb)
        except OSError:
            continue
    return pss / 1024, rss / 1024


def machine() -> dict[str, Any]:
    """What the figures ran on: CPUs this process may use (``nproc``) and the 1-minute load average now."""
    return {"nproc": len(os.sched_getaffinity(0)), "load_average": os.getloadavg()[0]}


def threads(pid: int) -> int:
    """The threads of a running process (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")), 0)


def measured(command: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` to its end: wall time, CPU and peak RSS of it and its children (wait4 rusage: the peak is
    the largest single process), the peak memory of the whole process tree (PSS and summed RSS, sampled every
    0.25 s: what a forking controller such as ansible-playbook really holds), its peak thread count (sampled
    likewise), exit code, and the machine's load average before and after."""
    before = machine()
    with open(log, "wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        tree_peak, tree_rss_peak, peak_threads = 0.0, 0.0, 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            pss, rss = tree_memory_mb(process.pid)
            tree_peak, tree_rss_peak = max(tree_peak, pss), max(tree_rss_peak, rss)
            peak_threads = max(peak_threads, threads(process.pid))
            time.sleep(0.25)
        wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime, "sys": usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "tree_peak_mb": tree_peak, "tree_peak_rss_mb": tree_rss_peak,
            "peak_threads": peak_threads, "rc": process.returncode, "nproc": before["nproc"],
            "load_before": before["load_average"], "load_after": os.getloadavg()[0],
            "log": log.read_text(errors="replace")}


def around(directory: Path, command: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``measured(command)`` plus the lab's counter and CPU deltas over it."""
    pid = lab_pid(directory)
    counters, lab_cpu = lab_counters(directory), cpu_seconds(pid)
    run = measured(command, log, env)
    run["lab_cpu"] = cpu_seconds(pid) - lab_cpu
    run["lab_rss_mb"] = rss_mb(pid)
    after = lab_counters(directory)
    run["counters"] = {name: after[name] - counters[name] for name in COUNTERS}
    return run


def per_host(run: dict[str, Any], hosts: int, audited: int) -> dict[str, Any]:
    """The figures of a run, per host; ``audited`` < ``hosts`` means the run was cut and is extrapolated."""
    rate = audited / run["wall"]
    row = {
        "hosts": hosts, "audited": audited, "extrapolated": audited < hosts,
        "wall_s": run["wall"] if audited == hosts else hosts / rate,
        "measured_wall_s": run["wall"], "hosts_per_s": rate,
        "cpu_ms_per_host": run["cpu"] * 1000 / audited, "peak_rss_mb": run["peak_rss_mb"],
        "tree_peak_mb": run["tree_peak_mb"], "tree_peak_rss_mb": run["tree_peak_rss_mb"],
        "peak_threads": run["peak_threads"], "nproc": run["nproc"], "load_before": run["load_before"],
        "load_after": run["load_after"],
        "lab_cpu_ms_per_host": run["lab_cpu"] * 1000 / audited, "lab_rss_mb": run["lab_rss_mb"],
    }
    row.update({f"{name}_per_host": run["counters"][name] / audited for name in COUNTERS})
    return row


# --- the two audits ------------------------------------------------------------------------------


def cli_audit(directory: Path, out: Path, args: argparse.Namespace, samples: int, tmp: Path) -> dict[str, Any]:
    command = [*WINREMEDY, "audit", "-i", str(directory / "inventory.yml"), "--format", "json", "--out", str(out),
               "--samples", str(samples), "--interval", f"{args.interval:g}", "--forks", str(args.forks)]
    run = around(directory, command, tmp / f"audit-{samples}.log")
    match = re.search(r"audit: (\d+)/(\d+) hosts, (\d+) failed, ([\d.]+) s", run["log"])
    if run["rc"] not in (0, 1) or not match:  # 1 is "findings"; a traceback is 1 too, but has no summary line
        raise SystemExit(f"winremedy audit failed (rc {run['rc']}):\n{run['log'][-3000:]}")
    from winremedy.audit.results import load_results

    results = load_results(out)
    row = per_host(run, args.hosts, len(results))
    row.update(samples=samples, failed=sum(1 for r in results if not r.ok), fleet_phase_s=float(match[4]),
               errors=[r.error for r in results if not r.ok][:5])
    row["statuses"] = {r.host: {f.kb: f.status.value for f in r.findings} for r in results if r.ok}
    return row


def naive_audit(directory: Path, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    report_path = tmp / "naive.json"
    command = [sys.executable, str(BENCH / "naive_baseline.py"), "-i", str(directory / "inventory.yml"),
               "--threads", str(args.forks), "--samples", str(args.samples), "--interval", f"{args.interval:g}",
               "--time-scale", f"{args.time_scale:g}", "--limit", str(args.naive_hosts), "--json", str(report_path)]
    if args.naive_budget:
        command += ["--budget", f"{args.naive_budget:g}"]
    run = around(directory, command, tmp / "naive.log")
    if run["rc"]:
        raise SystemExit(f"naive baseline failed (rc {run['rc']}):\n{run['log'][-2000:]}")
    report = json.loads(report_path.read_text())
    row = per_host(run, args.hosts, report["audited"])
    row.update(samples=args.samples, failed=sum(1 for r in report["results"] if "error" in r),
               run_ps_per_host=report["run_ps_per_host"], fleet_phase_s=report["elapsed"])
    row["statuses"] = {r["host"]: r["statuses"] for r in report["results"] if "statuses" in r}
    row["errors"] = [r["error"] for r in report["results"] if "error" in r][:5]
    return row


# --- output --------------------------------------------------------------------------------------

_ROWS = (
    ("hosts audited", "audited", "{:.0f}"),
    ("hosts failed", "failed", "{:.0f}"),
    ("wall time, audit (s)", "wall_s", "{:.1f}"),
    ("hosts per second", "hosts_per_s", "{:.1f}"),
    ("controller CPU ms/host", "cpu_ms_per_host", "{:.1f}"),
    ("controller peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ("controller tree PSS (MB)", "tree_peak_mb", "{:.0f}"),
    ("controller tree RSS (MB)", "tree_peak_rss_mb", "{:.0f}"),
    ("controller peak threads", "peak_threads", "{:.0f}"),
    ("lab daemon CPU ms/host", "lab_cpu_ms_per_host", "{:.1f}"),
    ("load average before/after", "load", "{}"),
    ("TCP connections/host", "connections_per_host", "{:.1f}"),
    ("NTLM authentications/host", "authentications_per_host", "{:.1f}"),
    ("WinRS commands/host", "commands_per_host", "{:.1f}"),
    ("WS-Man requests/host", "requests_per_host", "{:.1f}"),
    ("bytes in/host (KB)", "bytes_in_per_host", "{:.1f}"),
    ("bytes out/host (KB)", "bytes_out_per_host", "{:.1f}"),
)


def table(columns: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [f"{'':28}" + "".join(f"{title:>36}" for title, _ in columns)]
    for label, key, fmt in _ROWS:
        cells = []
        for _, row in columns:
            value = row.get(key)
            if key == "load" and "load_before" in row:
                value = f"{row['load_before']:.1f}/{row['load_after']:.1f}"
            if key.startswith("bytes") and value is not None:
                value /= 1024
            cells.append("-" if value is None else fmt.format(value))
        lines.append(f"{label:28}" + "".join(f"{cell:>36}" for cell in cells))
    return "\n".join(lines)


def save_figures(path: Path | None, figures: dict[str, Any]) -> None:
    """Write the figures as JSON (when asked), without the runs' per-host statuses."""
    if path:
        for row in figures.values():
            if isinstance(row, dict):
                row.pop("statuses", None)
        path.write_text(json.dumps(figures, indent=2) + "\n")


def agreement(cli: dict[str, Any], naive: dict[str, Any]) -> tuple[int, int, list[str]]:
    """Hosts audited by both with the same statuses; how many both audited; a few that differ."""
    both = sorted(set(cli["statuses"]) & set(naive["statuses"]))
    differ = [h for h in both if cli["statuses"][h] != naive["statuses"][h]]
    return len(both) - len(differ), len(both), differ[:5]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=TARGET_HOSTS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forks", type=int, default=64, help="CLI --forks, and the naive baseline's threads")
    parser.add_argument("--samples", type=int, default=1, help="leak samples per indicator (default 1)")
    parser.add_argument("--interval", type=float, default=60.0, help="host seconds between samples (default 60)")
    parser.add_argument("--time-scale", type=float, default=3600.0, help="lab host seconds per real second")
    parser.add_argument("--extra-samples", type=int, default=6,
                        help="audit again on the same lab with this many samples (0: skip)")
    parser.add_argument("--naive-hosts", type=int, help="hosts the baseline may audit (default: --hosts)")
    parser.add_argument("--naive-budget", type=float, default=600.0,
                        help="seconds after which the baseline starts no new host; its figures are then "
                             "extrapolated (0: no budget)")
    parser.add_argument("--no-naive", action="store_true", help="skip the baseline")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    args.naive_hosts = min(args.naive_hosts or args.hosts, args.hosts)

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "hosts": args.hosts, "seed": args.seed, "forks": args.forks, "time_scale": args.time_scale,
        "interval": args.interval, "load_average_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="winremedy-audit-bench-") as name:
        tmp = Path(name)
        cli_lab, naive_lab = tmp / "lab", tmp / "naive-lab"
        try:
            figures["lab_up_s"] = lab_up(cli_lab, args.hosts, args.seed, args.time_scale)
            figures["lab_idle_rss_mb"] = rss_mb(lab_pid(cli_lab))
            print(f"lab up: {args.hosts} hosts in {figures['lab_up_s']:.1f} s", flush=True)
            cli = cli_audit(cli_lab, tmp / "out", args, args.samples, tmp)
            cli["wall_with_lab_s"] = figures["lab_up_s"] + cli["wall_s"]
            figures["cli"] = cli
            print(f"winremedy audit: {cli['audited']} hosts ({cli['failed']} failed) in {cli['wall_s']:.1f} s, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
            if args.extra_samples and args.extra_samples != args.samples:
                extra = cli_audit(cli_lab, tmp / "out-extra", args, args.extra_samples, tmp)
                figures["cli_extra_samples"] = extra
                print(f"winremedy audit --samples {args.extra_samples}: {extra['audited']} hosts ({extra['failed']} "
                      f"failed) in {extra['wall_s']:.1f} s, load average {os.getloadavg()[0]:.1f}", flush=True)
            lab_down(cli_lab)
            if not args.no_naive:
                figures["naive_lab_up_s"] = lab_up(naive_lab, args.hosts, args.seed, args.time_scale, NAIVE_LAB)
                print(f"naive baseline: {args.naive_hosts} hosts, {args.forks} threads"
                      + (f", budget {args.naive_budget:g} s" if args.naive_budget else ""), flush=True)
                figures["naive"] = naive_audit(naive_lab, args, tmp)
        finally:
            lab_down(cli_lab)
            lab_down(naive_lab)

    cli = figures["cli"]
    columns = [(f"winremedy audit K={cli['samples']}", cli)]
    if "cli_extra_samples" in figures:
        columns.append((f"winremedy audit K={figures['cli_extra_samples']['samples']}", figures["cli_extra_samples"]))
    naive = figures.get("naive")
    if naive:
        columns.append((f"naive run_ps K={naive['samples']}" + (" (extrap.)" if naive["extrapolated"] else ""), naive))
    print()
    print(f"{args.hosts} lab hosts, seed {args.seed}, {os.cpu_count()} CPUs, forks/threads {args.forks}, "
          f"time scale {args.time_scale:g}; lab up {figures['lab_up_s']:.1f} s, daemon RSS "
          f"{figures['lab_idle_rss_mb']:.0f} MB idle, {cli['lab_rss_mb']:.0f} MB after the audit")
    print(table(columns))
    for title, row in columns:
        if row.get("errors"):
            print(f"{title}: {row['failed']} hosts failed, e.g. {row['errors'][0]}")
    if cli["fleet_phase_s"] is not None:
        print(f"winremedy audit: {cli['fleet_phase_s']:.1f} s of {cli['wall_s']:.1f} s in the concurrent phase "
              f"(the rest: interpreter start, inventory, reports)")

    target_hosts = args.hosts >= TARGET_HOSTS and cli["failed"] == 0
    within = cli["wall_with_lab_s"] < TARGET_SECONDS
    checks = {"under_60s": target_hosts and within}
    print(f"\n[{'PASS' if checks['under_60s'] else 'FAIL'}] {args.hosts} hosts audited in "
          f"{cli['wall_with_lab_s']:.1f} s, lab start included (target < {TARGET_SECONDS:g} s for "
          f"{TARGET_HOSTS:,} hosts{'' if target_hosts else '; not a 1,000-host run without failures'})")
    if naive:
        speedup = naive["wall_s"] / cli["wall_s"]
        checks["speedup_5x"] = speedup >= TARGET_SPEEDUP and naive["failed"] == 0
        figures["speedup"] = speedup
        how = (f"extrapolated from {naive['audited']} hosts audited in {naive['measured_wall_s']:.0f} s"
               if naive["extrapolated"] else f"measured on all {naive['audited']} hosts")
        print(f"[{'PASS' if checks['speedup_5x'] else 'FAIL'}] {speedup:.1f}x faster than the naive baseline "
              f"({naive['wall_s']:.0f} s, {how}; {naive['run_ps_per_host']} run_ps per host; target >= "
              f"{TARGET_SPEEDUP:g}x)")
        same, both, differ = agreement(cli, naive)
        figures["findings_agree"] = {"same": same, "compared": both, "differ": differ}
        print(f"findings: {same}/{both} hosts audited by both have the same status for every KB"
              + (f"; differ: {', '.join(differ)}" if differ else ""))
    figures["checks"] = checks
    save_figures(args.json, figures)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
