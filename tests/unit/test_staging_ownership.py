"""SYSTEM runs what the staging folder holds, so only SYSTEM and Administrators may own or write it (issue 11,
defect 2): on the PowerShell route (stage.ps1, task.ps1) and the cmd.exe route (cacls, dir /q, certutil), against
the lab's model of owners and ACLs, in which a local non-admin user ("squatter") may create files and folders
under %SystemRoot%\\Temp and owns what it creates.

On main (84c53c4) the lab had no owners: the folder inherited Temp's "Users may create", stage.ps1 accepted any
existing folder and appended to any existing .part, the cmd.exe route made the folder with a bare mkdir, and its
SYSTEM task ran the installer without hashing the package again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.errors import RemediationError, StageError
from winremedy.lab.acltools import LOCAL_USER
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.filesystem import ADMINISTRATORS, PRIVATE, Security
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import write_repository
from winremedy.remediate import install
from winremedy.remediate.cmdroute import CmdRoute
from winremedy.remediate.install import BAD_DIGEST, Outcome
from winremedy.remediate.stage import DIGEST_SUFFIX, STAGING_DIR, Source, open_source, stage
from winremedy.remediate.tasks import start_task
from winremedy.repo import Entry, pick

PS_FILE = "Windows6.1-KB2847346-x64.msu"


def _host(**entry: object) -> EmulatedHost:
    host = {"name": "h-1", "os": "win7", "sp": 1, "arch": "x64", **entry}
    spec = fleet_from_dict({"credentials": {"user": "Administrator", "password": "pw"}, "hosts": [host]}).hosts[0]
    return EmulatedHost(spec, ManualClock(1.7e9))


def _bare_host(locale: str = "en-US") -> EmulatedHost:
    return _host(os="win2003", arch="x86", products=["lcs2005"], powershell=None, locale=locale)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ownership") / "repo"
    write_repository(directory)
    return directory


def _entry(repo: Path, kb: str, family: str, version: str, arch: str) -> Entry:
    found = pick(open_source(repo=repo)[1], kb, family, version, 1, arch)
    assert found is not None
    return found


@pytest.fixture
def ps_entry(repo: Path) -> Entry:
    return _entry(repo, "KB2847346", "win7", "6.1.7601", "x64")


@pytest.fixture
def bare_entry(repo: Path) -> Entry:
    return _entry(repo, "KB903927", "win2003", "5.2.3790", "x86")


def _path(entry: Entry) -> str:
    return f"{STAGING_DIR}\\{entry.file}"


# --- PowerShell route ------------------------------------------------------------------------------


def test_a_staged_folder_is_system_and_administrators_alone_so_a_local_user_cannot_plant_or_swap(
        repo: Path, ps_entry: Entry) -> None:
    """Main: the folder inherited Temp's ACL, so the user could create a .part beside the package."""
    host = _host()
    stage(LocalTransport(host), Source("push", repo, None), ps_entry)
    assert host.fs.folder(STAGING_DIR) == Security(ADMINISTRATORS, PRIVATE)
    assert host.fs.owner(_path(ps_entry)) == ADMINISTRATORS
    assert not host.fs.user_write(_path(ps_entry) + ".part", b"planted", LOCAL_USER)
    assert not host.fs.user_write(_path(ps_entry), b"swapped", LOCAL_USER)


def test_a_folder_a_local_user_created_is_refused_even_with_the_right_package_in_it(repo: Path, ps_entry: Entry) -> None:
    """Main: the squatter's folder was used, and a package already in it counted as staged ("present")."""
    host = _host()
    assert host.fs.user_write(f"{STAGING_DIR}\\readme.txt", b"", LOCAL_USER)
    with pytest.raises(StageError) as caught:
        stage(LocalTransport(host), Source("push", repo, None), ps_entry)
    message = str(caught.value)
    assert message.startswith(f"h-1: KB2847346: refusing the staging folder {STAGING_DIR}: owner {LOCAL_USER}")
    assert "write for S-1-5-32-545" in message and "a local user could change what later runs there as SYSTEM" in message
    assert host.fs.read(_path(ps_entry)) is None and host.counters.bytes_staged == 0
    host.fs.write(_path(ps_entry), (repo / ps_entry.file).read_bytes())  # the right bytes, in the wrong folder
    with pytest.raises(StageError, match="refusing the staging folder"):
        stage(LocalTransport(host), Source("push", repo, None), ps_entry)


