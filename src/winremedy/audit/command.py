"""``winremedy audit``: the nightly compliance audit of an Ansible inventory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..catalog import load_catalog
from ..commandline import positive_int, seconds, writable_directory
from ..errors import WinRemedyError
from ..history import DEFAULT_DAYS, history_path, open_history
from ..report.history import read_history
from .progress import FleetProgress
from .results import load_results
from .run import DEFAULT_FORKS, AuditSettings, audit_fleet


def add_audit_command(commands: Any) -> None:
    audit = commands.add_parser(
        "audit", help="audit hosts of an Ansible inventory over WinRM (read-only, one round trip per host)",
        description="Audit every host of an Ansible inventory over WinRM: one collector run per host, leak "
                    "samples included, then the findings. Reads the same inventory as ansible-playbook "
                    "(ansible_host, ansible_user, ansible_password, ansible_winrm_*).",
    )
    audit.add_argument("-i", "--inventory", action="append", required=True, metavar="INVENTORY",
                       help="inventory file or directory (repeatable)")
    audit.add_argument("-l", "--limit", help="Ansible host pattern, e.g. 'site_a:&win7' or 'all:!lab-0003'")
    audit.add_argument("--vault-password-file", action="append", default=[], metavar="FILE")
    audit.add_argument("-f", "--forks", type=positive_int, default=DEFAULT_FORKS,
                       help=f"hosts audited at once (default {DEFAULT_FORKS})")
    audit.add_argument("--samples", type=positive_int, default=1, help="leak samples per indicator (default 1)")
    audit.add_argument("--interval", type=seconds, default=60.0, help="seconds between samples on the host (default 60)")
    audit.add_argument("--kb", action="append", dest="kbs", metavar="KB", help="only this KB in the findings")
    audit.add_argument("--out", type=Path, help="save each host's result under DIR/hosts/ as it arrives, "
                                                 "and the reports in DIR at the end")
    audit.add_argument("--resume", action="store_true", help="with --out: skip hosts already audited there")
    audit.add_argument("--history", metavar="PATH",
                       help="leak history database to join and append to (default: DIR/history.sqlite with --out)")
    audit.add_argument("--history-days", type=float, default=DEFAULT_DAYS, metavar="N",
                       help=f"days of history a leak trend uses with this run's samples (default {DEFAULT_DAYS:g})")
    audit.add_argument("--format", choices=("table", "json", "csv", "junit", "html"), default="table")
    audit.set_defaults(run=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from ..inventory import load_targets  # ansible-core is imported only by the commands that read inventories
    from ..report import exit_code, render, write_reports
    from ..transport import WinRMTransport

    if args.resume and not args.out:
        raise WinRemedyError("audit: --resume needs --out DIR (the results to resume from)")
    if args.out:
        writable_directory(args.out)
    catalog = load_catalog()
    kbs = tuple(catalog.get(kb).kb for kb in args.kbs or ())
    targets = {t.name: t for t in load_targets(args.inventory, limit=args.limit,
                                                vault_password_files=args.vault_password_file)}
    for target in targets.values():
        for warning in target.warnings:
            print(f"winremedy: warning: {target.name}: {warning}", file=sys.stderr)
    settings = AuditSettings(samples=args.samples, interval=args.interval, kbs=kbs, history_days=args.history_days)
    location = args.history or (history_path(args.out) if args.out else None)
    history = open_history(location) if location else None
    try:
        results = audit_fleet(
            list(targets), lambda name: WinRMTransport(name, targets[name].winrm_options()), catalog, settings,
            forks=args.forks, out=args.out, resume=args.resume, progress=FleetProgress(), history=history,
        )
        if args.out:
            results = load_results(args.out)  # with --resume, the hosts done earlier belong in the report too
        charts = read_history(history, [r.host for r in results], catalog, args.history_days) if history else None
    finally:
        if history:
            history.close()
    if args.out:
        write_reports(results, args.out, ["json", "csv", "junit", "html"], catalog=catalog, history=charts)
    sys.stdout.write(render(results, args.format, catalog=catalog, history=charts))
    return exit_code(results)
