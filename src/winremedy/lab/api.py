"""The seam between the lab's WS-Management server and its emulated hosts.

The server (``lab.wsman``) speaks HTTP, authentication and WinRS; it knows
nothing of Windows. A host model (``lab.host``) knows Windows and nothing of
the wire. They meet here: the server asks a :class:`LabHost` whether it is up,
whether a fault is due, who may log on, and hands it each command.
"""

from __future__ import annotations

import enum
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class CommandResult:
    """What a command printed and returned, and how long (real seconds) it took to do so."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    delay: float = 0.0  # real seconds before the output is available (slow hosts, sampling, long installs)


LOGON_DELEGATED: ContextVar[bool] = ContextVar("LOGON_DELEGATED", default=False)
"""While a host runs a command: whether the WinRM logon holds the client's credentials (CredSSP delegation).

A network logon (NTLM, Kerberos without delegation) has none, so what the command opens on another server
(a UNC share) is opened anonymously: the "double hop" ("Making the second hop in PowerShell Remoting",
Microsoft Learn: powershell/scripting/security/remoting/ps-remoting-second-hop).
"""


class WireFault(str, enum.Enum):
    """Faults the server injects on a host's behalf (from the fleet file)."""

    HTTP_500 = "http500"  # a WS-Management 500 fault in place of the answer
    RESET = "reset"  # the TCP connection is dropped without an answer


@dataclass
class Counters:
    """Per-host activity, shown by ``winremedy lab status``."""

    connections: int = 0
    authentications: int = 0
    auth_failures: int = 0
    shells: int = 0
    commands: int = 0
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    reboots: int = 0
    service_restarts: int = 0
    nic_bounces: int = 0  # network adapters disabled (each is enabled again by the same bounce)
    installs: int = 0  # installs that changed something (not an already installed or not applicable update)
    tasks_run: int = 0  # scheduled task runs started
    stages: int = 0  # packages staged (verified and renamed into place)
    bytes_staged: int = 0  # bytes written to the host's disk by staging
    faults: int = 0
    powershell_starts: int = 0  # powershell.exe processes started (a host without PowerShell never has one)
    scripts: dict[str, int] = field(default_factory=dict)  # project script id -> runs


class LabHost(Protocol):
    """An emulated Windows host as the WS-Management server sees it."""

    name: str
    counters: Counters
    max_shells_per_user: int  # WinRS MaxShellsPerUser (5 on 2008 R2)
    max_envelope_kb: int  # MaxEnvelopeSizekb (150 by default on 2008 R2 / WinRM 2.0)
    allow_unencrypted: bool  # Service/AllowUnencrypted: false by default, as on Windows

    def is_up(self) -> bool:
        """False while rebooting, when unreachable, or after a reboot it never came back from."""

    def check_password(self, user: str, password: str) -> bool:
        """Basic authentication: does this user/password log on?"""

    def nt_credentials(self) -> list[tuple[str, str, str]]:
        """(domain, user, password) triples the NTLM acceptor accepts; domain may be ''."""

    def accepts_auth(self, mechanism: str) -> bool:
        """Whether the host's WinRM service allows ``basic``, ``ntlm``, ... (from the fleet file)."""

    def next_fault(self, action: str) -> WireFault | None:
        """A fault due for this request (``action`` is the WS-Man action name, e.g. ``Receive``), or None."""

    def wants_stdin(self, command: str, arguments: list[str]) -> bool:
        """Whether this command line reads stdin to its end before it runs (``powershell -Command -``)."""

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        """Run a command line on the host model; never executes anything on the controller."""
