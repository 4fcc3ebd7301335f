"""``winremedy remediate``: audit, plan, stage, install, restart and verify a fleet from an Ansible inventory.

The command line only: the options are :mod:`.settings`'s, what it shares with the collection is :mod:`.fleet`.

Exit codes: 0 every host compliant or fixed (``--check``: nothing to do);
1 something remains (a failure, a host not touched, a restart pending or
scheduled, a KB of unknown status to review; ``--check``: work planned or a
review needed); 2 bad input, nothing done.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from ..commandline import add_inventory_arguments, percentage, positive_int, writable_directory
from ..atomic import write_text_atomic
from ..catalog import load_catalog
from ..report.table import format_table
from . import stage
from .fleet import host_contexts, host_runner, preflight, save_outcome, settings_for
from .outcome import HostOutcome, HostStatus
from .rollout import DEFAULT_FORKS, Rollout, roll_out
from .settings import add_arguments
from .workarounds import syn_attack_peers

DEFAULT_OUT = Path("winremedy-remediate")
_DONE = {HostStatus.COMPLIANT, HostStatus.FIXED}


def add_remediate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "remediate", help="install the missing fixes, restart, verify (rolling batches, resumable)",
        description="For every host of an Ansible inventory: audit, plan (exact package per KB x OS x SP x "
                    "architecture), stage, install through a scheduled task as SYSTEM, restart now / in the host's "
                    "maintenance window / never, and verify with a new audit and leak sampling. A journal under "
                    "--out lets a rerun after an interruption continue without a second install or reboot.",
        epilog="exit codes: 0 all compliant or fixed, 1 something remains (failed, not touched, restart pending or "
               "scheduled, a KB of unknown status to review; with --check: work planned or a review needed), 2 error",
    )
    add_inventory_arguments(parser)
    parser.add_argument("--serial", metavar="N|P%", help="hosts per batch, as Ansible's serial (default: all)")
    parser.add_argument("--max-fail-percentage", type=percentage, metavar="P",
                        help="stop after a batch in which more than P%% of hosts failed (default: only when all did)")
    source = parser.add_argument_group("packages (hosts get them from)")
    source.add_argument("--repo", metavar="DIR", help="a winremedy repository, whose manifest pins every package; "
                                                      "pushed over WinRM unless --repo-url or --repo-unc is given")
    source.add_argument("--repo-url", metavar="URL", help="with --repo DIR (the local copy it was synced to): hosts "
                                                         "download from URL (http/https)")
    source.add_argument("--repo-unc", metavar="UNC", help="hosts copy from this share (\\\\server\\share); with "
                                                         "--repo DIR, the local copy it was synced from")
    parser.add_argument("--check", action="store_true", help="print each host's exact plan; change nothing")
    parser.add_argument("--out", type=Path, help=f"journal, results and reports (default ./{DEFAULT_OUT}; "
                                                 "with --check nothing is written unless given)")
    parser.add_argument("-f", "--forks", type=positive_int, default=DEFAULT_FORKS, help="hosts worked on at once inside a batch")
    add_arguments(parser.add_argument_group("remediation"))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run_remediate)


def run_remediate(args: argparse.Namespace) -> int:
    from ..inventory import load_targets  # ansible-core only for the commands that read inventories
    from ..transport import WinRMTransport

    out = args.out if args.out or args.check else DEFAULT_OUT
    if out is not None:
        writable_directory(out)  # before any host is touched: a journal or a result must never be lost
    catalog = load_catalog()
    settings = settings_for(vars(args), catalog, check=args.check)
    source, manifest = stage.resolve_source(args.repo, args.repo_unc, args.repo_url)
    refused = preflight(source, manifest, settings.kbs)
    for file, reason in refused.items():
        print(f"winremedy: refused package {file}: {reason}", file=sys.stderr)
    targets = {t.name: t for t in load_targets(args.inventory, limit=args.limit,
                                                vault_password_files=args.vault_password_file)}
    contexts, bad = host_contexts({name: t.hostvars for name, t in targets.items() if t.error is None})
    for name, target in targets.items():
        if target.error is not None:
            bad[name] = target.error
    if out is not None:
        writable_directory(out)  # before any host is touched: a journal or a result must never be lost
    lock = threading.Lock()

    def note(host: str, message: str) -> None:
        with lock:
            print(f"[{host}] {message}", file=sys.stderr, flush=True)

    run_host = host_runner(lambda name: WinRMTransport(name, targets[name].winrm_options()), contexts, bad,
                           catalog=catalog, source=source, manifest=manifest, settings=settings, refused=refused,
                           journal_dir=out, note=note)

    def finished(outcome: HostOutcome) -> None:
        if out is not None:
            save_outcome(out, outcome)
        note(outcome.host, f"{outcome.status.value.upper()}: {outcome.message}")

    rollout = roll_out(list(targets), run_host, serial=None if args.check else args.serial,
                       max_fail_percentage=args.max_fail_percentage, forks=args.forks, on_result=finished)
    attach_peers(rollout.outcomes)
    if out is not None:
        write_summary(out, rollout)
    sys.stdout.write(render(rollout, args.format, check=args.check))
    return exit_code(rollout, check=args.check)


def attach_peers(outcomes: list[HostOutcome]) -> None:
    """KB903927: tell each LCS host which audited peers keep SYN attack protection on (that triggers the leak)."""
    audits = [o.audit for o in outcomes if o.audit is not None]
    peers = syn_attack_peers(audits)
    for outcome in outcomes:
        found = peers.get(outcome.host)
        outcome.peers = [peer.host for peer in found.peers] if found else []


def write_summary(out: Path, rollout: Rollout) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "remediation.json", json.dumps(summary(rollout), indent=1))


def summary(rollout: Rollout) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for outcome in rollout.outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return {"stopped": rollout.stopped, "counts": counts, "hosts": [o.to_dict() for o in rollout.outcomes]}


def render(rollout: Rollout, fmt: str, *, check: bool) -> str:
    if fmt == "json":
        return json.dumps(summary(rollout), indent=2) + "\n"
    rows = []
    for outcome in sorted(rollout.outcomes, key=lambda o: o.host.lower()):
        plan = outcome.plan
        acted = [k for k in plan.kbs if k.action.value != "skip"] if plan else []
        what = "; ".join(f"{k.action.value} {k.kb}" + (f" ({k.package.file})" if k.package else "") for k in acted)
        restart = plan.restart.value if plan and acted else ""
        rows.append((outcome.host, outcome.status.value, what or "-", restart, outcome.message))
    if check:
        lines = ["plan (--check: nothing was changed)"]
        lines += [f"{o.status.value:>9}  {o.message}" for o in sorted(rollout.outcomes, key=lambda o: o.host.lower())]
    else:
        lines = ["remediation", format_table(("host", "status", "KBs", "restart", "detail"), rows)]
    if rollout.stopped:
        lines.append(f"stopped: {rollout.stopped}")
    peers = [(o.host, ", ".join(o.peers)) for o in rollout.outcomes if o.peers]
    if peers:
        lines.append("KB903927: peers with SYN attack protection on (the leak's trigger; see the article's workaround):")
        lines += [f"  {host}: {names}" for host, names in peers]
    return "\n".join(lines) + "\n"


def exit_code(rollout: Rollout, *, check: bool) -> int:
    if check:
        return 0 if all(o.status is HostStatus.COMPLIANT for o in rollout.outcomes) else 1
    return 0 if all(o.status in _DONE for o in rollout.outcomes) else 1

