"""Restarts over a lab host: now (and waiting for it), in a window by the host's clock, never; service restarts."""

from __future__ import annotations

import enum
import time
from datetime import datetime
from typing import Any

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import RebootError, RemediationError, UnreachableError
from winremedy.lab import power
from winremedy.lab.api import CommandResult
from winremedy.instants import iso
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import RTCSRV_PRIVATE_BYTES, LeakSpec, Scenario
from winremedy.lab.faults import FaultSpec
from winremedy.lab.cmdline import CommandLine
from winremedy.lab.emulated import LAB_COMMAND_LINE, PROGRAMS, STAND_INS, EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.poller import Poller
from winremedy.remediate.reboot import (
    REBOOT_TASK,
    host_clock,
    read_clock,
    reboot_host,
    request_reboot,
    restart_kb_service,
    restart_service,
    shutdown_comment,
    shutdown_line,
    wait_for_boot,
)
from winremedy.remediate.tasks import query_task
from winremedy.transport.base import Result
from winremedy.remediate.window import parse_window

START = 1_709_251_200.0  # Friday 2024-03-01T00:00:00Z
DOWNTIME = 90.0


class CountingTransport(LocalTransport):
    resets = 0

    def reset(self) -> None:
        self.resets += 1


def make(clock: ManualClock, family: str = "win7", sp: int = 1, arch: str = "x64",
         command_line: CommandLine = LAB_COMMAND_LINE, **kw: object) -> CountingTransport:
    spec = HostSpec(name="h1", profile=OsProfile(family, sp, arch), user="a", password="p", seed=5, **kw)  # type: ignore[arg-type]
    return CountingTransport(EmulatedHost(spec, clock, reboot_downtime=DOWNTIME, command_line=command_line))


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_host_clock_is_the_hosts_not_the_controllers() -> None:
    clock = ManualClock(START)
    transport = make(clock, timezone="Europe/Berlin")
    now, boot = host_clock(transport)
    assert now == START and boot == iso(int(transport.lab_host.boot_time))
    assert read_clock(transport).utc_offset == 60.0
    assert transport.lab_host.counters.scripts == {"power 1": 2}


def test_reboot_now_waits_for_a_new_boot_time() -> None:
    clock = ManualClock(START)
    transport = make(clock)
    seen: list[tuple[str, float]] = []
    result = reboot_host(transport, "now", delay=5, poller=Poller(poll=10, sleep=clock.advance, clock=clock.now,
                         on_wait=lambda status, waited: seen.append((status, waited))))
    assert result.action == "rebooted" and result.changed
    assert result.boot_time_after == iso(START + 5 + DOWNTIME)
    assert result.boot_time_before != result.boot_time_after
    assert transport.lab_host.counters.reboots == 1
    assert seen[0][0].startswith("answering, boot time still")  # before the 5 s delay ran out
    assert any(status.startswith("not answering: h1: connection refused") for status, _ in seen)
    assert [waited for _, waited in seen] == [10.0 * i for i in range(len(seen))]
    assert transport.resets == len(seen) + 1
    assert result.elapsed == pytest.approx(100.0)


def test_a_host_that_never_returns_is_a_reboot_error_naming_it() -> None:
    clock = ManualClock(START)
    transport = make(clock, faults=FaultSpec(no_return=True))
    before = request_reboot(transport, comment="test")
    with pytest.raises(RebootError, match=r"^h1: did not come back from its restart within 600 s \(timeout 600 s; "
                                          r"boot time before .*; last not answering: h1: connection refused") as caught:
        wait_for_boot(transport, before, Poller(timeout=600, poll=30, sleep=clock.advance, clock=clock.now))
    assert caught.value.host == "h1"


def test_a_shutdown_already_scheduled_is_replaced_once() -> None:
    clock = ManualClock(START)
    transport = make(clock)
    assert transport.lab_host.reboot(delay=3600)  # someone else's, an hour away
    before = request_reboot(transport, comment="ours", delay=5)
    clock.advance(5 + DOWNTIME)
    assert host_clock(transport)[1] != before and transport.lab_host.counters.reboots == 1


