"""Windows file versions and servicing branches.

Hotfix articles of the Vista/7 era give versions as ``major.minor.build.revision``
where the revision tells the servicing branch: 16xxx-19xxx is GDR (general
distribution), 20xxx-22xxx is LDR (hotfixes), and from 2016 on both branches
were merged into builds of 23xxx and above. Windows 2003 and earlier revisions
below 16000 carry no branch in their number. A plain numeric comparison would
call every LDR build newer than every GDR one, so :func:`compare_fix` compares
within the branch and says when it cannot decide.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import total_ordering

from .errors import VersionError

_VERSION_RE = re.compile(r"^(\d{1,5})\.(\d{1,5})\.(\d{1,5})\.(\d{1,5})$")


class Branch(str, enum.Enum):
    """The servicing branch a file version belongs to."""

    GDR = "GDR"
    LDR = "LDR"
    MERGED = "merged"
    NONE = "none"  # revisions below 16000 (RTM of 2003, or no branch convention)

    @classmethod
    def of_revision(cls, revision: int) -> Branch:
        if 16000 <= revision <= 19999:
            return cls.GDR
        if 20000 <= revision <= 22999:
            return cls.LDR
        if revision >= 23000:
            return cls.MERGED
        return cls.NONE


@total_ordering
@dataclass(frozen=True)
class WinVersion:
    """A 4-part Windows file version, as built from VS_FIXEDFILEINFO."""

    major: int
    minor: int
    build: int
    revision: int

    @classmethod
    def parse(cls, text: str) -> WinVersion:
        match = _VERSION_RE.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise VersionError(f"not a 4-part Windows version: {text!r} (expected e.g. 6.1.7601.22590)")
        parts = [int(p) for p in match.groups()]
        if any(p > 65535 for p in parts):
            raise VersionError(f"not a Windows version: {text!r} has a part over 65535")
        return cls(*parts)

    @property
    def os_version(self) -> str:
        """The OS version the file belongs to, e.g. ``6.1.7601``."""
        return f"{self.major}.{self.minor}.{self.build}"

    @property
    def branch(self) -> Branch:
        return Branch.of_revision(self.revision)

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.build, self.revision)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, WinVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}.{self.revision}"


# The revision every file of a release carries before any update (RTM or service pack).
# A file still at it predates every hotfix of that build.
BASE_REVISIONS: dict[str, int] = {
    "6.0.6000": 16386,  # Vista RTM
    "6.0.6001": 18000,  # Vista SP1 / Server 2008 RTM
    "6.0.6002": 18005,  # Vista / Server 2008 SP2
    "6.1.7600": 16385,  # Windows 7 / Server 2008 R2 RTM
    "6.1.7601": 17514,  # Windows 7 / Server 2008 R2 SP1
}


# The service pack each build is. A build and a service pack that disagree (6.1.7601 reported as SP0) are
# contradictory facts, not a host to assess. 5.2.3790 is every Windows Server 2003 level (RTM, SP1, SP2).
# Sources: "Information about Service Pack 1 for Windows 7 and for Windows Server 2008 R2" (KB976932: SP1 is
# build 7601); "Windows Server 2008 SP2" (KB948465: build 6002); the March 12, 2019 monthly rollup for Windows
# Server 2008 SP2 (KB4489880), after which the build reports 6003 while the service pack stays SP2.
BUILD_SERVICE_PACKS: dict[str, tuple[int, ...]] = {
    "5.2.3790": (0, 1, 2),
    "6.0.6000": (0,),
    "6.0.6001": (1,),
    "6.0.6002": (2,),
    "6.0.6003": (2,),
    "6.1.7600": (0,),
    "6.1.7601": (1,),
}

# Builds that are another build serviced further: Server 2008 SP2 with the 2019+ rollups reports 6.0.6003 and
# is assessed as 6.0.6002 (SP2), its files compared across builds (KB4489880, see above).
_SERVICED_AS = {"6.0.6003": "6.0.6002"}


def servicing_build(version: str) -> str:
    """The build an article's tables name for a host of OS ``version`` (``6.0.6003`` -> ``6.0.6002``)."""
    return _SERVICED_AS.get(version, version)


class FixState(str, enum.Enum):
    """How a file found on a host stands against the version a fix requires."""

    SATISFIED = "satisfied"  # same branch and at least as new, a merged build, or a later OS build
    OLDER = "older"  # same branch (or the fix's branch is reachable) and older
    OTHER_BRANCH = "other_branch"  # GDR file against an LDR fix: cannot tell whether the fix is in


def compare_fix(found: WinVersion, required: WinVersion) -> FixState:
    """Compare a host's file version with the version a hotfix installs.

    Rules (the GDR/LDR notes in KB2847346's file information): a later OS build (e.g. an SP1 file against an
    RTM fix) satisfies; an earlier one does not. Within one OS build, an LDR
    requirement is met by an LDR or merged (23xxx+) build at or above it; a GDR
    file (16xxx-19xxx) cannot be compared with it, unless it is still the
    release's base revision, which predates every hotfix. Otherwise the higher
    revision wins.
    """
    if found.os_version != required.os_version:
        return FixState.SATISFIED if found > required else FixState.OLDER
    if required.branch is Branch.LDR and found.branch is Branch.GDR:
        if found.revision == BASE_REVISIONS.get(found.os_version):
            return FixState.OLDER
        return FixState.OTHER_BRANCH
    return FixState.SATISFIED if found >= required else FixState.OLDER
