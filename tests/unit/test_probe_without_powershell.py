"""The probe of a host without PowerShell: the WinRM version named from wsmsvc.dll's file version, read by
``wmic datafile`` through cmd.exe (its WQL path built by cmd.exe's %SystemRoot:\\=\\\\% substitution), and the
staging drive's free space by ``wmic logicaldisk``, in the same command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.probe.query import WSMSVC_BY_CMD
from winremedy.probe.readiness import Channel
from winremedy.probe.run import probe_host
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import HostStatus
from winremedy.remediate.runner import HostContext, HostRun
from winremedy.remediate.settings import Settings
from winremedy.remediate.stage import open_source
from winremedy.transport.base import Result


def _bare(family: str, sp: int, **quirks: object) -> LocalTransport:
    spec = HostSpec("bare", OsProfile(family, sp, "x86"), "a", "p", powershell=None, **quirks)  # type: ignore[arg-type]
    return LocalTransport(EmulatedHost(spec, ManualClock(1.7e9)))


@pytest.mark.parametrize(("family", "sp", "root"), [("win2003", 1, "C:\\WINDOWS"), ("win2003", 2, "C:\\WINNT"),
                                                    ("win2008", 2, "D:\\Windows")])
def test_a_bare_host_with_winrm_11_is_named_so_in_two_round_trips(family: str, sp: int, root: str) -> None:
    transport = _bare(family, sp, winrm="1.1", system_root=root)
    readiness = probe_host(transport)
    assert readiness.ready and readiness.facts["powershell"] is None, readiness.summary()
    assert readiness.facts["winrm_version"] == "1.1" and readiness.facts["errors"] == []
    assert {c.topic for c in readiness.notes} == {"powershell", "winrm"}
    assert any("WinRM 1.1: listeners on 80/443" in c.message for c in readiness.notes)
    assert readiness.facts["staging_drive"] == root[:2] and readiness.facts["free_bytes"] == 20480 * 2**20
    assert transport.commands == 2  # powershell (9009), then wmic datafile & wmic logicaldisk
    assert transport.lab_host.counters.powershell_starts == 0


def test_the_wql_path_needs_the_doubled_backslashes_cmd_exe_substitutes() -> None:
    transport = _bare("win2003", 1, winrm="1.1")
    found = transport.run_cmd(WSMSVC_BY_CMD)
    assert found.rc == 0 and b"Version=5.2.3790.4131" in found.stdout
    single = transport.run_cmd(WSMSVC_BY_CMD.replace(":\\=\\\\", ""))  # %SystemRoot% alone: "C:\WINDOWS\\..."
    assert b"No Instance(s) Available." in single.stderr


class _Garbled(LocalTransport):
    def run_cmd(self, command: str, arguments: Sequence[str] = (), **options: object) -> Result:
        result = super().run_cmd(command, arguments, **options)  # type: ignore[arg-type]
        return Result(result.host, result.rc, b"Version 5.2" if command.startswith("wmic") else result.stdout,
                      result.stderr)


def test_an_unreadable_wmic_answer_leaves_the_version_unknown_and_says_why() -> None:
    spec = HostSpec("bare", OsProfile("win2003", 1, "x86"), "a", "p", powershell=None, winrm="1.1")  # type: ignore[arg-type]
    readiness = probe_host(_Garbled(EmulatedHost(spec, ManualClock(1.7e9))))
    assert readiness.ready and readiness.facts["winrm_version"] is None
    assert readiness.facts["errors"] == ["bare: wmic datafile (wsmsvc.dll) and logicaldisk (exit code 0): cannot "
                                         "read their output: not a wmic list line: 'Version 5.2'"]


def test_a_bare_host_short_of_space_for_a_package_is_not_ready_with_the_reason() -> None:
    readiness = probe_host(_bare("win2003", 1, winrm="1.1", free_disk_mb=40))
    assert not readiness.ready and [c.topic for c in readiness.reasons] == ["free_space"]
    assert readiness.reasons[0].message.startswith("40 MB free on C:, less than the ")


def test_remediate_refuses_that_host_before_any_change(tmp_path: Path) -> None:
    write_repository(tmp_path / "repo")
    source, manifest = open_source(repo=tmp_path / "repo")
    transport = _bare("win2003", 1, winrm="1.1", free_disk_mb=40, products=("lcs2005",))
    settings = Settings.from_options({"poll": 0.01, "install_timeout": 5.0}, check=False)  # bounded, should it stage
    outcome = HostRun(transport, load_catalog(), source, manifest, settings, HostContext(),
                      Journal(None, "bare")).run()
    assert outcome.status is HostStatus.FAILED and "not ready: 40 MB free on C:" in outcome.message, outcome.message
    counters = transport.lab_host.counters
    assert (counters.stages, counters.installs, counters.service_restarts) == (0, 0, 0)


def test_a_bare_host_reached_in_clear_text_is_not_ready_as_any_other() -> None:
    clear = Channel("10.0.0.5", 80, "http", "basic")  # an explicit opt-in to Basic over HTTP
    readiness = probe_host(_bare("win2003", 2), clear)
    assert not readiness.ready and [c.topic for c in readiness.reasons] == ["encryption"]
    sealed = probe_host(_bare("win2003", 2), Channel("10.0.0.5", 80, "http", "ntlm", "auto"))
    assert sealed.ready, sealed.summary()
