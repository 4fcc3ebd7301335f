"""The audit of a host without PowerShell: collect.ps1's query answered with cmd.exe and stock 2003 SP1 tools.

Windows Management Framework 2.0 (KB968930) needs Service Pack 2 on Server 2003 and Server 2008 Server Core
has no .NET, so such hosts answer ``powershell`` with cmd.exe's 9009 "not recognized" (MSG_DIR_BAD_COMMAND_OR_FILE).
Their audit takes two commands: ``set`` with the services (the environment expands the query's ``%SystemRoot%``
paths for WQL; ``sc queryex``/``sc qc`` give each named service's state, process id and image, and ``tasklist
/svc`` the services hosted by a product's image: both ask the service control manager, not WMI, so they answer
before wmic's first run and where WMI is broken), then everything else in as few command lines as cmd.exe's 8,191
characters allow (KB830473), with the samples spaced on the host by ``ping -n N+1 127.0.0.1`` (about N seconds).
wmic stays where only WMI has the figure (file versions, QFE rows, private bytes, the nonpaged pool, the clock).
When ``wmic os`` answers nothing (wmic's first run can fail on a host; WMI can be broken), ``systeminfo`` is the
last resort for the OS, its boot time and its hotfixes, in one more command. Each tool's output follows an
``echo`` marker; everything is parsed here, into the raw shape collect.ps1 prints, so
:func:`.collector.facts_from_raw` reads both the same way.

What cmd.exe cannot see is named in the facts: pool tags (they need NtQuerySystemInformation) are
``unavailable`` indicators with that reason, never zeros.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from ..errors import FactsError, ProtocolError
from ..offline.reader import parse_facts_text
from ..transport.base import Result
from . import cmdtools
from .collector import facts_from_raw
from .facts import HostFacts

MAX_COMMAND_LINE = 8191  # cmd.exe on XP / Server 2003 and later (KB830473)
MARKER = "@@WRC"
WITHOUT_POWERSHELL = "audited without PowerShell (cmd.exe path)"
POOL_TAG_UNAVAILABLE = "pool tags cannot be read from cmd.exe (they need NtQuerySystemInformation)"
_SEPARATOR = " & "
_OS_FIELDS = "Caption,CSDVersion,LastBootUpTime,LocalDateTime,ProductType,ServicePackMajorVersion,Version"
_PROCESS_FIELDS = "HandleCount,Name,PrivatePageCount,ProcessId,WorkingSetSize"
_METRICS = {"private_bytes": "PrivatePageCount", "working_set": "WorkingSetSize", "handles": "HandleCount"}
_ENV_RE = re.compile(r"%([^%]+)%")
SERVICE_PROCESSES = "tasklist /svc /fo csv /nh"
CLOCK = "wmic os get LocalDateTime /format:list"

RunLine = Callable[[str], Result]
T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    """One tool run whose output lands under its own marker: what it reads (``kind``) and for which item."""

    kind: str  # os, file, value, key, qfe, time, processes, pool
    item: str
    command: str


def collect(run_line: RunLine, query: dict[str, Any], *, host: str) -> HostFacts:
    """Run the cmd.exe audit on ``host`` (``run_line`` runs one cmd.exe line) and read it as HostFacts."""
    first = _run(run_line, [Section("env", "", "set"), Section("tasks", "", SERVICE_PROCESSES),
                            *(Section(kind, name, f"sc {verb} {name}") for name in query.get("services", [])
                              for kind, verb in (("sc", "queryex"), ("sc_config", "qc")))], host)
    env = cmdtools.environment(first[0][1])
    services = _read(host, "service control manager", lambda: _services(first[1:], query))
    sections = build_sections(query, env, services)
    outputs: list[tuple[Section, str]] = []
    for line in pack(sections):
        outputs += _run(run_line, line, host)
    raw = read_sections(outputs, query, env, services, host=host)
    if "os" not in raw:
        _from_systeminfo(run_line, raw, env, host)
    facts = facts_from_raw(raw, host=host)
    facts.notes.insert(0, WITHOUT_POWERSHELL)
    return facts


def build_sections(query: dict[str, Any], env: dict[str, str], services: dict[str, Any]) -> list[Section]:
    """The tool runs answering ``query``, in order; the samples last, ``ping`` waits between them."""
    sections = [Section("os", "", f"wmic os get {_OS_FIELDS} /format:list")]
    sections += [Section("file", path, f'wmic datafile where "name=\'{_wql(expand(path, env))}\'" get Version '
                                       "/format:list 2>nul") for path in query.get("files", [])]
    for path in query.get("registry_values", []):
        key, _, name = path.rpartition("\\")
        sections.append(Section("value", path, f'reg query "{key}" /v "{name}" 2>nul'))
    sections += [Section("key", key, f'reg query "{key}" 2>nul') for key in query.get("registry_keys", [])]
    sections.append(Section("qfe", "", "wmic qfe get Description,HotFixID,InstalledOn,ServicePackInEffect "
                                       "/format:list"))
    where = _process_filter(query, services)
    counters = any(i["kind"] == "counter" for i in query.get("indicators", []))
    count, interval = max(1, int(query.get("samples", 1))), float(query.get("interval", 0.0))
    for index in range(count):
        if index:
            sections.append(Section("wait", "", f"ping -n {max(1, round(interval)) + 1} 127.0.0.1 >nul"))
        sections.append(Section("time", str(index), "wmic os get LocalDateTime /format:list"))
        if where:
            sections.append(Section("processes", str(index),
                                    f'wmic process where "{where}" get {_PROCESS_FIELDS} /format:list 2>nul'))
        if counters:
            sections.append(Section("pool", str(index), "wmic path Win32_PerfRawData_PerfOS_Memory get "
                                                        "PoolNonpagedBytes /format:list"))
    return sections


def pack(sections: Sequence[Section], limit: int = MAX_COMMAND_LINE) -> list[list[Section]]:
    """Sections grouped into as few command lines as fit ``limit``, in order (samples stay one line when they fit)."""
    lines: list[list[Section]] = []
    length = 0
    for section in sections:
        size = len(_command(section)) + len(_SEPARATOR)
        if size > limit:
            raise ValueError(f"one tool command does not fit a command line: {section.command[:80]}")
        if not lines or length + size > limit:
            lines.append([])
            length = 0
        lines[-1].append(section)
        length += size
    return lines


def read_sections(outputs: Sequence[tuple[Section, str]], query: dict[str, Any], env: dict[str, str],
                  services: dict[str, Any], *, host: str) -> dict[str, Any]:
    """The tools' outputs as collect.ps1's raw answer."""
    raw: dict[str, Any] = {"script": "collect", "errors": [], "powershell_version": None, "clr_version": None,
                           "files": {}, "registry_values": {}, "registry_keys": {}, "cbs": [], "qfe": [],
                           "services": services, "processes": {}, "samples": {}}
    times: dict[str, float] = {}
    snapshots: dict[str, list[dict[str, str]]] = {}
    pools: dict[str, float] = {}
    for section, text in outputs:
        tool = section.command.split(None, 1)[0]
        try:
            _read_one(section, text, raw, env, times, snapshots, pools)
        except (ValueError, KeyError, IndexError) as exc:
            raise ProtocolError(f"{host}: {tool} ({section.kind} {section.item}): cannot read its output: {exc}") \
                from None
    _samples(raw, query, services, times, snapshots, pools)
    last = snapshots[max(snapshots, key=int)] if snapshots else []
    raw["processes"] = {name: [_metrics(p) for p in last if p.get("Name", "").lower() == name.lower()]
                        for name in query.get("processes", [])}
    if "PROCESSOR_ARCHITEW6432" in env:
        raw["errors"].append("cmd.exe runs as a 32-bit process on x64: reg.exe read the 32-bit registry view "
                             "(Wow6432Node, KB896459)")
    return raw


def _read_one(section: Section, text: str, raw: dict[str, Any], env: dict[str, str], times: dict[str, float],
              snapshots: dict[str, list[dict[str, str]]], pools: dict[str, float]) -> None:
    kind, item = section.kind, section.item
    if kind == "os":
        records = cmdtools.wmic_records(text)
        if records:  # none: wmic failed (its first run, or WMI): systeminfo is asked next
            raw["os"] = _os(records, env)
            raw["collected_at"] = cmdtools.cim_datetime(records[0]["LocalDateTime"]).isoformat()
    elif kind == "file":
        records = cmdtools.wmic_records(text)
        raw["files"][item] = cmdtools.file_version(records[0]["Version"]) if records else None
    elif kind == "value":
        values = {name.lower(): value for name, value in cmdtools.reg_values(text).items()}
        raw["registry_values"][item] = values.get(item.rpartition("\\")[2].lower())
    elif kind == "key":
        raw["registry_keys"][item] = bool(text.strip())
    elif kind == "qfe":
        raw["qfe"] = [{"id": r.get("HotFixID", ""), "sp_in_effect": r.get("ServicePackInEffect") or None,
                       "installed_on": r.get("InstalledOn") or None, "description": r.get("Description")}
                      for r in cmdtools.wmic_records(text)]
    elif kind == "time":
        times[item] = cmdtools.cim_datetime(cmdtools.wmic_records(text)[0]["LocalDateTime"]).timestamp()
    elif kind == "processes":
        snapshots[item] = cmdtools.wmic_records(text)
    elif kind == "pool":
        pools[item] = float(cmdtools.wmic_records(text)[0]["PoolNonpagedBytes"])


def _samples(raw: dict[str, Any], query: dict[str, Any], services: dict[str, Any], times: dict[str, float],
             snapshots: dict[str, list[dict[str, str]]], pools: dict[str, float]) -> None:
    for indicator in query.get("indicators", []):
        kind, target, ident = indicator["kind"], indicator["target"], indicator["id"]
        if kind == "pool_tag":
            raw["errors"].append(f"indicator {ident} unavailable: {POOL_TAG_UNAVAILABLE}")
            continue
        points = []
        for index, t in sorted(times.items(), key=lambda kv: int(kv[0])):
            if kind == "counter":
                value: float | None = pools.get(index)
            else:
                value = _process_total(snapshots.get(index, []), kind, target, indicator["metric"], services)
            if value is not None:
                points.append([t, value])
        if points:
            raw["samples"][ident] = points


def _process_total(processes: list[dict[str, str]], kind: str, target: str, metric: str,
                   services: dict[str, Any]) -> float | None:
    if kind == "service_process":
        pid = str(_service(services, target).get("pid") or "")
        chosen = [p for p in processes if pid and p.get("ProcessId") == pid]
    else:
        chosen = [p for p in processes if p.get("Name", "").lower() == target.lower()]
    return float(sum(int(p[_METRICS[metric]]) for p in chosen)) if chosen else None


def _process_filter(query: dict[str, Any], services: dict[str, Any]) -> str:
    names = {*query.get("processes", []),
             *(i["target"] for i in query.get("indicators", []) if i["kind"] == "process")}
    pids = {str(_service(services, i["target"])["pid"]) for i in query.get("indicators", [])
            if i["kind"] == "service_process" and _service(services, i["target"]).get("pid")}
    clauses = [f"name='{_wql(name)}'" for name in sorted(names)] + [f"processid={pid}" for pid in sorted(pids)]
    return " or ".join(clauses)


def _services(outputs: Sequence[tuple[Section, str]], query: dict[str, Any]) -> dict[str, Any]:
    """The services the query names (``sc queryex`` and ``sc qc``), and those hosted by an image it names
    (``tasklist /svc``), as collect.ps1 reports them."""
    status = {s.item: cmdtools.sc_records(text) for s, text in outputs if s.kind == "sc"}
    config = {s.item: cmdtools.sc_records(text) for s, text in outputs if s.kind == "sc_config"}
    found: dict[str, Any] = {}
    for name, records in status.items():
        for record in records:
            path = next((c.get("BINARY_PATH_NAME", "") for c in config.get(name, [])), "")
            state = cmdtools.sc_state(record["STATE"])
            found[record["SERVICE_NAME"]] = {"pid": int(record.get("PID") or 0) if state == "Running" else 0,
                                             "state": state, "path": path}
    images = {image.lower() for image in query.get("service_images", [])}
    for image, pid, hosted in (row[:3] for s, text in outputs if s.kind == "tasks"
                               for row in cmdtools.tasklist_rows(text)):
        if image.lower() in images:
            for name in (n for n in hosted.split(",") if n and n != "N/A"):
                found.setdefault(name, {"pid": int(pid), "state": "Running", "path": image})
    return found


def _service(services: dict[str, Any], name: str) -> dict[str, Any]:
    """A service by name as Windows matches it, without regard to case."""
    return next((v for k, v in services.items() if k.lower() == name.lower()), {})


def _from_systeminfo(run_line: RunLine, raw: dict[str, Any], env: dict[str, str], host: str) -> None:
    """``wmic os`` answered nothing: the OS, boot time and hotfixes from ``systeminfo`` (English or localized),
    with the host's clock read just before and after it to place the boot time (2003 prints only the uptime,
    read somewhere during systeminfo's run of a few seconds; later versions the local boot time, no offset)."""
    outputs = _run(run_line, [Section("time", "before", CLOCK), Section("systeminfo", "", "systeminfo"),
                              Section("time", "after", CLOCK)], host)
    text = outputs[1][1]
    try:
        [facts] = parse_facts_text(text, f"{host}: systeminfo")
    except (FactsError, ValueError) as exc:
        raise ProtocolError(f"{host}: wmic os answered nothing and systeminfo cannot be read: {exc}") from None
    if facts.os is None:
        raise ProtocolError(f"{host}: wmic os answered nothing and systeminfo names no OS")
    stamps = [_stamp(host, outputs[0][1]), _stamp(host, outputs[2][1])]
    raw["os"] = {"caption": facts.os.caption, "version": facts.os.version, "csd_version": facts.os.csd_version,
                 "sp": facts.os.sp, "product_type": facts.os.product_type, "processor_architecture": _architecture(env),
                 "boot_time": _read(host, "wmic os (clock)", lambda: _boot_time(text, facts.boot_time, stamps))}
    if all(stamps):
        raw.setdefault("collected_at", cmdtools.cim_datetime(stamps[1]).isoformat())
    known = {row["id"].lower() for row in raw["qfe"]}
    raw["qfe"] += [{"id": fix.kb or fix.id, "sp_in_effect": None, "installed_on": None, "description": None}
                   for fix in facts.hotfixes or [] if (fix.kb or fix.id).lower() not in known]
    raw["errors"].append("wmic os answered nothing: the OS, boot time and hotfixes are systeminfo's")
    # The reader's own boot time notes speak of a saved file, whose moment is unknown; here the clock places it.
    raw["errors"] += [f"systeminfo: {note}" for note in facts.notes if "boot time" not in note]
    if raw["os"]["boot_time"] is None:
        raw["errors"].append("boot time unknown: systeminfo gives none that can be placed in UTC")


