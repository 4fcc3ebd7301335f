"""The stock command-line tools of a host without PowerShell, answered from the host model.

``set``, ``reg query``, ``wmic`` (os, datafile, service, process, qfe, path Win32_PerfRawData_PerfOS_Memory),
``sc query|queryex|qc``, ``tasklist [/svc] [/fi ...] [/fo csv|table] [/nh]``, ``net start|stop``, ``ping``,
``type``, ``mkdir``, ``certutil -decode|-hashfile`` and ``schtasks`` print what these tools print on the host's
Windows version (``ver`` and the other built-ins are :mod:`.cmdline`'s): on 2003 reg.exe 3.0's ``! REG.EXE VERSION 3.0`` banner and tab separators (PowerShell-Docs
registry sample), four spaces later; wmic's ``\\r\\r\\n`` line ends and, on its first run on a host, "Please
wait while WMIC is being installed." (public batch scripts prime it for that reason). ``ping -n N`` waits
about N-1 seconds and moves the instant the later tools of the same command line read
(:attr:`HostModel.shell_elapsed`). Anything else is not answered here (cmd.exe's 9009).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import acltools
from .api import CommandResult
from .dynamics import NONPAGED_POOL
from .filesystem import ADMINISTRATORS, Security
from .host import HostModel, ScheduledTask
from .probe import wsmsvc_version
from .schtasks import EXIT_REFUSED, StartRefused, start_of
from .stage import read_share
from .tokens import split as _split
from .tokens import unquote as _unquote

_ARCH = {"x86": "x86", "x64": "AMD64", "ia64": "IA64"}
_WMIC_BANNER = "Please wait while WMIC is being installed.\r\n"
_WMIC_PRIMED = "%SystemRoot%\\system32\\wbem\\wmic.primed"  # the lab's mark that wmic ran once on this host
_REG_MISSING = "ERROR: The system was unable to find the specified registry key or value.\r\n"
_IDLE_NONPAGED_POOL = 48 * 1024 * 1024
_WSMSVC = "%SystemRoot%\\System32\\wsmsvc.dll"  # the WinRM service's file, whose version names WinRM's


def environment(host: HostModel) -> dict[str, str]:
    """The variables ``set`` prints (a 64-bit cmd.exe: no PROCESSOR_ARCHITEW6432)."""
    root = host.spec.system_root
    return {"ComSpec": f"{root}\\system32\\cmd.exe", "PROCESSOR_ARCHITECTURE": _ARCH[host.profile.arch],
            "ProgramFiles": "C:\\Program Files", "SystemDrive": root[:2], "SystemRoot": root, "windir": root}


def expand(host: HostModel, text: str) -> str:
    """``%NAME%`` and ``%NAME:old=new%`` (``old`` replaced without regard to case, as set /? describes cmd.exe's
    "Environment variable substitution"); an unknown variable stays as it is."""
    env = {k.lower(): v for k, v in environment(host).items()}

    def one(match: re.Match[str]) -> str:
        name, edit, change = match.group(1).partition(":")
        value = env.get(name.lower())
        if value is None or (edit and "=" not in change):
            return match.group(0)
        old, _, new = change.partition("=")
        return re.sub(re.escape(old), lambda _: new, value, flags=re.IGNORECASE) if old else value
    return re.sub(r"%([^%]+)%", one, text)


def _now(host: HostModel) -> float:
    return host.clock.now() + host.shell_elapsed


def _ok(text: str) -> CommandResult:
    return CommandResult(text.encode("cp437", errors="replace"), b"", 0)


def _set(host: HostModel, _: str) -> CommandResult:
    return _ok("".join(f"{k}={v}\r\n" for k, v in sorted(environment(host).items(), key=lambda kv: kv[0].upper())))


def _ping(host: HostModel, line: str) -> CommandResult:
    match = re.search(r"(?i)-n\s+(\d+)", line)
    seconds = max(0, int(match.group(1)) - 1) if match else 3
    host.shell_elapsed += seconds
    return CommandResult(b"", b"", 0, delay=host.clock.to_real(seconds))


# --- reg.exe ---------------------------------------------------------------------------------------


def _reg(host: HostModel, line: str) -> CommandResult:
    tokens = [_unquote(t) for t in _split(line)]
    if len(tokens) < 3 or tokens[1].lower() != "query":
        return CommandResult(b"", b"ERROR: Invalid syntax.\r\n", 1)
    key = tokens[2].rstrip("\\")
    name = tokens[tokens.index("/v") + 1] if "/v" in [t.lower() for t in tokens] else None
    prefix = key.lower() + "\\"
    below = {path[len(prefix):]: value for path, value in host.registry.items() if path.lower().startswith(prefix)}
    values = {n: v for n, v in below.items() if "\\" not in n and v is not True}
    if name is not None:
        values = {n: v for n, v in values.items() if n.lower() == name.lower()}
    if not below or (name is not None and not values):
        return CommandResult(b"", _REG_MISSING.encode("ascii"), 1)
    full = key.replace("HKLM\\", "HKEY_LOCAL_MACHINE\\", 1)
    sep = "\t" if host.profile.is_2003 else "    "
    rows = [f"    {n}{sep}{_reg_type(v)}{sep}{_reg_text(v)}" for n, v in values.items()]
    if name is None:
        rows += sorted({f"{full}\\{n.split(chr(92))[0]}" for n in below if "\\" in n})
    head = ["", "! REG.EXE VERSION 3.0", "", full] if host.profile.is_2003 else ["", full]
    return _ok("\r\n".join([*head, *rows, "", ""]))


def _reg_type(value: Any) -> str:
    return "REG_DWORD" if isinstance(value, int) else "REG_MULTI_SZ" if isinstance(value, list) else "REG_SZ"


def _reg_text(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return f"0x{int(value):x}"
    if isinstance(value, list):
        return "\\0".join(str(v) for v in value) + "\\0\\0"
    return str(value)


# --- wmic --------------------------------------------------------------------------------------------


def _wmic(host: HostModel, line: str) -> CommandResult:
    line = expand(host, line)  # cmd.exe expands the variables before wmic runs
    banner = ""
    if not host.fs.exists(_WMIC_PRIMED):
        host.fs.write(_WMIC_PRIMED, b"")
        banner = _WMIC_BANNER
        if host.spec.faults.wmic_first_run_fails:  # ASSUMED shape: the banner, then nothing but an exit code
            return CommandResult(banner.encode("ascii"), b"", 1)
    alias = (_split(line) + ["", ""])[1].lower()
    klass = (_split(line) + ["", "", ""])[2].lower() if alias == "path" else alias
    reader = _WMIC_CLASSES.get(klass)
    if reader is None:
        return CommandResult(banner.encode("ascii"), f"{alias} - Alias not found.\r\n".encode("ascii"), 44135)
    records = reader(host, _where(line))
    if not records:
        return CommandResult(banner.encode("ascii"), b"No Instance(s) Available.\r\n", 0)
    fields = re.search(r"(?i)\bget\s+(\S+)", line)
    names = fields.group(1).split(",") if fields else sorted(records[0])
    text = "".join("\r\r\n\r\r\n" + "".join(f"{n}={r.get(n, '')}\r\r\n" for n in names) for r in records)
    return _ok(banner + text + "\r\r\n\r\r\n")


def _where(line: str) -> str:
    match = re.search(r'(?i)\bwhere\s+"([^"]*)"', line)
    return match.group(1) if match else ""


def _cim(host: HostModel, t: float) -> str:
    """A CIM DATETIME: the host's local time and its offset in minutes (``20240301010000.000000+060``)."""
    local = datetime.fromtimestamp(t, ZoneInfo(host.spec.timezone))
    offset = local.utcoffset()
    return local.strftime("%Y%m%d%H%M%S.%f") + f"{int(offset.total_seconds() // 60) if offset else 0:+04d}"


