"""The host model: installs, reboots, leak dynamics, facts, host time."""

from __future__ import annotations

import pytest

from winremedy.audit.facts import HostFacts
from winremedy.lab.clock import LabClock, ManualClock
from winremedy.lab.dynamics import NONPAGED_POOL, NSI_PRIVATE_BYTES, POOL_NSPC, RTCSRV_PRIVATE_BYTES, LeakSpec, Scenario
from winremedy.lab.faults import FaultSpec
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec, InstallOutcome
from winremedy.lab.profiles import OsProfile

START = 1_709_251_200.0  # 2024-03-01T00:00:00Z
NSISVC = "%SystemRoot%\\System32\\nsisvc.dll"
NETIO = "%SystemRoot%\\System32\\drivers\\netio.sys"
HOUR = 3600.0


def make_host(clock: ManualClock, family: str = "win7", sp: int = 1, arch: str = "x64", **kw: object) -> EmulatedHost:
    spec = HostSpec(name="w7-0001", profile=OsProfile(family, sp, arch), user="Administrator", password="pw", seed=7, **kw)  # type: ignore[arg-type]
    return EmulatedHost(spec, clock, reboot_downtime=120)


def reboot_and_wait(host: EmulatedHost, clock: ManualClock) -> None:
    assert host.reboot()
    assert not host.is_up()
    clock.advance(host.reboot_downtime + 1)
    assert host.is_up()


def test_pending_install_shows_old_file_until_reboot_then_new() -> None:
    clock = ManualClock(START)
    host = make_host(clock, pending=("KB2847346",))
    facts = HostFacts.from_dict(host.facts(), origin="lab")
    assert facts.files is not None and facts.files[NSISVC] == "6.1.7601.17514"
    assert facts.pending_reboot == ["cbs_reboot_pending"]
    assert [(h.source, h.state) for h in facts.registered_kbs()["KB2847346"]] == [("cbs", "install_pending")]

    reboot_and_wait(host, clock)
    after = HostFacts.from_dict(host.facts(), origin="lab")
    assert after.files is not None and after.files[NSISVC] == "6.1.7601.22590"
    assert after.files["%SystemRoot%\\SysWOW64\\nsi.dll"] == "6.1.7601.22590"
    assert after.pending_reboot == []
    assert sorted((h.source, h.state) for h in after.registered_kbs()["KB2847346"]) == [("cbs", "installed"), ("qfe", None)]
    assert after.boot_time is not None and after.boot_time > facts.boot_time  # type: ignore[operator]
    assert host.counters.reboots == 1


def test_install_outcomes() -> None:
    clock = ManualClock(START)
    host = make_host(clock)
    assert host.install("KB979223") is InstallOutcome.NOT_APPLICABLE  # SP1 itself carries the WFP fix
    assert host.install("kb2847346") is InstallOutcome.REBOOT_REQUIRED
    assert host.install("KB2847346") is InstallOutcome.ALREADY_INSTALLED
    assert host.counters.installs == 1


def test_2003_registers_at_once_as_file_1() -> None:
    clock = ManualClock(START)
    host = make_host(clock, "win2003", 1, "x86", products=("lcs2005",))
    assert host.install("KB903927") is InstallOutcome.INSTALLED
    facts = HostFacts.from_dict(host.facts(), origin="lab")
    assert facts.pending_reboot == []
    rows = [h for h in facts.registered_kbs()["KB903927"] if h.source == "qfe"]
    assert [r.id for r in rows] == ["File 1"]
    assert facts.files is not None and facts.files[NSISVC] is None  # no NSI on 2003
    assert facts.powershell_version == "2.0"


def test_nsi_leak_grows_resets_at_boot_and_stops_once_fixed() -> None:
    clock = ManualClock(START)
    host = make_host(clock, leak=LeakSpec.of(Scenario.NSI, 10.0))
    clock.advance(HOUR)
    before = host.indicator(NSI_PRIVATE_BYTES)
    clock.advance(2 * HOUR)
    grown = host.indicator(NSI_PRIVATE_BYTES)
    assert grown - before == pytest.approx(20 * 1024 * 1024, rel=0.05)
    assert host.indicator(POOL_NSPC, clock.now()) > host.indicator(POOL_NSPC, clock.now() - 2 * HOUR)

    reboot_and_wait(host, clock)
    assert host.indicator(NSI_PRIVATE_BYTES) < before  # reset at boot, still leaking (no fix)
    assert host.install("KB2847346") is InstallOutcome.REBOOT_REQUIRED
    clock.advance(HOUR)
    assert host.status()["leaking"]  # installed but not yet effective
    reboot_and_wait(host, clock)
    flat = host.indicator(NSI_PRIVATE_BYTES)
    clock.advance(10 * HOUR)
    assert host.indicator(NSI_PRIVATE_BYTES) == pytest.approx(flat, abs=3 * 1024 * 1024)  # noise, not 100 MB of leak
    assert not host.status()["leaking"]


