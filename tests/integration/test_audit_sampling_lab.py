"""Leak sampling in real time (lab time scale 1) over WinRM: one schedule for the fleet, never more than
``forks`` commands in flight, a thread per worker and none per host.

The old way held a worker per host for its whole sampling span: 40 hosts with 8 workers took 5 rounds of
2 intervals each. Here every host's first sample comes before any host's last one.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from labcli import lab_hosts, running_lab

from winremedy.audit.command import time_scale
from winremedy.audit.run import AuditSettings, audit_fleet
from winremedy.catalog import load_catalog
from winremedy.inventory import load_targets
from winremedy.transport import Result, WinRMTransport

pytestmark = pytest.mark.integration

HOSTS, FORKS, SAMPLES, INTERVAL = 40, 8, 3, 2.0


class _Metered:
    """A WinRMTransport that counts the commands in flight across the fleet, and the threads alive."""

    lock = threading.Lock()
    in_flight = peak = peak_threads = 0

    def __init__(self, transport: WinRMTransport) -> None:
        self.transport, self.host = transport, transport.host

    def run_ps(self, script: str, **options: Any) -> Result:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak, cls.peak_threads = max(cls.peak, cls.in_flight), max(cls.peak_threads, threading.active_count())
        try:
            return self.transport.run_ps(script, **options)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def close(self) -> None:
        self.transport.close()


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("lab"), None, "--hosts", str(HOSTS), "--seed", "7",
                     "--time-scale", "1") as directory:
        targets = {t.name: t for t in load_targets([str(directory / "inventory.yml")])}
        scale = time_scale({name: t.hostvars for name, t in targets.items()})
        threads_before = threading.active_count()
        results = audit_fleet(list(targets), lambda name: _Metered(WinRMTransport(name, targets[name].options)),
                              load_catalog(), AuditSettings(samples=SAMPLES, interval=INTERVAL, time_scale=scale),
                              forks=FORKS)
        yield results, lab_hosts(directory), threads_before, scale


def test_every_host_is_sampled_on_one_fleet_schedule(sampled: Any) -> None:
    results, _, _, scale = sampled
    assert scale == 1.0 and len(results) == HOSTS and all(r.ok for r in results), [r.error for r in results]
    series = [points for r in results for points in r.facts.samples.values()]
    assert series and all(len(points) == SAMPLES for points in series)
    assert max(points[0].t for points in series) < min(points[-1].t for points in series)
    for points in series:  # host timestamps: sample k at least (k - 1) intervals after the first
        assert points[-1].t - points[0].t >= (SAMPLES - 1) * INTERVAL - 0.01


def test_commands_in_flight_and_threads_stay_within_forks(sampled: Any) -> None:
    _, lab, threads_before, _ = sampled
    assert _Metered.peak <= FORKS and _Metered.peak_threads <= threads_before + FORKS
    assert {host["counters"]["commands"] for host in lab.values()} == {SAMPLES}  # the collector, then 2 samples
