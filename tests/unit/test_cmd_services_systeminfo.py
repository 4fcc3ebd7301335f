"""The cmd.exe audit's service, process and last-resort OS sources: ``sc queryex``/``sc qc`` and ``tasklist /svc``
(the service control manager, no WMI) and ``systeminfo`` when ``wmic os`` answers nothing.

Fixtures: tests/data/cmdtools/sc_*.txt and tasklist_*.txt follow the shapes public transcripts of these tools show
(sc writes its failures to stdout as "[SC] <call> FAILED <code>:"; 2003's sc qc heads "[SC] GetServiceConfig
SUCCESS", Vista's "QueryServiceConfig"; a further dependency on its own ": name" line; tasklist's quoted CSV, and
its "INFO:" line when no process matches, worded differently on 2003 and Vista). The systeminfo captures are real
ones, WES-NG's validation set under tests/data/realdata/wesng (provenance and licence in its README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.audit import cmd_collector, cmdtools
from winremedy.audit.run import AuditSettings, audit_host
from winremedy.catalog.loader import load_catalog
from winremedy.errors import ProtocolError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.faults import FaultSpec
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.transport.base import Result

DATA = Path(__file__).resolve().parents[1] / "data"
CLOCK = "\r\r\n\r\r\nLocalDateTime=20190307113000.000000+060\r\r\n\r\r\n\r\r\n"


def _text(name: str) -> str:
    return cmdtools.decode((DATA / "cmdtools" / name).read_bytes())


def test_sc_queryex_gives_state_and_process_id() -> None:
    [running] = cmdtools.sc_records(_text("sc_queryex_2003_running.txt"))
    assert (running["SERVICE_NAME"], running["PID"], cmdtools.sc_state(running["STATE"])) == ("RTCSRV", "1812",
                                                                                              "Running")
    [stopped] = cmdtools.sc_records(_text("sc_queryex_stopped.txt"))
    assert cmdtools.sc_state(stopped["STATE"]) == "Stopped" and stopped["WIN32_EXIT_CODE"] == "1077  (0x435)"


@pytest.mark.parametrize(("name", "path", "dependencies"), [
    ("sc_qc_2003.txt", '"C:\\Program Files\\Microsoft LC\\Server\\RTCSrv.exe"', "RPCSS,LanmanWorkstation"),
    ("sc_qc_vista.txt", "C:\\Windows\\system32\\svchost.exe -k LocalService", "rpcss,nsiproxy"),
])
def test_sc_qc_of_2003_and_vista_gives_the_image_and_every_dependency(name: str, path: str, dependencies: str) -> None:
    [config] = cmdtools.sc_records(_text(name))
    assert config["BINARY_PATH_NAME"] == path and config["DEPENDENCIES"] == dependencies


def test_sc_no_such_service_is_none_and_any_other_failure_an_error() -> None:
    assert cmdtools.sc_records(_text("sc_query_missing_1060.txt")) == []
    with pytest.raises(ValueError, match="sc failed: '\\[SC\\] OpenSCManager FAILED 5:'"):
        cmdtools.sc_records(_text("sc_query_access_denied.txt"))
    with pytest.raises(ValueError, match="not an sc state"):
        cmdtools.sc_state("RUNNING")


def test_tasklist_csv_keeps_a_service_list_inside_its_quotes() -> None:
    rows = cmdtools.tasklist_rows(_text("tasklist_svc_csv_nh_2003.txt"))
    assert rows[-1] == ["RTCSrv.exe", "1812", "RTCSRV"] and "wuauserv" in rows[3][2].split(",")
    assert cmdtools.tasklist_rows(_text("tasklist_none_2003.txt")) == []
    assert cmdtools.tasklist_rows(_text("tasklist_none_vista.txt")) == []
    with pytest.raises(ValueError, match="not tasklist /fo csv /nh output"):
        cmdtools.tasklist_rows(_text("tasklist_table.txt"))


def test_services_come_from_sc_by_name_and_from_tasklist_by_image() -> None:
    outputs = [(cmd_collector.Section("tasks", "", cmd_collector.SERVICE_PROCESSES), _text("tasklist_svc_csv_nh_2003.txt")),
               (cmd_collector.Section("sc", "wuauserv", ""), _text("sc_queryex_stopped.txt")),
               (cmd_collector.Section("sc", "nsi", ""), _text("sc_query_missing_1060.txt"))]
    services = cmd_collector._services(outputs, {"services": ["wuauserv", "nsi"], "service_images": ["RTCSRV.EXE"]})
    assert services == {"wuauserv": {"pid": 0, "state": "Stopped", "path": ""},
                        "RTCSRV": {"pid": 1812, "state": "Running", "path": "RTCSrv.exe"}}


def _systeminfo(name: str, clock: str = CLOCK) -> dict[str, object]:
    """What the fallback makes of a real systeminfo capture, the clock read after it given."""
    text = (DATA / "realdata" / "wesng" / name).read_bytes()

    def run_line(line: str) -> Result:
        return Result("h1", 0, f"{cmd_collector.MARKER} time\r\n{clock}{cmd_collector.MARKER} systeminfo\r\n".encode()
                      + cmdtools.decode(text).encode() + f"{cmd_collector.MARKER} time\r\n{clock}".encode(), b"")

    raw: dict[str, object] = {"errors": [], "qfe": []}
    cmd_collector._from_systeminfo(run_line, raw, {"PROCESSOR_ARCHITECTURE": "x86"}, "h1")
    return raw


def test_systeminfo_of_2003_gives_the_os_and_the_boot_time_from_its_uptime() -> None:
    raw = _systeminfo("srv_2003_rtm_x86_standard_en-us_systeminfo.txt")
    assert raw["os"] == {"caption": "Microsoft(R) Windows(R) Server 2003, Standard Edition", "version": "5.2.3790",
                         "csd_version": None, "sp": 0, "product_type": 3, "processor_architecture": "x86",
                         "boot_time": "2019-03-07T10:29:10+00:00"}  # 11:30 +01:00 less 50 s of uptime
    assert [row["id"] for row in raw["qfe"]] == ["File 1", "KB147222", "KB893803"]  # type: ignore[attr-defined]
    assert "wmic os answered nothing: the OS, boot time and hotfixes are systeminfo's" in raw["errors"]  # type: ignore[operator]


def test_systeminfo_of_windows_7_places_its_local_boot_time_by_the_clock_offset() -> None:
    raw = _systeminfo("7_sp1_x64_enterprise_en-us_B_systeminfo.txt")
    os = raw["os"]
    assert isinstance(os, dict) and (os["version"], os["sp"]) == ("6.1.7601", 1)
    assert os["boot_time"].endswith("+00:00")


def test_localized_systeminfo_is_read_by_structure_and_its_boot_time_left_unknown() -> None:
    raw = _systeminfo("10_1803_x64_pro_it_systeminfo.txt")
    os = raw["os"]
    assert isinstance(os, dict) and os["version"].startswith("10.0.17134") and os["boot_time"] is None
    assert "boot time unknown: systeminfo gives none that can be placed in UTC" in raw["errors"]  # type: ignore[operator]


def test_unreadable_systeminfo_is_an_error_naming_host_and_tools() -> None:
    def run_line(line: str) -> Result:
        return Result("h1", 0, f"{cmd_collector.MARKER} time\r\n{cmd_collector.MARKER} systeminfo\r\nAccess denied\r\n"
                      f"{cmd_collector.MARKER} time\r\n".encode(), b"")
    with pytest.raises(ProtocolError, match=r"^h1: wmic os answered nothing and systeminfo cannot be read: "):
        cmd_collector._from_systeminfo(run_line, {"errors": [], "qfe": []}, {}, "h1")


@pytest.mark.parametrize("family", ["win2003", "win2008"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])  # systeminfo prints local time
def test_a_host_whose_first_wmic_run_fails_is_audited_by_systeminfo_the_same(family: str, zone: str) -> None:
    catalog = load_catalog()
    results = {}
    for fails in (False, True):
        spec = HostSpec("h1", OsProfile(family, 1, "x86"), "a", "p", seed=3, powershell=None,  # type: ignore[arg-type]
                        products=("lcs2005",) if family == "win2003" else (), timezone=zone,
                        faults=FaultSpec(wmic_first_run_fails=fails))
        transport = LocalTransport(EmulatedHost(spec, ManualClock(1.7e9)))
        results[fails] = (transport, audit_host(transport, catalog, AuditSettings(samples=3, interval=1800)))
    (plain_transport, plain), (transport, fallback) = results[False], results[True]
    assert fallback.error is None, fallback.error
    assert {f.kb: f.status for f in fallback.findings} == {f.kb: f.status for f in plain.findings}
    assert fallback.facts.os == plain.facts.os and fallback.facts.boot_time == plain.facts.boot_time
    assert "wmic os answered nothing: the OS, boot time and hotfixes are systeminfo's" in fallback.facts.notes
    assert transport.commands == plain_transport.commands + 1  # systeminfo and the clock, in one more command


@pytest.mark.parametrize(("family", "version", "qc_head", "none"), [
    ("win2003", "5.2.3790", "[SC] GetServiceConfig SUCCESS", "INFO: No tasks running with the specified criteria."),
    ("win2008", "6.0.6002", "[SC] QueryServiceConfig SUCCESS",
     "INFO: No tasks are running which match the specified criteria."),
])
def test_the_lab_answers_in_each_windows_versions_shape(family: str, version: str, qc_head: str, none: str) -> None:
    spec = HostSpec("h1", OsProfile(family, 2, "x86"), "a", "p", powershell=None)  # type: ignore[arg-type]
    transport = LocalTransport(EmulatedHost(spec, ManualClock(1.7e9)))

    def run(line: str) -> tuple[int, str]:
        result = transport.run_cmd(line)
        return result.rc, cmdtools.decode(result.stdout + result.stderr)
    assert run("ver") == (0, f"\nMicrosoft Windows [Version {version}]\n")
    rc, qc = run("sc qc wuauserv")
    assert rc == 0 and qc.startswith(qc_head + "\n") and cmdtools.sc_records(qc)[0]["START_TYPE"] == "2   AUTO_START"
    rc, status = run("sc queryex wuauserv")
    [record] = cmdtools.sc_records(status)
    rows = cmdtools.tasklist_rows(run(f'tasklist /fi "PID eq {record["PID"]}" /fo csv /nh')[1])
    assert rc == 0 and [row[0] for row in rows] == ["svchost.exe"]
    assert run('tasklist /fi "IMAGENAME eq nothing.exe" /fo csv /nh') == (0, none + "\n")
    assert run("sc query nosuch")[0] == 1060 and run("sc qc")[0] == 1
    assert run("netstat -an")[0] == 9009  # not a tool the lab answers: cmd.exe's "not recognized"