def test_shutdown_program_in_the_winrm_shell() -> None:
    clock = ManualClock(START)
    transport = make(clock)
    assert transport.run_cmd("shutdown.exe", ["/r", "/t", "60", "/c", "a comment"]).rc == 0
    assert transport.run_cmd("shutdown", ["/r", "/t", "60"]).rc == 1190
    assert transport.run_cmd("shutdown", ["/a"]).rc == 0
    assert transport.run_cmd("shutdown", ["/a"]).rc == 1116
    assert transport.run_cmd("shutdown", ["/t", "5"]).rc == 87
    clock.advance(3600)
    assert transport.lab_host.counters.reboots == 0 and transport.lab_host.is_up()


def test_outside_the_window_schedules_at_its_start_and_the_lab_reboots_then(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: epoch("2024-03-03T07:30:00Z"))  # the controller: inside; not asked
    clock = ManualClock(START)
    transport = make(clock, timezone="America/New_York")
    window = parse_window("Sun 02:00-04:00", "America/New_York")
    result = reboot_host(transport, "window", window=window, comment="window")
    start = epoch("2024-03-03T07:00:00Z")
    assert (result.action, result.changed, result.scheduled_at) == ("scheduled", True, start)
    assert result.scheduled_local == "2024-03-03T02:00:00-05:00"
    assert "restart scheduled at 2024-03-03T02:00:00-05:00" in result.message and "note" not in result.message
    assert query_task(transport, REBOOT_TASK).state == "scheduled"
    host = transport.lab_host
    clock.advance(start - START - 1)
    assert host.is_up() and host.counters.reboots == 0
    clock.advance(2)
    assert not host.is_up() and host.counters.reboots == 1
    clock.advance(DOWNTIME)
    assert host.is_up() and host.boot_time == start + DOWNTIME
    assert host_clock(transport)[1] == iso(start + DOWNTIME)
    assert query_task(transport, REBOOT_TASK).state == "done"


def test_inside_the_window_reboots_now() -> None:
    clock = ManualClock(epoch("2024-03-03T07:30:00Z"))
    transport = make(clock)
    window = parse_window("Sun 02:00-04:00", "America/New_York")
    result = reboot_host(transport, "window", window=window, poller=Poller(poll=15, sleep=clock.advance, clock=clock.now))
    assert result.action == "rebooted" and transport.lab_host.counters.reboots == 1
    assert query_task(transport, REBOOT_TASK).state == "absent"


def test_a_host_clock_in_another_zone_than_the_window_is_noted() -> None:
    transport = make(ManualClock(START), timezone="Europe/Berlin")
    result = reboot_host(transport, "window", window=parse_window("Sun 02:00-04:00", "America/New_York"), check=True)
    assert "note: the host's clock is at UTC+1h, the window's zone America/New_York at UTC-5h" in result.message


def test_check_mode_and_never_change_nothing() -> None:
    clock = ManualClock(START)
    transport = make(clock)
    window = parse_window("Sun 02:00-04:00")
    scheduled = reboot_host(transport, "window", window=window, check=True)
    assert (scheduled.action, scheduled.changed, scheduled.scheduled_at) == ("would_schedule", False, epoch("2024-03-03T02:00:00Z"))
    now = reboot_host(transport, "now", check=True)
    assert (now.action, now.changed) == ("would_reboot", False)
    commands = transport.commands
    never = reboot_host(transport, "never")
    assert (never.action, never.changed, transport.commands) == ("pending", False, commands)
    assert query_task(transport, REBOOT_TASK).state == "absent" and transport.lab_host.counters.reboots == 0
    clock.advance(7 * 86400)
    assert transport.lab_host.counters.reboots == 0


