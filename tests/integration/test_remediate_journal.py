"""A controller killed between a state-changing step's intent and its end, in-process against a lab host over
the real WS-Management wire: the rerun finishes the step, exactly once.

``_Killed`` is a BaseException, as a SIGKILL is for the run: nothing after it runs, not even the runner's own
``except Exception``. The kill falls right after the KB903927 install, before or after the LCS service restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from winremedy.catalog import load_catalog
from winremedy.lab.clock import LabClock
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate import cmdroute, reboot, workarounds
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import HostStatus
from winremedy.remediate.runner import HostContext, HostRun
from winremedy.remediate.settings import Settings
from winremedy.remediate.stage import open_source
from winremedy.remediate.window import parse_window
from winremedy.transport import WinRMOptions, WinRMTransport

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "S3cret!"
NAME = "lcs-0001"


class _Killed(BaseException):
    """The controller dies here."""


def _dies(real: Callable[..., Any], *, after_it: bool) -> Callable[..., Any]:
    """``real``, with the controller killed right before it, or right after it when ``after_it``."""
    def dies(*args: Any, **kwargs: Any) -> Any:
        if after_it:
            real(*args, **kwargs)
        raise _Killed
    return dies


Lab = tuple[EmulatedHost, Callable[[], HostRun]]


def _lab(tmp_path: Path, wire_serve: Any, spec: HostSpec, context: HostContext | None = None, **options: Any) -> Lab:
    """The host behind the wire, and a fresh run of it (a new transport, the journal re-read) per call."""
    write_repository(tmp_path / "repo")
    source, manifest = open_source(repo=tmp_path / "repo")
    host = EmulatedHost(spec, LabClock(1_700_000_000.0, scale=20_000.0))
    server, _ = wire_serve(host, scheme="https")
    # Basic over TLS: one logon per connection without NTLM (each audit ends its connection)
    wire = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="https", transport="basic",
                        user=USER, password=PASSWORD, server_cert_validation="ignore", retries=0)
    settings = Settings.from_options({"poll": 0.01, "verify_samples": 3, "verify_interval": 600.0, **options},
                                     check=False)

    def run() -> HostRun:
        transport = WinRMTransport(spec.name, wire, sleep=lambda _: None)
        return HostRun(transport, load_catalog(), source, manifest, settings, context or HostContext(),
                       Journal(tmp_path, spec.name))
    return host, run


def _assert_bounced_once(host: EmulatedHost, run: Callable[[], HostRun]) -> None:
    """After the host's next request, on which it runs its due tasks (the bounce, long due): one install, one
    bounce, no reboot."""
    settle = run().transport
    settle.run_ps("exit 0")
    settle.close()
    assert host.counters.installs == 1 and host.counters.nic_bounces == 1 and host.counters.reboots == 0


@pytest.fixture
def lcs(tmp_path: Path, wire_serve: Any) -> Lab:
    spec = HostSpec(NAME, OsProfile("win2003", 1, "x86"), USER, PASSWORD, products=("lcs2005",),
                    leak=LeakSpec.of(Scenario.LCS))
    return _lab(tmp_path, wire_serve, spec)


@pytest.mark.parametrize("after_the_restart", [False, True])
def test_a_kill_right_after_the_lcs_install_still_restarts_lcs_once(
    lcs: Lab, monkeypatch: pytest.MonkeyPatch, after_the_restart: bool
) -> None:
    host, run = lcs
    real = reboot.restart_service
    monkeypatch.setattr(reboot, "restart_service", _dies(real, after_it=after_the_restart))
    with pytest.raises(_Killed):
        run().run()
    assert host.counters.installs == 1
    assert host.counters.service_restarts == (1 if after_the_restart else 0)
    monkeypatch.setattr(reboot, "restart_service", real)
    outcome = run().run()
    assert outcome.status is HostStatus.FIXED, outcome.message
    assert host.counters.installs == 1 and host.counters.service_restarts == 1 and host.counters.reboots == 0
    assert [s.step for s in outcome.steps] == ["restart_service", "verify"]
    again = run().run()
    assert again.status is HostStatus.COMPLIANT and host.counters.service_restarts == 1


@pytest.mark.parametrize("after_the_registration", [False, True])
def test_a_kill_around_the_nic_bounce_bounces_once(
    tmp_path: Path, wire_serve: Any, monkeypatch: pytest.MonkeyPatch, after_the_registration: bool
) -> None:
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD, leak=LeakSpec.of(Scenario.NSI))
    host, run = _lab(tmp_path, wire_serve, spec, reboot="never", nic_bounce=True)
    real = workarounds.schedule_nic_bounce
    monkeypatch.setattr(workarounds, "schedule_nic_bounce", _dies(real, after_it=after_the_registration))
    with pytest.raises(_Killed):
        run().run()
    monkeypatch.setattr(workarounds, "schedule_nic_bounce", real)
    outcome = run().run()
    assert outcome.status is HostStatus.RESTART_PENDING, outcome.message
    again = run().run()
    assert again.status is HostStatus.RESTART_PENDING
    _assert_bounced_once(host, run)


def test_a_kill_between_the_install_and_the_nic_bounce_still_bounces_once(
    tmp_path: Path, wire_serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the install, before the bounce's intent: the rerun finds KB2847346 waiting for its restart
    (nothing to install) and still owes the bounce."""
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD, leak=LeakSpec.of(Scenario.NSI))
    host, run = _lab(tmp_path, wire_serve, spec, reboot="never", nic_bounce=True)
    record = Journal.record

    def dies(journal: Journal, step: str, kb: str | None = None, **data: Any) -> None:
        record(journal, step, kb, **data)
        if step == "install_finished":
            raise _Killed

    monkeypatch.setattr(Journal, "record", dies)
    with pytest.raises(_Killed):
        run().run()
    monkeypatch.setattr(Journal, "record", record)
    outcome = run().run()
    assert outcome.status is HostStatus.RESTART_PENDING, outcome.message
    assert [s.step for s in outcome.steps] == ["workaround"]
    _assert_bounced_once(host, run)


