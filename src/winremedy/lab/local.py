"""A Transport straight into an emulated host, without the wire: for tests of steps over the host model.

It sends exactly what :class:`~winremedy.transport.winrm.WinRMTransport` sends
(the stdin bootstrap for PowerShell, the joined command line for ``run_cmd``)
and answers as the host does, so a step tested here behaves the same over
WinRM. Delays are not waited for: a test moves a :class:`~.clock.ManualClock`
itself. A host that is down raises :class:`~winremedy.errors.UnreachableError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UnreachableError
from ..transport.base import Result
from ..transport.bootstrap import POWERSHELL, POWERSHELL_ARGUMENTS, clean_stderr, encode_script, quote_arguments
from ..transport.delivery import ScriptDelivery, via_cmd_echo
from .emulated import EmulatedHost


class LocalTransport:
    """A :class:`~winremedy.transport.base.Transport` whose host is an :class:`EmulatedHost` in this process."""

    def __init__(self, lab_host: EmulatedHost) -> None:
        self.host = lab_host.name
        self.lab_host = lab_host
        self.commands = 0  # commands sent, for tests that count round trips
        self.delivery = ScriptDelivery(self.host)

    def run_ps(
        self, script: str, *, timeout: float | None = None, check: bool = False, idempotent: bool = True
    ) -> Result:
        def via_stdin(text: str) -> Result:
            return self._run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(text))

        def via_file(path: str, text: str) -> Result:
            return via_cmd_echo(lambda line: self._run(line, [], b""),
                                lambda arguments: self._run(POWERSHELL, [" ".join(arguments)], b""), path, text)

        result = self.delivery.run(script, via_stdin, via_file)
        result = Result(result.host, result.rc, result.stdout, clean_stderr(result.stderr, result.encoding))
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
        result = self._run(command, quote_arguments(arguments), stdin)
        return result.check() if check else result

    def reset(self) -> None:
        """Nothing is held open."""

    def close(self) -> None:
        """Nothing is held open."""

    def _run(self, command: str, arguments: list[str], stdin: bytes) -> Result:
        if not self.lab_host.is_up():
            raise UnreachableError(f"{self.host}: connection refused (the host is down)")
        self.commands += 1
        self.lab_host.counters.commands += 1
        answer = self.lab_host.run(command, arguments, stdin)
        return Result(self.host, answer.exit_code, answer.stdout, answer.stderr)
