"""The typed form of a catalog entry: one hotfix article, row for row.

The YAML files are the source of truth; these frozen dataclasses are what the
engine reads, so that a typo in a key is caught once, at load time, and never
turns into a silent ``None`` deep inside an assessment. Field names are the
YAML keys, so :meth:`KbEntry.to_dict` gives back the same shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from ..errors import CatalogError
from ..versions import WinVersion

_KB_ID_RE = re.compile(r"(?:KB)?([0-9]{6,7})", re.IGNORECASE)

Arch = Literal["x86", "x64", "ia64"]
Confidence = Literal["confirmed", "inferred", "unverified"]


@dataclass(frozen=True)
class Applicability:
    """One OS build (family, version, SP, archs) that the fix covers, and how to verify it there.

    ``verify`` says what decides "fixed": ``files`` (the rows of the file table for this build and
    arch), ``registration`` (no file table: the KB registration), or ``service_pack`` (the SP is
    believed to contain the fix). ``products`` are checked by the engine, not by :meth:`matches`.
    """

    os: list[str]
    version: str
    sp: int
    archs: list[str]
    products: list[str]
    verify: Literal["files", "registration", "service_pack"]
    confidence: Confidence
    note: str | None

    def matches(self, family: str | None, version: str, sp: int | None, arch: str | None) -> bool:
        return family in self.os and version == self.version and sp == self.sp and arch in self.archs


@dataclass(frozen=True)
class Prerequisite:
    """The service pack a host needs before the fix installs; ``kb`` is the service pack's own package."""

    service_pack: int
    kb: str | None


@dataclass(frozen=True)
class Exclusion:
    """An OS build the article names or implies but the fix does not cover, with the status to give.

    ``sp`` and ``archs`` of ``None`` match any service pack / architecture. With ``prerequisite`` the
    build has the bug but cannot take the fix yet (status ``prerequisite_missing``): the engine reports
    the fix missing and names the service pack to install first.
    """

    os: list[str]
    version: str
    sp: int | None
    archs: list[str] | None
    status: Literal["not_applicable", "unknown", "prerequisite_missing"]
    reason: str
    prerequisite: Prerequisite | None = None

    def matches(self, family: str | None, version: str, sp: int | None, arch: str | None) -> bool:
        return (
            family in self.os
            and version == self.version
            and (self.sp is None or sp == self.sp)
            and (self.archs is None or arch in self.archs)
        )


@dataclass(frozen=True)
class FileRow:
    """One row of the article's file tables, as published (``version`` is ``None`` for "Not Applicable").

    ``package`` is whose table the row is in; ``platform`` is the file's own architecture, so
    the x86 WOW64 rows of an x64 package have ``package='x64', platform='x86'``.
    """

    name: str
    version: str | None
    size: int
    date: str
    time: str
    platform: str | None
    package: str
    os: list[str]
    path: str | None
    branch: Literal["GDR", "LDR", "merged", "none"]
    sr_level: Literal["RTM", "SP1", "SP2"] | None

    @property
    def win_version(self) -> WinVersion | None:
        return WinVersion.parse(self.version) if self.version is not None else None


@dataclass(frozen=True)
class AdditionalFile:
    """A .mum/.manifest row of the article's "Additional file information" (no version, no platform)."""

    name: str
    size: int
    date: str
    time: str
    package: str


@dataclass(frozen=True)
class Registration:
    """How the installed hotfix shows up: QFE HotFixID, CBS package prefix (Vista+), update.exe keys (2003)."""

    kb: str
    cbs_package_prefix: str | None
    registry_keys: list[str]


@dataclass(frozen=True)
class RegistryValue:
    """A registry value the audit reads because it changes the diagnosis (e.g. SynAttackProtect).

    ``absent_means`` is the effective value when the value does not exist; ``where`` says whether the
    setting matters on the audited host itself or on the peers it talks to.
    """

    id: str
    path: str
    type: Literal["REG_DWORD", "REG_SZ", "REG_MULTI_SZ", "REG_QWORD"]
    absent_means: int | str | None
    where: Literal["host", "peer"]
    what: str


@dataclass(frozen=True)
class Package:
    """An installable package file for some OS families, builds and one architecture."""

    file: str
    kind: Literal["msu", "exe"]
    os: list[str]
    versions: list[str]
    arch: str
    confidence: Confidence

    def matches(self, family: str | None, version: str, arch: str | None) -> bool:
        return family in self.os and version in self.versions and arch == self.arch


