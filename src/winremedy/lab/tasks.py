"""Scheduled tasks and the programs they run, in host time; the lab's answer to ``scripts/task.ps1``.

A task registered by task.ps1 runs its batch file (``remediate.tasks.batch_text``)
line by line when the host settles (``EmulatedHost._settle``), each line at its
own host time: a program returns its exit code and how many host seconds it
took, and the next line runs that much later. So an install is "running" for
as long as the installer takes, and a restart kills a batch half way (its
``.run`` marker stays, no ``.rc`` is written). A task whose start falls while
the host is down, or lies in the past when it is registered, never runs (Task
Scheduler 2.0 without StartWhenAvailable).

Programs (``wusa``, ``expand``, ``dism``, ``pkgmgr``, ``update``, ``shutdown``...) are
registered by name with :func:`register_program`. The same table answers a
program run directly in the WinRM shell (``lab.cmdline``), with
``logon="network"``; in a task the logon is ``"system"``. A staged ``.exe`` run
by its path is the ``update`` program, given that path as its first argument.

The batch interpreter knows what the project writes: ``@echo off``, labels,
``goto``, ``> "file" echo text`` (``%ERRORLEVEL%`` expanded), ``mkdir``,
``if not exist "path" <command>`` and ``<program> <args> || goto <label>``.
"""

from __future__ import annotations

import json
import ntpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..psdata import FRAME_SENTINEL
from ..transport.delivery import NOT_RECOGNIZED
from .api import CommandResult
from ..instants import iso

if TYPE_CHECKING:
    from .host import EmulatedHost

_ECHO_RE = re.compile(r'^>\s*"(?P<path>[^"]+)"\s+echo\s+(?P<text>.*)$', re.IGNORECASE)
_IF_NOT_EXIST_RE = re.compile(r'^if\s+not\s+exist\s+"(?P<path>[^"]+)"\s+(?P<rest>.+)$', re.IGNORECASE)
_ON_FAILURE_RE = re.compile(r"^(?P<command>.*?)\s*\|\|\s*goto\s+:?(?P<label>\S+)$", re.IGNORECASE)
_GOTO_RE = re.compile(r"^goto\s+:?(?P<label>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RunContext:
    at: float  # host time the program runs
    logon: str  # "system" (scheduled task) | "network" (WinRM shell)


@dataclass
class ScheduledTask:
    """A one-shot task as SYSTEM (a host's ``tasks``, by lowercased name) and where its batch has got to."""

    name: str
    command: str  # the .cmd file it runs
    run_as: str = "SYSTEM"
    next_at: float | None = None  # host time of its next step (the start, then each line); None when idle
    started_at: float | None = None
    lines: list[str] = field(default_factory=list)  # the batch, read when it starts
    pc: int = 0  # index of the next line
    errorlevel: int = 0


Program = Callable[["EmulatedHost", list[str], RunContext], tuple[int, float]]  # (exit code, host seconds taken)

_PROGRAMS: dict[str, Program] = {}


def register_program(name: str, program: Program) -> None:
    """Let ``name`` (``wusa``, ``C:\\...\\wusa.exe``, ``"wusa.exe"`` all resolve to it) run ``program``."""
    _PROGRAMS[name.lower()] = program


def run_program(host: EmulatedHost, argv: list[str], ctx: RunContext) -> tuple[int, float] | None:
    """Run a program by its command-line tokens (quotes removed); None when no program of that name exists."""
    if not argv:
        return None
    path = argv[0]
    if ntpath.dirname(path) and path.lower().endswith(".exe") and host.fs.exists(path) and "update" in _PROGRAMS:
        return _PROGRAMS["update"](host, argv, ctx)
    name = ntpath.basename(path).lower()
    program = _PROGRAMS.get(name[:-4] if name.endswith(".exe") else name)
    return None if program is None else program(host, argv[1:], ctx)


def signed(code: int) -> int:
    """An exit code as %ERRORLEVEL% prints it (a signed 32-bit integer)."""
    code &= 0xFFFFFFFF
    return code - (1 << 32) if code & 0x80000000 else code


# --- task.ps1 ------------------------------------------------------------------------------------


def answer(host: EmulatedHost, params: dict[str, Any]) -> CommandResult:
    """What task.ps1 prints: register, delete or just report one task (the host has settled already)."""
    action = params.get("action")
    name, directory = str(params.get("name", "")), str(params.get("directory", ""))
    base = f"{directory}\\{name}"
    result: dict[str, Any] = {"script": "task", "action": action, "scheduler": 1 if host.profile.is_2003 else 2}
    if action in ("start", "delete"):
        host.tasks.pop(name.lower(), None)
        for suffix in (".cmd", ".run", ".rc"):
            host.fs.delete(base + suffix)
    if action == "start":
        now = host.clock.now()
        at = now if params.get("at") is None else float(params["at"])
        host.fs.write(base + ".cmd", str(params.get("script", "")).encode("ascii"))
        host.tasks[name.lower()] = ScheduledTask(name, base + ".cmd", next_at=at if at >= now else None)
    elif action not in ("query", "delete"):
        result["error"] = f"unknown action {action!r}"
    task = host.tasks.get(name.lower())
    result["task"] = {
        "exists": task is not None,
        "started_at": iso(task.started_at) if task and task.started_at is not None and host.fs.exists(base + ".run") else None,
        "rc": _text(host.fs.read(base + ".rc")),
        "next_run": iso(task.next_at) if task and task.started_at is None and task.next_at is not None
        and not host.profile.is_2003 else None,
        "boot_time": iso(host.boot_time),
    }
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0)


