"""The lab's answer to the collector script (``scripts/collect.ps1``), read from the host model.

It answers the query it is given, section by section, in exactly the raw
shape the real script prints, so the controller parses lab and real hosts
with the same code. Samples are taken at host times ``now + i * interval``;
the answer is delayed (in real seconds) until the last of them has passed.
"""

from __future__ import annotations

import json
from typing import Any

from ..psdata import FRAME_SENTINEL
from .api import CommandResult
from ..instants import iso
from .host import HostModel
from .registration import CBS

_ARCH = {"x86": "x86", "x64": "AMD64", "ia64": "IA64"}
_CBS_PACKAGES = CBS + "\\Packages\\"
_GARBLED = b"@@WINREMEDY@@{\"script\": \"collect\", \"os\": {\"caption\": \"Microsoft Windows\xff\xfe"


def answer(host: HostModel, query: dict[str, Any]) -> CommandResult:
    """What collect.ps1 would print on this host for ``query``."""
    if host.spec.faults.garbled:
        return CommandResult(_GARBLED, b"", 0)
    count = max(1, int(query.get("samples", 1)))
    interval = float(query.get("interval", 0.0))
    now = host.clock.now()
    times = [now + i * interval for i in range(count)]
    services = _services(host, query)
    result: dict[str, Any] = {
        "script": "collect",
        "errors": [],
        "powershell_version": host.spec.powershell,
        "clr_version": host.clr_version,
        "os": _os(host),
        "files": {path: _file_version(host, path) for path in query.get("files", [])},
        "registry_values": {path: host.registry.get(path) for path in query.get("registry_values", [])},
        "registry_keys": {path: _key_exists(host, path) for path in query.get("registry_keys", [])},
        "cbs": _cbs(host, query.get("cbs_prefixes", [])),
        "qfe": [{"id": row.hotfix_id, "sp_in_effect": row.service_pack_in_effect or None,
                 "installed_on": row.installed_on or None, "description": row.description} for row in host.qfe()],
        "services": services,
        "processes": _processes(host, query.get("processes", [])),
        "samples": _samples(host, query.get("indicators", []), times),
        "pool_tags": [[t, _top_tags(host, t, int(query.get("pool_table", 0)))] for t in times]
        if query.get("indicators") and query.get("pool_table") else [],
        "collected_at": iso(times[-1]),
    }
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0, delay=host.clock.to_real(times[-1] - now))


def _os(host: HostModel) -> dict[str, Any]:
    os_info = host.profile.os_info()
    return {
        "caption": os_info.caption, "version": os_info.version, "csd_version": os_info.csd_version,
        "sp": os_info.sp, "product_type": os_info.product_type,
        "processor_architecture": _ARCH[host.profile.arch], "boot_time": iso(host.boot_time),
    }


def _file_version(host: HostModel, path: str) -> str | None:
    return next((version for known, version in host.files.items() if known.lower() == path.lower()), None)


def _key_exists(host: HostModel, key: str) -> bool:
    prefix = key.lower() + "\\"
    return any(path.lower().startswith(prefix) for path in host.registry)


def _cbs(host: HostModel, prefixes: list[str]) -> list[dict[str, Any]]:
    packages = []
    for path, value in host.registry.items():
        if not (path.startswith(_CBS_PACKAGES) and path.endswith("\\CurrentState")):
            continue
        name = path[len(_CBS_PACKAGES):-len("\\CurrentState")]
        if any(name.lower().startswith(p.lower()) for p in prefixes):
            packages.append({"package": name, "state": value})
    return packages


def _services(host: HostModel, query: dict[str, Any]) -> dict[str, Any]:
    names = {n.lower() for n in query.get("services", [])}
    images = [i.lower() for i in query.get("service_images", [])]
    found = {}
    for service in host.services.values():
        process = host.processes.get(service.process)
        path = process.command_line if process else ""
        if service.name.lower() in names or any(image in path.lower() for image in images):
            found[service.name] = {"pid": process.pid if process else 0, "state": service.state, "path": path}
    return found


def _metrics(process: Any) -> dict[str, Any]:
    return {"pid": process.pid, "private_bytes": process.private_bytes, "working_set": process.working_set,
            "handles": process.handles}


def _processes(host: HostModel, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    snapshot = host.process_snapshot()
    return {name: [_metrics(p) for p in snapshot if p.name.lower() == name.lower()] for name in names}


def _samples(host: HostModel, indicators: list[dict[str, Any]], times: list[float]) -> dict[str, list[list[float]]]:
    """Each asked indicator the host model has, at each sample time; the others are absent, as on a host."""
    return {ind["id"]: [[t, float(host.indicator(ind["id"], t))] for t in times]
            for ind in indicators if ind["id"] in host.indicators.names}


def _top_tags(host: HostModel, t: float, count: int) -> list[list[Any]]:
    """The ``count`` largest nonpaged pool tags at ``t``, as the collector's pool table rows."""
    table = sorted(host.pool_tags(t).items(), key=lambda item: -item[1][0])[:count]
    return [[tag, size, allocations] for tag, (size, allocations) in table]
