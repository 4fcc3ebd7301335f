"""The audit query and its answer: what to ask a host, and how to read what it says.

The collector script (``scripts/collect.ps1``) is generic: it reads the
sections a query names (OS, files, registry values and keys, CBS packages, QFE
rows, services, processes, indicator samples) and only those. This module
builds the queries from the catalog (the whole audit, or one later sample), so
adding a KB is adding a YAML file, and turns the script's raw JSON into
:class:`HostFacts`, so every interpretation (CBS states, "File 1" rows,
pending-reboot signals, products) lives in Python where it is tested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..catalog import Catalog
from ..errors import ProtocolError
from .leaks import POOL_ALLOCS_PREFIX, POOL_TAG_PREFIX
from .facts import ARCHES, CbsState, HostFacts, Hotfix, OsInfo, Sample, normalize_kb
from . import hostsettings
from ..psdata import decode_frame
from ..remediate.stage import STAGING_DIR

CBS = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing"
_WU = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update"
_SESSION = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager"
_COMPUTER = r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName"

# Pending-reboot signals (community.windows win_pending_reboot_info.ps1): a key that exists, or a value that is set.
PENDING_REBOOT_KEYS: dict[str, str] = {
    "cbs_reboot_pending": rf"{CBS}\RebootPending",
    "cbs_reboot_in_progress": rf"{CBS}\RebootInProgress",
    "cbs_packages_pending": rf"{CBS}\PackagesPending",
    "wu_reboot_required": rf"{_WU}\RebootRequired",
    "wu_post_reboot_reporting": rf"{_WU}\PostRebootReporting",
}
PENDING_REBOOT_VALUES: dict[str, str] = {
    "pending_file_rename": rf"{_SESSION}\PendingFileRenameOperations",
    "pending_file_rename2": rf"{_SESSION}\PendingFileRenameOperations2",
    "update_exe_volatile": r"HKLM\SOFTWARE\Microsoft\Updates\UpdateExeVolatile",
}
_ACTIVE_NAME = rf"{_COMPUTER}\ActiveComputerName\ComputerName"
_PENDING_NAME = rf"{_COMPUTER}\ComputerName\ComputerName"

# The on-host sampler's file (winremedy.audit.sampler): every audit reads and clears it in its one round trip.
# Under the host's own %SystemRoot% (C:\WINNT on a 2003 upgraded from 2000, or another drive), as staging is;
# the scripts expand it on the host.
SAMPLER_DIR = STAGING_DIR + r"\sampler"
SAMPLES_FILE = SAMPLER_DIR + r"\samples.jsonl"
_SAME_BOOT_SECONDS = 5.0  # LastBootUpTime is derived from the uptime and may move by a second between reads
# The largest nonpaged pool tags read at each sample: a leak that matters soon ranks among them; the history
# keeps their series so a tag that grows for days is named with its driver.
POOL_TABLE_TAGS = 24

_PROCESSOR_ARCH = {"AMD64": "x64", "X86": "x86", "IA64": "ia64"}


@dataclass(frozen=True)
class ProductProbe:
    """How a product shows on a host: a service name, a service image, or an installed file."""

    services: tuple[str, ...]
    images: tuple[str, ...]
    files: tuple[str, ...]


# Live Communications Server 2003/2005 (KB893067, KB961569): RTCSRV.EXE under "Microsoft LC\Server"; the service
# short name RTCSRV is unverified, so the image path decides as well.
PRODUCTS: dict[str, ProductProbe] = {
    "lcs": ProductProbe(
        services=("RTCSRV",), images=("RTCSRV.EXE",),
        files=(r"%ProgramFiles%\Microsoft LC\Server\RTCSRV.EXE",),
    ),
}


def build_query(catalog: Catalog, *, samples: int = 1, interval: float = 0.0) -> dict[str, Any]:
    """Everything any KB of the catalog needs, in one query: the host's OS is not known before it answers."""
    if samples < 1 or interval < 0:
        raise ValueError("samples must be >= 1 and interval >= 0")
    kbs = list(catalog.kbs.values())
    files = {row.path for kb in kbs for row in kb.files if row.version and row.path}
    files |= {path for probe in PRODUCTS.values() for path in probe.files}
    values = set(PENDING_REBOOT_VALUES.values()) | {_ACTIVE_NAME, _PENDING_NAME}
    values |= {v.path for kb in kbs for v in kb.registry_values} | set(hostsettings.VALUES)
    keys = set(PENDING_REBOOT_KEYS.values()) | {key for kb in kbs for key in kb.registration.registry_keys}
    sample = build_sample_query(catalog)
    return {
        "os": True,
        "qfe": True,
        "files": sorted(files),
        "registry_values": sorted(values),
        "registry_keys": sorted(keys),
        "cbs_prefixes": sorted({kb.registration.cbs_package_prefix for kb in kbs if kb.registration.cbs_package_prefix}),
        "services": sorted(set(sample["services"]) | {s for probe in PRODUCTS.values() for s in probe.services}),
        "service_images": sorted({image for probe in PRODUCTS.values() for image in probe.images}),
        "processes": sorted({i.target for kb in kbs for i in kb.indicators if i.kind == "process"}),
        "indicators": sample["indicators"],
        "samples": samples,
        "interval": interval,
        "recorded": SAMPLES_FILE,
        "pool_table": POOL_TABLE_TAGS,
    }