def _os(host: HostModel, _: str) -> list[dict[str, Any]]:
    info = host.profile.os_info()
    return [{"Caption": info.caption, "CSDVersion": info.csd_version or "", "LastBootUpTime": _cim(host, host.boot_time),
             "LocalDateTime": _cim(host, _now(host)), "ProductType": info.product_type,
             "ServicePackMajorVersion": info.sp, "Version": info.version}]


def _datafile(host: HostModel, where: str) -> list[dict[str, Any]]:
    match = re.search(r"(?i)name='((?:[^'\\]|\\.)*)'", where)
    wanted = re.sub(r"\\(.)", r"\1", match.group(1)).lower() if match else ""
    files = {**host.files, _WSMSVC: wsmsvc_version(host)}
    return [{"Version": version} for path, version in files.items() if expand(host, path).lower() == wanted]


def _service(host: HostModel, _: str) -> list[dict[str, Any]]:
    rows = []
    for service in host.services.values():
        process = host.processes.get(service.process)
        rows.append({"Name": service.name, "PathName": process.command_line if process else "",
                     "ProcessId": host.service_pid(service), "State": service.state})
    return rows


def _process(host: HostModel, where: str) -> list[dict[str, Any]]:
    names = {n.lower() for n in re.findall(r"(?i)name='([^']*)'", where)}
    pids = {int(p) for p in re.findall(r"(?i)processid=(\d+)", where)}
    return [{"HandleCount": p.handles, "Name": p.name, "PrivatePageCount": p.private_bytes, "ProcessId": p.pid,
             "WorkingSetSize": p.working_set}
            for p in host.process_snapshot(_now(host)) if not where or p.name.lower() in names or p.pid in pids]


