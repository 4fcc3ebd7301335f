"""`winremedy audit` of hosts without PowerShell (Windows 2003 SP1 with LCS, 2003 SP2 without WMF 2.0, 2008 Server
Core) through the real CLI, pywinrm and the lab's WS-Management server: they are audited with cmd.exe tools.

WMF 2.0 (PowerShell 2.0, KB968930) needs Service Pack 2 on Windows 2003, so every host KB903927 applies to has
no PowerShell; 2008 Server Core has no .NET and so none either. The expected statuses come from the fleet
definition by the articles' rules (the oracle of test_audit_lab), independently of the engine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import winrm
import winrm.exceptions
import yaml
from bare_fleet import HOSTS, INTERVAL, SAMPLES, fleet, is_bare
from labcli import lab_hosts, running_lab, winremedy
from test_audit_lab import KBS, expected_status

from winremedy.instants import parse_instant

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("bare"), fleet(12)) as directory:
        yield directory


@pytest.fixture(scope="module")
def audit(lab: Any) -> dict[str, Any]:
    result = winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", str(SAMPLES),
                       "--interval", str(INTERVAL))
    assert result.returncode == 1, result.stderr  # findings, no failure
    return json.loads(result.stdout)["hosts"]


def _expected(host: dict[str, Any], kb: str) -> str:
    """As with PowerShell, except that cmd.exe reads no pool tag: the pool total alone never calls the WFP leak."""
    status = expected_status(host, kb)
    bare = is_bare(host)
    return "missing" if bare and kb == "KB979223" and status == "missing_leaking" else status


def test_every_host_has_the_statuses_its_definition_implies(audit: dict[str, Any]) -> None:
    wrong = []
    for host in HOSTS:
        report = audit[host["name"]]
        assert report["reachable"] and report["error"] is None, (host["name"], report["error"])
        found = {f["kb"]: f["status"] for f in report["findings"]}
        wrong += [f"{host['name']} {kb}: {found[kb]} (expected {_expected(host, kb)})"
                  for kb in KBS if found[kb] != _expected(host, kb)]
    assert not wrong, "\n".join(wrong)


def test_bare_hosts_are_audited_without_powershell_and_say_so(audit: dict[str, Any]) -> None:
    for host in HOSTS:
        notes = audit[host["name"]]["facts"]["notes"]
        bare = is_bare(host)
        assert (notes[:1] == ["audited without PowerShell (cmd.exe path)"]) is bare, (host["name"], notes)


def test_the_rtcsrv_leak_is_called_on_the_leaking_hosts_only(audit: dict[str, Any]) -> None:
    for host in HOSTS:
        leaks = audit[host["name"]]["facts"]["leaks"]
        if "rtcsrv_private_bytes" in leaks:
            assert leaks["rtcsrv_private_bytes"]["leaking"] is (host.get("leak") == "lcs"), host["name"]
            assert leaks["rtcsrv_private_bytes"]["samples"] == SAMPLES
    assert audit["lcs-leak-1"]["facts"]["leaks"]["rtcsrv_private_bytes"]["leaking"] is True


def test_no_powershell_starts_on_bare_hosts(lab: Any, audit: dict[str, Any]) -> None:
    counters = {name: host["counters"] for name, host in lab_hosts(lab).items()}
    for host in HOSTS:
        count = counters[host["name"]]
        if is_bare(host):
            assert count["powershell_starts"] == 0 and count["scripts"] == {}, (host["name"], count)
            # the PowerShell try (cmd.exe: 9009), set + services, the rest; then each later sample on the fleet's
            # schedule is cmd.exe's alone (the host stays switched): set + services, the indicators
            assert count["commands"] == 3 + 2 * (SAMPLES - 1), (host["name"], count)
        else:
            assert count["scripts"] == {"collect 1": SAMPLES}, (host["name"], count)  # one per sample


def test_winrm_11_hosts_refuse_basic_take_encrypted_ntlm_and_the_inventory_says_port_80(lab: Any) -> None:
    inventory = yaml.safe_load((lab / "inventory.yml").read_text())
    hosts = {name: entry for group in inventory["all"]["children"].values() for name, entry in group["hosts"].items()}
    old = hosts["lcs-quiet"]
    assert (old["winremedy_winrm_version"], old["winremedy_winrm_listener_port"]) == ("1.1", 80)
    assert "winremedy_winrm_version" not in hosts["sp2-wmf2"]
    endpoint = f"http://{old['ansible_host']}:{old['ansible_port']}/wsman"
    basic = winrm.Session(endpoint, auth=(old["ansible_user"], old["ansible_password"]), transport="basic")
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        basic.run_cmd("ver")
    ntlm = winrm.Session(endpoint, auth=(old["ansible_user"], old["ansible_password"]), transport="ntlm",
                         message_encryption="always")
    answer = ntlm.run_cmd("ver")
    assert answer.status_code == 0 and b"5.2.3790" in answer.std_out


def test_a_failed_first_wmic_run_is_audited_by_systeminfo_to_the_same_statuses(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """wmic's first run on a host can fail (its banner, then nothing): the OS and boot time come from systeminfo."""
    hosts = [{**h, "faults": {"wmic_first_run_fails": True}} for h in HOSTS if h["name"] in ("lcs-leak-1", "core-quiet")]
    with running_lab(tmp_path_factory.mktemp("wmic-first-run"), {**fleet(13), "hosts": hosts}) as lab:
        result = winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", str(SAMPLES),
                           "--interval", str(INTERVAL))
        state = lab_hosts(lab)
    audit = json.loads(result.stdout)["hosts"]
    for host in hosts:
        report = audit[host["name"]]
        assert report["error"] is None, report["error"]
        assert {f["kb"]: f["status"] for f in report["findings"]} == {kb: _expected(host, kb) for kb in KBS}
        assert "wmic os answered nothing: the OS, boot time and hotfixes are systeminfo's" in report["facts"]["notes"]
        # placed by the clock read around systeminfo: host time runs 3600x here, so a few real ms are host minutes
        placed = abs(parse_instant(report["facts"]["boot_time"]) - parse_instant(state[host["name"]]["boot_time"]))
        assert placed < 600, (report["facts"]["boot_time"], state[host["name"]]["boot_time"])
    assert audit["lcs-leak-1"]["facts"]["leaks"]["rtcsrv_private_bytes"]["leaking"] is True
