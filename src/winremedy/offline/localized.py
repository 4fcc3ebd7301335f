"""Read localized ``systeminfo`` output by its structure, not its labels.

systeminfo prints the same fields in the same order in every language; only
the labels (and some values) are translated. So the fields are taken by their
position among the unindented lines, and each one is accepted only when its
value has the shape that field always has: a single-word host name, an OS name
naming Windows, ``<major.minor.build> ... <build>`` for the OS version, an
``x64-based PC`` style system type, a count with ``[nn]:`` rows for the
processors, the hotfixes and the network cards. Any doubt refuses the file
with the reason: a misread host is worse than an unread one.

Positions (0-based, the order of ``systeminfo /FO LIST`` from Windows XP to 10):
0 host name, 1 OS name, 2 OS version, 13 system type, 14 processors,
30 hotfixes, 31 network cards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..audit.facts import Arch, HostFacts, Hotfix, OsInfo
from ..errors import FactsError
from ..versions import BUILD_SERVICE_PACKS
from .systeminfo import hotfix_row, truncation

HOST, OS_NAME, OS_VERSION, SYSTEM_TYPE, PROCESSORS, HOTFIXES, NICS = 0, 1, 2, 13, 14, 30, 31
_LINE = re.compile(r"^(?P<label>[^:]+?)\s*:\s+(?P<value>.*?)\s*$")
_OS_VERSION = re.compile(r"^(?P<version>\d+\.\d+\.(?P<build>\d+))\s+(?P<middle>.*?)\s*\S+\s+(?P<again>\d+)$")
_SYSTEM_TYPE = re.compile(r"^(?P<arch>x64|x86)-based PC$", re.IGNORECASE)
_ROW = re.compile(r"^\[\d+\]:")
_INTEGER = re.compile(r"\d+")
_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a NetBIOS or DNS name
# Edition names are not translated: "Server" marks a server in every language (Windows Server 2003 to 2012 R2).
_WORKSTATIONS = re.compile(r"Windows(?:\(R\))?\s*(?:XP|Vista|7|8|10)\b", re.IGNORECASE)


@dataclass
class _Line:
    label: str
    value: str
    rows: list[str] = field(default_factory=list)


def parse_by_structure(text: str, name: str) -> list[HostFacts]:
    """HostFacts for each host of localized systeminfo output, or :class:`FactsError` saying what is uncertain."""
    lines = _top_level(text)
    if not lines:
        raise FactsError(f"{name}: no 'label: value' lines; not systeminfo output")
    first = lines[0].label
    starts = [i for i, line in enumerate(lines) if line.label == first]
    return [_host(lines[begin:end], name) for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _top_level(text: str) -> list[_Line]:
    """The unindented ``label: value`` lines, each with the indented ``[nn]: ...`` rows under it."""
    lines: list[_Line] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if raw[0].isspace():
            if lines:
                lines[-1].rows.append(raw.strip())
            continue
        match = _LINE.match(raw)
        lines.append(_Line(match["label"], match["value"]) if match else _Line(raw.strip(), ""))
    return lines


def _host(lines: list[_Line], name: str) -> HostFacts:
    if len(lines) <= NICS:
        raise _refuse(name, f"{len(lines)} fields where the systeminfo layout has at least {NICS + 1}; the output is "
                            "truncated or not systeminfo")
    host = lines[HOST].value
    if not _HOST_NAME.match(host):
        raise _refuse(name, f"the first field {host!r} is not a host name")
    caption = lines[OS_NAME].value
    if "windows" not in caption.lower():
        raise _refuse(name, f"field 2 {caption!r} does not name Windows")
    version, sp = _version(lines[OS_VERSION].value, name)
    arch = _arch(lines[SYSTEM_TYPE].value, name)
    _counted(lines[PROCESSORS], "processors (field 15)", name)
    _counted(lines[NICS], "network cards (field 32)", name, nested=True)
    notes = [f"systeminfo labels are localized ('{lines[HOST].label}'); read by field position and value shape"]
    hotfixes, incomplete = _hotfixes(lines[HOTFIXES], name, notes)
    return HostFacts(
        host=host, source="systeminfo",
        os=OsInfo(caption=caption, version=version, sp=sp, arch=arch, product_type=_product_type(caption, notes),
                  csd_version=f"Service Pack {sp}" if sp else None),
        hotfixes=hotfixes, hotfixes_incomplete=incomplete, notes=notes,
    )


def _version(value: str, name: str) -> tuple[str, int]:
    """``6.1.7601 Service Pack 1 Build 7601`` or ``6.3.9600 Н/Д построение 9600``: build twice, the SP between."""
    match = _OS_VERSION.match(value)
    if not match or match["build"] != match["again"]:
        raise _refuse(name, f"field 3 {value!r} is not an OS version like '6.1.7601 ... 7601'")
    numbers = [int(n) for n in _INTEGER.findall(match["middle"])]
    if len(numbers) > 1:
        raise _refuse(name, f"the service pack in {value!r} cannot be told from its other numbers")
    sp = numbers[0] if numbers else 0
    allowed = BUILD_SERVICE_PACKS.get(match["version"])
    if allowed is not None and sp not in allowed:
        raise _refuse(name, f"{value!r} reads as SP{sp}, which build {match['version']} never is")
    return match["version"], sp


def _arch(value: str, name: str) -> Arch:
    match = _SYSTEM_TYPE.match(value)
    if not match:
        raise _refuse(name, f"field 14 {value!r} is not a system type like 'x64-based PC'")
    return "x64" if match["arch"].lower() == "x64" else "x86"


def _counted(line: _Line, what: str, name: str, *, nested: bool = False) -> int:
    """The count a list field announces, with ``[nn]: ...`` rows under it: no more than it says, unless the rows
    have rows of their own (a network card's addresses)."""
    numbers = _INTEGER.findall(line.value)
    rows = [row for row in line.rows if _ROW.match(row)]
    if len(numbers) != 1 or (int(numbers[0]) > 0 and not rows) or (not nested and int(numbers[0]) < len(rows)):
        raise _refuse(name, f"{what} {line.value!r} is not a count followed by [nn] rows; the layout differs")
    return int(numbers[0])


def _hotfixes(line: _Line, name: str, notes: list[str]) -> tuple[list[Hotfix], str | None]:
    if not _INTEGER.search(line.value) and not line.rows:
        return [], None  # the localized "N/A": no hotfix installed
    listed = _counted(line, "hotfixes (field 31)", name)
    found = [fix for fix in map(hotfix_row, line.rows) if fix is not None]
    if listed > len(found):
        notes.append(truncation(listed, len(found)))
        return found, truncation(listed, len(found))
    return found, None


def _product_type(caption: str, notes: list[str]) -> int | None:
    """Workstation (1) or server (3) from the edition name, the one part of the caption never translated."""
    if "server" in caption.lower():
        return 3
    if _WORKSTATIONS.search(caption):
        return 1
    notes.append(f"the OS name {caption!r} says neither Server nor a workstation edition; product type unknown")
    return None


def _refuse(name: str, why: str) -> FactsError:
    return FactsError(f"{name}: localized systeminfo not read with certainty: {why}; collect facts over WinRM "
                      "(winremedy audit) instead")
