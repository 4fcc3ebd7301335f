"""The collection's Transport adapter over an Ansible connection (plugins/plugin_utils/_transport.py).

The connection is ansible-core's real winrm plugin with only its wire call
(``_winrm_exec``) replaced: what it would send goes to an in-process lab host,
so the encoding under test is Ansible's own and the answer is the lab's.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests.exceptions
import winrm.exceptions
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection.winrm import Connection

from winremedy.catalog import load_catalog
from winremedy.audit.collector import build_query, parse_collect_output
from winremedy.errors import (
    AuthenticationError,
    ScriptFailedError,
    TlsError,
    TransportConfigError,
    UnreachableError,
    WinRMFaultError,
)
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.scripts import render
from winremedy.transport.bootstrap import BOOTSTRAP, COMMAND_LINE_LIMIT, stdin_script

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    """The plugin_utils file by path: it imports nothing from the collection, so no collection loader is needed."""
    path = REPO / "plugins" / "plugin_utils" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_winremedy_test_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_transport = _load("_transport")


class LabWire:
    """Stands in for the winrm plugin's ``_winrm_exec``: every command goes to one lab host, and is recorded."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self.calls: list[tuple[str, list[str], bytes]] = []

    def __call__(self, command: str, args: list[str], from_exec: bool = False, stdin_iterator: Any = None
                 ) -> tuple[int, bytes, bytes]:
        stdin = b"".join(chunk for chunk, _ in stdin_iterator) if stdin_iterator else b""
        self.calls.append((command, list(args), stdin))
        result = self.host.run(command, list(args), stdin)
        return result.exit_code, result.stdout, result.stderr


def winrm_connection(host: EmulatedHost) -> tuple[Connection, LabWire]:
    connection = Connection(PlayContext())
    connection._connected = True  # no network: the wire call is replaced
    wire = LabWire(host)
    connection._winrm_exec = wire

    def connect() -> Connection:  # what the plugin's own connect leaves: its pywinrm Protocol and shell
        connection.protocol, connection.shell_id = LabProtocol(host), "shell-1"
        return connection

    connection._connect = connect
    return connection, wire


def failing_winrm_connection(error: BaseException) -> Connection:
    """The real winrm plugin whose wire call raises ``error`` (as a refused or dropped connection does)."""
    connection = Connection(PlayContext())
    connection._connected = True

    def fail(*args: Any, **kwargs: Any) -> tuple[int, bytes, bytes]:
        raise error

    connection._winrm_exec = fail
    return connection


def lab_host(family: str = "win7", sp: int = 1, arch: str = "x64", **spec: Any) -> EmulatedHost:
    profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]
    return EmulatedHost(HostSpec(name="W7-0001", profile=profile, user="Administrator",
                                 password="pw", **spec), ManualClock(1.7e9), port=45001)


class RaisingConnection:
    transport = "winrm"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        raise self.error


def test_one_exec_command_runs_the_collector_through_one_powershell() -> None:
    host = lab_host()
    connection, wire = winrm_connection(host)
    script = render("collect", build_query(load_catalog()))
    assert len(script) > COMMAND_LINE_LIMIT  # would not fit on a command line

    result = _transport.ConnectionTransport(connection, "w7-0001").run_ps(script, check=True)

    assert result.rc == 0 and parse_collect_output(result.stdout, host="w7-0001").os.sp == 1  # type: ignore[union-attr]
    assert len(wire.calls) == 1 and host.counters.scripts == {"collect 1": 1}
    command, args, stdin = wire.calls[0]
    assert command == "PowerShell" and args[:5] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy",
                                                    "Unrestricted", "-EncodedCommand"]
    assert base64.b64decode(args[5]).decode("utf-16-le") == BOOTSTRAP  # encoded once: no inner powershell.exe
    assert len(" ".join([command, *args])) < 1000
    assert stdin_script(stdin) == script


def test_a_failing_command_is_script_failed_with_check_and_a_result_without() -> None:
    host = lab_host("win2003", 2, "x86", powershell=None)  # no PowerShell at all
    connection, _ = winrm_connection(host)
    transport = _transport.ConnectionTransport(connection, "bare-01")
    result = transport.run_ps("'hello'")
    assert result.rc == 9009 and b"not recognized" in result.stderr
    with pytest.raises(ScriptFailedError, match=r"^bare-01: exit code 9009: 'PowerShell' is not recognized"):
        transport.run_ps("'hello'", check=True)


def test_clixml_stderr_is_cleaned() -> None:
    class Clixml(RaisingConnection):
        def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True
                         ) -> tuple[int, bytes, bytes]:
            return 1, b"", (b'#< CLIXML\r\n<Objs Version="1.1.0.1" '
                            b'xmlns="http://schemas.microsoft.com/powershell/2004/04">'
                            b'<S S="Error">boom_x000D__x000A_</S></Objs>')

    result = _transport.ConnectionTransport(Clixml(ValueError()), "h").run_ps("x")
    assert result.stderr == b"boom\r\n"


