"""Scheduled tasks in host time, and the table of programs they (and the WinRM shell) run.

A task registered by task.ps1 (``lab.task``) runs its batch file
(``remediate.tasks.batch_text``) line by line when the host settles
(``HostModel._settle``), each line at its own host time: a program returns its
exit code and how many host seconds it took, and the next line runs that much
later. So an install is "running" for as long as the installer takes, and a
restart kills a batch half way (its ``.run`` marker stays, no ``.rc`` is
written). A task whose start falls while the host is down, or lies in the past
when it is registered, never runs (Task Scheduler 2.0 without
StartWhenAvailable).

Programs (``wusa``, ``expand``, ``dism``, ``pkgmgr``, ``update``, ``shutdown``...) are
looked up by name in a :data:`Programs` table handed in by the caller
(``lab.emulated`` puts the lab's together). The same table answers a program
run directly in the WinRM shell (``lab.cmdline``), with ``logon="network"``;
in a task the logon is ``"system"``. A staged ``.exe`` run by its path is the
``update`` program, given that path as its first argument.

The batch interpreter knows what the project writes: ``@echo off``, labels,
``goto``, ``> "file" echo text``, ``mkdir``, ``if not exist "path" <command>``
and ``<program> <args> || goto <label>``; a line that names no program of the
table (``certutil ... | findstr ...``) is run as the host's cmd.exe runs it
(the ``shell`` handed in: tools, pipes, ``&&`` and ``||``). Before a line is parsed its ``%``
signs are expanded as cmd.exe expands them in a batch file, quotes or not:
``%%`` is one ``%``, ``%NAME%`` the variable's value, or nothing when it is
not set ("Using batch parameters" and "set" in Microsoft's command-line reference).
"""

from __future__ import annotations

import ntpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..transport.delivery import NOT_RECOGNIZED
from .host import HostModel, ScheduledTask
from .tokens import program_name, split_command

