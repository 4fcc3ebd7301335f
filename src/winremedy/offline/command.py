"""``winremedy assess FILE...``: findings for hosts that cannot be audited over WinRM, from saved output."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Any

from ..audit.assess import Finding, Status, assess
from ..audit.facts import HostFacts
from ..audit.leaks import analyse
from ..catalog import Catalog, load_catalog
from ..history import LOCATIONS, HistoryStore, open_history
from ..history.series import joined_samples
from ..commandline import EXIT_FINDINGS, EXIT_OK, add_format, print_json
from ..errors import WinRemedyError
from ..report.table import format_table
from .reader import read_facts_files

_COMPLIANT = {Status.FIXED, Status.NOT_APPLICABLE}


def add_assess_command(commands: Any) -> None:
    offline = commands.add_parser(
        "assess", help="assess hosts offline from facts JSON, systeminfo or wmic qfe output",
        description="Assess hosts from saved facts (JSON), `systeminfo` output or `wmic qfe` output. "
                    "systeminfo and wmic qfe give no file versions: their findings rest on KB registration only.",
    )
    offline.add_argument("files", nargs="*", type=Path, metavar="FILE")
    offline.add_argument("--samples", action="store_true", help="assess the sample hosts bundled with winremedy")
    offline.add_argument("--kb", action="append", dest="kbs", metavar="KB", help="only this KB (repeatable)")
    offline.add_argument("--history", metavar="PATH|URL", help=f"leak trends join the samples of this history: {LOCATIONS}")
    add_format(offline)
    offline.set_defaults(run=run_assess)


def run_assess(args: argparse.Namespace) -> int:
    if not args.files and not args.samples:
        raise WinRemedyError("assess: give one or more FILEs (facts JSON, systeminfo, wmic qfe) or --samples")
    catalog = load_catalog()
    kbs = [catalog.get(kb).kb for kb in args.kbs] if args.kbs else None
    paths = list(args.files) + (_sample_paths() if args.samples else [])
    history = open_history(args.history, create=False) if args.history else None
    try:
        results = [(facts, assess(_with_leaks(facts, catalog, history), catalog, kbs))
                   for facts in read_facts_files(paths)]
    finally:
        if history:
            history.close()
    if args.format == "json":
        print_json({"results": [
            {"host": facts.host, "facts": facts.to_dict(), "findings": [f.to_dict() for f in findings]}
            for facts, findings in results
        ]})
    else:
        _print_findings_table(results)
    compliant = all(f.status in _COMPLIANT for _, findings in results for f in findings)
    return EXIT_OK if compliant else EXIT_FINDINGS


def _with_leaks(facts: HostFacts, catalog: Catalog, history: HistoryStore | None) -> HostFacts:
    """Leak verdicts from the samples in the file (and the history); verdicts the file carries stay otherwise."""
    if facts.samples:
        facts.leaks = analyse(facts, catalog, joined_samples(facts, catalog, history))
    return facts


def _print_findings_table(results: list[tuple[HostFacts, list[Finding]]]) -> None:
    rows = []
    for facts, findings in results:
        os_text = f"{facts.os.family or facts.os.version} SP{facts.os.sp} {facts.os.arch}" if facts.os else "unknown"
        rows += [(facts.host, os_text, f.kb, f.status.value, f.confidence, f.basis, f.reason) for f in findings]
    print(format_table(("host", "os", "KB", "status", "confidence", "basis", "reason"), rows))


def _sample_paths() -> list[Path]:
    samples = resources.files("winremedy") / "samples"
    return sorted(Path(str(p)) for p in samples.iterdir() if p.name.endswith(".json"))
