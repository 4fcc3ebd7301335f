"""The on-host sampler in the lab: the answer to ``scripts/sampler.ps1``.

Installing writes the recorder and its batch where the script would (the
directory it is given, ``%SystemRoot%`` the host's own) and keeps the recorder
(the collector script in record mode, read as data) with its period in
:data:`.collect.RECORDERS`; the collector stand-in computes the recorded lines
in host time when an audit reads them.
"""

from __future__ import annotations

import json
from typing import Any

from ..instants import iso
from ..psdata import FRAME_SENTINEL, read_ps_data
from ..scripts import identify
from .api import CommandResult
from .collect import RECORDERS, Recorder
from .host import HostModel


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    """What sampler.ps1 prints: install, remove or just report the host's sampler."""
    action = params.get("action")
    result: dict[str, Any] = {"script": "sampler", "action": action, "scheduler": 1 if host.profile.is_2003 else 2}
    now = host.clock.now()
    base = f"{params.get('directory', '')}\\{params.get('name', '')}"
    if action in ("install", "remove"):
        RECORDERS.pop(host, None)
        for path in (base + ".ps1", base + ".cmd", str(params.get("file", ""))):
            host.fs.delete(path)
    if action == "install" and not host.fs.has_drive(base):
        result["error"] = f"Could not find a part of the path '{base}.ps1'."  # CreateDirectory on a missing drive
    elif action == "install":
        identity = identify(str(params.get("recorder", "")))
        if identity is None or identity.name != "collect" or identity.args_literal is None:
            result["error"] = "the recorder is not the collector script"
        else:
            period = float(params["minutes"]) * 60
            host.fs.write(base + ".ps1", str(params["recorder"]).encode("ascii", "replace"))
            host.fs.write(base + ".cmd", f'@powershell.exe -File "{base}.ps1"\r\n'.encode("ascii"))
            RECORDERS[host] = Recorder(read_ps_data(identity.args_literal), period, now, now - period)
    elif action not in ("status", "remove"):
        result["error"] = f"unknown action {action!r}"
    recorder = RECORDERS.get(host)
    runs = recorder.runs(host) if recorder else []
    result["sampler"] = {"installed": recorder is not None, "samples": len(runs),
                         "last_run": iso(runs[-1]) if runs and not host.profile.is_2003 else None}
    text = FRAME_SENTINEL + json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    return CommandResult((text + "\r\n").encode("ascii"), b"", 0)
