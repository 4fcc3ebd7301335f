"""Stage: put the exact package on a host, intact, before anything installs it.

One probe first (free space, and the SHA-256 of whatever is already at the
target path); then, unless the right file is already there, the package is
delivered to ``<path>.part`` by one of three sources and verified *on the
host*: only a ``.part`` whose SHA-256 is the manifest's is renamed to its
real name, anything else is deleted. So a file at the final path is always
the right package, and an interrupted run leaves at most a ``.part``.

* ``push``: the controller sends the file over WinRM in chunks, each written
  at its byte offset (a resent chunk is harmless; a rerun continues after the
  part the host already holds when that part's hash matches the local file's
  prefix, else it restarts at 0). See :func:`chunk_size` for the envelope sums.
* ``url``: the host downloads ``<base URL>/<file>`` with System.Net.WebClient.
  On PowerShell 2.0 / .NET 2.0-3.5 that speaks SSL 3 / TLS 1.0 only unless the
  host has the TLS 1.2 updates for .NET, and it uses the WinRM logon's proxy settings.
* ``unc``: the host copies ``<share>\\<file>``. Over WinRM with NTLM the
  logon cannot pass its credentials to another server (the "double hop"), so
  the share must let the host's computer account (or everyone) read it.

SYSTEM later runs what the staging folder holds (the install task, maybe hours later in a maintenance
window), so the folder is the project's own: created with an ACL of SYSTEM and Administrators alone and
nothing inherited from ``%SystemRoot%\\Temp`` (where every member of Users may create files and owns what it
creates). A folder, package or ``.part`` already there whose owner or a write entry is anyone else's is
refused with the reason, never used, repaired or deleted: a local user prepared it, whatever it holds is
not to be trusted, removing it would race that user (who may create it again at once) and hide the
evidence; the operator looks and deletes it. (A ``.part`` left by an interrupted run of this project is
ours and is continued; so is a folder the cmd.exe route left between its mkdir and its cacls.)

Check mode stops after the probe (and the free-space and ownership checks) and writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import ntpath
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from ..catalog import load_catalog
from ..errors import ProtocolError, RemediationError, RepoError, ScriptFailedError, StageError, WinRemedyError
from ..psdata import decode_frame
from ..repo.manifest import MANIFEST, Entry, Manifest, check_package_name, load_manifest
from ..repo.signature import ROOTS
from ..repo.verify import verify_package
from ..scripts import render
from ..transport.base import Transport
from ..transport.bootstrap import encode_script

# The host's own %SystemRoot%\Temp: Windows 2000 upgrades keep C:\WINNT, and Windows may live on another drive
# ("Recognized environment variables", Microsoft Learn). Batch lines expand it (cmd.exe), the scripts through
# [Environment]::ExpandEnvironmentVariables.
STAGING_DIR = r"%SystemRoot%\Temp\winremedy"
PART_SUFFIX = ".part"
# Beside a committed package: its SHA-1, one digest a line, for the SYSTEM task of a host that can only hash with
# SHA-1 (verify.ps1 under FIPS without .NET 3.5; certutil on Windows 2003, which also reads the spaced form)
DIGEST_SUFFIX = ".sha1"
FREE_MARGIN = 64 * 1024 * 1024  # bytes kept free beyond twice the package (the installer unpacks it)
SOAP_OVERHEAD = 4096  # bytes of a Send envelope around its stream (pywinrm's: 1,745; Ansible adds a few headers)
PARAMS_ALLOWANCE = 2048  # bytes of $WinRemedyArgs besides the chunk: action, paths, offset, SHA-256
# MaxEnvelopeSizekb on WinRM 2.0 (Windows 7 / 2008 R2 and older; 500 from WinRM 3.0), Microsoft Learn:
# "Installation and configuration for Windows Remote Management"; a host variable may say more
WINRM2_ENVELOPE_KB = 150
MANIFEST_TIMEOUT = 30.0  # seconds to fetch a manifest from a URL
# Who may own or write the staging folder and its files, by well-known SID: names are localized (KB157234;
# "Well-known SIDs", Microsoft Learn); what the project creates there is owned by Administrators.
SYSTEM_SID = "S-1-5-18"
ADMINISTRATORS_SID = "S-1-5-32-544"
TRUSTED_SIDS = (SYSTEM_SID, ADMINISTRATORS_SID)
OWNERSHIP = {"trusted": list(TRUSTED_SIDS), "owner": ADMINISTRATORS_SID}  # stage.ps1's parameters for both
DOUBLE_HOP = (
    " (the double hop: a WinRM logon by NTLM, or Kerberos without delegation, has no credentials to pass to the "
    "share; use CredSSP or Kerberos delegation, let the computer accounts read the share, or stage by push or URL)"
)  # "Making the second hop in PowerShell Remoting", Microsoft Learn
_URL = re.compile(r"^https?://", re.IGNORECASE)
NOT_OURS_MARK = " is not ours: "  # how stage.ps1 refuses a folder or file (the lab's stand-in says the same)
NOT_OURS = ("; a local user could change what later runs there as SYSTEM: look at what it holds, delete it "
            "and run again")


@dataclass(frozen=True)
class Source:
    """Where hosts get packages from.

    ``repo`` is the controller's repository (push and unc: the manifest and the
    preflight check); ``location`` the base URL (url) or UNC share (unc).
    """

    kind: str  # "push" | "url" | "unc"
    repo: Path | None
    location: str | None

    def shown(self, place: str) -> str:
        """``place`` (a URL) as messages may show it: without the user and password it may carry."""
        return redact_url(place) if self.kind == "url" else place

    def remote(self, file: str) -> str:
        """Where the host finds ``file``: the URL or UNC path (not for push)."""
        if self.kind == "url":
            return (self.location or "").rstrip("/") + "/" + urllib.parse.quote(file)
        return (self.location or "").rstrip("\\") + "\\" + file


@dataclass(frozen=True)
class StageResult:
    """What :func:`stage` did on one host (``before_sha256`` feeds Ansible's diff mode)."""

    path: str  # where the package is on the host
    changed: bool  # False when the right file was already there
    method: str  # "present" | "push" | "url" | "unc"
    sha256: str
    before_sha256: str | None  # what was at ``path`` before (None: nothing, or not known by SHA-256), for a diff
    bytes_sent: int  # package bytes pushed over WinRM (0 for url, unc, present and check mode)
    basis: str | None = None  # the .NET class the host verified the file with (None: no check ran, check mode)


def open_source(repo: Path | None = None, url: str | None = None, unc: str | None = None) -> tuple[Source, Manifest]:
    """The source and its manifest: ``repo`` alone (push), or ``repo`` with ``unc`` or ``url``.

    The manifest, with the SHA-256 each host checks before anything runs, is always the controller's
    own (``repo``): a server's ``manifest.json`` is only a copy, compared with it before any host is
    touched, never trusted on its own word.
    """
    if url is not None and unc is not None:
        raise WinRemedyError("give a package URL or a UNC share, not both")
    if url is not None:
        _check_url(url)
    if repo is None:
        where = f"{redact_url(url)}: " if url is not None else ""
        raise WinRemedyError(f"{where}no package source: give the repository directory whose manifest pins every "
                             "package (--repo DIR), alone or with the share or URL it was synced to")
    if unc is not None and not re.match(r"^\\\\[^\\]+\\[^\\]+", unc):
        raise WinRemedyError(f"{unc}: not a UNC share (expected \\\\server\\share)")
    if not (repo / MANIFEST).is_file():
        raise RepoError(str(repo), f"no {MANIFEST}: run 'winremedy repo scan {repo}' first")
    manifest = load_manifest(repo)
    if url is not None:
        _check_server_copy(url, manifest)
        return Source("url", repo, url), manifest
    return Source("push" if unc is None else "unc", repo, unc), manifest


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@``: credentials in a URL never reach a message."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"


def staged_path(file: str, directory: str = STAGING_DIR) -> str:
    """Where :func:`stage` puts ``file`` on the host."""
    return ntpath.join(directory, file)


def resolve_source(repo: str | Path | None, unc: str | None = None, url: str | None = None) -> tuple[Source, Manifest]:
    """The one reading of where hosts get packages: ``repo`` a directory on the controller whose manifest pins
    every package (pushed over WinRM; with ``unc`` or ``url``, the local copy of the share or web server hosts
    copy or download from). A URL in ``repo`` is refused: a manifest is never trusted from a server."""
    if repo is not None and _URL.match(str(repo)):
        raise WinRemedyError(f"repo {redact_url(str(repo))} is a URL: hosts download from it, but the manifest that "
                             "pins each package must be a local repository (winremedy repo scan DIR): give its "
                             "directory, with the URL or share it was synced to")
    return open_source(repo=None if repo is None else Path(repo).expanduser(), url=url, unc=unc or None)


def preflight(source: Source, entry: Entry) -> None:
    """Refuse, before anything is planned, a package whose local file is not exactly the manifest's entry.

    The repository's file (for url and unc: the local copy the server was synced from) is verified
    again as ``repo add`` verified it (name, content, signature, catalog), and every field the plan
    relies on must be what that gives: KB, kind, architecture, OS families and builds, size, SHA-256.
    """
    _check_name(entry)
    if source.repo is None:
        raise RepoError(entry.file, "no local repository pins this package")
    path = source.repo / entry.file
    if not path.is_file():
        raise RepoError(str(path), "listed in the manifest but missing")
    actual = verify_package(path, load_catalog(), source.repo / ROOTS)
    for what, found, expected in (
        ("KB", actual.kb, entry.kb), ("kind", actual.kind, entry.kind), ("architecture", actual.arch, entry.arch),
        ("OS", ",".join(actual.os), ",".join(entry.os)), ("builds", _builds(actual), _builds(entry)),
    ):
        if found != expected:
            raise RepoError(str(path), f"{what} mismatch: the content says {found}, the manifest says {expected}")
    if actual.size != entry.size:
        raise RepoError(str(path), f"size differs from the manifest ({actual.size} bytes, the manifest says {entry.size})")
    if actual.sha256 != entry.sha256:
        raise RepoError(str(path), f"SHA-256 differs from the manifest ({actual.sha256}, the manifest says {entry.sha256})")


def _builds(entry: Entry) -> str:
    return ",".join(f"{build.version} SP{build.sp}" for build in entry.builds)


def chunk_size(max_envelope_kb: int) -> int:
    """Package bytes per push command such that the command's whole stdin fits one Send of ``max_envelope_kb``.

    Three base64 layers, each 4 bytes per 3: the chunk inside the script's
    ``$WinRemedyArgs``; the script (UTF-8) on stdin for the bootstrap; stdin
    inside the Send envelope's ``rsp:Stream``. So with E = MaxEnvelopeSize
    minus :data:`SOAP_OVERHEAD`: stdin <= 3E/4, script <= 3(stdin - 2)/4 (the
    CRLF), chunk <= 3(script - the stage script's own text)/4. About 56 KB
    for 150 KB (2008 R2 / WinRM 2.0), 203 KB for 500 KB (2012 and later).
    pywinrm splits stdin into 64 KB Sends anyway, but Ansible's winrm plugin
    sends up to 200,000 bytes per Send: staying inside one Send is what keeps
    a push working through either.
    """
    script = (_stdin_budget(max_envelope_kb) - 2) * 3 // 4
    size = (script - _script_text()) * 3 // 4 // 3 * 3  # a multiple of 3: no base64 padding inside
    if size < 1024:
        raise WinRemedyError(f"MaxEnvelopeSize {max_envelope_kb} KB is too small to push a package in chunks")
    return size


def stage(
    transport: Transport,
    source: Source,
    entry: Entry,
    *,
    max_envelope_kb: int = WINRM2_ENVELOPE_KB,
    check: bool = False,
    directory: str = STAGING_DIR,
) -> StageResult:
    """Make ``directory\\<file>`` on the host exactly ``entry`` (hash checked on the host); see the module doc."""
    _check_name(entry)
    local = None if source.repo is None else source.repo / entry.file
    # no local file (a URL source): a host that can only hash with SHA-1 cannot verify, and nothing is committed
    step = _Step(transport, entry, staged_path(entry.file, directory), None if local is None or not local.is_file()
                 else sha1_of(local))
    probe = step.call({"action": "probe", "directory": directory}, f"probing {step.path}")
    step.refuse_foreign(probe.get("foreign"), directory)
    found = probe.get("file") or {}
    before = found.get("digest") if _is_sha256(found.get("basis")) else None
    if found and step.matches(found):
        return StageResult(step.path, False, "present", entry.sha256, entry.sha256, 0, found.get("basis"))
    step.require_free(int(probe.get("free") or 0))
    if check:
        return StageResult(step.path, True, source.kind, entry.sha256, before, 0)
    if source.kind == "push":
        if source.repo is None:
            raise WinRemedyError("a push source needs its repository directory")
        basis, sent = step.push(source.repo / entry.file, probe.get("part"), max_envelope_kb)
    else:
        remote = source.remote(entry.file)
        verb = "downloading" if source.kind == "url" else "copying"
        shown = source.shown(remote)
        try:
            answer = step.call({"action": source.kind, "source": remote, **step.digests()}, f"{verb} {shown} to {step.part}")
        except StageError as error:
            if source.kind == "unc" and "is denied" in str(error):
                raise StageError(f"{error}{DOUBLE_HOP}", host=error.host, kb=error.kb) from None
            raise
        basis, sent = step.commit(answer, shown), 0
    return StageResult(step.path, True, source.kind, entry.sha256, before, sent, basis)


def secure_folder(transport: Transport, directory: str = STAGING_DIR) -> None:
    """The staging folder exists and is the project's own (created so when missing), before a task's batch is
    written there; a folder someone else owns or may write is refused (:class:`RemediationError` naming host
    and folder)."""
    try:
        output = transport.run_ps(render("stage", {"action": "folder", "directory": directory, **OWNERSHIP}), check=True)
        answer = decode_frame(output.stdout, host=transport.host)
    except (ScriptFailedError, ProtocolError) as failure:
        raise RemediationError(f"{transport.host}: preparing {directory} failed: stage.ps1 did not run: {failure}",
                               host=transport.host) from None
    error = answer.get("error") if isinstance(answer, dict) else "stage.ps1 answered without a result"
    if error:
        hint = NOT_OURS if NOT_OURS_MARK in str(error) else ""
        raise RemediationError(f"{transport.host}: preparing the staging folder {directory} failed: {error}{hint}",
                               host=transport.host)


def foreign_reason(what: str, path: str, reasons: Any) -> str:
    """Why ``path`` is refused: its owner and write entries outside SYSTEM and Administrators."""
    listed = ", ".join(reasons) if isinstance(reasons, list) else str(reasons)
    return f"refusing {what} {path}: {listed}{NOT_OURS}"


class _Step:
    """Calls of stage.ps1 for one host and package, with errors that name both."""

    def __init__(self, transport: Transport, entry: Entry, path: str, sha1: str | None) -> None:
        self.transport = transport
        self.entry = entry
        self.path = path
        self.sha1 = sha1  # of the package, for a host that can only hash with SHA-1; None when not at hand
        self.part = path + PART_SUFFIX
        self.where = f"{transport.host}: {entry.kb}"

    def call(self, params: dict[str, Any], doing: str, budget: int | None = None) -> dict[str, Any]:
        """One script run; a failure on the host becomes a :class:`StageError` saying what was being done.

        ``budget``: the most stdin bytes the command may take (a push chunk must fit one envelope).
        """
        script = render("stage", {**params, "path": self.path, "part": self.part, **OWNERSHIP})
        if budget is not None and len(encode_script(script)) > budget:
            raise self.error(f"the staging path {self.path} is too long: a chunk no longer fits one envelope")
        try:
            output = self.transport.run_ps(script, check=True)
            answer = decode_frame(output.stdout, host=self.transport.host)
        except (ScriptFailedError, ProtocolError) as failure:
            raise self.error(f"{doing} failed: stage.ps1 did not run: {failure}") from None
        if not isinstance(answer, dict):
            raise self.error(f"{doing} failed: stage.ps1 answered {type(answer).__name__}, not an object")
        if answer.get("error"):
            raise self.error(f"{doing} failed: {answer['error']}")
        return answer

    def refuse_foreign(self, foreign: Any, directory: str) -> None:
        """The probe's findings: a staging folder, package or ``.part`` that is not ours stops the stage."""
        if not foreign:
            return
        if not isinstance(foreign, dict):
            raise self.error(f"stage.ps1 reported {foreign!r} as not ours, not an object")
        places = {"folder": ("the staging folder", directory), "file": ("the staged file", self.path),
                  "part": ("the partial file", self.part)}
        for key, (what, path) in places.items():
            if key in foreign:
                raise self.error(foreign_reason(what, path, foreign[key]))
        raise self.error(f"stage.ps1 reported {', '.join(sorted(map(str, foreign)))} as not ours")

    def require_free(self, free: int) -> None:
        need = 2 * self.entry.size + FREE_MARGIN
        if free < need:
            raise self.error(
                f"not enough free disk for {self.entry.file} ({self.entry.size:,} bytes): {need:,} bytes needed "
                f"(twice the package plus {FREE_MARGIN // 2**20} MB) on the drive of {self.path}, {free:,} free"
            )

    def digests(self) -> dict[str, str]:
        """What the host compares the file with, by the class it can use (stage.ps1 picks); with a SHA-1, where
        the commit writes it for the install task."""
        with_sha1 = {"sha1": self.sha1, "digests": self.path + DIGEST_SUFFIX} if self.sha1 else {}
        return {"sha256": self.entry.sha256, **with_sha1}

    def expected(self, basis: Any) -> str | None:
        return self.entry.sha256 if _is_sha256(basis) else self.sha1 if str(basis or "").startswith("SHA1") else None

    def matches(self, state: dict[str, Any]) -> bool:
        expected = self.expected(state.get("basis"))
        return expected is not None and state.get("digest") == expected

    def push(self, local: Path, part: dict[str, Any] | None, max_envelope_kb: int) -> tuple[str, int]:
        """Send ``local`` in chunks from where a matching ``.part`` leaves off; the last chunk commits.
        Returns the hash basis the host verified with and the bytes sent."""
        size, budget = chunk_size(max_envelope_kb), _stdin_budget(max_envelope_kb)
        sent = 0
        with open(local, "rb") as stream:
            offset = _resume_offset(stream, part)
            while True:
                stream.seek(offset)
                chunk = stream.read(size)
                end = offset + len(chunk)
                if not chunk and end < self.entry.size:
                    raise self.error(f"{local} ends at byte {end:,}, the manifest says {self.entry.size:,}: it changed")
                params: dict[str, Any] = {"action": "write", "offset": offset, "data": base64.b64encode(chunk).decode("ascii")}
                if end >= self.entry.size:
                    params |= self.digests()
                answer = self.call(params, f"writing {self.part} at byte {offset:,}", budget)
                if answer.get("size") != end:
                    raise self.error(f"{self.part} has {answer.get('size')} bytes after a write, expected {end:,}")
                sent, offset = sent + len(chunk), end
                if "sha256" in params:
                    return self.commit(answer, f"pushed from {local}"), sent

    def commit(self, answer: dict[str, Any], origin: str) -> str:
        """The basis the host verified the arrived file with; an error unless it matched and was committed."""
        basis = str(answer.get("basis") or "")
        expected = self.expected(basis)
        if expected is None:
            raise self.error(
                f"{self.entry.file} could not be verified on the host: it hashes with {basis or 'nothing'} (the FIPS "
                f"policy forbids SHA256Managed and .NET 3.5 is missing) and no such digest of the package is at hand "
                f"({origin}); the partial file {self.part} was deleted"
            )
        if answer.get("committed") is not True or answer.get("digest") != expected:
            raise self.error(
                f"{self.entry.file} arrived with {basis} digest {answer.get('digest')}, expected {expected} "
                f"({origin}); the partial file {self.part} was deleted"
            )
        return basis

    def error(self, what: str) -> StageError:
        return StageError(f"{self.where}: {what}", host=self.transport.host, kb=self.entry.kb)


def _check_name(entry: Entry) -> None:
    """A manifest edited by hand must not steer a write outside the staging folder, or a batch line."""
    check_package_name(entry.file, repr(entry.file) if not entry.file.isprintable() else entry.file)


def _resume_offset(stream: BinaryIO, part: dict[str, Any] | None) -> int:
    """The size of the host's ``.part`` when it is a prefix of the local file (by the host's digest), else 0."""
    if not part or not part.get("size"):
        return 0
    size = int(part["size"])
    stream.seek(0)
    prefix = stream.read(size)
    digest = hashlib.sha256 if _is_sha256(part.get("basis")) else hashlib.sha1
    return size if len(prefix) == size and digest(prefix).hexdigest() == part.get("digest") else 0


def _is_sha256(basis: Any) -> bool:
    return str(basis or "").startswith("SHA256")


def sha1_of(path: Path) -> str:
    """The package's SHA-1, for hosts that can only hash with SHA-1 (FIPS without .NET 3.5; Windows 2003's certutil)."""
    digest = hashlib.sha1()  # noqa: S324 - compared with the host's, after the manifest's SHA-256 was checked here
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stdin_budget(max_envelope_kb: int) -> int:
    """Stdin bytes whose base64 fits one Send envelope of ``max_envelope_kb``."""
    return (max_envelope_kb * 1024 - SOAP_OVERHEAD) * 3 // 4


@cache
def _script_text() -> int:
    """Bytes of the rendered stage script around an empty chunk, plus the allowance for its parameters."""
    return len(render("stage", {"data": ""}).encode("utf-8")) + PARAMS_ALLOWANCE


def _check_url(url: str) -> None:
    """An http(s) URL a host can download from; the error never repeats credentials in it."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise WinRemedyError(f"{redact_url(url)}: not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WinRemedyError(f"{redact_url(url)}: not an http(s) URL")
    if any(character.isspace() or not character.isprintable() for character in url):
        raise WinRemedyError(f"{redact_url(url)!r}: not a valid URL (spaces or control characters; %-encode them)")


def _check_server_copy(url: str, pins: Manifest) -> None:
    """The server's ``manifest.json``, if it has one, must agree with the local pins on every file both list."""
    server = _fetch_manifest(url)
    if server is None:
        return
    for entry in server.entries:
        pinned = pins.get(entry.file)
        if pinned is not None and (pinned.sha256, pinned.size) != (entry.sha256, entry.size):
            raise RepoError(
                f"{redact_url(url.rstrip('/'))}/{MANIFEST}",
                f"{entry.file}: the server lists SHA-256 {entry.sha256}, the local repository pins {pinned.sha256}; "
                "sync the server again (winremedy repo sync) before using it",
            )


def _fetch_manifest(url: str) -> Manifest | None:
    """``<url>/manifest.json`` read by the repository's own loader; None when the server has none (HTTP 404)."""
    where = f"{url.rstrip('/')}/{MANIFEST}"
    shown = redact_url(where)
    try:
        with urllib.request.urlopen(where, timeout=MANIFEST_TIMEOUT) as response:  # noqa: S310 - scheme checked
            data = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise RepoError(shown, f"cannot fetch the manifest: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise RepoError(shown, f"cannot fetch the manifest: {getattr(error, 'reason', error)}") from None
    with tempfile.TemporaryDirectory(prefix="winremedy-manifest-") as temporary:
        (Path(temporary) / MANIFEST).write_bytes(data)
        try:
            return load_manifest(Path(temporary))
        except RepoError as error:
            raise RepoError(shown, error.reason) from None

