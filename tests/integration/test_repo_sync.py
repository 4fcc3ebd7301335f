"""``winremedy repo sync`` against a real OpenSSH server on loopback, run as the current user."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from winremedy.errors import RepoError
from winremedy.lab.packages import corrupt, write_repository
from winremedy.repo import sync as sync_module
from winremedy.repo.command import add_repo_commands, run_repo
from winremedy.repo.manifest import MANIFEST
from winremedy.repo.sync import sync
from winremedy.repo.verify import sha256_file

pytestmark = pytest.mark.integration

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Server:
    port: int
    key: Path
    known_hosts: Path

    def url(self, path: Path) -> str:
        return f"ssh://{getpass.getuser()}@127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        pytest.skip(f"OpenSSH server not installed ({SSHD}); CI needs: apt-get install -y openssh-server")
    if os.getuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory, needed as root
    home = tmp_path_factory.mktemp("sshd")
    _keygen(home / "host_key")
    _keygen(home / "client_key")
    shutil.copy(home / "client_key.pub", home / "authorized_keys")
    port = _free_port()
    (home / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\nAuthorizedKeysFile {home / 'authorized_keys'}\n"
        f"PidFile {home / 'sshd.pid'}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    key_type, host_key = (home / "host_key.pub").read_text().split()[:2]
    (home / "known_hosts").write_text(f"[127.0.0.1]:{port} {key_type} {host_key}\n")
    with open(home / "sshd.log", "wb") as log:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config"), "-p", str(port)], stderr=log)
    try:
        _wait_for_banner(port, process, home / "sshd.log")
        yield Server(port, home / "client_key", home / "known_hosts")
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_banner(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sshd exited {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"sshd did not answer on port {port}: {log.read_text()}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    directory = tmp_path / "repo"
    write_repository(directory)
    return directory


def run_sync(server: Server, repo: Path, far: Path) -> sync_module.SyncResult:
    return sync(repo, server.url(far), identity=server.key, known_hosts=server.known_hosts)


def test_first_sync_uploads_everything_and_writes_the_manifest_last(sshd: Server, repo: Path, tmp_path: Path) -> None:
    far = tmp_path / "far" / "packages"
    result = run_sync(sshd, repo, far)
    names = sorted(p.name for p in repo.iterdir() if p.suffix in (".msu", ".exe"))
    assert sorted(result.uploaded) == names and result.unchanged == ()
    for name in [*names, MANIFEST]:
        assert sha256_file(far / name) == sha256_file(repo / name)
    assert not [p.name for p in far.iterdir() if p.name.startswith(".")]  # no .part left behind
    again = run_sync(sshd, repo, far)
    assert again.uploaded == () and sorted(again.unchanged) == names


def test_a_file_corrupted_on_the_far_side_is_detected_and_replaced(sshd: Server, repo: Path, tmp_path: Path) -> None:
    far = tmp_path / "far"
    run_sync(sshd, repo, far)
    corrupt(far / "Windows6.1-KB2847346-x64.msu")
    (far / "Windows6.0-KB979223-x86.msu").unlink()
    result = run_sync(sshd, repo, far)
    assert sorted(result.uploaded) == ["Windows6.0-KB979223-x86.msu", "Windows6.1-KB2847346-x64.msu"]
    assert sha256_file(far / "Windows6.1-KB2847346-x64.msu") == sha256_file(repo / "Windows6.1-KB2847346-x64.msu")


def test_a_mismatch_after_upload_stops_before_the_manifest(
    sshd: Server, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The far side's disk damages what it receives: its own sha256sum says so, and no manifest is written."""
    far = tmp_path / "far"
    real_put = sync_module._put

    def damaging_put(connection: object, target: sync_module.Target, local: Path) -> None:
        real_put(connection, target, local)
        if local.name == "WindowsServer2003-KB903927-x86-ENU.exe":
            corrupt(far / sync_module.partial_name(local.name))  # the far side is this machine

    monkeypatch.setattr(sync_module, "_put", damaging_put)
    with pytest.raises(RepoError, match=r"/WindowsServer2003-KB903927-x86-ENU.exe: hash mismatch on the far side after upload .*manifest not written"):
        run_sync(sshd, repo, far)
    assert not (far / MANIFEST).exists()


def test_an_unknown_host_key_is_refused(sshd: Server, repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(RepoError, match=r"cannot connect: .*not found in known_hosts"):
        sync(repo, sshd.url(tmp_path / "far"), identity=sshd.key, known_hosts=empty)


def test_a_locally_corrupted_repository_is_not_synced(sshd: Server, repo: Path, tmp_path: Path) -> None:
    corrupt(repo / "Windows6.1-KB979223-x64.msu")
    with pytest.raises(RepoError, match="Windows6.1-KB979223-x64.msu: corrupt: its size or SHA-256 differs from the manifest"):
        run_sync(sshd, repo, tmp_path / "far")


@pytest.mark.parametrize("url", ["http://host/path", "ssh://host", "ssh://host:port/x"])
def test_bad_targets_are_named(url: str, repo: Path) -> None:
    with pytest.raises(RepoError, match=rf"^{url}: not a sync target"):
        sync(repo, url)


def test_cli_sync(sshd: Server, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_repo_commands(parser.add_subparsers())
    argv = ["repo", "sync", "--repo", str(repo), "--to", sshd.url(tmp_path / "far"), "--identity", str(sshd.key)]
    assert run_repo(parser.parse_args([*argv, "--known-hosts", str(sshd.known_hosts)])) == 0
    assert capsys.readouterr().out.strip().endswith(": 10 uploaded, 0 unchanged, manifest written")
    assert run_repo(parser.parse_args([*argv, "--known-hosts", str(tmp_path / "none")])) == 2
    assert "cannot connect" in capsys.readouterr().err
