# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: one remediation step of one host as a task result.

Everything decided here is the engine's (``winremedy.remediate``: preflight,
plan, stage, install, restart, verify, the journal); this module builds its
objects from the task's options and host variables, runs one entry point of
``HostRun`` over the task's own connection, and turns the ``HostOutcome`` into
what Ansible expects: ``changed`` (in check mode: would change),
``reboot_required``, a diff of the staged files, ``unreachable`` for connection
failures and ``failed`` with one line naming the host, the KB and the code.

Import this module only after :func:`._engine.require_engine`: it imports winremedy.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import CONNECTION_FAILURES
from ansible_collections.winremedy.windows.plugins.plugin_utils._transport import ConnectionTransport
from winremedy.catalog import load_catalog, use_catalog_paths
from winremedy.errors import WinRemedyError
from winremedy.remediate.command import host_contexts, preflight, save_outcome
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import HostOutcome, HostStatus
from winremedy.remediate.plan import HostPlan, Restart
from winremedy.remediate.reboot import RebootMode
from winremedy.remediate.runner import HostRun, Settings
from winremedy.remediate.stage import STAGING_DIR, Source, open_source
from winremedy.repo.manifest import Manifest
from winremedy.audit.results import HostResult

if t.TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

Note = t.Callable[[str, str], None]
ENTRY_POINTS = {"stage": HostRun.stage_only, "install": HostRun.install_only, "reboot": HostRun.restart_only,
                "verify": HostRun.verify_only, "remediate": HostRun.run}
_URL = re.compile(r"^https?://", re.IGNORECASE)


class _TaskError(Exception):
    """The task's options or the controller's files are wrong: no host was contacted."""


def remediate(connection: ConnectionBase, host: str, step: str, args: dict[str, t.Any],
              hostvars: dict[str, t.Any], *, check: bool, diff: bool, note: Note) -> dict[str, t.Any]:
    """Run ``step`` (a key of :data:`ENTRY_POINTS`) on ``host``; save the outcome; return the task result."""
    try:
        run, refused = _host_run(connection, host, step, args, hostvars, check=check, note=note)
    except _TaskError as error:
        return {"failed": True, "changed": False, "msg": str(error)}
    outcome = run if isinstance(run, HostOutcome) else ENTRY_POINTS[step](run)
    result = task_result(outcome, step, RebootMode(args.get("reboot", "never")), check=check, diff=diff)
    if refused:
        result["warnings"] = [f"refused package {file}: {reason}" for file, reason in refused.items()]
    if args.get("results_dir"):
        try:
            save_outcome(Path(args["results_dir"]), outcome)
        except OSError as error:
            return {"failed": True, "changed": result["changed"],
                    "msg": f"{host}: cannot save the result in {args['results_dir']}: {error}"}
    return result


def _host_run(connection: ConnectionBase, host: str, step: str, args: dict[str, t.Any], hostvars: dict[str, t.Any],
              *, check: bool, note: Note) -> tuple[HostRun | HostOutcome, dict[str, str]]:
    """The engine's HostRun for this task, or the host's failed outcome when the host itself is misconfigured."""
    try:
        use_catalog_paths(str(path) for path in args.get("catalog_paths", ()))
        catalog = load_catalog()
        kbs = tuple(catalog.get(str(kb)).kb for kb in args.get("kbs", ()))
        source, manifest = _source(args)
        refused = preflight(source, manifest, kbs)  # before anything runs on the host
    except WinRemedyError as error:  # the task's options or the controller's repository: not this host's fault
        raise _TaskError(f"{host}: {' '.join(str(error).split())} ({error.code})") from None
    settings = Settings(
        reboot=RebootMode(args.get("reboot", "never")), kbs=kbs, check=check,
        install_gdr=args.get("install_gdr", True), method=args.get("method", "auto"),
        nic_bounce=args.get("nic_bounce", False), verify_samples=args.get("verify_samples", 4),
        verify_interval=args.get("verify_interval", 600.0), install_timeout=args.get("install_timeout", 1800.0),
        reboot_timeout=args.get("reboot_timeout", 1800.0), poll=args.get("poll", 10.0),
    )
    if settings.verify_samples < 1 or settings.poll <= 0:
        raise _TaskError(f"{host}: verify_samples must be at least 1 and poll above 0, got "
                         f"{settings.verify_samples} and {settings.poll}")
    contexts, bad = host_contexts({host: hostvars})
    failure = (bad[host], "inventory") if host in bad else None
    if failure is None:
        try:
            transport = ConnectionTransport(connection, host)
        except WinRemedyError as error:
            failure = (str(error), error.code)
    if failure is not None:  # the host's own settings are wrong: its outcome (and saved result) say so
        message, code = failure
        audit = HostResult(host=host, reachable=True, error=message, error_code=code)
        return HostOutcome(host, HostStatus.FAILED, message=message, error_code=code, audit=audit), refused
    directory = args.get("journal_dir")
    journal = Journal(None if check or not directory else Path(directory), host)
    return HostRun(transport, catalog, source, manifest, settings, contexts[host], journal, refused=refused,
                   note=note), refused


