"""The pywinrm transport: one WinRS shell per host, typed errors, bounded retries.

Built on ``winrm.protocol.Protocol`` rather than ``Session`` because Session
opens and deletes a shell per command, and its ``run_ps`` puts the whole
script on the command line. Here one shell is opened on first use and reused
until :meth:`WinRMTransport.close`, as Ansible's connection plugin does (a
2008 R2 host allows only 5 shells per user).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

import requests
import spnego.exceptions
import winrm.exceptions
import winrm.protocol
from winrm.vendor.requests_kerberos.exceptions import KerberosExchangeError, MutualAuthenticationError

from winremedy.errors import (
    AuthenticationError,
    CommandTimeoutError,
    ProtocolError,
    TlsError,
    TransportConfigError,
    UnreachableError,
    WinRemedyError,
    WinRMFaultError,
)
from winremedy.transport.base import Result
from winremedy.transport.bootstrap import (
    POWERSHELL,
    POWERSHELL_ARGUMENTS,
    clean_stderr,
    encode_script,
    quote_arguments,
)
from winremedy.transport.delivery import ScriptDelivery, via_cmd_echo
from winremedy.transport.kerberos import TICKETS
from winremedy.transport.options import WinRMOptions

CODEPAGE = 437  # the WinRS default; project scripts print ASCII only, so output never depends on it
STDIN_CHUNK = 65536  # bytes per Send: about 88 KB on the wire, under 2008 R2's 150 KB MaxEnvelopeSizekb

SHELL_NOT_FOUND = 2150858843  # 0x8033805B: the shell or command is gone (idle timeout, service restart)
QUOTA_FAULTS = {2150859173, 2150859174}  # 0x803381A5 max shells, 0x803381A6 max operations per user
PERMANENT_FAULTS = {
    87,  # the parameter is incorrect
    2147942402,  # executable not found
    2147942606,  # command line too long
    2150858767,  # invalid header (timeout value)
    2150858817,  # schema validation
}
TRANSIENT_HTTP = {500, 502, 503, 504}


class _Recovery(enum.Enum):
    """What to do before retrying a transient failure."""

    RECONNECT = "reconnect"  # new TCP connection and authentication; keep the shell if it survived
    NEW_SHELL = "new shell"  # the shell is gone
    REPLACE_SHELL = "replace shell"  # close our shell (a quota is hit) and open another
    RETRY = "retry"


@dataclass(frozen=True)
class _Failure:
    error: WinRemedyError
    recovery: _Recovery | None  # None: not worth retrying


class _Timeout(Exception):
    """The caller's deadline passed while the command ran."""


