"""How an installed update shows on each OS: QFE rows, CBS package states, update.exe keys, pending reboot.

Decisions (documented because the real behaviour is only partly public):

* Vista and later (CBS): an update that needs a restart is staged as
  ``CurrentState`` 0x60 (install pending) with the ``RebootPending`` key;
  ``Win32_QuickFixEngineering`` lists only what CBS has installed, so its row
  appears when the reboot takes the package to 0x70.
* Windows 2003 (update.exe): registration is written at install time and
  ``Win32_QuickFixEngineering`` reads it from the registry, so the row (as
  ``File 1``, with the KB in ``ServicePackInEffect``) appears at once; a
  restart is announced by ``UpdateExeVolatile`` and ``PendingFileRenameOperations``.

Registry values are keyed ``HKLM\\...\\Key\\Value``; a key that matters only
by existing (``RebootPending``) is keyed ``...\\RebootPending\\(default)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..audit.collector import CBS, PENDING_REBOOT_KEYS, PENDING_REBOOT_VALUES
from ..audit.facts import CbsState, Hotfix
from .profiles import OsProfile
from .updates import cbs_package

# The collector's pending-reboot signals, as entries of the lab's registry (a key is marked by "(default)").
CBS_REBOOT_PENDING = PENDING_REBOOT_KEYS["cbs_reboot_pending"] + "\\(default)"
UPDATE_EXE_VOLATILE = PENDING_REBOOT_VALUES["update_exe_volatile"]
PENDING_FILE_RENAMES = PENDING_REBOOT_VALUES["pending_file_rename"]
SYN_ATTACK_PROTECT = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\SynAttackProtect"
_NT_CURRENT_VERSION = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"

# pending_reboot reason -> the registry entry that signals it
PENDING_REASONS: dict[str, str] = {
    "cbs_reboot_pending": CBS_REBOOT_PENDING,
    "update_exe_volatile": UPDATE_EXE_VOLATILE,
    "pending_file_rename": PENDING_FILE_RENAMES,
}
_EPOCH_AS_FILETIME = 11644473600


@dataclass(frozen=True)
class QfeRow:
    """One ``Win32_QuickFixEngineering`` instance, as the host would report it."""

    hotfix_id: str
    description: str
    installed_on: str
    service_pack_in_effect: str = ""
    installed_by: str = ""
    kb: str | None = None  # what the row stands for (the lab knows; a reader may not)

    def as_hotfix(self) -> Hotfix:
        return Hotfix(id=self.hotfix_id, source="qfe", kb=self.kb, installed_on=self.installed_on or None)


def _installed_on(profile: OsProfile, t: float) -> str:
    """InstalledOn as each OS writes it: M/D/YYYY on 7/2008 R2, a hex FILETIME on Vista/2008, empty on 2003."""
    if profile.is_2003:
        return ""
    if profile.version.startswith("6.0"):
        return f"{int((t + _EPOCH_AS_FILETIME) * 10_000_000):016x}"
    day = datetime.fromtimestamp(t, UTC)
    return f"{day.month}/{day.day}/{day.year}"


def qfe_row(kb: str, profile: OsProfile, t: float, description: str = "Hotfix") -> QfeRow:
    if profile.is_2003:
        return QfeRow("File 1", description, "", service_pack_in_effect=kb, kb=kb)
    installed_by = "S-1-5-18" if profile.version.startswith("6.0") else "NT AUTHORITY\\SYSTEM"
    return QfeRow(kb, description, _installed_on(profile, t), installed_by=installed_by, kb=kb)


def baseline_qfe(profile: OsProfile, powershell: str | None, t: float) -> list[QfeRow]:
    """The updates a host of this kind has before the lab touches it, with each OS's quirks."""
    rows: list[QfeRow] = []
    if profile.version.startswith("6.1"):
        rows.append(qfe_row("KB958488", profile, t, "Update"))
        if profile.sp:
            rows.append(qfe_row("KB976902", profile, t, "Update"))
    elif profile.version.startswith("6.0"):
        on = _installed_on(profile, t)
        rows.append(QfeRow("{A0C3E1F4-9B2D-4E8A-BC5F-D1E2F3A4B5C6}", "Update", on, installed_by="S-1-5-18"))
        rows.append(QfeRow("943729", "Update", on, installed_by="S-1-5-18", kb="KB943729"))
    else:
        rows.append(QfeRow("Q147222", "Update", "", service_pack_in_effect=f"SP{profile.sp}", kb="KB147222"))
    if powershell and not profile.version.startswith("6.1"):  # PowerShell 2.0 comes with WMF 2.0 (KB968930)
        rows.append(qfe_row("KB968930", profile, t, "Update"))
    return rows


def os_registry(profile: OsProfile, syn_attack_protect: int | None) -> dict[str, Any]:
    """The registry values every host of this kind carries."""
    values: dict[str, Any] = {
        _NT_CURRENT_VERSION + "\\CurrentVersion": ".".join(profile.version.split(".")[:2]),
        _NT_CURRENT_VERSION + "\\CurrentBuildNumber": str(profile.build),
        _NT_CURRENT_VERSION + "\\ProductName": profile.caption.strip(),
    }
    if profile.csd_version:
        values[_NT_CURRENT_VERSION + "\\CSDVersion"] = profile.csd_version
    if syn_attack_protect is not None:
        values[SYN_ATTACK_PROTECT] = syn_attack_protect
    return values


def install_registry(kb: str, profile: OsProfile, t: float, state: CbsState) -> dict[str, Any]:
    """The registry values that register ``kb`` in ``state``."""
    if profile.is_2003:
        # update.exe files a hotfix under the service pack that will contain it: post-SP1 fixes under SP2\
        updates = f"HKLM\\SOFTWARE\\Microsoft\\Updates\\Windows Server 2003\\SP{profile.sp + 1}\\{kb}"
        return {
            updates + "\\Description": f"Hotfix for Windows Server 2003 ({kb})",
            updates + "\\InstalledDate": datetime.fromtimestamp(t, UTC).strftime("%m/%d/%Y"),
            _NT_CURRENT_VERSION + f"\\Hotfix\\{kb}\\Installed": 1,
        }
    package = f"{CBS}\\Packages\\{cbs_package(kb, profile)}"
    return {package + "\\CurrentState": int(state), package + "\\InstallName": cbs_package(kb, profile) + ".mum"}


def pending_registry(profile: OsProfile, renames: list[str]) -> dict[str, Any]:
    """The values that say a restart is needed to finish an install."""
    if profile.is_2003:
        return {UPDATE_EXE_VOLATILE: 1, PENDING_FILE_RENAMES: renames}
    return {CBS_REBOOT_PENDING: ""}


def registered_hotfixes(kb: str, profile: OsProfile, registry: dict[str, Any]) -> list[Hotfix]:
    """The non-QFE registrations of ``kb`` visible in ``registry``: a CBS package or update.exe keys."""
    if profile.is_2003:
        key = _NT_CURRENT_VERSION + f"\\Hotfix\\{kb}\\Installed"
        return [Hotfix(id=kb, source="registry", kb=kb)] if key in registry else []
    package = cbs_package(kb, profile)
    state = registry.get(f"{CBS}\\Packages\\{package}\\CurrentState")
    if state is None:
        return []
    return [Hotfix(id=package, source="cbs", kb=kb, state=CbsState(state).name.lower(), package=package)]


def pending_reasons(registry: dict[str, Any]) -> list[str]:
    return [reason for reason, key in PENDING_REASONS.items() if key in registry]
