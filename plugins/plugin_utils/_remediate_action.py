# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: what kb_stage, kb_install, kb_reboot, kb_verify and kb_remediate share.

One table of options (each plugin takes the ones its step uses, so its argument
spec rejects the rest) and one ActionBase subclass that validates them, reads
the host's maintenance-window variables and hands everything to the engine
adapter (``_remediate.py``). Nothing here imports the winremedy package, so a
missing engine still ends the task with require_engine's one line.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine

display = Display()

OPTIONS: dict[str, dict[str, t.Any]] = {
    "kbs": {"type": "list", "elements": "str", "default": []},
    "repo": {"type": "str"},
    "repo_unc": {"type": "str"},
    "reboot": {"type": "str", "choices": ["now", "window", "never"], "default": "never"},
    "method": {"type": "str", "choices": ["auto", "dism"], "default": "auto"},
    "install_gdr": {"type": "bool", "default": True},
    "nic_bounce": {"type": "bool", "default": False},
    "verify_samples": {"type": "int", "default": 4},
    "verify_interval": {"type": "float", "default": 600.0},
    "install_timeout": {"type": "float", "default": 1800.0},
    "reboot_timeout": {"type": "float", "default": 1800.0},
    "poll": {"type": "float", "default": 10.0},
    "journal_dir": {"type": "path"},
    "results_dir": {"type": "path"},
    "catalog_paths": {"type": "list", "elements": "path", "default": []},
}
# The inventory variables the engine reads for a host beyond how to reach it (command.host_contexts).
HOST_VARIABLES = ("winremedy_maintenance_window", "winremedy_maintenance_timezone", "winremedy_max_envelope_kb")


def argument_spec(*names: str, required: tuple[str, ...] = ()) -> dict[str, dict[str, t.Any]]:
    """The spec of one plugin: the named options of :data:`OPTIONS` and ``catalog_paths`` (every plugin takes it),
    ``required`` ones without a default."""
    return {name: {**OPTIONS[name], "required": True} if name in required else dict(OPTIONS[name])
            for name in (*names, "catalog_paths")}


class RemediateAction(ActionBase):
    """Runs one entry point of the engine's HostRun for the task's host, through the task's connection."""

    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True  # check mode plans and reports what would change, never changes
    _supports_async = False

    STEP: str = ""  # stage | install | reboot | verify | remediate
    ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {}

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        require_engine()
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate import remediate

        variables = task_vars or {}
        host = str(variables["inventory_hostname"])  # the name results and journals use, as the CLI does
        hostvars = {name: self._templar.template(variables[name]) for name in HOST_VARIABLES if name in variables}
        result.update(remediate(
            self._connection, host, self.STEP, {name: args[name] for name in self.ARGUMENT_SPEC}, hostvars,
            check=bool(self._task.check_mode), diff=bool(self._task.diff),
            note=lambda who, message: display.vv(f"winremedy [{who}] {message}"),
        ))
        return result
