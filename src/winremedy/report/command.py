"""``winremedy report DIR``: render the results an audit left in ``DIR/hosts/`` in any report format.

The exit code is the fleet's (0 compliant, 1 findings); a directory with no
results is an error (2, raised), never an empty "compliant" report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..catalog import load_catalog
from ..errors import WinRemedyError
from ..history import DEFAULT_DAYS, LOCATIONS
from ..audit.results import load_results
from . import FORMATS, exit_code, render
from .history import report_charts
from .output import write_atomic


def add_report_command(subparsers: Any) -> None:
    """Register ``report`` on the CLI's subparsers (the object ``add_subparsers()`` returns)."""
    parser = subparsers.add_parser(
        "report", help="render saved audit results as a table, JSON, CSV, JUnit XML or HTML",
        description="Render the per-host results an audit saved in DIR/hosts/. "
                    "Exit code: 0 compliant, 1 findings or failed hosts, 2 error.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the audit's output directory")
    parser.add_argument("--format", choices=FORMATS, default="table", help="report format (default: table)")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here (atomically) instead of stdout")
    parser.add_argument("--history", metavar="PATH|URL",
                        help=f"the leak history charted per host (default: DIR/history.sqlite if there is one): "
                             f"{LOCATIONS}")
    parser.add_argument("--history-days", type=float, default=DEFAULT_DAYS, metavar="N",
                        help=f"days of leak history charted per host (default {DEFAULT_DAYS:g})")
    parser.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    results = load_results(args.dir)
    if not results:
        raise WinRemedyError(f"{args.dir}: no host results in {args.dir / 'hosts'}")
    catalog = load_catalog()
    charts = report_charts(args.dir, args.history, [r.host for r in results], catalog, args.history_days)
    text = render(results, args.format, catalog=catalog, history=charts)
    if args.output is not None:
        write_atomic(args.output, text)
    else:
        _write_stdout(text)
    return exit_code(results)


def _write_stdout(text: str) -> None:
    """Characters the terminal's encoding cannot show become ``?`` instead of a UnicodeEncodeError."""
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.write(text.encode(encoding, "replace").decode(encoding))
    sys.stdout.flush()
