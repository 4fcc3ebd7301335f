# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_install: stage and install the packages the host's plan needs; no restart.

Documentation in plugins/modules/kb_install.py; a thin adapter over the engine (see _remediate_action.py).
"""

from __future__ import annotations

from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import RemediateAction


class ActionModule(RemediateAction):
    STEP = "install"
    OPTIONS = (
        "kbs", "repo", "repo_unc", "method", "install_gdr", "install_timeout", "poll", "journal_dir",
        "results_dir"
    )
    REQUIRED = ("repo",)
