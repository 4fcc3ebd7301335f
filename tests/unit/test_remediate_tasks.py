"""Scheduled tasks as SYSTEM: remediate.tasks over LocalTransport against the lab's task model."""

from __future__ import annotations

from typing import Any

import pytest

from winremedy.errors import CommandTimeoutError, RemediationError
from winremedy.lab import scheduler
from winremedy.lab.api import CommandResult
from winremedy.instants import iso
from winremedy.lab.clock import ManualClock
from winremedy.lab.cmdline import CommandLine, ScriptHandler
from winremedy.lab.emulated import PROGRAMS, STAND_INS, EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.poller import Poller
from winremedy.remediate.tasks import ON_FAILURE, TaskState, batch_text, delete_task, query_task, start_task, task_state, wait_task

START = 1_709_251_200.0  # 2024-03-01T00:00:00Z
DIRECTORY = r"C:\Windows\Temp\winremedy"
# The tables this module's hosts are built with: the lab's, plus what a test puts in (through monkeypatch).
SCRIPTS: dict[str, ScriptHandler] = dict(STAND_INS)
PROGRAMS_OF_TEST: dict[str, scheduler.Program] = dict(PROGRAMS)


class Recorder:
    """A lab program ``step <code> <seconds>``: records each run, exits with <code> after <seconds>."""

    def __init__(self) -> None:
        self.runs: list[tuple[list[str], scheduler.RunContext]] = []

    def __call__(self, host: EmulatedHost, args: list[str], ctx: scheduler.RunContext) -> tuple[int, float]:
        self.runs.append((args, ctx))
        return int(args[0]), float(args[1])


