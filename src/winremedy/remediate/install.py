"""Install a staged package the way that works over WinRM on each OS, and say what its exit code means.

Every install runs in a one-shot task as SYSTEM (:mod:`.tasks`), named
``winremedy-install-<KB>``, because wusa.exe answers 0x80070005 to a WinRM
logon (KB2773898). Per OS family (KB934307; WSUS Offline's InstallOSUpdate.cmd):

* Windows 7 / 2008 R2: ``wusa.exe "<msu>" /quiet /norestart``; or, with
  ``method="dism"``, expand the .msu and ``Dism.exe /Online /Add-Package`` its
  update .cab. The task's cmd.exe is a 64-bit process on x64, so
  ``%SystemRoot%\\System32\\Dism.exe`` is the 64-bit DISM; a 32-bit caller
  would need ``%SystemRoot%\\Sysnative\\Dism.exe``.
* Vista / 2008: expand, then ``pkgmgr.exe /ip /m:"<dir>\\<cab>"``. WSUS
  Offline's InstallOSUpdate.cmd passes the expanded *directory* to /m; this
  passes the update .cab itself, which pkgmgr also takes [INF: both forms are
  seen in public scripts; neither is confirmed by Microsoft here]. ``method="wusa"``
  uses wusa there too.
* Windows 2003: ``"<exe>" /quiet /norestart`` (update.exe switches, KB262841).
* A service pack (an entry the repository recorded with ``service_pack``): its standalone installer,
  ``"<exe>" /quiet /norestart`` on every family and whatever ``method`` says ("Windows 7 and Windows
  Server 2008 R2 SP1 Deployment Guide"); its exit codes read as the table below.

The update .cab inside an .msu is named after its properties text
(``Windows6.1-KB2847346-x64-pkgProperties.txt`` -> ``Windows6.1-KB2847346-x64.cab``),
which the repository recorded when it read the package, so a renamed .msu still works.
A failed expand skips the installer with expand's exit code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..catalog import normalize_kb_id
from ..errors import InstallError, RemediationError, RepoError
from ..repo.manifest import Entry
from ..scripts import render
from ..transport.base import Transport
from .poller import DEFAULT_WAIT, Poller
from .stage import DIGEST_SUFFIX, STAGING_DIR
from .tasks import ON_FAILURE, TaskState, batch_quoted, start_task, wait_task

# scripts/verify.ps1's exit code when the staged package is not the manifest's any more
BAD_DIGEST = 0x80096010  # TRUST_E_BAD_DIGEST, "Common HRESULT Values", Microsoft Learn
BAD_ALGID = 0x80090008  # NTE_BAD_ALGID, the same table: verify.ps1 has no SHA-256 class it may use
POWERSHELL_EXE = r"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe"

_PROPERTIES_SUFFIX = "-pkgproperties.txt"
_CBS_FAMILIES = ("vista", "win2008", "win7", "win2008r2")
_DISM_FAMILIES = ("win7", "win2008r2")
METHODS = ("auto", "wusa", "dism")


class Outcome(str, Enum):
    INSTALLED = "installed"
    REBOOT_REQUIRED = "reboot_required"
    REBOOT_INITIATED = "reboot_initiated"
    ALREADY_INSTALLED = "already_installed"
    NOT_APPLICABLE = "not_applicable"
    ACCESS_DENIED = "access_denied"
    FAILED = "failed"


# Unsigned exit code -> (outcome, meaning). Sources: wuerror.h (WU_*), winerror.h (ERROR_*), TechNet cc732334
# (CBS_E_*), WSUS Offline's InstallOSUpdate.cmd (which codes mean success).
_CODES: dict[int, tuple[Outcome, str]] = {
    0: (Outcome.INSTALLED, "installed"),
    3010: (Outcome.REBOOT_REQUIRED, "installed; a restart is required (ERROR_SUCCESS_REBOOT_REQUIRED)"),
    3011: (Outcome.REBOOT_REQUIRED, "installed; a restart is required (ERROR_SUCCESS_RESTART_REQUIRED, success per WSUS Offline)"),
    1641: (Outcome.REBOOT_INITIATED, "installed; the installer started a restart (ERROR_SUCCESS_REBOOT_INITIATED)"),
    0x00240005: (Outcome.REBOOT_REQUIRED, "installed; a restart is required (WU_S_REBOOT_REQUIRED)"),
    0x00240006: (Outcome.ALREADY_INSTALLED, "already installed (WU_S_ALREADY_INSTALLED)"),
    0x80240017: (Outcome.NOT_APPLICABLE, "not applicable to this computer (WU_E_NOT_APPLICABLE)"),
    0x800F081E: (Outcome.NOT_APPLICABLE, "not applicable to this image (CBS_E_NOT_APPLICABLE)"),
    1633: (Outcome.NOT_APPLICABLE, "not applicable to this platform (ERROR_INSTALL_PLATFORM_UNSUPPORTED; the lab's "
                                   "update.exe answer: Microsoft's update.exe return codes are UNVERIFIED)"),
    # wusa needs the Windows Update service; DISM goes through TrustedInstaller instead (chocolatey/choco #1073)
    0x80070422: (Outcome.FAILED, "the Windows Update service is disabled (ERROR_SERVICE_DISABLED): wusa.exe needs it; "
                                 "enable wuauserv, or install with --method dism (Windows 7 / 2008 R2)"),
    0x80070005: (Outcome.ACCESS_DENIED, "access denied (E_ACCESSDENIED): wusa refuses a WinRM logon (KB2773898); "
                                        "run it in a scheduled task as SYSTEM"),
    5: (Outcome.ACCESS_DENIED, "access denied (ERROR_ACCESS_DENIED)"),
}
# Failures worth a name in the message (the outcome stays FAILED).
_FAILURES = {
    BAD_DIGEST: "the staged package's digest changed after staging (TRUST_E_BAD_DIGEST); the installer did not run",
    BAD_ALGID: "the SYSTEM task has no digest it can check here (NTE_BAD_ALGID: the FIPS policy forbids SHA256Managed, "
               ".NET 3.5 is missing and no SHA-1 was written beside the package); the installer did not run: stage "
               "it again",
    2: "the system cannot find the file specified",
    0x80070002: "the system cannot find the file specified",
    0x80070570: "the file is corrupt or unreadable",
    0x800F0805: "the package is invalid (CBS_E_INVALID_PACKAGE)",
    0x800F0806: "an earlier operation is pending a restart (CBS_E_PENDING)",
    193: "not a valid program (ERROR_BAD_EXE_FORMAT)",
    9009: "the command was not found",
}
_CHANGED = (Outcome.INSTALLED, Outcome.REBOOT_REQUIRED, Outcome.REBOOT_INITIATED)


@dataclass(frozen=True)
class InstallResult:
    kb: str
    outcome: Outcome
    exit_code: int | None  # signed, as %ERRORLEVEL% printed it; None when the task was cut short
    changed: bool
    reboot_required: bool  # also after REBOOT_INITIATED: the install completes only with that restart
    message: str
    task: str


def outcome_of(exit_code: int) -> tuple[Outcome, str]:
    """What an installer's exit code means; signed (%ERRORLEVEL%) and unsigned (WinRS) forms alike."""
    unsigned = exit_code & 0xFFFFFFFF
    signed = unsigned - (1 << 32) if unsigned & 0x80000000 else unsigned
    outcome, meaning = _CODES.get(unsigned, (Outcome.FAILED, "failed"))
    if outcome is Outcome.FAILED and unsigned in _FAILURES:
        meaning = f"failed: {_FAILURES[unsigned]}"
    return outcome, f"exit code {signed} (0x{unsigned:08X}): {meaning}"


