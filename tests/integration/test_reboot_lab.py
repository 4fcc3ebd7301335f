"""Restarts over real pywinrm against a lab host behind the lab's WS-Management server (NTLM, encrypted).

Host time runs 60 times faster than real time, so a 90 s downtime takes 1.5 real seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from winremedy.errors import UnreachableError
from winremedy.instants import iso
from winremedy.lab.clock import LabClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.poller import Poller
from winremedy.remediate.reboot import host_clock, reboot_host, wait_for_boot
from winremedy.remediate.window import parse_window
from winremedy.transport import WinRMOptions, WinRMTransport

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "S3cret!"
START = 1_709_258_340.0  # 2024-03-01T01:59:00Z: the 02:00 window starts one real second later
SCALE = 60.0
DOWNTIME = 90.0


def _host() -> EmulatedHost:
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD, seed=3)
    return EmulatedHost(spec, LabClock(START, SCALE), reboot_downtime=DOWNTIME)


def _transport(server: Any) -> WinRMTransport:
    options = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="http", transport="ntlm",
                           user=USER, password=PASSWORD, retries=0)
    return WinRMTransport("w7-0001", options)


def test_reboot_now_over_winrm(wire_serve: Any) -> None:
    host = _host()
    server, _ = wire_serve(host)
    seen: list[tuple[str, float]] = []
    with _transport(server) as transport:
        _, before = host_clock(transport)
        result = reboot_host(transport, "now", delay=2, poller=Poller(timeout=30, poll=0.2,
                             on_wait=lambda status, waited: seen.append((status, waited))))
        assert result.action == "rebooted" and result.boot_time_before == before
        assert result.boot_time_after == host_clock(transport)[1] != before
    assert any(status.startswith("not answering: w7-0001: ") for status, _ in seen)  # down during the downtime
    assert 1.0 < result.elapsed < 10.0  # 92 host seconds at 60x, plus polling
    assert host.counters.reboots == 1


def test_window_reboot_runs_at_the_window_start_over_winrm(wire_serve: Any) -> None:
    host = _host()
    server, _ = wire_serve(host)
    window = parse_window("daily 02:00-03:00")
    with _transport(server) as transport:
        result = reboot_host(transport, "window", window=window)
        assert result.action == "scheduled" and result.scheduled_local == "2024-03-01T02:00:00+00:00"
        deadline = time.monotonic() + 10
        down = False
        while not down and time.monotonic() < deadline:  # down at 02:00 host time, for 1.5 real seconds
            transport.reset()
            try:
                host_clock(transport)
            except UnreachableError:
                down = True
            time.sleep(0.05)
        assert down
        after = wait_for_boot(transport, str(result.boot_time_before), Poller(timeout=30, poll=0.2))
    assert after == iso(START + 60 + DOWNTIME)
