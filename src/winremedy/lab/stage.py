"""The lab's answer to ``scripts/stage.ps1``: packages land in the host's file system, never on the controller's disk.

Each action does what the script does on Windows, against the host model:
``probe`` reads free space (``host.free_disk``) and hashes ``host.fs`` files;
``write`` puts a chunk at its offset; ``url`` really fetches the URL with
urllib; ``unc`` reads from ``host.shares`` (UNC prefix -> controller
directory; ``winremedy lab up`` shares DIR/repo as :data:`LAB_SHARE`, and as
:data:`LAB_USERS_SHARE`, which only a logon with delegated credentials can read,
and serves it over HTTP with ``lab.repository.RepositoryServer``).
Failures carry the text Windows would give (WebClient's "The remote server
returned an error: (404) Not Found.", "The network path was not found.").
Free space falls as files are written and rises as they are deleted.
Owners and ACLs are the file system's (``lab.filesystem``): ``probe`` reports what in the staging folder is
not the project's own (an owner or a writer outside ``trusted``, the SIDs the controller sends); ``write``,
``url``, ``unc`` and ``folder`` create a missing folder with the project's ACL (SYSTEM and Administrators
only) and refuse a folder or file that is not its own, as the script does.
Files are hashed as the script hashes them on this host (:func:`hasher`): the FIPS
policy and the .NET versions of the host decide the class, and so the digest.

The fetch blocks: the WS-Management server calls ``host.run`` on its asyncio
loop, so an ``url`` step holds every host of that loop for as long as the
download takes. It is bounded by :data:`FETCH_TIMEOUT`, and the HTTP server
must not run on that same loop (it would wait for itself until the timeout):
tests serve packages from a ``ThreadingHTTPServer`` in another thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import ntpath
import socket
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ..psdata import FRAME_SENTINEL
from .acltools import labelled
from .api import LOGON_DELEGATED, CommandResult
from .filesystem import ADMINISTRATORS, PRIVATE, Security
from .host import HostModel

LAB_SHARE = "\\\\winremedy-lab\\repo"  # readable by everyone, the hosts' computer accounts included
LAB_USERS_SHARE = "\\\\winremedy-lab\\users"  # the same files, readable by domain users only: a second hop
USERS_ONLY = {LAB_USERS_SHARE.lower()}
FETCH_TIMEOUT = 10.0  # seconds; the whole lab waits while a host downloads
_NO_SPACE = "There is not enough space on the disk."


class _Failure(Exception):
    """A step failed with the message Windows would print."""


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    """What stage.ps1 prints on this host for ``params``."""
    action = params.get("action")
    result: dict[str, Any] = {"action": action}
    try:
        if action == "probe":
            result |= {"free": host.free_disk, "file": _state(host, params["path"]), "part": _state(host, params["part"]),
                       "foreign": _foreign_of(host, params)}
        elif action == "folder":
            _private_folder(host, params)
        elif _committed_already(host, params):
            chunk = base64.b64decode(params.get("data") or "")
            result |= {"size": int(params["offset"]) + len(chunk), "basis": hasher(host),
                       "digest": _expected(host, params), "committed": True}
        else:
            _private_folder(host, params)
            result["size"] = _write(host, params) if action == "write" else _receive(host, params)
            if params.get("sha256"):
                result |= _commit(host, params["part"], params["path"], _expected(host, params))
                if result["committed"] and params.get("digests"):
                    host.fs.write(params["digests"], str(params.get("sha1", "")).encode("ascii"))
    except _Failure as failure:
        result["error"] = str(failure)
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0)


def hasher(host: HostModel) -> str:
    """The class stage.ps1 ends up hashing with: SHA256CryptoServiceProvider lives in System.Core 3.5
    (dotnet-api-docs, SHA256CryptoServiceProvider); SHA256Managed throws under the FIPS policy
    ("This implementation is not part of the Windows Platform FIPS validated cryptographic algorithms.");
    SHA1CryptoServiceProvider (CryptoAPI) is validated and in .NET 2.0."""
    if "3.5" in host.spec.dotnet:
        return "SHA256CryptoServiceProvider"
    return "SHA1CryptoServiceProvider" if host.spec.fips else "SHA256Managed"


def _digest(host: HostModel, data: bytes) -> str:
    if hasher(host).startswith("SHA1"):
        return hashlib.sha1(data).hexdigest()  # noqa: S324 - what the host computes; compared, not trusted alone
    return hashlib.sha256(data).hexdigest()


def _state(host: HostModel, path: str) -> dict[str, Any] | None:
    data = host.fs.read(path)
    return None if data is None else {"size": len(data), "basis": hasher(host), "digest": _digest(host, data)}


def _committed_already(host: HostModel, params: dict[str, Any]) -> bool:
    """A final chunk sent again (its answer was lost) after its commit renamed ``.part`` into place."""
    if params.get("action") != "write" or not params.get("sha256") or host.fs.exists(params["part"]):
        return False
    state, expected = _state(host, params["path"]), _expected(host, params)
    return state is not None and expected is not None and state["digest"] == str(expected).lower()


def _expected(host: HostModel, params: dict[str, Any]) -> str | None:
    """The digest stage.ps1 compares with, by the class the host hashes with."""
    return params.get("sha1") if hasher(host).startswith("SHA1") else params["sha256"]


def _trusted(params: dict[str, Any]) -> frozenset[str]:
    return frozenset(str(sid) for sid in params.get("trusted") or ())


def _foreign(host: HostModel, path: str, trusted: frozenset[str], *, folder: bool = False) -> list[str]:
    security = host.fs.folder(path) if folder else host.fs.file_security(path)
    return [] if security is None else security.foreign(trusted, lambda sid: labelled(host, sid))


def _foreign_of(host: HostModel, params: dict[str, Any]) -> dict[str, list[str]]:
    """What of the staging folder, the package and its ``.part`` is not the project's own (stage.ps1's probe)."""
    trusted = _trusted(params)
    found = {"folder": _foreign(host, params["directory"], trusted, folder=True),
             "file": _foreign(host, params["path"], trusted), "part": _foreign(host, params["part"], trusted)}
    return {what: reasons for what, reasons in found.items() if reasons}


def _private_folder(host: HostModel, params: dict[str, Any]) -> None:
    """Create the folder with SYSTEM and Administrators alone if it is missing; refuse one, or a file to be
    written, that is not the project's own."""
    folder = ntpath.dirname(str(params.get("part") or params["directory"] + "\\"))
    host.fs.make_folder(folder, Security(ADMINISTRATORS, PRIVATE))
    trusted = _trusted(params)
    for path, is_folder in ((folder, True), (params.get("part"), False), (params.get("path"), False)):
        reasons = _foreign(host, path, trusted, folder=is_folder) if path else []
        if reasons:
            raise _Failure(f"{path} is not ours: {', '.join(reasons)}")


