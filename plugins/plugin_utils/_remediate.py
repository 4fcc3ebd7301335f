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

import typing as t
from pathlib import Path

from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import CONNECTION_FAILURES
from ansible_collections.winremedy.windows.plugins.plugin_utils._transport import ConnectionTransport
from winremedy.catalog import load_catalog, use_catalog_paths
from winremedy.errors import WinRemedyError
from winremedy.remediate.fleet import host_contexts, preflight, save_outcome, settings_for
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import FileChange, HostOutcome, HostStatus
from winremedy.remediate.runner import ENTRY_POINTS, HostRun
from winremedy.remediate.settings import Settings
from winremedy.remediate.stage import Source, resolve_source
from winremedy.repo.manifest import Manifest
from winremedy.audit.results import HostResult

if t.TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

Note = t.Callable[[str, str], None]


class _TaskError(Exception):
    """The task's options or the controller's files are wrong: no host was contacted."""


def remediate(connection: ConnectionBase, host: str, step: str, args: dict[str, t.Any],
              hostvars: dict[str, t.Any], *, check: bool, diff: bool, note: Note) -> dict[str, t.Any]:
    """Run ``step`` (a key of :data:`ENTRY_POINTS`) on ``host``; save the outcome; return the task result."""
    try:
        run, settings, refused = _host_run(connection, host, args, hostvars, check=check, note=note)
    except _TaskError as error:
        return {"failed": True, "changed": False, "msg": str(error)}
    outcome = run if isinstance(run, HostOutcome) else ENTRY_POINTS[step](run)
    result = task_result(outcome, step, settings, diff=diff)
    if refused:
        result["warnings"] = [f"refused package {file}: {reason}" for file, reason in refused.items()]
    if args.get("results_dir"):
        try:
            save_outcome(Path(args["results_dir"]), outcome)
        except OSError as error:
            return {"failed": True, "changed": result["changed"],
                    "msg": f"{host}: cannot save the result in {args['results_dir']}: {error}"}
    return result


def _host_run(connection: ConnectionBase, host: str, args: dict[str, t.Any], hostvars: dict[str, t.Any], *,
              check: bool, note: Note) -> tuple[HostRun | HostOutcome, Settings, dict[str, str]]:
    """The engine's HostRun for this task (or the host's failed outcome when the host itself is misconfigured),
    its settings, and the refused packages."""
    try:
        use_catalog_paths(str(path) for path in args.get("catalog_paths", ()))
        catalog = load_catalog()
        settings = settings_for(args, catalog, check=check)
        # kb_verify plans nothing, so it takes no repository
        source, manifest = resolve_source(args["repo"], args.get("repo_unc")) if args.get("repo") else (
            Source("push", None, None), Manifest())
        refused = preflight(source, manifest, settings.kbs)  # before anything runs on the host
    except WinRemedyError as error:  # the task's options or the controller's repository: not this host's fault
        raise _TaskError(f"{host}: {' '.join(str(error).split())} ({error.code})") from None
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
        return HostOutcome(host, HostStatus.FAILED, message=message, error_code=code, audit=audit), settings, refused
    directory = args.get("journal_dir")
    journal = Journal(None if check or not directory else Path(directory), host)
    return HostRun(transport, catalog, source, manifest, settings, contexts[host], journal, refused=refused,
                   note=note), settings, refused


def task_result(outcome: HostOutcome, step: str, settings: Settings, *, diff: bool) -> dict[str, t.Any]:
    """The task result: the outcome's keys, ``changed`` (check mode: would change) and the diff of staged files."""
    plan, check = outcome.plan, settings.check
    result: dict[str, t.Any] = {
        "status": outcome.status.value, "msg": outcome.message or f"{outcome.host}: {outcome.status.value}",
        "changed": (plan is not None and plan.would_change(step, settings.reboot)) if check else outcome.changed,
        "reboot_required": (plan is not None and plan.needs_reboot) if check else outcome.reboot_required,
        "plan": plan.to_dict() if plan else None, "steps": [s.to_dict() for s in outcome.steps],
        "scheduled_for": outcome.scheduled_for,
        "staged": [{"path": s.path, "changed": s.changed, "method": s.method, "sha256": s.sha256,
                    "before_sha256": s.before_sha256, "basis": s.basis} for s in outcome.staged],
        "findings": [f.to_dict() for f in outcome.audit.findings] if outcome.audit else [],
    }
    if outcome.status in (HostStatus.FAILED, HostStatus.UNREACHABLE):
        code = outcome.error_code or "error"
        failure = "unreachable" if code in CONNECTION_FAILURES else "failed"
        result.update({failure: True, "msg": f"{result['msg']} ({code})", "error_code": code})
    if diff:
        result["diff"] = [_file_diff(change) for change in outcome.file_changes(step, check=check)]
    return result


def _file_diff(change: FileChange) -> dict[str, str]:
    """Ansible's diff of one package: its SHA-256 before and after."""
    was = "not probed in check mode" if not change.probed else change.before or "absent"
    return {"before_header": change.path, "after_header": change.path, "before": f"sha256: {was}\n",
            "after": f"sha256: {change.after}\n"}
