"""HostFacts: everything an audit knows about one host, and its JSON form.

The same JSON comes from three places: the collector script over WinRM, the
offline parsers (``systeminfo``, ``wmic qfe``) and saved audit results. A
field that was not collected is ``None`` (or absent from a mapping), which is
different from "collected and empty": the assessment must never read "not
asked" as "not there".
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from ..errors import FactsError

Arch = Literal["x86", "x64", "ia64"]
ARCHES: tuple[Arch, ...] = ("x86", "x64", "ia64")

Source = Literal["winrm", "systeminfo", "qfe", "json", "lab"]

# "KB2847346", "Package_for_KB2847346_SP1~...", "KB975558_WM8", "Q147222", or a bare "943729" (Vista QFE);
# never the digits inside a GUID such as {7A068575-...}.
_KB_RE = re.compile(r"(?:^|[^a-z0-9])(?:KB|Q)(\d{6,7})(?![0-9])|^\s*(\d{6,7})\s*$", re.IGNORECASE)


class CbsState(int, enum.Enum):
    """CBS package ``CurrentState`` values (Microsoft blog, "Tip of the Day: CBS Servicing States Chart")."""

    ABSENT = 0x00
    UNINSTALL_PENDING = 0x05
    RESOLVING = 0x10
    RESOLVED = 0x20
    STAGING = 0x30
    STAGED = 0x40
    SUPERSEDED = 0x50
    INSTALL_PENDING = 0x60
    PARTIALLY_INSTALLED = 0x65
    INSTALLED = 0x70
    PERMANENT = 0x80


def normalize_kb(text: str) -> str | None:
    """``'KB2847346'``, ``'kb2847346'``, ``'2847346'``, ``'Q147222'`` -> ``'KB2847346'``; else ``None``."""
    match = _KB_RE.search(text or "")
    return f"KB{match.group(1) or match.group(2)}" if match else None


def os_family(version: str, product_type: int | None) -> str | None:
    """The product family of an OS version: ``win7``, ``win2008r2``, ``vista``, ``win2008``, ``win2003``.

    Workstation and server share a kernel version; ProductType (1 workstation,
    2 domain controller, 3 server) tells them apart. 5.2 with ProductType 1 is
    Windows XP x64, which none of our KBs covers.
    """
    major_minor = ".".join(version.split(".")[:2])
    if product_type is None:
        return None
    server = product_type != 1
    if major_minor == "6.1":
        return "win2008r2" if server else "win7"
    if major_minor == "6.0":
        return "win2008" if server else "vista"
    if major_minor == "5.2":
        return "win2003" if server else "winxp64"
    return None


@dataclass
class OsInfo:
    """Win32_OperatingSystem, normalised."""

    caption: str
    version: str  # "6.1.7601"
    sp: int  # ServicePackMajorVersion
    arch: Arch | None  # None when it could not be determined
    product_type: int | None = None  # 1 workstation, 2 domain controller, 3 server
    csd_version: str | None = None  # "Service Pack 1", or None

    @property
    def build(self) -> int:
        return int(self.version.split(".")[2])

    @property
    def family(self) -> str | None:
        return os_family(self.version, self.product_type)


@dataclass
class Hotfix:
    """One registration of an update: a QFE row, a CBS package, or an update.exe registry key."""

    id: str  # as seen: "KB2847346", "File 1", a GUID, "943729"
    source: Literal["qfe", "cbs", "registry", "systeminfo"]
    kb: str | None = None  # normalised "KB2847346" when one can be read from id or extra
    state: str | None = None  # CBS state name ("installed", "install_pending", ...) for source "cbs"
    installed_on: str | None = None  # as reported: a date or a hex FILETIME
    package: str | None = None  # CBS package identity, e.g. Package_for_kb2847346_sp1~...~amd64~~6.1.1.0


@dataclass
class Sample:
    """One reading of a leak indicator at host time ``t`` (seconds since the epoch)."""

    t: float
    value: float


@dataclass
class LeakVerdict:
    """The trend of one indicator, as computed by the leak analysis."""

    indicator: str
    leaking: bool
    rate_per_hour: float
    confidence: float  # 0..1
    samples: int
    reason: str = ""
    span_hours: float = 0.0
    growth: float = 0.0
    tags: list[dict[str, Any]] = field(default_factory=list)  # growing nonpaged pool tags, fastest first
    judged: bool = True  # False: too few samples or too short a span to call the trend either way


@dataclass
class HostFacts:
    """What one audit knows about one host. ``None`` means "not collected"."""

    host: str
    os: OsInfo | None  # None when the input gives no OS (a lone ``wmic qfe`` listing)
    source: Source = "json"
    collected_at: str | None = None  # ISO 8601
    powershell_version: str | None = None
    clr_version: str | None = None
    # path on the host (as in the catalog, e.g. "%SystemRoot%\\System32\\drivers\\netio.sys") -> version, or None if absent
    files: dict[str, str | None] | None = None
    hotfixes: list[Hotfix] | None = None
    hotfixes_incomplete: str | None = None  # why a KB could be registered yet not listed (systeminfo truncation)
    products: list[str] | None = None  # e.g. ["lcs2005"]; None = not collected
    registry: dict[str, Any] | None = None  # "HKLM\\...\\Key\\Value" -> value (None = absent)
    pending_reboot: list[str] | None = None  # reasons, [] = none pending; None = not collected
    boot_time: str | None = None  # ISO 8601
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    leaks: dict[str, LeakVerdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the collector or parser could not read, and why

    def registered_kbs(self) -> dict[str, list[Hotfix]]:
        """Normalised KB id -> the registrations seen for it."""
        seen: dict[str, list[Hotfix]] = {}
        for fix in self.hotfixes or []:
            kb = fix.kb or normalize_kb(fix.id)
            if kb:
                seen.setdefault(kb, []).append(fix)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "facts") -> HostFacts:
        """Build from the JSON form; unknown keys and wrong types are errors naming ``origin`` and the key."""
        if not isinstance(data, dict):
            raise FactsError(f"{origin}: expected a JSON object with host facts, got {type(data).__name__}")
        _reject_unknown(data, cls, origin)
        try:
            os_data = data["os"]
            host = data["host"]
        except KeyError as missing:
            raise FactsError(f"{origin}: missing key {missing.args[0]!r}") from None
        if not isinstance(host, str) or not host:
            raise FactsError(f"{origin}: key 'host' must be a non-empty string")
        os_info = None if os_data is None else _os_info(os_data, origin)
        hotfixes = data.get("hotfixes")
        samples = data.get("samples") or {}
        leaks = data.get("leaks") or {}
        try:
            return cls(
                **{k: v for k, v in data.items() if k not in ("os", "hotfixes", "samples", "leaks")},
                os=os_info,
                hotfixes=None if hotfixes is None else [_build(Hotfix, h, f"{origin}: hotfixes") for h in hotfixes],
                samples={k: [_build(Sample, s, f"{origin}: samples.{k}") for s in v] for k, v in samples.items()},
                leaks={k: _build(LeakVerdict, v, f"{origin}: leaks.{k}") for k, v in leaks.items()},
            )
        except (TypeError, AttributeError) as exc:
            raise FactsError(f"{origin}: {exc}") from None


def _os_info(data: Any, origin: str) -> OsInfo:
    os_info: OsInfo = _build(OsInfo, data, f"{origin}: os")
    if os_info.arch is not None and os_info.arch not in ARCHES:
        raise FactsError(f"{origin}: os.arch must be one of {', '.join(ARCHES)}, got {os_info.arch!r}")
    if not re.fullmatch(r"\d+\.\d+\.\d+", str(os_info.version)):
        raise FactsError(f"{origin}: os.version must look like 6.1.7601, got {os_info.version!r}")
    if not isinstance(os_info.sp, int) or isinstance(os_info.sp, bool):  # JSON true is a Python int
        raise FactsError(f"{origin}: os.sp must be an integer, got {os_info.sp!r}")
    return os_info


def _reject_unknown(data: dict[str, Any], cls: type, origin: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FactsError(f"{origin}: unknown key {unknown[0]!r} (expected one of: {', '.join(sorted(known))})")


def _build(cls: type, data: Any, origin: str) -> Any:
    if not isinstance(data, dict):
        raise FactsError(f"{origin}: expected an object, got {type(data).__name__}")
    _reject_unknown(data, cls, origin)
    try:
        return cls(**data)
    except TypeError as exc:
        raise FactsError(f"{origin}: {exc}") from None
