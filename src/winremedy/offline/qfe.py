"""Parse ``wmic qfe`` table output (Win32_QuickFixEngineering) into HostFacts without an OS.

wmic pads every column to its widest value, so the header line gives each
column's start. A row that does not line up with the header has been edited or
garbled and is refused rather than read into the wrong columns.
"""

from __future__ import annotations

import re

from ..errors import FactsError
from ..audit.facts import HostFacts, Hotfix
from .systeminfo import kb_of

_WMIC_INSTALL_BANNER = "Please wait while WMIC is being installed."
_REQUIRED_COLUMNS = ("CSName", "HotFixID")
_COLUMN = re.compile(r"\S+")
OS_UNKNOWN_NOTE = ("OS unknown: wmic qfe lists hotfixes only; give the host's systeminfo output too "
                   "or collect facts over WinRM")


def looks_like_qfe(text: str) -> bool:
    """True when the first meaningful line is a wmic table header with a HotFixID column."""
    return _header_index(text.splitlines()) is not None


def parse_qfe(text: str, name: str) -> list[HostFacts]:
    """One HostFacts (``os=None``) per CSName in the table, hotfixes in file order."""
    lines = text.splitlines()
    header_index = _header_index(lines)
    if header_index is None:
        raise FactsError(f"{name}: expected a wmic qfe table header with a HotFixID column")
    columns = _columns(lines[header_index], name)
    hosts: dict[str, tuple[str, list[Hotfix]]] = {}  # CSName, case-folded -> (CSName as written, rows)
    for number, line in enumerate(lines[header_index + 1:], start=header_index + 2):
        if line.strip():
            host, hotfix = _row(_cells(line, columns, name, number), name, number)
            hosts.setdefault(host.lower(), (host, []))[1].append(hotfix)
    if not hosts:
        raise FactsError(f"{name}: wmic qfe output has a header but no hotfix rows")
    return [_host_without_os(host, hotfixes) for host, hotfixes in hosts.values()]


def _header_index(lines: list[str]) -> int | None:
    """Index of the header line, skipping blank lines and the banner wmic prints on first use."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped == _WMIC_INSTALL_BANNER:
            continue
        names = {token.lower() for token in stripped.split()}
        return index if "hotfixid" in names else None
    return None


def _columns(header: str, name: str) -> list[tuple[str, int]]:
    """(column name, start offset) for each header word; required columns must be present."""
    columns = [(match.group(0), match.start()) for match in _COLUMN.finditer(header)]
    present = {column.lower() for column, _ in columns}
    for required in _REQUIRED_COLUMNS:
        if required.lower() not in present:
            raise FactsError(f"{name}: wmic qfe output lacks the {required!r} column; run plain 'wmic qfe' "
                             "(or include CSName and HotFixID in 'wmic qfe get')")
    return columns


def _cells(line: str, columns: list[tuple[str, int]], name: str, number: int) -> dict[str, str]:
    """Column name (lower case) -> stripped value; refuses a row whose text crosses a column start."""
    cells: dict[str, str] = {}
    for index, (column, start) in enumerate(columns):
        if 0 < start < len(line) and not line[start - 1].isspace():
            raise FactsError(f"{name}: line {number} does not line up with the wmic qfe header columns "
                             "(garbled or edited file)")
        end = columns[index + 1][1] if index + 1 < len(columns) else len(line)
        cells[column.lower()] = line[start:end].strip()
    return cells


def _row(cells: dict[str, str], name: str, number: int) -> tuple[str, Hotfix]:
    host, hotfix_id = cells["csname"], cells["hotfixid"]
    if not host or not hotfix_id:
        raise FactsError(f"{name}: line {number} has an empty CSName or HotFixID")
    kb = kb_of(hotfix_id) or kb_of(cells.get("servicepackineffect", ""))
    return host, Hotfix(id=hotfix_id, source="qfe", kb=kb, installed_on=cells.get("installedon") or None)


def _host_without_os(host: str, hotfixes: list[Hotfix]) -> HostFacts:
    return HostFacts(host=host, os=None, source="qfe", hotfixes=hotfixes, notes=[OS_UNKNOWN_NOTE])
