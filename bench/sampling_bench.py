"""Leak sampling in real time: an audit with K samples I seconds apart costs (K-1)·I once, not per round of forks.

    .venv/bin/python bench/sampling_bench.py --hosts 1000 --samples 3 --interval 60 --json sampling_bench.json

Starts a lab at time scale 1 (host time is real time: nothing hides the
waits) and runs the real CLI on it twice, as :mod:`audit_bench` does: a
one-sample audit, then ``--samples K --interval I``. Measured for each: wall
time of the ``winremedy audit`` process, its CPU, peak RSS and peak thread
count, and the lab's counters per host. From the sampled run's results, in
host time: how far apart each host's samples are, and how the first samples of
the fleet spread. The ratio wall(K) / ((K-1)·I + wall(1)) must be at most 1.2
(issue acceptance): the fleet pays its sampling span once.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from audit_bench import cli_audit, lab_down, lab_pid, lab_up, rss_mb, save_figures, table

TARGET_RATIO = 1.2


def host_schedule(out: Path) -> dict[str, Any]:
    """Sample spacing per host and the spread of the fleet's first and last samples, in host seconds."""
    from winremedy.audit.results import load_results

    series = [[s.t for s in points] for r in load_results(out) if r.facts for points in r.facts.samples.values()]
    gaps = [b - a for times in series for a, b in itertools.pairwise(times)]
    return {
        "series": len(series), "samples_per_series": sorted({len(times) for times in series}),
        "gap_median_s": statistics.median(gaps), "gap_min_s": min(gaps), "gap_max_s": max(gaps),
        "first_samples_spread_s": max(t[0] for t in series) - min(t[0] for t in series),
        "fleet_span_s": max(t[-1] for t in series) - min(t[0] for t in series),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forks", type=int, default=64)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples (host time = real)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    args.time_scale = 1.0

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "hosts": args.hosts, "seed": args.seed, "forks": args.forks, "samples": args.samples,
        "interval": args.interval, "time_scale": args.time_scale, "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="winremedy-sampling-bench-") as name:
        tmp = Path(name)
        lab = tmp / "lab"
        try:
            figures["lab_up_s"] = lab_up(lab, args.hosts, args.seed, args.time_scale)
            print(f"lab up: {args.hosts} hosts at time scale 1 in {figures['lab_up_s']:.1f} s", flush=True)
            one = figures["one_sample"] = cli_audit(lab, tmp / "one", args, 1, tmp)
            print(f"winremedy audit: {one['audited']} hosts ({one['failed']} failed) in {one['wall_s']:.1f} s, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
            many = figures["sampled"] = cli_audit(lab, tmp / "sampled", args, args.samples, tmp)
            print(f"winremedy audit --samples {args.samples} --interval {args.interval:g}: {many['audited']} hosts "
                  f"({many['failed']} failed) in {many['wall_s']:.1f} s, load average {os.getloadavg()[0]:.1f}",
                  flush=True)
            figures["host_schedule"] = host_schedule(tmp / "sampled")
            figures["lab_rss_mb"] = rss_mb(lab_pid(lab))
        finally:
            lab_down(lab)
    figures["load_average_after"] = os.getloadavg()

    span = (args.samples - 1) * args.interval
    ratio = figures["ratio"] = many["wall_s"] / (span + one["wall_s"])
    schedule = figures["host_schedule"]
    print()
    print(f"{args.hosts} lab hosts, seed {args.seed}, {os.cpu_count()} CPUs, --forks {args.forks}, time scale 1; "
          f"load average {figures['load_average_before'][0]:.1f} before, {figures['load_average_after'][0]:.1f} after")
    print(table([("one sample", one), (f"K={args.samples}, I={args.interval:g} s", many)]))
    print(f"host time: {schedule['series']} series of {schedule['samples_per_series']} samples; gaps median "
          f"{schedule['gap_median_s']:.1f} s (min {schedule['gap_min_s']:.1f}, max {schedule['gap_max_s']:.1f}); "
          f"first samples spread over {schedule['first_samples_spread_s']:.1f} s; fleet span "
          f"{schedule['fleet_span_s']:.1f} s")
    checks = {"ratio": ratio <= TARGET_RATIO and one["failed"] == 0 and many["failed"] == 0
              and schedule["samples_per_series"] == [args.samples]}
    figures["checks"] = checks
    print(f"\n[{'PASS' if checks['ratio'] else 'FAIL'}] wall {many['wall_s']:.1f} s / ((K-1)·I {span:g} s + one-sample "
          f"audit {one['wall_s']:.1f} s) = {ratio:.3f} (target <= {TARGET_RATIO:g}, every host with {args.samples} "
          "samples, none failed)")
    save_figures(args.json, figures)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
