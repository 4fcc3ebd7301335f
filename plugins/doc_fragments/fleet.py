# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_task option of the per-host plugins whose work a fleet task can do for the batch, documented once."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  fleet_task:
    description:
      - The name of the variable a fleet task run once for the batch registered its result as (a name, not a
        template) - M(winremedy.windows.kb_fleet_audit) for M(winremedy.windows.kb_facts),
        M(winremedy.windows.kb_fleet_remediate) for M(winremedy.windows.kb_remediate); this host's entry of its
        C(hosts) is then this task's result.
      - Given, and the host in it, nothing is done on the host and nothing saved (the fleet task did both); the
        task reports that result as this host's own - its facts or C(changed), or C(unreachable)/C(failed) with
        the fleet task's reason - so the PLAY RECAP, C(max_fail_percentage) and later plays see each host as in
        the per-host mode. A host not in it (one not on C(winrm), left out), or a skipped fleet task, is worked on
        by this task as usual.
      - Under the strategy C(winremedy.windows.fleet) the result is taken in the controller, without a worker
        process for the host.
    type: str
"""
