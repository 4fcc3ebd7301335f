"""Installs per OS family through a task as SYSTEM, exit codes to outcomes, over LocalTransport and the lab host."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import CommandTimeoutError, InstallError, RepoError
from winremedy.audit.facts import HostFacts
from winremedy.lab import updates
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import package_bytes
from winremedy.lab.profiles import OsProfile
from winremedy.lab.signing import lab_signer
from winremedy.remediate.install import (
    InstallResult,
    Outcome,
    choose_method,
    finish_install,
    install,
    install_lines,
    install_task_name,
    outcome_of,
    start_install,
    verify_line,
)
from winremedy.remediate.poller import Poller
from winremedy.remediate.stage import DIGEST_SUFFIX, STAGING_DIR, Source, stage
from winremedy.repo.manifest import Entry
from winremedy.repo.verify import verify_package
from winremedy.scripts import render

START = 1_709_251_200.0  # 2024-03-01T00:00:00Z


class Lab:
    """One lab host with a package staged in its file system (as the stager would leave it)."""

    def __init__(self, tmp: Path, kb: str, family: str, sp: int, arch: str, *, package_arch: str | None = None,
                 content_arch: str | None = None, **spec: object) -> None:
        """``package_arch``: stage the package of another architecture; ``content_arch``: a mislabelled one."""
        catalog = load_catalog()
        kb_entry = catalog.get(kb)
        profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]
        package = next(p for p in kb_entry.packages if p.arch == (package_arch or arch)
                       and profile.version in p.versions and (package_arch or family in p.os))
        local = tmp / package.file
        local.write_bytes(package_bytes(kb_entry, package))
        self.entry: Entry = verify_package(local, catalog, lab_signer().roots)
        self.path = f"{STAGING_DIR}\\{package.file}"
        self.clock = ManualClock(START)
        self.host = EmulatedHost(HostSpec(name="inst-01", profile=profile, user="Administrator", password="pw", seed=5, **spec),  # type: ignore[arg-type]
                                 self.clock, reboot_downtime=120)
        staged = package_bytes(kb_entry, package, content_arch)
        self.host.fs.write(self.path, staged)
        # the manifest's hash is of what was staged (a mislabelled package passes the task's hash check)
        self.entry = dataclasses.replace(self.entry, sha256=hashlib.sha256(staged).hexdigest())
        self.transport = LocalTransport(self.host)
        self.family = family

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def poller(self, **options: Any) -> Poller:
        """Waits on the lab's manual clock."""
        return Poller(sleep=self.sleep, clock=self.clock.now, **options)

    def install(self, method: str = "auto") -> InstallResult:
        start_install(self.transport, self.entry, self.path, self.family, method=method)
        return finish_install(self.transport, self.entry.kb, self.poller())

    def reboot(self) -> None:
        assert self.host.reboot()
        self.clock.advance(self.host.reboot_downtime + 1)

    def files(self) -> dict[str, str | None]:
        facts = HostFacts.from_dict(self.host.facts(), origin="lab")
        assert facts.files is not None
        return facts.files


@pytest.mark.parametrize(
    ("kb", "family", "sp", "arch", "method", "lines"),
    [
        ("KB2847346", "win7", 1, "x64", "auto", ['wusa.exe "{path}" /quiet /norestart']),
        ("KB2847346", "win2008r2", 1, "x64", "dism", [
            'if not exist "{dir}\\KB2847346\\" mkdir "{dir}\\KB2847346"',
            'expand.exe -F:* "{path}" "{dir}\\KB2847346" || goto winremedy_done',
            '%SystemRoot%\\System32\\Dism.exe /Online /Add-Package '
            '/PackagePath:"{dir}\\KB2847346\\Windows6.1-KB2847346-x64.cab" /Quiet /NoRestart',
        ]),
        ("KB979223", "win2008", 2, "x86", "auto", [
            'if not exist "{dir}\\KB979223\\" mkdir "{dir}\\KB979223"',
            'expand.exe -F:* "{path}" "{dir}\\KB979223" || goto winremedy_done',
            'pkgmgr.exe /ip /m:"{dir}\\KB979223\\Windows6.0-KB979223-x86.cab" /quiet /norestart',
        ]),
        ("KB979223", "vista", 1, "x64", "wusa", ['wusa.exe "{path}" /quiet /norestart']),
        ("KB979223", "win7", 0, "x86", "auto", ['wusa.exe "{path}" /quiet /norestart']),
    ],
)
def test_each_family_installs_through_its_tool_and_is_fixed_after_the_restart(
    tmp_path: Path, kb: str, family: str, sp: int, arch: str, method: str, lines: list[str]
) -> None:
    lab = Lab(tmp_path, kb, family, sp, arch)
    expected = [verify_line(lab.entry, lab.path), *(line.format(path=lab.path, dir=STAGING_DIR) for line in lines)]
    assert install_lines(lab.entry, lab.path, family, method=method) == expected
    result = lab.install(method)
    assert (result.outcome, result.exit_code, result.changed, result.reboot_required) == (Outcome.REBOOT_REQUIRED, 3010, True, True)
    assert result.task == install_task_name(kb) == f"winremedy-install-{kb}"
    fix = updates.effect(kb, lab.host.profile).files
    assert fix and all(lab.files()[path] != version for path, version in fix.items())  # files change at the restart
    lab.reboot()
    assert all(lab.files()[path] == version for path, version in fix.items())
    assert lab.host.pending_reboot() == [] and lab.host.counters.installs == 1


