"""The lab's answer to the collector script (``scripts/collect.ps1``), read from the host model.

It answers the query it is given, only the sections the query names, in
exactly the raw shape the real script prints, so the controller parses lab and real hosts
with the same code. Samples are taken at host times ``now + i * interval``;
the answer is delayed (in real seconds) until the last of them has passed.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..psdata import FRAME_SENTINEL
from .api import CommandResult
from ..instants import iso
from .host import HostModel
from .registration import CBS

_ARCH = {"x86": "x86", "x64": "AMD64", "ia64": "IA64"}
_CBS_PACKAGES = CBS + "\\Packages\\"
_ANSWER_KEY = {"cbs_prefixes": "cbs", "indicators": "samples"}  # query section -> its key in the answer
_GARBLED = b"@@WINREMEDY@@{\"script\": \"collect\", \"os\": {\"caption\": \"Microsoft Windows\xff\xfe"


def answer(host: HostModel, query: dict[str, Any]) -> CommandResult:
    """What collect.ps1 would print on this host for ``query``."""
    if host.spec.faults.garbled:
        return CommandResult(_GARBLED, b"", 0)
    count = max(1, int(query.get("samples", 1)))
    interval = float(query.get("interval", 0.0))
    now = host.clock.now()
    times = [now + i * interval for i in range(count)]
    text = FRAME_SENTINEL + json.dumps(result(host, query, times), ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0, delay=host.clock.to_real(times[-1] - now))


def result(host: HostModel, query: dict[str, Any], times: list[float]) -> dict[str, Any]:
    """The raw answer to ``query`` with samples at host ``times`` (the last one is when it is collected)."""
    raw: dict[str, Any] = {
        "script": "collect",
        "errors": [],
        "powershell_version": host.spec.powershell,
        "clr_version": host.clr_version,
    }
    sections: dict[str, Callable[[], Any]] = {
        "files": lambda: {path: _file_version(host, path) for path in query["files"]},
        "registry_values": lambda: {path: host.registry.get(path) for path in query["registry_values"]},
        "registry_keys": lambda: {path: _key_exists(host, path) for path in query["registry_keys"]},
        "cbs_prefixes": lambda: _cbs(host, query["cbs_prefixes"]),
        "services": lambda: _services(host, query),
        "processes": lambda: _processes(host, query["processes"]),
        "indicators": lambda: _samples(host, query["indicators"], times),
        "recorded": lambda: _read_and_clear(host, query["recorded"]),
    }
    if query.get("os"):
        raw["os"] = _os(host)
    if query.get("qfe"):
        raw["qfe"] = [{"id": row.hotfix_id, "sp_in_effect": row.service_pack_in_effect or None,
                          "installed_on": row.installed_on or None, "description": row.description}
                         for row in host.qfe()]
    for section, read in sections.items():
        if section in query:
            raw[_ANSWER_KEY.get(section, section)] = read()
    if query.get("indicators") and query.get("pool_table"):
        raw["pool_tags"] = [[t, _top_tags(host, t, int(query["pool_table"]))] for t in times]
    raw["collected_at"] = iso(times[-1])
    return raw


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


# --- the on-host sampler's recorder: this script run by a scheduled task, in host time ----------------------


@dataclass
class Recorder:
    """An installed on-host sampler (``lab.sampler`` installs it): the recorder's query and its schedule.

    Nothing ticks: when an audit reads the samples file, the lines the task
    would have appended since the last read are computed then, each at its own
    host time (install time + k periods), exactly as the recorder writes them
    (one answer per line): the newest ``keep``, none from before the host's
    current boot (the model knows the counters of the current boot only; the
    controller leaves earlier ones out in any case).
    """

    query: dict[str, Any]  # the recorder's collector query, 'record' included
    period: float  # host seconds between runs
    start: float  # host time of the first run (install)
    read_until: float  # host time of the last read: later runs wait in the file

    def runs(self, host: HostModel) -> list[float]:
        """Host times of the runs whose lines are in the file now."""
        since = max(self.read_until, host.boot_time - 1e-9)
        first = max(0, math.floor((since - self.start) / self.period) + 1)
        last = math.floor((host.clock.now() - self.start) / self.period)
        keep = int(self.query["record"]["keep"])
        return [self.start + k * self.period for k in range(max(first, last + 1 - keep), last + 1)]


RECORDERS: weakref.WeakKeyDictionary[HostModel, Recorder] = weakref.WeakKeyDictionary()


def _read_and_clear(host: HostModel, path: str) -> list[str]:
    """The lines of the samples file at ``path`` now, then an empty file (the 'recorded' section)."""
    recorder = RECORDERS.get(host)
    if recorder is None or path.lower() != str(recorder.query["record"]["path"]).lower():
        return []
    runs = recorder.runs(host)
    recorder.read_until = host.clock.now()
    return [json.dumps(result(host, recorder.query, [t]), ensure_ascii=True, separators=(",", ":")) for t in runs]


def _top_tags(host: HostModel, t: float, count: int) -> list[list[Any]]:
    """The ``count`` largest nonpaged pool tags at ``t``, as the collector's pool table rows."""
    table = sorted(host.pool_tags(t).items(), key=lambda item: -item[1][0])[:count]
    return [[tag, size, allocations] for tag, (size, allocations) in table]
