"""WinRMTransport over a real winrm.protocol.Protocol whose wire methods are replaced.

The fake raises the exceptions pywinrm and requests really raise, so these
tests pin the typed errors, retry counts, backoff, shell reuse and stdin
framing without a network.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import winrm.exceptions
import winrm.protocol

from winremedy.errors import (
    AuthenticationError,
    CommandTimeoutError,
    ProtocolError,
    ScriptFailedError,
    TlsError,
    TransportConfigError,
    UnreachableError,
    WinRMFaultError,
)
from winremedy.transport import WinRMOptions, WinRMTransport
from winremedy.transport import winrm as winrm_transport
from winremedy.transport.bootstrap import (
    DIGEST_SENTINEL,
    POWERSHELL,
    POWERSHELL_ARGUMENTS,
    decode_script,
    encode_script,
    script_digest,
)

CLIXML = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
    b"<MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV></PR></MS></Obj>"
    b'<S S="Error">boom: it broke_x000D__x000A_</S><S S="Error">    + CategoryInfo : NotSpecified_x000D__x000A_</S>'
    b"</Objs>"
)


def _fault(code: int | None = None, *, wmi: int | None = None, kind: str = "s:Receiver") -> winrm.exceptions.WSManFaultError:
    return winrm.exceptions.WSManFaultError(
        500, "Bad HTTP response returned from server. Code 500", "<xml/>", "The reason.  ", kind, "w:X", code, wmi
    )


class Wire:
    """Stands in for the network under a real Protocol: records calls, raises queued exceptions."""

    def __init__(self) -> None:
        self.calls: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.queued: defaultdict[str, list[BaseException]] = defaultdict(list)
        self.output: tuple[bytes, bytes, int] = (b"hello\r\n", b"", 0)
        self.shells = 0
        self.command: tuple[str, tuple[str, ...]] = ("", ())
        self.command_stdin = b""

    def fail(self, method: str, exc: BaseException, times: int = 1) -> None:
        self.queued[method].extend([exc] * times)

    def _enter(self, method: str, *args: Any) -> None:
        self.calls[method].append(args)
        if self.queued[method]:
            raise self.queued[method].pop(0)

    def open_shell(self, **kwargs: Any) -> str:
        self._enter("open_shell", kwargs)
        self.shells += 1
        return f"shell-{self.shells}"

    def run_command(self, shell_id: str, command: str, arguments: Any = (), console_mode_stdin: bool = True) -> str:
        self._enter("run_command", shell_id, command, tuple(arguments), console_mode_stdin)
        self.command, self.command_stdin = (command, tuple(arguments)), b""
        return "cmd-1"

    def send_command_input(self, shell_id: str, command_id: str, data: bytes, end: bool = False) -> None:
        self._enter("send_command_input", data, end)
        self.command_stdin += data

    def get_command_output_raw(self, shell_id: str, command_id: str) -> tuple[bytes, bytes, int, bool]:
        self._enter("get_command_output_raw", shell_id)
        stdout, stderr, rc = self.output
        script = decode_script(*self.command, self.command_stdin)
        if script is not None:  # as a host's PowerShell does: the bootstrap proves which script it decoded
            stdout = f"{DIGEST_SENTINEL}{script_digest(script)}\r\n".encode("ascii") + stdout
        return stdout, stderr, rc, True

    def cleanup_command(self, shell_id: str, command_id: str) -> None:
        self._enter("cleanup_command", shell_id)

    def close_shell(self, shell_id: str, close_session: bool = True) -> None:
        self._enter("close_shell", shell_id)

    def stdin(self) -> bytes:
        return b"".join(data for data, _ in self.calls["send_command_input"])


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    fake = Wire()
    for name in ("open_shell", "run_command", "send_command_input", "get_command_output_raw", "cleanup_command", "close_shell"):
        monkeypatch.setattr(winrm.protocol.Protocol, name, getattr(fake, name))  # plain function: no binding
    yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


def _transport(sleeps: list[float], **overrides: Any) -> WinRMTransport:
    options = WinRMOptions(user="admin", password="secret", transport="ntlm", **overrides)
    return WinRMTransport("web01", options, sleep=sleeps.append)


# ---- the happy path -------------------------------------------------------------------------


def test_run_ps_sends_the_bootstrap_and_the_script_on_stdin(wire: Wire, sleeps: list[float]) -> None:
    script = "$a = @'\n" + "x" * 20_000 + "\n'@\nWrite-Output 'caf\u00e9'\n"
    result = _transport(sleeps).run_ps(script)
    assert (result.host, result.rc, result.stdout_text, result.ok) == ("web01", 0, "hello\r\n", True)
    ((shell, command, arguments, console_mode),) = wire.calls["run_command"]
    assert (shell, command, arguments, console_mode) == ("shell-1", POWERSHELL, POWERSHELL_ARGUMENTS, False)
    assert decode_script(command, arguments, wire.stdin()) == script
    assert [end for _, end in wire.calls["send_command_input"]] == [True]
    assert len(wire.calls["cleanup_command"]) == 1


def test_large_stdin_goes_in_chunks_with_end_on_the_last(wire: Wire, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winrm_transport, "STDIN_CHUNK", 1000)
    script = "# " + "y" * 20_000
    _transport(sleeps).run_ps(script)
    sent = wire.calls["send_command_input"]
    assert len(sent) == math.ceil(len(encode_script(script)) / 1000)
    assert all(len(data) <= 1000 for data, _ in sent)
    assert [end for _, end in sent] == [False] * (len(sent) - 1) + [True]
    assert wire.stdin() == encode_script(script)


def test_run_cmd_quotes_arguments_and_sends_no_stdin_unless_given(wire: Wire, sleeps: list[float]) -> None:
    transport = _transport(sleeps)
    transport.run_cmd("cmd.exe", ["/c", "dir", "C:\\Program Files"])
    transport.run_cmd("findstr.exe", ["x"], stdin=b"a\r\nx\r\n")
    first, second = wire.calls["run_command"]
    assert first[1:] == ("cmd.exe", ("/c", "dir", '"C:\\Program Files"'), True)
    assert second[3] is False
    assert wire.calls["send_command_input"] == [(b"a\r\nx\r\n", True)]
    assert len(wire.calls["open_shell"]) == 1  # one shell for the transport's life


def test_close_deletes_the_shell_once(wire: Wire, sleeps: list[float]) -> None:
    with _transport(sleeps) as transport:
        transport.run_ps("1")
    transport.close()
    assert wire.calls["close_shell"] == [("shell-1",)]


def test_check_raises_script_failed_with_clean_stderr(wire: Wire, sleeps: list[float]) -> None:
    wire.output = (b"", CLIXML, 1)
    transport = _transport(sleeps)
    assert transport.run_ps("throw 'boom'").stderr_text == "boom: it broke\r\n    + CategoryInfo : NotSpecified\r\n"
    with pytest.raises(ScriptFailedError, match="^web01: exit code 1: boom: it broke$") as caught:
        transport.run_ps("throw 'boom'", check=True)
    assert caught.value.rc == 1 and "CategoryInfo" in caught.value.stderr
    assert sleeps == []


def test_operation_timeouts_while_receiving_are_waited_out(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("get_command_output_raw", winrm.exceptions.WinRMOperationTimeoutError(), times=3)
    assert _transport(sleeps).run_ps("Start-Sleep 70").ok
    assert len(wire.calls["get_command_output_raw"]) == 4 and sleeps == []


def test_caller_timeout_terminates_the_command(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("get_command_output_raw", winrm.exceptions.WinRMOperationTimeoutError(), times=100)
    with pytest.raises(CommandTimeoutError, match="^web01: powershell.exe still running after 0 s"):
        _transport(sleeps).run_ps("Start-Sleep 999", timeout=0)
    assert len(wire.calls["cleanup_command"]) == 1 and len(wire.calls["run_command"]) == 1


# ---- error mapping and retries -----------------------------------------------------------------

REFUSED = requests.exceptions.ConnectionError(
    "HTTPConnectionPool(host='web01', port=5985): Max retries exceeded with url: /wsman (Caused by "
    "NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new "
    "connection: [Errno 111] Connection refused'))"
)
RESET = requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))")
DNS = requests.exceptions.ConnectionError(
    "HTTPSConnectionPool(host='nohost', port=5986): Max retries exceeded with url: /wsman (Caused by "
    "NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve 'nohost' "
    "([Errno -2] Name or service not known)\"))"
)
BAD_CERT = requests.exceptions.SSLError(
    "HTTPSConnectionPool(host='web01', port=5986): Max retries exceeded with url: /wsman (Caused by "
    "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "unable to get local issuer certificate (_ssl.c:1006)')))"
)


@pytest.mark.parametrize(
    ("method", "exc", "error", "message", "attempts"),
    [
        ("open_shell", REFUSED, UnreachableError, "cannot connect to https://web01:5986/wsman: [Errno 111] Connection refused", 4),
        ("open_shell", requests.exceptions.ConnectTimeout("timed out"), UnreachableError, "connection to https://web01:5986/wsman timed out", 4),
        ("get_command_output_raw", requests.exceptions.ReadTimeout("read"), UnreachableError, "no answer from https://web01:5986/wsman within 30 s", 4),
        ("get_command_output_raw", RESET, UnreachableError, "Connection reset by peer", 4),
        ("open_shell", DNS, UnreachableError, "cannot resolve the address of https://web01:5986/wsman: [Errno -2] Name or service not known", 1),
        ("open_shell", BAD_CERT, TlsError, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", 1),
        ("open_shell", winrm.exceptions.InvalidCredentialsError("the specified credentials were rejected by the server"), AuthenticationError, "authentication refused (ntlm, user admin): the specified credentials were rejected", 1),
        ("run_command", _fault(2150858843, kind="s:Sender"), WinRMFaultError, "fault 2150858843 (0x8033805B): The reason.", 4),
        ("run_command", _fault(wmi=2150859174), WinRMFaultError, "fault 2150859174 (0x803381A6)", 4),
        ("run_command", _fault(), WinRMFaultError, "fault w:X: The reason.", 4),
        ("run_command", _fault(2147942606), WinRMFaultError, "fault 2147942606 (0x800700CE)", 1),
        ("run_command", _fault(87, kind="s:Sender"), WinRMFaultError, "fault 87 (0x00000057)", 1),
        ("send_command_input", winrm.exceptions.WinRMTransportError("http", 500, ""), WinRMFaultError, "Code 500 from", 4),
        ("send_command_input", winrm.exceptions.WinRMTransportError("http", 413, ""), WinRMFaultError, "Code 413 from", 1),
        ("run_command", winrm.exceptions.WinRMOperationTimeoutError(), WinRMFaultError, "operation timed out on the host", 4),
        ("open_shell", StopIteration(), ProtocolError, "malformed WS-Management response", 1),
    ],
)
def test_failures_are_typed_and_only_transient_ones_retried(
    wire: Wire, sleeps: list[float], method: str, exc: BaseException, error: type[Exception], message: str, attempts: int
) -> None:
    wire.fail(method, exc, times=10)
    with pytest.raises(error) as caught:
        _transport(sleeps).run_ps("Get-Date")
    assert str(caught.value).startswith("web01: ") and message in str(caught.value)
    assert len(wire.calls[method]) == attempts
    assert sleeps == [0.5, 1.0, 2.0][: attempts - 1]


def test_fault_code_is_kept(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("run_command", _fault(2147942606))
    with pytest.raises(WinRMFaultError) as caught:
        _transport(sleeps).run_ps("1")
    assert (caught.value.fault_code, caught.value.http_status) == (2147942606, 500)


def test_a_lost_shell_is_replaced_and_the_command_succeeds(wire: Wire, sleeps: list[float]) -> None:
    transport = _transport(sleeps)
    transport.run_ps("1")
    wire.fail("run_command", _fault(2150858843, kind="s:Sender"))
    assert transport.run_ps("2").ok
    assert [call[0] for call in wire.calls["run_command"]] == ["shell-1", "shell-1", "shell-2"]
    assert wire.calls["close_shell"] == [] and sleeps == [0.5]


def test_quota_fault_closes_our_shell_before_opening_another(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("run_command", _fault(wmi=2150859174))
    assert _transport(sleeps).run_ps("1").ok
    assert wire.calls["close_shell"] == [("shell-1",)] and wire.shells == 2


def test_connection_reset_reconnects_and_keeps_the_shell(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("run_command", RESET, times=2)
    assert _transport(sleeps).run_ps("1").ok
    assert wire.shells == 1 and sleeps == [0.5, 1.0]


def test_non_idempotent_command_is_not_rerun_once_accepted(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("get_command_output_raw", RESET)
    with pytest.raises(UnreachableError):
        _transport(sleeps).run_cmd("wusa.exe", ["x.msu"], idempotent=False)
    assert len(wire.calls["run_command"]) == 1


def test_non_idempotent_command_is_retried_before_the_host_accepts_it(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("open_shell", REFUSED)
    assert _transport(sleeps).run_cmd("wusa.exe", ["x.msu"], idempotent=False).ok
    assert len(wire.calls["run_command"]) == 1 and sleeps == [0.5]


def test_retries_and_backoff_are_options(wire: Wire, sleeps: list[float]) -> None:
    wire.fail("open_shell", REFUSED, times=10)
    with pytest.raises(UnreachableError):
        _transport(sleeps, retries=1, backoff=2.0).run_ps("1")
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        ({"transport": "kerberos", "kinit_cmd": "/nonexistent/kinit"}, TransportConfigError, "kinit not found: install"),
        ({"transport": "certificate", "cert_pem": "/nonexistent.pem", "cert_key_pem": "/nonexistent.key"}, AuthenticationError, "cert_pem file not found"),
        ({"transport": "basic", "message_encryption": "always"}, TransportConfigError, "message encryption"),
    ],
)
def test_unusable_configuration_is_a_typed_error_without_retries(
    wire: Wire, sleeps: list[float], options: dict[str, Any], error: type[Exception], fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(winrm.protocol.Protocol, "open_shell", lambda self, **kw: self.send_message("<x/>"))
    transport = WinRMTransport("web01", WinRMOptions(user="u", password="p", **options), sleep=sleeps.append)
    with pytest.raises(error, match=fragment):
        transport.run_ps("1")
    assert sleeps == []


def test_kerberos_without_pykerberos_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winrm.transport, "HAVE_KERBEROS", False)
    options = WinRMOptions(user="u@REALM", password="p", transport="kerberos", kinit_mode="manual")
    with pytest.raises(TransportConfigError, match=r"^web01: Kerberos needs pykerberos: pip install 'winremedy\[kerberos\]'"):
        WinRMTransport("web01", options).run_ps("1")
