"""Per-host files (results, remediation records, journals): one file per host, whatever the name, private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from winremedy.filenames import host_file_stem
from winremedy.remediate.journal import Journal
from winremedy.audit.results import HostResult, load_results, result_path, save_result

HOSTILE = ["srv 01", "srv_01", "srv/01", "srv\\01", "SRV_01", "..", ".", ".hidden", "ä-host", "a" * 300,
           "a" * 300 + "b", "x~0123456789ab", "$(reboot)", "%PATH%", "con", "w7-0001"]


def test_plain_names_stay_readable() -> None:
    assert result_path(Path("out"), "w7-0001") == Path("out/hosts/w7-0001.json")


def test_every_name_gets_its_own_bounded_file() -> None:
    stems = [host_file_stem(host) for host in HOSTILE]
    assert len(set(stems)) == len(HOSTILE)
    assert all(len(stem.encode()) <= 100 and "/" not in stem and "\\" not in stem for stem in stems)
    assert not any(stem.startswith(".") for stem in stems)


def test_colliding_and_long_names_each_keep_their_result(tmp_path: Path) -> None:
    for host in HOSTILE:
        save_result(tmp_path, HostResult(host=host, reachable=False, error=f"{host}: down"))
    assert sorted(r.host for r in load_results(tmp_path)) == sorted(HOSTILE)


@pytest.mark.parametrize("host", ["srv 01", "a" * 300])
def test_journal_entries_name_their_host_and_are_private(tmp_path: Path, host: str) -> None:
    journal = Journal(tmp_path, host)
    journal.record("install_started", "KB2847346", task="t")
    Journal(tmp_path, "srv_01").record("install_started", "KB979223", task="other")
    assert journal.path is not None
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    entries = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [(e["host"], e["kb"]) for e in entries] == [(host, "KB2847346")]
    assert Journal(tmp_path, host).open_intent("install_started", "KB979223") is None


def test_a_record_after_a_torn_line_is_read_back(tmp_path: Path) -> None:
    """A crash while a record was written leaves a line without its end; the next run's records must not join it."""
    journal = Journal(tmp_path, "w7-0001")
    journal.record("install_started", "KB2847346", task="t")
    assert journal.path is not None
    with open(journal.path, "a", encoding="utf-8") as stream:
        stream.write('{"host": "w7-0001", "step": "service_restart_req')  # killed here
    Journal(tmp_path, "w7-0001").record("install_finished", "KB2847346", outcome="installed")
    again = Journal(tmp_path, "w7-0001")
    assert [e["step"] for e in again.entries()] == ["install_started", "install_finished"]
    assert again.open_intent("install_started", "KB2847346") is None
    assert len(journal.path.read_text().splitlines()) == 3
