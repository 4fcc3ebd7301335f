# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_remediate: the whole plan for a host: audit, stage, install, restart, verify.

Documentation in plugins/modules/kb_remediate.py; a thin adapter over the engine (see _remediate_action.py).
"""

from __future__ import annotations

from ansible_collections.winremedy.windows.plugins.plugin_utils._fleet import FLEET_OPTION
from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import RemediateAction

# The remediation's options: this plugin's, and kb_fleet_remediate's for a whole batch.
REMEDIATE_OPTIONS = (
    "kbs", "repo", "repo_unc", "reboot", "method", "install_gdr", "nic_bounce", "verify_samples",
    "verify_interval", "install_timeout", "reboot_timeout", "poll", "journal_dir", "results_dir"
)
REMEDIATE_REQUIRED = ("repo",)


class ActionModule(RemediateAction):
    STEP = "remediate"
    OPTIONS = (*REMEDIATE_OPTIONS, FLEET_OPTION)  # its host's result of a kb_fleet_remediate task, by its name
    REQUIRED = REMEDIATE_REQUIRED
