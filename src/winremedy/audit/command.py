"""``winremedy audit``: the nightly compliance audit of an Ansible inventory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..catalog import load_catalog
from ..commandline import (
    EXIT_ERROR,
    EXIT_OK,
    add_inventory_arguments,
    positive_int,
    print_json,
    seconds,
    writable_directory,
)
from ..errors import InventoryError, WinRemedyError
from ..history import DEFAULT_DAYS, LOCATIONS, OutageTolerantHistory, history_path, open_history
from ..report.history import read_history
from ..transport.recording import add_record_options, recorded
from .progress import FleetProgress
from .results import load_results
from .run import DEFAULT_FORKS, TIME_SCALE_VARIABLE, AuditSettings, audit_fleet
from .sampler import DEFAULT_KEEP, DEFAULT_MINUTES, sampler_fleet


def add_audit_command(commands: Any) -> None:
    audit = commands.add_parser(
        "audit", help="audit hosts of an Ansible inventory over WinRM (read-only, one round trip per host)",
        description="Audit every host of an Ansible inventory over WinRM: one collector run per host, leak "
                    "samples included, then the findings. Reads the same inventory as ansible-playbook "
                    "(ansible_host, ansible_user, ansible_password, ansible_winrm_*).",
    )
    add_inventory_arguments(audit, forks=DEFAULT_FORKS, what="hosts audited")
    audit.add_argument("--samples", type=positive_int, default=1, help="leak samples per indicator (default 1)")
    audit.add_argument("--interval", type=seconds, default=60.0, help="seconds between samples on the host (default 60)")
    audit.add_argument("--kb", action="append", dest="kbs", metavar="KB", help="only this KB in the findings")
    audit.add_argument("--out", type=Path, help="save each host's result under DIR/hosts/ as it arrives, "
                                                 "and the reports in DIR at the end")
    audit.add_argument("--resume", action="store_true", help="with --out: skip hosts already audited there")
    audit.add_argument("--history", metavar="PATH|URL",
                       help="leak history to join and append to (default: DIR/history.sqlite with --out): "
                            + LOCATIONS)
    audit.add_argument("--history-days", type=float, default=DEFAULT_DAYS, metavar="N",
                       help=f"days of history a leak trend uses with this run's samples (default {DEFAULT_DAYS:g})")
    audit.add_argument("--format", choices=("table", "json", "csv", "junit", "html"), default="table")
    add_record_options(audit)
    audit.set_defaults(run=run_audit)


def add_sampler_command(commands: Any) -> None:
    sampler = commands.add_parser(
        "sampler", help="install, query or remove the opt-in on-host leak sampler (a scheduled task)",
        description="The on-host sampler records the leak indicators every few minutes on each host (a scheduled "
                    "task running the collector as SYSTEM, appending to a bounded file); the next audit reads and "
                    "clears that file in its one round trip, so days of samples cost no controller time.",
    )
    sampler.add_argument("action", choices=("install", "status", "remove"))
    add_inventory_arguments(sampler, forks=DEFAULT_FORKS)
    sampler.add_argument("--every", type=positive_int, default=DEFAULT_MINUTES, metavar="MINUTES",
                         help=f"install: minutes between readings (default {DEFAULT_MINUTES})")
    sampler.add_argument("--keep", type=positive_int, default=DEFAULT_KEEP, metavar="N",
                         help=f"install: readings kept on the host, the newest (default {DEFAULT_KEEP})")
    sampler.add_argument("--format", choices=("table", "json"), default="table")
    sampler.set_defaults(run=run_sampler_command)


def run_sampler_command(args: argparse.Namespace) -> int:
    from ..transport import WinRMTransport

    targets = _targets(args)
    states = sampler_fleet(list(targets), lambda name: WinRMTransport(name, targets[name].winrm_options()), load_catalog(),
                           args.action, minutes=args.every, keep=args.keep, forks=args.forks)
    if args.format == "json":
        print_json({"action": args.action, "hosts": [state.to_dict() for state in states]})
    else:
        for state in states:
            shown = (f"FAILED ({state.error_code}): {state.error}" if state.error else
                     f"{'installed' if state.installed else 'not installed'}, {state.samples} readings waiting"
                     + (f", last run {state.last_run}" if state.last_run else ""))
            print(f"{state.host}: {shown}")
    return EXIT_ERROR if any(state.error for state in states) else EXIT_OK


def _targets(args: argparse.Namespace) -> dict[str, Any]:
    """The inventory's hosts by name; its warnings printed on stderr."""
    from ..inventory import load_targets  # ansible-core is imported only by the commands that read inventories

    targets = {t.name: t for t in load_targets(args.inventory, limit=args.limit,
                                                vault_password_files=args.vault_password_file)}
    for target in targets.values():
        for warning in target.warnings:
            print(f"winremedy: warning: {target.name}: {warning}", file=sys.stderr)
    return targets


def run_audit(args: argparse.Namespace) -> int:
    from ..report import exit_code, render, write_reports
    from ..transport import Transport, WinRMTransport

    if args.resume and not args.out:
        raise WinRemedyError("audit: --resume needs --out DIR (the results to resume from)")
    if args.out:
        writable_directory(args.out)
    catalog = load_catalog()
    kbs = tuple(catalog.get(kb).kb for kb in args.kbs or ())
    targets = _targets(args)
    settings = AuditSettings(samples=args.samples, interval=args.interval, kbs=kbs,
                             time_scale=time_scale({name: t.hostvars for name, t in targets.items()}),
                             history_days=args.history_days)

    def connect(name: str) -> Transport:
        options = targets[name].winrm_options()
        return recorded(WinRMTransport(name, options), args.record, [options.password, *args.redact])

    location = args.history or (history_path(args.out) if args.out else None)
    # Opened (connected, schema current) before any host is audited: a database that is down fails the run now.
    history = OutageTolerantHistory(open_history(location)) if location else None
    try:
        results = audit_fleet(
            list(targets), connect, catalog, settings,
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
    if history:
        history.check()  # a database lost mid-run fails the run, after every result and report is saved
    return exit_code(results)


def time_scale(hostvars: dict[str, Any]) -> float:
    """How many host seconds pass per controller second (:data:`TIME_SCALE_VARIABLE`; 1 on real hosts).

    The lab runs its hosts' clock faster and says so in its inventory, so that
    the samples of an audit are spaced ``--interval`` seconds of host time apart.
    """
    scales: dict[float, str] = {}
    for host, variables in hostvars.items():
        value = variables.get(TIME_SCALE_VARIABLE, 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InventoryError(f"host {host}: {TIME_SCALE_VARIABLE} must be a positive number, got {value!r}")
        scales.setdefault(float(value), host)
    if len(scales) > 1:
        (first, one), (second, other) = list(scales.items())[:2]
        raise InventoryError(f"hosts {one} and {other} have different {TIME_SCALE_VARIABLE} ({first:g} and "
                             f"{second:g}): one audit samples on one clock")
    return next(iter(scales), 1.0)
