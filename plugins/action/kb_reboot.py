# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_reboot: the restart the host's installed KBs wait for (now, in its maintenance window, never), then verify.

Documentation in plugins/modules/kb_reboot.py; a thin adapter over the engine (see _remediate_action.py).
"""

from __future__ import annotations

from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import RemediateAction


class ActionModule(RemediateAction):
    STEP = "reboot"
    OPTIONS = (
        "kbs", "repo", "repo_unc", "install_gdr", "reboot", "nic_bounce", "verify_samples", "verify_interval",
        "reboot_timeout", "poll", "journal_dir", "results_dir"
    )
    REQUIRED = ("repo",)
