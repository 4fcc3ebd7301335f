"""Workarounds: the KB2847346 adapter bounce over a lab host, and the KB903927 SynAttackProtect peers from facts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from winremedy.catalog import load_catalog
from winremedy.audit.facts import HostFacts
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import NSI_PRIVATE_BYTES, POOL_NSPC, LeakSpec, Scenario
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.restarts import LINK_SETTLE
from winremedy.lab.profiles import OsProfile
from winremedy.lab.quirks import Adapter
from winremedy.errors import RemediationError, UnreachableError
from winremedy.remediate.poller import Poller
from winremedy.remediate.tasks import query_task
from winremedy.remediate.workarounds import (
    NIC_BOUNCE_TASK,
    NIC_BOUNCE_WARNING,
    LcsPeers,
    SynPeer,
    nic_bounce_lines,
    schedule_nic_bounce,
    syn_attack_peers,
)
from winremedy.audit.results import HostResult

START = 1_709_251_200.0
HOUR = 3600.0
MB = 1024 * 1024
CATALOG = load_catalog()


def nsi_host(clock: ManualClock, **quirks: object) -> LocalTransport:
    spec = HostSpec(name="w7-0001", profile=OsProfile("win7", 1, "x64"), user="a", password="p", seed=11,
                    leak=LeakSpec.of(Scenario.NSI, 8.0), **quirks)  # type: ignore[arg-type]
    return LocalTransport(EmulatedHost(spec, clock))


def test_nic_bounce_in_check_mode_changes_nothing() -> None:
    clock = ManualClock(START)
    transport = nsi_host(clock)
    host = transport.lab_host
    result = schedule_nic_bounce(transport, check=True)
    assert not result.changed and result.task.state == "absent" and result.warning == NIC_BOUNCE_WARNING
    assert "would bounce adapter 'Local Area Connection'" in result.message and "off the network" in result.message
    clock.advance(60)
    assert host.is_up() and host.counters.tasks_run == 0
    assert query_task(transport, NIC_BOUNCE_TASK).state == "absent"


def test_nic_bounce_frees_nsi_registrations_and_drops_the_link_for_a_while(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    transport = nsi_host(clock)
    host = transport.lab_host
    clock.advance(12 * HOUR)
    grown, pool = host.indicator(NSI_PRIVATE_BYTES), host.indicator(POOL_NSPC)
    result = schedule_nic_bounce(transport, at=START + 12 * HOUR + 60)
    assert result.changed and result.task.state == "scheduled"
    assert "drops" not in result.message and NIC_BOUNCE_WARNING in caplog.text
    clock.advance(61)
    assert not host.is_up()  # the adapter came back, the link has not settled yet
    clock.advance(LINK_SETTLE)
    assert host.is_up()
    assert query_task(transport, NIC_BOUNCE_TASK).exit_code == 0
    assert host.indicator(NSI_PRIVATE_BYTES) < grown - 50 * MB and host.indicator(POOL_NSPC) < pool
    assert host.status()["leaking"] is True  # still unfixed: the leak starts over
    after = host.indicator(NSI_PRIVATE_BYTES)
    clock.advance(6 * HOUR)
    assert host.indicator(NSI_PRIVATE_BYTES) > after + 30 * MB
    assert host.counters.reboots == 0


def test_nic_bounce_now_bounces_the_default_route_adapter_by_its_name_and_reads_the_result() -> None:
    clock = ManualClock(START)
    adapters = (Adapter("Backup LAN"), Adapter("Ethernet 2", default_route=True))  # renamed, second adapter
    transport = nsi_host(clock, adapters=adapters)
    host = transport.lab_host
    clock.advance(12 * HOUR)
    grown = host.indicator(NSI_PRIVATE_BYTES)
    result = schedule_nic_bounce(transport, poller=Poller(timeout=600, poll=2, sleep=clock.advance, clock=clock.now))
    assert result.changed and result.task.state == "done" and result.task.exit_code == 0
    assert "adapter 'Ethernet 2' bounced (netsh exit code 0" in result.message
    assert host.is_up() and host.indicator(NSI_PRIVATE_BYTES) < grown - 50 * MB


class LosesTheStartAnswer(LocalTransport):
    """The bounce cuts the host off before the answer to its task's start leaves (the start itself may not happen)."""

    def __init__(self, lab_host: EmulatedHost, *, started: bool) -> None:
        super().__init__(lab_host)
        self.started = started

    def run_ps(self, script: str, **options: Any) -> Any:
        if f"'action' = 'start'; 'name' = '{NIC_BOUNCE_TASK}'" in script:
            if self.started:
                super().run_ps(script, **options)
            raise UnreachableError(f"{self.host}: cannot connect to http://127.0.0.1:1/wsman: connection reset")
        return super().run_ps(script, **options)


