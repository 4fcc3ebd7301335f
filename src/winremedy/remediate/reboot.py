"""Restarts: now, in the host's maintenance window, or never; and the LCS service restart of KB903927.

Everything runs through ``scripts/power.ps1`` (PowerShell 2.0): one call
reads the host's clock and boot time, one requests the restart; on a host
without PowerShell (Windows 2003 without WMF 2.0, 2008 Server Core) the same
answers come from ``wmic os`` and shutdown.exe run in cmd.exe
(:mod:`.cmdpower`), chosen by :class:`Power`. A restart is
confirmed the way Ansible's win_reboot confirms it: the boot time changes.
While the host is down every try fails (refused, reset, half-started WinRM);
that is expected, so :func:`wait_for_boot` resets the transport and tries
again until the timeout, and only then raises :class:`RebootError`.

A window is decided on the *host's* clock, never the controller's: inside it
the host restarts now; outside it a one-shot task (``winremedy-reboot``,
running as SYSTEM; by schtasks on a host without PowerShell) restarts it at
the window's next start.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..catalog.model import KbEntry
from ..audit.collector import PRODUCTS
from ..errors import ProtocolError, RebootError, RemediationError, ScriptFailedError, WinRemedyError
from ..instants import parse_instant
from ..psdata import decode_frame
from ..scripts import render
from ..transport.base import Transport
from ..transport.delivery import NOT_RECOGNIZED
from . import cmdpower
from .poller import DEFAULT_WAIT, Answer, Poller
from .cmdroute import CmdRoute
from .tasks import TaskState, query_task, start_task
from .window import Window

REBOOT_TASK = "winremedy-reboot"
DEFAULT_COMMENT = "winremedy: restart to complete a hotfix install"
MAX_COMMENT = 127  # shutdown.exe /c on Windows 2003 takes at most 127 characters (512 on Vista and later)
MAX_DELAY = 600  # shutdown.exe /t on Windows 2003 accepts 0-600 seconds
BOOT_TIME_SLACK = 2.0  # seconds: a boot time that moved less than this is the same boot (rounding)
SHUTDOWN_IN_PROGRESS = 1115
SHUTDOWN_IS_SCHEDULED = 1190
_UNSAFE_COMMENT = re.compile(r'[^ -~]|["%^&|<>]')  # cmd.exe and native-argument quoting


class RebootMode(str, enum.Enum):
    """When a restart may happen: now, in the host's maintenance window, or never (reported as pending)."""

    NOW = "now"
    WINDOW = "window"
    NEVER = "never"


@dataclass(frozen=True)
class HostClock:
    """The host's own view of time: now (UTC epoch), its last boot (ISO 8601 UTC), its UTC offset (minutes)."""

    now: float
    boot_time: str
    utc_offset: float


@dataclass(frozen=True)
class RebootResult:
    """What :func:`reboot_host` did or, in check mode, would do."""

    host: str
    mode: RebootMode
    action: str  # "rebooted" | "scheduled" | "pending" | "would_reboot" | "would_schedule"
    changed: bool
    boot_time_before: str | None
    boot_time_after: str | None = None
    scheduled_at: float | None = None  # UTC epoch of the scheduled restart
    scheduled_local: str | None = None  # the same instant, ISO 8601 wall-clock time of the window's zone
    elapsed: float = 0.0  # seconds spent waiting for the host to come back
    message: str = ""


class Power:
    """The host's clock and shutdown.exe: by power.ps1, or by cmd.exe tools (:mod:`.cmdpower`) on a host without
    PowerShell, known from its audit (``powershell=False``) or found by cmd.exe's 9009 on the first call (None:
    not known yet), and then kept for the rest of the run."""

    def __init__(self, transport: Transport, powershell: bool | None = None) -> None:
        self.transport, self.powershell = transport, powershell

    def clock(self, *, timeout: float | None = None) -> HostClock:
        """One call that changes nothing."""
        answer = self._script({"action": "clock"}, timeout=timeout)
        if answer is None:
            answer = cmdpower.read_clock(self.transport, timeout=timeout)
        return HostClock(float(answer["now"]), str(answer["boot_time"]), float(answer.get("utc_offset") or 0.0))

    def request(self, params: dict[str, Any]) -> dict[str, Any]:
        """A restart (``action`` reboot, with delay and comment) or its abort: never resent; the boot time before
        and shutdown.exe's exit code and text."""
        answer = self._script(params, idempotent=False)
        if answer is not None:
            return answer
        line = shutdown_line(params["comment"], params["delay"]) if params["action"] == "reboot" else "shutdown.exe /a"
        return cmdpower.run_shutdown(self.transport, line, boot_time=self.clock().boot_time)

    def schedule(self, at: float, comment: str, zone: ZoneInfo | None = None) -> TaskState:
        """A one-shot SYSTEM task (``winremedy-reboot``) that restarts the host at the UTC epoch ``at``: by task.ps1
        (the host converts to its local time), or on a host without PowerShell by schtasks in cmd.exe
        (:class:`.cmdroute.CmdRoute`: ``at`` in ``zone``, the window's, when the host's clock keeps that zone)."""
        lines = [shutdown_line(comment)]
        if self._without_powershell():
            return CmdRoute(self.transport).start_task(REBOOT_TASK, lines, at=at, zone=zone)
        return start_task(self.transport, REBOOT_TASK, lines, at=at)

    def reboot_task(self) -> TaskState:
        """The state of the restart task (``absent`` when none is registered)."""
        if self._without_powershell():
            return CmdRoute(self.transport).query_task(REBOOT_TASK)
        return query_task(self.transport, REBOOT_TASK)

    def _without_powershell(self) -> bool:
        if self.powershell is None:
            self.clock()  # the first answer tells, as for every other call
        return self.powershell is False

    def _script(self, params: dict[str, Any], **options: Any) -> dict[str, Any] | None:
        """power.ps1's answer, or None on a host without PowerShell (then known for the rest of the run)."""
        answer = _power_answer(self.transport, params, **options) if self.powershell is not False else None
        self.powershell = answer is not None
        return answer


