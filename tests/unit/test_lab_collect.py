"""The lab answers the real collector query from its host model, and the controller reads it like a host's."""

from __future__ import annotations

import pytest

from winremedy.audit.assess import Status, assess
from winremedy.catalog import load_catalog
from winremedy.audit.collector import build_query, build_sample_query, parse_collect_output
from winremedy.errors import ProtocolError
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.faults import FaultSpec
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.audit.leaks import analyse
from winremedy.psdata import decode_frame
from winremedy.scripts import render
from winremedy.transport.bootstrap import POWERSHELL, POWERSHELL_ARGUMENTS, encode_script

CATALOG = load_catalog()
HOUR = 3600.0


def _host(family: str, sp: int, arch: str, **spec: object) -> EmulatedHost:
    host_spec = HostSpec(name=f"{family}-{arch}", profile=OsProfile(family, sp, arch), user="u", password="p",
                         seed=11, **spec)  # type: ignore[arg-type]
    return EmulatedHost(host_spec, ManualClock(1.79e9, scale=600.0))


def _audit(host: EmulatedHost, samples: int = 1, interval: float = 0.0):  # type: ignore[no-untyped-def]
    """Send the collector exactly as the transport does: bootstrap on the command line, script on stdin."""
    script = render("collect", build_query(CATALOG, samples=samples, interval=interval))
    args = [" ".join(POWERSHELL_ARGUMENTS)]
    assert host.wants_stdin(POWERSHELL, args)
    result = host.run(POWERSHELL, args, encode_script(script))
    assert result.exit_code == 0, result.stderr
    facts = parse_collect_output(result.stdout, host=host.name)
    facts.leaks = analyse(facts, CATALOG)
    return facts, {f.kb: f for f in assess(facts, CATALOG)}, result


def test_answer_matches_the_host_model() -> None:
    host = _host("win7", 1, "x64", installed=("KB2847346",))
    facts, findings, _ = _audit(host)
    model = host.facts()
    assert facts.os is not None and (facts.os.version, facts.os.sp, facts.os.arch, facts.os.family) == \
        ("6.1.7601", 1, "x64", "win7")
    asked = {p for p in build_query(CATALOG)["files"]}
    assert {k: v for k, v in facts.files.items()} == {p: model["files"].get(p) for p in asked}
    assert "KB2847346" in facts.registered_kbs()
    assert facts.boot_time == model["boot_time"] and facts.pending_reboot == []
    assert findings["KB2847346"].status is Status.FIXED and findings["KB2847346"].basis == "files"
    assert host.counters.scripts == {"collect 1": 1}


def test_pending_install_reads_as_pending_reboot_until_the_reboot() -> None:
    host = _host("win2008r2", 1, "x64")
    host.install("KB2847346")
    facts, findings, _ = _audit(host)
    assert findings["KB2847346"].status is Status.PENDING_REBOOT
    assert "cbs_reboot_pending" in (facts.pending_reboot or [])
    host.reboot()
    host.clock.advance(3 * HOUR)  # type: ignore[attr-defined]
    _, after, _ = _audit(host)
    assert after["KB2847346"].status is Status.FIXED


def test_leaking_host_is_missing_leaking_and_a_quiet_one_is_missing() -> None:
    leaking, quiet = (_host("win7", 1, "x86", leak=LeakSpec.of(Scenario.NSI)), _host("win7", 1, "x86"))
    facts, findings, result = _audit(leaking, samples=8, interval=1200)
    assert findings["KB2847346"].status is Status.MISSING_LEAKING
    assert facts.leaks["nsi_private_bytes"].leaking and facts.leaks["nsi_private_bytes"].samples == 8
    assert result.delay == pytest.approx(7 * 1200 / 600.0)  # 7 intervals of host time at scale 600
    _, quiet_findings, _ = _audit(quiet, samples=8, interval=1200)
    assert quiet_findings["KB2847346"].status is Status.MISSING


def test_2003_lcs_host_and_its_products() -> None:
    host = _host("win2003", 1, "x86", products=("lcs2005",))
    facts, findings, _ = _audit(host)
    assert facts.products == ["lcs"]
    assert findings["KB903927"].status is Status.MISSING and findings["KB903927"].basis == "registration"
    assert findings["KB2847346"].status is Status.NOT_APPLICABLE


def test_garbled_output_is_an_error_naming_the_host() -> None:
    host = _host("win7", 1, "x64", faults=FaultSpec(garbled=True))
    script = render("collect", build_query(CATALOG))
    result = host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(script))
    with pytest.raises(ProtocolError, match="win7-x64"):
        parse_collect_output(result.stdout, host=host.name)


def test_parameters_are_read_never_run() -> None:
    host = _host("win7", 1, "x64")
    script = "# winremedy-script: collect 1\r\n$WinRemedyArgs = $(Stop-Computer -Force)\r\n"
    result = host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(script))
    assert result.exit_code == 1 and b"not a data literal" in result.stderr
    assert host.counters.reboots == 0


def test_a_later_sample_reads_only_the_sections_its_query_names() -> None:
    host = _host("win7", 1, "x64")
    script = render("collect", build_sample_query(CATALOG))
    result = host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(script))
    raw = decode_frame(result.stdout, host=host.name)
    assert set(raw) == {"script", "errors", "powershell_version", "clr_version", "os", "services", "samples",
                        "pool_tags", "collected_at"}  # the pool table too: a growing tag names a leak's driver
    assert set(raw["samples"]) == set(host.indicators.names) and raw["os"]["boot_time"]


def test_the_pool_table_names_the_driver_behind_a_growing_pool() -> None:
    """WFP leak on SP2 (not fixed): missing_leaking, with Nbuf (netio.sys) named; a driver leak on a fixed host
    is "leak persists: another cause", naming its tag, which the catalog does not know."""
    wfp = _host("win2008", 2, "x64", leak=LeakSpec.of(Scenario.WFP, 12.0))
    facts, findings, _ = _audit(wfp, samples=8, interval=1200)
    assert len(facts.samples["pool:Nbuf"]) == 8 and len(facts.samples["pool_allocs:Nbuf"]) == 8
    assert findings["KB979223"].status is Status.MISSING_LEAKING
    assert "growing pool tags: Nbuf +12,5" in findings["KB979223"].reason
    assert "(netio.sys (NET_BUFFER_LIST allocations), KB979223)" in findings["KB979223"].reason
    driver = _host("win7", 1, "x64", leak=LeakSpec.of(Scenario.DRIVER, 12.0, "Xdrv"))
    _, findings, _ = _audit(driver, samples=8, interval=1200)
    assert findings["KB979223"].status is Status.FIXED  # SP1 carries the WFP fix
    assert "leak persists: another cause (nonpaged_pool_total" in findings["KB979223"].reason
    assert "Xdrv +12,5" in findings["KB979223"].reason and "driver unknown" in findings["KB979223"].reason
    assert findings["KB979223"].action.endswith("look at the driver behind pool tag Xdrv")
