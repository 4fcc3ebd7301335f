"""Workarounds for when the fix cannot be applied yet; opt-in and check-mode aware.

* KB2847346 (NSI leak), when no reboot is allowed: disable and enable the
  network adapter in a scheduled task (``netsh``), so that the NSI service
  notifies its clients and frees the registrations of the dead ones. The leak
  starts over; the host stays unfixed. It cuts the host off the network for
  a few seconds, WinRM included, so it runs only when asked for. The adapter
  is the one carrying the default route, named as netsh knows it: its
  NetConnectionID, found through WMI (Win32_NetworkAdapterConfiguration with a
  DefaultIPGateway, then Win32_NetworkAdapter of the same Index), because
  adapters are renamed, teamed or numbered ("Local Area Connection 2"). A
  bounce run now is waited for and its exit code checked.
* KB903927 (LCS SChannel leak): a report, not an action. The leak happens on
  an LCS server whose MTLS peer resets connections because SYN attack
  protection is on there; :func:`syn_attack_peers` names those peers from the
  audit results. SynAttackProtect absent means ON from Windows 2003 SP1
  (KB875417, KB903927; the catalog's ``absent_means``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..catalog import load_catalog
from ..catalog.model import KbEntry
from ..audit.facts import HostFacts
from ..audit.results import HostResult
from ..errors import RemediationError, UnreachableError, WinRemedyError, WinRMFaultError
from ..psdata import decode_frame
from ..scripts import render
from ..transport.base import Transport
from .poller import DEFAULT_WAIT, Answer, Poller
from .tasks import ON_FAILURE, TaskState, query_task, start_task

SYN_KB = "KB903927"
NSI_KB = "KB2847346"
NIC_BOUNCE_TASK = "winremedy-nic-bounce"
NIC_BOUNCE_WARNING = ("the NIC bounce disables the network adapter: the host is off the network (WinRM sessions "
                      "included) until it is enabled again a few seconds later")
_UNSAFE_INTERFACE = re.compile(r'[^ -~]|["%^&|<>]')

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NicBounce:
    """The NIC-bounce task as registered (or, in check mode, as it stands)."""

    host: str
    changed: bool
    task: TaskState
    warning: str
    message: str


@dataclass(frozen=True)
class SynPeer:
    """A peer of an LCS server and its SynAttackProtect: the value read (None = not set) and its effect."""

    host: str
    value: int | None
    protection_on: bool


@dataclass(frozen=True)
class LcsPeers:
    """For one LCS server where the leak can occur: the LCS peers that trigger it, and those not readable."""

    lcs_host: str
    peers: tuple[SynPeer, ...]  # protection on: their resets make this server leak
    unknown: tuple[str, ...]  # LCS hosts whose setting the audit could not read


def nic_bounce_lines(interface: str) -> list[str]:
    """The batch lines: disable, then enable; a failed disable ends the batch with its exit code (nothing to enable)."""
    if not interface.strip() or _UNSAFE_INTERFACE.search(interface):
        raise ValueError(f"adapter name {interface!r}: printable ASCII without quotes, % or shell metacharacters")
    command = f'netsh interface set interface name="{interface}"'
    return [f"{command} admin=disabled {ON_FAILURE}", f"{command} admin=enabled"]


def default_route_adapter(transport: Transport) -> str:
    """The NetConnectionID of the adapter with the default gateway (the first, if several have one)."""
    host = transport.host
    try:
        output = transport.run_ps(render("power", {"action": "adapters"}), check=True)
        answer = decode_frame(output.stdout, host=host)
    except WinRemedyError as failure:
        raise RemediationError(f"{host}: the adapters could not be read: {failure}", host=host, kb=NSI_KB) from None
    names = answer.get("adapters") if isinstance(answer, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise RemediationError(f"{host}: no network adapter with a default gateway (WMI), nothing to bounce",
                               host=host, kb=NSI_KB)
    return names[0]


def schedule_nic_bounce(
    transport: Transport,
    *,
    interface: str | None = None,
    at: float | None = None,
    check: bool = False,
    poller: Poller = DEFAULT_WAIT,
) -> NicBounce:
    """The KB2847346 adapter bounce of ``interface`` (default: the adapter with the default route), now or at the
    UTC epoch ``at``. Now: waited for, and a non-zero exit code of netsh is a RemediationError. Check mode only reads."""
    host = transport.host
    interface = interface or default_route_adapter(transport)
    try:
        task = start_task(transport, NIC_BOUNCE_TASK, nic_bounce_lines(interface), at=at, check=check)
    except (UnreachableError, WinRMFaultError) as lost:
        if at is not None or check:
            raise
        # the bounce run now may cut the host off before the answer to its start leaves: its task tells
        _log.info("%s: the answer to the bounce's start was lost (%s); asking its task", host, lost)
        return _bounced(transport, interface, _wait_offline_task(transport, poller, lost=lost))
    if check:
        return NicBounce(host, False, task, NIC_BOUNCE_WARNING,
                         f"{host}: would bounce adapter {interface!r} (task {NIC_BOUNCE_TASK}); {NIC_BOUNCE_WARNING}")
    _log.warning("%s: %s", host, NIC_BOUNCE_WARNING)
    if at is not None:
        return NicBounce(host, True, task, NIC_BOUNCE_WARNING,
                         f"{host}: adapter {interface!r} bounce scheduled at {task.next_run or at} (task {NIC_BOUNCE_TASK})")
    return _bounced(transport, interface, _wait_offline_task(transport, poller))


def _bounced(transport: Transport, interface: str, done: TaskState) -> NicBounce:
    """The bounce that ran now, once its task is done: a non-zero exit code of netsh is a RemediationError."""
    host = transport.host
    if done.exit_code != 0:
        raise RemediationError(f"{host}: the bounce of adapter {interface!r} failed: netsh exited {done.exit_code} "
                               f"(task {NIC_BOUNCE_TASK})", host=host, kb=NSI_KB)
    return NicBounce(host, True, done, NIC_BOUNCE_WARNING,
                     f"{host}: adapter {interface!r} bounced (netsh exit code 0, task {NIC_BOUNCE_TASK})")


def _wait_offline_task(transport: Transport, poller: Poller, *, lost: WinRemedyError | None = None) -> TaskState:
    """Wait for the bounce task; the host does not answer while its adapter is down, which is expected.
    After a ``lost`` answer to its start, a host that answers without the task never registered it."""
    def check() -> Answer[TaskState]:
        transport.reset()
        try:
            state = query_task(transport, NIC_BOUNCE_TASK)
        except WinRemedyError as exc:
            return Answer(None, f"not answering: {exc}")
        if lost is not None and state.state == "absent":
            raise RemediationError(f"{transport.host}: the adapter bounce (task {NIC_BOUNCE_TASK}) was not registered: "
                                   f"{lost}", host=transport.host, kb=NSI_KB)
        return Answer(state if state.state == "done" else None, state.state)

    def timed_out(last: str, elapsed: float) -> Exception:
        return RemediationError(f"{transport.host}: the adapter bounce (task {NIC_BOUNCE_TASK}) did not finish within "
                                f"{elapsed:.0f} s (last {last})", host=transport.host, kb=NSI_KB)
    return poller.wait(check, timed_out)


def bounce_state(transport: Transport) -> TaskState:
    """The bounce task as the host has it (absent: never registered, or deleted)."""
    return query_task(transport, NIC_BOUNCE_TASK)


def syn_attack_peers(results: Iterable[HostResult], entry: KbEntry | None = None) -> dict[str, LcsPeers]:
    """For each LCS server where ``entry`` (default: the packaged catalog's KB903927) applies, by host name, the
    other LCS servers whose SYN attack protection is effectively on: they run the OS build line of the fix from
    its first service pack, where an absent value means the catalog's ``absent_means``. Reads audit results only."""
    entry = entry or load_catalog().get(SYN_KB)
    setting = next((v for v in entry.registry_values if v.where == "peer"), None)
    if setting is None:
        raise ValueError(f"{entry.kb} has no registry value read on peers")
    products = sorted({p for rule in entry.applies_to for p in rule.products})
    versions = {rule.version: min(r.sp for r in entry.applies_to if r.version == rule.version) for rule in entry.applies_to}
    lcs = [r.facts for r in results if r.facts is not None and _runs(r.facts, products)]
    reports = {}
    for facts in lcs:
        os = facts.os
        if os is None or not any(rule.matches(os.family, os.version, os.sp, os.arch) for rule in entry.applies_to):
            continue
        others = [other for other in lcs if other.host != facts.host]
        settings = [_peer(other, setting.path, setting.absent_means, versions) for other in others]
        reports[facts.host] = LcsPeers(
            facts.host,
            tuple(peer for peer in settings if peer is not None and peer.protection_on),
            tuple(other.host for other in others if other.registry is None),
        )
    return reports


def _runs(facts: HostFacts, products: list[str]) -> bool:
    """``lcs`` covers ``lcs2003`` and ``lcs2005``, as in the assessment."""
    return any(p.lower().startswith(w.lower()) for p in facts.products or [] for w in products)


def _peer(facts: HostFacts, path: str, absent_means: int | str | None, versions: dict[str, int]) -> SynPeer | None:
    """The peer's setting, or None when it is not readable or its OS is outside the fix's build line."""
    if facts.os is None or facts.registry is None:
        return None
    first_sp = versions.get(facts.os.version)
    if first_sp is None or facts.os.sp < first_sp:
        return None
    raw = facts.registry.get(path)
    value = None if raw is None else int(raw)
    effective = absent_means if value is None else value
    return SynPeer(facts.host, value, effective not in (0, "0", None))
