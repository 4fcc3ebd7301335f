# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_verify: a new audit with leak sampling; fails unless every KB is fixed or not applicable and nothing leaks.

Documentation in plugins/modules/kb_verify.py; a thin adapter over the engine (see _remediate_action.py).
"""

from __future__ import annotations

from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import RemediateAction


class ActionModule(RemediateAction):
    STEP = "verify"
    OPTIONS = ("kbs", "verify_samples", "verify_interval", "results_dir")
