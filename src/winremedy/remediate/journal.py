"""The journal: what a remediation has set in motion on each host, so a rerun never does it twice.

Every step that changes a host (an install, a reboot requested or scheduled, a
service restart, a NIC bounce) is recorded *before* it is requested (the intent)
and again when it is seen finished. A rerun after an interruption (Ctrl-C, a
killed process, a lost controller) finds the open intent and finishes what is
already under way instead of starting it again: an install task is polled, a
requested reboot is waited for, a service whose process changed since the
intent counts as restarted, a registered bounce task is not registered again.
One append-only JSON-lines file per host (``DIR/journal/<host>.jsonl``, mode
0600), each line flushed and fsynced before the step runs, each naming its host
(the file name may be a hash of it); a torn last line (the process died while
writing it) is ignored.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..filenames import host_file_stem

_PRIVATE = 0o600  # a journal names hosts, packages and what was done to them: for its owner only

# intent -> the record that closes it
CLOSES = {
    "install_started": "install_finished",
    "reboot_requested": "reboot_done",
    "reboot_scheduled": "reboot_done",
    "service_restart_requested": "service_restart_done",
    "nic_bounce_requested": "nic_bounce_registered",
}


class Journal:
    """One host's journal; ``directory`` None keeps it in memory only (check mode, or no --out)."""

    def __init__(self, directory: Path | None, host: str) -> None:
        self.host = host
        self.path = None if directory is None else directory / "journal" / f"{host_file_stem(host)}.jsonl"
        self._torn = False  # the file ends inside a line (a crash while writing it)
        self._entries: list[dict[str, Any]] = self._read()

    def record(self, step: str, kb: str | None = None, **data: Any) -> None:
        """Append one record, durably, before the caller goes on."""
        entry = {"at": time.time(), "host": self.host, "step": step, "kb": kb, **data}
        self._entries.append(entry)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _PRIVATE)
        os.fchmod(handle, _PRIVATE)  # also a journal an older version left at the umask's mode
        with os.fdopen(handle, "a", encoding="utf-8") as stream:
            # after a line torn by a crash, start a new line: the torn one stays unreadable, this one does not
            stream.write(("\n" if self._torn else "") + json.dumps(entry, sort_keys=True) + "\n")
            self._torn = False
            stream.flush()
            os.fsync(stream.fileno())

    def open_intent(self, step: str, kb: str | None = None) -> dict[str, Any] | None:
        """The last ``step`` record (for ``kb``) that no closing record follows, if any."""
        closing = CLOSES[step]
        for entry in reversed(self._entries):
            if entry.get("kb") != kb and kb is not None:
                continue
            if entry["step"] == closing:
                return None
            if entry["step"] == step:
                return entry
        return None

    def since(self, step: str) -> list[dict[str, Any]]:
        """The records after the last ``step`` record (all of them when there is none)."""
        for index in range(len(self._entries) - 1, -1, -1):
            if self._entries[index]["step"] == step:
                return self._entries[index + 1:]
        return list(self._entries)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def _read(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.is_file():
            return []
        text = self.path.read_bytes().decode("utf-8", "replace")
        self._torn = bool(text) and not text.endswith("\n")
        entries = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash while it was written: its step never started
            if isinstance(entry, dict) and "step" in entry:
                entries.append(entry)
        return entries