def test_window_mode_without_a_window_names_the_variable() -> None:
    with pytest.raises(RebootError, match="^h1: --reboot window, but .* winremedy_maintenance_window"):
        reboot_host(make(ManualClock(START)), "window")


def test_shutdown_line_and_comment_are_safe_for_cmd() -> None:
    assert shutdown_comment('50% "done" & <more>\u00e9') == "50 done more"
    assert len(shutdown_comment("x" * 300)) == 127
    assert shutdown_line("KB2847346", 700) == 'shutdown.exe /r /t 600 /c "KB2847346" /d p:2:17 /f'


def lcs_host(clock: ManualClock, command_line: CommandLine = LAB_COMMAND_LINE) -> CountingTransport:
    return make(clock, family="win2003", sp=1, arch="x86", command_line=command_line, products=("lcs2005",),
                leak=LeakSpec.of(Scenario.LCS))


def test_restart_service_gives_a_new_pid_and_the_leak_starts_over() -> None:
    clock = ManualClock(START)
    transport = lcs_host(clock)
    host = transport.lab_host
    clock.advance(6 * 3600)
    grown, pid = host.indicator(RTCSRV_PRIVATE_BYTES), host.processes["rtcsrv"].pid
    assert restart_service(transport, "RTCSRV", check=True) is True
    assert host.processes["rtcsrv"].pid == pid and host.counters.service_restarts == 0
    assert restart_service(transport, "RTCSRV") is True
    assert host.processes["rtcsrv"].pid != pid and host.counters.service_restarts == 1
    assert host.indicator(RTCSRV_PRIVATE_BYTES) < grown - 20 * 1024 * 1024
    assert host.counters.reboots == 0
    assert restart_service(transport, "NoSuchService") is False


def test_restart_kb_service_finds_lcs_by_its_catalog_entry() -> None:
    clock = ManualClock(START)
    transport = lcs_host(clock)
    pid = transport.lab_host.processes["rtcsrv"].pid
    assert restart_kb_service(transport, load_catalog().get("KB903927"))
    assert transport.lab_host.processes["rtcsrv"].pid != pid
    with pytest.raises(ValueError, match="KB2847346 names no service"):
        restart_kb_service(transport, load_catalog().get("KB2847346"))



def test_mode_is_checked_and_a_str_enum_is_accepted() -> None:
    class Mode(str, enum.Enum):
        NEVER = "never"

    transport = make(ManualClock(START))
    assert reboot_host(transport, Mode.NEVER).mode == "never"
    with pytest.raises(ValueError, match="reboot mode 'later': expected one of now, window, never"):
        reboot_host(transport, "later")


def test_a_refused_service_stop_is_an_error_naming_host_and_service() -> None:
    def refusing(host: EmulatedHost, params: dict[str, object]) -> CommandResult:
        result = power.answer(host, {**params, "restart": False})  # what power.ps1 reports when StopService returns 3
        text = result.stdout.decode().replace('"path":', '"stop":3,"path":')
        return CommandResult(text.encode(), b"", 0)

    transport = lcs_host(ManualClock(START), CommandLine({**STAND_INS, "power": refusing}, PROGRAMS))
    with pytest.raises(RemediationError, match=r"^h1: service RTCSRV did not restart: stop returned 3, start returned "
                                               r"None, state Running") as caught:
        restart_service(transport, "RTCSRV", kb="KB903927")
    assert caught.value.kb == "KB903927"


# --- Windows 2003's shutdown.exe: no "scheduled" state (1190 is Vista and later) -----------------------


def test_on_2003_a_pending_countdown_answers_1115_and_ours_replaces_it() -> None:
    clock = ManualClock(START)
    transport = make(clock, "win2003", 2, "x86")
    assert transport.run_cmd("shutdown", ["/r", "/t", "600"]).rc == 0
    assert transport.run_cmd("shutdown", ["/r", "/t", "60"]).rc == 1115  # not 1190
    assert transport.run_cmd("shutdown", ["/a"]).rc == 0
    assert transport.lab_host.reboot(delay=3600)  # someone else's, an hour away
    result = reboot_host(transport, "now", comment="ours", poller=Poller(timeout=600, poll=30, sleep=clock.advance,
                                                                          clock=clock.now))
    assert result.action == "rebooted" and result.elapsed < 600
    assert transport.lab_host.counters.reboots == 1


