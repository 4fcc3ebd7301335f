"""One-shot scheduled tasks running as SYSTEM: how anything that refuses a WinRM logon gets run.

wusa.exe answers 0x80070005 to a network logon (KB2773898); the same command in
a task running as SYSTEM works. :func:`start_task` writes a batch file
``<directory>\\<name>.cmd``::

    @echo off
    > "<directory>\\<name>.run" echo started
    <the caller's lines>
    :winremedy_done
    > "<directory>\\<name>.rc" echo %ERRORLEVEL%

and registers a task that runs it (``scripts/task.ps1``: Task Scheduler 2.0
on Vista and later, schtasks.exe on Windows 2003, whose ``/sd`` and ``/st``
for a task that runs later are written here (:mod:`.schtasks`) from what the
query before the start read on the host). A line may end with
``|| goto winremedy_done`` (:data:`ON_FAILURE`) so a failed step skips the
rest with its exit code. The redirection comes first in the ``.rc`` line
because ``echo 5> file`` would redirect handle 5. ``%ERRORLEVEL%`` prints
signed: 0x80070005 is recorded as ``-2147024891``.

The state is decided here from the facts the script reports: an ``.rc`` file
means done; a ``.run`` marker without one means running, unless the marker
predates the last boot (the restart killed it: done, exit code unknown); a
registered task that has not started is scheduled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import CommandTimeoutError, ProtocolError, RemediationError, ScriptFailedError
from ..instants import parse_instant
from ..psdata import decode_frame
from ..scripts import render
from ..transport.base import Transport
from . import schtasks
from .poller import DEFAULT_WAIT, Answer, Poller
from .stage import STAGING_DIR, secure_folder

DONE_LABEL = "winremedy_done"
ON_FAILURE = f"|| goto {DONE_LABEL}"  # appended to a line whose failure ends the batch with its exit code
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_UNSAFE_PATH = re.compile(r'[\s"%<>|&^]')  # schtasks /tr on Windows 2003 takes the path unquoted
SYSTEM_ROOT_VARIABLE = "%SystemRoot%"  # task.ps1 expands it before schtasks sees the path


@dataclass(frozen=True)
class TaskState:
    name: str
    state: str  # "absent" | "scheduled" | "running" | "done"
    exit_code: int | None  # when done: as %ERRORLEVEL% printed it (signed); None if the run was cut short
    next_run: str | None  # ISO 8601 UTC, when the scheduler says (Task Scheduler 2.0 only)


_STAGING_ROOT = STAGING_DIR.split("\\", 1)[0]  # %SystemRoot%


def batch_quoted(path: str) -> str:
    """``path`` as one argument of a batch line: double-quoted (so ``&``, ``^``, ``|``, ``<``, ``>`` are literal)
    and with ``%`` doubled (cmd.exe expands ``%NAME%`` even inside quotes; ``%%`` is a literal ``%``), but for
    the variable the staging directory starts with, which must expand to the host's own folder."""
    if '"' in path or not path.isprintable():
        raise ValueError(f"path {path!r}: a batch argument cannot hold a quote or a control character")
    expanded = _STAGING_ROOT if path.lower().startswith(_STAGING_ROOT.lower()) else ""
    return '"' + expanded + path[len(expanded):].replace("%", "%%") + '"'


def batch_text(name: str, lines: Sequence[str], directory: str = STAGING_DIR) -> str:
    """The ``.cmd`` file :func:`start_task` writes (CRLF, ASCII)."""
    _check(name, lines, directory)
    base = f"{directory}\\{name}"
    body = ["@echo off", f'> "{base}.run" echo started', *lines, f":{DONE_LABEL}", f'> "{base}.rc" echo %ERRORLEVEL%']
    return "\r\n".join(body) + "\r\n"


def start_task(
    transport: Transport,
    name: str,
    lines: Sequence[str],
    *,
    at: float | None = None,
    directory: str = STAGING_DIR,
    check: bool = False,
) -> TaskState:
    """Run ``lines`` as SYSTEM now (``at`` None) or at the UTC epoch ``at`` (the host converts to its local time).

    A task of that name that is not running is replaced; a running one is left alone and its
    state returned. The batch goes into ``directory`` only once that folder is the project's own
    (:func:`winremedy.remediate.stage.secure_folder`: SYSTEM runs it). Check mode only reads the current state.
    """
    script = batch_text(name, lines, directory)
    before = _call(transport, name, directory, "query", at=at)
    current = task_state(name, before["task"])
    if check or current.state == "running":
        return current
    secure_folder(transport, directory)
    start = _schtasks_start(transport.host, name, before, at)
    return task_state(name, _call(transport, name, directory, "start", script=script, at=at, **start)["task"])


