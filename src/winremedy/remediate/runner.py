"""One host, start to finish: audit, plan, stage, install, restart, verify; resumable from its journal.

Every decision comes from a fresh audit of the host, so a rerun after success
changes nothing (the KBs are ``fixed``) and a rerun after an interruption picks
up where the host is: an install task the journal says was started is waited
for, never started twice; a reboot already requested is waited for, never
requested twice (a second ``shutdown`` while one is pending would anyway be
refused with 1190). Expected failures end in the result with a reason naming
host, KB and code; they never raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..audit.assess import Status
from ..audit import hostsettings
from ..audit.run import AuditSettings, audit_host
from ..catalog import Catalog
from ..errors import UnreachableError, WinRemedyError
from ..instants import iso
from ..probe.run import channel_of, probe_host
from ..repo.manifest import Manifest
from ..audit.results import HostResult
from ..transport import Transport
from ..transport.options import WinRMOptions
from . import install as installer
from . import reboot, stage, workarounds
from .journal import Journal
from .outcome import HostOutcome, HostStatus, Step
from .plan import Action, HostPlan, KbPlan, Restart, plan_host
from .poller import Poller
from .reboot import RebootMode
from .routes import Route, route_for
from .settings import Settings
from .window import Window

_log = logging.getLogger(__name__)
Note = Callable[[str, str], None]  # (host, message): progress on long waits
PROGRESS_EVERY = 30.0  # seconds between progress lines while nothing changes
_FIXED = {Status.FIXED, Status.NOT_APPLICABLE}
_INSTALLED = {installer.Outcome.INSTALLED, installer.Outcome.REBOOT_REQUIRED, installer.Outcome.REBOOT_INITIATED,
              installer.Outcome.ALREADY_INSTALLED}


@dataclass(frozen=True)
class HostContext:
    """What the inventory says about a host beyond how to reach it."""

    window: Window | None = None
    max_envelope_kb: int = stage.WINRM2_ENVELOPE_KB


class _Failed(Exception):
    """Ends one host's run with a reason (an expected failure, already worded)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class _Planned(Exception):
    """Check mode: the plan is made, nothing more happens."""

    def __init__(self, status: HostStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class HostRun:
    """The remediation of one host over one transport."""

    def __init__(self, transport: Transport, catalog: Catalog, source: stage.Source, manifest: Manifest,
                 settings: Settings, context: HostContext, journal: Journal, *,
                 refused: dict[str, str] | None = None, note: Note | None = None) -> None:
        self.transport, self.host = transport, transport.host
        self.catalog, self.source, self.manifest = catalog, source, manifest
        self.settings, self.context, self.journal = settings, context, journal
        self.refused = refused or {}
        self._note = note or (lambda host, message: None)
        self.outcome = HostOutcome(self.host, HostStatus.COMPLIANT)

    # --- entry points: the whole run (CLI, kb_remediate) or one part of it (kb_stage, kb_install, ...) ---

    def run(self) -> HostOutcome:
        """Everything: audit, plan, stage, install, restart, verify."""
        return self._guarded(self._everything)

    def stage_only(self) -> HostOutcome:
        """Audit, plan, and put each needed package on the host; nothing installed."""
        return self._guarded(lambda: [self._stage(kb) for kb in self._plan().installs])

    def install_only(self) -> HostOutcome:
        """Audit, plan, stage and install; no restart (a needed one is reported as pending)."""
        def steps() -> None:
            plan = self._plan()
            for kb in plan.installs:
                self._install(kb)
            if plan.has_work and plan.restart is not Restart.NONE:
                self._end(HostStatus.RESTART_PENDING, f"{self.host}: restart pending ({plan.restart.value})")
        return self._guarded(steps)

    def restart_only(self) -> HostOutcome:
        """Audit, then the restart the host's KBs wait for (per --reboot), then verify."""
        def steps() -> None:
            plan = self._plan()
            if self._restart(plan) and self.outcome.status is HostStatus.COMPLIANT:
                self._verify(_acted(plan))
        return self._guarded(steps)

    def verify_only(self) -> HostOutcome:
        """A new audit with leak sampling; fails unless every KB is fixed or not applicable and nothing leaks."""
        def steps() -> None:
            self._verify({f.kb for f in self._audit(AuditSettings(kbs=self.settings.kbs)).findings})
        return self._guarded(steps)

    def _guarded(self, steps: Callable[[], object]) -> HostOutcome:
        try:
            steps()
            if self.outcome.status is HostStatus.COMPLIANT and self.outcome.changed:
                self.outcome.status = HostStatus.FIXED
        except _Planned as planned:
            self._end(planned.status, str(planned), "blocked" if planned.status is HostStatus.FAILED else None)
        except _Failed as failure:
            self._end(HostStatus.UNREACHABLE if failure.code == "unreachable" else HostStatus.FAILED,
                      str(failure), failure.code)
        except WinRemedyError as error:
            self._end(HostStatus.UNREACHABLE if error.code == "unreachable" else HostStatus.FAILED,
                      " ".join(str(error).split()), error.code)
        except Exception as error:  # a bug on one host must not stop the fleet
            _log.exception("unexpected error while remediating %s", self.host)
            self._end(HostStatus.FAILED, f"{self.host}: unexpected {type(error).__name__}: {error}", "internal")
        finally:
            self.transport.close()
        self._review_unknown()
        return self.outcome

    # --- the sequence -------------------------------------------------------------------------

    def _everything(self) -> None:
        interrupted = self.journal.open_intent("reboot_requested")
        resumed = False
        if interrupted is not None and not self.settings.check:
            resumed = self._resume_reboot(interrupted)  # the host may be down right now: wait before auditing
        elif interrupted is None:
            self._preflight()
        plan, after_service_pack = self._service_packs_first(self._plan())
        if plan is None:
            return
        for kb in plan.installs:
            self._install(kb)
        restarted = self._restart(plan)
        if self.outcome.status in (HostStatus.RESTART_PENDING, HostStatus.REBOOT_SCHEDULED):
            return
        if restarted or plan.installs or resumed or after_service_pack:
            self._verify(_acted(plan) | (self._journal_installs() if resumed else set()))
        if plan.blocked:
            raise _Failed(_blocked_text(plan), "blocked")

    def _service_packs_first(self, plan: HostPlan) -> tuple[HostPlan | None, bool]:
        """Install the service packs the plan needs, restart into them (per --reboot) and plan again from a new
        audit, until none is needed: (that plan, whether a service pack was installed). The plan is None when the
        restart is not now (--reboot never, or a later window): the status says so and what remains."""
        done: set[str] = set()
        while plan.service_packs:
            packs = {k.package.kb: k for k in plan.service_packs if k.package is not None}
            if set(packs) & done:
                raise _Failed(f"{self.host}: {', '.join(sorted(set(packs) & done))} installed and restarted into, "
                              f"but the host is still {plan.os}", "install")
            for kb in packs.values():
                self._install(kb)
            done |= set(packs)
            if not self._reboot(self._open_reboot()):
                waiting = ", ".join(dict.fromkeys(k.kb for k in plan.service_packs))
                self.outcome.message += f"; after that restart a rerun installs {waiting}"
                return None, True
            plan = self._plan()
        return plan, bool(done)

    def _preflight(self) -> None:
        """The readiness probe (read-only): a host that is not ready is refused before anything changes."""
        options = getattr(self.transport, "options", None)
        channel = channel_of(self.host, options) if isinstance(options, WinRMOptions) else None
        readiness = probe_host(self.transport, channel)
        self.outcome.readiness = readiness.to_dict()
        if readiness.error_code is not None:  # not reached: recorded as the audit records it
            self.outcome.audit = HostResult(self.host, reachable=readiness.error_code != "unreachable",
                                            error=readiness.reasons[0].message, error_code=readiness.error_code)
            raise _Failed(readiness.reasons[0].message, readiness.error_code)
        if not readiness.ready:  # no PowerShell alone is ready: the steps run through cmd.exe (remediate.cmdroute)
            raise _Failed(readiness.summary(), "not_ready")

    def _plan(self) -> HostPlan:
        """Audit and plan; in check mode this is the end: the plan is the result."""
        audit = self._audit(AuditSettings(kbs=self.settings.kbs))
        plan = plan_host(audit, self.catalog, self.manifest, install_gdr=self.settings.install_gdr,
                         refused=self.refused)
        self.outcome.plan = plan
        if self.settings.check:
            status = HostStatus.PLANNED if plan.has_work else HostStatus.COMPLIANT
            raise _Planned(HostStatus.FAILED if plan.blocked else status, _blocked_text(plan) or self._plan_text(plan))
        return plan

    def _audit(self, settings: AuditSettings) -> HostResult:
        result = audit_host(self.transport, self.catalog, settings)
        self.outcome.audit = result
        if not result.ok:
            raise _Failed(result.error or f"{self.host}: audit failed", result.error_code or "error")
        return result

    def _stage(self, kb: KbPlan) -> str:
        assert kb.package is not None
        staged = self._route().stage(self.source, kb.package)
        verified = f", verified on the host with {staged.basis}" if staged.basis else ""
        self._step("stage", kb.package.kb, staged.changed, f"{kb.package.file} {staged.method} -> {staged.path}{verified}")
        self.outcome.staged.append(staged)
        return staged.path

    def _install(self, kb: KbPlan) -> None:
        """Install the plan's package, journaled under the package's own KB (a service pack's, for a prerequisite)."""
        assert kb.package is not None
        what = kb.package.kb
        intent = self.journal.open_intent("install_started", what)
        task = installer.install_task_name(what)
        route = self._route()
        # registered but never run ("scheduled": the earlier run died between registering and running it, as
        # 2003's schtasks /create and /run are two commands) is started again, like an absent one
        if intent is not None and route.query_task(task).state in ("running", "done"):
            self._note(self.host, f"{what}: an install started earlier is still on record; waiting for it")
        else:
            path = self._stage(kb)
            self.journal.record("install_started", what, task=task, package=kb.package.file)
            route.start_task(task, installer.install_lines(kb.package, path, self._plan_family(), method=self._method(),
                                                           verify=route.verify_lines))
        result = installer.finish_install(self.transport, what, self._poller(
            self.settings.install_timeout, lambda state: f"{what}: installer {state.state}"), query=route.query_task)
        self.journal.record("install_finished", what, outcome=result.outcome.value, exit_code=result.exit_code)
        adapted = " (expand + DISM: the Windows Update service is disabled)" if self._method() != self.settings.method else ""
        self._step("install", what, result.changed, result.message + adapted)
        if result.outcome not in _INSTALLED:
            raise _Failed(f"{self.host}: {what}: {result.message}", "install")

    def _restart(self, plan: HostPlan) -> bool:
        """Restart what the plan needs; True when a restart happened now (so verification follows)."""
        open_reboot = self._open_reboot()
        if plan.restart is Restart.REBOOT or open_reboot:
            return self._reboot(open_reboot)
        planned = {k.kb for k in plan.kbs if k.service and k.action in (Action.INSTALL, Action.RESTART_ONLY)}
        kbs = sorted(planned | self._owed_service_restarts())
        for kb in kbs:
            self._restart_service(kb)
        return bool(kbs)

    def _open_reboot(self) -> dict[str, Any] | None:
        return self.journal.open_intent("reboot_requested") or self.journal.open_intent("reboot_scheduled")

    def _owed_service_restarts(self) -> set[str]:
        """KBs whose install an earlier run started (since the last reboot) without their service restart done:
        killed right after the install, the host audits as fixed while the old code still runs."""
        owed: set[str] = set()
        for entry in self.journal.since("reboot_done"):
            kb = str(entry.get("kb"))
            if entry["step"] == "install_started" and kb in self.catalog and self.catalog.get(kb).restart_service:
                owed.add(kb)
            elif entry["step"] == "service_restart_done":
                owed.discard(kb)
        return owed

    def _restart_service(self, kb: str) -> None:
        """Intent (with the service's process id) before the restart; an open intent whose service runs under
        another process id since means the restart happened before the earlier run died. A service not running
        (the run died between its stop and its start) is restarted now."""
        entry = self.catalog.get(kb)
        intent = self.journal.open_intent("service_restart_requested", kb)
        route = self._route()
        pid = route.service_pid(entry)
        if intent is not None and pid is not None and pid != intent.get("pid"):
            message = f"restart of service {entry.restart_service} requested by an earlier run done"
        else:
            self.journal.record("service_restart_requested", kb, pid=pid)
            route.restart_service(entry)
            message = f"restarted service {entry.restart_service}"
        self.journal.record("service_restart_done", kb)
        self._step("restart_service", kb, True, message)

    def _reboot(self, open_intent: dict[str, Any] | None) -> bool:
        if open_intent is not None:
            return self._resume_reboot(open_intent)
        if self.settings.reboot is RebootMode.NEVER:
            self._workaround_without_reboot()
            self._end(HostStatus.RESTART_PENDING, f"{self.host}: restart pending (--reboot never)")
            return False
        result = reboot.reboot_host(
            self.transport, self.settings.reboot, window=self.context.window, comment=self._comment(),
            poller=self._reboot_poller(), intent=self._intent, power=self._power())
        if result.action == "scheduled":
            assert result.scheduled_at is not None
            self._step("schedule_reboot", None, True, result.message)
            self.outcome.scheduled_for = iso(result.scheduled_at)
            self._end(HostStatus.REBOOT_SCHEDULED, result.message)
            return False
        self.journal.record("reboot_done", boot_time=result.boot_time_after)
        self._step("reboot", None, True, result.message)
        return True

    def _intent(self, step: str, boot_time: str, at: float | None) -> None:
        if at is None:
            self.journal.record(step, boot_time=boot_time)
        else:
            self.journal.record(step, boot_time=boot_time, at=at)

    def _resume_reboot(self, intent: dict[str, Any]) -> bool:
        """A restart recorded earlier: done if the boot time moved, else still to come.

        If the process died between recording the intent and sending the request, the request is sent
        again: Windows answers that one is pending (1190; 1115 on 2003) and ours replaces it, so the host restarts once.
        A restart scheduled for the window whose task is not registered (the process died in between) is decided anew.
        """
        power = self._power()
        try:
            _, boot_time = reboot.host_clock(self.transport, power=power)
        except UnreachableError:
            return self._wait_for_boot(intent["boot_time"], power)  # going down or coming back
        if boot_time != intent["boot_time"]:
            return self._rebooted(boot_time)
        if intent["step"] == "reboot_scheduled":
            if power.reboot_task().state == "absent":  # the earlier run died before the task was registered
                return self._reboot(None)
            self.outcome.scheduled_for = iso(intent["at"])
            self._end(HostStatus.REBOOT_SCHEDULED, f"{self.host}: restart still scheduled for {iso(intent['at'])}")
            return False
        reboot.request_reboot(self.transport, comment=self._comment(), poller=self._reboot_poller(), power=power,
                              before=intent["boot_time"])
        return self._wait_for_boot(intent["boot_time"], power)

    def _wait_for_boot(self, boot_time: str, power: reboot.Power) -> bool:
        return self._rebooted(reboot.wait_for_boot(self.transport, boot_time, self._reboot_poller(), power=power))

    def _rebooted(self, boot_time: str) -> bool:
        """The restart an earlier run requested is done, whether the host was found up or waited for."""
        self.journal.record("reboot_done", boot_time=boot_time)
        self._step("reboot", None, True, f"restart requested by an earlier run done (boot time {boot_time})")
        return True

    def _workaround_without_reboot(self) -> None:
        plan = self.outcome.plan
        intent = self.journal.open_intent("nic_bounce_requested", "KB2847346")  # an earlier run died around it
        # installed now or waiting for its restart (an earlier run died after the install, before the bounce)
        if intent is None and not (self.settings.nic_bounce and plan and "KB2847346" in _acted(plan)):
            return
        _, boot_time = reboot.host_clock(self.transport)
        if any(e["step"] == "nic_bounce_registered" and e.get("boot_time") == boot_time for e in self.journal.entries()):
            return  # one bounce per boot: a rerun (after a kill, or not) does not cut the host off again
        message = "network adapter bounce registered by an earlier run"
        if intent is None or workarounds.bounce_state(self.transport).state == "absent":
            self.journal.record("nic_bounce_requested", "KB2847346", boot_time=boot_time)
            message = workarounds.schedule_nic_bounce(self.transport, poller=self._poller(
                self.settings.reboot_timeout, lambda said: f"adapter bounce: {said}")).message
        self.journal.record("nic_bounce_registered", "KB2847346", boot_time=boot_time)
        self._step("workaround", "KB2847346", True, message)

    def _verify(self, acted: set[str]) -> None:
        """A new audit with leak sampling: the KBs acted on are fixed, no restart pending, their leaks flat."""
        acted = {kb for kb in acted if kb in self.catalog}  # a service pack is checked by the KB it was for
        audit = self._audit(AuditSettings(samples=self.settings.verify_samples, interval=self.settings.verify_interval,
                                          kbs=self.settings.kbs))
        problems = [f"{f.kb} {f.status.value}: {f.reason}" for f in audit.findings if f.kb in acted and f.status not in _FIXED]
        facts = audit.facts
        if facts and facts.pending_reboot:
            problems.append(f"restart still pending ({', '.join(facts.pending_reboot)})")
        unjudged: dict[str, list[str]] = {}  # why -> the indicators without a verdict for that reason
        for kb in sorted(acted):
            for indicator in self.catalog.get(kb).indicators:
                verdict = facts.leaks.get(indicator.id) if facts else None
                if verdict is not None and verdict.leaking:
                    problems.append(f"{kb}: {indicator.id} still grows ({verdict.rate_per_hour:,.0f}/h)")
                elif verdict is None or not verdict.judged:
                    why = verdict.reason.partition(";")[0].removeprefix("no verdict: ") if verdict else "not sampled"
                    unjudged.setdefault(why, []).append(indicator.id)
        # a verdict needs the indicator's minimum span (2 h): the default verification samples 30 min and says so
        leak = ("leak not judged yet: " + "; ".join(f"{', '.join(ids)} ({why})" for why, ids in unjudged.items())
                + "; a later audit judges it") if unjudged else "no leak"
        self._step("verify", None, False, "; ".join(problems) or f"verified: {', '.join(sorted(acted))} fixed, {leak}")
        if problems:
            raise _Failed(f"{self.host}: verification failed: {'; '.join(problems)}", "verify")

    # --- helpers ------------------------------------------------------------------------------

    def _plan_text(self, plan: HostPlan) -> str:
        """The exact plan, as --check prints it: each package, how it gets there, the installer line, the restart."""
        parts = []
        for kb in plan.kbs:
            if kb.action is Action.INSTALL and kb.package is not None:
                path = stage.staged_path(kb.package.file)
                lines = installer.install_lines(kb.package, path, plan.family, method=self._method(),
                                                verify=self._route().verify_lines)
                first = f" first its prerequisite {kb.package.kb} (restart, new audit and plan, then {kb.kb}):" if kb.service_pack else ""
                parts.append(f"{kb.kb}:{first} stage {kb.package.file} (sha256 {kb.package.sha256[:12]}..., "
                             f"{self.source.kind}) to {path}; install as SYSTEM: {' '.join(f'[{line}]' for line in lines)}")
            elif kb.action is Action.RESTART_ONLY:
                parts.append(f"{kb.kb}: installed, waits for its restart")
        return f"{plan.host}: " + ("; ".join(parts) + f"; then {self._restart_text(plan)}" if parts else "nothing to do")

    def _restart_text(self, plan: HostPlan) -> str:
        if plan.restart is Restart.SERVICE:
            return "restart service " + ", ".join(sorted({k.service for k in plan.kbs if k.service}))
        if plan.restart is Restart.NONE:
            return "no restart"
        mode, window = self.settings.reboot, self.context.window
        if mode is RebootMode.WINDOW:
            return f"reboot in the maintenance window {window}" if window else "reboot: NO maintenance window set"
        return "reboot now, then verify" if mode is RebootMode.NOW else "no reboot (--reboot never): restart pending"

    def _route(self) -> Route:
        """The steps for this host: by PowerShell, or by cmd.exe tools when the audit found no PowerShell."""
        facts = self.outcome.audit.facts if self.outcome.audit else None
        return route_for(self.transport, facts.powershell_version if facts else "unknown", self.context.max_envelope_kb)

    def _power(self) -> reboot.Power:
        """The host's clock and restarts: by PowerShell, or by cmd.exe when the audit found none (before any audit,
        as when resuming a restart, the first answer tells)."""
        facts = self.outcome.audit.facts if self.outcome.audit else None
        return reboot.Power(self.transport, None if facts is None else facts.powershell_version is not None)

    def _journal_installs(self) -> set[str]:
        return {e["kb"] for e in self.journal.entries() if e["step"] == "install_finished" and e.get("kb")}

    def _method(self) -> str:
        """The install method for this host: the setting, with ``auto`` adapted to a disabled Windows Update service."""
        facts = self.outcome.audit.facts if self.outcome.audit else None
        disabled = facts is not None and hostsettings.windows_update_disabled(facts.registry or {})
        return installer.choose_method(self.settings.method, self._plan_family(), disabled)

    def _plan_family(self) -> str:
        assert self.outcome.plan is not None
        return self.outcome.plan.family

    def _comment(self) -> str:
        plan = self.outcome.plan
        acted = [k.package.kb if k.package else k.kb for k in plan.kbs if k.action in (Action.INSTALL, Action.RESTART_ONLY)] if plan else []
        kbs = ", ".join(dict.fromkeys(acted))
        return f"winremedy: restart to complete {kbs}"

    def _reboot_poller(self) -> Poller:
        return self._poller(self.settings.reboot_timeout, lambda said: f"waiting for the restart ({said})")

    def _poller(self, timeout: float, describe: Callable[[Any], str]) -> Poller:
        """A wait of ``timeout`` at the run's poll, noting a line when what the host says changes, else every 30 s."""
        last: list[Any] = [None, -PROGRESS_EVERY]

        def on_wait(said: Any, waited: float) -> None:
            text = describe(said)
            if text != last[0] or waited - last[1] >= PROGRESS_EVERY:
                last[:] = [text, waited]
                self._note(self.host, f"{text}, {waited:.0f} s")
        return Poller(timeout, self.settings.poll, on_wait=on_wait)

    def _step(self, step: str, kb: str | None, changed: bool, message: str) -> None:
        self.outcome.steps.append(Step(step, kb, changed, message))
        self._note(self.host, f"{kb + ': ' if kb else ''}{step}: {message}")

    def _review_unknown(self) -> None:
        """A host whose run went through but left KBs of unknown status needs a person, not a green tick."""
        plan = self.outcome.plan
        if plan and plan.unknown and self.outcome.status in (HostStatus.COMPLIANT, HostStatus.FIXED):
            self._end(HostStatus.NEEDS_REVIEW, "; ".join(f"{self.host}: {k.kb}: {k.reason}" for k in plan.unknown))

    def _end(self, status: HostStatus, message: str, code: str | None = None) -> None:
        self.outcome.status, self.outcome.message, self.outcome.error_code = status, message, code



# Each entry point by the name the collection's step plugins and HostPlan.would_change use.
ENTRY_POINTS: dict[str, Callable[[HostRun], HostOutcome]] = {
    "stage": HostRun.stage_only, "install": HostRun.install_only, "reboot": HostRun.restart_only,
    "verify": HostRun.verify_only, "remediate": HostRun.run,
}

def _acted(plan: HostPlan) -> set[str]:
    return {k.kb for k in plan.kbs if k.action in (Action.INSTALL, Action.RESTART_ONLY)}


def _blocked_text(plan: HostPlan) -> str:
    return "; ".join(f"{plan.host}: {k.kb}: {k.reason}" for k in plan.blocked)