def read_clock(transport: Transport, *, timeout: float | None = None, power: Power | None = None) -> HostClock:
    """One call that changes nothing (by ``power``, else by power.ps1 with cmd.exe as the fallback)."""
    return (power or Power(transport)).clock(timeout=timeout)


def host_clock(transport: Transport, *, power: Power | None = None) -> tuple[float, str]:
    """(host now as UTC epoch, boot time ISO) in one call."""
    clock = read_clock(transport, power=power)
    return clock.now, clock.boot_time


def shutdown_comment(text: str) -> str:
    """``text`` safe inside ``/c "..."`` for cmd.exe and shutdown.exe: printable ASCII without quoting
    metacharacters, at most :data:`MAX_COMMENT` characters."""
    return " ".join(_UNSAFE_COMMENT.sub(" ", text).split())[:MAX_COMMENT]


def shutdown_line(comment: str, delay: int = 0) -> str:
    """The batch line that restarts the host (planned, reason "Operating System: Hot fix", forcing hung apps)."""
    return f'shutdown.exe /r /t {_delay(delay)} /c "{shutdown_comment(comment)}" /d p:2:17 /f'


class _Unanswered(RebootError):
    """The restart request was sent, and its answer lost: the host may be going down already."""


def request_reboot(transport: Transport, *, comment: str, delay: int = 5, poller: Poller = DEFAULT_WAIT,
                   power: Power | None = None, before: str | None = None) -> str:
    """Ask the host to restart in ``delay`` seconds; returns the boot time before.

    ``before``: the boot time the caller read just before. With it, a request whose answer is lost (the
    host went down before the answer left, as Ansible's reboot action also allows for) is taken as sent:
    the wait for a new boot time that follows tells whether it was.

    A shutdown someone else scheduled (1190 on Vista and later; 1115 on Windows 2003, which has no
    "scheduled" state) is aborted and ours requested once more, as win_reboot does; one that cannot
    be aborted is already under way, and as good as ours. Any other exit code is a failure only once
    the boot time, read again after the delay, shows the host did not restart: shutdown.exe's exit
    codes differ between versions, the boot time does not lie.
    """
    power = power or Power(transport)
    params = {"action": "reboot", "delay": _delay(delay), "comment": shutdown_comment(comment)}
    try:
        answer = _request(power, params)
    except _Unanswered:
        if before is None:
            raise
        return before
    before = str(answer["boot_time"])
    if answer["shutdown"]["rc"] in (SHUTDOWN_IS_SCHEDULED, SHUTDOWN_IN_PROGRESS):
        if _request(power, {"action": "abort"})["shutdown"]["rc"] != 0:
            return before  # too late to abort: the restart is under way
        answer = _request(power, params)
    rc = answer["shutdown"]["rc"]
    if rc not in (0, SHUTDOWN_IN_PROGRESS):
        output = answer["shutdown"].get("output") or "no output"
        check = dataclasses.replace(poller, timeout=min(poller.timeout, _delay(delay) + 3 * poller.poll))

        def refused(last: str, elapsed: float) -> Exception:
            return RebootError(f"{transport.host}: shutdown.exe /r exited {rc}: {output}; the boot time {before} "
                               f"had not changed {elapsed:.0f} s later", host=transport.host)
        check.wait(_boot_check(transport, before, check, power, going_down=True), refused)
    return before


