# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_fleet_audit: the audit of every host of the play at once, from the controller (docs in
plugins/modules/kb_fleet_audit.py); a thin adapter over the engine's fleet audit."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.action.kb_facts import ARGUMENT_SPEC as HOST_ARGUMENT_SPEC
from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine
from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import FLEET_OPTION

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    **{name: spec for name, spec in HOST_ARGUMENT_SPEC.items() if name != FLEET_OPTION},
    "forks": {"type": "int", "default": 64},  # winremedy.audit.run.DEFAULT_FORKS, as `winremedy audit --forks`
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # the engine connects to each host itself, from the host's own variables
    _supports_check_mode = True  # read-only: the audit runs in check mode too
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        require_engine()
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import kb_fleet_audit

        variables = task_vars or {}
        # The hosts of this batch still in the play: --limit, serial and hosts failed earlier are already applied.
        hosts = [str(host) for host in variables["ansible_play_batch"]]
        result.update(kb_fleet_audit(
            variables["hostvars"], hosts, kbs=[str(kb) for kb in args["kbs"]], samples=int(args["samples"]),
            interval=float(args["interval"]),
            results_dir=None if args["results_dir"] is None else str(args["results_dir"]),
            catalog_paths=[str(path) for path in args["catalog_paths"]], forks=int(args["forks"]),
            history=None if args["history"] is None else str(args["history"]),
        ))
        return result
