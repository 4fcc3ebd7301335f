"""Progress of a fleet run on stderr: a bar on a terminal, one plain line per host otherwise.

Scheduled jobs log to files, where a redrawn bar is noise; an operator at a
terminal wants one line that moves. Either way stdout is left to the report.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from .results import HostResult

_BAR = 28


class FleetProgress:
    def __init__(self, stream: TextIO | None = None, *, interactive: bool | None = None, label: str = "audit") -> None:
        self._stream = stream or sys.stderr
        self._interactive = self._stream.isatty() if interactive is None else interactive
        self._label = label
        self._lock = threading.Lock()
        self._total = self._done = self._failed = 0
        self._start = time.monotonic()

    def started(self, total: int, skipped: int) -> None:
        self._total, self._done, self._start = total, skipped, time.monotonic()
        if skipped:
            self._write(f"{self._label}: {skipped} of {total} hosts already done (resume)\n")
        self._redraw()

    def finished(self, result: HostResult) -> None:
        with self._lock:
            self._done += 1
            self._failed += 0 if result.ok else 1
            if self._interactive:
                if not result.ok:
                    self._write(f"\r\033[K{result.host}: {result.error}\n")
                self._redraw()
            else:
                self._write(f"{self._label} [{self._done}/{self._total}] {_describe(result)}\n")

    def done(self) -> None:
        if self._interactive:
            self._write("\n")
        elapsed = time.monotonic() - self._start
        self._write(f"{self._label}: {self._done}/{self._total} hosts, {self._failed} failed, {elapsed:.1f} s\n")

    def _redraw(self) -> None:
        if not self._interactive or not self._total:
            return
        filled = int(_BAR * self._done / self._total)
        elapsed = time.monotonic() - self._start
        self._write(f"\r[{'#' * filled}{'.' * (_BAR - filled)}] {self._done}/{self._total} hosts"
                    f"  {self._failed} failed  {elapsed:.0f} s")

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _describe(result: HostResult) -> str:
    if not result.ok:
        return f"{result.host}: FAILED ({result.error_code}): {result.error}"
    statuses = ", ".join(f"{f.kb} {f.status.value}" for f in result.findings)
    return f"{result.host}: {statuses or 'no findings'}"
