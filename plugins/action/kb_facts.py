# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_facts: the audit of one host (docs in plugins/modules/kb_facts.py); a thin adapter over the engine."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine
from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import (
    FLEET_OPTION, FLEET_OPTION_SPEC, fleet_outcome, replayed, with_facts_at_top)

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "kbs": {"type": "list", "elements": "str", "default": []},
    "samples": {"type": "int", "default": 1},
    "interval": {"type": "float", "default": 60.0},
    "results_dir": {"type": "path"},
    "catalog_paths": {"type": "list", "elements": "path", "default": []},
    FLEET_OPTION: FLEET_OPTION_SPEC,  # doc fragment winremedy.windows.fleet
    "history": {"type": "str"},  # winremedy_history_url in the playbooks (doc fragment winremedy.windows.history)
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True  # read-only: the audit runs in check mode too
    _supports_async = False

    @staticmethod
    def controller_result(args: Mapping[str, t.Any], task_vars: Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """This host's outcome in the kb_fleet_audit result that ``fleet_task`` names: the task's whole result,
        needing no connection; None when there is none (the host is audited here). The strategy
        winremedy.windows.fleet calls it in the controller; :meth:`run` calls it too, so both give the same result.
        """
        outcome = fleet_outcome(args, task_vars, ARGUMENT_SPEC)
        return None if outcome is None else with_facts_at_top(outcome)

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        variables = task_vars or {}
        outcome = replayed(args, variables, "kb_fleet_audit", self.controller_result)
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
