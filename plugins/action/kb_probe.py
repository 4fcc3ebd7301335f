# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_probe: the readiness probe of one host (docs in plugins/modules/kb_probe.py); a thin adapter over the engine."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "fail_when_not_ready": {"type": "bool", "default": False},
    "results_dir": {"type": "path"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True  # read-only: the probe runs in check mode too
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        require_engine()
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._probe import kb_probe

        host = (task_vars or {})["inventory_hostname"]
        result.update(kb_probe(
            self._connection, str(host), fail_when_not_ready=bool(args["fail_when_not_ready"]),
            results_dir=None if args["results_dir"] is None else str(args["results_dir"]),
        ))
        return result
