"""The lab's minimal host, for wire-level tests and benches.

:class:`StubHost` does the :class:`~winremedy.lab.api.LabHost` bookkeeping (one account, accepted
mechanisms, an up flag, injected faults, the counters the server keeps) and knows nothing of Windows,
so a test of the WS-Management server or of a client can say only what its commands answer.
The real host model, with users, reboots, updates and a command line, is ``lab.host``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from winremedy.lab.api import CommandResult, Counters, WireFault


@dataclass
class StubHost:
    """A LabHost with one account; every command prints the host name unless a subclass overrides :meth:`run`."""

    name: str
    user: str
    password: str
    counters: Counters = field(default_factory=Counters)
    max_shells_per_user: int = 5  # WinRS MaxShellsPerUser on 2008 R2
    max_envelope_kb: int = 150  # MaxEnvelopeSizekb on 2008 R2 / WinRM 2.0
    allow_unencrypted: bool = False  # Service/AllowUnencrypted, false as on Windows
    mechanisms: tuple[str, ...] = ("basic", "ntlm")
    host_domain: bool = False  # NTLM also accepts HOSTNAME\user, as a real host's local accounts do
    up: bool = True
    faults: dict[str, deque[WireFault]] = field(default_factory=dict)  # WS-Man action -> faults, served in order

    def is_up(self) -> bool:
        return self.up

    def check_password(self, user: str, password: str) -> bool:
        return (user, password) == (self.user, self.password)

    def nt_credentials(self) -> list[tuple[str, str, str]]:
        domains = ["", self.name] if self.host_domain else [""]
        return [(domain, self.user, self.password) for domain in domains]

    def accepts_auth(self, mechanism: str) -> bool:
        return mechanism in self.mechanisms

    def next_fault(self, action: str) -> WireFault | None:
        queue = self.faults.get(action)
        return queue.popleft() if queue else None

    def wants_stdin(self, command: str, arguments: list[str]) -> bool:
        """No command reads stdin unless a subclass says so (the server then waits for the end of input)."""
        return False

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        """The cheapest answer that still tells hosts apart: the host name, as ``hostname`` prints it."""
        return CommandResult(self.name.encode() + b"\r\n", b"", 0)