# --- running tasks (called by EmulatedHost._settle) ----------------------------------------------


def next_step(host: EmulatedHost) -> tuple[float, ScheduledTask] | None:
    """The earliest pending step of any task: (host time, task)."""
    due = [(task.next_at, task) for task in host.tasks.values() if task.next_at is not None]
    return min(due, key=lambda item: item[0]) if due else None


def run_step(host: EmulatedHost, task: ScheduledTask) -> None:
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
        seconds = _execute(host, task, line, t)
        if seconds > 0:
            task.next_at = t + seconds
            return
    task.next_at = None


def interrupt(host: EmulatedHost, back_at: float) -> None:
    """A restart (the host is back at ``back_at``) kills the running batches and misses the starts it slept through."""
    for task in host.tasks.values():
        if task.next_at is not None and (task.started_at is not None or task.next_at < back_at):
            task.next_at = None


def _execute(host: EmulatedHost, task: ScheduledTask, line: str, t: float) -> float:
    """One batch line at host time ``t``; returns the host seconds it took."""
    if not line or line.lower() == "@echo off" or line.startswith(":"):
        return 0.0
    match = _ECHO_RE.match(line)
    if match:
        text = match["text"].replace("%ERRORLEVEL%", str(task.errorlevel))
        host.fs.write(match["path"], (text.strip() + "\r\n").encode("ascii"))
        return 0.0
    match = _IF_NOT_EXIST_RE.match(line)
    if match:
        return 0.0 if host.fs.exists(match["path"]) else _execute(host, task, match["rest"], t)
    match = _GOTO_RE.match(line)
    if match:
        _goto(task, match["label"])
        return 0.0
    label = None
    match = _ON_FAILURE_RE.match(line)
    if match:
        line, label = match["command"], match["label"]
    code, seconds = _command(host, line, t)
    task.errorlevel = signed(code)
    if label is not None and code != 0:
        _goto(task, label)
    return seconds


def _command(host: EmulatedHost, line: str, t: float) -> tuple[int, float]:
    from .cmdline import split_command  # here, not at the top: cmdline imports this module to run programs

    argv = split_command(line)
    if argv and argv[0].lower() in ("mkdir", "md"):
        return 0, 0.0
    outcome = run_program(host, argv, RunContext(t, "system"))
    return outcome if outcome is not None else (NOT_RECOGNIZED, 0.0)


def _goto(task: ScheduledTask, label: str) -> None:
    wanted = f":{label}".lower()
    for index, line in enumerate(task.lines):
        if line.strip().lower() == wanted:
            task.pc = index + 1
            return
    task.pc = len(task.lines)  # cmd.exe: "The system cannot find the batch label specified" ends the batch


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("ascii", "replace").strip()
