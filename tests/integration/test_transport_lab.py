"""WinRMTransport against the lab's WS-Management server: real pywinrm, real HTTP, NTLM and TLS.

The host here is a small fake LabHost that understands the run_ps bootstrap
(through ``decode_script``) and echoes what it received, so the test checks
that a script far beyond the command-line limit arrives intact.
"""

from __future__ import annotations

import hashlib
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from winremedy.errors import AuthenticationError, ScriptFailedError, TlsError, UnreachableError
from winremedy.lab.api import CommandResult, WireFault
from winremedy.lab.stub import StubHost
from winremedy.transport import WinRMOptions, WinRMTransport
from winremedy.transport.bootstrap import DIGEST_SENTINEL, decode_script, script_digest
from winremedy.transport.delivery import NOT_RECOGNIZED

pytestmark = pytest.mark.integration

USER, PASSWORD = "winremedy", "S3cret 'pass\""


@dataclass
class EchoHost(StubHost):
    """A StubHost that runs bootstrapped scripts by reporting their size and digest."""

    name: str = "HOST1"
    user: str = USER
    password: str = PASSWORD
    scripts: list[str] = field(default_factory=list)

    def wants_stdin(self, command: str, arguments: list[str]) -> bool:
        return command.lower() == "powershell.exe"

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        script = decode_script(command, arguments, stdin)
        if script is not None:
            self.scripts.append(script)
            digest = hashlib.sha256(script.encode("utf-8")).hexdigest()
            proof = f"{DIGEST_SENTINEL}{script_digest(script)}\r\n"  # what the bootstrap prints before the script
            return CommandResult(f"{proof}{len(script)} {digest}\r\n".encode(), b"", 0)
        words = " ".join([command, *arguments]).split()
        if words[:3] == ["cmd.exe", "/c", "echo"]:
            return CommandResult((" ".join(words[3:]) + "\r\n").encode(), b"", 0)
        return CommandResult(b"", f"'{words[0]}' is not recognized\r\n".encode(), NOT_RECOGNIZED)


def _transport(server: Any, sleeps: list[float], **options: Any) -> WinRMTransport:
    settings: dict[str, Any] = {"transport": "ntlm", "scheme": "http", "user": USER, "password": PASSWORD}
    settings.update(options)
    port = settings.pop("port") if server is None else server.listeners[0].port
    return WinRMTransport("host1", WinRMOptions(address="127.0.0.1", port=port, **settings), sleep=sleeps.append)


def test_run_ps_delivers_a_20_kb_script_intact(wire_serve: Any) -> None:
    host = EchoHost()
    server, _ = wire_serve(host)
    script = "$lines = @(\n" + ",\n".join(f"  'line {i} caf\u00e9 \u2019quoted\u2019'" for i in range(800)) + "\n)\nexit 0\n"
    assert len(script) > 20_000
    with _transport(server, []) as transport:
        result = transport.run_ps(script)
        again = transport.run_ps("Get-Date")
    assert result.stdout_text == f"{len(script)} {hashlib.sha256(script.encode()).hexdigest()}\r\n"
    assert host.scripts == [script, "Get-Date"]
    assert again.ok and host.counters.shells == 1


def test_run_cmd_and_check(wire_serve: Any) -> None:
    server, _ = wire_serve(EchoHost())
    with _transport(server, []) as transport:
        assert transport.run_cmd("cmd.exe", ["/c", "echo", "hello"]).stdout_text == "hello\r\n"
        with pytest.raises(ScriptFailedError, match="^host1: exit code 9009: 'nosuch.exe' is not recognized"):
            transport.run_cmd("nosuch.exe", check=True)


def test_https_with_the_lab_ca(wire_serve: Any, wire_tls: Any) -> None:
    server, _ = wire_serve(EchoHost(), scheme="https")
    with _transport(server, [], transport="ssl", scheme="https", ca_trust_path=str(wire_tls.ca_cert)) as transport:
        assert transport.run_ps("1").ok


def test_wrong_password_is_an_authentication_error_not_retried(wire_serve: Any) -> None:
    server, _ = wire_serve(EchoHost())
    sleeps: list[float] = []
    with pytest.raises(AuthenticationError, match=r"^host1: authentication refused \(ntlm, user \w+\): the specified credentials were rejected"):
        _transport(server, sleeps, password="wrong").run_ps("1")
    assert sleeps == []


def test_refused_port_is_unreachable_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(UnreachableError, match=r"^host1: cannot connect to http://127.0.0.1:\d+/wsman: .*refused"):
        _transport(None, sleeps, port=port).run_ps("1")
    assert sleeps == [0.5, 1.0, 2.0]


def test_certificate_from_an_unknown_ca_is_a_tls_error(wire_serve: Any) -> None:
    server, _ = wire_serve(EchoHost(), scheme="https")
    sleeps: list[float] = []
    with pytest.raises(TlsError, match="^host1: TLS failure .*CERTIFICATE_VERIFY_FAILED"):
        _transport(server, sleeps, transport="ssl", scheme="https").run_ps("1")
    assert sleeps == []


@pytest.mark.parametrize(("action", "fault"), [("Receive", WireFault.RESET), ("Command", WireFault.HTTP_500)])
def test_injected_transient_faults_are_retried(wire_serve: Any, action: str, fault: WireFault) -> None:
    host = EchoHost(faults={action: deque([fault])})
    server, _ = wire_serve(host)
    sleeps: list[float] = []
    with _transport(server, sleeps) as transport:
        assert transport.run_ps("Get-Date").ok
    assert sleeps == [0.5]