def test_a_kill_between_registering_and_running_the_install_task_installs_once(
    tmp_path: Path, wire_serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows 2003 without PowerShell: schtasks /create, then /run; killed in between, the task is registered
    and never runs. The rerun runs it (not waits for it until the install timeout), and installs once."""
    spec = HostSpec(NAME, OsProfile("win2003", 1, "x86"), USER, PASSWORD, products=("lcs2005",),
                    leak=LeakSpec.of(Scenario.LCS), powershell=None)
    host, run = _lab(tmp_path, wire_serve, spec, install_timeout=20.0)
    real = cmdroute.CmdRoute._run

    def dies(route: cmdroute.CmdRoute, line: str, doing: str, **options: Any) -> Any:
        if line.startswith("schtasks /run /tn winremedy-install-"):
            raise _Killed
        return real(route, line, doing, **options)

    monkeypatch.setattr(cmdroute.CmdRoute, "_run", dies)
    with pytest.raises(_Killed):
        run().run()
    assert host.counters.installs == 0
    monkeypatch.setattr(cmdroute.CmdRoute, "_run", real)
    outcome = run().run()
    assert outcome.status is HostStatus.FIXED, outcome.message
    assert host.counters.installs == 1 and host.counters.service_restarts == 1


@pytest.mark.parametrize("spec", [
    HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD, leak=LeakSpec.of(Scenario.NSI)),
    HostSpec("core-0001", OsProfile("win2008", 2, "x64"), USER, PASSWORD, powershell=None),  # KB979223, schtasks
], ids=["powershell", "cmd.exe"])
def test_a_kill_between_the_intent_and_the_window_task_schedules_the_restart_on_the_rerun(
    tmp_path: Path, wire_serve: Any, monkeypatch: pytest.MonkeyPatch, spec: HostSpec
) -> None:
    """The restart's intent is journaled, the task never registered: the rerun must not call it "still
    scheduled" (no restart would ever come); it registers the task, once."""
    window = HostContext(window=parse_window("Sun 02:00-04:00"))  # days after the lab's Tuesday start
    host, run = _lab(tmp_path, wire_serve, spec, window, reboot="window")
    real = reboot.Power.schedule
    monkeypatch.setattr(reboot.Power, "schedule", _dies(real, after_it=False))
    with pytest.raises(_Killed):
        run().run()
    assert host.counters.installs == 1 and reboot.REBOOT_TASK not in host.tasks
    monkeypatch.setattr(reboot.Power, "schedule", real)
    outcome = run().run()
    assert outcome.status is HostStatus.REBOOT_SCHEDULED, outcome.message
    assert "schedule_reboot" in [s.step for s in outcome.steps]
    task = host.tasks[reboot.REBOOT_TASK]
    assert task.next_at is not None and window.window is not None and window.window.contains(task.next_at)
    again = run().run()
    assert again.status is HostStatus.REBOOT_SCHEDULED and "still scheduled" in again.message
    assert host.tasks[reboot.REBOOT_TASK] is task and host.counters.installs == 1 and host.counters.reboots == 0


def test_a_kill_between_net_stop_and_net_start_starts_lcs_on_the_rerun(
    tmp_path: Path, wire_serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows 2003 without PowerShell restarts LCS by two commands; killed between them, the service is stopped
    and its process gone: the rerun must start it, not take the missing process id for a restart done."""
    spec = HostSpec(NAME, OsProfile("win2003", 1, "x86"), USER, PASSWORD, products=("lcs2005",),
                    leak=LeakSpec.of(Scenario.LCS), powershell=None)
    host, run = _lab(tmp_path, wire_serve, spec)

    def stops_then_dies(route: cmdroute.CmdRoute, entry: Any) -> None:
        route.transport.run_cmd(f"net stop {entry.restart_service}")
        raise _Killed

    real = cmdroute.CmdRoute.restart_service
    monkeypatch.setattr(cmdroute.CmdRoute, "restart_service", stops_then_dies)
    with pytest.raises(_Killed):
        run().run()
    assert host.counters.installs == 1 and host.services["rtcsrv"].state == "Stopped"
    monkeypatch.setattr(cmdroute.CmdRoute, "restart_service", real)
    outcome = run().run()
    assert outcome.status is HostStatus.FIXED, outcome.message
    assert host.services["rtcsrv"].state == "Running" and host.counters.service_restarts == 1
    assert [s.message for s in outcome.steps if s.step == "restart_service"] == ["restarted service RTCSRV"]
