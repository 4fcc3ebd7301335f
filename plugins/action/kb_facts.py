# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_facts: the audit of one host (docs in plugins/modules/kb_facts.py); a thin adapter over the engine."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine
from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import with_facts_at_top

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "kbs": {"type": "list", "elements": "str", "default": []},
    "samples": {"type": "int", "default": 1},
    "interval": {"type": "float", "default": 60.0},
    "results_dir": {"type": "path"},
    "catalog_paths": {"type": "list", "elements": "path", "default": []},
    "fleet_audit": {"type": "str"},
    "history": {"type": "str"},  # winremedy_history_url in the playbooks (doc fragment winremedy.windows.history)
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True  # read-only: the audit runs in check mode too
    _supports_async = False

    @staticmethod
    def controller_result(args: Mapping[str, t.Any], task_vars: Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """This host's outcome in the kb_fleet_audit result that ``fleet_audit`` names: the task's whole result,
        needing no connection; None when there is none (the host is audited here).

        Read from the variables as they are, not templated: the strategy winremedy.windows.fleet calls this in
        the controller with the task's own arguments, so that a host's share of the fleet audit costs no worker
        process; :meth:`run` calls it too, so both give the same result.
        """
        name = args.get("fleet_audit")
        if not isinstance(name, str) or not set(args) <= ARGUMENT_SPEC.keys():
            return None
        fleet = task_vars.get(name)
        hosts = fleet.get("hosts") if isinstance(fleet, Mapping) else None  # a skipped kb_fleet_audit has none
        outcome = hosts.get(str(task_vars["inventory_hostname"])) if isinstance(hosts, Mapping) else None
        return with_facts_at_top(outcome) if isinstance(outcome, Mapping) else None

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        variables = task_vars or {}
        if args["fleet_audit"] is not None:
            if not isinstance(variables.get(args["fleet_audit"]), Mapping):
                return {"failed": True, "msg": f"fleet_audit: no variable {args['fleet_audit']!r} (register the "
                                               "result of winremedy.windows.kb_fleet_audit under this name)"}
            outcome = self.controller_result(args, variables)
            if outcome is not None:  # audited by kb_fleet_audit: its outcome becomes this host's task
                result.update(outcome)
                return result
        require_engine()
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import kb_facts

        host = variables["inventory_hostname"]  # the name results and reports use, as the CLI does
        # Plain Python values: ansible-core 2.19 hands templated values over as tagged subclasses of
        # int/str, which the engine's data encoder should not have to know about.
        result.update(kb_facts(
            self._connection, str(host), kbs=[str(kb) for kb in args["kbs"]], samples=int(args["samples"]),
            interval=float(args["interval"]),
            results_dir=None if args["results_dir"] is None else str(args["results_dir"]),
            catalog_paths=[str(path) for path in args["catalog_paths"]],
            history=None if args["history"] is None else str(args["history"]),
        ))
        return result