def test_windows_2003_runs_the_staged_exe_and_needs_no_restart(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB903927", "win2003", 1, "x86", products=("lcs2003",))
    assert install_lines(lab.entry, lab.path, "win2003") == [verify_line(lab.entry, lab.path), f'"{lab.path}" /quiet /norestart']
    result = lab.install()
    assert (result.outcome, result.changed, result.reboot_required) == (Outcome.INSTALLED, True, False)
    assert "KB903927" in HostFacts.from_dict(lab.host.facts(), origin="lab").registered_kbs()


def test_the_task_is_running_while_the_installer_works(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    start_install(lab.transport, lab.entry, lab.path, "win7")
    seen: list[str] = []
    finish_install(lab.transport, "kb2847346", lab.poller(poll=10, on_wait=lambda state, waited: seen.append(state.state)))
    assert seen and set(seen) == {"running"}


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (0, Outcome.INSTALLED),
        (3010, Outcome.REBOOT_REQUIRED),
        (3011, Outcome.REBOOT_REQUIRED),
        (1641, Outcome.REBOOT_INITIATED),
        (2359301, Outcome.REBOOT_REQUIRED),
        (2359302, Outcome.ALREADY_INSTALLED),
        (0x80240017, Outcome.NOT_APPLICABLE),
        (0x800F081E, Outcome.NOT_APPLICABLE),
        (1633, Outcome.NOT_APPLICABLE),
        (0x80070005, Outcome.ACCESS_DENIED),
        (5, Outcome.ACCESS_DENIED),
        (0x80070002, Outcome.FAILED),
        (0x800F0805, Outcome.FAILED),
        (1, Outcome.FAILED),
        (0xDEADBEEF, Outcome.FAILED),
    ],
)
def test_exit_codes_signed_and_unsigned(code: int, outcome: Outcome) -> None:
    signed = code - (1 << 32) if code & 0x80000000 else code
    assert outcome_of(code) == outcome_of(signed)
    mapped, text = outcome_of(signed)
    assert mapped is outcome
    assert text.startswith(f"exit code {signed} (0x{code:08X}): ")


def test_failures_are_named_with_their_code() -> None:
    assert outcome_of(-2146498555) == (Outcome.FAILED, "exit code -2146498555 (0x800F0805): failed: the package is "
                                                       "invalid (CBS_E_INVALID_PACKAGE)")
    assert outcome_of(42) == (Outcome.FAILED, "exit code 42 (0x0000002A): failed")
    assert "UNVERIFIED" in outcome_of(1633)[1]


@pytest.mark.parametrize(("kb", "family", "sp", "method", "wrong", "code"), [
    ("KB2847346", "win7", 1, "auto", {"content_arch": "x86"}, 0x80240017 - (1 << 32)),  # named x64, x86 inside
    ("KB2847346", "win2008r2", 1, "dism", {"package_arch": "x86"}, 0x800F081E - (1 << 32)),
    ("KB979223", "win2008", 2, "auto", {"package_arch": "x86"}, 0x800F081E - (1 << 32)),
])
def test_content_for_another_architecture_is_not_applicable_and_changes_nothing(
    tmp_path: Path, kb: str, family: str, sp: int, method: str, wrong: dict[str, str], code: int
) -> None:
    lab = Lab(tmp_path, kb, family, sp, "x64", **wrong)
    result = lab.install(method)
    assert (result.outcome, result.exit_code, result.changed) == (Outcome.NOT_APPLICABLE, code, False)
    assert lab.host.installed() == {} and lab.host.counters.installs == 0


