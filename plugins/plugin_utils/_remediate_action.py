# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: what kb_stage, kb_install, kb_reboot, kb_verify and kb_remediate share
(kb_fleet_remediate takes kb_remediate's options from here too).

One ActionBase subclass that validates the task's options, reads the host's
maintenance-window variables and hands everything to the engine adapter
(``_remediate.py``). Each plugin names the options its step takes, so its
argument spec rejects the rest. The remediation options (reboot, method,
timeouts, ...) are the engine's (``winremedy.remediate.settings``), so the spec
is built only after require_engine: a missing engine still ends the task with
its one line. Only the options that exist on this side alone are written here.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine
from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import (
    FLEET_OPTION, FLEET_OPTION_SPEC, fleet_outcome, replayed)

display = Display()

# Options of the collection alone: the repository as a task gives it, and where the controller keeps files.
COLLECTION_OPTIONS: dict[str, dict[str, t.Any]] = {
    "repo": {"type": "str"},
    "repo_unc": {"type": "str"},
    "journal_dir": {"type": "path"},
    "results_dir": {"type": "path"},
    "catalog_paths": {"type": "list", "elements": "path", "default": []},
    FLEET_OPTION: FLEET_OPTION_SPEC,  # kb_remediate's (doc fragment winremedy.windows.fleet)
}
EVERY_PLUGIN = ("catalog_paths",)  # options each remediation plugin takes besides its own


def argument_spec(names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, dict[str, t.Any]]:
    """The spec of one plugin: the named options (the engine's or :data:`COLLECTION_OPTIONS`) and
    :data:`EVERY_PLUGIN`'s, ``required`` ones without a default. Needs the engine: call it after require_engine."""
    from winremedy.remediate.settings import argument_spec as engine_spec

    options = {**engine_spec(), **COLLECTION_OPTIONS}
    return {name: {**options[name], "required": True} if name in required else dict(options[name])
            for name in (*names, *EVERY_PLUGIN)}


class RemediateAction(ActionBase):
    """Runs one entry point of the engine's HostRun for the task's host, through the task's connection."""

    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True  # check mode plans and reports what would change, never changes
    _supports_async = False

    STEP: str = ""  # stage | install | reboot | verify | remediate
    OPTIONS: tuple[str, ...] = ()  # the options this step takes
    REQUIRED: tuple[str, ...] = ()

    @classmethod
    def controller_result(cls, args: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """This host's result in the kb_fleet_remediate result that ``fleet_task`` names (for a step that takes
        the option), needing no connection; None when there is none (the host is worked on here). The strategy
        winremedy.windows.fleet calls it in the controller; :meth:`run` calls it too, so both give the same result.
        """
        outcome = fleet_outcome(args, task_vars, (*cls.OPTIONS, *EVERY_PLUGIN))
        return None if outcome is None else dict(outcome)

    @classmethod
    def argument_spec(cls) -> dict[str, dict[str, t.Any]]:
        return argument_spec(cls.OPTIONS, cls.REQUIRED)

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        require_engine()
        validation, args = self.validate_argument_spec(argument_spec=self.argument_spec())
        variables = task_vars or {}
        outcome = replayed(args, variables, "kb_fleet_remediate", self.controller_result)
        if outcome is not None:  # done by kb_fleet_remediate: its result for this host becomes this task's
            result.update(outcome)
            return result
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate import remediate
        from winremedy.remediate.fleet import HOST_VARIABLES  # what the engine reads of a host beyond its address

        host = str(variables["inventory_hostname"])  # the name results and journals use, as the CLI does
        hostvars = {name: self._templar.template(variables[name]) for name in HOST_VARIABLES if name in variables}
        result.update(remediate(
            self._connection, host, self.STEP, {name: args[name] for name in (*self.OPTIONS, *EVERY_PLUGIN)}, hostvars,
            check=bool(self._task.check_mode), diff=bool(self._task.diff),
            note=lambda who, message: display.vv(f"winremedy [{who}] {message}"),
        ))
        return result
