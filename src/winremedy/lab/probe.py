"""The lab's answer to the readiness probe (``scripts/probe.ps1``), read from the host's fleet entry.

It answers the query it is given in the raw shape the real script prints, so the controller
judges lab and real hosts with the same code. What a default install reports, with sources:
WinRM 2.0's limits (MaxEnvelopeSizekb 150, MaxTimeoutms 60000, MaxShellsPerUser 5,
MaxMemoryPerShellMB 150: "Installation and configuration for Windows Remote Management",
Microsoft Learn), wsmsvc.dll builds per WinRM version (TechNet ee922649), Task Scheduler 2.0
from Vista on ("Task Scheduler 1.0 / 2.0", Microsoft Learn), the NDP subkey names ("How to:
Determine which .NET Framework versions are installed"), and the FIPS value's name and place
by Windows version (KB811833).
"""

from __future__ import annotations

import json
from typing import Any

from ..instants import iso
from ..psdata import FRAME_SENTINEL
from .api import CommandResult
from .host import HostModel
from .quirks import LOCALES

_WSMSVC = {("2.0", False): "6.1.7600.16385", ("1.1", True): "5.2.3790.4131", ("1.1", False): "6.0.6001.18000"}
_LIMITS = {"MaxEnvelopeSizekb": 150, "MaxTimeoutms": 60000, "Shell\\MaxMemoryPerShellMB": 150}
_NDP = {"1.1": "v1.1.4322", "2.0": "v2.0.50727", "3.0": "v3.0", "3.5": "v3.5", "4.0": "v4"}
_FIPS_2003 = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\fipsalgorithmpolicy"
_FIPS = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy\Enabled"
_SHORT_DATE = r"HKCU\Control Panel\International\sShortDate"


def answer(host: HostModel, query: dict[str, Any]) -> CommandResult:
    """What probe.ps1 would print on this host for ``query``."""
    spec = host.spec
    values = {path: _value(host, path) for path in query.get("registry_values", [])}
    result: dict[str, Any] = {
        "script": "probe", "errors": [],
        "powershell_version": spec.powershell, "clr_version": host.clr_version,
        "system_root": spec.system_root, "now": iso(host.clock.now()),
        "wmi": {"caption": host.profile.caption, "version": host.profile.version, "sp": host.profile.sp},
        "registry_values": values,
        "registry_subkeys": {path: _subkeys(host, path) for path in query.get("registry_subkeys", [])},
        "files": {path: wsmsvc_version(host) for path in query.get("files", []) if path.lower().endswith("wsmsvc.dll")},
        "wsman": {path: str(_limit(host, path)) for path in query.get("wsman", [])},
        "services": {name: _windows_update(spec.windows_update) for name in query.get("services", [])
                     if name.lower() == "wuauserv"},
        "task_scheduler": "1.0" if host.profile.is_2003 else "2.0",
        "staging_drive": {"drive": spec.system_root[:2], "free": float(host.free_disk)},
        "adapters": {"names": [a.name for a in spec.adapters],
                     "default_route": next((a.name for a in spec.adapters if a.default_route), None)},
    }
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0)


def wsmsvc_version(host: HostModel) -> str:
    """The file version of the host's %SystemRoot%\\System32\\wsmsvc.dll, by its WinRM version and Windows."""
    return _WSMSVC[(host.spec.winrm, host.profile.is_2003 and host.spec.winrm == "1.1")]


def _value(host: HostModel, path: str) -> Any:
    if path == _SHORT_DATE:
        return LOCALES[host.spec.locale].short_date
    if path == (_FIPS_2003 if host.profile.is_2003 else _FIPS):
        return int(host.spec.fips)
    return host.registry.get(path)


def _subkeys(host: HostModel, path: str) -> list[str] | None:
    if path.lower().endswith("\\ndp"):
        return [_NDP[version] for version in host.spec.dotnet]
    prefix = path.lower() + "\\"
    below = {known[len(prefix):].split("\\")[0] for known in host.registry if known.lower().startswith(prefix)}
    return sorted(below) if below else None


def _limit(host: HostModel, path: str) -> int:
    if path == "Shell\\MaxShellsPerUser":
        return host.max_shells_per_user
    return _LIMITS[path]


def _windows_update(state: str) -> dict[str, str]:
    return {"state": "Stopped", "start_mode": "Disabled"} if state == "disabled" else \
        {"state": "Running", "start_mode": "Auto"}
