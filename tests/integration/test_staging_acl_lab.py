"""Owners and ACLs of the staging folder over real pywinrm against lab hosts behind the lab's WS-Management
server (NTLM, encrypted): a folder a local user prepared is refused on both routes, a folder the project creates
is SYSTEM's and Administrators' alone, and on a host without PowerShell the SYSTEM task itself refuses a package
changed after staging.

On main (84c53c4) the squatter's folder was used on both routes, the project's own folder inherited Temp's
"Users may create", and the cmd.exe route's task ran the changed package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from winremedy.errors import StageError
from winremedy.lab.acltools import LOCAL_USER
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.filesystem import ADMINISTRATORS, PRIVATE, Security
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.packages import write_repository
from winremedy.remediate import install
from winremedy.remediate.install import BAD_DIGEST, Outcome
from winremedy.remediate.routes import route_for
from winremedy.remediate.stage import STAGING_DIR, open_source
from winremedy.repo import pick
from winremedy.transport import WinRMOptions, WinRMTransport

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "S3cret!"
BARE = {"os": "win2003", "sp": 1, "arch": "x86", "products": ["lcs2005"], "powershell": None, "locale": "de-DE"}
WITH_POWERSHELL = {"os": "win7", "sp": 1, "arch": "x64"}
PACKAGES = {"win2003": ("KB903927", "5.2.3790", "x86"), "win7": ("KB2847346", "6.1.7601", "x64")}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("acl") / "repo"
    write_repository(directory)
    return directory


def _host(name: str, entry: dict[str, Any]) -> EmulatedHost:
    fleet = {"credentials": {"user": USER, "password": PASSWORD}, "hosts": [{"name": name, **entry}]}
    return EmulatedHost(fleet_from_dict(fleet).hosts[0], ManualClock(1.7e9))


def _route(server: Any, host: EmulatedHost) -> tuple[WinRMTransport, Any]:
    options = WinRMOptions(address="127.0.0.1", port=server.listeners[0].port, scheme="http", transport="ntlm",
                           user=USER, password=PASSWORD, retries=0)
    transport = WinRMTransport(host.name, options, sleep=lambda _: None)
    return transport, route_for(transport, host.spec.powershell, 150)


@pytest.mark.parametrize("entry", [WITH_POWERSHELL, BARE], ids=["powershell", "cmd"])
def test_a_folder_a_local_user_prepared_is_refused_and_ours_is_private(
        wire_serve: Any, repo: Path, entry: dict[str, Any]) -> None:
    source, manifest = open_source(repo=repo)
    kb, version, arch = PACKAGES[entry["os"]]
    package = pick(manifest, kb, entry["os"], version, 1, arch)
    assert package is not None
    squatted, clean = _host("squatted", entry), _host("clean", entry)
    assert squatted.fs.user_write(f"{STAGING_DIR}\\{package.file}", b"MZ planted", LOCAL_USER)
    for host in (squatted, clean):
        server, _ = wire_serve(host)
        transport, route = _route(server, host)
        with transport:
            if host is squatted:
                with pytest.raises(StageError, match=r"squatted: \w+: refusing the staging folder .*squatter"):
                    route.stage(source, package)
            else:
                route.stage(source, package)
    assert squatted.fs.read(f"{STAGING_DIR}\\{package.file}") == b"MZ planted" and squatted.counters.stages == 0
    assert clean.fs.folder(STAGING_DIR) == Security(ADMINISTRATORS, PRIVATE) and clean.counters.stages == 1
    assert not clean.fs.user_write(f"{STAGING_DIR}\\{package.file}", b"MZ swapped", LOCAL_USER)


def test_without_powershell_the_system_task_refuses_a_package_changed_after_staging(wire_serve: Any, repo: Path) -> None:
    source, manifest = open_source(repo=repo)
    package = pick(manifest, "KB903927", "win2003", "5.2.3790", 1, "x86")
    assert package is not None
    host = _host("lcs-1", BARE)
    server, _ = wire_serve(host)
    transport, route = _route(server, host)
    with transport:
        staged = route.stage(source, package)
        host.fs.write(staged.path, b"MZ" + host.fs.read(staged.path)[2:] + b" payload")  # between check and task
        route.start_task(install.install_task_name(package.kb),
                         install.install_lines(package, staged.path, "win2003", verify=route.verify_lines))
        host.clock.advance(600)
        result = install.finish_install(transport, package.kb, query=route.query_task)
    assert result.outcome is Outcome.FAILED and result.exit_code is not None
    assert result.exit_code & 0xFFFFFFFF == BAD_DIGEST and "the installer did not run" in result.message
    assert host.counters.installs == 0 and host.installed() == {}
