# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_report: fleet reports from saved host results (docs in plugins/modules/kb_report.py), on the controller."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.winremedy.windows.plugins.action.kb_facts import ARGUMENT_SPEC as HOST_ARGUMENT_SPEC
from ansible_collections.winremedy.windows.plugins.plugin_utils._engine import require_engine

DEFAULT_FORMATS = ["json", "csv", "junit", "html"]  # what `winremedy audit --out DIR` writes
ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "results_dir": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "default": DEFAULT_FORMATS},
    "catalog_paths": {"type": "list", "elements": "path", "default": []},
    "history": HOST_ARGUMENT_SPEC["history"],  # the history the reports chart, as the audit's
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # reads and writes controller files only
    _supports_check_mode = True  # writes no managed host: a --check audit still gets its report
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        require_engine()
        # Imported only now: it needs the engine, whose absence require_engine reports in one line.
        from ansible_collections.winremedy.windows.plugins.plugin_utils._audit import kb_report

        result.update(kb_report(str(args["results_dir"]), [str(fmt) for fmt in args["formats"]],
                                catalog_paths=[str(path) for path in args["catalog_paths"]],
                                history=None if args["history"] is None else str(args["history"])))
        return result
