"""``winremedy demo``: the main job against the embedded lab, as the commands an operator would type."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .commandline import EXIT_ERROR, EXIT_OK, positive_int

Main = Callable[[Sequence[str]], int]


def add_demo_command(commands: Any, main: Main) -> None:
    """``main`` is the top-level command: each step of the demo runs through it, exactly as typed."""
    demo = commands.add_parser(
        "demo", help="the main job against the embedded lab: audit, remediate, verify, report",
        description="Start an emulated fleet on loopback and run the main job on it exactly as on a production "
                    "fleet (the same commands you would type): audit with leak sampling, remediate (stage, install, "
                    "reboot now, verify), audit again, write the reports, stop the lab.",
    )
    demo.add_argument("--dir", type=Path, default=Path("winremedy-demo"),
                      help="where the lab and the reports go (default ./winremedy-demo)")
    demo.add_argument("--hosts", type=positive_int, default=40, help="size of the generated fleet (default 40)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated fleet (default 1)")
    demo.set_defaults(run=lambda args: run_demo(args, main))


def run_demo(args: argparse.Namespace, main: Main) -> int:
    lab, out = args.dir / "lab", args.dir / "results"
    inventory = str(lab / "inventory.yml")
    if main(["lab", "up", "--dir", str(lab), "--hosts", str(args.hosts), "--seed", str(args.seed),
             "--time-scale", "3600"]) != EXIT_OK:
        return EXIT_ERROR
    # 8 samples, 20 host-minutes apart: 2h20 of host time (about 2 s here), enough to see a leak's trend
    sampling = ["--samples", "8", "--interval", "1200"]
    try:
        main(["audit", "-i", inventory, *sampling, "--out", str(out / "before")])
        main(["remediate", "-i", inventory, "--repo", str(lab / "repo"), "--reboot", "now", "--poll", "0.2",
              "--out", str(out / "remediation")])
        code = main(["audit", "-i", inventory, *sampling, "--out", str(out / "after")])
    finally:
        main(["lab", "down", "--dir", str(lab)])
    for step in ("before", "after"):
        print(f"reports {step} remediation: {out / step}/report.html, report.json, report.csv, report.xml",
              file=sys.stderr)
    print(f"remediation journal and per-host records: {out / 'remediation'}", file=sys.stderr)
    return code