def _source(args: dict[str, t.Any]) -> tuple[Source, Manifest]:
    """open_source from ``repo`` (a directory, or an http(s) URL) and ``repo_unc`` (hosts copy from that share)."""
    repo, unc = args.get("repo"), args.get("repo_unc")
    if not repo:  # kb_verify: it plans nothing, so it needs no repository
        return Source("push", None, None), Manifest()
    if _URL.match(str(repo)):
        if unc:
            raise WinRemedyError(f"repo {repo} is a URL: hosts download from it, so repo_unc cannot be used with it")
        return open_source(url=str(repo))
    return open_source(repo=Path(str(repo)).expanduser(), unc=None if not unc else str(unc))


def task_result(outcome: HostOutcome, step: str, reboot: RebootMode, *, check: bool, diff: bool) -> dict[str, t.Any]:
    """The task result: the outcome's keys, ``changed`` (check mode: would change) and the diff of staged files."""
    plan = outcome.plan
    result: dict[str, t.Any] = {
        "status": outcome.status.value, "msg": outcome.message or f"{outcome.host}: {outcome.status.value}",
        "changed": _would_change(plan, step, reboot) if check else outcome.changed,
        "reboot_required": _restart_needed(plan) if check else outcome.reboot_required,
        "plan": plan.to_dict() if plan else None, "steps": [s.to_dict() for s in outcome.steps],
        "scheduled_for": outcome.scheduled_for,
        "staged": [{"path": s.path, "changed": s.changed, "method": s.method, "sha256": s.sha256,
                    "before_sha256": s.before_sha256} for s in outcome.staged],
        "findings": [f.to_dict() for f in outcome.audit.findings] if outcome.audit else [],
    }
    if outcome.status in (HostStatus.FAILED, HostStatus.UNREACHABLE):
        code = outcome.error_code or "error"
        failure = "unreachable" if code in CONNECTION_FAILURES else "failed"
        result.update({failure: True, "msg": f"{result['msg']} ({code})", "error_code": code})
    if diff:
        result["diff"] = _diff(outcome, step, check=check)
    return result


def _would_change(plan: HostPlan | None, step: str, reboot: RebootMode) -> bool:
    """Check mode: whether the step would change the host, from the plan alone (nothing else was asked)."""
    if plan is None or step == "verify":
        return False
    restarts = plan.restart is Restart.SERVICE or (plan.restart is Restart.REBOOT and reboot is not RebootMode.NEVER)
    if step in ("stage", "install"):
        return bool(plan.installs)
    if step == "reboot":
        return plan.has_work and restarts
    return bool(plan.installs) or (plan.has_work and restarts)


def _restart_needed(plan: HostPlan | None) -> bool:
    return plan is not None and plan.has_work and plan.restart is Restart.REBOOT


def _diff(outcome: HostOutcome, step: str, *, check: bool) -> list[dict[str, str]]:
    """One diff per package put on the host: its SHA-256 before and after (check mode: the planned file)."""
    if step not in ("stage", "install", "remediate"):
        return []
    if check:
        planned = outcome.plan.installs if outcome.plan else []
        return [_file_diff(f"{STAGING_DIR}\\{kb.package.file}", None, kb.package.sha256, probed=False)
                for kb in planned if kb.package is not None]
    return [_file_diff(s.path, s.before_sha256, s.sha256, probed=True) for s in outcome.staged if s.changed]


def _file_diff(path: str, before: str | None, after: str, *, probed: bool) -> dict[str, str]:
    was = "not probed in check mode" if not probed else before or "absent"
    return {"before_header": path, "after_header": path, "before": f"sha256: {was}\n", "after": f"sha256: {after}\n"}
