"""The lab's WS-Management server, driven by the real, unchanged client libraries over loopback.

pywinrm (NTLM + encryption over HTTP, NTLM and Basic over HTTPS with the lab CA verified), pypsrp's WinRS
client, and the faults a real host gives: bad password, unknown CommandId, TimedOut re-polls, shell quota,
envelope size, a host that is down, an injected reset and an injected 500, channel binding.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import winrm
from pypsrp.shell import Process, WinRS
from pypsrp.wsman import WSMan
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError, WSManFaultError

from winremedy.lab.api import CommandResult, WireFault
from winremedy.lab.stub import StubHost

pytestmark = pytest.mark.integration

USER, PASSWORD = "vagrant", "Pa:ss w0rd!"
NOT_RECOGNIZED = (
    "'{}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
)


@dataclass
class FakeHost(StubHost):
    """A StubHost with a handful of commands; enough to exercise the wire, nothing of Windows."""

    name: str = "HOST1"
    user: str = USER
    password: str = PASSWORD
    host_domain: bool = True

    def wants_stdin(self, command: str, arguments: list[str]) -> bool:
        return " ".join([command, *arguments]).lower() == "powershell -command -"

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        words = " ".join([command, *arguments]).split()
        line = " ".join(words).lower()
        if line == "hostname":
            return CommandResult(b"HOST1\r\n", b"", 0)
        if line.startswith("cmd /c exit "):
            return CommandResult(b"", b"", int(words[3]))
        if line == "slow":
            return CommandResult(b"finally\r\n", b"", 0, delay=2.5)
        if line == "powershell -command -":
            return CommandResult(f"{len(stdin)}\r\n".encode(), b"", 0)
        if words[0].lower() == "powershell" and "-encodedcommand" in line.split():
            encoded = words[line.split().index("-encodedcommand") + 1]
            return CommandResult(f"ran: {base64.b64decode(encoded).decode('utf-16-le')}\r\n".encode(), b"", 0)
        if words[:3] == ["cmd.exe", "/c", "echo"]:
            return CommandResult((" ".join(words[3:]) + "\r\n").encode(), b"", 0)
        return CommandResult(b"", NOT_RECOGNIZED.format(words[0]).encode(), 1)


def _url(server, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.listeners[0].port}/wsman"


def _session(server, transport: str = "ntlm", scheme: str = "http", password: str = PASSWORD, **kwargs) -> winrm.Session:
    return winrm.Session(_url(server, scheme), auth=(USER, password), transport=transport, **kwargs)


def _validated(wire_tls) -> dict[str, str]:
    return {"server_cert_validation": "validate", "ca_trust_path": str(wire_tls.ca_cert)}


def _protocol(server, **kwargs) -> winrm.Protocol:
    return winrm.Protocol(_url(server), transport="ntlm", username=USER, password=PASSWORD, **kwargs)


def test_ntlm_over_http_is_encrypted_and_runs_commands(wire_serve) -> None:
    host = FakeHost()
    server, exchanges = wire_serve(host)
    session = _session(server)

    ok = session.run_cmd("hostname")
    failed = session.run_cmd("cmd", ["/c", "exit", "3"])
    unknown = session.run_cmd("foo")

    assert (ok.status_code, ok.std_out, ok.std_err) == (0, b"HOST1\r\n", b"")
    assert failed.status_code == 3
    assert (unknown.status_code, unknown.std_err) == (1, NOT_RECOGNIZED.format("foo").encode())
    soap = [e for e in exchanges if e.action]
    assert {e.action for e in soap} == {"Create", "Command", "Receive", "Signal", "Delete"}
    assert all(e.request_type.startswith("multipart/encrypted") for e in soap)
    assert all(e.response_type.startswith("multipart/encrypted") for e in soap)
    assert host.counters.authentications == 3 and host.counters.shells == 3 and host.counters.commands == 3
    assert host.counters.bytes_in > 0 and host.counters.bytes_out > 0 and host.counters.auth_failures == 0


def test_run_ps_sends_an_encoded_command(wire_serve) -> None:
    server, _ = wire_serve(FakeHost())
    result = _session(server).run_ps("Get-Process -Name svchost")
    assert (result.status_code, result.std_out) == (0, b"ran: Get-Process -Name svchost\r\n")


@pytest.mark.parametrize("transport", ["ntlm", "ssl"])
def test_https_with_the_lab_ca_verified(wire_serve, wire_tls, transport: str) -> None:
    host = FakeHost()
    server, exchanges = wire_serve(host, scheme="https")
    result = _session(server, transport, "https", **_validated(wire_tls)).run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HOST1\r\n")
    assert all(e.request_type.startswith("application/soap+xml") for e in exchanges if e.action)
    assert host.counters.authentications >= 1


def test_stdin_in_several_chunks(wire_serve) -> None:
    server, exchanges = wire_serve(FakeHost())
    protocol = _protocol(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "powershell", ["-Command", "-"])
    for chunk in (b"a" * 1000, b"b" * 2000):
        protocol.send_command_input(shell, command, chunk)
    protocol.send_command_input(shell, command, b"c" * 500, end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert (stdout, stderr, rc) == (b"3500\r\n", b"", 0)
    assert sum(e.action == "Send" for e in exchanges) == 3


@pytest.mark.parametrize("auth", ["ntlm", "negotiate", "basic"])
def test_pypsrp_winrs(wire_serve, wire_tls, auth: str) -> None:
    server, _ = wire_serve(FakeHost(), scheme="https" if auth == "basic" else "http")
    wsman = WSMan(
        "127.0.0.1", port=server.listeners[0].port, username=USER, password=PASSWORD, auth=auth,
        ssl=auth == "basic", cert_validation=str(wire_tls.ca_cert),
    )
    with wsman, WinRS(wsman) as shell:
        process = Process(shell, "cmd.exe", ["/c", "echo", "hello"])
        process.invoke()
        process.signal(0)  # terminate, as pypsrp's own Client does
    assert (process.rc, process.stdout) == (0, b"hello\r\n")


@pytest.mark.parametrize("transport,scheme", [("ntlm", "http"), ("ssl", "https")])
def test_wrong_password_is_rejected(wire_serve, wire_tls, transport: str, scheme: str) -> None:
    host = FakeHost()
    server, _ = wire_serve(host, scheme=scheme)
    with pytest.raises(InvalidCredentialsError):
        _session(server, transport, scheme, password="wrong", **_validated(wire_tls)).run_cmd("hostname")
    assert host.counters.auth_failures == 1 and host.counters.shells == 0


def test_first_401_and_a_rejection_carry_the_same_challenge(wire_serve) -> None:
    server, _ = wire_serve(FakeHost())
    first = requests.post(_url(server), data=b"", headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    basic = requests.post(_url(server), auth=(USER, "wrong"))
    get = requests.get(_url(server))
    assert first.status_code == basic.status_code == 401
    assert first.headers["WWW-Authenticate"] == basic.headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'
    assert first.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    assert (get.status_code, get.headers["Allow"]) == (405, "POST")


def test_unknown_command_id_is_invalid_selectors(wire_serve) -> None:
    server, _ = wire_serve(FakeHost())
    protocol = _protocol(server)
    shell = protocol.open_shell()
    with pytest.raises(WSManFaultError) as fault:
        protocol.get_command_output(shell, "11111111-2222-3333-4444-555555555555")
    protocol.close_shell(shell)
    assert fault.value.wsman_fault_code == 2150858843
    assert fault.value.fault_subcode == "w:InvalidSelectors"


def test_slow_command_is_polled_through_timed_out_faults(wire_serve) -> None:
    host = FakeHost()
    server, exchanges = wire_serve(host)
    result = _session(server, operation_timeout_sec=1, read_timeout_sec=2).run_cmd("slow")
    assert (result.status_code, result.std_out) == (0, b"finally\r\n")
    receives = [e.status for e in exchanges if e.action == "Receive"]
    assert receives[-1] == 200 and receives.count(500) >= 2
    assert host.counters.faults == receives.count(500)


def test_shell_quota_per_user(wire_serve) -> None:
    server, _ = wire_serve(FakeHost(max_shells_per_user=2))
    protocol = _protocol(server)
    shells = [protocol.open_shell(), protocol.open_shell()]
    with pytest.raises(WSManFaultError) as fault:
        protocol.open_shell()
    for shell in shells:
        protocol.close_shell(shell, close_session=False)
    protocol.close_shell(protocol.open_shell())  # a freed slot can be used again
    assert (fault.value.wsman_fault_code, fault.value.fault_subcode) == (2150859173, "w:QuotaLimit")


def test_request_over_max_envelope_size_gets_413(wire_serve) -> None:
    server, _ = wire_serve(FakeHost(max_envelope_kb=16))
    protocol = _protocol(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "powershell", ["-Command", "-"])
    with pytest.raises(WinRMTransportError) as error:
        protocol.send_command_input(shell, command, b"x" * 20000, end=True)
    assert error.value.code == 413


def test_host_down_drops_the_connection(wire_serve) -> None:
    host = FakeHost(up=False)
    server, _ = wire_serve(host)
    with pytest.raises(requests.exceptions.ConnectionError):
        _session(server).run_cmd("hostname")
    assert host.counters.connections >= 1 and host.counters.requests == 0


def test_reset_during_receive(wire_serve) -> None:
    host = FakeHost(faults={"Receive": deque([WireFault.RESET])})
    server, _ = wire_serve(host)
    with pytest.raises(requests.exceptions.ConnectionError):
        _session(server).run_cmd("hostname")
    assert host.counters.faults == 1


def test_injected_500_is_a_wsman_fault(wire_serve) -> None:
    host = FakeHost(faults={"Command": deque([WireFault.HTTP_500])})
    server, _ = wire_serve(host)
    with pytest.raises(WSManFaultError) as fault:
        _session(server).run_cmd("hostname")
    assert fault.value.code == 500 and fault.value.wsman_fault_code == 2147942414
    assert fault.value.fault_subcode == "w:InternalError"


@pytest.mark.parametrize("send_cbt,works", [(True, True), (False, False)])
def test_channel_binding_enforced(wire_serve, wire_tls, send_cbt: bool, works: bool) -> None:
    server, _ = wire_serve(FakeHost(), scheme="https", require_channel_binding=True)
    session = _session(server, "ntlm", "https", send_cbt=send_cbt, **_validated(wire_tls))
    if works:
        assert session.run_cmd("hostname").std_out == b"HOST1\r\n"
    else:
        with pytest.raises(InvalidCredentialsError):
            session.run_cmd("hostname")


def test_https_is_refused_without_the_lab_ca(wire_serve) -> None:
    server, _ = wire_serve(FakeHost(), scheme="https")
    with pytest.raises(requests.exceptions.SSLError):
        _session(server, "ssl", "https", server_cert_validation="validate", ca_trust_path=requests.certs.where()).run_cmd(
            "hostname"
        )


def test_ntlm_without_encryption_and_a_second_loopback_address(wire_serve) -> None:
    server, exchanges = wire_serve(FakeHost(allow_unencrypted=True), address="127.0.0.2")
    url = f"http://127.0.0.2:{server.listeners[0].port}/wsman"
    session = winrm.Session(url, auth=(USER, PASSWORD), transport="ntlm", message_encryption="never")
    assert session.run_cmd("hostname").std_out == b"HOST1\r\n"
    assert all(e.request_type.startswith("application/soap+xml") for e in exchanges if e.action)


@pytest.mark.parametrize(("transport", "encryption"), [("basic", "auto"), ("plaintext", "auto"), ("ntlm", "never")])
def test_unencrypted_http_is_refused_as_windows_refuses_it(wire_serve, transport: str, encryption: str) -> None:
    host = FakeHost()  # AllowUnencrypted=false, Windows' default
    server, exchanges = wire_serve(host)
    with pytest.raises(InvalidCredentialsError):
        _session(server, transport, message_encryption=encryption).run_cmd("hostname")
    assert host.counters.commands == 0 and not any(e.action for e in exchanges)
    assert _session(server, "ntlm").run_cmd("hostname").std_out == b"HOST1\r\n"  # sealed NTLM still works


def test_malformed_envelope_gets_a_schema_fault_and_the_server_carries_on(wire_serve) -> None:
    server, _ = wire_serve(FakeHost(allow_unencrypted=True))
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8"}
    garbage = requests.post(_url(server), data=b"<not-soap", headers=headers, auth=(USER, PASSWORD))
    unknown = requests.post(_url(server), data=_envelope("urn:nothing"), headers=headers, auth=(USER, PASSWORD))
    assert garbage.status_code == unknown.status_code == 500
    assert b"w:SchemaValidationError" in garbage.content and b"2150858817" in garbage.content
    assert b"a:ActionNotSupported" in unknown.content and b"uuid:00000000-0000-0000-0000-000000000001" in unknown.content
    assert _session(server, "basic").run_cmd("hostname").std_out == b"HOST1\r\n"


def _envelope(action: str) -> bytes:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
        f"<a:Action>{action}</a:Action><a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID>"
        "</s:Header><s:Body/></s:Envelope>"
    ).encode()


def test_ansible_winrm_connection_raw(wire_serve) -> None:
    server, exchanges = wire_serve(FakeHost())
    hostvars = {
        "ansible_connection": "winrm",
        "ansible_port": server.listeners[0].port,
        "ansible_winrm_scheme": "http",
        "ansible_winrm_transport": "ntlm",
        "ansible_user": USER,
        "ansible_password": PASSWORD,
    }
    ansible = Path(sys.executable).with_name("ansible")
    run = subprocess.run(
        [str(ansible), "all", "-i", "127.0.0.1,", "-m", "raw", "-a", "hostname", "-e", json.dumps(hostvars)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CHANGED | rc=0" in run.stdout and "ran: " in run.stdout and "hostname" in run.stdout
    assert all(e.request_type.startswith("multipart/encrypted") for e in exchanges if e.action)


def test_a_failing_host_model_gives_a_fault_not_a_dead_server(wire_serve) -> None:
    class Broken(FakeHost):
        def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
            raise RuntimeError("model bug")

    server, _ = wire_serve(Broken())
    with pytest.raises(WSManFaultError) as fault:
        _session(server).run_cmd("hostname")
    assert fault.value.fault_subcode == "w:InternalError"
    with pytest.raises(WSManFaultError):
        _session(server).run_cmd("hostname")
