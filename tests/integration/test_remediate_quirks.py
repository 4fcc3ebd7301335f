"""`winremedy remediate --reboot now` on a 30-host lab fleet with every quirk key, through the real CLI and pywinrm.

Each quirk key sits on some hosts and not on others: the Windows Update service disabled (7 / 2008 R2 install with
expand + DISM), the FIPS policy with and without .NET 3.5 (the host verifies with the hash class it has), .NET
added, Windows in C:\\WINNT or on D:, other locales (schtasks dates on the cmd.exe route), renamed and second
adapters, PowerShell 3.0, WinRM 1.1 without PowerShell, and a full disk (the one quirk the engine cannot work
around). The preflight probe names every quirk on its host and nothing on the others; every host ends fixed,
compliant, or refused before any change with the probe's reason; a second run changes nothing.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from labcli import QUIRK_TOPICS, expected_topics, lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

TIME_SCALE = 3600
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120")
PROFILES = [("win7", 1, "x64"), ("win2008r2", 1, "x64"), ("win2008", 2, "x64"), ("vista", 2, "x64"), ("win2003", 1, "x86"),
            ("win2003", 2, "x86")]
KB = {"win7": "KB2847346", "win2008r2": "KB2847346", "win2008": "KB979223", "vista": "KB979223", "win2003": "KB903927"}
QUIRKS: list[dict[str, Any]] = [
    {},
    {"windows_update": "disabled"},
    {"fips": True},
    {"system_root": "D:\\Windows", "locale": "de-DE"},
    {"adapters": [{"name": "Ethernet 2", "default_route": True}, {"name": "Backup Network"}], "locale": "ja-JP"},
]
# Keys a host gets on top of its QUIRKS entry, by index.
EXTRAS: dict[int, dict[str, Any]] = {
    2: {"dotnet": ["2.0", "3.0", "3.5"]},  # 2008 under FIPS with .NET 3.5: SHA256CryptoServiceProvider
    14: {"free_disk_mb": 20},  # 2008: no room to stage, refused before any change
    17: {"dotnet": ["1.1", "2.0", "3.5"]},  # 2003 SP2 under FIPS with .NET 3.5
    19: {"powershell": "3.0"},  # 2008 R2 with WMF 3.0
    20: {"dotnet": ["2.0", "3.0", "3.5"]},  # 2008 with .NET 3.5 added, no FIPS
}


def _fleet() -> dict[str, Any]:
    hosts = []
    for index, ((family, sp, arch), quirks) in enumerate(zip(itertools.cycle(PROFILES), itertools.cycle(QUIRKS))):
        if index == 29:
            break
        host: dict[str, Any] = {"name": f"q{index:02d}-{family}"[:15], "os": family, "sp": sp, "arch": arch, **quirks,
                                **EXTRAS.get(index, {})}
        if family == "win2003":
            host["products"] = ["lcs2005"]
            if index % 2:
                host["system_root"] = "C:\\WINNT"  # upgraded from Windows 2000
        if index % 3 == 0:
            host["leak"] = {"win7": "nsi", "win2008r2": "nsi", "vista": "wfp", "win2008": "wfp", "win2003": "lcs"}[family]
        hosts.append(host)
    hosts.append({"name": "q29-nops", "os": "win2003", "sp": 1, "arch": "x86", "powershell": None, "winrm": "1.1"})
    return {"time_scale": TIME_SCALE, "seed": 16, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
            "hosts": hosts}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = _fleet()
    with running_lab(tmp_path_factory.mktemp("quirks"), fleet) as directory:
        yield directory, fleet


def _remediate(lab: Path) -> tuple[int, dict[str, Any]]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(lab / "repo"), "--format", "json",
                       *FAST, "--reboot", "now", "--out", str(lab.parent / "out"))
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def first_run(lab: Any) -> dict[str, Any]:
    directory, _ = lab
    before = lab_hosts(directory)
    _, report = _remediate(directory)
    return {"before": before, "hosts": {h["host"]: h for h in report["hosts"]}}


def _bare(spec: dict[str, Any]) -> bool:
    """Windows 2003 before SP2 has no PowerShell (WMF 2.0 needs SP2): the cmd.exe route."""
    return spec["os"] == "win2003" and spec["sp"] < 2


def _steps(host: dict[str, Any], step: str) -> list[str]:
    return [s["message"] for s in host["steps"] if s["step"] == step]


def _refused(spec: dict[str, Any]) -> bool:
    """A full disk is the one quirk the engine does not work around: the host is refused before any change."""
    return "free_disk_mb" in spec


def test_the_fleet_sets_every_quirk_key_on_some_hosts_and_leaves_others_default(lab: Any) -> None:
    _, fleet = lab
    keys = [set(QUIRK_TOPICS) & set(spec) for spec in fleet["hosts"]]
    assert set().union(*keys) == set(QUIRK_TOPICS) and sum(not k for k in keys) >= 4
    assert {spec.get("powershell", "2.0") for spec in fleet["hosts"]} >= {"3.0", None}


def test_the_preflight_probe_names_every_quirk_on_its_host_and_nothing_on_the_others(lab: Any,
                                                                                     first_run: dict[str, Any]) -> None:
    _, fleet = lab
    for spec in fleet["hosts"]:
        readiness = first_run["hosts"][spec["name"]]["readiness"]
        # The fleet's hosts run TIME_SCALE times faster than the controller: their clocks are off by design.
        topics = {check["topic"] for check in readiness["reasons"] + readiness["notes"]} - {"clock"}
        assert topics == expected_topics(spec), (spec, readiness["reasons"], readiness["notes"])
        assert (readiness["verdict"] == "ready") is not _refused(spec), (spec["name"], readiness)


def test_every_quirky_host_ends_fixed_or_refused_before_any_change(lab: Any, first_run: dict[str, Any]) -> None:
    directory, fleet = lab
    state = lab_hosts(directory)
    for spec in fleet["hosts"]:
        name, host = spec["name"], first_run["hosts"][spec["name"]]
        counters = state[name]["counters"]
        if _refused(spec):
            assert (host["status"], host["error_code"]) == ("failed", "not_ready"), (name, host["message"])
            assert all(check["message"] in host["message"] for check in host["readiness"]["reasons"]), host["message"]
            assert counters["stages"] == counters["installs"] == counters["reboots"] == 0, (name, counters)
            assert state[name]["boot_time"] == first_run["before"][name]["boot_time"], name
            continue
        assert host["status"] in ("fixed", "compliant"), (name, host["status"], host["message"])
        if _bare(spec):  # remediated through cmd.exe: no powershell.exe ever started
            assert counters["powershell_starts"] == 0, name
    fixed = [spec for spec in fleet["hosts"] if first_run["hosts"][spec["name"]]["status"] == "fixed"]
    assert len(fixed) >= 20


def test_each_quirk_shows_in_how_the_host_was_fixed(lab: Any, first_run: dict[str, Any]) -> None:
    _, fleet = lab
    seen = set()
    for spec in fleet["hosts"]:
        host = first_run["hosts"][spec["name"]]
        if host["status"] != "fixed" or spec["os"] == "win2003" and spec.get("sp") == 2:
            continue
        installs, stages = " ".join(_steps(host, "install")), " ".join(_steps(host, "stage"))
        if spec.get("windows_update") == "disabled" and spec["os"] in ("win7", "win2008r2"):
            assert "exit code 3010" in installs and "expand + DISM: the Windows Update service is disabled" in installs, (
                spec["name"], installs)
            seen.add("windows_update")
        if spec.get("fips") and stages:
            expected = "SHA256CryptoServiceProvider" if "3.5" in spec.get("dotnet", ["3.5"] if spec["os"] in (
                "win7", "win2008r2") else []) else "SHA1CryptoServiceProvider"
            if _bare(spec):
                expected = "SHA1 (certutil -hashfile, its default algorithm"
            assert f"verified on the host with {expected}" in stages, (spec["name"], stages)
            seen.add(f"fips:{expected}")
        root = spec.get("system_root")
        if root and stages:
            assert "-> %SystemRoot%\\Temp\\winremedy\\" in stages, (spec["name"], stages)
            seen.add("system_root")
        if spec.get("locale", "en-US") != "en-US" and _bare(spec):  # schtasks /sd in the account's date order
            assert installs and host["status"] == "fixed", (spec["name"], host["message"])
            seen.add(f"locale:{spec['locale']}")
        if spec.get("powershell") == "3.0":  # stdin read only by a script that names $input
            assert installs, spec["name"]
            seen.add("powershell:3.0")
    assert {"windows_update", "fips:SHA1CryptoServiceProvider", "fips:SHA256CryptoServiceProvider", "system_root",
            "locale:de-DE", "locale:ja-JP", "powershell:3.0"} <= seen, seen


def test_the_packages_are_on_the_hosts_own_system_drive(lab: Any, first_run: dict[str, Any]) -> None:
    directory, fleet = lab
    state = lab_hosts(directory)
    for spec in fleet["hosts"]:
        if first_run["hosts"][spec["name"]]["status"] == "fixed" and spec.get("system_root") == "D:\\Windows":
            assert state[spec["name"]]["counters"]["bytes_staged"] > 0, spec["name"]


def test_a_second_run_changes_nothing(lab: Any, first_run: dict[str, Any]) -> None:
    directory, fleet = lab
    before = lab_hosts(directory)
    _, report = _remediate(directory)
    hosts = {h["host"]: h for h in report["hosts"]}
    for spec in fleet["hosts"]:
        expected = ("failed", "not_ready") if _refused(spec) else ("compliant", None)
        assert (hosts[spec["name"]]["status"], hosts[spec["name"]]["error_code"]) == expected, (
            spec["name"], hosts[spec["name"]]["message"])
        assert not hosts[spec["name"]]["changed"], spec["name"]
    after = lab_hosts(directory)
    for name in before:
        for counter in ("installs", "reboots"):
            assert after[name]["counters"][counter] == before[name]["counters"][counter], (name, counter)
        assert after[name]["boot_time"] == before[name]["boot_time"], name
