"""Operating-system profiles: what Win32_OperatingSystem says and which files a fresh install carries.

A host's files start at its release's base revision (RTM or service pack), or
at a later GDR revision when the fleet says the host has had its monthly
security updates (``patch_level: gdr``): the case where the engine must not
mistake a GDR build for the LDR hotfix. The files modelled are those the packaged
KBs touch and every file row of every catalog KB (user catalogs included) for
the host's build and architecture; every other path is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..audit.facts import Arch, OsInfo
from ..catalog import load_catalog

Family = Literal["win2003", "vista", "win2008", "win7", "win2008r2"]
FAMILIES: tuple[Family, ...] = ("win2003", "vista", "win2008", "win7", "win2008r2")
PatchLevel = Literal["base", "gdr"]

SYSTEM32 = "%SystemRoot%\\System32\\"
DRIVERS = SYSTEM32 + "drivers\\"
SYSWOW64 = "%SystemRoot%\\SysWOW64\\"


@dataclass(frozen=True)
class Release:
    """One OS build: its version, and the revisions its files carry at release and after GDR updates."""

    version: str  # "6.1.7601"
    base_revision: int
    gdr_revision: int


# (family, service pack) -> release. Server 2008 "RTM" is 6.0.6001 and reports Service Pack 1.
RELEASES: dict[tuple[Family, int], Release] = {
    ("win2003", 1): Release("5.2.3790", 1830, 2548),
    ("win2003", 2): Release("5.2.3790", 3959, 4455),
    ("vista", 1): Release("6.0.6001", 18000, 18226),
    ("vista", 2): Release("6.0.6002", 18005, 18881),
    ("win2008", 1): Release("6.0.6001", 18000, 18226),
    ("win2008", 2): Release("6.0.6002", 18005, 18881),
    ("win7", 0): Release("6.1.7600", 16385, 16695),
    ("win7", 1): Release("6.1.7601", 17514, 18229),
    ("win2008r2", 0): Release("6.1.7600", 16385, 16695),
    ("win2008r2", 1): Release("6.1.7601", 17514, 18229),
}

ARCHES_BY_FAMILY: dict[Family, tuple[Arch, ...]] = {
    "win2003": ("x86", "x64", "ia64"),
    "vista": ("x86", "x64"),
    "win2008": ("x86", "x64", "ia64"),
    "win7": ("x86", "x64"),
    "win2008r2": ("x64", "ia64"),
}

_CAPTIONS: dict[tuple[Family, Arch | None], str] = {
    ("win2003", "x86"): "Microsoft(R) Windows(R) Server 2003, Standard Edition",
    ("win2003", "x64"): "Microsoft(R) Windows(R) Server 2003 Standard x64 Edition",
    ("win2003", "ia64"): "Microsoft(R) Windows(R) Server 2003, Enterprise Edition for Itanium-based Systems",
    ("vista", None): "Microsoft\u00ae Windows Vista\u2122 Business ",
    ("win2008", None): "Microsoft\u00ae Windows Server\u00ae 2008 Standard ",
    ("win2008", "ia64"): "Microsoft\u00ae Windows Server\u00ae 2008 for Itanium-Based Systems ",
    ("win7", None): "Microsoft Windows 7 Enterprise ",
    ("win2008r2", None): "Microsoft Windows Server 2008 R2 Standard ",
    ("win2008r2", "ia64"): "Microsoft Windows Server 2008 R2 for Itanium-Based Systems ",
}

_VISTA_FILES = (
    SYSTEM32 + "nsisvc.dll",
    SYSTEM32 + "nsi.dll",
    SYSTEM32 + "winnsi.dll",
    SYSTEM32 + "bfe.dll",
    SYSTEM32 + "fwpuclnt.dll",
    SYSTEM32 + "ikeext.dll",
    SYSTEM32 + "schannel.dll",
    DRIVERS + "nsiproxy.sys",
    DRIVERS + "netio.sys",
    DRIVERS + "tcpip.sys",
    DRIVERS + "fwpkclnt.sys",
)
_VISTA_WOW64_FILES = (SYSWOW64 + "nsi.dll", SYSWOW64 + "winnsi.dll", SYSWOW64 + "fwpuclnt.dll")
_WIN2003_FILES = (SYSTEM32 + "schannel.dll", DRIVERS + "tcpip.sys")

# Every path the lab models; a host reports the ones it lacks as absent (None).
ALL_PATHS: tuple[str, ...] = _VISTA_FILES + _VISTA_WOW64_FILES

# SP1 of Windows 7 / 2008 R2 did not rebuild these: KB2847346's file table still lists them at RTM.
_CARRIED_FROM_RTM: dict[str, tuple[Arch, ...]] = {
    SYSTEM32 + "nsi.dll": ("x86", "x64", "ia64"),
    SYSTEM32 + "winnsi.dll": ("x86", "x64", "ia64"),
    DRIVERS + "nsiproxy.sys": ("x86",),
}


@dataclass(frozen=True)
class OsProfile:
    """One host's operating system: family, service pack, architecture and what WMI reports for them."""

    family: Family
    sp: int
    arch: Arch

    @property
    def release(self) -> Release:
        return RELEASES[(self.family, self.sp)]

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def build(self) -> int:
        return int(self.version.split(".")[2])

    @property
    def product_type(self) -> int:
        return 1 if self.family in ("vista", "win7") else 3

    @property
    def caption(self) -> str:
        return _CAPTIONS.get((self.family, self.arch)) or _CAPTIONS[(self.family, None)]

    @property
    def csd_version(self) -> str | None:
        return f"Service Pack {self.sp}" if self.sp else None

    @property
    def is_2003(self) -> bool:
        return self.family == "win2003"

    @property
    def cbs_arch(self) -> str:
        """Architecture as CBS package identities spell it."""
        return {"x86": "x86", "x64": "amd64", "ia64": "ia64"}[self.arch]

    def os_info(self) -> OsInfo:
        return OsInfo(
            caption=self.caption,
            version=self.version,
            sp=self.sp,
            arch=self.arch,
            product_type=self.product_type,
            csd_version=self.csd_version,
        )

    def _catalog_paths(self) -> tuple[str, ...]:
        """The paths of every catalog file row for this build and architecture: a KB file is enough for the lab."""
        return tuple(dict.fromkeys(row.path for kb in load_catalog() for row in kb.fix_files(self.version, self.arch)
                                   if row.path is not None))

    def baseline_files(self, patch_level: PatchLevel) -> dict[str, str]:
        """Path -> version of every modelled file present on a fresh install at this patch level."""
        release = self.release
        revision = release.gdr_revision if patch_level == "gdr" else release.base_revision
        if self.is_2003:
            paths: tuple[str, ...] = _WIN2003_FILES
        else:
            paths = _VISTA_FILES + (_VISTA_WOW64_FILES if self.arch != "x86" else ())
        modelled = {path.lower() for path in paths}
        paths += tuple(path for path in self._catalog_paths() if path.lower() not in modelled)
        files = {path: f"{release.version}.{revision}" for path in paths}
        if release.version == "6.1.7601":
            for path, arches in _CARRIED_FROM_RTM.items():
                if self.arch in arches:
                    files[path] = "6.1.7600.16385"
        return files


def profile_problem(family: str, sp: object, arch: object) -> tuple[str, str] | None:
    """(key, why) if this OS/SP/arch combination does not exist, else None."""
    if family not in FAMILIES:
        return "os", f"unknown os {family!r} (expected one of: {', '.join(FAMILIES)})"
    sps = sorted(s for f, s in RELEASES if f == family)
    if isinstance(sp, bool) or sp not in sps:
        return "sp", f"{family} has no service pack {sp!r} in the lab (expected one of: {', '.join(map(str, sps))})"
    arches = ARCHES_BY_FAMILY[family]
    if arch not in arches:
        return "arch", f"{family} does not exist for {arch!r} (expected one of: {', '.join(arches)})"
    return None
