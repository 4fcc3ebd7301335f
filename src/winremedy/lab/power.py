"""The lab's answer to ``scripts/power.ps1``: the host's clock, a restart or its abort (through the ``shutdown``
program of ``lab.restarts``), and a service found and restarted."""

from __future__ import annotations

import dataclasses

import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..psdata import FRAME_SENTINEL
from .api import CommandResult
from .host import HostModel
from .restarts import MESSAGES, request_shutdown


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    """What power.ps1 prints on this host for ``params``."""
    now = host.clock.now()
    action = str(params.get("action", ""))
    result: dict[str, Any] = {"script": "power", "action": action, "boot_time": _iso_seconds(host.boot_time)}
    if action == "reboot":
        arguments = ["/r", "/t", str(int(params.get("delay", 0))), "/c", str(params.get("comment", "")), "/d", "p:2:17", "/f"]
        result["shutdown"] = _shutdown_result(request_shutdown(host, arguments, now, answered=True))
    elif action == "abort":
        result["shutdown"] = _shutdown_result(request_shutdown(host, ["/a"], now))
    elif action == "service":
        result["service"] = _service(host, params)
    elif action == "adapters":
        route = host.default_route_adapter()
        result["adapters"] = [] if route is None else [route.name]
    elif action != "clock":
        result["error"] = f"unknown action {action}"
    offset = ZoneInfo(host.spec.timezone).utcoffset(datetime.fromtimestamp(now, UTC))
    result["now"] = now
    result["utc_offset"] = offset.total_seconds() / 60 if offset is not None else 0.0
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0)


def _shutdown_result(rc: int) -> dict[str, Any]:
    return {"rc": rc, "output": MESSAGES.get(rc, "")}


def _service(host: HostModel, params: dict[str, Any]) -> dict[str, Any] | None:
    """Find by name, else by image path, as power.ps1 does; restart through the host model."""
    name, image = str(params.get("name") or "").lower(), str(params.get("image") or "").lower()
    for service in host.services.values():
        process = host.processes.get(service.process)
        path = process.command_line if process else ""
        if (name and service.name.lower() == name) or (image and image in path.lower()):
            found: dict[str, Any] = {"name": service.name, "state": service.state, "pid": host.service_pid(service),
                                     "path": path}
            if params.get("restart"):
                if service.state != "Stopped":  # power.ps1 stops only a service that is not stopped
                    found.update(stop=0, stopped="Stopped")
                host.services[service.name] = dataclasses.replace(service, state="Running")
                host.restart_service(service.name)
                host.counters.service_restarts += 1
                found.update(start=0, state="Running", new_pid=host.processes[service.process].pid)
            return found
    return None


def _iso_seconds(t: float) -> str:
    """As power.ps1 formats a time: whole seconds, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

