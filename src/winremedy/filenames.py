"""One file name per host, for results, remediation records and journals: injective, bounded, readable.

A host name that is already a plain file name (letters, digits, ``.``, ``_``,
``-``; not hidden; not too long) is used as it is, so ``hosts/w7-0001.json``
stays what an operator expects. Any other name becomes a readable prefix plus
``~`` and a short SHA-256 of the whole name: ``~`` never appears in a plain
name, so ``srv 01`` and ``srv_01`` never share a file, and no name is too long
for the file system (255 bytes on ext4, NTFS and APFS).
"""

from __future__ import annotations

import hashlib
import re

MAX_PLAIN = 100  # characters of a name used as it is (well under 255 bytes with any suffix)
_PLAIN = re.compile(rf"^[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{MAX_PLAIN - 1}}}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PREFIX = 48  # readable characters kept before the hash
_HASH = 12  # hex digits of SHA-256: 48 bits, no collision in any real fleet


def host_file_stem(host: str) -> str:
    """``host`` itself when it is a plain file name, else ``<readable prefix>~<hash>``."""
    if _PLAIN.match(host):
        return host
    readable = _UNSAFE.sub("_", host).lstrip(".")[:_PREFIX]
    digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH]
    return f"{readable}~{digest}"
