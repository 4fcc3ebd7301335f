"""What a default install has, defined once (winremedy.inbox) for the probe and the lab, and what it says."""

from __future__ import annotations

import pytest

from winremedy.inbox import default_dotnet
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.local import LocalTransport
from winremedy.probe.run import probe_host

PROFILES = [("win2003", 1, "x86"), ("win2003", 2, "x86"), ("vista", 2, "x86"), ("win2008", 2, "x64"),
            ("win7", 1, "x64"), ("win2008r2", 1, "x64")]


def test_windows_2003_has_net_1_1_alone_and_powershell_needs_2_0() -> None:
    # ".NET Framework versions and dependencies": 1.1 in 2003 (2.0 only in 2003 R2's optional components).
    assert default_dotnet("5.2.3790", powershell=False) == ("1.1",)
    assert default_dotnet("5.2", powershell=True) == ("1.1", "2.0")
    assert default_dotnet("6.0.6002", powershell=True) == ("2.0", "3.0")
    assert default_dotnet("6.1.7601", powershell=False) == ("2.0", "3.0", "3.5")
    assert default_dotnet("6.2.9200", powershell=True) is None  # not a version this project knows


@pytest.mark.parametrize(("os_name", "sp", "arch"), PROFILES)
def test_a_lab_host_without_a_dotnet_key_is_what_the_probe_calls_default(os_name: str, sp: int, arch: str) -> None:
    entry = {"name": "d1", "os": os_name, "sp": sp, "arch": arch}
    spec = fleet_from_dict({"credentials": {"user": "a", "password": "p"}, "hosts": [entry]}).hosts[0]
    assert spec.dotnet == default_dotnet(spec.profile.version, spec.powershell is not None)
    if spec.powershell is None:
        return  # 2003 SP1: no PowerShell, no probe script
    readiness = probe_host(LocalTransport(EmulatedHost(spec, ManualClock(1.7e9))))
    assert "dotnet" not in {note.topic for note in readiness.notes}
    added = fleet_from_dict({"credentials": {"user": "a", "password": "p"},
                             "hosts": [{**entry, "dotnet": [*spec.dotnet, "4.0"]}]}).hosts[0]
    noted = probe_host(LocalTransport(EmulatedHost(added, ManualClock(1.7e9)))).notes
    assert [note.message for note in noted if note.topic == "dotnet"] == [".NET 4.0 added to this Windows version's own"]
