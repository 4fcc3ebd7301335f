"""Record and replay: exchanges saved redacted, and a lab host answering from a committed recording.

``tests/data/recorded/rec-w2008r2.json`` was made with ``winremedy probe --record`` then ``winremedy audit
--record`` against a lab host (2008 R2 SP1 with FIPS on, de-DE, its default route on "NIC Team"). A recording
from a real host is committed the same way and tested here like this one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from winremedy.audit.run import AuditSettings, audit_host
from winremedy.catalog import load_catalog
from winremedy.errors import WinRemedyError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import LAB_COMMAND_LINE, EmulatedHost, replaying
from winremedy.lab.errors import LabError
from winremedy.lab.fleet import fleet_from_dict, load_fleet
from winremedy.lab.local import LocalTransport
from winremedy.probe.run import probe_host
from winremedy.transport.recording import REDACTED, RecordingTransport, load_recording

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"
RECORDING = RECORDED / "rec-w2008r2.json"


def fleet_host(**keys: Any) -> EmulatedHost:
    entry = {"name": "rec-w2008r2", "os": "win2008r2", "sp": 1, "arch": "x64", **keys}
    spec = fleet_from_dict({"hosts": [entry]}).hosts[0]
    return EmulatedHost(spec, ManualClock(1.7e9), command_line=replaying(spec, LAB_COMMAND_LINE))


def test_a_replayed_host_answers_the_probe_as_the_recorded_host_did() -> None:
    host = fleet_host(replay=str(RECORDING))  # the fleet entry itself has no quirk: they come from the recording
    readiness = probe_host(LocalTransport(host))
    assert readiness.ready and {n.topic for n in readiness.notes} - {"clock"} == {"fips", "locale", "adapters"}
    assert readiness.facts["default_route_adapter"] == "NIC Team" and readiness.facts["short_date"] == "dd.MM.yyyy"
    assert host.counters.scripts == {"probe 1": 1}


def test_a_replayed_host_answers_the_audit_as_recorded() -> None:
    host = fleet_host(replay=str(RECORDED))  # a directory: the host's own file in it
    result = audit_host(LocalTransport(host), load_catalog(), AuditSettings())
    assert result.ok and {f.kb: f.status.value for f in result.findings}["KB2847346"] == "missing"


def test_the_same_fleet_entry_without_replay_is_a_default_host() -> None:
    readiness = probe_host(LocalTransport(fleet_host()))
    assert {n.topic for n in readiness.notes} - {"clock"} == set()


def test_recording_redacts_secrets_and_appends_to_an_earlier_recording(tmp_path: Path) -> None:
    host = fleet_host()
    for _ in range(2):
        recorder = RecordingTransport(LocalTransport(host), tmp_path, secrets=["C:\\Windows", ""])
        probe_host(recorder)
        recorder.run_cmd("hostname", stdin=b"from C:\\Windows")
        recorder.close()
        recorder.close()  # twice is harmless: saved once
    text = (tmp_path / "rec-w2008r2.json").read_text()
    assert "C:\\\\Windows" not in text and REDACTED in text
    recording = load_recording(tmp_path / "rec-w2008r2.json")
    assert [(e.kind, e.script) for e in recording.exchanges] == [("script", "probe 1"), ("command", None)] * 2
    command = recording.exchanges[1]
    assert command.command == "hostname" and command.stdin == f"from {REDACTED}" and command.rc == 0
    assert command.stdout.strip().lower() == "rec-w2008r2" and command.seconds >= 0


@pytest.mark.parametrize(("content", "message"), [
    (None, "unreadable recording"),
    ("{}", "not a winremedy recording"),
    ('{"version": 1, "host": "x", "exchanges": [{"kind": "script"}]}', "malformed exchange"),
])
def test_a_bad_recording_is_refused_naming_the_fleet_host_and_key(tmp_path: Path, content: str | None,
                                                                  message: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LabError, match=rf"^fleet: host 'rec-w2008r2': key 'replay': .*{message}"):
        fleet_host(replay=str(path))
    with pytest.raises(WinRemedyError, match=message):
        load_recording(path)


def test_a_relative_replay_path_is_read_from_the_fleet_file_s_directory(tmp_path: Path) -> None:
    (tmp_path / "recorded").mkdir()
    (tmp_path / "recorded" / RECORDING.name).write_text(RECORDING.read_text())
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(yaml.safe_dump({"hosts": [{"name": "rec-w2008r2", "os": "win2008r2", "sp": 1, "arch": "x64",
                                                "replay": "recorded"}]}))
    spec = load_fleet(fleet).hosts[0]
    assert spec.replay == str(tmp_path / "recorded" / RECORDING.name)
    assert json.loads(Path(spec.replay).read_text())["host"] == "rec-w2008r2"
