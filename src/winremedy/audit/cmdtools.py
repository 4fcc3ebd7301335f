"""Readers for what stock Windows Server 2003 command-line tools print: ``set``, ``reg query``,
``wmic /format:list`` and their file version strings, ``sc queryex``/``sc qc``, ``tasklist /fo csv`` and the
uptime line of 2003's ``systeminfo``.

The shapes come from real hosts: wmic prints "Please wait while WMIC is being installed." on its first run
(public batch scripts prime it with ``wmic foo >nul``), writes UTF-16LE when redirected to a file and ends lines
with ``\\r\\r\\n`` through a pipe; reg.exe 3.0 (XP/2003) starts with a ``! REG.EXE VERSION 3.0`` banner and
separates name, type and data with tabs, later versions with four spaces (PowerShell-Docs registry sample).
Every reader raises :class:`ValueError` on what it cannot read; the caller names the host and the tool.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, timezone
from typing import Any

WMIC_BANNER = "Please wait while WMIC is being installed."
_REG_BANNER_RE = re.compile(r"^!\s*REG\.EXE VERSION", re.IGNORECASE)
# reg.exe 3.0: "    Name<TAB>REG_SZ<TAB>data"; Vista and later: "    Name    REG_SZ    data". The data keeps
# whatever separator characters it contains: only the first two separators split.
_REG_TAB_RE = re.compile(r"^\s*(?P<name>[^\t]*)\t(?P<type>REG_[A-Z_]+)\t?(?P<data>.*)$")
_REG_SPACE_RE = re.compile(r"^\s+(?P<name>.*?) {4}(?P<type>REG_[A-Z_]+)(?: {4}(?P<data>.*))?$")
_VERSION_RE = re.compile(r"^\s*(\d+(?:\.\d+){1,3})")
_CIM_DATETIME_RE = re.compile(r"^(\d{14})\.(\d{6})([+-])(\d{3})$")
# sc.exe: "        STATE              : 4  RUNNING"; a continuation line "(STOPPABLE, ...)" has no colon.
_SC_FIELD_RE = re.compile(r"^\s*(?P<name>[A-Z_0-9]+)\s*:\s?(?P<value>.*)$")
_SC_FAILED_RE = re.compile(r"^\[SC\] \S+ FAILED (?P<code>\d+):")
# systeminfo on Windows 2003 (Vista and later print "System Boot Time" instead).
_UPTIME_RE = re.compile(r"^System Up Time:\s+(\d+) Days?, (\d+) Hours?, (\d+) Minutes?, (\d+) Seconds?\s*$",
                        re.MULTILINE)


def decode(data: bytes, encoding: str = "cp437") -> str:
    """Tool output as text with ``\\n`` line ends: UTF-16LE (with or without BOM) or the console's code page."""
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le")
    elif len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:1] != b"\x00":
        text = data.decode("utf-16-le")  # no BOM: the WMIC banner took its place
    elif b"\xff\xfe" in data[:80] and data.lstrip().startswith(WMIC_BANNER.encode("ascii")):
        head, _, rest = data.partition(b"\xff\xfe")
        text = head.decode("ascii") + rest.decode("utf-16-le")
    else:
        text = data.decode(encoding, errors="strict")
    return re.sub(r"\r+\n|\r", "\n", text)


