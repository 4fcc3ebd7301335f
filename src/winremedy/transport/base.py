"""What the engine needs from a connection to a host: run PowerShell, run a command, close.

The CLI uses :class:`~winremedy.transport.winrm.WinRMTransport`; the Ansible
action plugins wrap their connection in the same protocol, so the engine
never knows which front door it runs behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from winremedy.errors import ScriptFailedError


@dataclass(frozen=True)
class Result:
    """What a command printed and returned on ``host``."""

    host: str
    rc: int
    stdout: bytes
    stderr: bytes
    encoding: str = "utf-8"  # how the host's console encoded stdout/stderr

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode(self.encoding, errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode(self.encoding, errors="replace")

    def check(self) -> Result:
        """This result, or :class:`ScriptFailedError` (with rc and stderr) when rc is not 0."""
        if self.ok:
            return self
        stderr = self.stderr_text.strip()
        first_line = stderr.splitlines()[0] if stderr else "no error output"
        raise ScriptFailedError(f"{self.host}: exit code {self.rc}: {first_line}", rc=self.rc, stderr=stderr)


class Transport(Protocol):
    """A connection to one host.

    ``timeout`` bounds one call in seconds (None: no bound). ``check=True``
    turns a non-zero exit code into :class:`ScriptFailedError`.
    ``idempotent=False`` forbids re-running a command after a transient
    fault once the host has accepted it (installs, reboots).
    """

    host: str

    def run_ps(
        self, script: str, *, timeout: float | None = None, check: bool = False, idempotent: bool = True
    ) -> Result:
        """Run PowerShell 2.0 script text (any length) on the host."""
        ...

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
        """Run an executable (through cmd.exe on Windows) with arguments and optional stdin."""
        ...

    def reset(self) -> None:
        """Forget the open shell and connection: the next command connects afresh (after a reboot)."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...
