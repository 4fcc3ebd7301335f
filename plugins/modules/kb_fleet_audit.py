# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_fleet_audit.py.

DOCUMENTATION = r"""
---
module: kb_fleet_audit
short_description: Audit every host of the play at once from the controller, as winremedy audit does (fleet mode)
version_added: 0.2.0
description:
  - The audit of M(winremedy.windows.kb_facts) for every host of the current batch of the play
    (C(ansible_play_batch), so C(--limit), C(serial) and hosts failed earlier apply), run once on the controller
    through the engine's concurrent fleet audit, the code behind C(winremedy audit). No worker process and no task
    per host; the findings are the ones C(winremedy audit) gives on the same inventory.
  - Each host is reached over WinRM with a connection built from its own variables (C(hostvars)), with the same
    meaning as the per-host path and C(winremedy audit -i) - C(ansible_host), C(ansible_port), C(ansible_user),
    C(ansible_password), every C(ansible_winrm_*) option - vaulted values included (decrypted with the play's
    vault secrets). A host whose variables are wrong fails with the variable named; the others are audited.
  - Hosts whose C(ansible_connection) is not C(winrm) (for example C(psrp), C(ssh)) are not audited here but
    listed in RV(left_out), for the per-host task (the engine speaks WS-Management through pywinrm only, so it
    cannot honour another plugin's options).
  - Returns each host's task result in RV(hosts); register it and name the variable to M(winremedy.windows.kb_facts)
    as O(winremedy.windows.kb_facts#module:fleet_task) in a per-host task, so each host gets its facts, and its
    own C(ok), C(failed) or C(unreachable) in the PLAY RECAP, exactly as in the per-host mode. With the play's
    C(strategy) C(winremedy.windows.fleet) that task costs no worker process per host. The playbook
    C(winremedy.windows.audit) does this by default (C(winremedy_audit_mode=fleet)).
  - Run it with C(run_once=true). Needs the C(winremedy) Python package on the controller.
options:
  kbs:
    description:
      - Only these KBs appear in the findings; an empty list means every KB of the catalog.
    type: list
    elements: str
    default: []
  samples:
    description:
      - Readings of each leak indicator per host (3 or more for a leak verdict); must be at least 1.
      - Later samples are short commands on one fleet schedule, as in C(winremedy audit --samples).
    type: int
    default: 1
  interval:
    description:
      - Seconds between two samples of a host, on the host. Ignored when O(samples=1).
    type: float
    default: 60
  results_dir:
    description:
      - Directory on the controller where each host's result is saved as C(hosts/<host>.json) the moment it
        arrives (failures too), the format of C(winremedy audit --out).
      - Not set, nothing is saved.
    type: path
  forks:
    description:
      - How many hosts are worked on at once (threads on the controller, not Ansible forks).
    type: int
    default: 64
extends_documentation_fragment:
  - winremedy.windows.catalog
  - winremedy.windows.history
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The audit is read-only, so it runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - Always C(changed=false). The task itself fails only for what is no host's fault (an unknown KB, a broken
    catalog, hosts on different lab clocks, a results directory that cannot be written).
seealso:
  - module: winremedy.windows.kb_facts
  - module: winremedy.windows.kb_report
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
# in a play with strategy: winremedy.windows.fleet (each host's share below then needs no worker process)
- name: Audit the batch from the controller
  winremedy.windows.kb_fleet_audit:
    results_dir: ./winremedy-report
  run_once: true
  register: fleet

- name: Each host's outcome as its own task, facts and recap line (per host, nothing collected again)
  winremedy.windows.kb_facts:
    fleet_task: fleet
    results_dir: ./winremedy-report
  ignore_unreachable: true
  ignore_errors: true
"""

RETURN = r"""
hosts:
  description:
    - Host name -> the task result M(winremedy.windows.kb_facts) returns for it, with its facts once - under
      RV(winremedy.windows.kb_facts#module:ansible_facts) only, not also at the top level (kb_facts, given this
      result by O(winremedy.windows.kb_facts#module:fleet_task), returns them at both); or C(unreachable)/C(failed)
      with C(msg) and C(error_code); plus C(result_path) with O(results_dir).
  returned: success
  type: dict
  sample: {w7-0001: {changed: false, ansible_facts: {winremedy: {compliant: false, statuses: {KB2847346: missing}}}}}
left_out:
  description: Hosts of the batch on a connection the engine does not drive; audit them per host.
  returned: success
  type: list
  elements: str
  sample: [w7-psrp-01]
summary:
  description: Hosts, failed hosts and findings per status over the audited hosts, as in C(report.json).
  returned: success
  type: dict
  sample: {hosts: 2, failed: 0, findings: {missing: 1, fixed: 5}}
"""
