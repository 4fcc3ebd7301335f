"""Host settings the remediation adapts to, read as registry values by the audit's one query.

* ``wuauserv`` start mode: ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>\\Start``,
  2 automatic, 3 manual, 4 disabled ("CurrentControlSet\\Services Subkey Entries", KB103000).
  wusa.exe needs the Windows Update service and exits 0x80070422 (ERROR_SERVICE_DISABLED)
  when it is disabled; DISM goes through TrustedInstaller instead (chocolatey/choco #1073).
* FIPS policy: ``...\\Control\\Lsa\\FipsAlgorithmPolicy\\Enabled`` on Vista and later,
  ``...\\Control\\Lsa\\FIPSAlgorithmPolicy`` (a DWORD) on XP / 2003 (KB811833, "System
  cryptography: Use FIPS compliant algorithms...").
* ``%SystemRoot%``: ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SystemRoot``.
"""

from __future__ import annotations

from typing import Any, Mapping

WUAUSERV_START = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\wuauserv\\Start"
SERVICE_DISABLED = 4
FIPS_POLICY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy\\Enabled"
FIPS_POLICY_2003 = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FIPSAlgorithmPolicy"
SYSTEM_ROOT = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SystemRoot"
VALUES = (WUAUSERV_START, FIPS_POLICY, FIPS_POLICY_2003, SYSTEM_ROOT)


def windows_update_disabled(registry: Mapping[str, Any]) -> bool:
    return _number(registry.get(WUAUSERV_START)) == SERVICE_DISABLED


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