def _stamp(host: str, text: str) -> str:
    """The CIM DATETIME of ``wmic os get LocalDateTime``; empty when wmic answered nothing."""
    records = _read(host, "wmic os (clock)", lambda: cmdtools.wmic_records(text))
    return records[0].get("LocalDateTime", "") if records else ""


def _boot_time(text: str, local_boot: str | None, stamps: list[str]) -> str | None:
    """UTC boot time from 2003's uptime (taken at the middle of the two clock readings around systeminfo) or a
    later Windows' local boot time (placed by the clock's UTC offset)."""
    if not all(stamps):
        return None
    before, after = (cmdtools.cim_datetime(stamp) for stamp in stamps)
    uptime = cmdtools.uptime_seconds(text)
    if uptime is not None:
        return (before + (after - before) / 2 - timedelta(seconds=uptime)).replace(microsecond=0).isoformat()
    if local_boot is None:
        return None
    offset = timedelta(minutes=int(stamps[1].strip()[-4:]))
    return (datetime.fromisoformat(local_boot) - offset).replace(tzinfo=timezone.utc).isoformat()


def _architecture(env: dict[str, str]) -> str | None:
    # A 32-bit cmd.exe on x64 sees PROCESSOR_ARCHITECTURE=x86 and the machine's in PROCESSOR_ARCHITEW6432.
    return env.get("PROCESSOR_ARCHITEW6432") or env.get("PROCESSOR_ARCHITECTURE")


