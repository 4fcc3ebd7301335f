"""Parse the English text output of ``systeminfo`` (the default ``/FO LIST`` form) into HostFacts.

systeminfo is what an operator can run on a host nobody can reach over WinRM.
Its labels are translated on localized Windows, and its values (dates,
"Standalone Server") are too: this module reads English output by its labels,
and :mod:`.localized` reads any other language by field position and value
shape (or refuses it rather than half-understand it). What systeminfo does not show (file
versions, products, registry, pending reboot) stays ``None``: not collected.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from ..errors import FactsError
from ..audit.facts import Arch, HostFacts, Hotfix, OsInfo, normalize_kb

HOST_LABEL = "Host Name"
REQUIRED_LABELS = (HOST_LABEL, "OS Name", "OS Version", "System Type")

_PRODUCT_TYPES = {
    "standalone workstation": 1,
    "member workstation": 1,
    "primary domain controller": 2,
    "backup domain controller": 2,
    "standalone server": 3,
    "member server": 3,
}
_LABEL_LINE = re.compile(r"^(?P<label>\S.*?):(?:\s+(?P<value>.*?))?\s*$")
# Windows Server 2003 RTM prints no service pack at all: "5.2.3790 Build 3790".
_OS_VERSION = re.compile(r"^(?P<version>\d+\.\d+\.\d+)\s+(?:(?:N/A|Service Pack (?P<sp>\d+))\s+)?Build\s+\d+$")
_HOTFIX_COUNT = re.compile(r"^(?P<count>\d+) Hotfix\(s\) Installed\.$")
_HOTFIX_ROW = re.compile(r"^\[\d+\](?::\s*(?P<text>.*?))?\s*$")
_GUID = re.compile(r"^\{?[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}?$", re.IGNORECASE)
_LEADING_KB = re.compile(r"^(?:KB|Q)?\d{6,7}(?!\d)", re.IGNORECASE)
_US_DATE_TIME = "%m/%d/%Y, %I:%M:%S %p"


@dataclass
class _Field:
    """One ``Label:  value`` line and the indented lines under it (hotfix rows, processors, NICs)."""

    value: str
    rows: list[str] = field(default_factory=list)


def looks_like_systeminfo(text: str) -> bool:
    """True when the first lines read ``Label:   value`` with the values in one column, in any language."""
    lines = [line for line in text.splitlines()[:12] if line.strip() and not line[0].isspace()]
    columns = [match.start("value") for match in map(_LABEL_LINE.match, lines) if match and match["value"]]
    if len(columns) < 2:
        return False
    return Counter(columns).most_common(1)[0][1] >= 0.75 * len(lines)


def has_english_labels(text: str) -> bool:
    """True when any label systeminfo needs is in English (a truncated English file included)."""
    return any(line.startswith(f"{label}:") for line in text.splitlines() for label in REQUIRED_LABELS)


def parse_systeminfo(text: str, name: str) -> list[HostFacts]:
    """HostFacts for each host in English systeminfo output (outputs may be concatenated).

    Raises :class:`FactsError` for localized or truncated output rather than guess.
    """
    chunks = _host_chunks(text.splitlines())
    if not chunks:
        raise _unreadable_labels(text, name)
    return [_parse_host(chunk, name) for chunk in chunks]


def kb_of(text: str) -> str | None:
    """The KB a hotfix entry names at its start (``KB975558_WM8``, ``KB968930 - Update``, ``943729``).

    Anchored at the start, unlike :func:`normalize_kb`, so that digit runs inside
    a GUID or a truncated ``KB2862`` are not read as a KB number.
    """
    text = text.strip()
    if _GUID.match(text):
        return None
    match = _LEADING_KB.match(text)
    return normalize_kb(match.group(0)) if match else None


def _host_chunks(lines: list[str]) -> list[list[str]]:
    """The lines of each host, each starting at its ``Host Name:`` line; text before the first stays with it."""
    starts = [index for index, line in enumerate(lines) if line.startswith(f"{HOST_LABEL}:")]
    if not starts:
        return []
    bounds = [0, *starts[1:], len(lines)]
    return [lines[begin:end] for begin, end in pairwise(bounds)]


def _unreadable_labels(text: str, name: str) -> FactsError:
    labels = [line.split(":", 1)[0] for line in text.splitlines() if line[:1].strip() and ":" in line]
    missing = [label for label in REQUIRED_LABELS if label not in labels]
    if len(missing) < len(REQUIRED_LABELS):
        return _truncated(missing, name)
    first = labels[0] if labels else ""
    return FactsError(f"{name}: systeminfo labels are not English ('{first}'); only English "
                      "systeminfo output is understood — collect facts over WinRM instead")


def _truncated(missing: list[str], name: str) -> FactsError:
    return FactsError(f"{name}: systeminfo output lacks {', '.join(repr(label) for label in missing)}; the file "
                      "looks truncated — save the complete English systeminfo output")


def _parse_host(lines: list[str], name: str) -> HostFacts:
    fields = _fields(lines, name)
    missing = [label for label in REQUIRED_LABELS if label not in fields]
    if missing:
        raise _truncated(missing, name)
    host = fields[HOST_LABEL].value
    if not host:
        raise FactsError(f"{name}: systeminfo 'Host Name' is empty")
    notes: list[str] = []
    hotfixes = _hotfixes(fields, notes)
    return HostFacts(
        host=host,
        os=_os_info(fields, name, notes),
        source="systeminfo",
        hotfixes=hotfixes,
        hotfixes_incomplete=_incompleteness(fields, hotfixes),
        boot_time=_boot_time(fields, notes),
        notes=notes,
    )


def _fields(lines: list[str], name: str) -> dict[str, _Field]:
    """Label -> field, splitting each line at the value column rather than at a colon.

    systeminfo starts every value in the column of the Host Name value, so labels
    that contain a colon themselves ("Page File: Max Size") are read whole.
    """
    column = _value_column(lines)
    fields: dict[str, _Field] = {}
    current: _Field | None = None
    for line in lines:
        if not line.strip():
            continue
        if line[0].isspace():
            if current is not None:
                current.rows.append(line.strip())
            continue
        label, current = _label(line, column), None
        if label is None:
            continue
        if label in fields:
            raise FactsError(f"{name}: systeminfo label {label!r} appears twice for one host; the file mixes outputs")
        current = fields[label] = _Field(line[column:].strip())
    return fields


def _value_column(lines: list[str]) -> int:
    host_line = next(line for line in lines if line.startswith(f"{HOST_LABEL}:"))
    return len(host_line) - len(host_line[len(HOST_LABEL) + 1:].lstrip())


def _label(line: str, column: int) -> str | None:
    head = line[:column].rstrip()
    return head[:-1] if head.endswith(":") else None


def _os_info(fields: dict[str, _Field], name: str, notes: list[str]) -> OsInfo:
    version_text = fields["OS Version"].value
    match = _OS_VERSION.match(version_text)
    if not match:
        raise FactsError(f"{name}: systeminfo 'OS Version' {version_text!r} is not like "
                         "'6.1.7601 Service Pack 1 Build 7601', '6.1.7600 N/A Build 7600' or '5.2.3790 Build 3790'")
    sp = int(match["sp"]) if match["sp"] else 0
    return OsInfo(
        caption=fields["OS Name"].value,
        version=match["version"],
        sp=sp,
        arch=_arch(fields["System Type"].value, notes),
        product_type=_product_type(fields, notes),
        csd_version=f"Service Pack {sp}" if match["sp"] else None,
    )


def _arch(system_type: str, notes: list[str]) -> Arch | None:
    lowered = system_type.lower()
    if lowered.startswith("x64-based"):
        return "x64"
    if lowered.startswith("x86-based"):
        return "x86"
    if "itanium" in lowered or "ia64" in lowered:
        return "ia64"
    notes.append(f"systeminfo 'System Type' {system_type!r} is not a known architecture; arch left unknown")
    return None


def _product_type(fields: dict[str, _Field], notes: list[str]) -> int | None:
    configuration = fields.get("OS Configuration")
    if configuration is None:
        notes.append("systeminfo has no 'OS Configuration'; workstation or server is unknown")
        return None
    product_type = _PRODUCT_TYPES.get(configuration.value.lower())
    if product_type is None:
        notes.append(f"systeminfo 'OS Configuration' {configuration.value!r} is not understood; "
                     "workstation or server is unknown")
    return product_type


def _boot_time(fields: dict[str, _Field], notes: list[str]) -> str | None:
    """ISO 8601 local time, without offset: systeminfo prints the host's wall clock and no zone."""
    if "System Up Time" in fields:
        notes.append(f"systeminfo gives uptime ({fields['System Up Time'].value!r}), not boot time, and the "
                     "file does not say when it was taken; boot time unknown")
        return None
    boot = fields.get("System Boot Time")
    if boot is None:
        notes.append("systeminfo has no 'System Boot Time'; boot time unknown")
        return None
    try:
        parsed = datetime.strptime(boot.value, _US_DATE_TIME)
    except ValueError:
        notes.append(f"systeminfo 'System Boot Time' {boot.value!r} is not in the en-US form "
                     "'3/4/2019, 8:42:38 AM'; boot time unknown")
        return None
    zone = fields.get("Time Zone")
    notes.append("boot time is the host's local time"
                 + (f" ({zone.value})" if zone else "") + "; systeminfo gives no UTC offset")
    return parsed.isoformat()