class WinRMTransport:
    """A :class:`~winremedy.transport.base.Transport` over WinRM with pywinrm."""

    def __init__(self, host: str, options: WinRMOptions, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.host = host
        self.options = options
        self._sleep = sleep
        self._protocol: winrm.protocol.Protocol | None = None
        self._shell_id: str | None = None
        self._accepted = False
        self.delivery = ScriptDelivery(host)

    @property
    def endpoint(self) -> str:
        return self.options.endpoint(self.host)

    def __enter__(self) -> WinRMTransport:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def run_ps(
        self, script: str, *, timeout: float | None = None, check: bool = False, idempotent: bool = True
    ) -> Result:
        """Run a PowerShell 2.0 script through the stdin bootstrap, or the file route (see :mod:`.delivery`)."""

        def via_stdin(text: str) -> Result:
            return self._run(POWERSHELL, POWERSHELL_ARGUMENTS, encode_script(text), timeout, idempotent)

        def via_file(path: str, text: str) -> Result:
            return via_cmd_echo(lambda line: self._run(line, [], b"", timeout, True),
                                lambda arguments: self._run(POWERSHELL, arguments, b"", timeout, idempotent),
                                path, text)

        result = self.delivery.run(script, via_stdin, via_file)
        result = dataclasses.replace(result, stderr=clean_stderr(result.stderr, result.encoding))
        return result.check() if check else result

    def run_cmd(
        self,
        command: str,
        arguments: Sequence[str] = (),
        *,
        stdin: bytes = b"",
        timeout: float | None = None,
        check: bool = False,
        idempotent: bool = True,
    ) -> Result:
        """Run a command line; arguments quoted as :func:`~.bootstrap.quote_arguments` says."""
        result = self._run(command, quote_arguments(arguments), stdin, timeout, idempotent)
        return result.check() if check else result

    def reset(self) -> None:
        """After a reboot the shell is gone: drop it and the session; the next command reconnects."""
        self.close()

    def close(self) -> None:
        """Delete the shell and drop the connection; errors are ignored (the host may be gone)."""
        protocol, shell_id = self._protocol, self._shell_id
        self._protocol = self._shell_id = None
        if protocol is None:
            return
        try:
            if shell_id is not None:
                protocol.close_shell(shell_id)
        except Exception:  # noqa: BLE001 - best effort: an unclosed shell times out on the host
            pass
        finally:
            protocol.transport.close_session()

    # ---- one command, retried ----------------------------------------------------------------

    def _run(
        self, command: str, arguments: Sequence[str], stdin: bytes, timeout: float | None, idempotent: bool
    ) -> Result:
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            self._accepted = False  # set once the host accepted the command
            try:
                return self._attempt(command, arguments, stdin, deadline)
            except _Timeout:
                raise CommandTimeoutError(f"{self.host}: {command} still running after {timeout} s; terminated") from None
            except Exception as exc:  # noqa: BLE001 - classified below; unknown exceptions re-raised
                failure = self._classify(exc)
                if failure is None:
                    raise
            if failure.recovery is None or attempt >= self.options.retries or (self._accepted and not idempotent):
                raise failure.error
            self._recover(failure.recovery)
            self._sleep(self.options.backoff * 2**attempt)
            attempt += 1

    def _attempt(
        self, command: str, arguments: Sequence[str], stdin: bytes, deadline: float | None
    ) -> Result:
        protocol = self._connect()
        shell_id = self._shell()
        command_id = protocol.run_command(shell_id, command, arguments, console_mode_stdin=not stdin)
        self._accepted = True
        try:
            for chunk, last in _chunks(stdin):
                protocol.send_command_input(shell_id, command_id, chunk, end=last)
            rc, stdout, stderr = self._receive(protocol, shell_id, command_id, deadline)
        except (_Timeout, winrm.exceptions.WinRMError, winrm.exceptions.WinRMTransportError):
            self._terminate(protocol, shell_id, command_id)  # the host answers: free the operation quota
            raise
        self._terminate(protocol, shell_id, command_id)
        return Result(self.host, rc, stdout, stderr, encoding=f"cp{CODEPAGE}")

    def _receive(
        self, protocol: winrm.protocol.Protocol, shell_id: str, command_id: str, deadline: float | None
    ) -> tuple[int, bytes, bytes]:
        """Output until the command is done; each Receive waits at most operation_timeout_sec on the host."""
        stdout: list[bytes] = []
        stderr: list[bytes] = []
        while True:
            try:
                out, err, rc, done = protocol.get_command_output_raw(shell_id, command_id)
            except winrm.exceptions.WinRMOperationTimeoutError:
                out, err, rc, done = b"", b"", -1, False
            stdout.append(out)
            stderr.append(err)
            if done:
                return rc, b"".join(stdout), b"".join(stderr)
            if deadline is not None and time.monotonic() >= deadline:
                raise _Timeout

    @staticmethod
    def _terminate(protocol: winrm.protocol.Protocol, shell_id: str, command_id: str) -> None:
        try:
            protocol.cleanup_command(shell_id, command_id)
        except Exception:  # noqa: BLE001 - best effort: the command is finished or the shell is gone
            pass

    def _connect(self) -> winrm.protocol.Protocol:
        if self._protocol is None:
            kinit = self.options.kinit_request()
            if kinit is not None:
                TICKETS.ensure(self.host, kinit)
            try:
                self._protocol = winrm.protocol.Protocol(self.endpoint, **self.options.protocol_arguments())
            except winrm.exceptions.AuthenticationError as exc:
                raise AuthenticationError(f"{self.host}: authentication refused: {exc}") from None
            except (winrm.exceptions.WinRMError, ValueError) as exc:
                raise TransportConfigError(f"{self.host}: {_missing_package(str(exc))}") from None
        return self._protocol

    def _shell(self) -> str:
        if self._shell_id is None:
            assert self._protocol is not None
            self._shell_id = self._protocol.open_shell(codepage=CODEPAGE)
        return self._shell_id

    def _recover(self, recovery: _Recovery) -> None:
        assert self._protocol is not None
        if recovery is _Recovery.RECONNECT:
            self._protocol.transport.close_session()
        elif recovery is _Recovery.NEW_SHELL:
            self._shell_id = None
        elif recovery is _Recovery.REPLACE_SHELL:
            shell_id, self._shell_id = self._shell_id, None
            if shell_id is not None:
                try:
                    self._protocol.close_shell(shell_id, close_session=False)
                except Exception:  # noqa: BLE001 - best effort, as Ansible does on quota faults
                    pass

    # ---- error mapping ----------------------------------------------------------------------

    def _classify(self, exc: Exception) -> _Failure | None:
        """The typed error for a pywinrm/requests exception and how to recover, or None if unknown."""
        host, endpoint = self.host, self.endpoint
        if isinstance(exc, WinRemedyError):
            return _Failure(exc, None)
        if isinstance(exc, requests.exceptions.SSLError):
            return _Failure(TlsError(f"{host}: TLS failure with {endpoint}: {_reason(exc)}"), None)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return _Failure(UnreachableError(f"{host}: connection to {endpoint} timed out"), _Recovery.RECONNECT)
        if isinstance(exc, requests.exceptions.ReadTimeout):
            message = f"{host}: no answer from {endpoint} within {self.options.read_timeout_sec} s"
            return _Failure(UnreachableError(message), _Recovery.RECONNECT)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            reason = _reason(exc)
            if _is_dns_failure(exc):
                return _Failure(UnreachableError(f"{host}: cannot resolve the address of {endpoint}: {reason}"), None)
            return _Failure(UnreachableError(f"{host}: cannot connect to {endpoint}: {reason}"), _Recovery.RECONNECT)
        if isinstance(exc, (winrm.exceptions.AuthenticationError, spnego.exceptions.SpnegoError, *_AUTH_EXCHANGE_ERRORS)):
            reason = _auth_reason(exc, self.options.password)
            message = f"{host}: authentication refused ({self.options.transport}, user {self.options.user}): {reason}"
            return _Failure(AuthenticationError(message), None)
        if isinstance(exc, winrm.exceptions.WSManFaultError):
            return self._classify_fault(exc)
        if isinstance(exc, winrm.exceptions.WinRMOperationTimeoutError):
            fault = WinRMFaultError(f"{host}: operation timed out on the host", fault_code=2150858793, http_status=500)
            return _Failure(fault, _Recovery.RETRY)
        if isinstance(exc, winrm.exceptions.WinRMTransportError):
            fault = WinRMFaultError(f"{host}: {exc.message} from {endpoint}", http_status=exc.code)
            return _Failure(fault, _Recovery.RECONNECT if exc.code in TRANSIENT_HTTP else None)
        if isinstance(exc, winrm.exceptions.WinRMError):
            return _Failure(TransportConfigError(f"{host}: {_missing_package(str(exc))}"), None)
        if isinstance(exc, (ET.ParseError, StopIteration, AssertionError)):
            message = f"{host}: malformed WS-Management response from {endpoint} ({type(exc).__name__})"
            return _Failure(ProtocolError(message), None)
        return None

    def _classify_fault(self, exc: winrm.exceptions.WSManFaultError) -> _Failure:
        code = exc.wmierror_code or exc.wsman_fault_code
        reason = " ".join((exc.reason or "").split())
        described = f"{code} (0x{code:08X})" if code is not None else (exc.fault_subcode or "no code")
        error = WinRMFaultError(f"{self.host}: WS-Management fault {described}: {reason}", fault_code=code, http_status=exc.code)
        if code == SHELL_NOT_FOUND:
            return _Failure(error, _Recovery.NEW_SHELL)
        if code in QUOTA_FAULTS:
            return _Failure(error, _Recovery.REPLACE_SHELL)
        if code in PERMANENT_FAULTS or (exc.fault_code or "").endswith("Sender"):
            return _Failure(error, None)  # the request itself is wrong: retrying cannot help
        return _Failure(error, _Recovery.RETRY)  # s:Receiver: the service had a problem


_AUTH_EXCHANGE_ERRORS: tuple[type[Exception], ...] = (KerberosExchangeError, MutualAuthenticationError)
try:  # requests-credssp is the optional CredSSP client (winremedy[kerberos])
    from requests_credssp.exceptions import AuthenticationException as _CredSSPRefused

    _AUTH_EXCHANGE_ERRORS += (_CredSSPRefused,)
except ImportError:  # pragma: no cover - without it pywinrm refuses transport=credssp before any exchange
    pass
_EXTRAS = {
    "pykerberos is not installed": "Kerberos needs pykerberos",
    "requests-credssp is not installed": "CredSSP needs requests-credssp",
}


# pywinrm builds each requests session with proxies {"no_proxy": "*"}; requests' proxy check then sets and
# deletes os.environ["no_proxy"] around it (requests.utils.set_environ, used by should_bypass_proxies), so two
# sessions built at once by a fleet audit's threads delete each other's value (KeyError: 'no_proxy'). The check
# reads the environment only (no network), so it is made one at a time, process-wide, without slowing the
# handshakes that follow.
_ENVIRON_LOCK = threading.RLock()
_set_environ = requests.utils.set_environ


@contextlib.contextmanager
def _set_environ_one_at_a_time(name: str, value: str | None) -> Iterator[None]:
    with _ENVIRON_LOCK, _set_environ(name, value):
        yield


requests.utils.set_environ = _set_environ_one_at_a_time  # type: ignore[assignment]


def _missing_package(text: str) -> str:
    """pywinrm's 'X is not installed' in words that say what to install."""
    for marker, need in _EXTRAS.items():
        if marker in text:
            return f"{need}: pip install 'winremedy[kerberos]' (it builds against MIT Kerberos: apt-get install libkrb5-dev gcc)"
    return text


def _auth_reason(exc: BaseException, password: str | None) -> str:
    """Why the exchange was refused, in one line, never quoting the password."""
    text = " ".join(str(exc).split())
    if "expired" in text.lower():
        text = f"the Kerberos ticket has expired (kinit again, or use ansible_winrm_kinit_mode managed): {text}"
    elif "No credentials were supplied" in text or "No Kerberos credentials" in text:
        text = f"no Kerberos ticket for the user (kinit first, or set a password for a managed kinit): {text}"
    elif "clock skew" in text.lower():
        text = f"the clocks differ by more than the realm allows: {text}"
    return (text.replace(password, "<redacted>") if password else text)[:400]


def _chunks(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """Stdin in Send-sized pieces, each with whether it is the last (End="true")."""
    for start in range(0, len(data), STDIN_CHUNK):
        yield data[start : start + STDIN_CHUNK], start + STDIN_CHUNK >= len(data)


_OS_REASON = re.compile(r"\[(?:Errno -?\d+|SSL[^\]]*)\][^'\")]*")


def _reason(exc: BaseException) -> str:
    """The socket or TLS reason inside requests' wrapping (``[Errno 111] Connection refused``)."""
    text = str(exc)
    match = _OS_REASON.search(text)
    return (match.group(0) if match else text).strip()[:300]


def _is_dns_failure(exc: BaseException) -> bool:
    text = repr(exc)
    return "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo failed" in text
