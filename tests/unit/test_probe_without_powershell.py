"""The probe of a host without PowerShell: the WinRM version named from wsmsvc.dll's file version, read by
``wmic datafile`` through cmd.exe (its WQL path built by cmd.exe's %SystemRoot:\\=\\\\% substitution)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.probe.query import WSMSVC_BY_CMD
from winremedy.probe.run import probe_host
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
    assert transport.commands == 2  # powershell (9009), then wmic datafile
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
    assert readiness.facts["errors"] == ["bare: wmic datafile (wsmsvc.dll, exit code 0): cannot read its output: "
                                         "not a wmic list line: 'Version 5.2'"]
