"""Script delivery on PowerShell 2.0 and 3.0, over real HTTP, through pywinrm and Ansible's winrm connection.

The lab's powershell.exe hands stdin to a command as the console host of each version does
(winremedy.lab.console_host): on 2.0 the host reads it all for ``$input``, so a loader reading
``[Console]::In`` gets nothing; on 3.0 ``[Console]::In`` gets it unless the command names ``$input``.
"""

from __future__ import annotations

import base64
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import winrm.protocol
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from winremedy.audit.collector import build_query, parse_collect_output
from winremedy.catalog import load_catalog
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.scripts import render
from winremedy.transport import WinRMOptions, WinRMTransport
from winremedy.transport.bootstrap import POWERSHELL, POWERSHELL_ARGUMENTS, encode_script

pytestmark = pytest.mark.integration

USER, PASSWORD = "Administrator", "Pa55word!"
# The bootstrap as it was: it read the payload with a second reader on the console's stdin.
CONSOLE_IN_BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';"
    "$winremedy=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd()));"
    "&([scriptblock]::Create($winremedy))"
)
OLD_ARGUMENTS = (*POWERSHELL_ARGUMENTS[:-1], base64.b64encode(CONSOLE_IN_BOOTSTRAP.encode("utf-16-le")).decode())


def _host(powershell: str) -> EmulatedHost:
    spec = HostSpec(name=f"ps{powershell[0]}-0001", profile=OsProfile("win7", 1, "x64"), user=USER,
                    password=PASSWORD, powershell=powershell)
    return EmulatedHost(spec, ManualClock(1.7e9))


@pytest.fixture
def serve(wire_serve: Any) -> Callable[[str], tuple[EmulatedHost, int]]:
    def start(powershell: str) -> tuple[EmulatedHost, int]:
        host = _host(powershell)
        server, _ = wire_serve(host)
        return host, server.listeners[0].port

    return start


def _connection_transport() -> ModuleType:
    """The collection's plugin_utils/_transport.py, by path (it imports nothing from the collection)."""
    path = Path(__file__).parents[2] / "plugins" / "plugin_utils" / "_transport.py"
    spec = importlib.util.spec_from_file_location("_winremedy_delivery_transport", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _collector() -> str:
    return render("collect", build_query(load_catalog()))


def _pywinrm_run(port: int, arguments: tuple[str, ...], stdin: bytes) -> tuple[bytes, int]:
    """What a pywinrm user sends: a shell with code page 437, the command, stdin with End on the last Send."""
    protocol = winrm.protocol.Protocol(f"http://127.0.0.1:{port}/wsman", transport="ntlm", username=USER,
                                       password=PASSWORD)
    shell = protocol.open_shell(codepage=437)
    try:
        command = protocol.run_command(shell, POWERSHELL, [" ".join(arguments)], console_mode_stdin=False)
        protocol.send_command_input(shell, command, stdin, end=True)
        stdout, _, rc = protocol.get_command_output(shell, command)
        protocol.cleanup_command(shell, command)
        return stdout, rc
    finally:
        protocol.close_shell(shell)


@pytest.fixture
def ansible_connection() -> Iterator[Callable[[int], Any]]:
    opened: list[Any] = []

    def connect(port: int) -> Any:
        connection = connection_loader.get("winrm", PlayContext())
        connection.set_options(var_options={
            "ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": USER, "ansible_password": PASSWORD,
            "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
            "_extras": {},  # what the task executor hands in: the ansible_winrm_* variables not declared as options
        })
        connection._connect()  # the plugin opens its shell with code page 65001
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()


def test_the_console_in_bootstrap_delivers_nothing_on_powershell_2(serve: Any) -> None:
    host, port = serve("2.0")
    stdout, rc = _pywinrm_run(port, OLD_ARGUMENTS, encode_script(_collector()))
    assert (stdout, rc) == (b"", 0)  # PowerShell ran an empty script block: no answer at all
    assert host.counters.scripts == {}


def test_the_console_in_bootstrap_worked_on_powershell_3_only(serve: Any) -> None:
    host, port = serve("3.0")
    stdout, rc = _pywinrm_run(port, OLD_ARGUMENTS, encode_script(_collector()))
    assert rc == 0 and parse_collect_output(stdout, host="h").os is not None
    assert host.counters.scripts == {"collect 1": 1}


@pytest.mark.parametrize("powershell", ["2.0", "3.0"])
def test_the_input_bootstrap_delivers_the_whole_script_over_pywinrm(serve: Any, powershell: str) -> None:
    host, port = serve(powershell)
    options = WinRMOptions(address="127.0.0.1", port=port, transport="ntlm", scheme="http", user=USER,
                           password=PASSWORD)
    with WinRMTransport(host.name, options) as transport:
        facts = parse_collect_output(transport.run_ps(_collector(), check=True).stdout, host=host.name)
        assert transport.delivery.route.value == "stdin" and not transport.delivery.fell_back
    assert facts.os is not None and facts.os.version == "6.1.7601"
    assert host.counters.scripts == {"collect 1": 1} and host.counters.commands == 1


@pytest.mark.parametrize("powershell", ["2.0", "3.0"])
def test_the_input_bootstrap_delivers_the_whole_script_over_ansible_winrm(
        serve: Any, ansible_connection: Any, powershell: str) -> None:
    host, port = serve(powershell)
    transport = _connection_transport().ConnectionTransport(ansible_connection(port), host.name)
    facts = parse_collect_output(transport.run_ps(_collector(), check=True).stdout, host=host.name)
    assert facts.os is not None and not transport.delivery.fell_back
    assert host.counters.scripts == {"collect 1": 1}


def test_a_host_that_reads_no_stdin_gets_the_script_by_file(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stdin lost on the way (as the console-in bootstrap loses it on 2.0): the file route brings the script."""
    from winremedy.transport import bootstrap, winrm as winrm_transport

    host, port = serve("2.0")
    monkeypatch.setattr(winrm_transport, "POWERSHELL_ARGUMENTS", OLD_ARGUMENTS)
    options = WinRMOptions(address="127.0.0.1", port=port, transport="ntlm", scheme="http", user=USER,
                           password=PASSWORD)
    with WinRMTransport(host.name, options) as transport:
        first = transport.run_ps(_collector(), check=True)
        second = transport.run_ps(_collector(), check=True)
        assert transport.delivery.fell_back and transport.delivery.route.value == "file"
    for result in (first, second):
        assert parse_collect_output(result.stdout, host=host.name).os is not None
        assert bootstrap.DIGEST_SENTINEL.encode() not in result.stdout
    assert host.counters.scripts == {"collect 1": 2}
    assert not [path for path in host.fs.listdir("%TEMP%") if path.endswith(".b64")]  # the loader removed it


def test_the_console_in_bootstrap_delivers_nothing_over_ansible_winrm_either(serve: Any, ansible_connection: Any) -> None:
    host, port = serve("2.0")
    rc, stdout, _ = ansible_connection(port).exec_command(CONSOLE_IN_BOOTSTRAP, in_data=encode_script(_collector()))
    assert (rc, stdout) == (0, b"") and host.counters.scripts == {}