@dataclass(frozen=True)
class Indicator:
    """What shows the leak and the sustained trend (per hour) above which the host counts as leaking.

    ``kind`` decides what ``target`` names: a service (``service_process``), an image name
    (``process``), a 4-character pool tag (``pool_tag``) or a counter (``counter``).
    """

    id: str
    what: str
    kind: Literal["service_process", "process", "pool_tag", "counter"]
    target: str
    metric: Literal["private_bytes", "working_set", "handles", "nonpaged_bytes", "bytes"]
    unit: Literal["bytes", "count"]
    leaking_rate_per_hour: float
    min_confidence: float
    basis: str
    min_span_hours: float  # a shorter span turns minutes of noise into an hourly rate
    min_growth: float  # absolute growth (in ``unit``) below which no rate is a leak
    noise: Noise
    needs_growing_tag: bool = False  # not specific to one KB: a growing pool tag must account for the growth


@dataclass(frozen=True)
class Noise:
    """How a healthy host's indicator moves: a random-walk wander (per sqrt hour) and reading-to-reading jitter."""

    wander_per_sqrt_hour: float
    jitter: float
    basis: str


@dataclass(frozen=True)
class PoolTag:
    """A nonpaged pool tag a leak shows under, and the driver that allocates it."""

    tag: str
    driver: str
    what: str
    confidence: Literal["confirmed", "inferred", "unverified"]


@dataclass(frozen=True)
class Workaround:
    """A way to stop or relieve the leak without the hotfix, with its risk; ``automatable`` means the tool may run it."""

    id: str
    scenario: int | None
    what: str
    effect: str
    risk: str
    automatable: bool


@dataclass(frozen=True)
class Uncertainty:
    """Something the catalog encodes without a primary source, said out loud."""

    about: str
    confidence: Literal["inferred", "unverified"]
    note: str


@dataclass(frozen=True)
class KbEntry:
    """One hotfix article. Lists keep the article's order."""

    kb: str
    title: str
    article: str
    summary: str
    restart: Literal["required", "not_required"]
    restart_service: str | None
    replaces: list[str]
    prerequisites: list[str]
    applies_to: list[Applicability]
    excluded: list[Exclusion]
    files: list[FileRow]
    additional_files: list[AdditionalFile]
    registration: Registration
    registry_values: list[RegistryValue]
    packages: list[Package]
    indicators: list[Indicator]
    pool_tags: list[PoolTag]
    workarounds: list[Workaround]
    uncertainties: list[Uncertainty]
    source: Path
    schema_version: int = 1

    def fix_files(self, version: str, arch: str) -> list[FileRow]:
        """The rows to verify on a host of OS build ``version`` (``6.1.7601``) and architecture ``arch``.

        Only rows whose file version belongs to the host's own OS build count: a package may carry
        rows for another build (KB2847346 lists RTM-level 6.1.7600.16385 files for SP1 hosts).
        """
        return [
            row
            for row in self.files
            if row.version is not None and row.package == arch and WinVersion.parse(row.version).os_version == version
        ]

    def package_for(self, family: str | None, version: str, arch: str | None) -> Package | None:
        """The package that installs on this OS family, build and architecture, if the catalog knows one."""
        return next((p for p in self.packages if p.matches(family, version, arch)), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the same keys (and key order) as the YAML file."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "source":
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return {"schema_version": out.pop("schema_version"), **out}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class Catalog:
    """All KB entries, keyed by ``KBnnnnnn`` in file-name order."""

    kbs: dict[str, KbEntry]

    def get(self, kb: str) -> KbEntry:
        """Look up ``'KB2847346'``, ``'kb2847346'`` or ``'2847346'``; an unknown KB names the known ones."""
        key = normalize_kb_id(kb)
        if key is None or key not in self.kbs:
            known = ", ".join(self.kbs) or "none"
            raise CatalogError(f"unknown KB {kb!r}: the catalog knows {known}")
        return self.kbs[key]

    def __contains__(self, kb: object) -> bool:
        return isinstance(kb, str) and normalize_kb_id(kb) in self.kbs

    def __iter__(self) -> Iterator[KbEntry]:
        return iter(self.kbs.values())

    def __len__(self) -> int:
        return len(self.kbs)


def normalize_kb_id(text: str) -> str | None:
    """``'KB2847346'``, ``'kb2847346'``, ``' 2847346 '`` -> ``'KB2847346'``; anything else -> ``None``."""
    match = _KB_ID_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    return f"KB{match.group(1)}" if match else None
