"""The lab's answer to ``scripts/task.ps1``: register, delete or report one scheduled task of the host model.

The task's batch runs later, in host time, through ``lab.scheduler``. On Windows 2003 a task for later starts
when schtasks reads its ``/sd`` and ``/st`` to say (:mod:`.schtasks`), which need not be the instant meant.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..instants import iso
from ..psdata import FRAME_SENTINEL
from ..remediate.schtasks import INTERNATIONAL
from .api import CommandResult
from .host import HostModel, ScheduledTask
from .schtasks import EXIT_REFUSED, StartRefused, start_of


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
        try:
            if host.profile.is_2003 and params.get("at") is not None:
                at = start_of(host, params.get("sd"), params.get("st"))
        except StartRefused as refused:
            result["error"] = f"schtasks /create exited {EXIT_REFUSED}: {refused}"
        else:
            host.fs.write(base + ".cmd", str(params.get("script", "")).encode("ascii"))
            host.tasks[name.lower()] = ScheduledTask(name, base + ".cmd", next_at=at if at >= now else None)
    elif action not in ("query", "delete"):
        result["error"] = f"unknown action {action!r}"
    if host.profile.is_2003 and params.get("at") is not None:
        local = datetime.fromtimestamp(float(params["at"]), ZoneInfo(host.spec.timezone))
        result["schtasks"] = {"date_order": host.registry_value(INTERNATIONAL + "\\iDate"),
                              "at_local": local.strftime("%Y-%m-%dT%H:%M:%S")}
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
