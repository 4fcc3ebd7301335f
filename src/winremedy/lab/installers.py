"""The installers a lab host runs: wusa, expand, dism, pkgmgr, a staged Windows 2003 update.exe and a
service pack's standalone installer (which takes the host to the service pack at its next boot; the
same "not applicable" and "already installed" choices as update.exe, 3010 once installed).

Each reads the staged package from the host's file system and decides from its
*content*, never its name: an .msu or update.exe through
:func:`winremedy.repo.identity.read_identity` (properties text, update.inf), an
expanded update .cab through its ``update.mum`` (as CBS does). A package for
another architecture, NT version or service pack range is not applicable;
otherwise :meth:`HostModel.install` decides (the catalog's applicability,
already installed, restart needed). Installs take host time, so a task that
runs one is "running" for a while.

Exit codes (wuerror.h; DISM/CBS errors, TechNet cc732334; WSUS Offline's InstallOSUpdate.cmd; KB2773898),
per installer:

========================  =============  ==================  ====================
                          wusa           dism / pkgmgr       update.exe (2003)
========================  =============  ==================  ====================
installed                 0              0                   0
restart needed            3010           3010                3010
already installed         2359302        0 (3010 if its      0 [UNVERIFIED]
                                         restart is pending)
                                         [INF]
not applicable            0x80240017     0x800F081E          1633 [UNVERIFIED]
missing file              0x80070002     2 [INF]             9009 (cmd: not found)
unreadable package        0x80070570     0x800F0805          193 [INF]
                          [INF]
WinRM (network) logon     0x80070005     (works)             (works [INF])
wuauserv disabled         0x80070422     (works)             (works [INF])
                          [INF]
========================  =============  ==================  ====================

wusa needs the Windows Update service and answers ERROR_SERVICE_DISABLED when it
is disabled (chocolatey/choco #1073); DISM and pkgmgr go through CBS
(TrustedInstaller) and do not need it. The lab reads the service's start mode
from the host model (fleet key ``windows_update``).

Microsoft's update.exe return-code appendix ("Appendix E", The Package
Installer) is not confirmed, so the lab's update.exe codes for "not
applicable" (1633, ERROR_INSTALL_PLATFORM_UNSUPPORTED) and "already
installed" (0, a silent reinstall) are choices, not facts.
"""

from __future__ import annotations

import io
import ntpath
import tempfile
from pathlib import Path

from ..errors import RepoError
from ..repo.cab import Cabinet
from ..repo.identity import Identity, MumIdentity, read_identity, read_mum
from .host import HostModel, InstallOutcome
from .scheduler import Programs, RunContext

ACCESS_DENIED = 0x80070005  # wusa under a network logon (KB2773898)
SERVICE_DISABLED = 0x80070422  # wusa with the Windows Update service disabled (ERROR_SERVICE_DISABLED)
WU_NOT_APPLICABLE = 0x80240017
WU_ALREADY_INSTALLED = 2359302  # 0x00240006
CBS_NOT_APPLICABLE = 0x800F081E
CBS_INVALID_PACKAGE = 0x800F0805
UPDATE_NOT_APPLICABLE = 1633  # UNVERIFIED: the lab's choice for update.exe (ERROR_INSTALL_PLATFORM_UNSUPPORTED)
FILE_NOT_FOUND = 0x80070002
FILE_CORRUPT = 0x80070570  # INF: ERROR_FILE_CORRUPT as an HRESULT
BAD_EXE_FORMAT = 193  # INF: cmd.exe's errorlevel for a file that is not a valid program
INVALID_PARAMETER = 87
SUCCESS, RESTART_NEEDED = 0, 3010

# Host seconds each tool takes when it gets as far as installing (a refusal takes REFUSAL).
_SECONDS = {"wusa": 90.0, "dism": 60.0, "pkgmgr": 75.0, "update": 45.0, "expand": 5.0, "service_pack": 1800.0}
_REFUSAL = 2.0
_MUM_LIMIT = 1 << 20


