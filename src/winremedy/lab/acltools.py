"""The Windows 2003 tools that show and set owners and ACLs, answered from the host's file system model.

* ``cacls PATH`` prints the DACL, one entry a line after the path, as "Cacls" (TechNet cc755611, Windows
  Server 2003) and the Windows 2000 Resource Kit ("File Systems", TechNet cc938925) show it:
  ``ACCOUNT:(OI)(CI)F``, or ``ACCOUNT:(CI)(special access:)`` followed by one right a line.
  ``cacls PATH /g ACCOUNT:PERM ...`` without ``/e`` replaces the DACL; it asks to be sure and reads the
  answer from stdin, so a script pipes it ``echo y|`` (cc938925); any other answer changes nothing [the
  prompt's wording and exit code here: INF]. A name it cannot look up fails with "No mapping between account names and security IDs was
  done." (ERROR_NONE_MAPPED, 1332). cacls never changes the owner.
* ``dir /a /q /-c PATH`` lists a folder with each entry's owner ("Dir", TechNet cc773112: /q "Displays
  file ownership information"); the owner column is 22 characters wide and a longer name is cut there
  [INF: as seen on later Windows; the 2003 width is not documented].
* ``findstr /l /i /c:TEXT /g:FILE`` prints the lines of stdin holding any of the strings (exit 0) or
  nothing (exit 1).
* ``wmic path Win32_Account where "SID='...'" get Name,SID`` names the well-known SIDs (Win32_Account,
  Microsoft Learn): SYSTEM, Administrators.

Account names are localized (KB157234): the lab's de-DE hosts are German-language Windows and print the
German names; every other locale prints the English ones.
"""

from __future__ import annotations

import ntpath
import re
from collections.abc import Callable
from typing import Any

from .api import CommandResult
from .filesystem import ADMINISTRATORS, CREATOR_OWNER, SYSTEM, USERS, Security
from .host import HostModel
from .tokens import split as _split
from .tokens import unquote as _unquote

LOCAL_USER = "S-1-5-21-1004336348-1177238915-682003330-1013"  # the lab's local non-admin user, "squatter"
NONE_MAPPED = 1332  # ERROR_NONE_MAPPED
OWNER_WIDTH = 22
_NAMES = {  # SID -> (domain, name) as LookupAccountSid gives them, by the system's language
    "en": {SYSTEM: ("NT AUTHORITY", "SYSTEM"), ADMINISTRATORS: ("BUILTIN", "Administrators"),
           USERS: ("BUILTIN", "Users"), CREATOR_OWNER: ("", "CREATOR OWNER")},
    "de": {SYSTEM: ("NT-AUTORITÄT", "SYSTEM"), ADMINISTRATORS: ("VORDEFINIERT", "Administratoren"),
           USERS: ("VORDEFINIERT", "Benutzer"), CREATOR_OWNER: ("", "ERSTELLER-BESITZER")},
}
# What Windows 2003's %SystemRoot%\Temp lets Users do in a folder below it (cacls's special access lines)
_USERS_RIGHTS = ("SYNCHRONIZE", "FILE_WRITE_DATA", "FILE_APPEND_DATA", "FILE_EXECUTE")


def _names(host: HostModel) -> dict[str, tuple[str, str]]:
    names = _NAMES["de" if host.spec.locale == "de-DE" else "en"]
    return {**names, LOCAL_USER: (host.name.upper(), "squatter")}


def account(host: HostModel, sid: str) -> str:
    """``DOMAIN\\name`` (or the bare name of a domain-less principal, CREATOR OWNER) of ``sid``."""
    domain, name = _names(host).get(sid, ("", sid))
    return f"{domain}\\{name}" if domain else name


def labelled(host: HostModel, sid: str) -> str:
    """``sid (DOMAIN\\name)`` as stage.ps1 shows an account it can name, else the SID alone."""
    return f"{sid} ({account(host, sid)})" if sid in _names(host) else sid


def _sid(host: HostModel, name: str) -> str | None:
    """The SID of ``name``, given bare or as ``DOMAIN\\name``, as LookupAccountName finds it (any case)."""
    wanted = name.lower()
    return next((sid for sid, (domain, bare) in _names(host).items()
                 if wanted in (bare.lower(), f"{domain}\\{bare}".lower())), None)


def _ok(text: str) -> CommandResult:
    return CommandResult(text.encode("cp437", errors="replace"), b"", 0)


def _fail(text: str, code: int) -> CommandResult:
    return CommandResult(b"", text.encode("cp437", errors="replace"), code)


def _security(host: HostModel, path: str) -> Security | None:
    return host.fs.folder(path) or host.fs.file_security(path)


# --- cacls -----------------------------------------------------------------------------------------


