# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kb_stage: put each package the host's plan needs on the host, hash-checked; nothing installed.

Documentation in plugins/modules/kb_stage.py; a thin adapter over the engine (see _remediate_action.py).
"""

from __future__ import annotations

from ansible_collections.winremedy.windows.plugins.plugin_utils._remediate_action import RemediateAction


class ActionModule(RemediateAction):
    STEP = "stage"
    OPTIONS = ("kbs", "repo", "repo_unc", "install_gdr", "results_dir")
    REQUIRED = ("repo",)
