"""Restarts of hosts without PowerShell (2008 Server Core, Windows 2003 without WMF 2.0): the clock by ``wmic os``,
the restart by shutdown.exe in cmd.exe, decided as with power.ps1, and 2003's exit codes never trusted alone."""

from __future__ import annotations

import pytest

from winremedy.errors import ProtocolError, RebootError
from winremedy.instants import iso
from winremedy.lab.clock import ManualClock
from winremedy.lab.cmdline import CommandLine
from winremedy.lab.emulated import LAB_COMMAND_LINE, PROGRAMS, STAND_INS, EmulatedHost
from winremedy.lab.host import HostModel, HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.lab.restarts import request_shutdown
from winremedy.lab.scheduler import RunContext
from winremedy.remediate.poller import Poller
from winremedy.remediate.reboot import Power, reboot_host, request_reboot, wait_for_boot
from winremedy.remediate.window import parse_window
from winremedy.transport.base import Result

START = 1_709_251_200.0  # 2024-03-01T00:00:00Z
DOWNTIME = 90.0


def bare(clock: ManualClock, family: str = "win2008", sp: int = 2,
         command_line: CommandLine = LAB_COMMAND_LINE) -> LocalTransport:
    spec = HostSpec(name="core", profile=OsProfile(family, sp, "x64"), user="a", password="p", seed=5,
                    powershell=None)
    return LocalTransport(EmulatedHost(spec, clock, reboot_downtime=DOWNTIME, command_line=command_line))


def poller(clock: ManualClock, timeout: float = 600) -> Poller:
    return Poller(timeout=timeout, poll=10, sleep=clock.advance, clock=clock.now)


def test_server_core_restarts_now_through_cmd_exe() -> None:
    clock = ManualClock(START)
    transport = bare(clock)
    booted = iso(int(transport.lab_host.boot_time))
    result = reboot_host(transport, "now", delay=5, poller=poller(clock), power=Power(transport, powershell=False))
    assert result.action == "rebooted" and result.boot_time_before == booted
    assert result.boot_time_after == iso(START + 5 + DOWNTIME) != result.boot_time_before
    host = transport.lab_host
    assert host.counters.reboots == 1 and host.counters.powershell_starts == 0 and host.counters.scripts == {}


def test_an_unknown_host_is_tried_with_powershell_once_then_kept_on_cmd_exe() -> None:
    transport = bare(ManualClock(START))
    power = Power(transport)
    first = power.clock()
    assert power.powershell is False and transport.commands == 2  # powershell (9009), then wmic os
    assert power.clock() == first and transport.commands == 3
    assert first.boot_time == iso(int(transport.lab_host.boot_time)) and first.now == START