def choose_method(method: str, family: str, windows_update_disabled: bool) -> str:
    """``auto`` on Windows 7 / 2008 R2 is wusa, unless the Windows Update service is disabled: wusa then exits
    0x80070422, and expand + DISM (CBS through TrustedInstaller, not wuauserv) still works."""
    if method == "auto" and windows_update_disabled and family in _DISM_FAMILIES:
        return "dism"
    return method


def install_task_name(kb: str) -> str:
    return f"winremedy-install-{_kb(kb)}"


def powershell_verify(entry: Entry, staged_path: str) -> list[str]:
    return [verify_line(entry, staged_path)]


def install_lines(entry: Entry, staged_path: str, family: str, *, directory: str = STAGING_DIR,
                  method: str = "auto", verify: Callable[[Entry, str], Sequence[str]] = powershell_verify) -> list[str]:
    """The batch lines that install ``entry`` from ``staged_path`` on an OS of ``family``: first the package's
    digest checked again by the SYSTEM task itself (``verify``: the route's lines, PowerShell's
    :func:`verify_line` by default, certutil's on a host without it), then the installer."""
    return [*verify(entry, staged_path), *_installer_lines(entry, staged_path, family, directory, method)]


def verify_line(entry: Entry, staged_path: str) -> str:
    """PowerShell 2.0 hashing the staged package right before the installer runs; a mismatch ends the batch.

    -EncodedCommand (base64 of UTF-16LE) keeps cmd.exe from expanding anything in the path."""
    script = render("verify", {"path": staged_path, "sha256": entry.sha256, "digests": staged_path + DIGEST_SUFFIX},
                    common=False)
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return f"{POWERSHELL_EXE} -NoProfile -NonInteractive -EncodedCommand {encoded} {ON_FAILURE}"


