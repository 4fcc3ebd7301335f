"""What every ``winremedy`` command shares: the exit codes, argument types and JSON output.

Numbers are checked here once for every command: ``float("nan")`` and ``float("inf")`` parse, and a
negative interval would sleep forever or not at all on the host; ``--out`` is checked before any host
is touched, so results are never lost at the end of a long run.

Exit codes (stable; scheduled jobs act on them):
  0  compliant: every KB is fixed or not applicable on every host
  1  findings: at least one KB is missing, leaking, pending a reboot, or unknown
  2  error: bad input, a broken catalog, a usage error (nothing half-written)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import WinRemedyError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def seconds(text: str) -> float:
    """argparse type: a finite duration of 0 or more seconds."""
    return _finite(text, 0.0, math.inf, "a finite number of seconds, 0 or more")


def percentage(text: str) -> float:
    """argparse type: a number from 0 to 100."""
    return _finite(text, 0.0, 100.0, "a percentage from 0 to 100")


def positive_number(text: str) -> float:
    """argparse type: a finite number above 0 (a timeout, a poll interval, a time scale)."""
    value = _finite(text, 0.0, math.inf, "a finite number above 0")
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a finite number above 0, got {text!r}")
    return value


def _finite(text: str, low: float, high: float, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def writable_directory(path: Path, option: str = "--out") -> Path:
    """``path`` as a directory this process can write in, made if missing; checked before any host is touched,
    so results are never lost at the end of a long run."""
    if path.exists() and not path.is_dir():
        raise WinRemedyError(f"{option} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise WinRemedyError(f"{option} {path}: cannot write there: {error.strerror or error}") from None
    return path


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def add_inventory_arguments(parser: argparse.ArgumentParser, *, forks: int | None = None, what: str = "hosts") -> None:
    """The options every fleet command reads its hosts with, as ansible-playbook names them; ``--forks`` when
    the command works on ``forks`` hosts at once by default."""
    parser.add_argument("-i", "--inventory", action="append", required=True, metavar="INVENTORY",
                        help="inventory file or directory (repeatable)")
    parser.add_argument("-l", "--limit", help="Ansible host pattern, e.g. 'site_a:&win7' or 'all:!lab-0003'")
    parser.add_argument("--vault-password-file", action="append", default=[], metavar="FILE")
    if forks is not None:
        parser.add_argument("-f", "--forks", type=positive_int, default=forks,
                            help=f"{what} at once (default {forks})")
