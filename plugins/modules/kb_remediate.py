# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_remediate.py.

DOCUMENTATION = r"""
---
module: kb_remediate
short_description: Fix the winremedy memory-leak hotfixes on a legacy Windows host - audit, stage, install, restart, verify
version_added: 0.1.0
description:
  - The whole plan for one host, as C(winremedy remediate) does it - audit; plan the exact package per KB x OS x
    service pack x architecture; stage it (hash-checked on the host); install it through a scheduled task as
    SYSTEM (or expand + DISM); restart per O(reboot); verify with a new audit and leak sampling.
  - Resumable - with O(journal_dir), a rerun after an interruption waits for an install or restart already
    started instead of starting it again; a rerun after success changes nothing.
  - Run it in rolling batches with the play keywords C(serial) and C(max_fail_percentage), as the playbook
    C(winremedy.windows.remediate) does.
extends_documentation_fragment:
  - winremedy.windows.catalog
  - winremedy.windows.fleet
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
    details: Audits and plans only (the plan is returned); C(changed) says whether the host would change.
  diff_mode:
    support: full
    details: The SHA-256 of each staged package before and after (check mode - the planned file, not probed).
  platform:
    platforms: windows
seealso:
  - module: winremedy.windows.kb_fleet_remediate
  - module: winremedy.windows.kb_facts
  - module: winremedy.windows.kb_report
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Fix what is missing and restart now, pushing the packages from the controller
  winremedy.windows.kb_remediate:
    repo: /srv/winremedy/repo
    reboot: now
    journal_dir: ./winremedy-report
    results_dir: ./winremedy-report

- name: Hosts download from a web server; restart in each host's maintenance window
  winremedy.windows.kb_remediate:
    repo: https://patches.example.com/winremedy/
    reboot: window
  register: remediated

- name: Show when each host restarts
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} restarts at {{ remediated.scheduled_for }}"
  when: remediated.scheduled_for
"""

RETURN = r"""
status:
  description:
    - What this step came to on the host - V(compliant) (nothing to do), V(fixed) (changed and verified, or
      changed by this step), V(planned) (check mode, work to do), V(restart_pending), V(reboot_scheduled),
      V(failed) or V(unreachable).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line - the host, what happened, and on failure the KB and the code.
  returned: always
  type: str
  sample: "w7-0001: KB2847346: the update is not applicable to this computer (exit code 2149842967 0x80240017) (install)"
reboot_required:
  description: Whether the host still needs a restart to complete the KBs acted on (check mode - whether the plan needs one).
  returned: always
  type: bool
  sample: false
plan:
  description: The host's plan, KB by KB, from the audit this step began with (null when the host could not be audited).
  returned: always
  type: dict
  sample: {host: w7-0001, os: win7 6.1.7601 SP1 x64, restart: reboot, kbs: [{kb: KB2847346, status: missing,
           action: install, reason: nsisvc.dll 6.1.7601.18229 is older than 6.1.7601.22590, restart: reboot,
           service: null, package: {file: Windows6.1-KB2847346-x64.msu, sha256: 9f2c..., size: 1048576}}]}
steps:
  description: What was done, in order (V(stage), V(install), V(reboot), V(schedule_reboot), V(restart_service), V(workaround), V(verify)).
  returned: always
  type: list
  elements: dict
  sample:
    - {step: install, kb: KB2847346, changed: true, message: installed; a restart is required}
    - {step: reboot, kb: null, changed: true, message: restart requested}
    - {step: verify, kb: null, changed: false, message: 'verified: KB2847346 fixed, no leak'}
scheduled_for:
  description: When the restart waits for the host's maintenance window - when it is scheduled (ISO 8601, host time).
  returned: always
  type: str
  sample: "2024-03-03T02:00:00Z"
staged:
  description:
    - Each package put on the host by this step - its path, SHA-256, what was there before, how it came,
      and the hash class the host verified it with (basis).
  returned: always
  type: list
  elements: dict
  sample: [{path: '%SystemRoot%\Temp\winremedy\Windows6.1-KB2847346-x64.msu', changed: true, method: push,
             sha256: 9f2c..., before_sha256: null, basis: SHA256CryptoServiceProvider}]
findings:
  description: The findings of the last audit of the host (the verification when there was one), as M(winremedy.windows.kb_facts) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{kb: KB2847346, status: fixed, confidence: high, basis: files}]
error_code:
  description: winremedy's code for why the step failed (V(blocked), V(stage), V(install), V(reboot), V(verify), V(unreachable), V(auth), ...).
  returned: failure
  type: str
  sample: install
"""