def wait_for_boot(transport: Transport, boot_time_before: str, poller: Poller = DEFAULT_WAIT, *,
                  power: Power | None = None) -> str:
    """Poll until the boot time differs from ``boot_time_before``; returns the new one.

    Failures while the host is down are expected and only remembered for the message;
    :class:`RebootError` names the host and how long it was waited for.
    """
    def timed_out(last: str, elapsed: float) -> Exception:
        return RebootError(f"{transport.host}: did not come back from its restart within {elapsed:.0f} s "
                           f"(timeout {poller.timeout:.0f} s; boot time before {boot_time_before}; last {last})",
                           host=transport.host)
    return poller.wait(_boot_check(transport, boot_time_before, poller, power or Power(transport)), timed_out)


def _boot_check(transport: Transport, boot_time_before: str, poller: Poller, power: Power, *,
                going_down: bool = False) -> Callable[[], Answer[str]]:
    """One look at the boot time: done when it moved (or, with ``going_down``, when the host stopped answering:
    a restart under way, whatever shutdown.exe's exit code said)."""
    def check() -> Answer[str]:
        transport.reset()  # the shell of before the restart is gone
        try:
            boot = read_clock(transport, timeout=max(poller.poll * 3, 30.0), power=power).boot_time
            moved = abs(parse_instant(boot) - parse_instant(boot_time_before)) > BOOT_TIME_SLACK
        except WinRemedyError as exc:
            return Answer("down" if going_down else None, f"not answering: {exc}")
        return Answer(boot) if moved else Answer(None, f"answering, boot time still {boot}")
    return check


def reboot_host(
    transport: Transport,
    mode: RebootMode | str,
    *,
    window: Window | None = None,
    comment: str = DEFAULT_COMMENT,
    check: bool = False,
    delay: int = 5,
    poller: Poller = DEFAULT_WAIT,
    intent: Callable[[str, str, float | None], None] | None = None,
    power: Power | None = None,
) -> RebootResult:
    """Restart now, in ``window`` (host clock decides: inside -> now, outside -> a task at its next start), or never.

    ``intent(step, boot_time, at)`` is called just before a restart is scheduled (``reboot_scheduled``) or
    requested (``reboot_requested``), so a journal records it before it can happen.
    """
    try:
        mode = RebootMode(mode)  # a plain string or another str enum with the same values
    except ValueError:
        raise ValueError(f"reboot mode {mode!r}: expected one of {', '.join(m.value for m in RebootMode)}") from None
    host = transport.host
    if mode is RebootMode.NEVER:
        return RebootResult(host, mode, "pending", False, None, message=f"{host}: restart pending (--reboot never)")
    if mode is RebootMode.WINDOW and window is None:
        raise RebootError(f"{host}: --reboot window, but the host has no maintenance window "
                          "(inventory variable winremedy_maintenance_window)", host=host)
    power = power or Power(transport)
    now = read_clock(transport, power=power)
    if window is not None and mode is RebootMode.WINDOW and not window.contains(now.now):
        at = window.next_start(now.now)
        when = window.local_iso(at)
        note = _zone_note(window, now)
        if check:
            return RebootResult(host, mode, "would_schedule", False, now.boot_time, scheduled_at=at,
                                scheduled_local=when, message=f"{host}: would schedule a restart at {when}{note}")
        if intent:
            intent("reboot_scheduled", now.boot_time, at)
        power.schedule(at, comment, window.zone)
        return RebootResult(host, mode, "scheduled", True, now.boot_time, scheduled_at=at, scheduled_local=when,
                            message=f"{host}: restart scheduled at {when} (window {window}){note}")
    if check:
        return RebootResult(host, mode, "would_reboot", False, now.boot_time, message=f"{host}: would restart now")
    if intent:
        intent("reboot_requested", now.boot_time, None)
    before = request_reboot(transport, comment=comment, delay=delay, poller=poller, power=power,
                            before=now.boot_time)
    started = poller.clock()
    after = wait_for_boot(transport, before, poller, power=power)
    elapsed = poller.clock() - started
    return RebootResult(host, mode, "rebooted", True, before, after, elapsed=elapsed,
                        message=f"{host}: restarted, back after {elapsed:.0f} s (boot time {after})")


def restart_service(
    transport: Transport,
    name: str,
    *,
    image: str | None = None,
    check: bool = False,
    timeout: float = 120.0,
    kb: str | None = None,
) -> bool:
    """Restart service ``name`` (or the one whose image path contains ``image``): True when it was (in check mode:
    would be) restarted, False when the host has no such service. A failed stop/start is a RemediationError
    naming host and service."""
    host = transport.host
    params = {"action": "service", "name": name, "image": image or "", "restart": not check, "timeout": float(timeout)}
    answer = _power(transport, params, timeout=timeout + 60, idempotent=check)
    service = answer.get("service")
    what = f"service {name}" + (f" (image {image})" if image else "")
    if not isinstance(service, dict):
        return False
    if check:
        return True
    if service.get("stop") not in (0, None) or service.get("start") != 0 or service.get("state") != "Running":
        raise RemediationError(
            f"{host}: {what} did not restart: stop returned {service.get('stop')}, start returned "
            f"{service.get('start')}, state {service.get('state')} (Win32_Service return codes)", host=host, kb=kb)
    return True


