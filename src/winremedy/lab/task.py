"""The lab's answer to ``scripts/task.ps1``: register, delete or report one scheduled task of the host model.

The task's batch runs later, in host time, through ``lab.scheduler``.
"""

from __future__ import annotations

import json
from typing import Any

from ..instants import iso
from ..psdata import FRAME_SENTINEL
from .api import CommandResult
from .host import HostModel, ScheduledTask


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    """What task.ps1 prints: register, delete or just report one task (the host has settled already)."""
    action = params.get("action")
    name, directory = str(params.get("name", "")), str(params.get("directory", ""))
    base = f"{directory}\\{name}"
    result: dict[str, Any] = {"script": "task", "action": action, "scheduler": 1 if host.profile.is_2003 else 2}
    if action in ("start", "delete"):
        host.tasks.pop(name.lower(), None)
        for suffix in (".cmd", ".run", ".rc"):
            host.fs.delete(base + suffix)
    if action == "start" and not host.fs.has_drive(base):
        result["error"] = f"Could not find a part of the path '{base}.cmd'."  # CreateDirectory on a missing drive
    elif action == "start":
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


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("ascii", "replace").strip()