@pytest.mark.parametrize("started", [True, False])
def test_a_bounce_whose_start_answer_is_lost_is_read_from_its_task(started: bool) -> None:
    clock = ManualClock(START)
    spec = HostSpec(name="w7-0001", profile=OsProfile("win7", 1, "x64"), user="a", password="p", seed=11,
                    leak=LeakSpec.of(Scenario.NSI, 8.0))
    transport = LosesTheStartAnswer(EmulatedHost(spec, clock), started=started)
    poller = Poller(timeout=600, poll=2, sleep=clock.advance, clock=clock.now)
    if started:
        result = schedule_nic_bounce(transport, poller=poller)
        assert result.changed and result.task.exit_code == 0 and "bounced (netsh exit code 0" in result.message
        assert transport.lab_host.counters.nic_bounces == 1
    else:
        with pytest.raises(RemediationError, match=r"^w7-0001: the adapter bounce \(task winremedy-nic-bounce\) was "
                                                   r"not registered: w7-0001: cannot connect"):
            schedule_nic_bounce(transport, poller=poller)
        assert transport.lab_host.counters.nic_bounces == 0


def test_a_failed_bounce_is_an_error_not_scheduled() -> None:
    clock = ManualClock(START)
    spec = HostSpec(name="w3", profile=OsProfile("win2003", 2, "x86"), user="a", password="p")
    transport = LocalTransport(EmulatedHost(spec, clock))  # 2003's netsh cannot disable a LAN adapter
    with pytest.raises(RemediationError, match=r"^w3: the bounce of adapter 'Local Area Connection' failed: netsh "
                                               r"exited 1 \(task winremedy-nic-bounce\)"):
        schedule_nic_bounce(transport, poller=Poller(timeout=600, poll=2, sleep=clock.advance, clock=clock.now))


def test_nic_bounce_lines_refuse_an_unsafe_adapter_name() -> None:
    assert nic_bounce_lines("LAN 2") == ['netsh interface set interface name="LAN 2" admin=disabled || goto winremedy_done',
                                         'netsh interface set interface name="LAN 2" admin=enabled']
    with pytest.raises(ValueError, match="adapter name 'LAN\" & del x': printable ASCII"):
        nic_bounce_lines('LAN" & del x')


def result_of(name: str, family: str, sp: int, *, products: tuple[str, ...] = (), syn: int | None = None) -> HostResult:
    spec = HostSpec(name=name, profile=OsProfile(family, sp, "x86"), user="a", password="p",  # type: ignore[arg-type]
                    products=products, syn_attack_protect=syn)
    facts = HostFacts.from_dict(EmulatedHost(spec, ManualClock(START)).facts(), origin=name)
    return HostResult(name, True, facts)


def test_syn_attack_peers_from_audit_results() -> None:
    lcs = ("lcs2005",)
    results = [
        result_of("lcs-a", "win2003", 1, products=lcs),  # absent: on from SP1
        result_of("lcs-b", "win2003", 1, products=lcs, syn=0),  # off
        result_of("lcs-c", "win2003", 2, products=("lcs2003",), syn=1),  # on, SP2 peer
        result_of("lcs-d", "win2003", 2, products=lcs),  # absent on SP2: on; not a leaking host itself (SP2)
        result_of("s3-plain", "win2003", 1, syn=1),  # no LCS: not a peer
        result_of("w7-0001", "win7", 1),
        HostResult("lcs-down", False, error="lcs-down: connection refused"),
    ]
    blind = result_of("lcs-e", "win2003", 1, products=lcs)
    assert blind.facts is not None
    results.append(dataclasses.replace(blind, facts=dataclasses.replace(blind.facts, registry=None)))
    reports = syn_attack_peers(results)
    assert reports == syn_attack_peers(results, CATALOG.get("KB903927"))
    assert sorted(reports) == ["lcs-a", "lcs-b", "lcs-e"]
    assert reports["lcs-a"] == LcsPeers("lcs-a", (SynPeer("lcs-c", 1, True), SynPeer("lcs-d", None, True)), ("lcs-e",))
    assert [p.host for p in reports["lcs-b"].peers] == ["lcs-a", "lcs-c", "lcs-d"]
    assert reports["lcs-e"].unknown == () and [p.host for p in reports["lcs-e"].peers] == ["lcs-a", "lcs-c", "lcs-d"]


def test_syn_attack_peers_needs_a_peer_setting_in_the_entry() -> None:
    with pytest.raises(ValueError, match="KB2847346 has no registry value read on peers"):
        syn_attack_peers([], CATALOG.get("KB2847346"))
