"""A host's small file system, for packages staged by the remediation and files scripts write.

Windows paths are case-insensitive and arrive with environment variables or
either slash; they are normalised once here so that every caller sees the
same file whatever spelling it used.
"""

from __future__ import annotations

import ntpath

_ENVIRONMENT = {
    "%systemroot%": "C:\\Windows",
    "%windir%": "C:\\Windows",
    "%systemdrive%": "C:",
    "%temp%": "C:\\Windows\\Temp",
    "%programfiles%": "C:\\Program Files",
}


def normalize(path: str) -> str:
    """``%SystemRoot%/Temp/x.MSU`` -> ``c:\\windows\\temp\\x.msu`` (the key files are stored under)."""
    lowered = path.replace("/", "\\").lower()
    for variable, value in _ENVIRONMENT.items():
        lowered = lowered.replace(variable, value.lower())
    return ntpath.normpath(lowered)


class FileSystem:
    """Files by normalised path; each keeps the spelling it was written with."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[str, bytes]] = {}

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        key = normalize(path)
        previous = self._files.get(key, (path, b""))[1] if append else b""
        self._files[key] = (path, previous + data)

    def read(self, path: str) -> bytes | None:
        entry = self._files.get(normalize(path))
        return entry[1] if entry else None

    def exists(self, path: str) -> bool:
        return normalize(path) in self._files

    def delete(self, path: str) -> bool:
        return self._files.pop(normalize(path), None) is not None

    def listdir(self, directory: str) -> list[str]:
        """Paths (as written) of the files directly inside ``directory``."""
        folder = normalize(directory)
        return sorted(name for key, (name, _) in self._files.items() if ntpath.dirname(key) == folder)