def wmic_records(text: str) -> list[dict[str, str]]:
    """``wmic ... /format:list``: one record per instance, ``Key=Value`` lines, records apart by blank lines."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.strip()
        if not line or line == WMIC_BANNER:
            if current:
                records.append(current)
                current = {}
            continue
        if line.lower().startswith("no instance(s) available"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key or " " in key:
            raise ValueError(f"not a wmic list line: {line[:80]!r}")
        current[key] = value
    if current:
        records.append(current)
    return records


def cim_datetime(text: str) -> datetime:
    """A CIM DATETIME (``20261204210400.000000+060``: local time and its offset in minutes) in UTC."""
    match = _CIM_DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a CIM datetime: {text!r}")
    stamp, micro, sign, minutes = match.groups()
    offset = timedelta(minutes=int(minutes)) * (1 if sign == "+" else -1)
    local = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(microsecond=int(micro), tzinfo=timezone(offset))
    return local.astimezone(timezone.utc)


def file_version(text: str) -> str:
    """The dotted number at the start of a version string: "5.2.3790.2513 (srv03_sp1_gdr.050704-1331)" -> 5.2.3790.2513.

    Whether CIM_DataFile.Version holds the fixed binary FILEVERSION or the FileVersion string is not documented
    (the class documents a string); the two can differ (a suffix, or a stale number, as reported in
    bi-zone/go-fileversion issue 8). cmd.exe has no other reader, so a stale string cannot be told from here.
    """
    match = _VERSION_RE.match(text)
    if not match:
        raise ValueError(f"not a file version: {text!r}")
    return match.group(1)


def reg_values(text: str) -> dict[str, Any]:
    """``reg query KEY /v NAME`` (or a whole key): value name -> typed data; ``<NO NAME>`` is the default value."""
    values: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line.strip() or _REG_BANNER_RE.match(line.strip()) or line.strip().upper().startswith("HKEY_"):
            continue
        match = _REG_TAB_RE.match(line) if "\t" in line else _REG_SPACE_RE.match(line)
        if not match:
            if line.startswith((" ", "\t")):
                raise ValueError(f"not a reg value line: {line[:80]!r}")
            continue  # a subkey line
        values[match["name"].strip()] = _reg_data(match["type"], match["data"] or "")
    return values


def _reg_data(kind: str, data: str) -> Any:
    if kind in ("REG_DWORD", "REG_QWORD", "REG_DWORD_BIG_ENDIAN"):
        return int(data.strip(), 16) if data.strip().lower().startswith("0x") else int(data.strip())
    if kind == "REG_MULTI_SZ":
        return [part for part in data.split("\\0") if part]
    return data


def environment(text: str) -> dict[str, str]:
    """``set``: NAME=value lines, names case-insensitive (upper-cased here)."""
    env = {}
    for line in text.split("\n"):
        name, sep, value = line.partition("=")
        if sep and name.strip():
            env[name.strip().upper()] = value
    return env


def sc_records(text: str) -> list[dict[str, str]]:
    """``sc queryex``/``sc qc`` (one service or an enumeration): one ``FIELD -> value`` record per SERVICE_NAME;
    none for 1060 (no such service). Any other failure or shape is a ValueError."""
    records: list[dict[str, str]] = []
    last = ""
    for line in text.split("\n"):
        stripped = line.strip()
        failed = _SC_FAILED_RE.match(stripped)
        if failed:
            if failed["code"] != "1060":  # ERROR_SERVICE_DOES_NOT_EXIST: the answer is "none"
                raise ValueError(f"sc failed: {stripped[:80]!r}")
            return []
        if not stripped or stripped.startswith(("(", "[SC] ")) or stripped.lower().startswith("the specified"):
            continue
        if stripped.startswith(":") and records and last:  # a further DEPENDENCIES entry
            records[-1][last] += "," + stripped[1:].strip()
            continue
        match = _SC_FIELD_RE.match(stripped)
        if not match:
            raise ValueError(f"not an sc line: {stripped[:80]!r}")
        if match["name"] == "SERVICE_NAME":
            records.append({})
        elif not records:
            raise ValueError(f"an sc field before SERVICE_NAME: {stripped[:80]!r}")
        last = match["name"]
        records[-1][last] = match["value"].strip()
    return records


def sc_state(value: str) -> str:
    """sc's ``4  RUNNING`` as Win32_Service.State says it: Running (``START_PENDING``: Start Pending)."""
    parts = value.split()
    if len(parts) < 2 or not parts[0].isdigit():
        raise ValueError(f"not an sc state: {value!r}")
    return " ".join(word.capitalize() for word in parts[1].split("_"))


def tasklist_rows(text: str) -> list[list[str]]:
    """``tasklist /fo csv /nh``: the quoted fields of each process; "INFO: ..." (no process matched) is none."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) == 1 and lines[0].startswith("INFO:"):
        return []
    rows = list(csv.reader(lines))
    if any(not line.startswith('"') or len(row) < 2 or not row[1].isdigit() for line, row in zip(lines, rows,
                                                                                                  strict=True)):
        raise ValueError(f"not tasklist /fo csv /nh output: {lines[0][:80]!r}")
    return rows


def uptime_seconds(text: str) -> int | None:
    """Windows 2003 systeminfo's "System Up Time: D Days, H Hours, M Minutes, S Seconds" in seconds (None without)."""
    match = _UPTIME_RE.search(text)
    if match is None:
        return None
    days, hours, minutes, seconds = (int(part) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