def wusa(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``wusa.exe <msu> /quiet /norestart``."""
    path = _operand(args)
    if path is None:
        return INVALID_PARAMETER, _REFUSAL
    if ctx.logon == "network":
        return ACCESS_DENIED, _REFUSAL
    update_service = host.service("wuauserv")
    if update_service is not None and update_service.start_mode == "Disabled":
        return SERVICE_DISABLED, _REFUSAL
    data = host.fs.read(path)
    if data is None:
        return FILE_NOT_FOUND, _REFUSAL
    identity = _identity(data, path)
    if identity is None or identity.kind != "msu":
        return FILE_CORRUPT, _REFUSAL
    if not _fits(host, identity.arch, identity.nt_version, identity.sps):
        return WU_NOT_APPLICABLE, _REFUSAL
    return _install(host, identity.kb, ctx, not_applicable=WU_NOT_APPLICABLE, already=WU_ALREADY_INSTALLED), _SECONDS["wusa"]


def expand(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``expand.exe -F:* <cab> <directory>``: every member of the CAB written into the directory."""
    operands = [arg for arg in args if not arg.startswith(("-", "/"))]
    if len(operands) != 2:
        return 1, _REFUSAL
    source, target = operands
    data = host.fs.read(source)
    if data is None:
        return 1, _REFUSAL
    try:
        cab = Cabinet(io.BytesIO(data), source)
        members = [(member.name, cab.read(member)) for member in cab.members]
    except RepoError:
        return 1, _REFUSAL
    for name, content in members:
        host.fs.write(ntpath.join(target, name), content)
    return SUCCESS, _SECONDS["expand"]


def dism(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``Dism.exe /Online /Add-Package /PackagePath:<cab> /Quiet /NoRestart``."""
    return _cbs(host, _switch(args, "/packagepath:"), ctx, "dism")


def pkgmgr(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``pkgmgr.exe /ip /m:<cab> /quiet /norestart`` (the lab takes the .cab, not an expanded directory)."""
    return _cbs(host, _switch(args, "/m:"), ctx, "pkgmgr")


def update(host: HostModel, argv: list[str], ctx: RunContext) -> tuple[int, float]:
    """A staged Windows 2003 hotfix, or a service pack's standalone installer, run by its path:
    ``"<exe>" /quiet /norestart`` (``argv[0]`` is the path)."""
    path = argv[0]
    identity = _identity(host.fs.read(path) or b"", path)
    if identity is None or identity.kind != "exe":
        return BAD_EXE_FORMAT, _REFUSAL
    if not _fits(host, identity.arch, identity.nt_version, identity.sps):
        return UPDATE_NOT_APPLICABLE, _REFUSAL
    if identity.service_pack:
        outcome = host.install_service_pack(identity.kb, at=ctx.at)
        codes = {InstallOutcome.NOT_APPLICABLE: UPDATE_NOT_APPLICABLE, InstallOutcome.ALREADY_INSTALLED: SUCCESS}
        return codes.get(outcome, _success(outcome)), _SECONDS["service_pack"]
    return _install(host, identity.kb, ctx, not_applicable=UPDATE_NOT_APPLICABLE, already=SUCCESS), _SECONDS["update"]


PROGRAMS: Programs = {"wusa": wusa, "expand": expand, "dism": dism, "pkgmgr": pkgmgr, "update": update}


def _cbs(host: HostModel, path: str | None, ctx: RunContext, tool: str) -> tuple[int, float]:
    """DISM and pkgmgr: the update .cab's ``update.mum`` says KB, architecture and NT version."""
    if path is None:
        return INVALID_PARAMETER, _REFUSAL
    data = host.fs.read(path)
    if data is None:
        return 2, _REFUSAL
    identity = _mum_identity(data, path)
    if identity is None:
        return CBS_INVALID_PACKAGE, _REFUSAL
    if not _fits(host, identity.arch, identity.nt_version, None):
        return CBS_NOT_APPLICABLE, _REFUSAL
    outcome = host.install(identity.kb, at=ctx.at)
    if outcome is InstallOutcome.NOT_APPLICABLE:
        return CBS_NOT_APPLICABLE, _REFUSAL
    if outcome is InstallOutcome.ALREADY_INSTALLED:
        pending = host.installed()[identity.kb].effective_at is None
        return (RESTART_NEEDED if pending else SUCCESS), _SECONDS[tool]
    return _success(outcome), _SECONDS[tool]


def _install(host: HostModel, kb: str, ctx: RunContext, *, not_applicable: int, already: int) -> int:
    """Install on the host model; the exit code this tool gives for each outcome."""
    outcome = host.install(kb, at=ctx.at)
    codes = {InstallOutcome.NOT_APPLICABLE: not_applicable, InstallOutcome.ALREADY_INSTALLED: already}
    return codes.get(outcome, _success(outcome))


def _success(outcome: InstallOutcome) -> int:
    return RESTART_NEEDED if outcome is InstallOutcome.REBOOT_REQUIRED else SUCCESS


def _fits(host: HostModel, arch: str, nt_version: str, sps: tuple[int, int] | None) -> bool:
    """Whether the package's own content targets this host's architecture, NT version and service pack."""
    profile = host.profile
    in_range = sps is None or sps[0] <= profile.sp <= sps[1]
    return arch == profile.arch and f"{profile.version}.".startswith(f"{nt_version}.") and in_range


def _identity(data: bytes, path: str) -> Identity | None:
    """The package's identity through the repository's own reader (which reads files), or None if unreadable."""
    with tempfile.TemporaryDirectory(prefix="winremedy-lab-") as folder:
        local = Path(folder) / (ntpath.basename(path) or "package")
        local.write_bytes(data)
        try:
            return read_identity(local)
        except RepoError:
            return None


def _mum_identity(data: bytes, path: str) -> MumIdentity | None:
    """What an update .cab's ``update.mum`` says; None if it is not a readable package."""
    try:
        cab = Cabinet(io.BytesIO(data), path)
        member = cab.find("update.mum")
        data = cab.read(member, _MUM_LIMIT) if member else b""
    except RepoError:
        return None
    return read_mum(data)


def _operand(args: list[str]) -> str | None:
    return next((arg for arg in args if not arg.startswith("/")), None)


def _switch(args: list[str], prefix: str) -> str | None:
    return next((arg[len(prefix):] for arg in args if arg.lower().startswith(prefix)), None)