def test_a_part_file_someone_else_owns_is_refused_not_continued(repo: Path, ps_entry: Entry) -> None:
    """Main: stage.ps1 appended to the user's .part and renamed it into place, the user still its owner."""
    host = _host()
    transport = LocalTransport(host)
    stage(transport, Source("push", repo, None), ps_entry)
    host.fs.delete(_path(ps_entry))
    host.fs.write(_path(ps_entry) + ".part", b"", owner=LOCAL_USER)  # left from before the folder was locked
    with pytest.raises(StageError, match=rf"refusing the partial file .*\.part: owner {LOCAL_USER}"):
        stage(transport, Source("push", repo, None), ps_entry)
    assert host.fs.read(_path(ps_entry)) is None


def test_a_task_batch_is_never_written_into_someone_elses_folder() -> None:
    """Main: task.ps1 wrote the .cmd SYSTEM runs into whatever folder was there."""
    host = _host()
    host.fs.user_write(f"{STAGING_DIR}\\x.txt", b"", LOCAL_USER)
    with pytest.raises(RemediationError, match=rf"preparing the staging folder .* failed: .* is not ours: owner {LOCAL_USER}.*a local user could"):
        start_task(LocalTransport(host), "winremedy-test", ["echo"])
    assert host.tasks == {} and not host.fs.exists(f"{STAGING_DIR}\\winremedy-test.cmd")


def test_a_task_creates_a_missing_folder_private() -> None:
    host = _host()
    start_task(LocalTransport(host), "winremedy-test", ["echo"])
    assert host.fs.folder(STAGING_DIR) == Security(ADMINISTRATORS, PRIVATE)


# --- cmd.exe route ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_cmd_route_locks_the_folder_with_cacls_by_the_hosts_own_account_names(
        repo: Path, bare_entry: Entry, locale: str) -> None:
    """Main: a bare mkdir; the folder kept Temp's "Users may create". The German host names Administrators
    "Administratoren" (cacls by English names would fail there); dir /q cuts that name short."""
    host = _bare_host(locale)
    transport = LocalTransport(host)
    CmdRoute(transport).stage(Source("push", repo, None), bare_entry)
    assert host.fs.folder(STAGING_DIR) == Security(ADMINISTRATORS, PRIVATE)
    assert not host.fs.user_write(_path(bare_entry) + ".part", b"planted", LOCAL_USER)
    again = CmdRoute(transport).stage(Source("push", repo, None), bare_entry)
    assert again.method == "present"


def test_cmd_route_refuses_a_folder_a_local_user_created(repo: Path, bare_entry: Entry) -> None:
    host = _bare_host()
    host.fs.user_write(f"{STAGING_DIR}\\{bare_entry.file}", b"MZ not the package", LOCAL_USER)
    with pytest.raises(StageError) as caught:
        CmdRoute(LocalTransport(host)).stage(Source("push", repo, None), bare_entry)
    message = str(caught.value)
    assert message.startswith(f"h-1: KB903927: refusing the staging folder {STAGING_DIR}: owner H-1\\squatter of the folder")
    assert "write for BUILTIN\\Users" in message and "write for CREATOR OWNER" in message
    assert host.fs.read(_path(bare_entry)) == b"MZ not the package" and host.counters.bytes_staged == 0


def test_cmd_route_finishes_a_folder_a_run_stopped_between_mkdir_and_cacls(repo: Path, bare_entry: Entry) -> None:
    """Killed after mkdir: the folder is ours, with Temp's ACL; the rerun locks it (crash safety) unless anything
    in it is someone else's."""
    host = _bare_host()
    transport = LocalTransport(host)
    assert transport.run_cmd(f'mkdir "{STAGING_DIR}"').rc == 0
    CmdRoute(transport).stage(Source("push", repo, None), bare_entry)
    assert host.fs.folder(STAGING_DIR) == Security(ADMINISTRATORS, PRIVATE)
    other = _bare_host()
    assert LocalTransport(other).run_cmd(f'mkdir "{STAGING_DIR}"').rc == 0
    assert other.fs.user_write(f"{STAGING_DIR}\\{bare_entry.file}.part", b"planted", LOCAL_USER)
    with pytest.raises(StageError, match=r"owner H-1\\squatter of WindowsServer2003-KB903927-x86-ENU\.exe\.part"):
        CmdRoute(LocalTransport(other)).stage(Source("push", repo, None), bare_entry)


