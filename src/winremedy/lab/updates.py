"""What installing one of the three hotfixes does to a host: files, restart, registration.

File rows follow the article tables (``shared/seeds``): a row applies to a host
when it is for the host's architecture and its version belongs to the host's
OS build (the articles list RTM files alongside SP1 ones; CBS installs only the
branch that matches). KB903927's article publishes no file table, so installing
it changes no file: it shows only as its update.exe registration.

Until the catalog (``winremedy.catalog``) lands, this small table is the
source; it will then be read from ``load_catalog().get(kb).fix_files(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import Arch
from .profiles import DRIVERS, SYSTEM32, SYSWOW64, OsProfile

_ALL: tuple[Arch, ...] = ("x86", "x64", "ia64")
_WIDE: tuple[Arch, ...] = ("x64", "ia64")


@dataclass(frozen=True)
class FileRow:
    """One row of an article's file table."""

    path: str
    version: str
    arches: tuple[Arch, ...]


@dataclass(frozen=True)
class Hotfix:
    """A hotfix the lab knows: where it applies, its files, whether it needs a restart."""

    kb: str
    title: str
    os_versions: tuple[str, ...]  # OS builds it installs on, e.g. ("6.1.7601",)
    families: tuple[str, ...]
    restart: bool
    files: tuple[FileRow, ...]
    min_sp: int = 0
    max_sp: int = 99

    def applies_to(self, profile: OsProfile) -> bool:
        return (
            profile.family in self.families
            and profile.version in self.os_versions
            and self.min_sp <= profile.sp <= self.max_sp
        )

    def fix_files(self, profile: OsProfile) -> dict[str, str]:
        """Path -> version this hotfix installs on ``profile``."""
        return {
            row.path: row.version
            for row in self.files
            if profile.arch in row.arches and row.version.rsplit(".", 1)[0] == profile.version
        }


def _rows(version: str, arches: tuple[Arch, ...], *paths: str) -> tuple[FileRow, ...]:
    return tuple(FileRow(path, version, arches) for path in paths)


HOTFIXES: dict[str, Hotfix] = {
    "KB2847346": Hotfix(
        kb="KB2847346",
        title="Svchost.exe running NSI service leaks memory and non-paged pool memory leak Tag NSpc",
        os_versions=("6.1.7601",),
        families=("win7", "win2008r2"),
        restart=True,
        files=_rows("6.1.7601.22590", _ALL, SYSTEM32 + "nsisvc.dll")
        + _rows("6.1.7600.16385", _ALL, SYSTEM32 + "nsi.dll", SYSTEM32 + "winnsi.dll")
        + _rows("6.1.7600.16385", ("x86",), DRIVERS + "nsiproxy.sys")
        + _rows("6.1.7601.22590", _WIDE, DRIVERS + "nsiproxy.sys", SYSWOW64 + "nsi.dll", SYSWOW64 + "winnsi.dll"),
    ),
    "KB979223": Hotfix(
        kb="KB979223",
        title="Nonpaged pool leak when a WFP callout driver blocks a packet that has multiple NBL chains",
        os_versions=("6.0.6001", "6.0.6002", "6.1.7600"),
        families=("vista", "win2008", "win7", "win2008r2"),
        restart=True,
        files=_rows(
            "6.0.6001.22659",
            _ALL,
            DRIVERS + "netio.sys",
            SYSTEM32 + "bfe.dll",
            DRIVERS + "fwpkclnt.sys",
            SYSTEM32 + "fwpuclnt.dll",
            SYSTEM32 + "ikeext.dll",
            DRIVERS + "tcpip.sys",
        )
        + _rows("6.0.6001.22659", _WIDE, SYSWOW64 + "fwpuclnt.dll")
        + _rows("6.0.6002.22369", _ALL, DRIVERS + "netio.sys")
        # The IA-64 table of 2008 R2 is cut off in the article; the lab assumes the same netio.sys build.
        + _rows("6.1.7600.20611", _ALL, DRIVERS + "netio.sys"),
    ),
    "KB903927": Hotfix(
        kb="KB903927",
        title="SChannel memory leak in Live Communications Server when SYN attack protection resets MTLS",
        os_versions=("5.2.3790",),
        families=("win2003",),
        restart=False,
        files=(),
        min_sp=1,
        max_sp=1,
    ),
}


def known(kb: str) -> Hotfix | None:
    """The lab's model of ``kb``, or None for any other update (registered, but changes nothing)."""
    return HOTFIXES.get(kb.upper())


def cbs_package(kb: str, profile: OsProfile) -> str:
    """The CBS package identity an update installs as on Vista and later."""
    number = kb.lower()
    if profile.version.startswith("6.1"):
        branch = "sp1" if profile.sp else "rtm"
        return f"Package_for_{number}_{branch}~31bf3856ad364e35~{profile.cbs_arch}~~6.1.1.0"
    return f"Package_for_{kb.upper()}~31bf3856ad364e35~{profile.cbs_arch}~~6.0.1.0"
