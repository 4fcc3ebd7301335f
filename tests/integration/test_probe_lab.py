"""`winremedy probe` on a 30-host lab with every quirk key, then `remediate` refusing the hosts that are not ready.

The oracle is the fleet file: each quirk key set on a host must be named on that host (as a reason or a note),
and nothing on the others.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from labcli import QUIRK_TOPICS, expected_topics, lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

PROFILES = [("win7", 1, "x64"), ("win2008r2", 1, "x64"), ("vista", 2, "x86"), ("win2008", 2, "x64"),
            ("win2003", 2, "x86")]
# Each quirk on some hosts: (fleet key, value, applies to the profile?)
QUIRKS: list[tuple[str, Any, Any]] = [
    ("windows_update", "disabled", lambda os_name: os_name != "win2003"),
    ("fips", True, lambda os_name: True),
    ("system_root", "C:\\WINNT", lambda os_name: os_name == "win2003"),
    ("locale", "de-DE", lambda os_name: True),
    ("adapters", [{"name": "Ethernet 2", "default_route": True}, {"name": "Backup"}], lambda os_name: True),
    ("dotnet", ["2.0", "3.0", "3.5"], lambda os_name: os_name in ("vista", "win2008")),
    ("powershell", "3.0", lambda os_name: os_name in ("win7", "win2008r2")),
    ("powershell", None, lambda os_name: os_name == "win2003"),
]


def _fleet() -> dict[str, Any]:
    hosts = []
    for index, (os_name, sp, arch) in enumerate(itertools.islice(itertools.cycle(PROFILES), 30)):
        host: dict[str, Any] = {"name": f"p{index:02d}-{os_name}", "os": os_name, "sp": sp, "arch": arch}
        if index % 3:  # two hosts in three get a quirk (or two); the others stay default installs
            turn = index // 3
            fitting = [(key, value) for key, value, fits in QUIRKS[turn:] + QUIRKS[:turn] if fits(os_name)]
            for key, value in fitting[:1 + index % 2]:
                host.setdefault(key, value)
        if host.get("powershell", "2.0") is None:
            host["winrm"] = "1.1"
            host.pop("dotnet", None)
        if host.get("windows_update") == "disabled" and os_name in ("win7", "win2008r2") and index % 2:
            host["fips"] = True  # two quirks on one host
        if index % 10 == 5:
            host["free_disk_mb"] = 20  # no room to stage: the one quirk the engine cannot work around
        hosts.append(host)
    return {"seed": 3, "credentials": {"user": "Administrator", "password": "Lab-pass1"}, "hosts": hosts}


def expected_ready(host: dict[str, Any]) -> bool:
    """Every quirk but a full disk is one the engine handles (a host without PowerShell through cmd.exe)."""
    return "free_disk_mb" not in host


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = _fleet()
    with running_lab(tmp_path_factory.mktemp("probe"), fleet) as directory:
        yield directory, fleet


@pytest.fixture(scope="module")
def probed(lab: Any) -> dict[str, dict[str, Any]]:
    directory, _ = lab
    result = winremedy("probe", "-i", str(directory / "inventory.yml"), "--format", "json",
                       "--out", str(directory.parent / "out"))
    assert result.returncode == 1, result.stderr  # some hosts are not ready
    return {h["host"]: h for h in json.loads(result.stdout)["hosts"]}


def test_the_fleet_has_every_quirk_on_some_hosts_and_default_hosts_too(lab: Any) -> None:
    _, fleet = lab
    keys = [set(QUIRK_TOPICS) & set(h) for h in fleet["hosts"]]
    assert set().union(*keys) == set(QUIRK_TOPICS) and sum(not k for k in keys) >= 8


def test_probe_names_every_quirk_on_its_host_and_nothing_on_the_others(lab: Any, probed: dict[str, Any]) -> None:
    _, fleet = lab
    for host in fleet["hosts"]:
        found = probed[host["name"]]
        topics = {c["topic"] for c in found["reasons"] + found["notes"]}
        assert topics == expected_topics(host), (host, found["reasons"], found["notes"])
        assert (found["verdict"] == "ready") == expected_ready(host), (host, found["reasons"])
        assert all(c["fix"] for c in found["reasons"]), found["reasons"]  # every reason says what to do


def test_probe_reports_the_facts_of_a_default_host(lab: Any, probed: dict[str, Any]) -> None:
    _, fleet = lab
    default = next(h for h in fleet["hosts"] if not expected_topics(h) and h["os"] == "win7")
    facts = probed[default["name"]]["facts"]
    assert facts["reachable"] and facts["authenticated"] and facts["encryption"] == "ntlm message encryption"
    assert facts["winrm_version"] == "2.0" and facts["winrm_limits"]["MaxEnvelopeSizekb"] == 150
    assert facts["powershell"] == "2.0" and facts["dotnet"] == ["2.0", "3.0", "3.5"] and facts["delivery"] == "stdin"
    assert facts["wmi"] and facts["task_scheduler"] == "2.0" and facts["windows_update"] == "running"
    assert facts["fips"] is False and facts["system_root"] == "C:\\Windows" and facts["free_bytes"] > 0
    assert abs(facts["clock_skew"]) < 60 and facts["default_route_adapter"] == "Local Area Connection"


def test_probe_saves_each_verdict_and_the_reports(lab: Any, probed: dict[str, Any]) -> None:
    directory, _ = lab
    out = directory.parent / "out"
    assert {p.stem for p in (out / "probe").glob("*.json")} == set(probed)
    assert {p.name for p in out.iterdir()} >= {"probe.json", "probe.csv", "probe.xml", "probe.html"}


def test_remediate_refuses_hosts_that_are_not_ready_before_any_change(lab: Any, probed: dict[str, Any]) -> None:
    directory, fleet = lab
    refused = {h["name"] for h in fleet["hosts"] if not expected_ready(h)}
    limit = ":".join(sorted(refused))
    result = winremedy("remediate", "-i", str(directory / "inventory.yml"), "-l", limit, "--repo",
                       str(directory / "repo"), "--format", "json", "--reboot", "now", "--poll", "0.05")
    hosts = {h["host"]: h for h in json.loads(result.stdout)["hosts"]}
    assert result.returncode == 1 and set(hosts) == refused
    state = lab_hosts(directory)
    for name in refused:
        assert hosts[name]["status"] == "failed" and hosts[name]["error_code"] == "not_ready", hosts[name]
        assert all(c["message"] in hosts[name]["message"] for c in probed[name]["reasons"])
        counters = state[name]["counters"]
        assert counters["stages"] == 0 and counters["installs"] == 0 and counters["reboots"] == 0, counters
        assert "collect 1" not in counters["scripts"], counters["scripts"]  # refused before the audit


def test_the_probe_exit_code_is_0_when_every_host_is_ready(lab: Any, probed: dict[str, Any]) -> None:
    directory, _ = lab
    ready = sorted(name for name, h in probed.items() if h["verdict"] == "ready")
    result = winremedy("probe", "-i", str(directory / "inventory.yml"), "-l", ":".join(ready))
    assert result.returncode == 0 and f"{len(ready)} of {len(ready)} hosts ready" in result.stdout


def test_bad_input_is_exit_code_2(tmp_path: Path) -> None:
    result = winremedy("probe", "-i", str(tmp_path / "missing.yml"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_the_html_report_shows_readiness_beside_compliance(lab: Any, probed: dict[str, Any]) -> None:
    directory, fleet = lab
    out = directory.parent / "out"
    winremedy("audit", "-i", str(directory / "inventory.yml"), "--out", str(out), "--format", "json")
    page = (out / "report.html").read_text()
    section = page.split("<h2>Readiness</h2>", 1)[1].split("<h2>", 1)[0]
    for host in fleet["hosts"]:
        assert f">{host['name']}<" in section
    not_ready = next(h for h in probed.values() if h["verdict"] == "not ready" and h["facts"].get("powershell"))
    row = section.split(f">{not_ready['host']}<", 1)[1].split("</tr>", 1)[0]
    assert "not ready" in row and "not compliant" in row and "MB free on" in row
