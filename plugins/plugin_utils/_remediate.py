# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: one remediation step of one host as a task result (kb_remediate and the
other steps), and the whole remediation of a play's batch at once (kb_fleet_remediate).

Everything decided here is the engine's (``winremedy.remediate``: preflight,
plan, stage, install, restart, verify, the journal); this module builds its
objects from the task's options and host variables, runs one entry point of
``HostRun`` over the task's own connection (or, for a batch, each host's whole
run over a connection built from its own ``hostvars``, concurrently, as
``winremedy remediate`` does), and turns each ``HostOutcome`` into what Ansible
expects: ``changed`` (in check mode: would change), ``reboot_required``, a diff
of the staged files, ``unreachable`` for connection failures and ``failed``
with one line naming the host, the KB and the code.

Import this module only after :func:`._engine.require_engine`: it imports winremedy.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import CONNECTION_FAILURES, winrm_connections
from ansible_collections.winremedy.windows.plugins.plugin_utils._transport import ConnectionTransport
from winremedy.catalog import Catalog, load_catalog, use_catalog_paths
from winremedy.errors import WinRemedyError
from winremedy.remediate.fleet import failed_outcome, host_contexts, host_runner, preflight, save_outcome, settings_for
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import FileChange, HostOutcome, HostStatus
from winremedy.remediate.rollout import roll_out
from winremedy.remediate.runner import ENTRY_POINTS, HostRun
from winremedy.remediate.settings import Settings
from winremedy.remediate.stage import Source, resolve_source
from winremedy.repo.manifest import Manifest

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
        result["warnings"] = _warnings(refused)
    return _saved(result, outcome, args)


class _Inputs(t.NamedTuple):
    """What every host of a task shares: the catalog, the settings, the packages and the refused ones."""

    catalog: Catalog
    settings: Settings
    source: Source
    manifest: Manifest
    refused: dict[str, str]


def _inputs(args: dict[str, t.Any], *, check: bool) -> _Inputs:
    """The task's catalog, settings and packages, every package checked before any host is touched.

    Raises _TaskError (without a host name) for the task's options or the controller's repository."""
    try:
        use_catalog_paths(str(path) for path in args.get("catalog_paths", ()))
        catalog = load_catalog()
        settings = settings_for(args, catalog, check=check)
        # kb_verify plans nothing, so it takes no repository
        source, manifest = resolve_source(args["repo"], args.get("repo_unc")) if args.get("repo") else (
            Source("push", None, None), Manifest())
        return _Inputs(catalog, settings, source, manifest, preflight(source, manifest, settings.kbs))
    except WinRemedyError as error:  # the task's options or the controller's repository: not this host's fault
        raise _TaskError(f"{' '.join(str(error).split())} ({error.code})") from None


def _warnings(refused: dict[str, str]) -> list[str]:
    return [f"refused package {file}: {reason}" for file, reason in refused.items()]


def _journal_dir(args: dict[str, t.Any]) -> Path | None:
    return Path(args["journal_dir"]) if args.get("journal_dir") else None


def _host_run(connection: ConnectionBase, host: str, args: dict[str, t.Any], hostvars: dict[str, t.Any], *,
              check: bool, note: Note) -> tuple[HostRun | HostOutcome, Settings, dict[str, str]]:
    """The engine's HostRun for this task (or the host's failed outcome when the host itself is misconfigured),
    its settings, and the refused packages."""
    try:
        inputs = _inputs(args, check=check)
    except _TaskError as error:
        raise _TaskError(f"{host}: {error}") from None
    settings, refused = inputs.settings, inputs.refused
    contexts, bad = host_contexts({host: hostvars})
    if host in bad:  # the host's own settings are wrong: its outcome (and saved result) say so
        return failed_outcome(host, bad[host], "inventory"), settings, refused
    try:
        transport = ConnectionTransport(connection, host)
    except WinRemedyError as error:
        return failed_outcome(host, str(error), error.code), settings, refused
    journal = Journal(None if check else _journal_dir(args), host)
    return HostRun(transport, inputs.catalog, inputs.source, inputs.manifest, settings, contexts[host], journal,
                   refused=refused, note=note), settings, refused


def kb_fleet_remediate(hostvars: t.Mapping[str, t.Mapping[str, t.Any]], hosts: list[str], args: dict[str, t.Any],
                       *, forks: int, check: bool, diff: bool, note: Note) -> dict[str, t.Any]:
    """Remediate ``hosts`` (a play's batch) at once, each host's whole run over a connection built from its own
    ``hostvars``, ``forks`` at a time: the same engine run, journal and saved outcome as kb_remediate per host.

    Returns ``hosts``: each host's task result, as kb_remediate would have returned it (the playbook replays
    it as that host's task, so failures, ``changed`` and the recap stay per host), and ``left_out``: the hosts
    on a connection the engine does not drive, for the per-host task. A task error (an unknown KB, a repository
    that cannot be read) fails every host of the batch with the per-host task's line; no host is contacted.
    """
    try:
        inputs = _inputs(args, check=check)
    except _TaskError as error:
        return {"changed": False, "left_out": [], "hosts": {
            host: {"failed": True, "changed": False, "msg": f"{host}: {error}"} for host in hosts}}
    variables = {host: hostvars[host] for host in hosts}  # once per host: each lookup computes its variables
    fleet, connect = winrm_connections(variables)
    contexts, bad = host_contexts({host: variables[host] for host in fleet})
    run_host = host_runner(connect, contexts, bad, catalog=inputs.catalog, source=inputs.source,
                           manifest=inputs.manifest, settings=inputs.settings, refused=inputs.refused,
                           journal_dir=_journal_dir(args), note=note)
    tasks: dict[str, dict[str, t.Any]] = {}

    def finished(outcome: HostOutcome) -> None:  # saved the moment the host is done, as the CLI does
        tasks[outcome.host] = _saved(task_result(outcome, "remediate", inputs.settings, diff=diff), outcome, args)

    roll_out(fleet, run_host, forks=forks, on_result=finished)  # one batch: the play's serial made it
    result = {"changed": False, "hosts": tasks, "left_out": [host for host in hosts if host not in fleet]}
    if inputs.refused:
        result["warnings"] = _warnings(inputs.refused)
    return result


def _saved(result: dict[str, t.Any], outcome: HostOutcome, args: dict[str, t.Any]) -> dict[str, t.Any]:
    """``result``, once the host's outcome is saved under ``results_dir``; a failure naming the host if it cannot be."""
    if args.get("results_dir"):
        try:
            save_outcome(Path(args["results_dir"]), outcome)
        except OSError as error:
            return {"failed": True, "changed": result["changed"],
                    "msg": f"{outcome.host}: cannot save the result in {args['results_dir']}: {error}"}
    return result


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