def _write(host: HostModel, params: dict[str, Any]) -> int:
    part, offset = params["part"], int(params["offset"])
    try:
        chunk = base64.b64decode(params["data"], validate=True)
    except (binascii.Error, ValueError):
        raise _Failure("Invalid character in a Base-64 string.") from None
    existing = host.fs.read(part) or b""
    if len(existing) < offset:
        _put(host, part, existing)  # OpenOrCreate has created it
        raise _Failure(f"{part} has {len(existing)} bytes, the chunk starts at byte {offset}")
    return _put(host, part, existing[:offset] + chunk)


def _receive(host: HostModel, params: dict[str, Any]) -> int:
    source, part = params["source"], params["part"]
    data = _download(source) if params.get("action") == "url" else _from_share(host, source)
    return _put(host, part, data)


def _download(url: str) -> bytes:
    """The URL's body, or the message of the WebException System.Net.WebClient would throw."""
    if not url.lower().startswith(("http://", "https://")):
        raise _Failure("The URI prefix is not recognized.")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - http(s) only, checked above
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        raise _Failure(f"The remote server returned an error: ({error.code}) {_status_text(error)}.") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, socket.gaierror):
            raise _Failure(f"The remote name could not be resolved: '{urllib.parse.urlsplit(url).hostname}'") from None
        if isinstance(reason, TimeoutError):
            raise _Failure("The operation has timed out") from None
        raise _Failure("Unable to connect to the remote server") from None
    except TimeoutError:
        raise _Failure("The operation has timed out") from None


def _status_text(error: urllib.error.HTTPError) -> str:
    """.NET names a known status in its own words (404: "Not Found"), else repeats the server's."""
    try:
        return HTTPStatus(error.code).phrase
    except ValueError:
        return str(error.reason)


def read_share(host: HostModel, source: str) -> tuple[bytes | None, str]:
    """A file under one of the lab's shares, or None and why not (cmd.exe's ``copy``)."""
    try:
        return _from_share(host, source), ""
    except _Failure as failure:
        return None, str(failure)


def _from_share(host: HostModel, source: str) -> bytes:
    """A file under one of the lab's shares, as File.Copy reads ``\\\\server\\share\\file``."""
    wanted = source.lower()
    for share, directory in host.shares.items():
        prefix = share.rstrip("\\").lower() + "\\"
        if not wanted.startswith(prefix):
            continue
        if share.lower() in USERS_ONLY and not LOGON_DELEGATED.get():
            raise _Failure(f"Access to the path '{source}' is denied.")  # opened anonymously: no credentials to pass
        relative = Path(*source[len(prefix):].split("\\"))
        local = Path(directory) / relative
        if ".." in relative.parts or not local.is_file():
            raise _Failure(f"Could not find file '{source}'.")
        return local.read_bytes()
    raise _Failure("The network path was not found.")


def _commit(host: HostModel, part: str, path: str, expected: str | None) -> dict[str, Any]:
    """Hash ``part``: a match is renamed over ``path``, anything else (no digest to compare: too) is deleted."""
    data = host.fs.read(part) or b""
    found = {"basis": hasher(host), "digest": _digest(host, data)}
    if not expected or found["digest"] != expected.lower():
        _delete(host, part)
        return found | {"committed": False}
    _delete(host, path)
    host.fs.move(part, path)  # a rename: free space does not change, the owner stays
    host.counters.stages += 1
    return found | {"committed": True}


def _put(host: HostModel, path: str, data: bytes) -> int:
    """Replace ``path`` with ``data`` if its drive exists and has room for the growth."""
    if not host.fs.has_drive(path):
        raise _Failure(f"Could not find a part of the path '{path}'.")  # DirectoryNotFoundException
    growth = len(data) - len(host.fs.read(path) or b"")
    if growth > host.free_disk:
        raise _Failure(_NO_SPACE)
    host.fs.write(path, data)
    host.free_disk -= growth
    host.counters.bytes_staged += max(growth, 0)
    return len(data)


def _delete(host: HostModel, path: str) -> None:
    data = host.fs.read(path)
    if data is not None and host.fs.delete(path):
        host.free_disk += len(data)
