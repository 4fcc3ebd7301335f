"""How a host's remediation steps run: by the project's PowerShell scripts, or by cmd.exe tools on a host without
PowerShell (:mod:`.cmdroute`). The plan is the same; only the steps differ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..catalog.model import KbEntry
from ..repo.manifest import Entry
from ..transport.base import Transport
from . import install, reboot, stage, tasks
from .cmdroute import CmdRoute
from .stage import Source, StageResult
from .tasks import TaskState


class Route(Protocol):
    def verify_lines(self, entry: Entry, staged_path: str) -> list[str]:
        """The install task's first lines: the package hashed again by the SYSTEM task itself."""

    def stage(self, source: Source, entry: Entry) -> StageResult: ...
    def start_task(self, name: str, lines: Sequence[str]) -> TaskState: ...
    def query_task(self, name: str) -> TaskState: ...
    def restart_service(self, entry: KbEntry) -> None: ...
    def service_pid(self, entry: KbEntry) -> int | None: ...


class PsRoute:
    """The steps by stage.ps1, task.ps1 and power.ps1 (PowerShell 2.0 and later)."""

    def __init__(self, transport: Transport, max_envelope_kb: int) -> None:
        self.transport, self.max_envelope_kb = transport, max_envelope_kb

    def verify_lines(self, entry: Entry, staged_path: str) -> list[str]:
        return install.powershell_verify(entry, staged_path)

    def stage(self, source: Source, entry: Entry) -> StageResult:
        return stage.stage(self.transport, source, entry, max_envelope_kb=self.max_envelope_kb)

    def start_task(self, name: str, lines: Sequence[str]) -> TaskState:
        return tasks.start_task(self.transport, name, lines)

    def query_task(self, name: str) -> TaskState:
        return tasks.query_task(self.transport, name)

    def restart_service(self, entry: KbEntry) -> None:
        reboot.restart_kb_service(self.transport, entry)

    def service_pid(self, entry: KbEntry) -> int | None:
        return reboot.kb_service_pid(self.transport, entry)


def route_for(transport: Transport, powershell_version: str | None, max_envelope_kb: int) -> Route:
    """The PowerShell route, or the cmd.exe one for a host the audit found without PowerShell."""
    return PsRoute(transport, max_envelope_kb) if powershell_version else CmdRoute(transport)
