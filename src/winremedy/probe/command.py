"""``winremedy probe``: before the first patch night, whether each host of an inventory is ready."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..audit.run import DEFAULT_FORKS
from ..commandline import EXIT_FINDINGS, EXIT_OK, add_inventory_arguments
from ..audit.results import READINESS_DIR, result_path
from ..transport.recording import add_record_options, recorded
from .readiness import Readiness
from .report import FORMATS, REPORT_FILES, render



def add_probe_command(commands: Any) -> None:
    probe = commands.add_parser(
        "probe", help="check that each host can be audited and remediated (read-only, one round trip per host)",
        description="Probe every host of an Ansible inventory: reachability, authentication and encryption, WinRM "
                    "version and limits, PowerShell and .NET, script delivery, WMI, Task Scheduler, Windows "
                    "Update, FIPS, %%SystemRoot%%, free space, pending reboot, clock skew, the default-route "
                    "adapter. Verdict per host: ready, or not ready with each reason and what to do.",
        epilog="exit codes: 0 every host ready, 1 some not ready, 2 bad input",
    )
    add_inventory_arguments(probe, forks=DEFAULT_FORKS, what="hosts probed")
    probe.add_argument("--format", choices=FORMATS, default="table")
    probe.add_argument("--out", type=Path, help="save each host's verdict under DIR/probe/ and the reports in DIR")
    add_record_options(probe)
    probe.set_defaults(run=run_probe)


def run_probe(args: argparse.Namespace) -> int:
    from ..inventory import load_targets  # ansible-core is imported only by the commands that read inventories
    from ..transport import WinRMTransport
    from .run import channel_of, probe_fleet

    targets = {t.name: t for t in load_targets(args.inventory, limit=args.limit,
                                                vault_password_files=args.vault_password_file)}
    for target in targets.values():
        for warning in target.warnings:
            print(f"winremedy: warning: {target.name}: {warning}", file=sys.stderr)

    def connect(name: str) -> tuple[Any, Any]:
        options = targets[name].winrm_options()
        transport = recorded(WinRMTransport(name, options), args.record, [options.password, *args.redact])
        return transport, channel_of(name, options)

    results = probe_fleet(list(targets), connect, forks=args.forks)
    if args.out:
        save_readiness(args.out, results)
        for fmt, name in REPORT_FILES.items():
            write_text_atomic(args.out / name, render(results, fmt))
    sys.stdout.write(render(results, args.format))
    return EXIT_OK if all(r.ready for r in results) else EXIT_FINDINGS


def save_readiness(directory: Path, results: list[Readiness]) -> None:
    """Each verdict as ``DIR/probe/<host>.json`` (named like the audit's host files), so reports join them."""
    for result in results:
        path = directory / READINESS_DIR / result_path(directory, result.host).name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(result.to_dict(), indent=2) + "\n")


def load_readiness(directory: Path) -> dict[str, Readiness]:
    """The verdicts saved under ``DIR/probe/``, by host (none when the probe never ran there)."""
    found = {}
    for path in sorted((directory / READINESS_DIR).glob("*.json")):
        result = Readiness.from_dict(json.loads(path.read_text(encoding="utf-8")))
        found[result.host] = result
    return found
