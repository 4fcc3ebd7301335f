# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: the audit's steps as task results (kb_facts per host, kb_fleet_audit and
kb_report once).

Everything decided here is the engine's (``winremedy.audit.audit_host``,
``winremedy.report``); this module only turns its results into what Ansible
expects: a result dict with ``ansible_facts``, ``unreachable`` for connection
failures, ``failed`` with one line naming the host and the error code.

Import this module only after :func:`._engine.require_engine`: it imports winremedy.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone
from pathlib import Path

from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import with_facts_at_top
from ansible_collections.winremedy.windows.plugins.plugin_utils._transport import ConnectionTransport
from winremedy.audit.assess import assess
from winremedy.audit.command import time_scale
from winremedy.audit.run import TIME_SCALE_VARIABLE, AuditSettings, audit_fleet, audit_host
from winremedy.catalog import load_catalog, use_catalog_paths
from winremedy.errors import WinRemedyError
from winremedy.history import OutageTolerantHistory, open_history
from winremedy.history.series import host_record
from winremedy.inventory import options_from_hostvars
from winremedy.report import summarize, write_reports
from winremedy.report.history import report_charts
from winremedy.transport import WinRMOptions, WinRMTransport
from winremedy.audit.results import HostResult, load_results, result_path, save_result

if t.TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

CONNECTION_FAILURES = frozenset({"unreachable", "auth", "tls"})  # what Ansible itself reports as UNREACHABLE
# The connections the engine drives itself (pywinrm, the same ansible_winrm_* options); a host on any other
# (psrp, ssh, ...) is left to the per-host kb_facts task, which names what it supports.
FLEET_CONNECTIONS = frozenset({"winrm", "ansible.builtin.winrm"})


def kb_facts(connection: ConnectionBase, host: str, *, kbs: list[str], samples: int, interval: float,
             results_dir: str | None, catalog_paths: list[str], history: str | None = None) -> dict[str, t.Any]:
    """Audit ``host`` in one round trip; save the result under ``results_dir/hosts/`` (failures too) and return it.

    A failure is saved before it is returned, so a host that is unreachable
    still appears in the fleet report. With ``history``, the trends join the
    host's earlier samples and this audit's are appended there.
    """
    if samples < 1:
        return {"failed": True, "msg": f"{host}: samples must be at least 1, got {samples}"}
    try:
        use_catalog_paths(catalog_paths)
        catalog = load_catalog()
        settings = AuditSettings(samples=samples, interval=interval, kbs=tuple(catalog.get(kb).kb for kb in kbs))
        store = _opened(history)
    except WinRemedyError as error:  # the task's arguments, the catalog or the history: not this host's fault
        return {"failed": True, "msg": f"{host}: {error} ({error.code})"}
    try:
        try:
            transport = ConnectionTransport(connection, host)
        except WinRemedyError as error:
            result = HostResult(host=host, reachable=True, error=str(error), error_code=error.code)
        else:
            result = audit_host(transport, catalog, settings, store)
        if store and result.facts:  # as the fleet audit: the history first, then the result file
            store.write_host(store.begin_run(result.started_at or datetime.now(timezone.utc).isoformat()),
                             host_record(result.facts, assess(result.facts, catalog), catalog))
    finally:
        if store:
            store.close()
    task = task_result(result)
    if results_dir:
        try:
            task["result_path"] = str(save_result(Path(results_dir), result))
        except OSError as error:
            return {"failed": True, "msg": f"{host}: cannot save the result in {results_dir}: {error}"}
    return {**task, **_history_failure(store)}


def _opened(history: str | None) -> OutageTolerantHistory | None:
    """The history, connected and its schema current before any host is audited (or a HistoryError)."""
    return OutageTolerantHistory(open_history(history)) if history else None


def _history_failure(store: OutageTolerantHistory | None) -> dict[str, t.Any]:
    """The task's failure when the history was lost during the audit (every result is saved by then)."""
    try:
        if store:
            store.check()
    except WinRemedyError as error:
        return {"failed": True, "msg": f"{error} ({error.code})"}
    return {}


