"""Staging over real pywinrm against a lab host behind the lab's WS-Management server (NTLM, encrypted).

The push test makes the transport send each command's whole stdin in one
Send, as Ansible's winrm plugin does (up to 200,000 bytes per Send), so the
server's MaxEnvelopeSize check (150 KB) sees exactly what chunk_size promised
to fit; a push sized for 300 KB envelopes is refused by the same server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from winremedy.catalog import load_catalog
from winremedy.errors import WinRemedyError
from winremedy.lab.repository import RepositoryServer
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.faults import FaultSpec
from winremedy.lab.host import HostSpec
from winremedy.lab.packages import package_bytes, write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.stage import STAGING_DIR, chunk_size, open_source, preflight, stage
from winremedy.repo import Entry, pick, scan
from winremedy.transport import WinRMOptions, WinRMTransport
from winremedy.transport import winrm as winrm_transport

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "S3cret!"
FILE = "Windows6.1-KB2847346-x64.msu"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    directory = tmp_path / "repo"
    write_repository(directory)
    kb_entry = load_catalog().get("KB2847346")
    package = next(p for p in kb_entry.packages if p.file == FILE)
    (directory / FILE).write_bytes(package_bytes(kb_entry, package, padding=250_000))  # several chunks
    assert not scan(directory).refused
    return directory


def _host() -> EmulatedHost:
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD)
    return EmulatedHost(spec, ManualClock(1_700_000_000.0))


def _transport(server: Any) -> WinRMTransport:
    options = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="http", transport="ntlm",
                           user=USER, password=PASSWORD, retries=0)
    return WinRMTransport("w7-0001", options, sleep=lambda _: None)


def _entry(manifest: Any) -> Entry:
    entry = pick(manifest, "KB2847346", "win7", "6.1.7601", 1, "x64")
    assert entry is not None and entry.file == FILE
    return entry


def test_push_in_chunks_fits_150_kb_envelopes(wire_serve: Any, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winrm_transport, "STDIN_CHUNK", 10**7)  # one Send per command
    host = _host()
    assert host.max_envelope_kb == 150
    server, exchanges = wire_serve(host)
    source, manifest = open_source(repo=repo)
    entry = _entry(manifest)
    preflight(source, entry)
    with _transport(server) as transport:
        result = stage(transport, source, entry, max_envelope_kb=150)
        again = stage(transport, source, entry, max_envelope_kb=150)
    chunks = -(-entry.size // chunk_size(150))
    assert chunks >= 4
    assert host.fs.read(f"{STAGING_DIR}\\{FILE}") == (repo / FILE).read_bytes()
    assert result.changed and result.method == "push" and result.bytes_sent == entry.size
    assert not again.changed and again.method == "present"
    sends = [e for e in exchanges if e.action == "Send"]
    assert len(sends) == 1 + chunks + 1 and all(e.status == 200 for e in sends)
    assert host.counters.scripts["stage 1"] == 1 + chunks + 1


def test_chunks_sized_for_a_bigger_envelope_are_refused(wire_serve: Any, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the server really enforces 150 KB, so the test above could fail."""
    monkeypatch.setattr(winrm_transport, "STDIN_CHUNK", 10**7)
    host = _host()
    server, _ = wire_serve(host)
    source, manifest = open_source(repo=repo)
    with _transport(server) as transport, pytest.raises(WinRemedyError) as caught:
        stage(transport, source, _entry(manifest), max_envelope_kb=300)
    assert "413" in str(caught.value)  # the lab answers an oversized envelope with HTTP 413
    assert host.fs.read(f"{STAGING_DIR}\\{FILE}") is None


def test_url_pull_over_winrm(wire_serve: Any, repo: Path) -> None:
    host = _host()
    server, _ = wire_serve(host)
    with RepositoryServer(repo) as http:
        source, manifest = open_source(repo=repo, url=http.url)
        with _transport(server) as transport:
            result = stage(transport, source, _entry(manifest))
    assert result.method == "url" and result.changed
    assert host.fs.read(f"{STAGING_DIR}\\{FILE}") == (repo / FILE).read_bytes()


def test_lab_up_shares_its_repository_by_unc_and_url(tmp_path: Path) -> None:
    """``winremedy lab up`` puts the share and the URL of DIR/repo in the inventory, and both stage a package."""
    directory = tmp_path / "lab"
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(yaml.safe_dump({"credentials": {"user": USER, "password": PASSWORD},
                                     "hosts": [{"name": "w7-0001", "os": "win7", "sp": 1, "arch": "x64"}]}))
    up = _lab("up", "--dir", str(directory), "--fleet", str(fleet))
    assert up.returncode == 0, up.stderr
    try:
        inventory = yaml.safe_load((directory / "inventory.yml").read_text())
        variables = inventory["all"]["vars"]
        host = inventory["all"]["children"]["win7"]["hosts"]["w7-0001"]
        assert variables["winremedy_repo_unc"] == "\\\\winremedy-lab\\repo"
        options = WinRMOptions(address="127.0.0.1", port=host["ansible_port"], scheme="http", transport="ntlm",
                               user=USER, password=PASSWORD)
        with WinRMTransport("w7-0001", options) as transport:
            unc_source, manifest = open_source(repo=directory / "repo", unc=variables["winremedy_repo_unc"])
            entry = _entry(manifest)
            by_unc = stage(transport, unc_source, entry)
            url_source, _ = open_source(repo=directory / "repo", url=variables["winremedy_repo_url"])
            by_url = stage(transport, url_source, entry, directory=STAGING_DIR + "\\url")
        assert (by_unc.method, by_url.method) == ("unc", "url") and by_unc.changed and by_url.changed
        assert by_unc.sha256 == by_url.sha256 == entry.sha256
    finally:
        assert _lab("down", "--dir", str(directory)).returncode == 0


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "winremedy.lab.cli", "lab", *args], capture_output=True, text=True, timeout=120)


def test_a_retried_final_chunk_finds_the_package_committed(wire_serve: Any, repo: Path) -> None:
    """Connection resets (p=0.25) make the transport rerun a write whose answer was lost; when that write was the
    final chunk, its commit already renamed ``.part`` into place: the rerun must report it committed, not fail
    with ``.part has 0 bytes``."""
    source, manifest = open_source(repo=repo)
    entry = _entry(manifest)
    failed, faults = [], 0
    for seed in range(8):
        spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), USER, PASSWORD,
                        faults=FaultSpec(reset_probability=0.25), seed=seed)
        host = EmulatedHost(spec, ManualClock(1_700_000_000.0))
        server, _ = wire_serve(host)
        options = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="http", transport="ntlm",
                               user=USER, password=PASSWORD, retries=8)
        with WinRMTransport("w7-0001", options, sleep=lambda _: None) as transport:
            try:
                stage(transport, source, entry, max_envelope_kb=150)
            except WinRemedyError as error:
                failed.append(f"seed {seed}: {error}")
        assert failed or host.fs.read(f"{STAGING_DIR}\\{FILE}") == (repo / FILE).read_bytes()
        faults += host.counters.faults
    assert faults > 0 and not failed
