"""``winremedy catalog list | show KB | validate FILE...``: what the catalog knows, for people and for scripts
(JSON), and whether new KB files are sound."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..commandline import EXIT_FINDINGS, EXIT_OK, add_format, print_json
from ..report.table import format_table
from .loader import load_catalog
from .model import KbEntry
from .validate import validate_files


def add_catalog_commands(commands: Any) -> None:
    catalog = commands.add_parser("catalog", help="the KBs winremedy knows").add_subparsers(metavar="ACTION")
    listing = catalog.add_parser("list", help="list the KBs")
    add_format(listing)
    listing.set_defaults(run=run_list)
    show = catalog.add_parser("show", help="everything the catalog holds for one KB")
    show.add_argument("kb", help="KB id, e.g. KB2847346")
    add_format(show)
    show.set_defaults(run=run_show)
    validate = catalog.add_parser(
        "validate", help="check KB files against the schema and the rest of the catalog",
        description="Check new KB files: the schema, agreement between their keys, and cross-references with the "
                    "catalog (--catalog, WINREMEDY_CATALOG_PATH) and the engine: indicators, workarounds, packages. "
                    "Each problem is one line naming the file and the key. Exit 0: sound; 1: problems.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(run=run_validate)


def run_list(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.format == "json":
        print_json({"kbs": [_kb_summary(kb) for kb in catalog.kbs.values()]})
        return EXIT_OK
    rows = [(kb.kb, kb.restart, ", ".join(_applies_text(kb)), kb.title) for kb in catalog.kbs.values()]
    print(format_table(("KB", "restart", "applies to", "title"), rows, max_width=60))
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    problems = validate_files(args.files)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(args.files)} KB file(s) sound: {', '.join(str(f) for f in args.files)}")
    return EXIT_FINDINGS if problems else EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    kb = load_catalog().get(args.kb)
    if args.format == "json":
        print_json(kb.to_dict())
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


def _kb_summary(kb: KbEntry) -> dict[str, Any]:
    return {"kb": kb.kb, "title": kb.title, "restart": kb.restart, "applies_to": _applies_text(kb),
            "files": len(kb.files), "packages": [p.file for p in kb.packages]}


def _applies_text(kb: KbEntry) -> list[str]:
    return [f"{'/'.join(r.os)} {r.version} SP{r.sp} ({'/'.join(r.archs)})" for r in kb.applies_to]
