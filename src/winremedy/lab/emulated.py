"""An emulated Windows host as a lab port serves it: the host model with its command line and programs.

The lab's tables are put together here, explicitly, and handed to the
:class:`~winremedy.lab.cmdline.CommandLine`: :data:`STAND_INS`, the stand-ins
that answer the project's scripts by name, and :data:`PROGRAMS`, the programs a
WinRM shell or a scheduled task runs. Both are read-only; a test that wants
other answers builds a ``CommandLine`` from its own tables and hands it to
:class:`EmulatedHost`.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ..transport.recording import load_recording
from . import collect, installers, power, probe, replay, restarts, sampler, stage, task, verify
from .api import CommandResult
from .clock import Clock
from .cmdline import CommandLine, Scripts
from .host import HostModel, HostSpec, ScheduledTask
from .scheduler import Programs, RunContext, run_step

STAND_INS: Scripts = MappingProxyType(
    {"collect": collect.answer, "stage": stage.answer, "task": task.answer, "power": power.answer,
     "sampler": sampler.answer, "probe": probe.answer, "verify": verify.answer}
)
PROGRAMS: Programs = MappingProxyType({**installers.PROGRAMS, **restarts.PROGRAMS})
LAB_COMMAND_LINE = CommandLine(STAND_INS, PROGRAMS)


def replaying(spec: HostSpec, command_line: CommandLine) -> CommandLine:
    """``command_line``, with the scripts a host's ``replay`` recording holds answered from it (the rest emulated)."""
    if spec.replay is None:
        return command_line
    recorded = replay.stand_ins(load_recording(Path(spec.replay)))
    return CommandLine(MappingProxyType({**command_line.scripts, **recorded}), command_line.programs)


class EmulatedHost(HostModel):
    """One Windows host of the lab with its shell; implements :class:`winremedy.lab.api.LabHost`."""

    def __init__(
        self,
        spec: HostSpec,
        clock: Clock,
        *,
        port: int = 0,
        reboot_downtime: float = 90.0,
        command_line: CommandLine = LAB_COMMAND_LINE,
    ) -> None:
        self.command_line = command_line
        super().__init__(spec, clock, port=port, reboot_downtime=reboot_downtime)

    def wants_stdin(self, command: str, arguments: list[str]) -> bool:
        return self.command_line.wants_stdin(self, command, arguments)

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        self._settle()
        result = self.command_line.run(self, command, arguments, stdin)
        result.delay += self.spec.faults.slow
        return result

    def run_task_step(self, task: ScheduledTask) -> None:
        """The task's due batch line, run with the programs of this host's command line and its powershell.exe;
        any other line as this host's cmd.exe runs it."""
        run_step(self, task, {**self.command_line.programs, "powershell": self._powershell},
                 lambda line: self.command_line.run(self, line, [], b"").exit_code)

    def _powershell(self, host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
        """powershell.exe run by a batch: the command line's own (not recognized on a host without it)."""
        return self.command_line.run(host, "powershell", args, b"").exit_code, 0.0
