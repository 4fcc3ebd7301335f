"""The cmd.exe remediation route against the lab's tools: files by echo + certutil, tasks by schtasks in the
host's date order, services by net stop/start."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from winremedy.catalog.loader import load_catalog
from winremedy.errors import RemediationError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.local import LocalTransport
from winremedy.remediate.cmdroute import MAX_COMMAND_LINE, CmdRoute
from winremedy.remediate.stage import STAGING_DIR


def _lab(**host: Any) -> tuple[EmulatedHost, LocalTransport]:
    entry = {"name": "lcs-1", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], **host}
    spec = fleet_from_dict({"credentials": {"user": "Administrator", "password": "pw"}, "hosts": [entry]}).hosts[0]
    lab = EmulatedHost(spec, ManualClock(1.7e9))
    return lab, LocalTransport(lab)


class _Recording:
    """The transport, with every command line kept."""

    def __init__(self, transport: LocalTransport) -> None:
        self.inner, self.host, self.lines = transport, transport.host, []

    def run_cmd(self, line: str, *args: Any, **kwargs: Any) -> Any:
        self.lines.append(line)
        return self.inner.run_cmd(line, *args, **kwargs)


def test_a_file_arrives_exact_in_echo_lines_within_cmd_exes_limit() -> None:
    lab, transport = _lab()
    data = os.urandom(25_000) + b"\x00\x01\x02"  # several echo lines; the base64 ends with a digit-free '=' pad
    recording = _Recording(transport)
    CmdRoute(recording).write_file(STAGING_DIR + "\\pkg.exe", data)  # type: ignore[arg-type]
    assert lab.fs.read(STAGING_DIR + "\\pkg.exe") == data
    assert not lab.fs.exists(STAGING_DIR + "\\pkg.exe.b64")
    echoes = [line for line in recording.lines if line.startswith("echo ")]
    assert len(echoes) >= 4 and all(len(line) <= MAX_COMMAND_LINE and ' >>"' in line for line in echoes)


def test_certutil_hashes_with_sha1_and_decode_refuses_an_existing_file() -> None:
    lab, transport = _lab()
    lab.fs.write("C:\\x.bin", b"abc")
    said = transport.run_cmd('certutil -hashfile "C:\\x.bin"').stdout.decode()
    assert " ".join(f"{b:02x}" for b in hashlib.sha1(b"abc").digest()) in said  # noqa: S324 - certutil's default
    lab.fs.write("C:\\x.b64", b"YWJj\r\n")
    assert transport.run_cmd('certutil -decode "C:\\x.b64" "C:\\x.bin"').rc != 0
    assert CmdRoute(transport)._sha1_on_host("C:\\x.bin") == hashlib.sha1(b"abc").hexdigest()  # noqa: S324


@pytest.mark.parametrize("locale", ["en-US", "de-DE", "en-GB"])
def test_an_install_task_runs_as_system_in_the_hosts_date_order_and_reports_its_exit_code(locale: str) -> None:
    lab, transport = _lab(locale=locale)
    route = CmdRoute(transport)
    assert route.query_task("t1").state == "absent"
    state = route.start_task("t1", ["nosuchtool /x"])
    assert state.state in ("scheduled", "running", "done")
    lab.clock.advance(60)
    done = route.query_task("t1")
    assert (done.state, done.exit_code) == ("done", 9009)  # an unknown command: cmd.exe's 9009, read back
    assert lab.counters.tasks_run == 1


def test_schtasks_refuses_a_date_in_another_order() -> None:
    _, transport = _lab(locale="de-DE")
    refused = transport.run_cmd("schtasks /create /tn x /tr C:\\x.cmd /ru SYSTEM /sc once /st 10:00:00 /sd 12/31/2030")
    assert refused.rc == 1 and b"Invalid Start Date" in refused.stderr


def test_lcs_restarts_by_net_stop_and_start_and_a_missing_service_is_named() -> None:
    lab, transport = _lab()
    entry = load_catalog().get("KB903927")
    before = lab.processes["rtcsrv"].pid
    CmdRoute(transport).restart_service(entry)
    assert lab.counters.service_restarts == 1 and lab.processes["rtcsrv"].pid != before
    _, bare = _lab(products=[])
    with pytest.raises(RemediationError, match=r"lcs-1: service RTCSRV did not start"):
        CmdRoute(bare).restart_service(entry)


def test_the_service_pid_is_read_by_sc_queryex_without_wmi() -> None:
    lab, transport = _lab()
    entry = load_catalog().get("KB903927")
    recording = _Recording(transport)
    route = CmdRoute(recording)  # type: ignore[arg-type]
    before = route.service_pid(entry)
    assert before == lab.processes["rtcsrv"].pid and before
    route.restart_service(entry)
    assert route.service_pid(entry) == lab.processes["rtcsrv"].pid != before
    assert not any(line.lower().startswith("wmic") for line in recording.lines)
    _, bare = _lab(products=[])
    assert CmdRoute(bare).service_pid(entry) is None  # sc's 1060: no such service


def test_a_stopped_lcs_is_started_though_net_stop_says_it_is_not_started() -> None:
    lab, transport = _lab()
    entry = load_catalog().get("KB903927")
    assert transport.run_cmd(f"net stop {entry.restart_service}").rc == 0
    stopped = transport.run_cmd(f"net stop {entry.restart_service}")
    assert stopped.rc == 2 and b"service is not started" in stopped.stderr and b"3521" in stopped.stderr
    CmdRoute(transport).restart_service(entry)
    assert CmdRoute(transport).service_pid(entry) == lab.processes["rtcsrv"].pid