def build_sample_query(catalog: Catalog) -> dict[str, Any]:
    """One reading of the leak indicators and no more: a later sample of an audit.

    The collector reads only the sections a query names. A sample still reads
    the OS (its boot time shows a reboot between samples, which restarts every
    counter) and the services an indicator is measured in (a restarted service
    has a new process).
    """
    indicators = {i.id: i for kb in catalog.kbs.values() for i in kb.indicators}
    return {
        "os": True,
        "services": sorted({i.target for i in indicators.values() if i.kind == "service_process"}),
        "service_images": [],
        "indicators": [{"id": i.id, "kind": i.kind, "target": i.target, "metric": i.metric}
                       for i in sorted(indicators.values(), key=lambda i: i.id)],
        "pool_table": POOL_TABLE_TAGS,
        "samples": 1,
        "interval": 0.0,
    }


def build_recorder_query(catalog: Catalog, *, keep: int) -> dict[str, Any]:
    """The on-host sampler's query: one sample, appended to :data:`SAMPLES_FILE` (its newest ``keep`` lines)."""
    return {**build_sample_query(catalog), "record": {"path": SAMPLES_FILE, "keep": keep}}


def parse_collect_output(output: bytes | str, *, host: str) -> HostFacts:
    """The collector's framed answer as HostFacts; anything malformed is a ProtocolError naming the host."""
    raw = decode_frame(output, host=host)
    try:
        return facts_from_raw(raw, host=host)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"{host}: collector answer has an unexpected shape: {type(exc).__name__}: {exc}") from None


def facts_from_raw(raw: dict[str, Any], *, host: str) -> HostFacts:
    if not isinstance(raw, dict) or raw.get("script") != "collect":
        raise ProtocolError(f"{host}: the answer is not from the collect script")
    registry_values: dict[str, Any] = dict(raw.get("registry_values") or {})
    registry_keys: dict[str, bool] = dict(raw.get("registry_keys") or {})
    registry = {**registry_values, **{k: (True if present else None) for k, present in registry_keys.items()}}
    services: dict[str, Any] = raw.get("services") or {}
    files: dict[str, str | None] = dict(raw.get("files") or {})
    notes = [str(e) for e in raw.get("errors") or []]
    return HostFacts(
        host=host,
        os=_os_info(raw["os"], host) if raw.get("os") else None,
        source="winrm",
        collected_at=_iso(raw.get("collected_at")),
        powershell_version=raw.get("powershell_version"),
        clr_version=raw.get("clr_version"),
        files=files,
        hotfixes=_qfe(raw.get("qfe")) + _cbs(raw.get("cbs")) + _update_exe(registry_keys),
        products=_products(services, files),
        registry=registry,
        pending_reboot=pending_reboot_reasons(registry_values, registry_keys),
        boot_time=_iso(raw["os"].get("boot_time")) if raw.get("os") else None,
        samples=_with_recorded({**_samples(raw), **_pool_series(raw.get("pool_tags"))}, raw, notes),
        notes=notes,
    )


def _samples(raw: dict[str, Any]) -> dict[str, list[Sample]]:
    return {key: [Sample(t=float(t), value=float(v)) for t, v in points]
            for key, points in (raw.get("samples") or {}).items()}


def _with_recorded(samples: dict[str, list[Sample]], raw: dict[str, Any], notes: list[str]) -> dict[str, list[Sample]]:
    """The on-host sampler's readings of the current boot, then this answer's own, in time order.

    Readings from before the host's last restart belong to another series (the
    counters start again at boot) and are left out; a line the recorder left
    half written (the host stopped mid-write) is skipped. Both are noted.
    """
    lines = raw.get("recorded") or []
    if not lines:
        return samples
    boot = (raw.get("os") or {}).get("boot_time")
    merged: dict[str, list[Sample]] = {}
    earlier = broken = 0
    for line in lines:
        try:
            record = json.loads(line)
            if not same_boot((record.get("os") or {}).get("boot_time"), boot):
                earlier += 1
                continue
            for key, points in {**_samples(record), **_pool_series(record.get("pool_tags"))}.items():
                merged.setdefault(key, []).extend(points)
        except (ValueError, TypeError, AttributeError):
            broken += 1
    notes.append(f"on-host sampler: {len(lines) - earlier - broken} readings since the last audit"
                 + (f"; {earlier} from before the last restart left out" if earlier else "")
                 + (f"; {broken} unreadable lines skipped" if broken else ""))
    for key, points in samples.items():
        merged.setdefault(key, []).extend(points)
    return {key: sorted(points, key=lambda s: s.t) for key, points in merged.items()}