_PERCENT_RE = re.compile(r"%%|%([^%\r\n]+)%")
_SYSTEM_ENVIRONMENT = {  # what a SYSTEM task's cmd.exe has, by upper-cased name
    "SYSTEMROOT": "C:\\Windows", "WINDIR": "C:\\Windows", "SYSTEMDRIVE": "C:", "TEMP": "C:\\Windows\\Temp",
    "TMP": "C:\\Windows\\Temp", "PATH": "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem",
}
_ECHO_RE = re.compile(r'^>\s*"(?P<path>[^"]+)"\s+echo\s+(?P<text>.*)$', re.IGNORECASE)
_IF_NOT_EXIST_RE = re.compile(r'^if\s+not\s+exist\s+"(?P<path>[^"]+)"\s+(?P<rest>.+)$', re.IGNORECASE)
_ON_FAILURE_RE = re.compile(r"^(?P<command>.*?)\s*\|\|\s*goto\s+:?(?P<label>\S+)$", re.IGNORECASE)
_GOTO_RE = re.compile(r"^goto\s+:?(?P<label>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RunContext:
    at: float  # host time the program runs
    logon: str  # "system" (scheduled task) | "network" (WinRM shell)


Program = Callable[[HostModel, list[str], RunContext], tuple[int, float]]  # (exit code, host seconds taken)
Programs = Mapping[str, Program]  # lowercased name without ".exe" -> program
Shell = Callable[[str], int]  # a whole cmd.exe line (tools, pipes) -> its exit code


def run_program(host: HostModel, argv: list[str], ctx: RunContext, programs: Programs) -> tuple[int, float] | None:
    """Run a program by its command-line tokens (quotes removed); None when no program of that name exists.

    ``wusa``, ``C:\\...\\wusa.exe`` and ``"wusa.exe"`` all name the program ``wusa``."""
    if not argv:
        return None
    path = argv[0]
    if ntpath.dirname(path) and path.lower().endswith(".exe") and host.fs.exists(path) and "update" in programs:
        return programs["update"](host, argv, ctx)
    program = programs.get(program_name(path))
    return None if program is None else program(host, argv[1:], ctx)


def signed(code: int) -> int:
    """An exit code as %ERRORLEVEL% prints it (a signed 32-bit integer)."""
    code &= 0xFFFFFFFF
    return code - (1 << 32) if code & 0x80000000 else code


def run_step(host: HostModel, task: ScheduledTask, programs: Programs, shell: Shell | None = None) -> None:
    """Run the task's next line at its step time; lines that take no time run on at once."""
    assert task.next_at is not None
    t = task.next_at
    if task.started_at is None:
        data = host.fs.read(task.command)
        task.started_at, task.pc, task.errorlevel = t, 0, 0
        task.lines = [] if data is None else data.decode("ascii", "replace").splitlines()
        host.counters.tasks_run += 1
    while task.pc < len(task.lines):
        line = task.lines[task.pc].strip()
        task.pc += 1
        seconds = _execute(host, task, line, t, programs, shell)
        if seconds > 0:
            task.next_at = t + seconds
            return
    task.next_at = None


def _execute(host: HostModel, task: ScheduledTask, line: str, t: float, programs: Programs,
             shell: Shell | None) -> float:
    """One batch line at host time ``t``; returns the host seconds it took."""
    if not line or line.lower() == "@echo off" or line.startswith(":"):
        return 0.0
    return _run_line(host, task, _expand(line, task.errorlevel, host.spec.system_root), t, programs, shell)


def _run_line(host: HostModel, task: ScheduledTask, line: str, t: float, programs: Programs,
              shell: Shell | None) -> float:
    """A line whose ``%`` signs are expanded (once: ``if not exist`` runs its command as it stands)."""
    match = _ECHO_RE.match(line)
    if match:
        text = match["text"]
        host.fs.write(match["path"], (text.strip() + "\r\n").encode("ascii"))
        return 0.0
    match = _IF_NOT_EXIST_RE.match(line)
    if match:
        return 0.0 if host.fs.exists(match["path"]) else _run_line(host, task, match["rest"], t, programs, shell)
    match = _GOTO_RE.match(line)
    if match:
        _goto(task, match["label"])
        return 0.0
    label = None
    match = _ON_FAILURE_RE.match(line)
    if match:
        line, label = match["command"], match["label"]
    code, seconds = _command(host, line, t, programs, shell)
    task.errorlevel = signed(code)
    if label is not None and code != 0:
        _goto(task, label)
    return seconds


def _expand(line: str, errorlevel: int, system_root: str) -> str:
    """``%`` signs as cmd.exe expands them in a batch run as SYSTEM on a host whose Windows is in ``system_root``."""
    drive = ntpath.splitdrive(system_root)[0]
    environment = {**_SYSTEM_ENVIRONMENT, "SYSTEMROOT": system_root, "WINDIR": system_root, "SYSTEMDRIVE": drive,
                   "TEMP": f"{system_root}\\Temp", "TMP": f"{system_root}\\Temp"}

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name is None:
            return "%"
        return str(errorlevel) if name.upper() == "ERRORLEVEL" else environment.get(name.upper(), "")

    return _PERCENT_RE.sub(value, line)


def _command(host: HostModel, line: str, t: float, programs: Programs, shell: Shell | None) -> tuple[int, float]:
    argv = split_command(line)
    if argv and argv[0].lower() in ("mkdir", "md"):
        return 0, 0.0
    outcome = run_program(host, argv, RunContext(t, "system"), programs)
    if outcome is None and shell is not None:
        return shell(line), 0.0
    return outcome if outcome is not None else (NOT_RECOGNIZED, 0.0)


def _goto(task: ScheduledTask, label: str) -> None:
    wanted = f":{label}".lower()
    for index, line in enumerate(task.lines):
        if line.strip().lower() == wanted:
            task.pc = index + 1
            return
    task.pc = len(task.lines)  # cmd.exe: "The system cannot find the batch label specified" ends the batch
