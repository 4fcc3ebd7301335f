"""The service packs a catalog prerequisite names (``prerequisite: {service_pack: 1, kb: KB976932}``).

A fix whose article requires a service pack cannot install before it; when the
repository holds the service pack's standalone package, remediation installs it
first, restarts, and continues with the fix. This table says what each service
pack's KB is, which build it takes a host from and to, and its package files.

Sources: "Information about Service Pack 1 for Windows 7 and for Windows Server
2008 R2" (KB976932: SP1 is build 7601, RTM is 7600); "Windows 7 and Windows
Server 2008 R2 SP1 Deployment Guide" (the standalone installers
windows6.1-KB976932-X86.exe, -X64.exe and -IA64.exe, run unattended with
``/quiet /norestart``; the installation completes with a restart).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Package, normalize_kb_id


@dataclass(frozen=True)
class ServicePack:
    """A service pack: its KB, the level it brings, the build it installs on and the build it makes."""

    kb: str
    sp: int
    from_version: str
    from_sp: int
    version: str
    packages: tuple[Package, ...]

    def package_for(self, families: tuple[str, ...], arch: str) -> Package | None:
        """The package of this architecture for any of ``families`` (its content names the NT version only)."""
        return next((p for p in self.packages if p.arch == arch and set(families) & set(p.os)), None)


SERVICE_PACKS: dict[str, ServicePack] = {
    "KB976932": ServicePack("KB976932", 1, "6.1.7600", 0, "6.1.7601", (
        Package("windows6.1-KB976932-X86.exe", "exe", ["win7"], ["6.1.7600"], "x86", "confirmed"),
        Package("windows6.1-KB976932-X64.exe", "exe", ["win7", "win2008r2"], ["6.1.7600"], "x64", "confirmed"),
        Package("windows6.1-KB976932-IA64.exe", "exe", ["win2008r2"], ["6.1.7600"], "ia64", "confirmed"),
    )),
}


def service_pack(kb: str | None) -> ServicePack | None:
    """The service pack whose KB is ``kb``, if it is one this tool can install."""
    key = normalize_kb_id(kb) if kb else None
    return SERVICE_PACKS.get(key) if key else None