def cacls(host: HostModel, line: str, stdin: bytes) -> CommandResult:
    tokens = [_unquote(t) for t in _split(line)[1:]]
    if not tokens:
        return _fail("The syntax of the command is incorrect.\r\n", 1)
    path, options = tokens[0], [t.lower() for t in tokens[1:]]
    security = _security(host, path)
    if security is None:
        return _fail("The system cannot find the file specified.\r\n", 2)
    folder = host.fs.folder(path) is not None
    if not options:
        return _ok(_cacls_text(host, cmd_expand(host, path), security, folder))
    if options[0] != "/g" or "/e" in options:
        return _fail("The lab's cacls replaces a DACL with /g only.\r\n", 87)
    if not stdin.strip().lower().startswith(b"y"):
        return _ok("Are you sure (Y/N)?")
    sids = []
    for grant in tokens[2:]:
        name, _, perm = grant.rpartition(":")
        sid = _sid(host, name)
        if sid is None or perm.lower() != "f":
            return _fail("No mapping between account names and security IDs was done.\r\n", NONE_MAPPED)
        sids.append(sid)
    replaced = Security(security.owner, frozenset(sids))
    if folder:
        host.fs.set_folder(path, replaced)
    return _ok("processed dir: " + cmd_expand(host, path) + "\r\n")


def _cacls_text(host: HostModel, path: str, security: Security, folder: bool) -> str:
    entries: list[str] = []
    for sid in sorted(security.writers):
        name = account(host, sid)
        if sid == USERS:
            entries += [f"{name}:(CI)(special access:)", *(" " * len(name) + f"  {r}" for r in _USERS_RIGHTS), ""]
        elif sid == CREATOR_OWNER:
            entries.append(f"{name}:(OI)(CI)(IO)F")
        else:
            entries.append(f"{name}:{'(OI)(CI)' if folder else ''}F")
    pad = " " * (len(path) + 1)
    return "".join((path + " " if i == 0 else pad) + entry + "\r\n" for i, entry in enumerate(entries)) + "\r\n"


# --- dir /q ----------------------------------------------------------------------------------------


def dir_listing(host: HostModel, line: str) -> CommandResult:
    tokens = [_unquote(t) for t in _split(line)[1:]]
    paths = [t for t in tokens if not t.startswith("/")]
    folder = paths[0] if paths else ""
    security = host.fs.folder(folder)
    if security is None:
        return _fail("File Not Found\r\n", 1)
    owners = "/q" in (t.lower() for t in tokens)
    stamp = "12/04/2026  11:00 PM" if host.spec.locale == "en-US" else "04.12.2026  23:00"

    def row(size: str, owner: str, name: str) -> str:
        shown = f"{account(host, owner)[:OWNER_WIDTH]:<{OWNER_WIDTH}} " if owners else ""
        return f"{stamp}    {size:<14} {shown}{name}\r\n" if size == "<DIR>" else f"{stamp}    {size:>14} {shown}{name}\r\n"

    files = host.fs.listdir(folder)
    rows = [row("<DIR>", security.owner, "."), row("<DIR>", SYSTEM, "..")]
    rows += [row(str(len(host.fs.read(f) or b"")), host.fs.owner(f) or ADMINISTRATORS, ntpath.basename(f)) for f in files]
    head = f" Volume in drive C has no label.\r\n Volume Serial Number is 2C5F-0A13\r\n\r\n Directory of {cmd_expand(host, folder)}\r\n\r\n"
    return _ok(head + "".join(rows) + f"{len(files):>16} File(s)\r\n{2:>16} Dir(s) {host.free_disk} bytes free\r\n")


# --- findstr -----------------------------------------------------------------------------------------


def findstr(host: HostModel, line: str, stdin: bytes) -> CommandResult:
    strings: list[str] = []
    for token in _split(line)[1:]:
        option = token.lower()
        if option.startswith("/c:"):
            strings.append(_unquote(token[3:]))
        elif option.startswith("/g:"):
            data = host.fs.read(_unquote(token[3:]))
            if data is None:
                return _fail(f"FINDSTR: Cannot open {_unquote(token[3:])}\r\n", 1)
            strings += [s for s in data.decode("ascii", "replace").splitlines() if s]
        elif not option.startswith("/"):
            strings += _unquote(token).split()
    text = stdin.decode("cp437", "replace")
    found = [l for l in text.splitlines() if any(s.lower() in l.lower() for s in strings)]
    return CommandResult("".join(l + "\r\n" for l in found).encode("cp437", "replace"), b"", 0 if found else 1)


# --- wmic path Win32_Account -----------------------------------------------------------------------


def accounts(host: HostModel, where: str) -> list[dict[str, Any]]:
    """Win32_Account rows of the SIDs ``where`` names (``SID='S-1-5-18' or SID='S-1-5-32-544'``)."""
    wanted = re.findall(r"(?i)sid\s*=\s*'([^']*)'", where)
    return [{"Domain": host.name.upper(), "Name": _names(host)[sid][1], "SID": sid}
            for sid in wanted if sid in _names(host)]


def cmd_expand(host: HostModel, path: str) -> str:
    """``path`` with %SystemRoot% as cmd.exe puts it in before the tool runs."""
    return re.sub(r"(?i)%systemroot%", lambda _: host.spec.system_root, path)


TOOLS: dict[str, Callable[[HostModel, str], CommandResult]] = {"dir": dir_listing}
READS_STDIN: dict[str, Callable[[HostModel, str, bytes], CommandResult]] = {"cacls": cacls, "findstr": findstr}
