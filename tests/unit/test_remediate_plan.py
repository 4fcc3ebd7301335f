"""plan_host follows the audit: never touches fixed or not-applicable KBs, picks the exact package, says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.audit.run import AuditSettings, audit_host
from winremedy.catalog import load_catalog
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.install import install_lines, verify_line
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import HostStatus
from winremedy.remediate.plan import Action, Restart, plan_host
from winremedy.remediate.runner import HostContext, HostRun, Settings
from winremedy.remediate.stage import Source
from winremedy.repo.manifest import Manifest
from winremedy.audit.results import HostResult

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return write_repository(tmp_path_factory.mktemp("repo"))


def _audited(family: str, sp: int, arch: str, **spec: object) -> HostResult:
    host = EmulatedHost(HostSpec(name=f"{family}-{arch}", profile=OsProfile(family, sp, arch), user="u", password="p",
                                 seed=3, **spec), ManualClock(1.79e9))  # type: ignore[arg-type]
    return audit_host(LocalTransport(host), CATALOG, AuditSettings())


def _by_kb(plan):  # type: ignore[no-untyped-def]
    return {k.kb: k for k in plan.kbs}


def test_missing_kb_gets_its_exact_package_and_a_reboot(manifest: Manifest) -> None:
    plan = plan_host(_audited("win7", 1, "x64"), CATALOG, manifest)
    kb = _by_kb(plan)["KB2847346"]
    assert kb.action is Action.INSTALL and kb.restart is Restart.REBOOT
    assert kb.package is not None and kb.package.arch == "x64" and "KB2847346" in kb.package.file
    assert _by_kb(plan)["KB979223"].action is Action.SKIP  # SP1 carries the WFP fix
    assert _by_kb(plan)["KB903927"].action is Action.SKIP  # Windows 2003 only
    assert plan.restart is Restart.REBOOT and plan.has_work


def test_installed_kb_is_never_planned_again(manifest: Manifest) -> None:
    plan = plan_host(_audited("win7", 1, "x64", installed=("KB2847346",)), CATALOG, manifest)
    assert not plan.has_work and plan.restart is Restart.NONE


def test_pending_install_gets_only_its_restart(manifest: Manifest) -> None:
    kb = _by_kb(plan_host(_audited("win2008r2", 1, "x64", pending=("KB2847346",)), CATALOG, manifest))["KB2847346"]
    assert (kb.status, kb.action, kb.restart, kb.package) == ("pending_reboot", Action.RESTART_ONLY, Restart.REBOOT, None)


def test_lcs_fix_restarts_the_service_instead_of_the_host(manifest: Manifest) -> None:
    plan = plan_host(_audited("win2003", 1, "x86", products=("lcs2005",)), CATALOG, manifest)
    kb = _by_kb(plan)["KB903927"]
    assert kb.action is Action.INSTALL and kb.restart is Restart.SERVICE
    assert plan.restart is Restart.SERVICE and kb.service == "RTCSRV"


def test_gdr_missing_is_installed_only_when_allowed(manifest: Manifest) -> None:
    result = _audited("win7", 1, "x64", patch_level="gdr")
    assert {f.kb: f.status.value for f in result.findings}["KB2847346"] == "missing"
    assert _by_kb(plan_host(result, CATALOG, manifest))["KB2847346"].action is Action.INSTALL
    skipped = _by_kb(plan_host(result, CATALOG, manifest, install_gdr=False))["KB2847346"]
    assert skipped.action is Action.SKIP and "GDR installs are turned off" in skipped.reason


def test_missing_or_refused_package_blocks_with_the_reason(manifest: Manifest) -> None:
    result = _audited("win7", 1, "x64")
    empty = _by_kb(plan_host(result, CATALOG, Manifest()))["KB2847346"]
    assert empty.action is Action.BLOCKED and "no package" in empty.reason and "win7 6.1.7601 SP1 x64" in empty.reason
    file = _by_kb(plan_host(result, CATALOG, manifest))["KB2847346"].package.file  # type: ignore[union-attr]
    refused = _by_kb(plan_host(result, CATALOG, manifest, refused={file: "SHA-256 differs"}))["KB2847346"]
    assert refused.action is Action.BLOCKED and "SHA-256 differs" in refused.reason


def test_host_without_os_facts_cannot_be_planned(manifest: Manifest) -> None:
    with pytest.raises(ValueError, match="nohost: no OS facts"):
        plan_host(HostResult(host="nohost", reachable=False), CATALOG, manifest)


def test_plan_serialises_for_reports(manifest: Manifest) -> None:
    data = plan_host(_audited("win7", 1, "x86"), CATALOG, manifest).to_dict()
    assert data["restart"] == "reboot" and data["kbs"][0]["package"]["file"].endswith("x86.msu")


def test_journal_intent_survives_a_restart_and_closes(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "w7-0001")
    journal.record("install_started", "KB2847346", task="winremedy-install-KB2847346")
    journal.record("reboot_requested", boot_time="2024-03-01T00:00:00Z")
    again = Journal(tmp_path, "w7-0001")  # a new process reads what the killed one wrote
    assert again.open_intent("install_started", "KB2847346")["task"] == "winremedy-install-KB2847346"  # type: ignore[index]
    assert again.open_intent("install_started", "KB979223") is None
    assert again.open_intent("reboot_requested")["boot_time"] == "2024-03-01T00:00:00Z"  # type: ignore[index]
    again.record("install_finished", "KB2847346", outcome="reboot_required")
    again.record("reboot_done", boot_time="2024-03-01T00:05:00Z")
    assert Journal(tmp_path, "w7-0001").open_intent("install_started", "KB2847346") is None
    assert Journal(tmp_path, "w7-0001").open_intent("reboot_requested") is None


def test_journal_ignores_a_torn_last_line_and_memory_only_journals_write_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "h")
    journal.record("reboot_scheduled", at=1.0)
    assert journal.path is not None
    with open(journal.path, "a", encoding="utf-8") as stream:
        stream.write('{"step": "reboot_do')
    assert Journal(tmp_path, "h").open_intent("reboot_scheduled")["at"] == 1.0  # type: ignore[index]
    memory = Journal(None, "h")
    memory.record("install_started", "KB1")
    assert memory.open_intent("install_started", "KB1") is not None
    assert memory.path is None and sorted(p.name for p in (tmp_path / "journal").iterdir()) == ["h.jsonl"]



def test_missing_service_pack_prerequisite_blocks_with_the_reason(manifest: Manifest) -> None:
    result = _audited("win7", 0, "x64")
    finding = {f.kb: f for f in result.findings}["KB2847346"]
    assert (finding.status.value, finding.basis) == ("missing", "prerequisite")
    kb = _by_kb(plan_host(result, CATALOG, manifest))["KB2847346"]
    assert kb.action is Action.BLOCKED and "install Service Pack 1 (KB976932) first" in kb.reason


def test_service_pack_in_the_repository_is_installed_first(tmp_path: Path) -> None:
    with_service_packs = write_repository(tmp_path / "repo", service_packs=True)
    plan = plan_host(_audited("win7", 0, "x64"), CATALOG, with_service_packs)
    kb = _by_kb(plan)["KB2847346"]
    assert kb.action is Action.INSTALL and kb.restart is Restart.REBOOT and kb.service_pack
    assert kb.package is not None and kb.package.file == "windows6.1-KB976932-X64.exe" and kb.package.kb == "KB976932"
    assert "prerequisite first: Service Pack 1 (KB976932), then a restart into it and KB2847346" in kb.reason
    assert plan.service_packs == [kb] and plan.needs_reboot
    # the service pack's own installer, whatever the install method (the SP1 Deployment Guide's switches)
    assert install_lines(kb.package, r"C:\t\sp.exe", "win7", method="dism") == [
        verify_line(kb.package, r"C:\t\sp.exe"), '"C:\\t\\sp.exe" /quiet /norestart']  # hashed again, then run
    # a Windows 7 SP1 host needs no service pack: KB2847346 itself
    sp1 = _by_kb(plan_host(_audited("win7", 1, "x64"), CATALOG, with_service_packs))["KB2847346"]
    assert not sp1.service_pack and sp1.package is not None and sp1.package.kb == "KB2847346"


def test_service_pack_check_mode_prints_the_prerequisite_first(tmp_path: Path) -> None:
    spec = HostSpec(name="rtm", profile=OsProfile("win7", 0, "x64"), user="u", password="p", seed=3)
    run = HostRun(LocalTransport(EmulatedHost(spec, ManualClock(1.79e9))), CATALOG, Source("push", tmp_path, None),
                  write_repository(tmp_path / "repo", service_packs=True), Settings(check=True), HostContext(),
                  Journal(None, "rtm"))
    outcome = run.run()
    assert outcome.status is HostStatus.PLANNED
    assert "KB2847346: first its prerequisite KB976932 (restart, new audit and plan, then KB2847346): stage " \
           "windows6.1-KB976932-X64.exe" in outcome.message


@pytest.mark.parametrize("check", [True, False])
def test_unknown_is_never_compliant(tmp_path: Path, check: bool) -> None:
    """A KB of unknown status (KB903927 on 2003 SP1 x64 with LCS) is left alone and the host needs review."""
    spec = HostSpec(name="lcs-x64", profile=OsProfile("win2003", 1, "x64"), user="u", password="p", seed=3,
                    products=("lcs2005",))
    run = HostRun(LocalTransport(EmulatedHost(spec, ManualClock(1.79e9))), CATALOG, Source("push", tmp_path, None),
                  Manifest(), Settings(check=check), HostContext(), Journal(None, "lcs-x64"))
    outcome = run.run()
    assert outcome.status is HostStatus.NEEDS_REVIEW
    assert "KB903927: needs review" in outcome.message and not outcome.changed


def test_lab_2003_hotfix_registers_under_the_next_service_pack_and_the_finding_names_the_key() -> None:
    finding = {f.kb: f for f in _audited("win2003", 1, "x86", products=("lcs2005",),
                                         installed=("KB903927",)).findings}["KB903927"]
    assert finding.status.value == "fixed"
    assert "key HKLM\\SOFTWARE\\Microsoft\\Updates\\Windows Server 2003\\SP2\\KB903927" in finding.reason
