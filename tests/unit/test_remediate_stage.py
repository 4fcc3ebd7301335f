"""Staging a package on a lab host through the in-process transport: push, url, unc, and every refusal."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import RepoError, StageError, WinRemedyError
from winremedy.lab import repository
from winremedy.lab import stage as lab_stage
from winremedy.lab.clock import ManualClock
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import corrupt, package_bytes, write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.psdata import decode_frame
from winremedy.remediate.stage import (
    FREE_MARGIN,
    OWNERSHIP,
    SOAP_OVERHEAD,
    STAGING_DIR,
    Source,
    chunk_size,
    open_source,
    preflight,
    stage,
)
from winremedy.repo import Entry, Manifest, load_manifest, pick, scan
from winremedy.transport.base import Result
from winremedy.transport.bootstrap import encode_script

KB = "KB2847346"
FILE = "Windows6.1-KB2847346-x64.msu"
PADDING = 300_000  # lab packages are ~2 KB; a member this large forces several chunks
SHARE = "\\\\dist01\\updates"
PYWINRM_SEND_OVERHEAD = 1745  # bytes of pywinrm's Send envelope around an empty stream


class RecordingTransport(LocalTransport):
    """LocalTransport that keeps the stdin size of every script and can fail after a number of commands."""

    def __init__(self, host: EmulatedHost, fail_after: int | None = None) -> None:
        super().__init__(host)
        self.stdin_sizes: list[int] = []
        self.fail_after = fail_after

    def run_ps(self, script: str, *, timeout: float | None = None, check: bool = False, idempotent: bool = True) -> Result:
        if self.fail_after is not None and self.commands >= self.fail_after:
            raise ConnectionResetError("interrupted by the test")
        self.stdin_sizes.append(len(encode_script(script)))
        return super().run_ps(script, timeout=timeout, check=check, idempotent=idempotent)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    directory = tmp_path / "repo"
    write_repository(directory)
    kb_entry = load_catalog().get(KB)
    package = next(p for p in kb_entry.packages if p.file == FILE)
    (directory / FILE).write_bytes(package_bytes(kb_entry, package, padding=PADDING))
    assert not scan(directory).refused
    return directory


@pytest.fixture
def entry(repo: Path) -> Entry:
    found = pick(open_source(repo=repo)[1], KB, "win7", "6.1.7601", 1, "x64")
    assert found is not None and found.file == FILE
    return found


def make_host(free_disk_mb: int = 20480) -> EmulatedHost:
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), "Administrator", "pw", free_disk_mb=free_disk_mb)
    return EmulatedHost(spec, ManualClock(1_700_000_000.0))


def staged(host: EmulatedHost, name: str = FILE) -> bytes | None:
    return host.fs.read(f"{STAGING_DIR}\\{name}")


def part_of(host: EmulatedHost, name: str = FILE) -> bytes | None:
    return host.fs.read(f"{STAGING_DIR}\\{name}.part")


# --- push -----------------------------------------------------------------------------------------


def test_push_in_several_chunks_arrives_byte_identical(repo: Path, entry: Entry) -> None:
    host = make_host()
    transport = RecordingTransport(host)
    free_before = host.free_disk
    result = stage(transport, Source("push", repo, None), entry, max_envelope_kb=150)
    data = (repo / FILE).read_bytes()
    chunks = -(-len(data) // chunk_size(150))
    assert chunks >= 5
    assert staged(host) == data and hashlib.sha256(data).hexdigest() == entry.sha256
    assert part_of(host) is None
    assert result == dataclasses.replace(result, changed=True, method="push", sha256=entry.sha256, before_sha256=None)
    assert result.path == f"{STAGING_DIR}\\{FILE}" and result.bytes_sent == len(data)
    assert transport.commands == 1 + chunks  # one probe, then one command per chunk, the last one commits
    assert host.counters.stages == 1 and host.counters.bytes_staged == len(data)
    assert host.free_disk == free_before - len(data)


def test_every_push_command_fits_one_send_envelope(repo: Path, entry: Entry) -> None:
    transport = RecordingTransport(make_host())
    stage(transport, Source("push", repo, None), entry, max_envelope_kb=150)
    biggest = max(transport.stdin_sizes)
    assert biggest > 100_000  # the chunks use the room they have...
    assert PYWINRM_SEND_OVERHEAD + -(-biggest // 3) * 4 <= 150 * 1024  # ...and one Send carrying all of stdin fits
    assert chunk_size(500) > 3 * chunk_size(150) > 3 * chunk_size(60)


def test_chunk_size_leaves_room_for_a_long_staging_path(repo: Path, entry: Entry) -> None:
    host = make_host()
    directory = "C:\\" + "\\".join(["d\u00e9p\u00f4t-" + "x" * 20] * 8)
    transport = RecordingTransport(host)
    stage(transport, Source("push", repo, None), entry, directory=directory)
    assert host.fs.read(f"{directory}\\{FILE}") == (repo / FILE).read_bytes()
    assert max(transport.stdin_sizes) <= (150 * 1024 - SOAP_OVERHEAD) * 3 // 4


def test_a_too_small_envelope_is_refused_in_one_line() -> None:
    with pytest.raises(WinRemedyError, match="MaxEnvelopeSize 8 KB is too small"):
        chunk_size(8)


def test_the_right_file_already_there_is_not_sent_again(repo: Path, entry: Entry) -> None:
    host = make_host()
    stage(LocalTransport(host), Source("push", repo, None), entry)
    written = host.counters.bytes_staged
    again = RecordingTransport(host)
    result = stage(again, Source("push", repo, None), entry)
    assert result.changed is False and result.method == "present" and result.bytes_sent == 0
    assert result.before_sha256 == entry.sha256
    assert again.commands == 1 and host.counters.bytes_staged == written and host.counters.stages == 1


def test_another_file_at_the_path_is_replaced_and_reported_as_before(repo: Path, entry: Entry) -> None:
    host = make_host()
    host.fs.write(f"{STAGING_DIR}\\{FILE}", b"an older download")
    result = stage(LocalTransport(host), Source("push", repo, None), entry)
    assert result.changed and result.before_sha256 == hashlib.sha256(b"an older download").hexdigest()
    assert staged(host) == (repo / FILE).read_bytes()


def test_check_mode_writes_nothing(repo: Path, entry: Entry) -> None:
    host = make_host()
    transport = LocalTransport(host)
    result = stage(transport, Source("push", repo, None), entry, check=True)
    assert result.changed is True and result.method == "push" and result.bytes_sent == 0
    assert transport.commands == 1 and host.fs.listdir(STAGING_DIR) == [] and host.counters.bytes_staged == 0
    stage(transport, Source("push", repo, None), entry)
    assert stage(transport, Source("push", repo, None), entry, check=True).changed is False


def test_not_enough_free_disk_names_host_kb_and_sizes(repo: Path, entry: Entry) -> None:
    host = make_host(free_disk_mb=64)
    transport = LocalTransport(host)
    with pytest.raises(StageError) as caught:
        stage(transport, Source("push", repo, None), entry)
    need = 2 * entry.size + FREE_MARGIN
    message = str(caught.value)
    assert message.startswith(f"w7-0001: {KB}: not enough free disk for {FILE}")
    assert f"{need:,} bytes needed" in message and f"{64 * 2**20:,} free" in message
    assert caught.value.host == "w7-0001" and caught.value.kb == KB
    assert transport.commands == 1 and host.fs.listdir(STAGING_DIR) == []


def test_a_hash_mismatch_on_the_host_leaves_no_file(repo: Path, entry: Entry) -> None:
    host = make_host()
    wrong = dataclasses.replace(entry, sha256="0" * 64)
    with pytest.raises(StageError) as caught:
        stage(LocalTransport(host), Source("push", repo, None), wrong)
    message = str(caught.value)
    assert message.startswith(f"w7-0001: {KB}: {FILE} arrived with SHA256CryptoServiceProvider digest {entry.sha256}, expected {'0' * 64}")
    assert "was deleted" in message
    assert staged(host) is None and part_of(host) is None
    assert host.free_disk == 20480 * 2**20  # the deleted part gave its space back


def test_an_interrupted_push_continues_where_the_host_left_off(repo: Path, entry: Entry) -> None:
    host = make_host()
    with pytest.raises(ConnectionResetError):
        stage(RecordingTransport(host, fail_after=3), Source("push", repo, None), entry)
    partial = part_of(host)
    assert partial is not None and len(partial) == 2 * chunk_size(150) and staged(host) is None
    rerun = stage(LocalTransport(host), Source("push", repo, None), entry)
    assert rerun.bytes_sent == entry.size - len(partial)
    assert staged(host) == (repo / FILE).read_bytes() and part_of(host) is None


def test_a_foreign_part_file_is_restarted_from_the_beginning(repo: Path, entry: Entry) -> None:
    host = make_host()
    host.fs.write(f"{STAGING_DIR}\\{FILE}.part", b"x" * 70_000)
    result = stage(LocalTransport(host), Source("push", repo, None), entry)
    assert result.bytes_sent == entry.size and staged(host) == (repo / FILE).read_bytes()


def test_the_lab_refuses_a_chunk_after_a_gap() -> None:
    host = make_host()
    part = f"{STAGING_DIR}\\x.msu.part"
    params = {"action": "write", "path": f"{STAGING_DIR}\\x.msu", "part": part, "offset": 10, "data": "QUJD", **OWNERSHIP}
    answer = decode_frame(lab_stage.answer(host, params).stdout, host="w7-0001")
    assert answer["error"] == f"{part} has 0 bytes, the chunk starts at byte 10"


# --- preflight: refused before any command reaches a host ----------------------------------------


def test_preflight_refuses_content_of_another_architecture(repo: Path, entry: Entry) -> None:
    kb_entry = load_catalog().get(KB)
    package = next(p for p in kb_entry.packages if p.file == FILE)
    (repo / FILE).write_bytes(package_bytes(kb_entry, package, arch="x86"))
    transport = LocalTransport(make_host())
    with pytest.raises(RepoError, match=r"architecture mismatch: the name says x64, the content .* says x86"):
        preflight(Source("push", repo, None), entry)
    renamed = repo / "hotfix.msu"  # a name that says nothing: the manifest comparison catches it
    (repo / FILE).rename(renamed)
    with pytest.raises(RepoError, match="architecture mismatch: the content says x86, the manifest says x64"):
        preflight(Source("unc", repo, SHARE), dataclasses.replace(entry, file=renamed.name))
    assert transport.commands == 0


def test_preflight_and_scan_refuse_a_package_whose_identity_sources_disagree(repo: Path, entry: Entry) -> None:
    """Signed by the trusted CA, named and sized right, but its unattend .xml installs another KB."""
    kb_entry = load_catalog().get(KB)
    package = next(p for p in kb_entry.packages if p.file == FILE)
    (repo / FILE).write_bytes(package_bytes(kb_entry, package, padding=PADDING,
                                            altered=("unattend.xml", "Package_for_KB2847346", "Package_for_KB979223")))
    reason = (f"{repo / FILE}: identity mismatch: Windows6.1-KB2847346-x64-pkgProperties.txt says KB2847346, "
              "Windows6.1-KB2847346-x64.xml says 'Package_for_KB979223'")
    with pytest.raises(RepoError) as caught:
        preflight(Source("push", repo, None), entry)
    assert str(caught.value) == reason
    assert [str(refused) for refused in scan(repo).refused] == [reason]


def test_preflight_refuses_a_changed_or_missing_file(repo: Path, entry: Entry) -> None:
    corrupt(repo / FILE)
    with pytest.raises(RepoError, match="altered after signing") as caught:
        preflight(Source("push", repo, None), entry)
    assert caught.value.path == str(repo / FILE)
    (repo / FILE).unlink()
    with pytest.raises(RepoError, match="listed in the manifest but missing"):
        preflight(Source("push", repo, None), entry)
    with pytest.raises(RepoError, match="no local repository pins this package"):
        preflight(Source("url", None, "http://dist01/winremedy/"), entry)


@pytest.mark.parametrize(
    ("change", "what"),
    [({"os": ("vista",)}, "OS mismatch"), ({"kind": "exe"}, "kind mismatch"), ({"kb": "KB979223"}, "KB mismatch"),
     ({"builds": ()}, "builds mismatch"), ({"file": "Windows6.1-KB2847346-x64é.msu"}, "file name refused")],
)
def test_preflight_checks_every_field_of_an_edited_manifest_entry(
    repo: Path, entry: Entry, change: dict[str, object], what: str
) -> None:
    with pytest.raises(RepoError, match=what):
        preflight(Source("push", repo, None), dataclasses.replace(entry, **change))  # type: ignore[arg-type]


def test_preflight_refuses_a_corrupt_cab(repo: Path, entry: Entry) -> None:
    small = next(e for e in open_source(repo=repo)[1].entries if e.file != FILE and e.kind == "msu")
    corrupt(repo / small.file)
    with pytest.raises(RepoError, match="altered after signing"):
        preflight(Source("push", repo, None), small)


def test_a_file_name_that_leaves_the_staging_folder_is_refused(entry: Entry) -> None:
    bad = dataclasses.replace(entry, file="..\\..\\System32\\evil.msu")
    with pytest.raises(RepoError, match="file name refused"):
        preflight(Source("url", None, "http://dist01/"), bad)
    transport = LocalTransport(make_host())
    with pytest.raises(RepoError):
        stage(transport, Source("url", None, "http://dist01/"), bad)
    assert transport.commands == 0


# --- url ------------------------------------------------------------------------------------------


@pytest.fixture
def served(repo: Path) -> Iterator[str]:
    with repository.RepositoryServer(repo) as server:
        yield server.url


def test_url_pull_downloads_on_the_host_and_checks_the_hash(repo: Path, served: str) -> None:
    source, manifest = open_source(repo=repo, url=served)
    assert source == Source("url", repo, served)
    entry = pick(manifest, KB, "win7", "6.1.7601", 1, "x64")
    assert entry is not None
    host = make_host()
    transport = LocalTransport(host)
    result = stage(transport, source, entry)
    assert result.method == "url" and result.changed and result.bytes_sent == 0
    assert staged(host) == (repo / FILE).read_bytes() and part_of(host) is None
    assert transport.commands == 2 and host.counters.bytes_staged == entry.size


def test_url_pull_of_a_missing_file_gives_the_http_status(repo: Path, served: str, entry: Entry) -> None:
    (repo / FILE).unlink()
    host = make_host()
    with pytest.raises(StageError) as caught:
        stage(LocalTransport(host), Source("url", None, served), entry)
    assert str(caught.value) == (
        f"w7-0001: {KB}: downloading {served}{FILE} to {STAGING_DIR}\\{FILE}.part failed: "
        "The remote server returned an error: (404) Not Found."
    )
    assert host.fs.listdir(STAGING_DIR) == []


def test_url_pull_from_a_server_that_is_not_there(entry: Entry) -> None:
    with repository.RepositoryServer(Path("/nonexistent")) as server:
        url = server.url  # the port is closed again after this block
    with pytest.raises(StageError, match="Unable to connect to the remote server"):
        stage(LocalTransport(make_host()), Source("url", None, url), entry)


def test_the_manifest_is_the_local_one_and_a_servers_copy_must_agree(served: str, repo: Path, tmp_path: Path) -> None:
    with pytest.raises(WinRemedyError, match="no package source: give the repository directory whose manifest pins"):
        open_source(url=served)  # a server's word alone is never enough
    assert open_source(repo=repo, url=served + "nowhere/")[1] == load_manifest(repo)  # no copy there: nothing to check
    local = tmp_path / "local"
    shutil.copytree(repo, local)
    tampered = json.loads((repo / "manifest.json").read_text())
    tampered["packages"][0]["sha256"] = "0" * 64
    (repo / "manifest.json").write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(RepoError, match=rf"^{served}manifest.json: .*the server lists SHA-256 0{{64}}, the local"):
        open_source(repo=local, url=served)
    (repo / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RepoError, match=rf"^{served}manifest.json: unreadable manifest"):
        open_source(repo=local, url=served)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("ftp://dist01/", "not an http"), ("http://[::1/", "not a valid URL"), ("http://dist 01/x", "not a valid URL"),
     ("http://dist01:port/", "not a valid URL"), ("http://admin:s3cret@dist01:http/", "not a valid URL"),
     ("http://admin:s3cret@[::1/", "not a valid URL"), ("file:///etc/passwd", "not an http")],
)
def test_a_bad_url_is_one_line_without_its_credentials(repo: Path, url: str, reason: str) -> None:
    with pytest.raises(WinRemedyError, match=reason) as caught:
        open_source(repo=repo, url=url)
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)


def test_credentials_in_a_url_never_reach_a_message(repo: Path, entry: Entry) -> None:
    with repository.RepositoryServer(Path("/nonexistent")) as server:
        url = server.url.replace("http://", "http://admin:s3cret@")
    with pytest.raises(WinRemedyError) as caught:
        open_source(repo=repo, url=url)
    assert "s3cret" not in str(caught.value) and "***@" in str(caught.value)
    with pytest.raises(StageError) as staged:
        stage(LocalTransport(make_host()), Source("url", repo, url), entry)
    assert "s3cret" not in str(staged.value) and "***@127.0.0.1" in str(staged.value)


# --- unc ------------------------------------------------------------------------------------------


def test_unc_copy_from_a_share(repo: Path, entry: Entry) -> None:
    source, manifest = open_source(repo=repo, unc=SHARE)
    assert source.kind == "unc" and manifest.get(FILE) == entry
    host = make_host()
    host.shares = {"\\\\DIST01\\Updates": str(repo)}
    transport = LocalTransport(host)
    result = stage(transport, source, entry)
    assert result.method == "unc" and result.bytes_sent == 0 and transport.commands == 2
    assert staged(host) == (repo / FILE).read_bytes()


@pytest.mark.parametrize(
    ("shares", "reason"),
    [({}, "The network path was not found."), ({SHARE: "/nonexistent"}, f"Could not find file '{SHARE}\\{FILE}'.")],
)
def test_unc_copy_failures_carry_the_windows_message(entry: Entry, shares: dict[str, str], reason: str) -> None:
    host = make_host()
    host.shares = shares
    with pytest.raises(StageError) as caught:
        stage(LocalTransport(host), Source("unc", None, SHARE), entry)
    assert str(caught.value) == f"w7-0001: {KB}: copying {SHARE}\\{FILE} to {STAGING_DIR}\\{FILE}.part failed: {reason}"
    assert host.fs.listdir(STAGING_DIR) == []


def test_open_source_needs_a_repository_and_a_real_share(tmp_path: Path, repo: Path) -> None:
    with pytest.raises(WinRemedyError, match="no package source"):
        open_source(unc=SHARE)
    with pytest.raises(WinRemedyError, match="not a UNC share"):
        open_source(repo=repo, unc="dist01\\updates")
    with pytest.raises(RepoError, match="no manifest.json"):
        open_source(repo=tmp_path)
    assert open_source(repo=repo)[0] == Source("push", repo, None)
    assert isinstance(open_source(repo=repo)[1], Manifest)


def test_a_fleet_host_with_little_free_disk_refuses_the_stage(repo: Path, entry: Entry) -> None:
    fleet = fleet_from_dict({"credentials": {"user": "u", "password": "p"},
                             "hosts": [{"name": "w7-full", "os": "win7", "sp": 1, "arch": "x64", "free_disk_mb": 50}]})
    host = EmulatedHost(fleet.hosts[0], ManualClock(1_700_000_000.0))
    assert host.free_disk == 50 * 2**20
    with pytest.raises(StageError, match=f"^w7-full: {KB}: not enough free disk"):
        stage(LocalTransport(host), Source("push", repo, None), entry)
