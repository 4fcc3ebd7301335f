"""``winremedy catalog validate``: check new KB files before anyone relies on them.

Loading stops at a file's first problem; this lists every schema problem of a
file, then checks the agreement between its keys, and adds what only makes sense against the rest of the catalog and the
engine: an indicator is evidence for one KB, a workaround may be automated
only if the engine knows how to run it, every package installs on a build an
applies_to rule covers, and every rule the remediation acts on has a package.
Each problem is one line naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import CatalogError
from .loader import load_catalog, load_kb_file, schema_problems
from .model import Catalog, KbEntry

# The workarounds `winremedy remediate` can run (see winremedy.remediate.workarounds); any other must be manual.
AUTOMATED_WORKAROUNDS = frozenset({"nic_bounce"})
# Which metrics each indicator kind can be read as by the collector, and the unit of each metric.
_METRICS = {
    "service_process": {"private_bytes", "working_set", "handles"},
    "process": {"private_bytes", "working_set", "handles"},
    "pool_tag": {"nonpaged_bytes", "bytes"},
    "counter": {"nonpaged_bytes", "bytes", "handles", "private_bytes", "working_set"},
}
_COUNT_METRICS = {"handles"}


def validate_files(paths: Iterable[Path], catalog: Catalog | None = None) -> list[str]:
    """Every problem of every file, one line each (``FILE: key: problem``); empty when all are sound."""
    known = catalog if catalog is not None else load_catalog()
    problems: list[str] = []
    entries: list[KbEntry] = []
    for path in paths:
        schema = schema_problems(path)
        if schema:
            problems += schema
            continue
        try:
            entry = load_kb_file(path, label=str(path))
        except CatalogError as error:
            problems.append(str(error))
            continue
        problems += [f"{path}: {p}" for p in _cross_references(entry, known, entries)]
        entries.append(entry)
    return problems


def _cross_references(entry: KbEntry, catalog: Catalog, others: list[KbEntry]) -> list[str]:
    problems = []
    same = next((e for e in [*catalog, *others] if e.kb == entry.kb and e.source.resolve() != entry.source.resolve()),
                None)
    if same is not None:
        problems.append(f"kb: {entry.kb} is already defined in {same.source}")
    owners = {i.id: e for e in [*catalog, *others] if e.kb != entry.kb for i in e.indicators}
    for n, indicator in enumerate(entry.indicators):
        if indicator.id in owners:
            problems.append(f"indicators[{n}].id: {indicator.id!r} is already evidence for {owners[indicator.id].kb} "
                            f"({owners[indicator.id].source.name}); an indicator is evidence for one KB only")
        if indicator.metric not in _METRICS[indicator.kind]:
            problems.append(f"indicators[{n}].metric: {indicator.metric!r} cannot be read for a {indicator.kind} "
                            f"(one of: {', '.join(sorted(_METRICS[indicator.kind]))})")
        unit = "count" if indicator.metric in _COUNT_METRICS else "bytes"
        if indicator.unit != unit:
            problems.append(f"indicators[{n}].unit: {indicator.unit!r} but {indicator.metric} is in {unit}")
    for n, workaround in enumerate(entry.workarounds):
        if workaround.automatable and workaround.id not in AUTOMATED_WORKAROUNDS:
            problems.append(f"workarounds[{n}].automatable: true, but winremedy runs only "
                            f"{', '.join(sorted(AUTOMATED_WORKAROUNDS))}; describe {workaround.id!r} as manual")
    for n, package in enumerate(entry.packages):
        if not any(set(package.os) & set(r.os) and r.version in package.versions and package.arch in r.archs
                   for r in entry.applies_to):
            problems.append(f"packages[{n}]: {package.file} installs on {'/'.join(package.os)} "
                            f"{'/'.join(package.versions)} {package.arch}, which no applies_to rule covers")
    for n, rule in enumerate(entry.applies_to):
        if rule.verify == "service_pack":
            continue
        for family in rule.os:
            for arch in rule.archs:
                if entry.package_for(family, rule.version, arch) is None:
                    problems.append(f"applies_to[{n}]: no package for {family} {rule.version} {arch}: "
                                    "remediation could not install the fix there")
    return problems