def _exits(rc: int, *, restarts: bool) -> CommandLine:
    """power.ps1 reporting shutdown.exe's exit code ``rc``; the host restarts or not regardless."""
    def answer(host: EmulatedHost, params: dict[str, object]) -> CommandResult:
        if params.get("action") != "reboot":
            return power.answer(host, params)
        result = power.answer(host, params) if restarts else power.answer(host, {**params, "action": "clock"})
        text = result.stdout.decode().replace('"rc":0,', f'"rc":{rc},')
        if not restarts:
            text = text.replace('"action":"clock"', f'"action":"reboot","shutdown":{{"rc":{rc},"output":""}}')
        return CommandResult(text.encode(), b"", 0)
    return CommandLine({**STAND_INS, "power": answer}, PROGRAMS)


def test_a_nonzero_exit_code_is_no_failure_when_the_boot_time_moves() -> None:
    clock = ManualClock(START)
    transport = make(clock, "win2003", 2, "x86", command_line=_exits(1, restarts=True))
    result = reboot_host(transport, "now", comment="ours", poller=Poller(timeout=600, poll=30, sleep=clock.advance,
                                                                          clock=clock.now))
    assert result.action == "rebooted" and transport.lab_host.counters.reboots == 1


def test_a_nonzero_exit_code_without_a_restart_fails_after_reading_the_boot_time_again() -> None:
    clock = ManualClock(START)
    transport = make(clock, "win2003", 2, "x86", command_line=_exits(5, restarts=False))
    with pytest.raises(RebootError, match=r"^h1: shutdown.exe /r exited 5: no output; the boot time .* had not "
                                          r"changed 95 s later"):
        reboot_host(transport, "now", comment="ours", poller=Poller(timeout=600, poll=30, sleep=clock.advance,
                                                                     clock=clock.now))
    assert transport.lab_host.counters.reboots == 0


class LosesTheRebootAnswer(CountingTransport):
    """The host goes down before the answer to its restart request leaves (``sent``), or the request never
    reaches it."""

    sent = True

    def run_ps(self, script: str, **options: Any) -> Result:
        if "'action' = 'reboot'" in script:
            if self.sent:
                super().run_ps(script, **options)
            raise UnreachableError("h1: cannot connect to http://127.0.0.1:1/wsman: connection reset")
        return super().run_ps(script, **options)


@pytest.mark.parametrize("sent", [True, False])
def test_a_restart_request_whose_answer_is_lost_is_judged_by_the_boot_time(sent: bool) -> None:
    clock = ManualClock(START)
    spec = HostSpec(name="h1", profile=OsProfile("win7", 1, "x64"), user="a", password="p", seed=5)
    transport = LosesTheRebootAnswer(EmulatedHost(spec, clock, reboot_downtime=DOWNTIME))
    transport.sent = sent
    poller = Poller(timeout=600, poll=10, sleep=clock.advance, clock=clock.now)
    if sent:
        result = reboot_host(transport, "now", delay=5, poller=poller)
        assert result.action == "rebooted" and result.boot_time_after == iso(START + 5 + DOWNTIME)
    else:
        with pytest.raises(RebootError, match=r"^h1: did not come back from its restart within 600 s"):
            reboot_host(transport, "now", delay=5, poller=poller)
    assert transport.lab_host.counters.reboots == int(sent)
    with pytest.raises(RebootError, match=r"^h1: no answer to the restart request \(h1: cannot connect"):
        request_reboot(transport, comment="c", poller=poller)  # without the boot time before, nothing to judge by
