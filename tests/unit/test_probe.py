"""The probe's rules on raw answers: each fact read, each reason and note, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from winremedy.errors import ProtocolError
from winremedy.probe.query import NDP, SHORT_DATE, WSMSVC, build_query, winrm_version
from winremedy.probe.readiness import ENVELOPE_NEEDED_KB, KERBEROS_SKEW, Channel, read_probe
from winremedy.probe.report import FORMATS, render
from winremedy.psdata import FRAME_SENTINEL

NOW = 1.7e9
CHANNEL = Channel("10.0.0.5", 5985, "http", "ntlm")


def raw(**changes: Any) -> dict[str, Any]:
    """A default Windows 7 SP1 host's answer, with ``changes``."""
    answer: dict[str, Any] = {
        "script": "probe", "errors": [], "powershell_version": "2.0", "clr_version": "2.0.50727.5420",
        "system_root": "C:\\Windows", "now": "2023-11-14T22:13:20Z",
        "wmi": {"caption": "Microsoft Windows 7 Enterprise", "version": "6.1.7601", "sp": 1},
        "registry_values": {SHORT_DATE: "M/d/yyyy"},
        "registry_subkeys": {NDP: ["v2.0.50727", "v3.0", "v3.5"]},
        "files": {WSMSVC: "6.1.7600.16385"},
        "wsman": {"MaxEnvelopeSizekb": "150", "MaxTimeoutms": "60000", "Shell\\MaxShellsPerUser": "5",
                  "Shell\\MaxMemoryPerShellMB": "150"},
        "services": {"wuauserv": {"state": "Running", "start_mode": "Auto"}},
        "task_scheduler": "2.0", "staging_drive": {"drive": "C:", "free": 2.0e10},
        "adapters": {"names": ["Local Area Connection"], "default_route": "Local Area Connection"},
    }
    answer.update(changes)
    return answer


def probe(answer: dict[str, Any], channel: Channel | None = CHANNEL, now: float = NOW) -> Any:
    return read_probe(FRAME_SENTINEL + json.dumps(answer), host="h1", channel=channel, controller_time=now,
                      route="stdin")


def topics(result: Any) -> tuple[set[str], set[str]]:
    return {c.topic for c in result.reasons}, {c.topic for c in result.notes}


def test_a_default_host_is_ready_with_no_note_and_every_fact_read() -> None:
    result = probe(raw())
    assert result.ready and topics(result) == (set(), set())
    facts = result.facts
    assert facts["winrm_version"] == "2.0" and facts["winrm_limits"]["Shell\\MaxShellsPerUser"] == 5
    assert facts["dotnet"] == ["2.0", "3.0", "3.5"] and facts["encryption"] == "ntlm message encryption"
    assert facts["clock_skew"] == 0.0 and facts["windows_update"] == "running" and facts["pending_reboot"] == []


@pytest.mark.parametrize(("wsmsvc", "version"), [
    ("5.2.3790.2075", "0.5"), ("6.0.6000.16386", "1.0"), ("5.2.3790.4131", "1.1"), ("6.0.6001.18000", "1.1"),
    ("6.1.7600.16385", "2.0"), ("6.1.7601.17514", "2.0"), ("6.2.9200.16384", "2.0"), (None, None),
])
def test_winrm_version_from_wsmsvc_dll(wsmsvc: str | None, version: str | None) -> None:
    assert winrm_version(wsmsvc) == version


@pytest.mark.parametrize(("changes", "reasons", "notes"), [
    ({"services": {"wuauserv": {"state": "Stopped", "start_mode": "Disabled"}}}, set(), {"windows_update"}),
    ({"wmi": {}}, {"wmi"}, set()),
    ({"wsman": {"MaxEnvelopeSizekb": str(ENVELOPE_NEEDED_KB - 1)}}, {"winrm"}, set()),
    ({"staging_drive": {"drive": "D:", "free": 1.0e6}}, {"free_space"}, set()),
    ({"powershell_version": "1.0"}, {"powershell"}, set()),
    ({"powershell_version": "3.0"}, set(), {"powershell"}),
    ({"registry_values": {SHORT_DATE: "dd.MM.yyyy"}}, set(), {"locale"}),
    ({"system_root": "D:\\WINNT"}, set(), {"system_root"}),
    ({"adapters": {"names": ["NIC Team"], "default_route": "NIC Team"}}, set(), {"adapters"}),
    ({"adapters": {"names": ["A", "B"], "default_route": None}}, set(), {"adapters"}),
    ({"registry_subkeys": {NDP: ["v2.0.50727", "v3.0", "v3.5", "v4"]}}, set(), {"dotnet"}),
    ({"now": "2023-11-14T22:23:20Z"}, set(), {"clock"}),
    ({"registry_subkeys": {NDP: ["v2.0.50727", "v3.0", "v3.5"],
                           r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending":
                               ["x"]}}, set(), {"pending_reboot"}),
])
def test_each_quirk_is_a_reason_or_a_note(changes: dict[str, Any], reasons: set[str], notes: set[str]) -> None:
    result = probe(raw(**changes))
    assert topics(result) == (reasons, notes)
    assert all(c.fix for c in result.reasons)


def test_windows_update_disabled_is_a_note_because_no_route_needs_wusa_then() -> None:
    disabled = {"wuauserv": {"state": "Stopped", "start_mode": "Disabled"}}
    vista = probe(raw(services=disabled, wmi={"caption": "Windows Server 2008", "version": "6.0.6002", "sp": 2},
                      registry_subkeys={NDP: ["v2.0.50727", "v3.0"]}))  # pkgmgr goes through TrustedInstaller
    assert vista.ready and "windows_update" in {note.topic for note in vista.notes}


def test_fips_note_says_which_sha256_basis_the_host_has() -> None:
    fips = {r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy\Enabled": 1}
    with_35 = probe(raw(registry_values=fips))
    without = probe(raw(registry_values=fips, registry_subkeys={NDP: ["v2.0.50727", "v3.0"]},
                        wmi={"caption": "Windows Server 2008", "version": "6.0.6002", "sp": 2}))
    assert "SHA256CryptoServiceProvider" in with_35.notes[0].message
    assert "cannot compute SHA-256" in without.notes[0].message


def test_clear_text_channel_is_not_ready_and_tls_is_fine() -> None:
    assert topics(probe(raw(), Channel("h", 5985, "http", "basic"))) == ({"encryption"}, set())
    assert probe(raw(), Channel("h", 5986, "https", "basic")).facts["encryption"] == "tls"


def test_skew_just_within_kerberos_tolerance_is_no_note() -> None:
    assert topics(probe(raw(), now=NOW - KERBEROS_SKEW + 1)) == (set(), set())


@pytest.mark.parametrize("answer", ["no frame at all", FRAME_SENTINEL + '{"script": "collect"}',
                                    FRAME_SENTINEL + json.dumps(raw(now="not a time"))])
def test_a_malformed_answer_is_a_protocol_error_naming_the_host(answer: str) -> None:
    with pytest.raises(ProtocolError, match="^h1: "):
        read_probe(answer, host="h1", channel=None, controller_time=NOW)


def test_the_query_reads_what_the_rules_use() -> None:
    query = build_query()
    assert SHORT_DATE in query["registry_values"] and NDP in query["registry_subkeys"]
    assert query["files"] == [WSMSVC] and "MaxEnvelopeSizekb" in query["wsman"] and query["services"] == ["wuauserv"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_names_the_host_and_its_reason(fmt: str) -> None:
    text = render([probe(raw(wmi={}))], fmt)
    assert "h1" in text and "WMI does not answer" in text
