"""The host model answers what the engine (and a probe) reads about a host's quirks: registry, services, environment."""

from __future__ import annotations

from winremedy.audit import hostsettings
from winremedy.audit.collector import build_query, parse_collect_output
from winremedy.catalog import load_catalog
from winremedy.lab import collect
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.lab.quirks import Adapter


def host(family: str = "win2008", sp: int = 2, **quirks: object) -> EmulatedHost:
    spec = HostSpec("h1", OsProfile(family, sp, "x86"), "a", "p", **quirks)  # type: ignore[arg-type]
    return EmulatedHost(spec, ManualClock(1_700_000_000.0))


def test_quirks_show_where_windows_keeps_them() -> None:
    lab = host(windows_update="disabled", fips=True, locale="de-DE",
               adapters=(Adapter("Backup"), Adapter("Ethernet 2", default_route=True)))
    assert lab.registry_value(hostsettings.WUAUSERV_START.upper()) == 4
    assert lab.registry_value(hostsettings.FIPS_POLICY) == 1
    assert lab.registry_value("HKCU\\Control Panel\\International\\iDate") == "1"
    assert lab.registry_value("HKCU\\Control Panel\\International\\sDate") == "."
    service = lab.service("WUAUSERV")
    assert service is not None and (service.state, service.start_mode) == ("Stopped", "Disabled")
    route = lab.default_route_adapter()
    assert route is not None and route.name == "Ethernet 2" and lab.adapter("backup") == Adapter("Backup")


def test_a_default_host_runs_windows_update_from_c_windows() -> None:
    lab = host("win2003", 2, system_root="C:\\WINNT")
    assert lab.registry_value(hostsettings.WUAUSERV_START) == 2
    assert lab.registry_value(hostsettings.FIPS_POLICY_2003) == 0 and lab.registry_value(hostsettings.FIPS_POLICY) is None
    assert lab.environment()["SystemRoot"] == "C:\\WINNT" and lab.environment()["SystemDrive"] == "C:"
    assert lab.registry_value(hostsettings.SYSTEM_ROOT) == "C:\\WINNT"


def test_the_audit_reads_the_windows_update_start_mode() -> None:
    lab = host("win7", 1, windows_update="disabled")
    answer = collect.answer(lab, build_query(load_catalog()))
    facts = parse_collect_output(answer.stdout, host="h1")
    assert facts.registry is not None and hostsettings.windows_update_disabled(facts.registry)
    assert not hostsettings.windows_update_disabled(
        parse_collect_output(collect.answer(host("win7", 1), build_query(load_catalog())).stdout, host="h1").registry or {})