@pytest.fixture
def step(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setitem(PROGRAMS_OF_TEST, "step", recorder)
    return recorder


def make(family: str = "win7", sp: int = 1, arch: str = "x64") -> tuple[ManualClock, EmulatedHost, LocalTransport]:
    clock = ManualClock(START)
    spec = HostSpec(name="t-0001", profile=OsProfile(family, sp, arch), user="Administrator", password="pw", seed=3)  # type: ignore[arg-type]
    host = EmulatedHost(spec, clock, reboot_downtime=120, command_line=CommandLine(SCRIPTS, PROGRAMS_OF_TEST))
    return clock, host, LocalTransport(host)


def test_batch_records_the_exit_code_last_with_the_redirection_first() -> None:
    text = batch_text("job", ["a.exe /x", "b.exe"], DIRECTORY)
    assert text.split("\r\n") == [
        "@echo off",
        rf'> "{DIRECTORY}\job.run" echo started',
        "a.exe /x",
        "b.exe",
        ":winremedy_done",
        rf'> "{DIRECTORY}\job.rc" echo %ERRORLEVEL%',
        "",
    ]


@pytest.mark.parametrize("name", ["a b", "x;y", "", "t\u00e9"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="task name"):
        batch_text(name, ["x"])


def test_run_now_is_running_for_the_program_time_then_done(step: Recorder) -> None:
    clock, host, transport = make()
    start_task(transport, "job", ["step 3010 60"])
    assert query_task(transport, "job").state == "running"
    assert step.runs == [(["3010", "60"], scheduler.RunContext(START, "system"))]
    clock.advance(59)
    assert query_task(transport, "job").state == "running"
    clock.advance(1)
    assert query_task(transport, "job") == TaskState("job", "done", 3010, None)
    assert host.counters.tasks_run == 1


def test_a_failed_step_skips_the_rest_and_records_its_signed_code(step: Recorder) -> None:
    clock, _, transport = make()
    start_task(transport, "job", [f"step {0x80070005} 1 {ON_FAILURE}", "step 0 1"])
    clock.advance(5)
    assert query_task(transport, "job").exit_code == -2147024891
    assert len(step.runs) == 1


def test_scheduled_task_runs_at_its_instant_and_reports_next_run(step: Recorder) -> None:
    clock, _, transport = make()
    at = START + 3600
    assert start_task(transport, "reboot", ["step 0 5"], at=at) == TaskState("reboot", "scheduled", None, iso(at))
    clock.advance(3599)
    assert query_task(transport, "reboot").state == "scheduled" and not step.runs
    clock.advance(10)
    assert query_task(transport, "reboot").state == "done"
    assert step.runs[0][1].at == at


def test_windows_2003_reports_no_next_run(step: Recorder) -> None:
    _, _, transport = make("win2003", 2, "x86")
    assert start_task(transport, "job", ["step 0 5"], at=START + 60).next_run is None


def test_an_instant_in_the_past_never_runs(step: Recorder) -> None:
    clock, _, transport = make()
    start_task(transport, "job", ["step 0 5"], at=START - 60)
    clock.advance(3600)
    assert query_task(transport, "job").state == "scheduled" and not step.runs


def test_a_running_task_is_left_alone_and_a_finished_one_replaced(step: Recorder) -> None:
    clock, _, transport = make()
    start_task(transport, "job", ["step 0 100"])
    assert start_task(transport, "job", ["step 5 1"]).state == "running"
    clock.advance(100)
    assert query_task(transport, "job").exit_code == 0
    start_task(transport, "job", ["step 5 1"])
    clock.advance(1)
    assert query_task(transport, "job").exit_code == 5
    assert [args[0] for args, _ in step.runs] == ["0", "5"]


def test_a_restart_kills_the_running_batch_and_misses_starts_while_down(step: Recorder) -> None:
    clock, host, transport = make()
    start_task(transport, "long", ["step 0 600"])
    start_task(transport, "during", ["step 0 1"], at=START + 60)
    start_task(transport, "after", ["step 0 1"], at=START + 600)
    assert query_task(transport, "long").state == "running"
    host.reboot(30)
    clock.advance(30 + host.reboot_downtime + 1)
    assert query_task(transport, "long") == TaskState("long", "done", None, None)  # started before the boot: cut short
    assert query_task(transport, "during").state == "scheduled"
    clock.advance(600)
    assert query_task(transport, "after").state == "done"
    assert [ctx.at for _, ctx in step.runs] == [START, START + 600]


def test_a_program_that_restarts_the_host_cuts_its_batch_short(monkeypatch: pytest.MonkeyPatch, step: Recorder) -> None:
    def shutdown(host: EmulatedHost, args: list[str], ctx: scheduler.RunContext) -> tuple[int, float]:
        host.reboot(10, at=ctx.at)
        return 0, 0.0

    monkeypatch.setitem(PROGRAMS_OF_TEST, "shutdown", shutdown)
    clock, host, transport = make()
    boot_before = host.boot_time
    start_task(transport, "job", ["shutdown /r /t 10", "step 0 30"])
    clock.advance(10 + host.reboot_downtime)
    assert query_task(transport, "job") == TaskState("job", "done", None, None)
    assert host.boot_time == START + 10 + host.reboot_downtime > boot_before
    assert len(step.runs) == 1  # started, and killed 10 s into its 30 s: no .rc


def test_check_mode_registers_nothing(step: Recorder) -> None:
    clock, host, transport = make()
    assert start_task(transport, "job", ["step 0 1"], check=True).state == "absent"
    clock.advance(10)
    assert query_task(transport, "job").state == "absent"
    assert host.tasks == {} and host.counters.tasks_run == 0 and not step.runs


def test_delete_removes_task_and_files(step: Recorder) -> None:
    clock, host, transport = make()
    start_task(transport, "job", ["step 0 1"])
    clock.advance(2)
    delete_task(transport, "job")
    assert query_task(transport, "job").state == "absent"
    assert host.fs.listdir(DIRECTORY) == []


def test_wait_polls_with_progress_until_done(step: Recorder) -> None:
    clock, _, transport = make()
    start_task(transport, "job", ["step 3010 95"])
    seen: list[tuple[str, float]] = []
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        elapsed[0] += seconds
        clock.advance(seconds)

    state = wait_task(transport, "job", Poller(timeout=300, poll=10, sleep=sleep, clock=lambda: elapsed[0],
                                              on_wait=lambda s, e: seen.append((s.state, e))))
    assert state.exit_code == 3010
    assert seen == [("running", float(t)) for t in range(0, 100, 10)]


def test_wait_times_out_naming_host_and_task(step: Recorder) -> None:
    clock, _, transport = make()
    start_task(transport, "job", ["step 0 1000"])
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        elapsed[0] += seconds
        clock.advance(seconds)

    with pytest.raises(CommandTimeoutError, match=r"t-0001: task job still running after 60 s"):
        wait_task(transport, "job", Poller(timeout=60, poll=25, sleep=sleep, clock=lambda: elapsed[0]))
    assert elapsed[0] == 60


def test_waiting_for_an_absent_task_fails_at_once() -> None:
    _, _, transport = make()
    with pytest.raises(RemediationError, match="t-0001: no task ghost"):
        wait_task(transport, "ghost", Poller(timeout=60, sleep=lambda s: None))


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"exists": True, "rc": "-2145124329", "started_at": "2024-03-01T00:00:00Z"}, ("done", -2145124329)),
        ({"exists": True, "rc": "garbage"}, ("done", None)),
        ({"exists": True, "started_at": "2024-03-01T00:00:05Z", "boot_time": "2024-03-01T00:00:00Z"}, ("running", None)),
        ({"exists": True, "started_at": "2024-02-29T23:00:00Z", "boot_time": "2024-03-01T00:00:00Z"}, ("done", None)),
        ({"exists": True}, ("scheduled", None)),
        ({"exists": False}, ("absent", None)),
    ],
)
def test_state_from_the_script_facts(facts: dict[str, Any], expected: tuple[str, int | None]) -> None:
    state = task_state("job", facts)
    assert (state.state, state.exit_code) == expected


def test_a_script_error_names_host_task_and_action(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, transport = make()
    failing = CommandResult(b'@@WINREMEDY@@{"error":"Access is denied."}\r\n', b"", 0)
    monkeypatch.setitem(SCRIPTS, "task", lambda host, params: failing)
    with pytest.raises(RemediationError, match=r"t-0001: task job: query failed: Access is denied\."):
        query_task(transport, "job")


def test_direct_runs_are_network_logons_with_winrs_and_powershell_exit_codes(step: Recorder) -> None:
    _, _, transport = make()
    assert transport.run_cmd("step.exe", [str(0x80070005), "0"]).rc == 0x80070005  # unsigned, as WinRS reports
    assert transport.run_ps("step 7 0\nexit $LASTEXITCODE").rc == 7
    assert transport.run_ps("& step.exe 7 0").rc == 1  # powershell -Command: a failed native command is exit 1
    assert {ctx.logon for _, ctx in step.runs} == {"network"}
