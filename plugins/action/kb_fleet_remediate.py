# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_fleet_remediate: the remediation of every host of the play's batch at once, from the controller (docs in
plugins/modules/kb_fleet_remediate.py); a thin adapter over the engine's concurrent remediation."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.action.kb_remediate import REMEDIATE_OPTIONS, REMEDIATE_REQUIRED
from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine
from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import (
    EVERY_PLUGIN, argument_spec, display)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # the engine connects to each host itself, from the host's own variables
    _supports_check_mode = True  # check mode plans every host and changes none
    _supports_async = False

    @staticmethod
    def argument_spec() -> dict[str, dict[str, t.Any]]:
        """kb_remediate's options (the engine's) and ``forks``. Needs the engine: call it after require_engine."""
        from winremedy.remediate.rollout import DEFAULT_FORKS  # as `winremedy remediate --forks`

        return {**argument_spec(REMEDIATE_OPTIONS, REMEDIATE_REQUIRED), "forks": {"type": "int", "default": DEFAULT_FORKS}}

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        require_engine()
        validation, args = self.validate_argument_spec(argument_spec=self.argument_spec())
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate import kb_fleet_remediate

        variables = task_vars or {}
        # The hosts of this batch still in the play: --limit, serial and hosts failed earlier are already applied.
        hosts = [str(host) for host in variables["ansible_play_batch"]]
        result.update(kb_fleet_remediate(
            variables["hostvars"], hosts, {name: args[name] for name in (*REMEDIATE_OPTIONS, *EVERY_PLUGIN)},
            forks=int(args["forks"]), check=bool(self._task.check_mode), diff=bool(self._task.diff),
            note=lambda who, message: display.vv(f"winremedy [{who}] {message}"),
        ))
        return result
