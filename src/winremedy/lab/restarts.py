"""The lab's restarts: the ``shutdown`` and ``netsh`` programs (``lab.power`` answers power.ps1 with them).

``shutdown /r /t N`` restarts the host N host seconds after the program runs
(its own host time: a scheduled task that comes due while the host settles
reboots it at the task's time, not at the moment someone next looks). A
second restart while one is pending exits 1190 (ERROR_SHUTDOWN_IS_SCHEDULED),
``/a`` cancels one (1116, ERROR_NO_SHUTDOWN_IN_PROGRESS, when there is none).
On Windows 2003 there is no "scheduled" state: ERROR_SHUTDOWN_IS_SCHEDULED is
an answer of InitiateShutdown ("InitiateShutdownW function", Microsoft Learn:
minimum supported server Windows Server 2008), while 2003's shutdown.exe has only
InitiateSystemShutdownEx. ASSUMED, not seen on a host: 2003's shutdown.exe
refuses a second request while a countdown runs with ERROR_SHUTDOWN_IN_PROGRESS
(1115) as its exit code, the pending countdown still runs, and ``/a`` still
cancels it. The engine does not rely on the code: it reads the boot time.
As on a real host an administrator's network logon may restart the host.

``netsh interface set interface name=X admin=disabled|enabled`` bounces the
network adapter X, one of the host's ``adapters`` by NetConnectionID (netsh
exits 1 on any other name: "An interface with this name is not registered
with the router."); bouncing the adapter with the default route makes the
host unreachable from the disable until :data:`LINK_SETTLE` host seconds after
the enable, and the NSI registrations are freed (the NSI leak starts over, still unfixed; see
:meth:`HostModel.set_link`).
"""

from __future__ import annotations

import math

from .host import HostModel
from .scheduler import Programs, RunContext

ERROR_INVALID_PARAMETER = 87
ERROR_SHUTDOWN_IN_PROGRESS = 1115
ERROR_NO_SHUTDOWN_IN_PROGRESS = 1116
ERROR_SHUTDOWN_IS_SCHEDULED = 1190
ANSWER_GRACE = 0.5  # real seconds a requested shutdown waits at least, so its answer reaches the controller
LINK_SETTLE = 5.0  # host seconds from "admin=enabled" until the link carries traffic again
MESSAGES = {
    ERROR_INVALID_PARAMETER: "The parameter is incorrect.(87)",
    ERROR_SHUTDOWN_IN_PROGRESS: "A system shutdown is in progress.(1115)",
    ERROR_NO_SHUTDOWN_IN_PROGRESS: "Unable to abort the system shutdown because no shutdown was in progress.(1116)",
    ERROR_SHUTDOWN_IS_SCHEDULED: "A system shutdown has already been scheduled.(1190)",
}


def shutdown(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``shutdown.exe`` run at host time ``ctx.at``: (exit code, host seconds taken)."""
    return request_shutdown(host, args, ctx.at, answered=ctx.logon == "network"), 0.0


def netsh(host: HostModel, args: list[str], ctx: RunContext) -> tuple[int, float]:
    """``netsh interface set interface name=X admin=disabled|enabled`` at host time ``ctx.at``."""
    return _netsh(host, args, ctx.at), 0.0


def request_shutdown(host: HostModel, args: list[str], at: float, *, answered: bool = False) -> int:
    """``answered``: someone waits for the exit code over WinRM, so the shutdown begins no sooner than
    :data:`ANSWER_GRACE` real seconds later. On a host a 5 s delay is plenty for the answer to leave; in a
    lab running thousands of host seconds per real second it would not be, and the answer would be lost."""
    words = [a.strip('"') for a in args]
    flags = {w.lower().replace("-", "/", 1) for w in words if w.startswith(("/", "-"))}
    if "/a" in flags:
        return 0 if host.abort_reboot(at) else ERROR_NO_SHUTDOWN_IN_PROGRESS
    if not flags & {"/r", "/s"}:
        return ERROR_INVALID_PARAMETER
    delay = 30  # shutdown.exe's default timeout
    lowered = [w.lower().replace("-", "/", 1) for w in words]
    if "/t" in lowered:
        index = lowered.index("/t") + 1
        if index >= len(words) or not words[index].isdigit():
            return ERROR_INVALID_PARAMETER
        delay = int(words[index])
    if answered:
        delay = max(delay, math.ceil(host.clock.scale * ANSWER_GRACE))
    if host.reboot(delay, at=at):
        return 0
    return ERROR_SHUTDOWN_IN_PROGRESS if host.profile.is_2003 else ERROR_SHUTDOWN_IS_SCHEDULED


def _netsh(host: HostModel, args: list[str], at: float) -> int:
    words = [a.strip('"') for a in args]
    options = dict(w.split("=", 1) for w in words if "=" in w)
    positional = [w.lower() for w in words if "=" not in w]
    if positional[:3] != ["interface", "set", "interface"] or host.profile.is_2003:
        return 1  # 2003's netsh cannot disable a LAN adapter
    name = next((v.strip('"') for k, v in options.items() if k.lower() == "name"), "")
    admin = next((v.lower() for k, v in options.items() if k.lower() == "admin"), "")
    adapter = host.adapter(name)
    if adapter is None or admin not in ("disabled", "enabled"):
        return 1
    if adapter.default_route:  # the lab's WinRM traffic uses the default route
        host.set_link(admin == "enabled", at, LINK_SETTLE)
    return 0


PROGRAMS: Programs = {"shutdown": shutdown, "netsh": netsh}