@pytest.mark.parametrize(("error", "kind", "text"), [
    (AnsibleConnectionFailure("ntlm: the specified credentials were rejected by the server"), AuthenticationError,
     "h1: authentication refused: ntlm: the specified credentials were rejected by the server"),
    (AnsibleConnectionFailure("Kerberos auth failure for principal a@LAB: kinit: Password incorrect while getting "
                              "initial credentials"), AuthenticationError, "h1: authentication refused: Kerberos auth"),
    (AnsibleConnectionFailure("kerberos: authGSSClientStep() failed: (('Unspecified GSS failure', 851968), "
                              "('Ticket expired', -1765328352))"), AuthenticationError, "h1: authentication refused: kerberos"),
    (AnsibleConnectionFailure("Kerberos auth failure when calling kinit cmd 'kinit': No such file"), TransportConfigError,
     "h1: Kerberos auth failure when calling kinit cmd 'kinit': No such file; install MIT Kerberos' kinit"),
    (AnsibleConnectionFailure("credssp: ('Connection aborted.', ConnectionResetError(104, 'reset'))"), UnreachableError,
     "h1: credssp: ('Connection aborted.'"),
    (AnsibleConnectionFailure("ntlm: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"),
     UnreachableError, "h1: ntlm: ('Connection aborted.'"),
    (AnsibleError("the connection attempt timed out"), UnreachableError, "h1: the connection attempt timed out"),
    (AnsibleConnectionFailure("ssl: HTTPSConnectionPool(host='h1', port=5986): Max retries exceeded (Caused by "
                              "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                              "verify failed')))"), TlsError, "h1: TLS failure: ssl: HTTPSConnectionPool"),
    (requests.exceptions.SSLError("bad handshake"), TlsError, "h1: TLS failure: bad handshake"),
    (requests.exceptions.ConnectionError("refused"), UnreachableError, "h1: refused"),
    (winrm.exceptions.InvalidCredentialsError("401"), AuthenticationError, "h1: authentication refused: 401"),
    (winrm.exceptions.WSManFaultError(500, "m", "r", "The shell was not found", wsman_fault_code=2150858843),
     WinRMFaultError, "h1: WS-Management fault 2150858843: The shell was not found"),
    (winrm.exceptions.WinRMTransportError("http", 503, "busy"), WinRMFaultError, "h1: HTTP 503: Bad HTTP response"),
    (AnsibleError("No transport found for WinRM connection"), TransportConfigError,
     "h1: No transport found for WinRM connection"),
])
def test_connection_errors_become_typed_errors(error: BaseException, kind: type[Exception], text: str) -> None:
    transport = _transport.ConnectionTransport(RaisingConnection(error), "h1")
    with pytest.raises(kind) as raised:
        transport.run_ps("x")
    assert str(raised.value).startswith(text)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # one line, no chained traceback


def test_an_unknown_exception_is_not_hidden() -> None:
    transport = _transport.ConnectionTransport(RaisingConnection(KeyError("bug")), "h1")
    with pytest.raises(KeyError):
        transport.run_ps("x")


def test_only_the_winrm_connection_is_accepted() -> None:
    class Psrp(RaisingConnection):
        transport = "psrp"

    with pytest.raises(TransportConfigError, match="h1: connection 'psrp' is not supported; use ansible_connection"):
        _transport.ConnectionTransport(Psrp(ValueError()), "h1")


class LabProtocol:
    """pywinrm's ``Protocol`` as the run_cmd path uses it, answered by a lab host through its cmd.exe."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self.lines: list[str] = []
        self.cleaned: list[str] = []

    def run_command(self, shell_id: str, command: str, arguments: tuple[str, ...] = ()) -> str:
        self.lines.append(" ".join([command, *arguments]))
        return f"cmd-{len(self.lines)}"

    def get_command_output(self, shell_id: str, command_id: str) -> tuple[bytes, bytes, int]:
        answer = self.host.run(self.lines[-1], [], b"")
        return answer.stdout, answer.stderr, answer.exit_code

    def cleanup_command(self, shell_id: str, command_id: str) -> None:
        self.cleaned.append(command_id)


class ProtocolConnection:
    transport = "winrm"

    def __init__(self, protocol: LabProtocol) -> None:
        self.protocol: LabProtocol | None = None
        self.shell_id: str | None = None
        self._protocol = protocol

    def _connect(self) -> ProtocolConnection:
        self.protocol, self.shell_id = self._protocol, "shell-1"
        return self


def test_run_cmd_runs_a_cmd_line_through_the_connections_protocol_and_cleans_up() -> None:
    protocol = LabProtocol(lab_host("win2003", 1, "x86", powershell=None))
    transport = _transport.ConnectionTransport(ProtocolConnection(protocol), "h1")
    result = transport.run_cmd("ver")
    assert result.rc == 0 and "Microsoft Windows [Version 5.2.3790]" in result.stdout_text
    assert protocol.lines == ["ver"] and protocol.cleaned == ["cmd-1"]
    missing = transport.run_cmd("powershell", ["-NoProfile"])
    assert missing.rc == 9009 and "not recognized" in missing.stderr_text
    with pytest.raises(TransportConfigError, match="h1: wusa.exe: stdin outside PowerShell is not supported"):
        transport.run_cmd("wusa.exe", stdin=b"x")
    transport.close()
    transport.close()
