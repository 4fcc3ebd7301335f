"""The on-host sampler against the lab's host model: install, readings in host time, one audit reads and clears."""

from __future__ import annotations

import json

from winremedy.audit.collector import SAMPLES_FILE, build_recorder_query, facts_from_raw
from winremedy.audit.run import AuditSettings, audit_host
from winremedy.audit.sampler import TASK_NAME, run_sampler, sampler_params
from winremedy.catalog import load_catalog
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.psdata import read_ps_data
from winremedy.scripts import identify, render

CATALOG = load_catalog()
DAY = 86400.0


def _host(leak: LeakSpec | None = None, **spec_keys: object) -> EmulatedHost:
    keys: dict[str, object] = {"profile": OsProfile("win7", 1, "x64"), **spec_keys}
    spec = HostSpec(name="w7", user="u", password="p", seed=3, leak=leak or LeakSpec(), **keys)  # type: ignore[arg-type]
    return EmulatedHost(spec, ManualClock(1.79e9, scale=3600.0))


def _sampler(host: EmulatedHost, action: str, **options: int):  # type: ignore[no-untyped-def]
    state = run_sampler(LocalTransport(host), render("sampler", sampler_params(CATALOG, action, **options)))  # type: ignore[arg-type]
    assert state.error is None, state.error
    return state


def test_the_recorder_is_the_collector_asked_for_indicators_and_a_bounded_file() -> None:
    params = sampler_params(CATALOG, "install", minutes=10, keep=144)
    identity = identify(params["recorder"])
    assert identity is not None and identity.name == "collect" and identity.args_literal
    assert read_ps_data(identity.args_literal) == build_recorder_query(CATALOG, keep=144)
    assert build_recorder_query(CATALOG, keep=144)["record"] == {"path": SAMPLES_FILE, "keep": 144}
    assert (params["name"], params["minutes"]) == (TASK_NAME, 10)


def test_two_days_of_host_readings_reach_the_next_audit_once() -> None:
    host = _host(LeakSpec.of(Scenario.NSI))
    assert _sampler(host, "install", minutes=10).installed
    host.clock.advance(2 * DAY)  # type: ignore[attr-defined]
    assert _sampler(host, "status").samples == 2 * 24 * 6 + 1  # a run at install, then every 10 minutes
    result = audit_host(LocalTransport(host), CATALOG, AuditSettings())
    assert result.ok and result.facts is not None
    points = result.facts.samples["nsi_private_bytes"]
    assert len(points) == 2 * 24 * 6 + 2 and points[-1].t - points[0].t == 2 * DAY  # the audit's own reading last
    assert result.facts.leaks["nsi_private_bytes"].leaking
    assert {f.kb: f.status.value for f in result.findings}["KB2847346"] == "missing_leaking"
    assert any(note.startswith("on-host sampler: 289 readings") for note in result.facts.notes)
    assert _sampler(host, "status").samples == 0  # read and cleared in that one round trip
    assert host.counters.commands == 4


def test_the_file_keeps_the_newest_readings_and_a_restart_starts_them_again() -> None:
    host = _host()
    _sampler(host, "install", minutes=10, keep=100)
    host.clock.advance(2 * DAY)  # type: ignore[attr-defined]
    assert _sampler(host, "status").samples == 100
    host.reboot()
    host.clock.advance(3600)  # type: ignore[attr-defined]
    after = _sampler(host, "status").samples
    assert 0 < after <= 6  # only the readings since the host came back (90 s of downtime)


def test_the_sampler_lives_under_the_hosts_own_system_root() -> None:
    # Windows 2003 upgraded from 2000 keeps C:\WINNT; a path written for C:\Windows misses it.
    host = _host(profile=OsProfile("win2003", 2, "x86"), system_root="C:\\WINNT")
    _sampler(host, "install")
    written = host.fs.listdir("C:\\WINNT\\Temp\\winremedy\\sampler")
    assert sorted(path.rsplit("\\", 1)[1] for path in written) == [f"{TASK_NAME}.cmd", f"{TASK_NAME}.ps1"]
    assert host.fs.listdir("C:\\Windows\\Temp\\winremedy\\sampler") == []
    assert SAMPLES_FILE.startswith("%SystemRoot%\\Temp\\")
    assert not _sampler(host, "remove").installed and host.fs.listdir("C:\\WINNT\\Temp\\winremedy\\sampler") == []
    elsewhere = _host(profile=OsProfile("win2003", 2, "x86"), system_root="D:\\Windows")
    assert _sampler(elsewhere, "install").installed


def test_remove_stops_the_readings() -> None:
    host = _host()
    _sampler(host, "install")
    assert not _sampler(host, "remove").installed
    host.clock.advance(DAY)  # type: ignore[attr-defined]
    result = audit_host(LocalTransport(host), CATALOG, AuditSettings())
    assert result.facts is not None and {len(p) for p in result.facts.samples.values()} == {1}


def test_recorded_readings_of_an_earlier_boot_or_half_written_are_left_out_with_a_note() -> None:
    def line(boot: str, t: float, value: float) -> str:
        return json.dumps({"script": "collect", "os": {"boot_time": boot}, "samples": {"nonpaged_pool_total": [[t, value]]}})

    raw = {"script": "collect", "os": {"version": "6.1.7601", "sp": 1, "product_type": 1,
                                       "boot_time": "2026-12-01T00:00:01Z"},
           "samples": {"nonpaged_pool_total": [[30.0, 130.0]]},
           "recorded": [line("2026-11-20T00:00:00Z", 5.0, 900.0), line("2026-12-01T00:00:00Z", 20.0, 120.0),
                        line("2026-12-01T00:00:00Z", 10.0, 110.0), '{"script": "coll']}
    facts = facts_from_raw(raw, host="w7")
    assert [(s.t, s.value) for s in facts.samples["nonpaged_pool_total"]] == [(10.0, 110.0), (20.0, 120.0), (30.0, 130.0)]
    assert facts.notes == ["on-host sampler: 2 readings since the last audit; 1 from before the last restart left out; "
                           "1 unreadable lines skipped"]