def same_boot(one: str | None, other: str | None) -> bool:
    """Whether two reported boot times are the same boot (unknown counts as the same)."""
    if not one or not other:
        return True
    first, second = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (one, other))
    return abs((first - second).total_seconds()) <= _SAME_BOOT_SECONDS


def _pool_series(readings: list[Any] | None) -> dict[str, list[Sample]]:
    """Pool table readings ``[t, [[tag, bytes, allocations], ...]]`` as one bytes and one allocations series per tag."""
    series: dict[str, list[Sample]] = {}
    for t, rows in readings or []:
        for tag, size, allocations in rows:
            name = str(tag)
            series.setdefault(POOL_TAG_PREFIX + name, []).append(Sample(float(t), float(size)))
            series.setdefault(POOL_ALLOCS_PREFIX + name, []).append(Sample(float(t), float(allocations)))
    return series


def pending_reboot_reasons(values: dict[str, Any], keys: dict[str, bool]) -> list[str]:
    """The names of the pending-reboot signals that are raised, in a stable order."""
    reasons = [name for name, key in PENDING_REBOOT_KEYS.items() if keys.get(key)]
    for name, path in PENDING_REBOOT_VALUES.items():
        value = values.get(path)
        if value not in (None, "", 0, []) and not (name == "update_exe_volatile" and int(value) <= 0):
            reasons.append(name)
    active, pending = values.get(_ACTIVE_NAME), values.get(_PENDING_NAME)
    if active and pending and str(active).lower() != str(pending).lower():
        reasons.append("computer_rename")
    return reasons


def _os_info(data: dict[str, Any], host: str) -> OsInfo:
    arch = _PROCESSOR_ARCH.get(str(data.get("processor_architecture") or "").upper())
    version = str(data["version"])
    if arch is not None and arch not in ARCHES:
        raise ProtocolError(f"{host}: unknown processor architecture {data.get('processor_architecture')!r}")
    return OsInfo(
        caption=str(data.get("caption") or ""), version=version, sp=int(data.get("sp") or 0), arch=arch,
        product_type=int(data["product_type"]) if data.get("product_type") is not None else None,
        csd_version=data.get("csd_version"),
    )


def _qfe(rows: list[dict[str, Any]] | None) -> list[Hotfix]:
    fixes = []
    for row in rows or []:
        hotfix_id = str(row.get("id") or "")
        kb = normalize_kb(hotfix_id) or (normalize_kb(str(row.get("sp_in_effect") or ""))
                                         if hotfix_id.lower().startswith("file") else None)
        fixes.append(Hotfix(id=hotfix_id, source="qfe", kb=kb, installed_on=row.get("installed_on")))
    return fixes


def _cbs(packages: list[dict[str, Any]] | None) -> list[Hotfix]:
    fixes = []
    for package in packages or []:
        name = str(package["package"])
        state = package.get("state")
        state_name = CbsState(int(state)).name.lower() if state in {s.value for s in CbsState} else f"0x{int(state or 0):02x}"
        fixes.append(Hotfix(id=name, source="cbs", kb=normalize_kb(name), state=state_name, package=name))
    return fixes


def _update_exe(keys: dict[str, bool]) -> list[Hotfix]:
    """Windows 2003 update.exe registrations: HKLM\\SOFTWARE\\Microsoft\\Updates\\...\\KBnnnnnn and Hotfix\\KBnnnnnn."""
    return [Hotfix(id=key.rsplit("\\", 1)[-1], source="registry", kb=normalize_kb(key.rsplit("\\", 1)[-1]))
            for key, present in sorted(keys.items()) if present and normalize_kb(key.rsplit("\\", 1)[-1])]


def _products(services: dict[str, Any], files: dict[str, str | None]) -> list[str]:
    found = []
    for product, probe in PRODUCTS.items():
        by_service = any(name.lower() in {s.lower() for s in probe.services} for name in services)
        by_image = any(image.lower() in str(svc.get("path") or "").lower() for svc in services.values()
                       for image in probe.images)
        by_file = any(files.get(path) is not None for path in probe.files)
        if by_service or by_image or by_file:
            found.append(product)
    return found


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)  # must parse: refuse garbage
    return text