def _odd_shutdown(code: int, restarts: bool):  # type: ignore[no-untyped-def]
    """A shutdown.exe whose exit code says ``code`` whether or not it restarted the host (2003's are undocumented)."""
    def run(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
        if restarts:
            request_shutdown(host, args, ctx.at, answered=True)
        return code, 0.0
    return CommandLine(STAND_INS, {**PROGRAMS, "shutdown": run})


def test_a_2003_exit_code_is_not_a_failure_when_the_boot_time_moved() -> None:
    clock = ManualClock(START)
    transport = bare(clock, "win2003", 2, command_line=_odd_shutdown(1, restarts=True))
    before = request_reboot(transport, comment="odd", delay=5, poller=poller(clock), power=Power(transport, False))
    assert wait_for_boot(transport, before, poller(clock), power=Power(transport, False)) != before
    assert transport.lab_host.counters.reboots == 1


def test_a_refused_restart_is_a_failure_only_after_the_boot_time_was_read_again() -> None:
    clock = ManualClock(START)
    transport = bare(clock, "win2003", 2, command_line=_odd_shutdown(5, restarts=False))
    with pytest.raises(RebootError, match=r"^core: shutdown.exe /r exited 5: no output; the boot time .* had not "
                                          r"changed \d+ s later"):
        request_reboot(transport, comment="denied", delay=5, poller=poller(clock, 60), power=Power(transport, False))
    assert clock.now() > START + 5  # it waited past the delay before saying so


def test_a_2003_countdown_already_running_is_aborted_and_ours_requested_once() -> None:
    clock = ManualClock(START)
    transport = bare(clock, "win2003", 2)
    assert transport.lab_host.reboot(delay=3600)  # someone else's, an hour away: 2003 answers 1115
    before = request_reboot(transport, comment="ours", delay=5, power=Power(transport, False))
    clock.advance(5 + DOWNTIME)
    assert Power(transport, False).clock().boot_time != before and transport.lab_host.counters.reboots == 1


@pytest.mark.parametrize("family,sp,locale", [("win2003", 1, "en-US"), ("win2003", 2, "de-DE"), ("win2008", 2, "ja-JP")])
def test_outside_the_window_a_host_without_powershell_gets_a_schtasks_restart_at_its_start(
        family: str, sp: int, locale: str) -> None:
    clock = ManualClock(START)  # Friday 00:00 UTC; the window opens Sunday 02:00 in Berlin (UTC+1)
    spec = HostSpec(name="core", profile=OsProfile(family, sp, "x86"), user="a", password="p", seed=5,
                    powershell=None, timezone="Europe/Berlin", locale=locale)
    transport = LocalTransport(EmulatedHost(spec, clock, reboot_downtime=DOWNTIME))
    power = Power(transport, False)
    result = reboot_host(transport, "window", window=parse_window("Sun 02:00-04:00", "Europe/Berlin"), power=power)
    start = START + 2 * 86400 + 3600  # 2024-03-03T01:00:00Z
    assert (result.action, result.scheduled_at, result.scheduled_local) == ("scheduled", start,
                                                                             "2024-03-03T02:00:00+01:00")
    host = transport.lab_host
    assert power.reboot_task().state == "scheduled" and host.counters.reboots == 0
    assert host.counters.powershell_starts == 0
    clock.advance(start - START - 1)  # nothing before the window's start; at it the task restarts the host once
    assert host.is_up() and host.counters.reboots == 0
    clock.advance(2 + DOWNTIME)
    assert (host.is_up(), host.counters.reboots, host.boot_time) == (True, 1, start + DOWNTIME)
    assert power.reboot_task().state == "done"


class _Garbled(LocalTransport):
    def run_cmd(self, command: str, *args: object, **options: object) -> Result:
        return Result(self.host, 0, b"LastBootUpTime=yesterday\r\r\nLocalDateTime=now\r\r\n", b"")


def test_an_unreadable_clock_is_an_error_naming_host_and_tool() -> None:
    transport = _Garbled(bare(ManualClock(START)).lab_host)
    with pytest.raises(ProtocolError, match=r"^core: wmic os \(the clock\): cannot read its output: not a CIM"):
        Power(transport, False).clock()


def test_a_window_after_the_daylight_saving_change_is_kept_in_the_hosts_zone() -> None:
    """Friday 29 March 2024 in Berlin is UTC+1; Sunday's window at 04:00 is after the change to UTC+2. The host's
    offset of now would put the task at 03:00 local, an hour before the window opens."""
    friday = 1_711_670_400.0  # 2024-03-29T00:00:00Z
    clock = ManualClock(friday)
    spec = HostSpec(name="core", profile=OsProfile("win2003", 2, "x86"), user="a", password="p", seed=5,
                    powershell=None, timezone="Europe/Berlin")
    transport = LocalTransport(EmulatedHost(spec, clock, reboot_downtime=DOWNTIME))
    result = reboot_host(transport, "window", window=parse_window("Sun 04:00-05:00", "Europe/Berlin"),
                         power=Power(transport, False))
    start = friday + 2 * 86400 + 2 * 3600  # 2024-03-31T02:00:00Z = 04:00 CEST
    assert (result.scheduled_at, result.scheduled_local) == (start, "2024-03-31T04:00:00+02:00")
    host = transport.lab_host
    clock.advance(start - friday - 1)  # 03:59:59 local: nothing yet
    assert host.is_up() and host.counters.reboots == 0
    clock.advance(2 + DOWNTIME)
    assert (host.is_up(), host.counters.reboots, host.boot_time) == (True, 1, start + DOWNTIME)
