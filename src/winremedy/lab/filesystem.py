"""A host's small file system, for packages staged by the remediation and files scripts write.

Windows paths are case-insensitive and arrive with environment variables or
either slash; they are normalised once here so that every caller sees the
same file whatever spelling it used. ``%SystemRoot%`` is the host's own:
Windows 2000 installed to ``C:\\WINNT`` and an in-place upgrade to 2003 keeps
that folder, and Windows may live on another drive ("Recognized environment
variables", Microsoft Learn: %SystemRoot% and %SystemDrive% name wherever it
is). The host has only the drive Windows lives on, so a path written for
another host's layout names a drive that is not there.
"""

from __future__ import annotations

import ntpath

from ..inbox import DEFAULT_SYSTEM_ROOT


def environment(system_root: str) -> dict[str, str]:
    """The variables a path may use on a host whose Windows lives in ``system_root``."""
    drive = ntpath.splitdrive(system_root)[0]
    return {
        "SystemRoot": system_root,
        "windir": system_root,
        "SystemDrive": drive,
        "TEMP": f"{system_root}\\Temp",
        "ProgramFiles": f"{drive}\\Program Files",
    }


class FileSystem:
    """Files by normalised path; each keeps the spelling it was written with."""

    def __init__(self, system_root: str = DEFAULT_SYSTEM_ROOT) -> None:
        self._files: dict[str, tuple[str, bytes]] = {}
        self._variables = {f"%{name.lower()}%": value.lower() for name, value in environment(system_root).items()}
        self.drive = ntpath.splitdrive(system_root)[0].lower()

    def normalize(self, path: str) -> str:
        """``%SystemRoot%/Temp/x.MSU`` -> ``c:\\windows\\temp\\x.msu`` (the key files are stored under)."""
        lowered = path.replace("/", "\\").lower()
        for variable, value in self._variables.items():
            lowered = lowered.replace(variable, value)
        return ntpath.normpath(lowered)

    def has_drive(self, path: str) -> bool:
        """Whether ``path`` is on the host's one drive (a UNC or relative path is not this model's to judge)."""
        drive = ntpath.splitdrive(self.normalize(path))[0]
        return not drive or drive.startswith("\\\\") or drive == self.drive

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        key = self.normalize(path)
        previous = self._files.get(key, (path, b""))[1] if append else b""
        self._files[key] = (path, previous + data)

    def read(self, path: str) -> bytes | None:
        entry = self._files.get(self.normalize(path))
        return entry[1] if entry else None

    def exists(self, path: str) -> bool:
        return self.normalize(path) in self._files

    def delete(self, path: str) -> bool:
        return self._files.pop(self.normalize(path), None) is not None

    def listdir(self, directory: str) -> list[str]:
        """Paths (as written) of the files directly inside ``directory``."""
        folder = self.normalize(directory)
        return sorted(name for key, (name, _) in self._files.items() if ntpath.dirname(key) == folder)