def test_windows_2003_package_for_another_service_pack_is_not_applicable(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB903927", "win2003", 1, "x86")
    lab.host.profile = OsProfile("win2003", 2, "x86")  # the update.inf targets SP1 only
    result = lab.install()
    assert (result.outcome, result.exit_code) == (Outcome.NOT_APPLICABLE, 1633)
    assert "UNVERIFIED" in result.message and lab.host.installed() == {}


def test_already_installed_is_reported_unchanged(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64", installed=("KB2847346",))
    result = lab.install()
    assert (result.outcome, result.exit_code, result.changed) == (Outcome.ALREADY_INSTALLED, 2359302, False)
    assert lab.host.counters.installs == 0


def test_a_missing_staged_file_fails_named_with_its_code(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    lab.host.fs.delete(lab.path)
    result = lab.install()
    assert result.outcome is Outcome.FAILED
    assert result.message == "exit code -2147024894 (0x80070002): failed: the system cannot find the file specified"


def test_check_mode_registers_nothing(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    assert start_install(lab.transport, lab.entry, lab.path, "win7", check=True).state == "absent"
    assert install(lab.transport, lab.entry, lab.path, "win7", check=True, poller=lab.poller()).state == "absent"  # type: ignore[union-attr]
    lab.clock.advance(600)
    assert lab.host.tasks == {}
    assert (lab.host.counters.tasks_run, lab.host.counters.installs) == (0, 0)


def test_install_waits_to_the_end(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    result = install(lab.transport, lab.entry, lab.path, "win7", poller=lab.poller())
    assert isinstance(result, InstallResult) and result.outcome is Outcome.REBOOT_REQUIRED


def test_a_timeout_names_host_and_task(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    start_install(lab.transport, lab.entry, lab.path, "win7")
    with pytest.raises(CommandTimeoutError, match=r"inst-01: task winremedy-install-KB2847346 still running"):
        finish_install(lab.transport, "KB2847346", lab.poller(timeout=30, poll=10))


def test_finishing_without_an_install_task_names_host_and_kb(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    with pytest.raises(InstallError, match=r"inst-01: KB2847346: .*no task winremedy-install-KB2847346") as caught:
        finish_install(lab.transport, "KB2847346", lab.poller())
    assert (caught.value.host, caught.value.kb) == ("inst-01", "KB2847346")


def test_a_restart_during_the_install_is_a_failure_without_exit_code(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    start_install(lab.transport, lab.entry, lab.path, "win7")
    lab.clock.advance(1)
    lab.transport.run_cmd("hostname")  # the installer has started
    lab.reboot()
    result = finish_install(lab.transport, "KB2847346", lab.poller())
    assert (result.outcome, result.exit_code) == (Outcome.FAILED, None)
    assert "cut short" in result.message


@pytest.mark.parametrize("via", ["cmd", "powershell"])
def test_wusa_run_directly_in_the_winrm_shell_is_denied_and_changes_nothing(tmp_path: Path, via: str) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    if via == "cmd":
        result = lab.transport.run_cmd("wusa.exe", [lab.path, "/quiet", "/norestart"])
    else:
        result = lab.transport.run_ps(f'wusa.exe "{lab.path}" /quiet /norestart\nexit $LASTEXITCODE')
    assert result.rc == 0x80070005  # unsigned, as WinRS reports the process exit code
    assert outcome_of(result.rc)[0] is Outcome.ACCESS_DENIED
    assert lab.host.installed() == {} and lab.host.counters.installs == 0 and lab.host.pending_reboot() == []


@pytest.mark.parametrize(
    ("family", "method", "kind", "message"),
    [
        ("win2008", "dism", "msu", "'dism' does not exist on win2008"),
        ("win2003", "wusa", "exe", "does not exist on win2003"),
        ("win7", "msi", "msu", "expected one of auto, wusa, dism"),
        ("win2003", "auto", "msu", "a msu package does not install on win2003"),
    ],
)
def test_impossible_install_lines_are_refused(family: str, method: str, kind: str, message: str) -> None:
    entry = Entry("x", "KB2847346", kind, "x64", (family,), (), 1, "0" * 64, {"source": "x-pkgProperties.txt"})
    with pytest.raises(ValueError, match=message):
        install_lines(entry, r"C:\x", family, method=method)


def test_an_msu_whose_update_cab_cannot_be_told_is_refused() -> None:
    entry = Entry("x.msu", "KB2847346", "msu", "x64", ("win2008",), (), 1, "0" * 64, {"source": "notes.txt"})
    with pytest.raises(RepoError, match=r"x\.msu: cannot tell its update \.cab"):
        install_lines(entry, r"C:\x.msu", "win2008")


def test_percent_signs_reach_the_installer_literally(tmp_path: Path) -> None:
    """cmd.exe expands %NAME% inside quotes too: a path with '%' must be escaped, or SYSTEM runs another file."""
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    data = lab.host.fs.read(lab.path)
    assert data is not None
    lab.path = f"{STAGING_DIR}\\100%SystemRoot%pkg%%.msu"
    lab.host.fs.write(lab.path, data)
    assert install_lines(lab.entry, lab.path, "win7") == [
        verify_line(lab.entry, lab.path), f'wusa.exe "{STAGING_DIR}\\100%%SystemRoot%%pkg%%%%.msu" /quiet /norestart']
    assert lab.install().outcome == Outcome.REBOOT_REQUIRED


def test_a_quote_in_a_batch_path_is_refused(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    with pytest.raises(ValueError, match="cannot hold a quote"):
        install_lines(lab.entry, f'{STAGING_DIR}\\a" & calc & ".msu', "win7")


# --- the Windows Update service disabled (hardened servers) ---------------------------------------


def test_wusa_with_the_windows_update_service_disabled_is_named(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64", windows_update="disabled")
    result = lab.install("wusa")
    assert result.outcome is Outcome.FAILED and result.exit_code == -2147023838  # 0x80070422 as %ERRORLEVEL%
    assert "the Windows Update service is disabled" in result.message and "--method dism" in result.message
    assert lab.host.installed() == {}


@pytest.mark.parametrize(("family", "disabled", "expected"), [
    ("win7", True, "dism"), ("win2008r2", True, "dism"), ("win7", False, "auto"),
    ("win2008", True, "auto"),  # pkgmgr already: CBS, not wuauserv
    ("win2003", True, "auto"),  # update.exe
])
def test_auto_chooses_dism_where_wusa_would_meet_a_disabled_service(family: str, disabled: bool, expected: str) -> None:
    assert choose_method("auto", family, disabled) == expected
    assert choose_method("wusa", family, disabled) == "wusa"  # told to: as told


def test_dism_installs_with_the_windows_update_service_disabled(tmp_path: Path) -> None:
    lab = Lab(tmp_path, "KB2847346", "win2008r2", 1, "x64", windows_update="disabled")
    result = lab.install(choose_method("auto", "win2008r2", True))
    assert result.outcome is Outcome.REBOOT_REQUIRED and lab.host.installed()


def test_the_system_task_refuses_a_package_swapped_after_staging(tmp_path: Path) -> None:
    """A local user who replaces the staged package after the stager's hash check (the task may run hours later,
    in a maintenance window) gets nothing run as SYSTEM: the task hashes it again and stops."""
    lab = Lab(tmp_path, "KB2847346", "win7", 1, "x64")
    lab.host.fs.write(lab.path, lab.host.fs.read(lab.path) + b"MZ payload")  # still a package the installer takes
    result = lab.install()
    assert result.outcome is Outcome.FAILED and "digest changed after staging" in result.message
    assert result.exit_code is not None and result.exit_code & 0xFFFFFFFF == 0x80096010
    assert lab.host.counters.installs == 0 and lab.host.installed() == {}


@pytest.mark.parametrize("dotnet, staged, installs", [
    (("2.0", "3.0", "3.5"), False, True),  # SHA256CryptoServiceProvider
    (("2.0", "3.0"), True, True),  # SHA-1, against the digest the stage's commit wrote beside the package
    (("2.0", "3.0"), False, False),  # SHA-1 and nothing to compare it with
])
def test_the_system_tasks_hash_check_on_a_fips_host(tmp_path: Path, dotnet: tuple[str, ...], staged: bool,
                                                    installs: bool) -> None:
    """Under the FIPS policy SHA256Managed (what SHA256.Create() gives, and what verify.ps1 used on main, so no FIPS
    host could install) throws: the task hashes as stage.ps1 does, with SHA-1 where SHA-256 is not to be had."""
    lab = Lab(tmp_path, "KB2847346", "win2008r2", 1, "x64", fips=True, dotnet=dotnet)
    if staged:
        lab.host.fs.delete(lab.path)
        result = stage(lab.transport, Source("push", tmp_path, None), lab.entry)
        assert result.basis == "SHA1CryptoServiceProvider" and lab.host.fs.exists(lab.path + DIGEST_SUFFIX)
    outcome = lab.install()
    if installs:
        assert outcome.outcome is Outcome.REBOOT_REQUIRED and lab.host.installed()
    else:
        assert outcome.outcome is Outcome.FAILED and "NTE_BAD_ALGID" in outcome.message
        assert lab.host.counters.installs == 0
    assert "SHA256CryptoServiceProvider" in render("verify", {"path": lab.path, "sha256": lab.entry.sha256}, common=False)