def _os(records: list[dict[str, str]], env: dict[str, str]) -> dict[str, Any]:
    if len(records) != 1:
        raise ValueError(f"expected one operating system, got {len(records)}")
    record = records[0]
    return {
        "caption": record["Caption"].strip(), "version": record["Version"].strip(),
        "csd_version": record.get("CSDVersion") or None, "sp": int(record.get("ServicePackMajorVersion") or 0),
        "product_type": int(record["ProductType"]),
        "processor_architecture": _architecture(env),
        "boot_time": cmdtools.cim_datetime(record["LastBootUpTime"]).isoformat(),
    }


def _metrics(process: dict[str, str]) -> dict[str, Any]:
    return {"pid": int(process["ProcessId"]), "private_bytes": int(process["PrivatePageCount"]),
            "working_set": int(process["WorkingSetSize"]), "handles": int(process["HandleCount"])}


def _read(host: str, tool: str, reader: Callable[[], T]) -> T:
    """``reader()``, its ValueError an error naming the host and the tool."""
    try:
        return reader()
    except (ValueError, KeyError, IndexError) as exc:
        raise ProtocolError(f"{host}: {tool}: cannot read its output: {exc}") from None


def expand(path: str, env: dict[str, str]) -> str:
    """``%SystemRoot%\\...`` with the host's environment; an unknown variable stays as cmd.exe leaves it."""
    return _ENV_RE.sub(lambda m: env.get(m.group(1).upper(), m.group(0)), path)


def _wql(text: str) -> str:
    """A WQL string literal's body: backslashes and quotes escaped (WQL treats the backslash as an escape)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _command(section: Section) -> str:
    return f"echo {MARKER} {section.kind}{_SEPARATOR}{section.command}"


def _run(run_line: RunLine, sections: Sequence[Section], host: str) -> list[tuple[Section, str]]:
    """Run ``sections`` as one command line; each section's output, split at the markers."""
    result = run_line(_SEPARATOR.join(_command(s) for s in sections))
    try:
        text = cmdtools.decode(result.stdout, result.encoding)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{host}: cmd.exe: output is neither UTF-16LE nor the console code page: {exc}") from None
    parts = re.split(rf"(?m)^{MARKER} \S+ *\n?", text)
    if len(parts) != len(sections) + 1:
        first = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise ProtocolError(f"{host}: cmd.exe: expected {len(sections)} tool outputs, got {len(parts) - 1} "
                            f"(exit code {result.rc}{': ' + first[0] if first else ''})")
    return list(zip(sections, parts[1:], strict=True))
