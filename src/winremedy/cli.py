"""The ``winremedy`` command: a thin dispatcher over each package's own command module.

Exit codes: see :mod:`winremedy.commandline`. The lab's commands are imported only when a lab
command runs, so the audit of a production fleet never loads the emulated one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pathlib import Path

from . import __version__
from .audit.command import add_audit_command, add_sampler_command
from .catalog import CATALOG_PATH_ENV, use_catalog_paths
from .catalog.command import add_catalog_commands
from .commandline import EXIT_ERROR
from .demo import add_demo_command
from .errors import WinRemedyError
from .history.command import add_history_command
from .offline.command import add_assess_command
from .probe.command import add_probe_command
from .remediate.command import add_remediate_command
from .repo.command import add_repo_commands
from .report.command import add_report_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_ERROR
    try:
        if args.catalog:
            use_catalog_paths(args.catalog)
        return int(args.run(args))
    except WinRemedyError as error:
        print(f"winremedy: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("winremedy: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winremedy",
        description="Find and fix known memory leaks (KB2847346, KB979223, KB903927) on legacy Windows hosts.",
        epilog="exit codes: 0 compliant, 1 findings (missing, leaking, pending reboot, unknown), 2 error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"winremedy {__version__}")
    parser.add_argument("--catalog", action="append", default=[], type=Path, metavar="DIR",
                        help=f"a directory of your own KB files (KB*.yml; repeatable), read with the packaged "
                             f"catalog; also {CATALOG_PATH_ENV} (directories separated like PATH). See docs/catalog.md")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_catalog_commands(commands)
    add_assess_command(commands)
    add_audit_command(commands)
    add_sampler_command(commands)
    add_history_command(commands)
    add_demo_command(commands, main)
    add_probe_command(commands)
    add_remediate_command(commands)
    add_report_command(commands)
    add_repo_commands(commands)
    _add_lab_command(commands)
    return parser


def _add_lab_command(commands: argparse._SubParsersAction) -> None:
    """``winremedy lab ...`` hands its words to the lab's own parser, imported only then."""
    lab = commands.add_parser("lab", help="run an emulated Windows fleet on loopback (up, status, down, ...)",
                              add_help=False, prefix_chars="\0")
    lab.add_argument("words", nargs=argparse.REMAINDER)
    lab.set_defaults(run=_run_lab)


def _run_lab(args: argparse.Namespace) -> int:
    from .lab.cli import main as lab_main

    return lab_main(["lab", *args.words])


if __name__ == "__main__":
    sys.exit(main())
