"""The repository's ``manifest.json``: one entry per verified package, and :func:`pick` for the stager.

An entry records what the package's content says (KB, architecture) and what the
catalog says that package covers (OS families, builds with their service pack),
so the stager chooses by KB x OS x SP x architecture without reopening files.
The manifest is replaced atomically (write a temporary file, fsync, rename): a
reader never sees half of it, and a failed write leaves the previous one.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..catalog import normalize_kb_id
from ..errors import RepoError
from ..atomic import atomic_writer

MANIFEST = "manifest.json"
FORMAT = 1
# Microsoft's own names (Windows6.1-KB2847346-x64.msu, WindowsServer2003-KB979223-x86-ENU.exe) and nothing
# else: a package name reaches a path on the host, a PowerShell parameter and a batch line run as SYSTEM,
# where cmd.exe would expand a '%' and act on '&', '^' or a quote.
PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(?:msu|exe)$", re.IGNORECASE)


def check_package_name(name: str, label: str) -> None:
    """A :class:`RepoError` for a file name outside :data:`PACKAGE_NAME`."""
    if not PACKAGE_NAME.match(name):
        raise RepoError(label, "file name refused: a package is named with ASCII letters, digits, '.', '_' and '-' "
                               "only, ending in .msu or .exe, as Microsoft names them")


@dataclass(frozen=True)
class Build:
    """An OS build a package installs on, with the service pack that build is."""

    version: str
    sp: int


@dataclass(frozen=True)
class Entry:
    """One package file of the repository; ``identity`` is what its content said, and where."""

    file: str
    kb: str
    kind: str
    arch: str
    os: tuple[str, ...]
    builds: tuple[Build, ...]
    size: int
    sha256: str
    identity: dict[str, Any]

    def covers(self, family: str, version: str, sp: int, arch: str) -> bool:
        return family in self.os and arch == self.arch and Build(version, sp) in self.builds

    def coverage(self) -> set[tuple[str, str, int, str]]:
        """Every (family, version, sp, arch) this package installs on; two entries must not share one."""
        return {(family, b.version, b.sp, self.arch) for family in self.os for b in self.builds}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {**data, "os": list(self.os), "builds": [asdict(b) for b in self.builds]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        return cls(
            file=_text(data, "file"),
            kb=_text(data, "kb"),
            kind=_text(data, "kind"),
            arch=_text(data, "arch"),
            os=tuple(_text({"os": family}, "os") for family in _items(data, "os")),
            builds=tuple(Build(_text(b, "version"), _number(b, "sp")) for b in _items(data, "builds")),
            size=_number(data, "size"),
            sha256=_text(data, "sha256"),
            identity=dict(data["identity"]),
        )


def _text(data: Any, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} (expected a string)")
    return value


def _number(data: Any, key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{key!r} (expected a whole number)")
    return value


def _items(data: Any, key: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise TypeError(f"{key!r} (expected a list)")
    return value


@dataclass(frozen=True)
class Manifest:
    """The entries, sorted by file name."""

    entries: tuple[Entry, ...] = ()

    def get(self, file: str) -> Entry | None:
        return next((e for e in self.entries if e.file == file), None)

    def with_entries(self, entries: list[Entry]) -> Manifest:
        """This manifest with ``entries`` added, replacing any of the same file name."""
        names = {e.file for e in entries}
        kept = [e for e in self.entries if e.file not in names]
        return Manifest(tuple(sorted(kept + entries, key=lambda e: e.file)))

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "packages": [e.to_dict() for e in self.entries]}, indent=2) + "\n"


def pick(manifest: Manifest, kb: str, family: str, version: str, sp: int, arch: str) -> Entry | None:
    """The package for exactly this KB, OS family, build, service pack and architecture, if the repository has it."""
    wanted = normalize_kb_id(kb)
    return next((e for e in manifest.entries if e.kb == wanted and e.covers(family, version, sp, arch)), None)


def load_manifest(directory: Path) -> Manifest:
    """``directory/manifest.json``; an absent file is an empty manifest, a broken one a :class:`RepoError`."""
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Manifest()
    except (OSError, ValueError) as error:
        raise RepoError(str(path), f"unreadable manifest ({error})") from None
    except RecursionError:
        raise RepoError(str(path), "unreadable manifest (nested too deeply)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("packages"), list):
        raise RepoError(str(path), f"not a winremedy manifest (format {FORMAT} with a packages list)")
    entries = []
    for index, item in enumerate(data["packages"]):
        try:
            entries.append(Entry.from_dict(item))
        except (KeyError, TypeError, ValueError) as error:
            raise RepoError(str(path), f"package {index}: missing or bad {error}") from None
    return Manifest(tuple(entries))


def save_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace ``directory/manifest.json`` atomically."""
    with atomic_writer(directory / MANIFEST) as stream:
        stream.write(manifest.to_json().encode("utf-8"))
