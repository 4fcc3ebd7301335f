# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_fleet_remediate.py.

DOCUMENTATION = r"""
---
module: kb_fleet_remediate
short_description: Remediate every host of the play's batch at once from the controller, as winremedy remediate does (fleet mode)
version_added: 0.2.0
description:
  - The remediation of M(winremedy.windows.kb_remediate) (readiness probe, audit, plan, stage, install, restart,
    verify) for every host of the current batch of the play (C(ansible_play_batch), so C(--limit), C(serial) and
    hosts failed earlier apply), run once on the controller through the engine's concurrent remediation, the code
    behind C(winremedy remediate). The packages are checked once for the batch, and no worker process or task
    per host waits through the installs and restarts.
  - Each host is reached over WinRM with a connection built from its own variables (C(hostvars)), with the same
    meaning as the per-host path and C(winremedy remediate -i) - C(ansible_host), C(ansible_port),
    C(ansible_user), C(ansible_password), every C(ansible_winrm_*) option - vaulted values included; its
    maintenance window from C(winremedy_maintenance_window) and C(winremedy_maintenance_timezone). A host whose
    variables are wrong fails with the variable named; the others are remediated.
  - The journal, the saved outcome (C(remediation/<host>.json)) and the last audit (C(hosts/<host>.json)) of each
    host are the files M(winremedy.windows.kb_remediate) writes, so a rerun in either mode resumes from them.
  - Hosts whose C(ansible_connection) is not C(winrm) are not remediated here but listed in RV(left_out), for the
    per-host task (the engine speaks WS-Management through pywinrm only).
  - Returns each host's task result in RV(hosts); name the registered variable in
    O(winremedy.windows.kb_remediate#module:fleet_task) of a per-host task, so each host is C(changed),
    C(failed) or C(unreachable) on its own, the PLAY RECAP is per host, and C(max_fail_percentage) counts the
    batch's failed hosts as in the per-host mode. The playbook C(winremedy.windows.remediate) does this by
    default (C(winremedy_remediate_mode=fleet)).
  - Run it with C(run_once=true). Needs the C(winremedy) Python package on the controller.
options:
  forks:
    description:
      - How many hosts of the batch are worked on at once (threads on the controller, not Ansible forks).
    type: int
    default: 16
extends_documentation_fragment:
  - winremedy.windows.catalog
  - ansible.builtin.action_common_attributes
  - winremedy.windows.remediate
  - winremedy.windows.remediate.source
  - winremedy.windows.remediate.install
  - winremedy.windows.remediate.restart
  - winremedy.windows.remediate.verify
  - winremedy.windows.remediate.journal
attributes:
  check_mode:
    support: full
    details: Audits and plans every host only; each host's result says whether it would change.
  diff_mode:
    support: full
    details: Each host's result carries the SHA-256 of each staged package before and after.
  platform:
    platforms: windows
notes:
  - Always C(changed=false) itself - what changed is in each host's result, reported by its own task.
  - A task error (an unknown KB, a repository that cannot be read) is every host's failure, with the line
    M(winremedy.windows.kb_remediate) gives, and no host is contacted.
seealso:
  - module: winremedy.windows.kb_remediate
  - module: winremedy.windows.kb_report
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Remediate the batch from the controller
  winremedy.windows.kb_fleet_remediate:
    repo: /srv/winremedy/repo
    reboot: now
    journal_dir: ./winremedy-report
    results_dir: ./winremedy-report
  run_once: true
  register: fleet

- name: Each host's outcome as its own task and recap line (nothing done again; hosts left out are remediated here)
  winremedy.windows.kb_remediate:
    repo: /srv/winremedy/repo
    fleet_task: fleet  # a name, not a template
"""

RETURN = r"""
hosts:
  description:
    - Host name -> the task result M(winremedy.windows.kb_remediate) returns for it (C(status), C(changed),
      C(plan), C(steps), C(findings), ...; or C(unreachable)/C(failed) with C(msg) and C(error_code)).
  returned: always
  type: dict
  sample: {w7-0001: {changed: true, status: fixed, msg: "w7-0001: fixed KB2847346", reboot_required: false}}
left_out:
  description: Hosts of the batch on a connection the engine does not drive; remediate them per host.
  returned: always
  type: list
  elements: str
  sample: [w7-psrp-01]
"""
