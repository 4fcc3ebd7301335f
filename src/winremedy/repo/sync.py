"""Copy a repository to a distribution server over SSH (fabric), checking every byte on the far side.

Only files whose SHA-256 on the far side differs from the manifest's are
uploaded (each to a temporary name, then renamed). After the uploads the far
side's ``sha256sum`` must agree with the manifest for every file, and only then
is ``manifest.json`` written, last: a server whose manifest lists a file always
holds that file intact. The host key must be known (``known_hosts``); an
unknown server is refused rather than trusted on first use.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paramiko
from fabric import Connection

from ..errors import RepoError
from .manifest import MANIFEST, Manifest
from .repository import check

_SHA256_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_SAFE_NAME = re.compile(r"^[^/\\\n\0]+$")
CONNECT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Target:
    """``ssh://user@host:port/path``; ``path`` is absolute on the far side."""

    url: str
    user: str | None
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class SyncResult:
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]


def parse_target(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname or not parts.path.startswith("/"):
        raise RepoError(url, "not a sync target: use ssh://user@host[:port]/absolute/path")
    try:
        port = parts.port or 22
    except ValueError:
        raise RepoError(url, "not a sync target: the port is not a number") from None
    return Target(url, unquote(parts.username) if parts.username else None, parts.hostname, port, unquote(parts.path).rstrip("/") or "/")


def sync(directory: Path, url: str, identity: Path | None = None, known_hosts: Path | None = None) -> SyncResult:
    """Make the far side hold exactly the manifest's files (extra files there are left alone), manifest last."""
    manifest = check(directory)
    for entry in manifest.entries:
        if not _SAFE_NAME.match(entry.file):
            raise RepoError(str(directory / MANIFEST), f"unsafe file name for a remote copy: {entry.file!r}")
    target = parse_target(url)
    with _connect(target, identity, known_hosts) as connection:
        _run(connection, target, f"mkdir -p -- {shlex.quote(target.path)}")
        before = _remote_hashes(connection, target, manifest)
        changed = [e for e in manifest.entries if before.get(e.file) != e.sha256]
        for entry in changed:
            _put(connection, target, directory / entry.file)
        _verify_remote(connection, target, manifest, _remote_hashes(connection, target, manifest, [e.file for e in changed]))
        _put(connection, target, directory / MANIFEST)
        _run(connection, target, _moves(target, [MANIFEST]))
    return SyncResult(tuple(e.file for e in changed), tuple(e.file for e in manifest.entries if e not in changed))


def _connect(target: Target, identity: Path | None, known_hosts: Path | None) -> Connection:
    connect_kwargs: dict[str, object] = {"allow_agent": identity is None, "look_for_keys": identity is None}
    if identity is not None:
        connect_kwargs["key_filename"] = str(identity)
    connection = Connection(target.host, user=target.user, port=target.port, connect_timeout=CONNECT_TIMEOUT, connect_kwargs=connect_kwargs)
    connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        if known_hosts is not None:
            connection.client.load_host_keys(str(known_hosts))
        else:
            connection.client.load_system_host_keys()
        connection.open()
    except (OSError, paramiko.SSHException) as error:
        raise RepoError(target.url, f"cannot connect: {error or type(error).__name__}") from None
    return connection


def _run(connection: Connection, target: Target, command: str, ok: tuple[int, ...] = (0,)) -> str:
    try:
        result = connection.run(command, hide=True, warn=True, in_stream=False)
    except (OSError, paramiko.SSHException) as error:
        raise RepoError(target.url, f"lost the connection running {command.split()[0]}: {error}") from None
    if result.exited not in ok:
        raise RepoError(target.url, f"{command.split()[0]} failed on the far side (exit {result.exited}): {result.stderr.strip()[:300]}")
    return str(result.stdout)


def _remote_hashes(connection: Connection, target: Target, manifest: Manifest, moved: list[str] | None = None) -> dict[str, str]:
    """SHA-256 of the manifest's files on the far side, after renaming the ``moved`` uploads into place.

    One command per call: each SSH command costs a session on the far side. Files not there are
    absent from the answer (sha256sum exits 1); a failed ``cd`` or ``mv`` exits 3.
    """
    if not manifest.entries:
        return {}
    names = " ".join(shlex.quote(e.file) for e in manifest.entries)
    output = _run(connection, target, f"{_moves(target, moved or [])}; sha256sum -- {names}", ok=(0, 1))
    return {match[2]: match[1] for line in output.splitlines() if (match := _SHA256_LINE.match(line))}


def _verify_remote(connection: Connection, target: Target, manifest: Manifest, remote: dict[str, str]) -> None:
    for entry in manifest.entries:
        if remote.get(entry.file) != entry.sha256:
            found = remote.get(entry.file, "no file")
            raise RepoError(
                f"{target.url.rstrip('/')}/{entry.file}",
                f"hash mismatch on the far side after upload (expected {entry.sha256}, sha256sum says {found}); manifest not written",
            )


def _put(connection: Connection, target: Target, local: Path) -> None:
    """Upload to ``.name.part``: the far side never holds a half-written file under its real name."""
    try:
        connection.put(str(local), remote=f"{target.path}/{partial_name(local.name)}")
    except (OSError, paramiko.SSHException) as error:
        raise RepoError(f"{target.url.rstrip('/')}/{local.name}", f"upload failed: {error}") from None


def _moves(target: Target, names: list[str]) -> str:
    """``cd`` to the target and rename each uploaded ``.name.part`` to ``name``; any failure exits 3."""
    steps = [f"cd -- {shlex.quote(target.path)} || exit 3"]
    steps += [f"mv -f -- {shlex.quote(partial_name(name))} {shlex.quote(name)} || exit 3" for name in names]
    return "; ".join(steps)


def partial_name(name: str) -> str:
    return f".{name}.part"
