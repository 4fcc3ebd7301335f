"""The remediation steps for a host without PowerShell, through cmd.exe tools alone (same plan, other steps).

WMF 2.0 (KB968930) needs Service Pack 2 on Windows 2003, so the 2003 SP1 hosts KB903927 applies to have no
PowerShell. Their stock tools do the work:

* files: ``copy`` from the UNC share, or base64 text written by ``echo`` lines (each command line at most 8,191 characters, KB830473; a space
  before ``>>`` so a trailing digit is not read as a handle number), then ``certutil -decode`` (the Windows
  2003 certutil has -decode, "Certutil", TechNet cc782874);
* integrity: ``certutil -hashfile FILE`` with no algorithm argument, so SHA-1, its default: Windows 2003 has no
  SHA-256 in CryptoAPI without KB938397/KB968730, and what -hashfile's algorithm argument does there is not
  documented. The SHA-1 is compared with the package's, computed here after its SHA-256 was checked against the
  manifest, once when the package arrives and again by the SYSTEM task itself right before the installer
  (:meth:`CmdRoute.verify_lines`: certutil's output through ``findstr`` against ``<package>.sha1``, written
  beside it at staging; a mismatch ends the task with 0x80096010 and the installer never runs). SHA-1 is
  the strongest digest a stock 2003 computes: a collision made in advance is possible in principle, so the
  folder's ACL is what keeps a local user from the package; the hash catches any change after staging;
* ownership: the staging folder is the project's own before anything is written there
  (:meth:`CmdRoute.secure_folder`): created by ``mkdir``, then ``echo y| cacls FOLDER /g "SYSTEM":F
  "Administrators":F`` replaces its DACL (without /e cacls replaces the whole list and asks for a yes, which
  it has no switch for: a batch pipes it ``echo y|`` with no space before the pipe, TechNet cc938925); the names are the host's own for the well-known SIDs
  S-1-5-18 and S-1-5-32-544 (``wmic path Win32_Account``: names are localized, KB157234). Whether 2003's
  cacls also marks the new DACL as not inheriting is not documented, so what counts is what the host shows
  afterwards: ``cacls FOLDER`` must list no one else with a write right and ``dir /a /q`` no other owner of the
  folder or of anything in it; otherwise the stage is refused with the reason (never repaired or deleted: see
  :mod:`.stage`), but for a folder a stopped run left between mkdir and cacls, which gets its ACL again;
* install: a Task Scheduler 1.0 task as SYSTEM (``schtasks /create /ru SYSTEM /sc once /st HH:MM:SS /sd DATE``,
  DATE in the account's date order, "/" between its fields: :mod:`.schtasks`), started by ``schtasks /run``; the batch is
  :func:`winremedy.remediate.tasks.batch_text`'s, so its ``.run`` and ``.rc`` files say its state;
* service restart: ``net stop`` then ``net start``.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from ..audit.cmdtools import decode, environment, reg_values, sc_records, sc_state, wmic_records
from ..catalog.model import KbEntry
from ..errors import RemediationError, StageError
from ..repo.manifest import Entry
from ..transport.base import Result, Transport
from . import schtasks
from .cmdpower import read_clock
from .cmdacl import is_account, parse_cacls, parse_dir_owners
from .install import BAD_DIGEST
from .stage import (DIGEST_SUFFIX, DOUBLE_HOP, PART_SUFFIX, STAGING_DIR, TRUSTED_SIDS, Source, StageResult,
                    foreign_reason, sha1_of, staged_path)
from .tasks import ON_FAILURE, TaskState, batch_quoted, batch_text

MAX_COMMAND_LINE = 8191  # cmd.exe, XP and later (KB830473)
_ECHO_CHARS = 8000  # base64 characters per echo line: the line stays under MAX_COMMAND_LINE with its path
HASH_BASIS = "SHA1 (certutil -hashfile, its default algorithm: no SHA-256 on Windows 2003 without KB938397/KB968730)"
_HEX = re.compile(r"^[0-9a-f]{2}(?: ?[0-9a-f]{2}){19}$", re.IGNORECASE)


class CmdRoute:
    """A host's remediation steps by cmd.exe lines over one transport (the counterpart of
    :class:`winremedy.remediate.routes.PsRoute`)."""

    def __init__(self, transport: Transport) -> None:
        self.transport, self.host = transport, transport.host

    # --- ownership -------------------------------------------------------------------------------

    def secure_folder(self, kb: str | None = None) -> None:
        """The staging folder exists, with SYSTEM and Administrators alone able to write in it and owning it
        and everything in it; else :class:`StageError` with what is someone else's.

        mkdir and cacls are two commands: a run stopped between them leaves the folder ours (owned by
        Administrators, everything in it too) but with Temp's ACL. Such a folder gets the ACL again: nothing a
        user made can be in it, since a user owns what it creates. Anything someone else owns is refused."""
        names = self._trusted_names(kb)
        if self._owners(kb) is None:
            self._run(f'mkdir "{STAGING_DIR}"', "creating the staging folder", kb=kb)
            self._lock(names, kb)
        owners, writers = self._foreign(names, kb)
        if writers and not owners:
            self._lock(names, kb)
            owners, writers = self._foreign(names, kb)
        if owners or writers:
            raise StageError(f"{self._where(kb)}{foreign_reason('the staging folder', STAGING_DIR, owners + writers)}",
                             host=self.host, kb=kb)

    def _lock(self, names: list[str], kb: str | None) -> None:
        grants = " ".join(f'"{name}":F' for name in names)
        self._run(f'echo y| cacls "{STAGING_DIR}" /g {grants}', "setting the staging folder's ACL", kb=kb)

    def _foreign(self, names: list[str], kb: str | None) -> tuple[list[str], list[str]]:
        """The other owners of the folder and what is in it, and the others its ACL lets write."""
        owners = self._owners(kb)
        if owners is None:
            raise StageError(f"{self._where(kb)}{STAGING_DIR} is not there after it was created", host=self.host, kb=kb)
        foreign = [f"owner {owner} of {'the folder' if name == '.' else name}"
                   for name, owner in owners.items() if name != ".." and not is_account(owner, names, cut=True)]
        said = self._run(f'cacls "{STAGING_DIR}"', "reading the staging folder's ACL", kb=kb)
        try:
            acl = parse_cacls(decode(said.stdout), self._expanded(STAGING_DIR))
        except ValueError as error:
            raise StageError(f"{self._where(kb)}reading the ACL of {STAGING_DIR}: {error}", host=self.host, kb=kb) from None
        return foreign, [f"write for {e.account}" for e in acl if e.writes() and not is_account(e.account, names)]

    def _trusted_names(self, kb: str | None) -> list[str]:
        """The host's names of SYSTEM and Administrators, looked up by their well-known SIDs."""
        where = " or ".join(f"SID='{sid}'" for sid in TRUSTED_SIDS)
        said = self._run(f'wmic path Win32_Account where "{where}" get Name,SID /format:list', "naming SYSTEM and "
                         "Administrators", kb=kb)
        names = {r.get("SID", ""): r.get("Name", "") for r in wmic_records(decode(said.stdout))}
        if not all(names.get(sid) for sid in TRUSTED_SIDS):
            raise StageError(f"{self._where(kb)}wmic named no account for {', '.join(s for s in TRUSTED_SIDS if not names.get(s))}",
                             host=self.host, kb=kb)
        return [names[sid] for sid in TRUSTED_SIDS]

    def _owners(self, kb: str | None) -> dict[str, str] | None:
        """The owner of the staging folder (``.``) and of each entry in it; None when there is no such folder."""
        listed = self.transport.run_cmd(f'dir /a /q /-c "{STAGING_DIR}"')
        if listed.rc != 0:
            return None
        owners = parse_dir_owners(decode(listed.stdout))
        if "." not in owners:
            raise StageError(f"{self._where(kb)}dir /q showed no owner of {STAGING_DIR}", host=self.host, kb=kb)
        return owners

    def verify_lines(self, entry: Entry, staged_path: str) -> list[str]:
        """The SYSTEM task's own check, right before the installer: certutil's SHA-1 of the package must be one of
        the lines of ``<package>.sha1`` (written at staging), else the task ends with 0x80096010."""
        digests = batch_quoted(staged_path + DIGEST_SUFFIX)
        return [f"certutil -hashfile {batch_quoted(staged_path)} | findstr /l /i /g:{digests} >nul "
                f"|| cmd /c exit {BAD_DIGEST - (1 << 32)} {ON_FAILURE}"]  # exit takes it signed

    # --- stage ---------------------------------------------------------------------------------

    def stage(self, source: Source, entry: Entry) -> StageResult:
        """Push ``entry`` (echo + certutil -decode), check its SHA-1 on the host, then rename it into place."""
        if source.kind == "url" or source.repo is None:
            raise StageError(f"{self.host}: {entry.kb}: a host without PowerShell has no downloader: stage by push "
                             "or from a UNC share", host=self.host, kb=entry.kb)
        local = source.repo / entry.file
        path = staged_path(entry.file)
        expected = sha1_of(local)
        self.secure_folder(entry.kb)
        if self._sha1_on_host(path) == expected:
            self.write_file(path + DIGEST_SUFFIX, _digest_lines(expected), kb=entry.kb)
            return StageResult(path, False, "present", entry.sha256, None, 0, HASH_BASIS)
        part = path + PART_SUFFIX
        sent = 0
        if source.kind == "push":
            data = local.read_bytes()
            self.write_file(part, data, kb=entry.kb)
            sent = len(data)
        else:
            self._copy(source.remote(entry.file), part, entry.kb)
        found = self._sha1_on_host(part)
        if found != expected:
            self._run(f'del /f /q "{part}"', "deleting the partial file")
            raise StageError(f"{self.host}: {entry.kb}: {entry.file} arrived with SHA-1 {found}, expected {expected}; "
                             f"{part} was deleted", host=self.host, kb=entry.kb)
        self._run(f'del /f /q "{path}" 2>nul & move /y "{part}" "{path}"', f"renaming {part}", kb=entry.kb)
        self.write_file(path + DIGEST_SUFFIX, _digest_lines(expected), kb=entry.kb)
        return StageResult(path, True, source.kind, entry.sha256, None, sent, HASH_BASIS)

    def _copy(self, remote: str, part: str, kb: str) -> None:
        """``copy`` from the share; "Access is denied" from a WinRS logon is the double hop, said so."""
        self._run(f'del /f /q "{part}" 2>nul & ver', "preparing", kb=kb)
        copied = self.transport.run_cmd(f'copy /y "{remote}" "{part}"')
        if copied.rc != 0:
            said = " ".join(decode(copied.stderr + copied.stdout).split())
            hint = DOUBLE_HOP if "denied" in said else ""
            raise StageError(f"{self.host}: {kb}: copying {remote} to {part} failed (exit {copied.rc}): {said}{hint}",
                             host=self.host, kb=kb)

    def write_file(self, path: str, data: bytes, *, kb: str | None = None) -> None:
        """``path`` on the host holds exactly ``data``: base64 by echo lines into ``<path>.b64``, then decoded."""
        text = base64.b64encode(data).decode("ascii")
        b64 = path + ".b64"
        self._run(f'del /f /q "{b64}" "{path}" 2>nul & ver', "preparing", kb=kb)
        for start in range(0, len(text), _ECHO_CHARS):
            line = f'echo {text[start:start + _ECHO_CHARS]} >>"{b64}"'
            assert len(line) <= MAX_COMMAND_LINE, line[:80]
            self._run(line, f"writing {b64}", kb=kb)
        self._run(f'certutil -decode "{b64}" "{path}" & del /f /q "{b64}"', f"decoding {b64}", kb=kb)

    def _sha1_on_host(self, path: str) -> str | None:
        result = self.transport.run_cmd(f'certutil -hashfile "{path}"')
        lines = [line.strip() for line in decode(result.stdout).split("\n")]
        digest = next((line.replace(" ", "").lower() for line in lines if _HEX.match(line)), None)
        return digest if result.rc == 0 else None

    # --- tasks ---------------------------------------------------------------------------------

    def start_task(self, name: str, lines: Sequence[str], *, at: float | None = None,
                   zone: ZoneInfo | None = None) -> TaskState:
        """Write the batch and register it as a Task Scheduler 1.0 task as SYSTEM: run now (``at`` None), or once at
        the UTC epoch ``at``, given to schtasks in the host's local time (:meth:`_host_local`)."""
        current = self.query_task(name)
        if current.state == "running":
            return current
        base = f"{STAGING_DIR}\\{name}"
        self.secure_folder()
        self._run(f'schtasks /delete /tn {name} /f 2>nul & del /f /q "{base}.run" "{base}.rc" 2>nul & ver',
                  f"clearing task {name}")
        self.write_file(base + ".cmd", batch_text(name, lines).encode("ascii"))
        # /sc once needs a start; one a day in the past never fires by itself (schtasks warns that the task may
        # not run), so a task for now runs once, by /run. (That 2003's schtasks accepts a past date is assumed.)
        when = self._host_local(at, zone) if at is not None else self._host_local() - timedelta(days=1)
        self._run(f'schtasks /create /tn {name} /tr "{self._expanded(base)}.cmd" /ru SYSTEM /sc once '
                  f'/st {schtasks.start_time(when)} /sd {self._start_date(when)}', f"creating task {name}")
        if at is None:
            self._run(f"schtasks /run /tn {name}", f"starting task {name}")
        return self.query_task(name)

    def query_task(self, name: str) -> TaskState:
        """From the batch's own files: ``.rc`` means done (its exit code), ``.run`` running, a task scheduled."""
        base = f"{STAGING_DIR}\\{name}"
        rc = self.transport.run_cmd(f'type "{base}.rc"')
        if rc.rc == 0:
            text = decode(rc.stdout).strip()
            return TaskState(name, "done", int(text) if re.fullmatch(r"-?\d+", text) else None, None)
        if self.transport.run_cmd(f'type "{base}.run"').rc == 0:
            return TaskState(name, "running", None, None)
        exists = self.transport.run_cmd(f"schtasks /query /tn {name}").rc == 0
        return TaskState(name, "scheduled" if exists else "absent", None, None)

    def _host_local(self, at: float | None = None, zone: ZoneInfo | None = None) -> datetime:
        """The host's local wall-clock time now, or at the UTC epoch ``at``.

        cmd.exe shows the host's UTC offset now (:func:`.cmdpower.read_clock`), not its zone's rules. When that
        offset is ``zone``'s now (a maintenance window's zone: the host keeps its time), ``at`` is read in that
        zone, so a daylight-saving change before ``at`` is followed; otherwise by the offset of now.
        """
        clock = read_clock(self.transport)
        if at is not None and zone is not None:
            offset = datetime.fromtimestamp(clock["now"], zone).utcoffset()
            if offset is not None and abs(offset.total_seconds() / 60 - clock["utc_offset"]) < 1:
                return datetime.fromtimestamp(at, zone).replace(tzinfo=None)
        instant = clock["now"] if at is None else at
        return datetime.fromtimestamp(instant + 60 * clock["utc_offset"], timezone.utc).replace(tzinfo=None)

    def _start_date(self, when: datetime) -> str:
        """``when``'s date as schtasks /sd takes it: in the date order of the account's locale."""
        said = self._run(f'reg query "{schtasks.INTERNATIONAL}"', "reading the date order")
        try:
            return schtasks.start_date(when, reg_values(decode(said.stdout)).get("iDate"))
        except ValueError as bad:
            raise RemediationError(f"{self.host}: {bad}", host=self.host) from None

    def _expanded(self, path: str) -> str:
        """schtasks /tr on Windows 2003 takes the path unquoted and unexpanded: the host's %SystemRoot% is put in."""
        variables = environment(decode(self._run("set", "reading the environment").stdout))
        root = next((v for k, v in variables.items() if k.lower() == "systemroot"), None)
        if root is None:
            raise RemediationError(f"{self.host}: cmd.exe's environment has no SystemRoot", host=self.host)
        return path.replace("%SystemRoot%", root)

    # --- services ------------------------------------------------------------------------------

    def restart_service(self, entry: KbEntry) -> None:
        """``net stop`` then ``net start`` of the service ``entry`` names; a failed start is an error naming host,
        KB and service."""
        name, kb = entry.restart_service, entry.kb
        if name is None:
            raise ValueError(f"{kb} names no service to restart (restart: {entry.restart})")
        self.transport.run_cmd(f"net stop {name}")  # a stopped service answers 2; the start below decides
        started = self.transport.run_cmd(f"net start {name}")
        if started.rc != 0:
            raise RemediationError(f"{self.host}: service {name} did not start: net start exited {started.rc}: "
                                   f"{decode(started.stderr + started.stdout).strip()}", host=self.host, kb=kb)

    def service_pid(self, entry: KbEntry) -> int | None:
        """The process id of the service ``entry`` restarts, read by ``sc queryex`` as the cmd.exe audit reads it
        (no WMI); None when the host has no such service (sc's 1060) or it is not running."""
        said = self.transport.run_cmd(f'sc queryex "{entry.restart_service}"')
        try:
            records = sc_records(decode(said.stdout))
            running = [r for r in records if sc_state(r.get("STATE", "")) == "Running"]
        except ValueError as error:
            raise RemediationError(f"{self._where(entry.kb)}reading the process of service {entry.restart_service} "
                                   f"by sc queryex failed (exit {said.rc}): {error}", host=self.host, kb=entry.kb) from None
        pid = running[0].get("PID", "") if running else ""
        return int(pid) if pid.isdigit() and int(pid) else None

    def _where(self, kb: str | None) -> str:
        return f"{self.host}: {kb + ': ' if kb else ''}"

    def _run(self, line: str, doing: str, *, kb: str | None = None) -> Result:
        result = self.transport.run_cmd(line)
        if result.rc != 0:
            said = " ".join(decode(result.stderr + result.stdout).split())[:200]
            raise RemediationError(f"{self.host}: {kb + ': ' if kb else ''}{doing} failed (exit {result.rc}): {said}",
                                   host=self.host, kb=kb)
        return result


def _digest_lines(sha1: str) -> bytes:
    """``<package>.sha1``: the digest as Windows 2003's certutil prints it (bytes apart) and as later ones do."""
    spaced = " ".join(sha1[i:i + 2] for i in range(0, len(sha1), 2))
    return f"{spaced}\r\n{sha1}\r\n".encode("ascii")