def _hotfixes(fields: dict[str, _Field], notes: list[str]) -> list[Hotfix] | None:
    section = fields.get("Hotfix(s)")
    if section is None:
        notes.append("systeminfo has no 'Hotfix(s)' section; hotfixes not collected")
        return None
    if section.value == "N/A":
        return []
    hotfixes = [hotfix_row(row) for row in section.rows]
    found = [fix for fix in hotfixes if fix is not None]
    _note_count(section.value, len(found), notes)
    _note_file_rows(found, notes)
    return found


def hotfix_row(row: str) -> Hotfix | None:
    """A ``[12]: KB2506014`` row; the empty ``[246]`` that ends a truncated list gives ``None``."""
    match = _HOTFIX_ROW.match(row)
    if not match or not match["text"]:
        return None
    text = match["text"]
    return Hotfix(id=text, source="systeminfo", kb=kb_of(text))


def _note_count(header: str, found: int, notes: list[str]) -> None:
    match = _HOTFIX_COUNT.match(header)
    if not match:
        notes.append(f"systeminfo hotfix header {header!r} is not understood; {found} rows read")
    elif int(match["count"]) != found:
        notes.append(truncation(int(match["count"]), found))


def truncation(listed: int, shown: int) -> str:
    return (f"systeminfo lists {listed} hotfixes but shows {shown} (it truncates long lists); "
            "add the host's wmic qfe output or collect over WinRM for the full list")


def _incompleteness(fields: dict[str, _Field], hotfixes: list[Hotfix] | None) -> str | None:
    """Why the hotfix list may miss a KB: systeminfo cut it short, or rows name no KB ("File 1")."""
    if not hotfixes:
        return None
    match = _HOTFIX_COUNT.match(fields["Hotfix(s)"].value)
    if match and int(match["count"]) > len(hotfixes):
        return truncation(int(match["count"]), len(hotfixes))
    unnamed = sum(1 for fix in hotfixes if fix.kb is None)
    return f"{unnamed} hotfix rows name no KB ('File 1')" if unnamed else None


def _note_file_rows(hotfixes: list[Hotfix], notes: list[str]) -> None:
    unnamed = sum(1 for fix in hotfixes if fix.kb is None)
    if unnamed:
        notes.append(f"{unnamed} systeminfo hotfix rows name no KB ('File 1' on Windows 2003, a GUID on Vista, "
                     "or cut short); wmic qfe output or a WinRM audit can tell which KBs they are")