def _qfe(host: HostModel, _: str) -> list[dict[str, Any]]:
    return [{"Description": r.description, "HotFixID": r.hotfix_id, "InstalledOn": r.installed_on,
             "ServicePackInEffect": r.service_pack_in_effect} for r in host.qfe()]


def _memory(host: HostModel, _: str) -> list[dict[str, Any]]:
    has_pool = NONPAGED_POOL in host.indicators.names
    return [{"PoolNonpagedBytes": host.indicator(NONPAGED_POOL, _now(host)) if has_pool else _IDLE_NONPAGED_POOL}]


def _logical_disk(host: HostModel, where: str) -> list[dict[str, Any]]:
    """Win32_LogicalDisk of the one drive the host has, Windows' own (``DeviceID='C:'``): FreeSpace in bytes."""
    drive = host.spec.system_root[:2].upper()
    match = re.search(r"(?i)deviceid='([^']*)'", where)
    if match and match.group(1).upper() != drive:
        return []
    return [{"DeviceID": drive, "FreeSpace": int(host.free_disk)}]


_WMIC_CLASSES: dict[str, Callable[[HostModel, str], list[dict[str, Any]]]] = {
    "os": _os, "datafile": _datafile, "service": _service, "process": _process, "qfe": _qfe,
    "logicaldisk": _logical_disk, "win32_logicaldisk": _logical_disk,
    "win32_perfrawdata_perfos_memory": _memory, "win32_account": acltools.accounts,
}


# --- services ----------------------------------------------------------------------------------------


def _net(host: HostModel, line: str) -> CommandResult:
    tokens = [_unquote(t) for t in _split(line)]
    verb, name = (tokens + ["", ""])[1].lower(), " ".join(tokens[2:])
    service = next((s for s in host.services.values() if name.lower() in (s.name.lower(), s.display_name.lower())),
                   None)
    if verb not in ("start", "stop") or service is None:
        return CommandResult(b"", b"The service name is invalid.\r\n", 2)
    if verb == "stop":
        if service.state != "Running":  # NERR_ServiceNotStarted (3521), errorlevel 2 as every net failure
            return CommandResult(b"", f"The {service.display_name} service is not started.\r\n\r\nMore help is "
                                      "available by typing NET HELPMSG 3521.\r\n\r\n".encode("ascii"), 2)
        host.services[service.name] = dataclasses.replace(service, state="Stopped")
        return _ok(f"The {service.display_name} service was stopped successfully.\r\n\r\n")
    if service.state == "Running":
        return CommandResult(b"", b"The requested service has already been started.\r\n", 2)
    host.services[service.name] = dataclasses.replace(service, state="Running")
    host.restart_service(service.name)
    host.counters.service_restarts += 1  # a stop then a start: the service restarted
    return _ok(f"The {service.display_name} service was started successfully.\r\n\r\n")


