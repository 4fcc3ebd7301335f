"""The lab's answer to ``scripts/verify.ps1``: the install task hashes the staged package before the installer.

It answers by exit code alone, as the script does: 0 when ``path`` has the SHA-256 ``sha256``,
0x80096010 (TRUST_E_BAD_DIGEST) when it has another, 0x80070002 (file not found) when there is none,
the class chosen as stage.ps1 chooses it (:func:`winremedy.lab.stage.hasher`): on a host that hashes with
SHA-1 (FIPS without .NET 3.5) the digest is compared with the lines of ``digests``, and without that
file the answer is 0x80090008 (NTE_BAD_ALGID).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .api import CommandResult
from .host import HostModel
from .stage import hasher

BAD_DIGEST = 0x80096010
FILE_NOT_FOUND = 0x80070002
BAD_ALGID = 0x80090008


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    path = str(params.get("path", ""))
    data = host.fs.read(path)
    if data is None:
        return CommandResult(b"", b"", FILE_NOT_FOUND)
    expected = [str(params.get("sha256", "")).lower()]
    digest = hashlib.sha256(data).hexdigest()
    if hasher(host).startswith("SHA1"):
        digests = host.fs.read(str(params.get("digests", "")))
        if digests is None:
            return CommandResult(b"", b"", BAD_ALGID)
        expected = digests.decode("ascii", "replace").lower().split()
        digest = hashlib.sha1(data).hexdigest()  # noqa: S324 - what verify.ps1 computes on such a host
    matches = digest in expected
    return CommandResult(b"", b"", 0 if matches else BAD_DIGEST)
