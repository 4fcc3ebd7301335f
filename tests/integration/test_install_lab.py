"""Installs over real pywinrm against a lab host behind the lab's WS-Management server (NTLM, encrypted).

wusa run directly in the WinRM shell gets access denied (KB2773898); the
project's install path, a task as SYSTEM, installs. The lab sends a process
exit code as WinRS does, unsigned in ``<rsp:ExitCode>``: 0x80070005 arrives
as 2147942405, and pywinrm hands it over unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.install import Outcome, finish_install, outcome_of, start_install
from winremedy.remediate.poller import Poller
from winremedy.remediate.stage import STAGING_DIR
from winremedy.repo import Entry, pick
from winremedy.transport import WinRMOptions, WinRMTransport

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "S3cret!"
ACCESS_DENIED_UNSIGNED = 2147942405  # 0x80070005
Lab = tuple[EmulatedHost, ManualClock, WinRMTransport, Entry, str]


@pytest.fixture
def lab(tmp_path: Path, wire_serve: Any) -> Iterator[Lab]:
    manifest = write_repository(tmp_path / "repo")
    entry = pick(manifest, "KB2847346", "win7", "6.1.7601", 1, "x64")
    assert entry is not None
    clock = ManualClock(1_700_000_000.0, scale=10_000.0)  # installer time passes in real milliseconds
    host = EmulatedHost(HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD), clock)
    path = f"{STAGING_DIR}\\{entry.file}"
    host.fs.write(path, (tmp_path / "repo" / entry.file).read_bytes())  # as the stager leaves it
    server, _ = wire_serve(host)
    options = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="http", transport="ntlm",
                           user=USER, password=PASSWORD, retries=0)
    transport = WinRMTransport("w7-0001", options, sleep=lambda _: None)
    yield host, clock, transport, entry, path
    transport.close()


def test_wusa_run_directly_over_winrm_is_access_denied(lab: Lab) -> None:
    host, _, transport, _, path = lab
    direct = transport.run_cmd("wusa.exe", [path, "/quiet", "/norestart"])
    scripted = transport.run_ps(f'wusa.exe "{path}" /quiet /norestart\nexit $LASTEXITCODE')
    assert direct.rc == scripted.rc == ACCESS_DENIED_UNSIGNED
    assert outcome_of(direct.rc)[0] is Outcome.ACCESS_DENIED
    assert host.installed() == {} and host.counters.installs == 0


def test_the_install_task_succeeds_with_3010(lab: Lab) -> None:
    host, clock, transport, entry, path = lab
    start_install(transport, entry, path, "win7")
    result = finish_install(transport, entry.kb, Poller(poll=30, sleep=clock.advance, clock=clock.now))
    assert (result.outcome, result.exit_code, result.changed) == (Outcome.REBOOT_REQUIRED, 3010, True)
    assert host.counters.tasks_run == 1 and host.counters.installs == 1
    assert host.pending_reboot() != []