def restart_kb_service(transport: Transport, entry: KbEntry, *, check: bool = False) -> bool:
    """Restart the service a KB names in place of a reboot (KB903927: LCS), found by name or product image."""
    name, image = _kb_service(entry)
    return restart_service(transport, name, image=image, check=check, kb=entry.kb)


def kb_service_pid(transport: Transport, entry: KbEntry) -> int | None:
    """The process id of the service a KB restarts (None: no such service, or not running: Win32_Service gives a
    stopped service ProcessId 0); a new one means it was restarted."""
    name, image = _kb_service(entry)
    service = _power(transport, {"action": "service", "name": name, "image": image or "", "restart": False,
                                 "timeout": 0.0}).get("service")
    return int(service["pid"]) if isinstance(service, dict) and service.get("pid") else None


def _kb_service(entry: KbEntry) -> tuple[str, str | None]:
    """The service's name and the image path of the product it belongs to."""
    if entry.restart_service is None:
        raise ValueError(f"{entry.kb} names no service to restart (restart: {entry.restart})")
    products = {p for rule in entry.applies_to for p in rule.products}
    image = next((i for p in sorted(products) if p in PRODUCTS for i in PRODUCTS[p].images), None)
    return entry.restart_service, image


def _request(power: Power, params: dict[str, Any]) -> dict[str, Any]:
    """A restart or abort request: never resent, and its shutdown result checked for shape."""
    host = power.transport.host
    try:
        answer = power.request(params)
    except (RemediationError, ProtocolError) as exc:
        raise RebootError(f"{host}: restart request failed: {exc}", host=host) from None
    except WinRemedyError as exc:
        raise _Unanswered(f"{host}: no answer to the restart request ({exc}); it may or may not have "
                          "been accepted: check the host before trying again", host=host) from None
    if not isinstance(answer.get("shutdown"), dict) or not isinstance(answer["shutdown"].get("rc"), int):
        raise RebootError(f"{host}: {params['action']}: no shutdown.exe exit code in the answer", host=host)
    return answer


def _power(transport: Transport, params: dict[str, Any], *, timeout: float | None = None,
           idempotent: bool = True) -> dict[str, Any]:
    answer = _power_answer(transport, params, timeout=timeout, idempotent=idempotent)
    if answer is None:
        raise RemediationError(f"{transport.host}: power.ps1 {params['action']} did not run: the host has no "
                               "PowerShell (cmd.exe: 9009)", host=transport.host)
    return answer


def _power_answer(transport: Transport, params: dict[str, Any], *, timeout: float | None = None,
                  idempotent: bool = True) -> dict[str, Any] | None:
    """power.ps1's answer; None when cmd.exe answered 9009 (no PowerShell: nothing ran)."""
    host = transport.host
    output = transport.run_ps(render("power", params), timeout=timeout, idempotent=idempotent)
    if output.rc == NOT_RECOGNIZED:
        return None
    try:
        output.check()
    except ScriptFailedError as exc:
        raise RemediationError(f"{host}: power.ps1 {params['action']} did not run: {exc}", host=host) from None
    answer = decode_frame(output.stdout, host=host)
    if not isinstance(answer, dict) or answer.get("script") != "power":
        raise ProtocolError(f"{host}: the answer is not from power.ps1")
    if answer.get("error"):
        raise RemediationError(f"{host}: power.ps1 {params['action']} failed: {answer['error']}", host=host)
    try:
        parse_instant(str(answer["boot_time"]))
        float(answer["now"])
    except (KeyError, TypeError, ValueError):
        raise ProtocolError(f"{host}: power.ps1 answered without a boot time or clock reading") from None
    return answer


def _zone_note(window: Window, clock: HostClock) -> str:
    """A warning when the host's own UTC offset differs from the window's zone (the inventory may be wrong)."""
    offset = window.zone.utcoffset(datetime.fromtimestamp(clock.now, window.zone))
    expected = offset.total_seconds() / 60 if offset is not None else 0.0
    if abs(expected - clock.utc_offset) < 1:
        return ""
    return (f"; note: the host's clock is at UTC{clock.utc_offset / 60:+g}h, the window's zone {window.tz} at "
            f"UTC{expected / 60:+g}h now: the restart follows the window's zone")


def _delay(delay: int) -> int:
    return max(0, min(int(delay), MAX_DELAY))