def kb_fleet_audit(hostvars: t.Mapping[str, t.Mapping[str, t.Any]], hosts: list[str], *, kbs: list[str],
                   samples: int, interval: float, results_dir: str | None, catalog_paths: list[str],
                   forks: int, history: str | None = None) -> dict[str, t.Any]:
    """Audit ``hosts`` concurrently through the engine, each over a connection built from its own ``hostvars``.

    Returns ``hosts``: each audited host's :func:`outcome`, its task result as :func:`kb_facts` would have
    returned it but with the facts once (kb_facts, given it, makes it that host's task result), and
    ``left_out``: the hosts on a connection the engine does not drive, for the per-host task. Each result is
    saved under ``results_dir/hosts/`` the moment it arrives.
    """
    if samples < 1:
        return {"failed": True, "msg": f"samples must be at least 1, got {samples}"}
    variables = {host: hostvars[host] for host in hosts}  # once per host: each lookup computes its variables
    fleet, connect = winrm_connections(variables)
    try:
        use_catalog_paths(catalog_paths)
        catalog = load_catalog()
        scale = time_scale({host: {TIME_SCALE_VARIABLE: variables[host].get(TIME_SCALE_VARIABLE, 1)} for host in fleet})
        settings = AuditSettings(samples=samples, interval=interval, kbs=tuple(catalog.get(kb).kb for kb in kbs),
                                 time_scale=scale)
        store = _opened(history)
    except WinRemedyError as error:  # the arguments, the catalog, the lab clock or the history: no host's fault
        return {"failed": True, "msg": f"{error} ({error.code})"}

    out = Path(results_dir) if results_dir else None
    try:
        results = audit_fleet(fleet, connect, catalog, settings, forks=forks, out=out, history=store)
    except OSError as error:
        return {"failed": True, "msg": f"cannot save the results in {results_dir}: {error}"}
    finally:
        if store:
            store.close()
    summary = summarize(results)
    tasks = {result.host: outcome(result) for result in results}
    if out:
        for host, task in tasks.items():
            task["result_path"] = str(result_path(out, host))
    return {"changed": False, "hosts": tasks, "left_out": [host for host in hosts if host not in fleet],
            "summary": summary.to_dict(), **_history_failure(store)}


def winrm_connections(variables: t.Mapping[str, t.Mapping[str, t.Any]],
                      ) -> tuple[list[str], t.Callable[[str], WinRMTransport]]:
    """The hosts on a connection the engine drives itself (the others are left to the per-host task), and how to
    connect to one of them over its own variables; a host whose variables are wrong fails with the reason when it
    is connected, not the fleet."""
    options: dict[str, WinRMOptions | WinRemedyError] = {}
    for host, own in variables.items():
        if str(own.get("ansible_connection", "winrm")) in FLEET_CONNECTIONS:
            try:
                options[host] = options_from_hostvars(host, own)
            except WinRemedyError as error:
                options[host] = error

    def connect(host: str) -> WinRMTransport:
        chosen = options[host]
        if isinstance(chosen, WinRemedyError):
            raise chosen
        return WinRMTransport(host, chosen)

    return list(options), connect


def task_result(result: HostResult) -> dict[str, t.Any]:
    """The task result for one host: facts and findings, or ``unreachable``/``failed`` with the engine's reason."""
    return with_facts_at_top(outcome(result))


def outcome(result: HostResult) -> dict[str, t.Any]:
    """:func:`task_result` with the facts once, under ``ansible_facts`` only: what kb_fleet_audit returns per host
    (half the data for ansible-core to copy and clean, per host and again for the whole batch)."""
    if not result.ok:
        failure = "unreachable" if result.error_code in CONNECTION_FAILURES else "failed"
        return {failure: True, "changed": False, "msg": f"{result.error} ({result.error_code})",
                "error_code": result.error_code}
    facts = {
        "reachable": result.reachable,
        "facts": result.facts.to_dict() if result.facts else None,
        "findings": [f.to_dict() for f in result.findings],
        "statuses": {f.kb: f.status.value for f in result.findings},
        "compliant": summarize([result]).compliant,
    }
    return {"changed": False, "ansible_facts": {"winremedy": facts}}


def kb_report(results_dir: str, formats: list[str], catalog_paths: list[str],
              history: str | None = None) -> dict[str, t.Any]:
    """Write the fleet reports from every saved host result, exactly as ``winremedy audit --out`` does."""
    directory = Path(results_dir)
    try:
        use_catalog_paths(catalog_paths)
        results = load_results(directory)
        catalog = load_catalog()
        charts = report_charts(directory, history, [r.host for r in results], catalog)
        # renders every format before writing any
        paths = write_reports(results, directory, formats, catalog=catalog, history=charts)
    except WinRemedyError as error:
        return {"failed": True, "msg": str(error)}
    except OSError as error:
        return {"failed": True, "msg": f"cannot write the reports in {directory}: {error}"}
    summary = summarize(results)
    return {"changed": False, "paths": [str(p) for p in paths], "summary": summary.to_dict(),
            "compliant": summary.compliant, "exit_code": summary.exit_code}
