"""The repository: the lab's packages verify, pick() by KB x OS x SP x arch, add/scan keep the manifest whole."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import RepoError
from winremedy.lab.packages import corrupt, lab_packages, write_repository
from winremedy.lab.signing import lab_signer
from winremedy.repo import add, check, load_manifest, pick, scan
from winremedy.repo.command import add_repo_commands, run_repo
from winremedy.repo.manifest import MANIFEST, Manifest, save_manifest
from winremedy.repo.signature import install_roots


@pytest.fixture(scope="module")
def lab_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lab-repo")
    write_repository(directory)
    return directory


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """Every lab package in a download directory, not yet in any repository."""
    directory = tmp_path / "downloads"
    directory.mkdir()
    for name, data in lab_packages():
        (directory / name).write_bytes(data)
    return trusted(directory)


def trusted(directory: Path) -> Path:
    """``directory`` as a repository that trusts the lab's code-signing CA (what ``--trusted-roots`` does)."""
    directory.mkdir(exist_ok=True)
    install_roots(directory, lab_signer().roots)
    return directory


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_repo_commands(parser.add_subparsers())
    return run_repo(parser.parse_args(["repo", *argv]))


def test_every_catalog_package_has_a_lab_file_that_verifies(lab_repo: Path) -> None:
    manifest = check(lab_repo)
    catalog_files = {p.file for entry in load_catalog() for p in entry.packages}
    assert {e.file for e in manifest.entries} == catalog_files
    for entry in manifest.entries:
        assert entry.identity["catalog_package"] == entry.file
        assert entry.size == (lab_repo / entry.file).stat().st_size


@pytest.mark.parametrize(
    ("kb", "family", "version", "sp", "arch", "expected"),
    [
        ("KB979223", "vista", "6.0.6001", 1, "x86", "Windows6.0-KB979223-x86.msu"),
        ("KB979223", "win2008", "6.0.6002", 2, "x86", "Windows6.0-KB979223-x86.msu"),
        ("KB979223", "win2008", "6.0.6002", 2, "ia64", "Windows6.0-KB979223-ia64.msu"),
        ("KB979223", "win2008r2", "6.1.7600", 0, "x64", "Windows6.1-KB979223-x64.msu"),
        ("kb2847346", "win2008r2", "6.1.7601", 1, "x64", "Windows6.1-KB2847346-x64.msu"),
        ("2847346", "win7", "6.1.7601", 1, "x86", "Windows6.1-KB2847346-x86.msu"),
        ("KB903927", "win2003", "5.2.3790", 1, "x86", "WindowsServer2003-KB903927-x86-ENU.exe"),
        ("KB979223", "vista", "6.0.6000", 0, "x86", None),  # RTM Vista: no package
        ("KB979223", "vista", "6.0.6001", 2, "x86", None),  # build and SP disagree
        ("KB979223", "vista", "6.0.6001", 1, "ia64", None),  # no Vista on Itanium
        ("KB979223", "win7", "6.1.7601", 1, "x64", None),  # SP1 contains the fix
        ("KB2847346", "win7", "6.1.7600", 0, "x64", None),  # the fix needs SP1
        ("KB2847346", "win2008r2", "6.1.7601", 1, "x86", None),  # 2008 R2 has no x86
        ("KB903927", "win2003", "5.2.3790", 2, "x86", None),
        ("KB2506143", "win7", "6.1.7601", 1, "x64", None),
    ],
)
def test_pick_by_kb_os_sp_arch(lab_repo: Path, kb: str, family: str, version: str, sp: int, arch: str, expected: str | None) -> None:
    entry = pick(load_manifest(lab_repo), kb, family, version, sp, arch)
    assert (entry.file if entry else None) == expected


def test_add_copies_verifies_and_records(tmp_path: Path, packages: Path) -> None:
    repo = trusted(tmp_path / "repo")
    add(repo, [packages / "Windows6.1-KB2847346-x64.msu"])
    add(repo, [packages / "Windows6.0-KB979223-x86.msu", packages / "WindowsServer2003-KB903927-x86-ENU.exe"])
    manifest = check(repo)
    assert [e.file for e in manifest.entries] == [
        "Windows6.0-KB979223-x86.msu",
        "Windows6.1-KB2847346-x64.msu",
        "WindowsServer2003-KB903927-x86-ENU.exe",
    ]
    assert (repo / MANIFEST).stat().st_mode & 0o777 == 0o644
    assert not [p.name for p in repo.iterdir() if p.name.endswith(".tmp")]


