"""The cmd.exe audit path: readers of what 2003's tools print (one fixture per shape), and the collector over the lab.

The fixtures under tests/data/cmdtools follow public transcripts: wmic's first-run banner, UTF-16LE when
redirected to a file (with the banner in the BOM's place on a first run), ``\\r\\r\\n`` through a pipe; reg.exe
3.0's ``! REG.EXE VERSION 3.0`` banner with tabs (PowerShell-Docs registry sample) and four spaces later;
a FileVersion string with its build-lab suffix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.audit import cmd_collector, cmdtools
from winremedy.audit.collector import build_query
from winremedy.audit.run import AuditSettings, audit_host
from winremedy.catalog.loader import load_catalog
from winremedy.errors import ProtocolError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.local import LocalTransport
from winremedy.transport.base import Result

DATA = Path(__file__).resolve().parents[1] / "data" / "cmdtools"
OS_RECORD = {"Caption": "Microsoft(R) Windows(R) Server 2003, Standard Edition", "CSDVersion": "Service Pack 1",
             "LastBootUpTime": "20261201081500.375000+060", "LocalDateTime": "20261204220400.125000+060",
             "ProductType": "3", "ServicePackMajorVersion": "1", "Version": "5.2.3790"}


def _text(name: str, encoding: str = "cp437") -> str:
    return cmdtools.decode((DATA / name).read_bytes(), encoding)


@pytest.mark.parametrize("name", ["wmic_os_pipe_first_run.txt", "wmic_os_file_utf16_bom.bin",
                                  "wmic_os_file_banner_no_bom.bin"])
def test_wmic_os_reads_the_same_through_a_pipe_a_file_and_a_first_run(name: str) -> None:
    assert cmdtools.wmic_records(_text(name)) == [OS_RECORD]


def test_wmic_pipe_output_has_no_carriage_returns_left() -> None:
    assert "\r" not in _text("wmic_os_pipe_first_run.txt")


def test_cim_datetime_is_read_with_its_offset() -> None:
    assert cmdtools.cim_datetime("20261204220400.125000+060").isoformat() == "2026-12-04T21:04:00.125000+00:00"
    with pytest.raises(ValueError):
        cmdtools.cim_datetime("2026-12-04")


def test_file_version_with_a_build_lab_suffix_keeps_the_number() -> None:
    [record] = cmdtools.wmic_records(_text("wmic_datafile_suffix.txt"))
    assert cmdtools.file_version(record["Version"]) == "5.2.3790.2513"
    assert cmdtools.file_version("6.0.6002.18005") == "6.0.6002.18005"
    with pytest.raises(ValueError):
        cmdtools.file_version("(srv03_sp1_gdr)")


def test_wmic_records_of_several_instances_and_an_oem_code_page() -> None:
    processes = cmdtools.wmic_records(_text("wmic_process_two.txt"))
    assert [p["Name"] for p in processes] == ["RTCSrv.exe", "svchost.exe"]
    services = cmdtools.wmic_records(_text("wmic_service_oem_cp850.txt", "cp850"))
    assert services[1]["PathName"] == "C:\\Programme\\Prüfung\\svc.exe -a=1"  # '=' inside a value stays


def test_reg_2003_tabs_keep_a_tab_inside_the_data_and_read_types() -> None:
    values = cmdtools.reg_values(_text("reg_2003_tabs.txt"))
    assert values["SynAttackProtect"] == 1
    assert values["SearchList"] == "corp.example\tlab.example"
    assert values["PendingFileRenameOperations"] == ["\\??\\C:\\WINDOWS\\system32\\schannel.dll"]
    assert values["<NO NAME>"] == ""


def test_reg_vista_spaces_keep_four_spaces_inside_the_data() -> None:
    values = cmdtools.reg_values(_text("reg_vista_spaces.txt"))
    assert values == {"SynAttackProtect": 0, "Display Name": "two    spaces    inside", "(Default)": ""}


def test_reg_key_listing_with_a_subkey_reads_its_values() -> None:
    values = cmdtools.reg_values(_text("reg_2003_key_with_subkeys.txt"))
    assert values["Description"] == "Hotfix for Windows Server 2003 (KB903927)"


def test_set_under_wow64_gives_the_machine_architecture() -> None:
    env = cmdtools.environment(_text("set_wow64.txt"))
    assert env["PROCESSOR_ARCHITEW6432"] == "AMD64"
    assert cmd_collector.expand("%SystemRoot%\\System32\\x.dll", env) == "C:\\WINDOWS\\System32\\x.dll"
    assert cmd_collector.expand("%Nope%\\x", env) == "%Nope%\\x"


def test_unreadable_output_is_an_error_naming_host_and_tool() -> None:
    section = cmd_collector.Section("os", "", "wmic os get Caption /format:list")
    with pytest.raises(ProtocolError, match=r"^h1: wmic \(os \): cannot read its output"):
        cmd_collector.read_sections([(section, _text("wmic_garbled.txt"))], {}, {}, {}, host="h1")


def test_missing_markers_are_an_error_naming_the_host() -> None:
    def run_line(line: str) -> Result:
        return Result("h2", 1, b"", b"Access is denied.\r\n")

    with pytest.raises(ProtocolError, match=r"^h2: cmd.exe: expected 2 tool outputs, got 0 .*Access is denied"):
        cmd_collector.collect(run_line, {}, host="h2")


def test_sections_are_packed_into_command_lines_within_the_limit() -> None:
    query = build_query(load_catalog(), samples=40, interval=600)
    sections = cmd_collector.build_sections(query, {"SYSTEMROOT": "C:\\WINDOWS"}, {})
    lines = cmd_collector.pack(sections)
    assert [s for line in lines for s in line] == sections
    assert len(lines) > 1
    for line in lines:
        assert len(" & ".join(f"echo {cmd_collector.MARKER} {s.kind} & {s.command}" for s in line)) <= 8191


FLEET = {"credentials": {"user": "Administrator", "password": "pw"}, "hosts": [
    {"name": "lcs-leak", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], "leak": "lcs",
     "powershell": None},
    {"name": "lcs-quiet", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], "powershell": None,
     "system_root": "C:\\WINNT"},
    {"name": "lcs-fixed", "os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], "powershell": None,
     "installed": ["KB903927"], "syn_attack_protect": 0},
    {"name": "core", "os": "win2008", "sp": 2, "arch": "x64", "powershell": None, "leak": "wfp"},
]}


@pytest.fixture(scope="module")
def audited() -> dict[str, tuple[LocalTransport, object]]:
    catalog = load_catalog()
    results = {}
    for spec in fleet_from_dict(FLEET).hosts:
        transport = LocalTransport(EmulatedHost(spec, ManualClock(1.7e9)))
        results[spec.name] = (transport, audit_host(transport, catalog, AuditSettings(samples=6, interval=1800)))
    return results


def test_a_host_without_powershell_is_audited_through_cmd_and_says_so(audited) -> None:
    for name, (transport, result) in audited.items():
        assert result.error is None, (name, result.error)
        assert result.facts.notes[0] == cmd_collector.WITHOUT_POWERSHELL
        assert result.facts.powershell_version is None
        assert transport.commands == 3  # the PowerShell try (9009), set + services, everything else
        assert transport.lab_host.counters.scripts == {}


def test_the_cmd_audit_reads_what_the_host_model_holds(audited) -> None:
    _, result = audited["lcs-fixed"]
    facts = result.facts
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.product_type) == ("5.2.3790", 1, "x86", 3)
    assert facts.products == ["lcs"]
    assert "KB903927" in facts.registered_kbs()
    assert facts.registry["HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\SynAttackProtect"] == 0
    _, core = audited["core"]
    assert core.facts.files["%SystemRoot%\\System32\\drivers\\netio.sys"] == "6.0.6002.18005"
    assert core.facts.os.arch == "x64"


def test_samples_are_spaced_on_the_host_and_the_rtcsrv_leak_is_called(audited) -> None:
    _, leaking = audited["lcs-leak"]
    times = [s.t for s in leaking.facts.samples["rtcsrv_private_bytes"]]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [1800.0] * 5
    assert leaking.facts.leaks["rtcsrv_private_bytes"].leaking is True
    _, quiet = audited["lcs-quiet"]
    assert quiet.facts.leaks["rtcsrv_private_bytes"].leaking is False
    statuses = {f.kb: f.status.value for f in leaking.findings}
    assert statuses["KB903927"] == "missing_leaking"


def test_pool_tags_are_unavailable_with_the_reason_never_zero(audited) -> None:
    _, core = audited["core"]
    assert "nspc_pool" not in core.facts.samples
    assert any(note.startswith("indicator nspc_pool unavailable: pool tags cannot be read from cmd.exe")
               for note in core.facts.notes)
    pool = core.facts.leaks["nonpaged_pool_total"]  # the total grows, but no tag can say it is the WFP leak
    assert pool.leaking is False and "no pool tag data shows which driver grows" in pool.reason
