# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: winremedy's Transport over the task's own Ansible connection.

The engine runs through whatever connection the user configured for the host
(ansible-core's ``winrm`` plugin with every ``ansible_winrm_*`` option it
supports), never a second connection of its own: the same reason
ansible.windows' win_reboot hands its connection to ``reboot_host``.

One ``run_ps`` is one ``exec_command``: the ``cmd`` is winremedy's stdin
bootstrap as PowerShell text, which the winrm plugin encodes once as
``PowerShell ... -EncodedCommand <bootstrap>``, so exactly one powershell.exe
(2.0 is enough) runs on the host and reads the script from stdin (``in_data``).
Passing a ready ``powershell.exe -EncodedCommand`` line instead would, on
ansible-core before 2.19, be wrapped again and start a second powershell.exe
that must inherit stdin.

Import this module only after :func:`._engine.require_engine`: it imports winremedy.
"""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

import requests.exceptions
import winrm.exceptions
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from winremedy.errors import (
    AuthenticationError,
    TlsError,
    TransportConfigError,
    UnreachableError,
    WinRemedyError,
    WinRMFaultError,
)
from winremedy.transport.base import Result
from winremedy.transport.bootstrap import BOOTSTRAP, clean_stderr, command_line, encode_script, quote_arguments
from winremedy.transport.delivery import ScriptDelivery, via_powershell_append

if t.TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

ENCODING = "utf-8"  # the winrm plugin opens its shell with code page 65001
SUPPORTED_CONNECTIONS = frozenset({"winrm"})  # psrp hands in_data to the pipeline, not to [Console]::In


class ConnectionTransport:
    """A :class:`winremedy.transport.base.Transport` that runs everything through ``connection.exec_command``.

    ``timeout`` is not enforced here: the winrm plugin has no per-command
    deadline (each Receive is bounded by ``ansible_winrm_operation_timeout_sec``);
    bound the whole task with the task keyword ``timeout``. ``idempotent``
    always holds: nothing here re-sends a command (the plugin's own quota retry
    happens before the host accepts one).
    """

    def __init__(self, connection: ConnectionBase, host: str) -> None:
        self.host = host
        self._connection = connection
        self.delivery = ScriptDelivery(host)
        if connection.transport not in SUPPORTED_CONNECTIONS:
            raise TransportConfigError(
                f"{host}: connection {connection.transport!r} is not supported; use ansible_connection=winrm"
            )

    def run_ps(
        self, script: str, *, timeout: float | None = None, check: bool = False, idempotent: bool = True
    ) -> Result:
        """Run a PowerShell 2.0 script of any length: the bootstrap on the command line, the script on stdin.

        When stdin delivered nothing, the file route of :mod:`winremedy.transport.delivery`, one
        PowerShell text per command as the winrm plugin runs them.
        """
        result = self.delivery.run(
            script,
            lambda text: self._exec(BOOTSTRAP, encode_script(text)),
            lambda path, text: via_powershell_append(lambda command: self._exec(command, b""), path, text),
        )
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
        """A cmd.exe line through the connection's own pywinrm ``Protocol`` and shell, not ``exec_command``.

        The winrm plugin wraps every ``exec_command`` in PowerShell, which a host without it (Windows 2003
        SP1, 2008 Server Core) answers with cmd.exe's 9009; pywinrm's ``run_command`` runs the line in the
        plugin's WinRS shell through cmd.exe (``WINRS_SKIP_CMD_SHELL`` false, pywinrm's default). The shell
        is the plugin's, opened with code page 65001: command lines work there, batch files on XP/2003 do
        not (WinRb/WinRM issue 173), so this path never runs one. ``stdin`` is refused: nothing needs it.
        """
        if stdin:
            raise TransportConfigError(f"{self.host}: {command}: stdin outside PowerShell is not supported here")
        connection = t.cast(t.Any, self._connection)
        try:
            connection._connect()  # the plugin's public-facing connect: builds its Protocol and opens its shell
            protocol, shell_id = connection.protocol, connection.shell_id
            command_id = protocol.run_command(shell_id, command_line(command, quote_arguments(arguments)))
            try:
                stdout, stderr, rc = protocol.get_command_output(shell_id, command_id)
            finally:
                protocol.cleanup_command(shell_id, command_id)
        except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is re-raised
            error = classify(self.host, exc)
            if error is None:
                raise
            raise error from None
        result = Result(self.host, rc, stdout, clean_stderr(stderr, ENCODING), encoding=ENCODING)
        return result.check() if check else result

    def reset(self) -> None:
        """Around a reboot: drop the shell; the next command reconnects (its failure is classified like any other).

        Not ``connection.reset()``: that opens a new shell at once, raising
        unclassified while the host is down, and never closes the old one, so
        a host polled while it is still up (before the restart begins) fills
        its per-user shell quota (5 on WinRM 2.0) and refuses the next command.
        """
        try:
            self._connection.close()  # deletes the shell while the host still answers
        except Exception:  # noqa: BLE001 - down or going down: its shells go with it
            connection = t.cast(t.Any, self._connection)
            connection.protocol = connection.shell_id = None  # what close() would have cleared

    def close(self) -> None:
        """Nothing to do: the connection belongs to the task, and Ansible closes it after the task."""

    def _exec(self, cmd: str, in_data: bytes) -> Result:
        try:
            rc, stdout, stderr = self._connection.exec_command(cmd, in_data=in_data, sudoable=False)
        except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is re-raised
            error = classify(self.host, exc)
            if error is None:
                raise
            raise error from None
        return Result(self.host, 0 if rc is None else rc, stdout, clean_stderr(stderr, ENCODING), encoding=ENCODING)


# How the winrm plugin words a refused logon: NTLM/Basic 401, a managed kinit that failed, a GSSAPI failure
# (expired or missing ticket, clock skew), a CredSSP exchange that failed.
_REFUSALS = (
    "credentials were rejected", "kerberos auth failure", "authgssclient", "ticket expired",
    "received ntstatus", "credssp token", "credssp being an available",
)


def classify(host: str, exc: BaseException) -> WinRemedyError | None:
    """winremedy's typed error for what the connection raised (so the engine records a reason), or None if unknown."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if isinstance(exc, WinRemedyError):
        return exc
    # The winrm plugin folds every transport's connect error into one AnsibleConnectionFailure text.
    if isinstance(exc, requests.exceptions.SSLError) or "sslerror" in lowered or "certificate verify failed" in lowered:
        return TlsError(f"{host}: TLS failure: {text}")
    if "calling kinit cmd" in lowered:  # the kinit program itself is missing or not executable
        return TransportConfigError(f"{host}: {text}; install MIT Kerberos' kinit (Debian: krb5-user) or set ansible_winrm_kinit_cmd")
    if isinstance(exc, winrm.exceptions.AuthenticationError) or any(marker in lowered for marker in _REFUSALS):
        return AuthenticationError(f"{host}: authentication refused: {text}")
    if isinstance(exc, winrm.exceptions.WSManFaultError):
        code = exc.wmierror_code or exc.wsman_fault_code
        return WinRMFaultError(f"{host}: WS-Management fault {code}: {' '.join((exc.reason or '').split())}",
                               fault_code=code, http_status=exc.code)
    if isinstance(exc, winrm.exceptions.WinRMTransportError):
        return WinRMFaultError(f"{host}: HTTP {exc.code}: {exc.message}", http_status=exc.code)
    if isinstance(exc, (AnsibleConnectionFailure, requests.exceptions.RequestException)) or "timed out" in lowered:
        return UnreachableError(f"{host}: {text}")
    if isinstance(exc, AnsibleError):
        return TransportConfigError(f"{host}: {text}")
    return None