def test_add_is_all_or_nothing(tmp_path: Path, packages: Path) -> None:
    repo = trusted(tmp_path / "repo")
    bad = packages / "Windows6.1-KB979223-x86.msu"
    corrupt(bad)
    with pytest.raises(RepoError, match=r"nothing added, 1 refused: .*Windows6.1-KB979223-x86.msu: signature refused"):
        add(repo, [packages / "Windows6.1-KB2847346-x64.msu", bad])
    assert load_manifest(repo) == Manifest() and not (repo / "Windows6.1-KB2847346-x64.msu").exists()


def test_add_refuses_a_second_file_for_the_same_kb_os_sp_arch(tmp_path: Path, packages: Path) -> None:
    repo = trusted(tmp_path / "repo")
    add(repo, [packages / "Windows6.1-KB2847346-x64.msu"])
    copy = packages / "windows6.1-kb2847346-x64_0123abcd.msu"
    copy.write_bytes((packages / "Windows6.1-KB2847346-x64.msu").read_bytes())
    with pytest.raises(RepoError, match="duplicate: Windows6.1-KB2847346-x64.msu already provides KB2847346"):
        add(repo, [copy])
    add(repo, [packages / "Windows6.1-KB2847346-x64.msu"])  # the same file name again replaces it


def test_concurrent_adds_lose_no_entry(tmp_path: Path, packages: Path) -> None:
    repo = trusted(tmp_path / "repo")
    files = sorted(p for p in packages.iterdir() if p.suffix in (".msu", ".exe"))
    errors: list[BaseException] = []

    def adder(path: Path) -> None:
        try:
            add(repo, [path])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=adder, args=(path,)) for path in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {e.file for e in check(repo).entries} == {p.name for p in files}


def test_a_failed_manifest_write_leaves_the_previous_manifest(tmp_path: Path, packages: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = trusted(tmp_path / "repo")
    add(repo, [packages / "Windows6.1-KB2847346-x64.msu"])
    before = (repo / MANIFEST).read_bytes()

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("winremedy.atomic.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_manifest(repo, Manifest())
    assert (repo / MANIFEST).read_bytes() == before
    assert not [p.name for p in repo.iterdir() if p.name.endswith(".tmp")]


def test_scan_lists_refused_files_and_keeps_the_good_ones(tmp_path: Path, packages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt(packages / "Windows6.1-KB979223-x86.msu")
    (packages / "readme.txt").write_text("not a package")
    result = scan(packages)
    assert len(result.manifest.entries) == 9
    assert sorted(Path(e.path).name for e in result.refused) == ["Windows6.1-KB979223-x86.msu", "readme.txt"]
    assert cli("scan", str(packages)) == 1
    out = capsys.readouterr().out
    assert "readme.txt: file name refused" in out and "9 packages in" in out and "2 refused" in out


def test_check_finds_a_file_changed_after_it_was_added(lab_repo: Path, tmp_path: Path) -> None:
    repo = trusted(tmp_path / "repo")
    add(repo, [lab_repo / "Windows6.1-KB2847346-x86.msu"])
    corrupt(repo / "Windows6.1-KB2847346-x86.msu")
    with pytest.raises(RepoError, match=r"Windows6.1-KB2847346-x86.msu: corrupt: its size or SHA-256 differs from the manifest"):
        check(repo)


def test_broken_manifest_is_named(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('{"format": 1, "packages": [{"file": "a.msu"}]}')
    with pytest.raises(RepoError, match=r"manifest.json: package 0: missing or bad 'kb'"):
        load_manifest(tmp_path)


def test_cli_add_list_and_refusal(tmp_path: Path, packages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = str(tmp_path / "repo")
    assert cli("add", str(packages / "Windows6.0-KB979223-x64.msu"), "--repo", repo, "--trusted-roots",
               str(lab_signer().roots)) == 0
    assert "added Windows6.0-KB979223-x64.msu: KB979223 x64 vista,win2008 6.0.6001 SP1,6.0.6002 SP2" in capsys.readouterr().out
    assert cli("list", "--repo", repo, "--format", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["file"], p["builds"]) for p in listed] == [
        ("Windows6.0-KB979223-x64.msu", [{"version": "6.0.6001", "sp": 1}, {"version": "6.0.6002", "sp": 2}])
    ]
    assert cli("list", "--repo", repo) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["file", "kb", "arch", "os", "builds", "size", "sha256"]
    mislabelled = tmp_path / "Windows6.0-KB979223-ia64.msu"
    mislabelled.write_bytes((packages / "Windows6.0-KB979223-x64.msu").read_bytes())
    assert cli("add", str(mislabelled), "--repo", repo) == 2
    assert "architecture mismatch: the name says ia64, the content" in capsys.readouterr().err
