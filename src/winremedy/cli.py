"""The ``winremedy`` command.

Exit codes (stable; scheduled jobs act on them):
  0  compliant: every KB is fixed or not applicable on every host
  1  findings: at least one KB is missing, leaking, pending a reboot, or unknown
  2  error: bad input, a broken catalog, a usage error (nothing half-written)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__
from .assess import Finding, Status, assess
from .audit import DEFAULT_FORKS, AuditSettings, audit_fleet
from .catalog import KbEntry, load_catalog
from .errors import WinRemedyError
from .facts import HostFacts
from .lab.cli import add_lab_commands
from .offline import read_facts_files
from .progress import FleetProgress
from .remediate.command import add_remediate_command
from .repo.command import add_repo_commands
from .report.command import add_report_command
from .report.table import format_table

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_COMPLIANT = {Status.FIXED, Status.NOT_APPLICABLE}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_ERROR
    try:
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
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    catalog = commands.add_parser("catalog", help="the KBs winremedy knows").add_subparsers(metavar="ACTION")
    listing = catalog.add_parser("list", help="list the KBs")
    _add_format(listing)
    listing.set_defaults(run=_catalog_list)
    show = catalog.add_parser("show", help="everything the catalog holds for one KB")
    show.add_argument("kb", help="KB id, e.g. KB2847346")
    _add_format(show)
    show.set_defaults(run=_catalog_show)

    offline = commands.add_parser(
        "assess", help="assess hosts offline from facts JSON, systeminfo or wmic qfe output",
        description="Assess hosts from saved facts (JSON), `systeminfo` output or `wmic qfe` output. "
                    "systeminfo and wmic qfe give no file versions: their findings rest on KB registration only.",
    )
    offline.add_argument("files", nargs="*", type=Path, metavar="FILE")
    offline.add_argument("--samples", action="store_true", help="assess the sample hosts bundled with winremedy")
    offline.add_argument("--kb", action="append", dest="kbs", metavar="KB", help="only this KB (repeatable)")
    _add_format(offline)
    offline.set_defaults(run=_assess)
    _add_audit_command(commands)
    _add_demo_command(commands)
    add_remediate_command(commands)
    add_report_command(commands)
    add_repo_commands(commands)
    add_lab_commands(commands)
    return parser


def _add_audit_command(commands: argparse._SubParsersAction) -> None:
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
    audit.add_argument("-f", "--forks", type=_positive_int, default=DEFAULT_FORKS,
                       help=f"hosts audited at once (default {DEFAULT_FORKS})")
    audit.add_argument("--samples", type=_positive_int, default=1, help="leak samples per indicator (default 1)")
    audit.add_argument("--interval", type=float, default=60.0, help="seconds between samples on the host (default 60)")
    audit.add_argument("--kb", action="append", dest="kbs", metavar="KB", help="only this KB in the findings")
    audit.add_argument("--out", type=Path, help="save each host's result under DIR/hosts/ as it arrives, "
                                                 "and the reports in DIR at the end")
    audit.add_argument("--resume", action="store_true", help="with --out: skip hosts already audited there")
    audit.add_argument("--format", choices=("table", "json", "csv", "junit", "html"), default="table")
    audit.set_defaults(run=_audit)


def _add_demo_command(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="the main job against the embedded lab: audit, remediate, verify, report",
        description="Start an emulated fleet on loopback and run the main job on it exactly as on a production "
                    "fleet (the same commands you would type): audit with leak sampling, remediate (stage, install, "
                    "reboot now, verify), audit again, write the reports, stop the lab.",
    )
    demo.add_argument("--dir", type=Path, default=Path("winremedy-demo"),
                      help="where the lab and the reports go (default ./winremedy-demo)")
    demo.add_argument("--hosts", type=_positive_int, default=40, help="size of the generated fleet (default 40)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated fleet (default 1)")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    """The main job, as the sequence of commands an operator would run: each step is the real command."""
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


def _catalog_list(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.format == "json":
        _print_json({"kbs": [_kb_summary(kb) for kb in catalog.kbs.values()]})
        return EXIT_OK
    rows = [(kb.kb, kb.restart, ", ".join(_applies_text(kb)), kb.title) for kb in catalog.kbs.values()]
    print(format_table(("KB", "restart", "applies to", "title"), rows, max_width=60))
    return EXIT_OK


def _catalog_show(args: argparse.Namespace) -> int:
    kb = load_catalog().get(args.kb)
    if args.format == "json":
        _print_json(kb.to_dict())
        return EXIT_OK
    print(f"{kb.kb}: {kb.title}\n{kb.article}\n\n{kb.summary}\n")
    print(f"restart: {kb.restart}" + (f" (restart service {kb.restart_service})" if kb.restart_service else ""))
    print("applies to: " + "; ".join(_applies_text(kb)))
    for exclusion in kb.excluded:
        print(f"excluded: {'/'.join(exclusion.os)} {exclusion.version}: {exclusion.status}: {exclusion.reason}")
    if kb.files:
        print()
        print(format_table(
            ("file", "version", "platform", "package", "OS", "branch", "path"),
            [(f.name, f.version or "n/a", f.platform or "n/a", f.package, "/".join(f.os), f.branch, f.path or "n/a")
             for f in kb.files],
        ))
    else:
        print("\nfiles: none published in the article")
    print("\npackages: " + ", ".join(p.file for p in kb.packages))
    print("indicators: " + ", ".join(f"{i.id} (> {i.leaking_rate_per_hour:,.0f} {i.unit}/h)" for i in kb.indicators))
    for workaround in kb.workarounds:
        auto = "automatable" if workaround.automatable else "manual"
        print(f"workaround {workaround.id} ({auto}): {workaround.what} Risk: {workaround.risk}")
    return EXIT_OK


def _assess(args: argparse.Namespace) -> int:
    if not args.files and not args.samples:
        raise WinRemedyError("assess: give one or more FILEs (facts JSON, systeminfo, wmic qfe) or --samples")
    catalog = load_catalog()
    kbs = [catalog.get(kb).kb for kb in args.kbs] if args.kbs else None
    paths = list(args.files) + (_sample_paths() if args.samples else [])
    results = [(facts, assess(facts, catalog, kbs)) for facts in read_facts_files(paths)]
    if args.format == "json":
        _print_json({"results": [
            {"host": facts.host, "facts": facts.to_dict(), "findings": [f.to_dict() for f in findings]}
            for facts, findings in results
        ]})
    else:
        _print_findings_table(results)
    compliant = all(f.status in _COMPLIANT for _, findings in results for f in findings)
    return EXIT_OK if compliant else EXIT_FINDINGS


def _audit(args: argparse.Namespace) -> int:
    from .inventory import load_targets  # ansible-core is imported only by the commands that read inventories
    from .report import render, write_reports, exit_code
    from .transport import WinRMTransport

    if args.resume and not args.out:
        raise WinRemedyError("audit: --resume needs --out DIR (the results to resume from)")
    catalog = load_catalog()
    kbs = tuple(catalog.get(kb).kb for kb in args.kbs or ())
    targets = {t.name: t for t in load_targets(args.inventory, limit=args.limit,
                                                vault_password_files=args.vault_password_file)}
    for target in targets.values():
        for warning in target.warnings:
            print(f"winremedy: warning: {target.name}: {warning}", file=sys.stderr)
    settings = AuditSettings(samples=args.samples, interval=args.interval, kbs=kbs)
    results = audit_fleet(
        list(targets), lambda name: WinRMTransport(name, targets[name].options), catalog, settings,
        forks=args.forks, out=args.out, resume=args.resume, progress=FleetProgress(),
    )
    if args.out:
        from .results import load_results

        results = load_results(args.out)  # with --resume, the hosts done earlier belong in the report too
        write_reports(results, args.out, ["json", "csv", "junit", "html"])
    sys.stdout.write(render(results, args.format, catalog=catalog))
    return exit_code(results)


def _print_findings_table(results: list[tuple[HostFacts, list[Finding]]]) -> None:
    rows = []
    for facts, findings in results:
        os_text = f"{facts.os.family or facts.os.version} SP{facts.os.sp} {facts.os.arch}" if facts.os else "unknown"
        rows += [(facts.host, os_text, f.kb, f.status.value, f.confidence, f.basis, f.reason) for f in findings]
    print(format_table(("host", "os", "KB", "status", "confidence", "basis", "reason"), rows))


def _sample_paths() -> list[Path]:
    samples = resources.files("winremedy") / "samples"
    return sorted(Path(str(p)) for p in samples.iterdir() if p.name.endswith(".json"))


def _kb_summary(kb: KbEntry) -> dict[str, Any]:
    return {"kb": kb.kb, "title": kb.title, "restart": kb.restart, "applies_to": _applies_text(kb),
            "files": len(kb.files), "packages": [p.file for p in kb.packages]}


def _applies_text(kb: KbEntry) -> list[str]:
    return [f"{'/'.join(r.os)} {r.version} SP{r.sp} ({'/'.join(r.archs)})" for r in kb.applies_to]


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