def query_task(transport: Transport, name: str, *, directory: str = STAGING_DIR) -> TaskState:
    return task_state(name, _call(transport, name, directory, "query")["task"])


def delete_task(transport: Transport, name: str, *, directory: str = STAGING_DIR) -> None:
    """Unregister the task and remove its ``.cmd``, ``.run`` and ``.rc`` files (a running batch is not stopped)."""
    _call(transport, name, directory, "delete")


def wait_task(transport: Transport, name: str, poller: Poller = DEFAULT_WAIT, *, directory: str = STAGING_DIR,
              query: Callable[[str], TaskState] | None = None) -> TaskState:
    """Poll until the task is done; :class:`CommandTimeoutError` naming host and task after the poller's timeout.

    ``query`` reads the task's state by name (default: task.ps1; a host without PowerShell has its own)."""
    def check() -> Answer[TaskState]:
        state = query(name) if query is not None else query_task(transport, name, directory=directory)
        if state.state == "absent":
            raise RemediationError(f"{transport.host}: no task {name} is registered, nothing to wait for", host=transport.host)
        return Answer(state if state.state == "done" else None, state)

    def timed_out(state: TaskState, elapsed: float) -> Exception:
        return CommandTimeoutError(
            f"{transport.host}: task {name} still {state.state} after {elapsed:.0f} s (timeout {poller.timeout:.0f} s)"
        )
    return poller.wait(check, timed_out)


def task_state(name: str, facts: dict[str, Any]) -> TaskState:
    """The state from task.ps1's facts (exists, started_at, rc, next_run, boot_time)."""
    next_run = facts.get("next_run") or None
    rc = facts.get("rc")
    if rc is not None:
        text = str(rc).strip()
        return TaskState(name, "done", int(text) if re.fullmatch(r"-?\d+", text) else None, None)
    started, boot = (parse_instant(str(facts[key])) if facts.get(key) else None for key in ("started_at", "boot_time"))
    if started is not None:
        if boot is not None and started < boot:
            return TaskState(name, "done", None, None)
        return TaskState(name, "running", None, next_run)
    return TaskState(name, "scheduled" if facts.get("exists") else "absent", None, next_run)


def _schtasks_start(host: str, name: str, answer: dict[str, Any], at: float | None) -> dict[str, str]:
    """``sd`` and ``st`` for schtasks (Windows 2003, a task for later): ``at`` on the host's clock, in the
    account's date order, as the query read them; nothing for Task Scheduler 2.0 or a task that runs now."""
    facts = answer.get("schtasks")
    if at is None or not isinstance(facts, dict):
        return {}
    try:
        local = datetime.fromisoformat(str(facts["at_local"]))
        return {"sd": schtasks.start_date(local, facts.get("date_order")), "st": schtasks.start_time(local)}
    except (KeyError, ValueError) as bad:
        raise RemediationError(f"{host}: task {name}: no schtasks start date: {bad}", host=host) from None


def _call(transport: Transport, name: str, directory: str, action: str, **params: Any) -> dict[str, Any]:
    """task.ps1's answer, which holds the task's facts; an error names host, task and action."""
    host = transport.host
    try:
        output = transport.run_ps(render("task", {"action": action, "name": name, "directory": directory, **params}),
                                  check=True, idempotent=action != "start")
        answer = decode_frame(output.stdout, host=host)
    except (ScriptFailedError, ProtocolError) as failure:
        raise RemediationError(f"{host}: task {name}: {action} failed: task.ps1 did not run: {failure}", host=host) from None
    if not isinstance(answer, dict) or not isinstance(answer.get("task"), dict) and not answer.get("error"):
        raise RemediationError(f"{host}: task {name}: {action}: task.ps1 answered without the task's facts", host=host)
    if answer.get("error"):
        raise RemediationError(f"{host}: task {name}: {action} failed: {answer['error']}", host=host)
    return answer


def _check(name: str, lines: Sequence[str], directory: str) -> None:
    if not _SAFE_NAME.match(name):
        raise ValueError(f"task name {name!r}: letters, digits, '.', '_' and '-' only")
    if _UNSAFE_PATH.search(directory.replace(SYSTEM_ROOT_VARIABLE, "")) or not directory.isascii():
        raise ValueError(f"task directory {directory!r}: ASCII without spaces, quotes, % (but {SYSTEM_ROOT_VARIABLE}) "
                         "or shell metacharacters")
    for line in lines:
        if "\n" in line or "\r" in line or not line.isascii():
            raise ValueError(f"batch line {line!r}: one ASCII line each")