# --- systeminfo ----------------------------------------------------------------------------------------
# Its /FO LIST shape as real captures show it (WES-NG's validation set): labels padded to one value column;
# Windows 2003 prints "System Up Time: 0 Days, 5 Hours, 1 Minutes, 50 Seconds", Vista and later "System Boot
# Time: 3/4/2019, 8:42:38 AM"; hotfixes as "[01]: KB903927 - Update" rows. English (en-US dates) only here.


def _zone_line(host: HostModel, now: float) -> str:
    """``(GMT+01:00) Europe/Berlin`` on 2003, ``(UTC+01:00) ...`` later: the standard offset as Windows names a
    zone, and here its IANA name in place of Windows' city list."""
    zone = ZoneInfo(host.spec.timezone)
    local = datetime.fromtimestamp(now, zone)
    standard = (local.utcoffset() or timedelta()) - (local.dst() or timedelta())
    minutes = int(standard.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    prefix = "GMT" if host.profile.is_2003 else "UTC"
    return f"({prefix}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {host.spec.timezone}"


def _systeminfo(host: HostModel, _: str) -> CommandResult:
    info, now = host.profile.os_info(), _now(host)
    configuration = {1: "Standalone Workstation", 2: "Primary Domain Controller"}.get(info.product_type or 3,
                                                                                     "Standalone Server")
    version = f"{info.version} {info.csd_version or 'N/A'} Build {info.build}"
    if host.profile.is_2003:
        up = int(now - host.boot_time)
        boot = ("System Up Time", f"{up // 86400} Days, {up % 86400 // 3600} Hours, {up % 3600 // 60} Minutes, "
                                  f"{up % 60} Seconds")
    else:  # the host's local time, as its clock shows it, with no offset (the "Time Zone" line names the zone)
        booted = datetime.fromtimestamp(host.boot_time, ZoneInfo(host.spec.timezone))
        boot = ("System Boot Time", f"{booted.month}/{booted.day}/{booted.year}, {booted:%I:%M:%S %p}".replace(
            ", 0", ", ", 1))
    root = host.spec.system_root
    fields = [("Host Name", host.name.upper()), ("OS Name", info.caption), ("OS Version", version),
              ("OS Manufacturer", "Microsoft Corporation"), ("OS Configuration", configuration),
              ("OS Build Type", "Multiprocessor Free"), ("Registered Owner", "Administrator"),
              ("Registered Organization", ""), ("Product ID", "69712-641-3792491-45378"),
              ("Original Install Date", "4/23/2014, 10:51:23 PM"), boot,
              ("System Manufacturer", "VMware, Inc."), ("System Model", "VMware Virtual Platform"),
              ("System Type", "x64-based PC" if host.profile.arch == "x64" else "X86-based PC"),
              ("Processor(s)", "1 Processor(s) Installed."), ("BIOS Version", "INTEL  - 6040000"),
              ("Windows Directory", root), ("System Directory", f"{root}\\system32"),
              ("Boot Device", "\\Device\\HarddiskVolume1"), ("System Locale", "en-us;English (United States)"),
              ("Input Locale", "en-us;English (United States)"), ("Time Zone", _zone_line(host, now)),
              ("Total Physical Memory", "4,095 MB"), ("Available Physical Memory", "2,048 MB"),
              ("Page File: Max Size", "6,143 MB"), ("Page File: Available", "4,096 MB"),
              ("Page File: In Use", "2,047 MB"), ("Page File Location(s)", "C:\\pagefile.sys"),
              ("Domain", "WORKGROUP"), ("Logon Server", f"\\\\{host.name.upper()}")]
    rows = [f"{label + ':':<27}{value}".rstrip() for label, value in fields]
    rows.insert(15, f"{'':27}[01]: x86 Family 6 Model 14 Stepping 3 GenuineIntel ~2496 Mhz")
    fixes = host.qfe()
    rows.append(f"{'Hotfix(s):':<27}{len(fixes)} Hotfix(s) Installed." if fixes else f"{'Hotfix(s):':<27}N/A")
    rows += [f"{'':27}[{index:02d}]: {row.hotfix_id}" + (f" - {row.description}" if row.description else "")
             for index, row in enumerate(fixes, 1)]
    rows += [f"{'Network Card(s):':<27}1 NIC(s) Installed.", f"{'':27}[01]: Intel(R) PRO/1000 MT Network Connection"]
    return _ok("\r\n" + "\r\n".join(rows) + "\r\n")


# --- sc and tasklist ------------------------------------------------------------------------------------
# What sc.exe and tasklist.exe print, from public transcripts: sc writes everything (failures too) to stdout and
# exits with the Win32 error (1060, ERROR_SERVICE_DOES_NOT_EXIST); 2003's ``sc qc`` heads its answer "[SC]
# GetServiceConfig SUCCESS", Vista's "[SC] QueryServiceConfig SUCCESS". tasklist's CSV quotes every field;
# services run in session 0, "Console" on XP / 2003 and "Services" from Vista on; its Mem Usage is the working
# set in K with the thousands separator (en-US here). When no process matches a filter, 2003's tasklist prints
# "INFO: No tasks running with the specified criteria.", Vista's "INFO: No tasks are running which match the
# specified criteria.".

_SC_STATES = {"Running": ("4  RUNNING", "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)"),
              "Stopped": ("1  STOPPED", "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)")}
_SC_START = {"Auto": "2   AUTO_START", "Manual": "3   DEMAND_START", "Disabled": "4   DISABLED"}
_SC_MISSING = "FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n"
_SC_FIELD = "        {:<19}: {}\r\n"
_TASKLIST_COLUMNS = ((25, "<"), (6, ">"), (16, "<"), (8, ">"), (12, ">"))  # width, alignment
_TASKLIST_SVC_COLUMNS = ((25, "<"), (6, ">"), (44, "<"))


def _sc(host: HostModel, line: str) -> CommandResult:
    """``sc query|queryex [NAME]`` (no name: every running service; ``state= all``: every one) and ``sc qc NAME``."""
    tokens = [_unquote(t) for t in _split(line)]
    verb = (tokens + [""])[1].lower()
    words = [t.lower() for t in tokens[2:]]
    names = [t for t in tokens[2:] if not t.endswith("=") and t.lower() not in ("service", "all", "active",
                                                                               "inactive", "driver")]
    if verb not in ("query", "queryex", "qc") or len(names) > 1 or (verb == "qc" and not names):
        return CommandResult(b"ERROR:  Unrecognized command\r\n", b"", 1)
    if names:
        service = host.service(names[0])
        if service is None:
            failed = "[SC] OpenService " if verb == "qc" else "[SC] EnumQueryServicesStatus:OpenService "
            return CommandResult((failed + _SC_MISSING).encode("ascii"), b"", 1060)
        if verb == "qc":
            return _ok(_sc_config(host, service))
        return _ok(_sc_status(host, service, extended=verb == "queryex", listed=False))
    every = "all" in words
    chosen = [s for s in host.services.values() if every or s.state == "Running"]
    return _ok("".join(_sc_status(host, s, extended=verb == "queryex", listed=True) for s in chosen))


def _sc_status(host: HostModel, service: Any, *, extended: bool, listed: bool) -> str:
    state, controls = _SC_STATES.get(service.state, _SC_STATES["Stopped"])
    text = f"\r\nSERVICE_NAME: {service.name}\r\n"
    if listed:  # an enumeration names the display name too
        text += f"DISPLAY_NAME: {service.display_name}\r\n"
    text += (_SC_FIELD.format("TYPE", _sc_type(host, service)) + _SC_FIELD.format("STATE", state + " ")
             + f"{'':32}{controls}\r\n" + _SC_FIELD.format("WIN32_EXIT_CODE", "0  (0x0)")
             + _SC_FIELD.format("SERVICE_EXIT_CODE", "0  (0x0)") + _SC_FIELD.format("CHECKPOINT", "0x0")
             + _SC_FIELD.format("WAIT_HINT", "0x0"))
    if extended:
        text += _SC_FIELD.format("PID", host.service_pid(service)) + _SC_FIELD.format("FLAGS", "")
    return text


def _sc_config(host: HostModel, service: Any) -> str:
    process = host.processes.get(service.process)
    head = "GetServiceConfig" if host.profile.is_2003 else "QueryServiceConfig"
    rows = [("TYPE", _sc_type(host, service)), ("START_TYPE", _SC_START.get(service.start_mode, _SC_START["Auto"])),
            ("ERROR_CONTROL", "1   NORMAL"), ("BINARY_PATH_NAME", process.command_line if process else ""),
            ("LOAD_ORDER_GROUP", ""), ("TAG", "0"), ("DISPLAY_NAME", service.display_name), ("DEPENDENCIES", ""),
            ("SERVICE_START_NAME", "LocalSystem")]
    return f"[SC] {head} SUCCESS\r\n\r\nSERVICE_NAME: {service.name}\r\n" + "".join(
        _SC_FIELD.format(name, value) for name, value in rows)


def _sc_type(host: HostModel, service: Any) -> str:
    shared = sum(s.process == service.process for s in host.services.values()) > 1
    return "20  WIN32_SHARE_PROCESS " if shared else "10  WIN32_OWN_PROCESS "


def _tasklist(host: HostModel, line: str) -> CommandResult:
    """``tasklist [/svc] [/fi "IMAGENAME|PID|SERVICES eq X"]... [/fo csv|table] [/nh]``."""
    tokens = [_unquote(t) for t in _split(line)]
    lowered = [t.lower() for t in tokens]
    services = "/svc" in lowered
    form = lowered[lowered.index("/fo") + 1] if "/fo" in lowered[:-1] else "table"
    filters = [tokens[i + 1] for i, t in enumerate(lowered[:-1]) if t == "/fi"]
    if form not in ("csv", "table") or any(not re.fullmatch(r"(?i)(imagename|pid|services) eq \S.*", f)
                                           for f in filters):
        return CommandResult(b"", b"ERROR: Invalid argument/option.\r\n", 1)
    hosted: dict[int, list[str]] = {}
    for service in host.services.values():
        if pid := host.service_pid(service):
            hosted.setdefault(pid, []).append(service.name)
    rows = []
    for process in host.process_snapshot(_now(host)):
        names = hosted.get(process.pid, [])
        if all(_tasklist_matches(f, process.name, process.pid, names) for f in filters):
            session = "Console" if host.profile.is_2003 else "Services"
            rows.append([process.name, str(process.pid), ",".join(names) or "N/A"] if services else
                        [process.name, str(process.pid), session, "0", f"{process.working_set // 1024:,} K"])
    if not rows:
        none = ("No tasks running with the specified criteria." if host.profile.is_2003 else
                "No tasks are running which match the specified criteria.")
        return _ok(f"INFO: {none}\r\n")
    header = ["Image Name", "PID", "Services"] if services else ["Image Name", "PID", "Session Name", "Session#",
                                                                 "Mem Usage"]
    if form == "csv":
        rows = rows if "/nh" in lowered else [header, *rows]
        return _ok("".join(",".join(f'"{cell}"' for cell in row) + "\r\n" for row in rows))
    widths = _TASKLIST_SVC_COLUMNS if services else _TASKLIST_COLUMNS
    if "/nh" not in lowered:
        rows = [header, ["=" * width for width, _ in widths], *rows]
    return _ok("\r\n" + "".join(" ".join(f"{cell:{align}{width}}" for cell, (width, align) in zip(row, widths,
                                                                                                 strict=True)).rstrip()
                                 + "\r\n" for row in rows))


def _tasklist_matches(text: str, image: str, pid: int, services: list[str]) -> bool:
    field, value = re.split(r"(?i)\s+eq\s+", text.strip(), maxsplit=1)
    if field.lower() == "imagename":
        return image.lower() == value.lower()
    if field.lower() == "pid":
        return value.isdigit() and pid == int(value)
    return value.lower() in {s.lower() for s in services}


# --- files: type, mkdir, certutil ----------------------------------------------------------------------


def _type(host: HostModel, line: str) -> CommandResult:
    path = _unquote(" ".join(_split(line)[1:]))
    data = host.fs.read(path)
    if data is None:
        return CommandResult(b"", b"The system cannot find the file specified.\r\n", 1)
    return CommandResult(data, b"", 0)


def _mkdir(host: HostModel, line: str) -> CommandResult:
    """A folder the file system has recorded exists already; any other is created by the WinRM account (an
    administrator), inheriting its parent's ACL (under %SystemRoot%\\Temp: Users may create files)."""
    path = _unquote(" ".join(_split(line)[1:]))
    if host.fs.folder(path) is not None:
        return CommandResult(b"", f"A subdirectory or file {path} already exists.\r\n".encode("cp437", "replace"), 1)
    host.fs.make_folder(path, Security.inherited_from_temp(ADMINISTRATORS))
    return _ok("")


def _move(host: HostModel, line: str) -> CommandResult:
    """``move [/y] SOURCE TARGET`` of one file."""
    paths = [_unquote(t) for t in _split(line)[1:] if not t.startswith("/")]
    data = host.fs.read(paths[0]) if len(paths) == 2 else None
    if data is None:
        return CommandResult(b"", b"The system cannot find the file specified.\r\n", 1)
    host.fs.move(paths[0], paths[1])  # the file keeps its owner
    host.counters.stages += paths[0].lower().endswith(".part")  # a verified package renamed into place
    return _ok("        1 file(s) moved.\r\n")


def _copy(host: HostModel, line: str) -> CommandResult:
    """``copy /y SOURCE TARGET`` of one file, from the host's disk or a lab share (``\\\\server\\share\\file``)."""
    paths = [_unquote(t) for t in _split(line)[1:] if not t.startswith("/")]
    if len(paths) != 2:
        return CommandResult(b"", b"The syntax of the command is incorrect.\r\n", 1)
    data, why = read_share(host, paths[0]) if paths[0].startswith("\\\\") else (host.fs.read(paths[0]), "")
    if data is None:
        reason = why or "The system cannot find the file specified."
        return CommandResult(b"        0 file(s) copied.\r\n", f"{reason}\r\n".encode("ascii", "replace"), 1)
    host.fs.write(paths[1], data)
    host.counters.bytes_staged += len(data)
    return _ok("        1 file(s) copied.\r\n")


def _certutil(host: HostModel, line: str) -> CommandResult:
    """``certutil -decode IN OUT`` (base64, whitespace and ``-----`` lines ignored; OUT must not exist) and
    ``certutil -hashfile FILE`` (SHA-1, printed as spaced hex bytes as Windows 2003's certutil prints it)."""
    tokens = [_unquote(t) for t in _split(line)]
    verb = (tokens + [""])[1].lower()
    if verb == "-decode" and len(tokens) == 4:
        text = host.fs.read(tokens[2])
        if text is None:
            return _certutil_failed(verb, "0x80070002 (WIN32: 2)", 2)
        if host.fs.exists(tokens[3]):
            return _certutil_failed(verb, "0x80070050 (WIN32: 80)", 0x80070050)
        lines = [l for l in text.decode("ascii", "replace").splitlines() if not l.startswith("-----")]
        try:
            data = base64.b64decode("".join("".join(lines).split()), validate=True)
        except binascii.Error:
            return _certutil_failed(verb, "0x80090005 (-2146893819)", 0x80090005)
        host.fs.write(tokens[3], data)
        host.counters.bytes_staged += len(data)
        return _ok(f"Input Length = {len(text)}\r\nOutput Length = {len(data)}\r\n"
                   "CertUtil: -decode command completed successfully.\r\n")
    if verb == "-hashfile" and len(tokens) == 3:
        hashed = host.fs.read(tokens[2])
        if hashed is None:
            return _certutil_failed(verb, "0x80070002 (WIN32: 2)", 2)
        digest = " ".join(f"{b:02x}" for b in hashlib.sha1(hashed).digest())  # noqa: S324 - certutil's default
        return _ok(f"SHA1 hash of file {tokens[2]}:\r\n{digest}\r\n"
                   "CertUtil: -hashfile command completed successfully.\r\n")
    return _certutil_failed(verb or "(none)", "0x80070057 (WIN32: 87)", 0x80070057)


def _certutil_failed(verb: str, code: str, exit_code: int) -> CommandResult:
    return CommandResult(f"CertUtil: {verb} command FAILED: {code}\r\n".encode("ascii"), b"", exit_code)


# --- schtasks (Task Scheduler 1.0) -------------------------------------------------------------------------


def _schtasks(host: HostModel, line: str) -> CommandResult:
    """``/create /tn N /tr CMD /ru SYSTEM /sc once /st HH:MM:SS [/sd DATE]`` (read as :mod:`.schtasks` says),
    ``/run``, ``/query`` and ``/delete /f`` of one task by name."""
    tokens = [_unquote(t) for t in _split(line)]
    verb = (tokens + [""])[1].lower()
    options = {tokens[i].lower(): tokens[i + 1] for i in range(2, len(tokens) - 1) if tokens[i].startswith("/")}
    name = options.get("/tn", "")
    task = host.tasks.get(name.lower())
    if verb == "/create":
        try:
            start = start_of(host, options.get("/sd"), options.get("/st"))
        except StartRefused as refused:
            return CommandResult(b"", f"{refused}\r\n".encode("ascii"), EXIT_REFUSED)
        if options.get("/ru", "").upper() not in ("SYSTEM", "NT AUTHORITY\\SYSTEM"):
            return CommandResult(b"", b"ERROR: the lab runs tasks as SYSTEM only.\r\n", 1)
        host.tasks[name.lower()] = ScheduledTask(name, options.get("/tr", ""),
                                                 next_at=start if start >= host.clock.now() else None)
        return _ok(f'SUCCESS: The scheduled task "{name}" has successfully been created.\r\n')
    if task is None:
        return CommandResult(b"", b"ERROR: The system cannot find the file specified.\r\n", 1)
    if verb == "/run":
        if task.started_at is None or task.next_at is None:
            host.tasks[name.lower()] = ScheduledTask(task.name, task.command, next_at=host.clock.now())
        return _ok(f'SUCCESS: Attempted to run the scheduled task "{name}".\r\n')
    if verb == "/delete":
        del host.tasks[name.lower()]
        return _ok(f'SUCCESS: The scheduled task "{name}" was successfully deleted.\r\n')
    if verb == "/query":
        status = "Running" if task.started_at is not None and task.next_at is not None else ""
        return _ok(f'\r\nTaskName                             Next Run Time            Status\r\n'
                   f'==================================== ======================== ===============\r\n'
                   f'{name:<36} {"Never":<24} {status}\r\n')
    return CommandResult(b"", b"ERROR: Invalid syntax.\r\n", 1)


TOOLS: dict[str, Callable[[HostModel, str], CommandResult]] = {
    "set": _set, "ping": _ping, "reg": _reg, "wmic": _wmic, "net": _net, "type": _type, "mkdir": _mkdir,
    "md": _mkdir, "move": _move, "copy": _copy, "certutil": _certutil, "schtasks": _schtasks, "sc": _sc,
    "tasklist": _tasklist, "systeminfo": _systeminfo,
}