def _installer_lines(entry: Entry, staged_path: str, family: str, directory: str, method: str) -> list[str]:
    if method not in METHODS:
        raise ValueError(f"install method {method!r}: expected one of {', '.join(METHODS)}")
    if entry.identity.get("service_pack"):
        return [f'"{staged_path}" /quiet /norestart']
    expected_kind = "exe" if family == "win2003" else "msu"
    if family not in ("win2003", *_CBS_FAMILIES) or entry.kind != expected_kind:
        raise ValueError(f"{entry.file}: a {entry.kind} package does not install on {family} (expected {expected_kind})")
    staged = batch_quoted(staged_path)
    if family == "win2003":
        if method != "auto":
            raise ValueError(f"install method {method!r} does not exist on win2003 (update.exe only)")
        return [f'{staged} /quiet /norestart']
    if method == "wusa" or (method == "auto" and family in _DISM_FAMILIES):
        return [f'wusa.exe {staged} /quiet /norestart']
    if method == "dism" and family not in _DISM_FAMILIES:
        raise ValueError(f"install method 'dism' does not exist on {family} (Dism.exe arrived with Windows 7 / 2008 R2)")
    folder = f"{directory}\\{entry.kb}"
    cab = batch_quoted(f"{folder}\\{_update_cab(entry)}")
    quoted_folder, folder_itself = batch_quoted(folder), batch_quoted(f"{folder}\\")
    installer = (f'%SystemRoot%\\System32\\Dism.exe /Online /Add-Package /PackagePath:{cab} /Quiet /NoRestart'
                 if method == "dism" else f'pkgmgr.exe /ip /m:{cab} /quiet /norestart')
    return [f"if not exist {folder_itself} mkdir {quoted_folder}", f"expand.exe -F:* {staged} {quoted_folder} {ON_FAILURE}",
            installer]


def start_install(transport: Transport, entry: Entry, staged_path: str, family: str, *, method: str = "auto",
                  check: bool = False) -> TaskState:
    """Start the install task (check mode: only read the task's state; :func:`install_lines` says what would run)."""
    lines = install_lines(entry, staged_path, family, method=method)
    return start_task(transport, install_task_name(entry.kb), lines, check=check)


def finish_install(transport: Transport, kb: str, poller: Poller = DEFAULT_WAIT, *,
                   query: Callable[[str], TaskState] | None = None) -> InstallResult:
    """Wait for the install task of ``kb`` and map its exit code; never starts anything (safe after an interruption).

    Raises :class:`CommandTimeoutError` (naming host and task) after the poller's timeout, :class:`InstallError`
    when no install task exists.
    """
    kb = _kb(kb)
    task = install_task_name(kb)
    try:
        state = wait_task(transport, task, poller, query=query)
    except RemediationError as error:
        raise InstallError(f"{transport.host}: {kb}: {error}", host=transport.host, kb=kb) from None
    if state.exit_code is None:
        message = f"the install task {task} ended without an exit code (cut short by a restart?)"
        return InstallResult(kb, Outcome.FAILED, None, False, False, message, task)
    outcome, message = outcome_of(state.exit_code)
    reboot = outcome in (Outcome.REBOOT_REQUIRED, Outcome.REBOOT_INITIATED)
    return InstallResult(kb, outcome, state.exit_code, outcome in _CHANGED, reboot, message, task)


def install(transport: Transport, entry: Entry, staged_path: str, family: str, *, method: str = "auto",
            check: bool = False, poller: Poller = DEFAULT_WAIT) -> InstallResult | TaskState:
    """:func:`start_install` then :func:`finish_install`; in check mode only the task's current state."""
    state = start_install(transport, entry, staged_path, family, method=method, check=check)
    if check:
        return state
    return finish_install(transport, entry.kb, poller)


def _kb(text: str) -> str:
    kb = normalize_kb_id(text)
    if kb is None:
        raise ValueError(f"not a KB id: {text!r}")
    return kb


def _update_cab(entry: Entry) -> str:
    source = str(entry.identity.get("source", ""))
    if not source.lower().endswith(_PROPERTIES_SUFFIX):
        raise RepoError(entry.file, f"cannot tell its update .cab: the properties text is {source!r}, "
                                    "expected <name>-pkgProperties.txt beside <name>.cab")
    return source[: -len(_PROPERTIES_SUFFIX)] + ".cab"
