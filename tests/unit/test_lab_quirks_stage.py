"""Staging on hosts with the quirks that change it: the FIPS policy, .NET without 3.5, Windows outside C:\\Windows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from winremedy.errors import StageError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.stage import Source, open_source, stage
from winremedy.remediate.tasks import query_task, start_task
from winremedy.repo import Entry, pick

KB = "KB2847346"
FILE = "Windows6.1-KB2847346-x64.msu"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_repository(tmp_path)
    return tmp_path


@pytest.fixture
def entry(repo: Path) -> Entry:
    found = pick(open_source(repo=repo)[1], KB, "win7", "6.1.7601", 1, "x64")
    assert found is not None
    return found


def host(**quirks: object) -> EmulatedHost:
    spec = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), "Administrator", "pw", **quirks)  # type: ignore[arg-type]
    return EmulatedHost(spec, ManualClock(1_700_000_000.0))


@pytest.mark.parametrize(
    ("fips", "dotnet", "basis"),
    [
        (True, ("2.0", "3.0", "3.5"), "SHA256CryptoServiceProvider"),
        (False, ("2.0", "3.0"), "SHA256Managed"),
        (True, ("2.0", "3.0"), "SHA1CryptoServiceProvider"),  # FIPS on a 2008-like host without .NET 3.5
    ],
)
def test_the_package_is_verified_with_what_the_host_can_hash_and_says_which(
    repo: Path, entry: Entry, fips: bool, dotnet: tuple[str, ...], basis: str
) -> None:
    lab = host(fips=fips, dotnet=dotnet)
    result = stage(LocalTransport(lab), Source("push", repo, None), entry)
    assert result.changed and result.basis == basis
    assert lab.fs.read(result.path) == (repo / FILE).read_bytes()
    again = stage(LocalTransport(lab), Source("push", repo, None), entry)
    assert not again.changed and again.method == "present" and again.basis == basis


def test_a_sha1_only_host_never_commits_a_file_whose_sha1_differs(repo: Path, entry: Entry) -> None:
    lab = host(fips=True, dotnet=("2.0",))
    with pytest.raises(StageError, match="arrived with SHA1CryptoServiceProvider digest"):
        stage(_Corrupting(lab), Source("push", repo, None), entry)
    assert lab.fs.listdir(r"%SystemRoot%\Temp\winremedy") == []


class _Corrupting(LocalTransport):
    """Flips a byte of every chunk on its way, as a broken link would."""

    def run_ps(self, script: str, **kwargs: object) -> object:  # type: ignore[override]
        marker = "'data' = '"
        if marker in script:
            start = script.index(marker) + len(marker)
            script = script[:start] + ("B" if script[start] == "A" else "A") + script[start + 1:]
        return super().run_ps(script, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("system_root", ["C:\\WINNT", "D:\\Windows"])
def test_packages_and_tasks_go_to_the_hosts_own_system_root(repo: Path, entry: Entry, system_root: str) -> None:
    lab = host(system_root=system_root)
    result = stage(LocalTransport(lab), Source("push", repo, None), entry)
    assert lab.fs.read(f"{system_root}\\Temp\\winremedy\\{FILE}") == (repo / FILE).read_bytes()
    assert lab.fs.read(f"C:\\Windows\\Temp\\winremedy\\{FILE}") is None
    assert result.path.lower().endswith(f"\\temp\\winremedy\\{FILE}".lower())
    start_task(LocalTransport(lab), "winremedy-quirk", ["echo hi"])
    assert lab.fs.exists(f"{system_root}\\Temp\\winremedy\\winremedy-quirk.cmd")
    assert query_task(LocalTransport(lab), "winremedy-quirk").state in ("scheduled", "running", "done")
    assert hashlib.sha256(lab.fs.read(result.path) or b"").hexdigest() == entry.sha256