def test_lcs_leak_stops_after_service_restart_with_fix() -> None:
    clock = ManualClock(START)
    host = make_host(clock, "win2003", 1, "x86", products=("lcs2005",), leak=LeakSpec.of(Scenario.LCS))
    host.install("KB903927")
    start = host.indicator(RTCSRV_PRIVATE_BYTES)
    clock.advance(2 * HOUR)
    assert host.indicator(RTCSRV_PRIVATE_BYTES) > start + 8 * 1024 * 1024  # old code still loaded
    assert host.restart_service("RTCSRV")
    assert next(p.started_at for p in host.process_snapshot() if p.name == "RTCSrv.exe") == clock.now()
    flat = host.indicator(RTCSRV_PRIVATE_BYTES)
    clock.advance(5 * HOUR)
    assert host.indicator(RTCSRV_PRIVATE_BYTES) == pytest.approx(flat, abs=4 * 1024 * 1024)  # noise, not 30 MB


def test_indicators_are_deterministic_and_only_the_scenario_grows() -> None:
    a, b = ManualClock(START), ManualClock(START)
    host_a = make_host(a, "win2008", 2, "x64", leak=LeakSpec.of(Scenario.WFP))
    host_b = make_host(b, "win2008", 2, "x64", leak=LeakSpec.of(Scenario.WFP))
    for clock in (a, b):
        clock.advance(5 * HOUR)
    assert host_a.facts()["samples"] == host_b.facts()["samples"]
    nsi_then = host_a.indicator(NSI_PRIVATE_BYTES)
    pool_then = host_a.indicator(NONPAGED_POOL)
    a.advance(4 * HOUR)
    assert host_a.indicator(NONPAGED_POOL) - pool_then == pytest.approx(20 * 1024 * 1024, abs=6 * 1024 * 1024)
    assert host_a.indicator(NSI_PRIVATE_BYTES) == pytest.approx(nsi_then, abs=3 * 1024 * 1024)
    tags_then = host_a.pool_tags(a.now() - 4 * HOUR)
    tags_now = host_a.pool_tags()
    assert tags_now["Nbuf"][0] - tags_then["Nbuf"][0] == pytest.approx(20 * 1024 * 1024, rel=0.01)  # the WFP tag
    assert tags_now["Nbuf"][1] == tags_now["Nbuf"][0] // 256  # outstanding allocations of 256 bytes
    assert abs(tags_now["File"][0] - tags_then["File"][0]) < 1024 * 1024  # a busy tag only wanders


def test_no_return_and_unreachable_faults() -> None:
    clock = ManualClock(START)
    host = make_host(clock, faults=FaultSpec(no_return=True))
    host.reboot()
    clock.advance(10 * HOUR)
    assert not host.is_up()
    assert not make_host(clock, faults=FaultSpec(unreachable=True)).is_up()
    assert not make_host(clock, faults=FaultSpec(bad_auth=True)).check_password("Administrator", "pw")
    assert make_host(clock).check_password("administrator", "pw")


def test_reboot_while_one_is_scheduled_is_refused() -> None:
    clock = ManualClock(START)
    host = make_host(clock)
    assert host.reboot(delay=60)
    assert host.is_up()  # shutdown not reached yet
    assert not host.reboot()
    clock.advance(30 + 60 + 120)
    assert host.is_up() and host.counters.reboots == 1


def test_host_time_runs_scaled() -> None:
    real = [100.0]
    clock = LabClock(START, scale=3600.0, real=lambda: real[0])
    assert clock.now() == START
    real[0] += 2.0
    assert clock.now() == START + 2 * HOUR
    assert clock.to_real(HOUR) == 1.0


def test_facts_round_trip_for_every_os() -> None:
    clock = ManualClock(START)
    for family, sp, arch in [("win2003", 2, "x64"), ("vista", 2, "x86"), ("win2008", 1, "ia64"), ("win2008r2", 0, "x64")]:
        host = make_host(clock, family, sp, arch)
        facts = HostFacts.from_dict(host.facts([clock.now(), clock.now() + 60]), origin="lab")
        assert facts.os is not None and facts.os.family == family
        assert all(len(samples) == 2 for samples in facts.samples.values())