def test_cmd_route_refuses_a_file_someone_else_owns_in_its_folder(repo: Path, bare_entry: Entry) -> None:
    host = _bare_host()
    route = CmdRoute(LocalTransport(host))
    route.stage(Source("push", repo, None), bare_entry)
    host.fs.write(_path(bare_entry) + ".part", b"", owner=LOCAL_USER)
    with pytest.raises(StageError, match=r"owner H-1\\squatter of WindowsServer2003-KB903927-x86-ENU\.exe\.part"):
        route.stage(Source("push", repo, None), bare_entry)
    with pytest.raises(StageError, match="refusing the staging folder"):
        route.start_task("winremedy-test", ["echo"])


def test_cmd_route_system_task_hashes_the_package_again_and_refuses_a_swap(repo: Path, bare_entry: Entry) -> None:
    """Main: the cmd.exe route's install task ran whatever was at the path (no check in the task)."""
    host = _bare_host()
    route = CmdRoute(LocalTransport(host))
    staged = route.stage(Source("push", repo, None), bare_entry)
    assert host.fs.exists(staged.path + DIGEST_SUFFIX)
    lines = install.install_lines(bare_entry, staged.path, "win2003", verify=route.verify_lines)
    assert lines[0].startswith(f'certutil -hashfile "{staged.path}" | findstr /l /i /g:"{staged.path}{DIGEST_SUFFIX}"')
    host.fs.write(staged.path, host.fs.read(staged.path) + b" payload")  # after the stage's own check
    task = install.install_task_name(bare_entry.kb)
    route.start_task(task, lines)
    host.clock.advance(600)
    result = install.finish_install(route.transport, bare_entry.kb, query=route.query_task)
    assert result.outcome is Outcome.FAILED and result.exit_code is not None
    assert result.exit_code & 0xFFFFFFFF == BAD_DIGEST and "digest changed after staging" in result.message
    assert host.counters.installs == 0 and host.installed() == {}


def test_cmd_route_system_task_installs_the_package_it_checked(repo: Path, bare_entry: Entry) -> None:
    host = _bare_host("de-DE")
    route = CmdRoute(LocalTransport(host))
    staged = route.stage(Source("push", repo, None), bare_entry)
    route.start_task(install.install_task_name(bare_entry.kb),
                     install.install_lines(bare_entry, staged.path, "win2003", verify=route.verify_lines))
    host.clock.advance(600)
    result = install.finish_install(route.transport, bare_entry.kb, query=route.query_task)
    assert result.outcome is Outcome.INSTALLED and host.counters.installs == 1


# --- the lab's cmd.exe as these tests use it -------------------------------------------------------


def test_the_labs_cmd_exe_pipes_and_conditionals_and_cacls_asking_first() -> None:
    transport = LocalTransport(_bare_host())
    failed = transport.run_cmd("cmd /c exit -2146869232 || echo failed")
    assert (failed.rc, failed.stdout) == (0, b"failed\r\n")
    assert transport.run_cmd("cmd /c exit 3 && echo never").rc == 3
    assert transport.run_cmd('echo abc| findstr /l /i /c:"B"').stdout == b"abc\r\n"
    assert transport.run_cmd('echo abc| findstr /c:"x" >nul || echo none').stdout == b"none\r\n"
    folder = "C:\\Windows\\Temp\\elsewhere"
    assert transport.run_cmd(f'mkdir "{folder}"').rc == 0 and transport.run_cmd(f'mkdir "{folder}"').rc == 1
    transport.run_cmd(f'cacls "{folder}" /g "SYSTEM":F')  # no "y" on stdin: nothing changes
    assert "BUILTIN\\Users:(CI)(special access:)" in transport.run_cmd(f'cacls "{folder}"').stdout.decode("cp437")
    assert transport.run_cmd(f'echo y| cacls "{folder}" /g "Administrateurs":F').rc == 1332  # not this host's name
    assert transport.run_cmd(f'echo y| cacls "{folder}" /g "SYSTEM":F').rc == 0
    assert transport.run_cmd(f'cacls "{folder}"').stdout.decode("cp437") == f"{folder} NT AUTHORITY\\SYSTEM:(OI)(CI)F\r\n\r\n"
