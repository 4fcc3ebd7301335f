"""What an update.exe's own PE image says it is: the strings of its version resource (VERSIONINFO).

A Windows 2003 hotfix or service pack installer is a signed self-extractor whose
version resource describes the package ("Hotfix for Windows Server 2003
(KB903927)", its original file name). That is one more identity source inside
the package, beside the CAB's update.inf or update.mum, and must agree with it.
The resource is read by ``pefile`` (a maintained PE parser), never by hand.
Microsoft documents the resource's layout ("VS_VERSIONINFO structure",
Microsoft Learn); every Microsoft binary carries one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pefile

from ..errors import RepoError

_RESOURCE = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]


@dataclass(frozen=True)
class VersionResource:
    """The string table of a PE's version resource (FileDescription, OriginalFilename, ...) and its fixed version."""

    strings: dict[str, str]
    file_version: str  # VS_FIXEDFILEINFO's dwFileVersionMS/LS as a.b.c.d


def read_version_resource(path: Path, label: str) -> VersionResource:
    """The version resource of the PE at ``path``; a :class:`RepoError` naming ``label`` when there is none."""
    try:
        image = pefile.PE(str(path), fast_load=True)
    except pefile.PEFormatError as error:
        raise RepoError(label, f"not a valid PE image ({error.value})") from None
    try:
        image.parse_data_directories(directories=[_RESOURCE])
        strings = {
            _text(key): _text(value)
            for info in getattr(image, "FileInfo", None) or []
            for block in info
            if getattr(block, "Key", b"") == b"StringFileInfo"
            for table in block.StringTable
            for key, value in table.entries.items()
        }
        fixed = (getattr(image, "VS_FIXEDFILEINFO", None) or [None])[0]
    finally:
        image.close()
    if not strings or fixed is None:
        raise RepoError(label, "the PE has no version resource (VERSIONINFO): its identity cannot be cross-checked")
    version = ".".join(str(part) for part in (fixed.FileVersionMS >> 16, fixed.FileVersionMS & 0xFFFF,
                                              fixed.FileVersionLS >> 16, fixed.FileVersionLS & 0xFFFF))
    return VersionResource(strings, version)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
