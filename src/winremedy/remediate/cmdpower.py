"""The host's clock and shutdown.exe through cmd.exe alone, for hosts without PowerShell (Windows 2003 without WMF
2.0, 2008 Server Core): what ``power.ps1`` answers, in the same shape, so :mod:`.reboot` decides the same way.

The clock is ``wmic os get LastBootUpTime,LocalDateTime`` (Win32_OperatingSystem; CIM DATETIME carries the local
time and its UTC offset in minutes); the restart is shutdown.exe itself, run in the WinRM shell, whose exit code
and text come back as they are. Windows 2003's shutdown.exe has no "scheduled" state (1190 is Vista's), so its codes
are never trusted alone: :func:`.reboot.request_reboot` reads the boot time again before calling a request failed.
"""

from __future__ import annotations

from typing import Any

from ..audit.cmdtools import cim_datetime, decode, wmic_records
from ..errors import ProtocolError, RemediationError
from ..instants import iso
from ..transport.base import Transport

CLOCK_LINE = "wmic os get LastBootUpTime,LocalDateTime /format:list"


def read_clock(transport: Transport, *, timeout: float | None = None) -> dict[str, Any]:
    """``{"now", "boot_time", "utc_offset"}`` as power.ps1's clock action answers it."""
    host = transport.host
    result = transport.run_cmd(CLOCK_LINE, timeout=timeout)
    text = decode(result.stdout, result.encoding)
    if result.rc != 0:
        said = " ".join((text + decode(result.stderr, result.encoding)).split())[:200]
        raise RemediationError(f"{host}: wmic os (the clock) failed (exit {result.rc}): {said}", host=host)
    try:
        [record] = wmic_records(text)
        now, boot = record["LocalDateTime"].strip(), record["LastBootUpTime"].strip()
        return {"now": cim_datetime(now).timestamp(), "boot_time": iso(round(cim_datetime(boot).timestamp())),
                "utc_offset": float(int(now[-4:]))}
    except (ValueError, KeyError) as exc:
        raise ProtocolError(f"{host}: wmic os (the clock): cannot read its output: {exc}") from None


def run_shutdown(transport: Transport, line: str, *, boot_time: str) -> dict[str, Any]:
    """``line`` (a shutdown.exe command) run once, never resent: power.ps1's answer to a reboot or an abort."""
    result = transport.run_cmd(line, idempotent=False)
    output = " ".join(decode(result.stdout + result.stderr, result.encoding).split())
    return {"boot_time": boot_time, "shutdown": {"rc": result.rc, "output": output}}
