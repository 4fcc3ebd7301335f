"""What the probe asks a host (``scripts/probe.ps1`` is generic: it reads what it is told to).

Sources of the places read:

* WinRM version: the file version of ``%windir%\\System32\\wsmsvc.dll`` (TechNet ee922649, "Details on the changes
  in Windows Remote Management behavior in Windows Server 2008 R2 and Windows 7", section "Detecting which version of
  WinRM is installed"), see :data:`WSMSVC_VERSIONS`; on a host without PowerShell read by ``wmic datafile``
  (:data:`WSMSVC_BY_CMD`);
* WinRM limits: ``WSMan:\\localhost`` MaxEnvelopeSizekb, MaxTimeoutms and ``Shell\\MaxShellsPerUser``,
  ``Shell\\MaxMemoryPerShellMB`` ("Installation and configuration for Windows Remote Management", Microsoft Learn);
* .NET versions: the subkeys of ``HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP`` ("How to: Determine
  which .NET Framework versions are installed", Microsoft Learn);
* FIPS: ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy`` ``Enabled`` (Vista and later)
  and ``Lsa\\fipsalgorithmpolicy`` (Windows XP / 2003) (KB811833);
* short-date pattern of the account the commands run as: ``HKCU\\Control Panel\\International``
  ``sShortDate``, which schtasks ``/sd`` follows ("schtasks create", Microsoft Learn);
* pending reboot: the signals the audit already reads (:mod:`winremedy.audit.collector`).
"""

from __future__ import annotations

from typing import Any

from ..audit.collector import PENDING_REBOOT_KEYS, PENDING_REBOOT_VALUES

WSMSVC = r"%SystemRoot%\System32\wsmsvc.dll"
# The same file's version through cmd.exe alone: cmd.exe expands %SystemRoot:\=\\% before wmic runs, doubling the
# backslashes ("Environment variable substitution" in set /?, "set (environment variable)", Microsoft Learn) as a
# WQL string literal needs them ("WHERE Clause (WMI)", Microsoft Learn: the backslash is WQL's escape character).
WSMSVC_BY_CMD = r"""wmic datafile where "name='%SystemRoot:\=\\%\\System32\\wsmsvc.dll'" get Version /format:list"""
# The free space of the staging folder's drive (it lives in %SystemRoot%\Temp, on %SystemDrive%) through cmd.exe
# alone: Win32_LogicalDisk's FreeSpace, in bytes ("Win32_LogicalDisk class", Microsoft Learn).
DISK_BY_CMD = """wmic logicaldisk where "DeviceID='%SystemDrive%'" get DeviceID,FreeSpace /format:list"""
# wsmsvc.dll file version -> WinRM version (TechNet ee922649, "Detecting which version of WinRM is installed";
# https://technet.microsoft.com/en-us/library/ee922649(v=ws.10).aspx). The page also maps 6.0.6001.18000
# (Vista SP1 / 2008 RTM) to "2.0", which contradicts WinRM 2.0 coming only with WMF 2.0 (KB968929): read as 1.1.
WSMSVC_VERSIONS = {
    "5.2.3790.2075": "0.5",
    "6.0.6000.16386": "1.0",
    "5.1.2600.3191": "1.1",
    "5.2.3790.2990": "1.1",
    "5.2.3790.4131": "1.1",
    "6.0.6001.18000": "1.1",
    "6.1.7600.16385": "2.0",
}
WSMAN_LIMITS = ("MaxEnvelopeSizekb", "MaxTimeoutms", r"Shell\MaxShellsPerUser", r"Shell\MaxMemoryPerShellMB")
NDP = r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP"
FIPS_VALUES = (r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy\Enabled",
               r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\fipsalgorithmpolicy")
SHORT_DATE = r"HKCU\Control Panel\International\sShortDate"
WINDOWS_UPDATE = "wuauserv"
STAGING = r"%SystemRoot%\Temp"


def build_query() -> dict[str, Any]:
    """The probe's parameters: the same for every host, since the OS is not known before it answers."""
    return {
        "registry_values": sorted({*FIPS_VALUES, SHORT_DATE, *PENDING_REBOOT_VALUES.values()}),
        "registry_subkeys": sorted({NDP, *PENDING_REBOOT_KEYS.values()}),
        "files": [WSMSVC],
        "wsman": list(WSMAN_LIMITS),
        "services": [WINDOWS_UPDATE],
        "staging": STAGING,
    }


def winrm_version(wsmsvc: str | None) -> str | None:
    """The WinRM version of a wsmsvc.dll file version: exact builds from the table, later builds by major.minor."""
    if not wsmsvc:
        return None
    if wsmsvc in WSMSVC_VERSIONS:
        return WSMSVC_VERSIONS[wsmsvc]
    major_minor = tuple(int(part) for part in wsmsvc.split(".")[:2])
    if major_minor >= (6, 1):  # WinRM 2.0's build is 6.1.7600; its later fixes keep 6.1
        return "2.0"
    return "1.1" if major_minor >= (5, 1) else None
