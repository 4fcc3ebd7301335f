"""Owners and ACLs as Windows 2003's own tools show them: ``cacls`` and ``dir /q`` output, read into data.

``cacls PATH`` ("Cacls", TechNet cc755611; the Windows 2000 Resource Kit's "File Systems", TechNet
cc938925) prints the path, then one entry a line at the same column: ``ACCOUNT:(OI)(CI)F`` (a permission
letter, N R W C F) or ``ACCOUNT:(CI)(special access:)`` followed by one access right a line (FILE_WRITE_DATA,
DELETE...). ``dir /a /q /-c`` ("Dir", TechNet cc773112: /q "Displays file ownership information"; /-c: no
thousands separators) prints each entry as date, time, ``<DIR>`` or its size, its owner and its name; the
owner column is cut at 22 characters [INF: as later Windows cut it], so a long localized name shows only
its beginning.

Both print account *names*, which are localized (KB157234): the names to trust are looked up from the
well-known SIDs on the host itself (``wmic path Win32_Account``), never written here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

OWNER_WIDTH = 22  # characters of dir /q's owner column
# Rights that let an account change a file or a folder's content (cacls's special access names, after the
# ACCESS_MASK constants, "File Security and Access Rights", Microsoft Learn)
WRITE_RIGHTS = frozenset({"FILE_WRITE_DATA", "FILE_APPEND_DATA", "FILE_WRITE_EA", "FILE_DELETE_CHILD",
                          "FILE_WRITE_ATTRIBUTES", "DELETE", "WRITE_DAC", "WRITE_OWNER", "GENERIC_WRITE", "GENERIC_ALL"})
WRITE_PERMISSIONS = frozenset({"W", "C", "F"})  # cacls's letters: write, change, full control
_ENTRY = re.compile(r"^(?P<account>.+?):(?P<flags>(?:\([A-Z]+\))*)(?P<perm>[NRWCF]|\(special access:\))$")
_DIR_ROW = re.compile(r"^(?P<when>\S.*?)\s+(?:<DIR>|<JUNCTION>|\d+)\s+(?P<owner>\S.*?)\s+(?P<name>\S+)$")


@dataclass(frozen=True)
class AclEntry:
    account: str  # as cacls prints it: DOMAIN\name, or a bare name (CREATOR OWNER)
    flags: tuple[str, ...]  # OI, CI, IO, DENY...
    rights: tuple[str, ...]  # a permission letter, or the special access rights

    def writes(self) -> bool:
        """An allow entry that lets its account change, create or delete something."""
        if "DENY" in self.flags:
            return False
        return bool(set(self.rights) & (WRITE_PERMISSIONS | WRITE_RIGHTS))


def parse_cacls(text: str, path: str) -> list[AclEntry]:
    """The entries of ``cacls PATH``'s output; ``path`` as it printed it (cmd.exe expanded %SystemRoot%)."""
    entries: list[AclEntry] = []
    first = True
    for raw in text.splitlines():
        line = raw.strip()
        if first and line:
            if not line.lower().startswith(path.lower()):
                raise ValueError(f"cacls printed {line!r}, not the ACL of {path}")
            line, first = line[len(path):].strip(), False
        if not line:
            continue
        match = _ENTRY.match(line)
        if match:
            flags = tuple(re.findall(r"\(([A-Z]+)\)", match["flags"]))
            perm = match["perm"]
            entries.append(AclEntry(match["account"], flags, () if perm.startswith("(") else (perm,)))
        elif entries and re.fullmatch(r"[A-Z_]+", line):  # a right below "(special access:)"
            last = entries[-1]
            entries[-1] = AclEntry(last.account, last.flags, (*last.rights, line))
        else:
            raise ValueError(f"cacls printed a line this cannot read: {raw.strip()!r}")
    return entries


def parse_dir_owners(text: str) -> dict[str, str]:
    """Each entry's owner column from ``dir /a /q /-c``, by name (``.`` is the folder itself)."""
    owners = {}
    for raw in text.splitlines():
        match = _DIR_ROW.match(raw.strip())
        if match and not raw.startswith(" "):
            owners[match["name"]] = match["owner"]
    return owners


def is_account(shown: str, names: Iterable[str], *, cut: bool = False) -> bool:
    """Whether ``shown`` (``DOMAIN\\name`` or a bare name) is one of ``names`` (bare, as Win32_Account gives
    them). ``cut``: ``shown`` is dir /q's owner column, so a name as long as the column may be a longer one's
    beginning. The domain part is not compared: it is localized too (NT AUTHORITY, BUILTIN)."""
    account = shown.rpartition("\\")[2].lower()
    wanted = [name.lower() for name in names]
    if account in wanted:
        return True
    return cut and len(shown) >= OWNER_WIDTH and bool(account) and any(name.startswith(account) for name in wanted)
