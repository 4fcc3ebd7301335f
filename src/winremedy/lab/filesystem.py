"""A host's small file system, for packages staged by the remediation and files scripts write.

Windows paths are case-insensitive and arrive with environment variables or
either slash; they are normalised once here so that every caller sees the
same file whatever spelling it used. ``%SystemRoot%`` is the host's own:
Windows 2000 installed to ``C:\\WINNT`` and an in-place upgrade to 2003 keeps
that folder, and Windows may live on another drive ("Recognized environment
variables", Microsoft Learn: %SystemRoot% and %SystemDrive% name wherever it
is). The host has only the drive Windows lives on, so a path written for
another host's layout names a drive that is not there.

Who owns each file and who may write in a folder is modelled by well-known SIDs (:class:`Security`),
enough to tell the project's own staging folder from one a local user prepared. A file written without an
owner is the Administrators group's: what Windows Server 2003 gives objects a member of Administrators
creates ("System objects: Default owner for objects created by members of the Administrators group",
Microsoft Learn). A folder nobody recorded (:meth:`FileSystem.folder` None) does not exist yet; creating
one under ``%SystemRoot%\\Temp`` without an ACL of its own inherits Temp's, under which every member of
Users may create files and the creator owns what it creates (CREATOR OWNER: full control).
"""

from __future__ import annotations

import ntpath
from collections.abc import Callable
from dataclasses import dataclass

from ..inbox import DEFAULT_SYSTEM_ROOT

# Well-known SIDs ("Well-known SIDs", Microsoft Learn; KB243330)
SYSTEM = "S-1-5-18"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"
CREATOR_OWNER = "S-1-3-0"
PRIVATE = frozenset({SYSTEM, ADMINISTRATORS})  # who may write in a folder created with the project's own ACL


@dataclass(frozen=True)
class Security:
    """A file's or folder's owner and the SIDs an allow entry of its DACL lets write (create, change, delete)."""

    owner: str
    writers: frozenset[str]

    @classmethod
    def inherited_from_temp(cls, creator: str) -> Security:
        """A folder created under %SystemRoot%\\Temp without an ACL of its own (Users: create files and folders;
        CREATOR OWNER: full control, so the creator's own entry)."""
        return cls(creator, PRIVATE | {USERS, CREATOR_OWNER, creator})

    def lets(self, sid: str) -> bool:
        """Whether a local user ``sid`` may write here (every local user is a member of Users)."""
        return sid in self.writers or USERS in self.writers

    def foreign(self, trusted: frozenset[str], shown: Callable[[str], str] = str) -> list[str]:
        """Its owner and writers outside ``trusted``, each SID as ``shown`` puts it (empty: ours)."""
        return ([f"owner {shown(self.owner)}"] if self.owner not in trusted else []) + [
            f"write for {shown(sid)}" for sid in sorted(self.writers - trusted)]


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
        self._owners: dict[str, str] = {}  # a file's owner SID, by normalised path
        self._folders: dict[str, Security] = {}  # folders someone created, by normalised path
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

    def write(self, path: str, data: bytes, append: bool = False, owner: str = ADMINISTRATORS) -> None:
        """Create or overwrite ``path``; a file that exists keeps its owner (the same file object)."""
        key = self.normalize(path)
        previous = self._files.get(key, (path, b""))[1] if append else b""
        self._files[key] = (path, previous + data)
        self._owners.setdefault(key, owner)

    def move(self, source: str, target: str) -> None:
        """Rename ``source`` over ``target``: the file keeps its owner and its own ACL (MoveFile moves the object)."""
        key = self.normalize(source)
        _, data = self._files.pop(key)
        owner = self._owners.pop(key, ADMINISTRATORS)
        self.delete(target)
        self.write(target, data, owner=owner)

    def owner(self, path: str) -> str | None:
        return self._owners.get(self.normalize(path)) if self.exists(path) else None

    def file_security(self, path: str) -> Security | None:
        """A file's owner, who may write it: its owner (CREATOR OWNER's full control), SYSTEM and Administrators."""
        owner = self.owner(path)
        return None if owner is None else Security(owner, PRIVATE | {owner})

    def folder(self, path: str) -> Security | None:
        return self._folders.get(self.normalize(path))

    def make_folder(self, path: str, security: Security) -> None:
        """Record a folder someone created, with its owner and writers (an existing one is left as it is)."""
        self._folders.setdefault(self.normalize(path), security)

    def set_folder(self, path: str, security: Security) -> None:
        """A recorded folder's owner and writers after its DACL was replaced."""
        self._folders[self.normalize(path)] = security

    def user_write(self, path: str, data: bytes, user: str) -> bool:
        """A local user (``user``, a SID) writes ``path`` if the ACLs let it: a new file where the folder's DACL lets
        users create files (a folder nobody created yet: the user creates it, as under Temp), its own file, or any
        file in its own folder (full control there: delete and create again). True when written."""
        folder = ntpath.dirname(self.normalize(path))
        self.make_folder(folder, Security.inherited_from_temp(user))
        security = self.folder(folder)
        assert security is not None
        if not self.exists(path):
            allowed = security.lets(user)
        else:
            allowed = self.owner(path) == user or security.owner == user
            if allowed and self.owner(path) != user:
                self.delete(path)  # replaced, not changed: the new file is the user's
        if allowed:
            self.write(path, data, owner=user)
        return allowed

    def read(self, path: str) -> bytes | None:
        entry = self._files.get(self.normalize(path))
        return entry[1] if entry else None

    def exists(self, path: str) -> bool:
        return self.normalize(path) in self._files

    def delete(self, path: str) -> bool:
        self._owners.pop(self.normalize(path), None)
        return self._files.pop(self.normalize(path), None) is not None

    def listdir(self, directory: str) -> list[str]:
        """Paths (as written) of the files directly inside ``directory``."""
        folder = self.normalize(directory)
        return sorted(name for key, (name, _) in self._files.items() if ntpath.dirname(key) == folder)
