"""Fleet files: strict validation naming file, host and key; deterministic generation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from winremedy.errors import TransportConfigError
from winremedy.lab.clock import ManualClock
from winremedy.lab.dynamics import Scenario
from winremedy.lab.errors import LabError
from winremedy.lab.fleet import LAB_CREDENTIALS, fleet_from_dict, fleet_yaml, generate, load_fleet
from winremedy.lab.host import HostModel
from winremedy.lab.inventory import inventory
from winremedy.transport import WinRMOptions


def fleet(**host: Any) -> dict[str, Any]:
    entry = {"name": "w7-0001", "os": "win7", "sp": 1, "arch": "x64", **host}
    return {"credentials": {"user": "Administrator", "password": "pw"}, "hosts": [entry]}


def test_a_full_fleet_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yml"
    path.write_text(
        "time_scale: 60\nstart_time: 2024-03-01T01:30:00Z\nseed: 3\n"
        "credentials: {user: Administrator, password: pw}\n"
        "hosts:\n"
        "  - {name: w7-0001, os: win7, sp: 1, arch: x64, installed: [KB2847346], leak: none, auth: [ntlm]}\n"
        "  - {name: lc-0002, os: win2003, sp: 1, arch: x86, products: [lcs2005], leak: {scenario: lcs, rate: 3},\n"
        "     syn_attack_protect: 0, powershell: null, faults: {slow: 0.5, reset: {count: 2}, http500: 3}}\n"
    )
    loaded = load_fleet(path)
    assert loaded.time_scale == 60 and loaded.start_time == 1709256600.0
    w7, lc = loaded.hosts
    assert w7.installed == ("KB2847346",) and w7.auth == ("ntlm",)
    assert lc.leak.scenario is Scenario.LCS and lc.leak.rate_mb_per_hour == 3
    assert lc.powershell is None and lc.faults.reset_count == 2 and lc.faults.http500_burst == 3


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ({"colour": "blue"}, "key 'colour'"),
        ({"os": "win8"}, "key 'os'"),
        ({"sp": 3}, "key 'sp'"),
        ({"arch": "x86", "os": "win2008r2"}, "key 'arch'"),
        ({"installed": ["KB979223"]}, "key 'installed'"),  # SP1 is the fix: not installable
        ({"leak": "lcs"}, "key 'leak'"),
        ({"faults": {"slow": -1}}, "key 'faults.slow'"),
        ({"faults": {"reset": {"often": True}}}, "key 'faults.reset.often'"),
        ({"auth": ["digest"]}, "key 'auth'"),
        ({"auth": ["credssp"], "os": "win2003", "sp": 2, "arch": "x86", "powershell": None}, "key 'auth'"),
        ({"syn_attack_protect": 1}, "key 'syn_attack_protect'"),
        ({"windows_update": "off"}, "key 'windows_update'"),
        ({"fips": "yes"}, "key 'fips'"),
        ({"system_root": "Windows"}, "key 'system_root'"),
        ({"locale": "xx-XX"}, "key 'locale'"),
        ({"adapters": [{"name": "a"}, {"name": "b"}]}, "key 'adapters'"),
        ({"adapters": [{"name": "a", "default_route": True, "mtu": 9000}]}, "key 'adapters[0].mtu'"),
        ({"dotnet": ["1.1"]}, "key 'dotnet'"),  # PowerShell 2.0 needs .NET 2.0
        ({"winrm": "1.1"}, "key 'winrm'"),  # Windows 7 has WinRM 2.0 in the box
        ({"winrm": "3.0"}, "key 'winrm'"),
        ({"leak": {"scenario": "driver", "tag": "TooLong"}}, "key 'leak.tag'"),
        ({"leak": {"scenario": "nsi", "tag": "Abcd"}}, "key 'leak.tag'"),  # the NSI leak's tag is NSpc
    ],
)
def test_errors_name_file_host_and_key(host: dict[str, Any], key: str) -> None:
    with pytest.raises(LabError) as caught:
        fleet_from_dict(fleet(**host), "lab/fleet.yml")
    message = str(caught.value)
    assert message.startswith("lab/fleet.yml: host 'w7-0001': " + key), message
    assert "\n" not in message


def test_fleet_level_errors(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"^f.yml: key 'time_scale'"):
        fleet_from_dict({**fleet(), "time_scale": 0}, "f.yml")
    with pytest.raises(LabError, match="duplicate host name"):
        fleet_from_dict({**fleet(), "hosts": fleet()["hosts"] * 2}, "f.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("hosts: [\n")
    with pytest.raises(LabError, match=r"bad.yml: not valid YAML \(line"):
        load_fleet(bad)


@pytest.mark.parametrize("scale", [float("inf"), float("nan"), -5])
def test_time_scale_must_be_finite_and_positive(scale: float) -> None:
    with pytest.raises(LabError, match=r"^f.yml: key 'time_scale': expected a positive finite number"):
        fleet_from_dict({**fleet(), "time_scale": scale}, "f.yml")


def test_a_binary_fleet_file_is_named(tmp_path: Path) -> None:
    binary = tmp_path / "fleet.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LabError, match=r"fleet.bin: not a fleet file \(not UTF-8 text\)$"):
        load_fleet(binary)


def test_allow_unencrypted_is_off_unless_the_fleet_or_host_says_so() -> None:
    assert not fleet_from_dict(fleet(), "f.yml").hosts[0].allow_unencrypted
    assert fleet_from_dict({**fleet(), "allow_unencrypted": True}, "f.yml").hosts[0].allow_unencrypted
    assert fleet_from_dict(fleet(allow_unencrypted=True), "f.yml").hosts[0].allow_unencrypted
    with pytest.raises(LabError, match="key 'allow_unencrypted'"):
        fleet_from_dict(fleet(allow_unencrypted="sure"), "f.yml")


def test_generate_is_deterministic_and_valid() -> None:
    one, two = generate(200, seed=9), generate(200, seed=9)
    assert one == two and one != generate(200, seed=10)
    checked = fleet_from_dict(yaml.safe_load(yaml.safe_dump(one)), "generated")
    leaking = sum(h.leak.scenario is not Scenario.NONE for h in checked.hosts)
    assert 0.05 <= leaking / 200 <= 0.3
    assert not any(h.faults.any for h in checked.hosts)
    # only Windows 2003 before SP2 lacks PowerShell (WMF 2.0 needs SP2); and it has WinRM 1.1
    bare = {h.name for h in checked.hosts if h.powershell is None}
    assert bare and bare == {h.name for h in checked.hosts if h.profile.family == "win2003" and h.profile.sp < 2}
    assert all(h.winrm == "1.1" for h in checked.hosts if h.name in bare)
    families = {h.profile.family for h in checked.hosts}
    assert {"win7", "win2008r2", "win2008", "win2003"} <= families


def test_credentials_left_out_are_the_documented_lab_default() -> None:
    hosts = [{"name": "w7-0001", "os": "win7", "sp": 1, "arch": "x64"},
             {"name": "w7-0002", "os": "win7", "sp": 1, "arch": "x64", "credentials": {"user": "u", "password": "own"}}]
    default, own = fleet_from_dict({"hosts": hosts}, "f.yml").hosts
    assert LAB_CREDENTIALS == {"user": "Administrator", "password": "winremedy-lab"}
    assert (default.user, default.password) == ("Administrator", "winremedy-lab")
    assert (own.user, own.password) == ("u", "own")
    entry = inventory([HostModel(default, ManualClock(1.7e9))], "http", None)["all"]["children"]["win7"]["hosts"]["w7-0001"]
    assert (entry["ansible_user"], entry["ansible_password"]) == ("Administrator", "winremedy-lab")
    with pytest.raises(LabError, match=r"^f\.yml: host 'w7-0001': key 'credentials'"):  # given means given in full
        fleet_from_dict({"credentials": {"user": "u"}, "hosts": hosts[:1]}, "f.yml")


def test_a_generated_fleet_survives_its_yaml() -> None:
    data = generate(30, 7, faulty=True, windows=True)
    assert yaml.safe_load(fleet_yaml(data)) == data
    assert fleet_from_dict(yaml.safe_load(fleet_yaml(data))).hosts == fleet_from_dict(data).hosts


def test_the_quirk_keys_reach_the_host_spec_with_documented_defaults() -> None:
    plain = fleet_from_dict(fleet(), "f").hosts[0]
    assert (plain.windows_update, plain.fips, plain.system_root, plain.locale, plain.winrm) == (
        "running", False, "C:\\Windows", "en-US", "2.0")
    assert [(a.name, a.default_route) for a in plain.adapters] == [("Local Area Connection", True)]
    quirky = fleet_from_dict(fleet(os="win2003", sp=2, arch="x86", powershell=None, system_root="C:\\WINNT",
                                   locale="de-DE", windows_update="disabled", fips=True,
                                   adapters=[{"name": "Backup"}, {"name": "Ethernet 2", "default_route": True}]),
                             "f").hosts[0]
    assert (quirky.system_root, quirky.locale, quirky.windows_update, quirky.fips) == (
        "C:\\WINNT", "de-DE", "disabled", True)
    assert quirky.winrm == "1.1" and quirky.dotnet == ("1.1",)  # no WMF 2.0: WinRM 1.1, .NET as in the box
    assert [a.name for a in quirky.adapters if a.default_route] == ["Ethernet 2"]
    assert fleet_from_dict(fleet(os="win2003", sp=2, arch="x86"), "f").hosts[0].dotnet == ("1.1", "2.0")


def test_windows_2003_before_sp2_has_no_powershell_and_refuses_one() -> None:
    assert fleet_from_dict(fleet(os="win2003", sp=1, arch="x86"), "f").hosts[0].powershell is None
    with pytest.raises(LabError, match=r"key 'powershell'.*WMF|key 'powershell'.*Management Framework 2.0.*Service Pack 2"):
        fleet_from_dict(fleet(os="win2003", sp=1, arch="x86", powershell="2.0"), "f")
    assert fleet_from_dict(fleet(os="win2003", sp=2, arch="x86"), "f").hosts[0].powershell == "2.0"


def test_a_faulty_generated_fleet_mixes_every_quirk_and_a_plain_one_none() -> None:
    quirky = fleet_from_dict(generate(400, 5, faulty=True), "g").hosts
    plain = fleet_from_dict(generate(400, 5), "g").hosts
    for hosts, expect in ((quirky, True), (plain, False)):
        seen = {
            "windows_update": any(h.windows_update == "disabled" for h in hosts),
            "fips": any(h.fips for h in hosts),
            "system_root": any(h.system_root != "C:\\Windows" for h in hosts),
            "locale": any(h.locale != "en-US" for h in hosts),
            "adapters": any(len(h.adapters) > 1 or h.adapters[0].name != "Local Area Connection" for h in hosts),
            "powershell 3.0": any(h.powershell == "3.0" for h in hosts),
            "winrm 1.1": any(h.winrm == "1.1" for h in hosts if h.powershell is not None or h.profile.sp >= 2),
        }
        assert seen == dict.fromkeys(seen, expect)


def test_the_lab_inventory_opts_in_to_basic_over_http_only_where_the_host_allows_it() -> None:
    hosts = [{"name": "b-open", "os": "win7", "sp": 1, "arch": "x64", "auth": ["basic"], "allow_unencrypted": True},
             {"name": "b-closed", "os": "win7", "sp": 1, "arch": "x64", "auth": ["basic"]},
             {"name": "n-default", "os": "win7", "sp": 1, "arch": "x64"}]
    fleet = fleet_from_dict({"credentials": {"user": "a", "password": "p"}, "hosts": hosts}, "f.yml")
    lab_hosts = [HostModel(spec, ManualClock(0.0), port=15985) for spec in fleet.hosts]
    data = inventory(lab_hosts, "http", None)["all"]
    entries, variables = data["children"]["win7"]["hosts"], data["vars"]
    options = {}
    for name, entry in entries.items():
        try:
            options[name] = WinRMOptions.from_hostvars({**variables, **entry}, name)
        except TransportConfigError as error:
            options[name] = str(error)
    assert isinstance(options["b-open"], WinRMOptions) and options["b-open"].transport == "basic"
    assert any("in clear" in warning for warning in options["b-open"].warnings)
    assert "Basic authentication (transport basic) over http" in str(options["b-closed"])
    assert isinstance(options["n-default"], WinRMOptions) and options["n-default"].in_clear == ""


def test_a_driver_leak_on_a_chosen_tag() -> None:
    """Another cause: a third-party driver no KB fixes, leaking under the tag the fleet names."""
    host = fleet_from_dict(fleet(leak={"scenario": "driver", "rate": 3, "tag": "Xdrv"}), "f").hosts[0]
    assert (host.leak.scenario, host.leak.rate_mb_per_hour, host.leak.tag, host.leak.fixed_by) == \
        (Scenario.DRIVER, 3, "Xdrv", None)
    assert fleet_from_dict(fleet(leak="wfp"), "f").hosts[0].leak.tag == "Nbuf"
