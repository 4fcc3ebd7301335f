# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_verify.py.

DOCUMENTATION = r"""
---
module: kb_verify
short_description: Verify that a legacy Windows host is fixed - files, registration, no restart pending, leaks flat
version_added: 0.1.0
description:
  - A new audit with leak sampling (O(verify_samples) readings O(verify_interval) seconds apart, in one
    command); fails unless every KB is V(fixed) or V(not_applicable), no restart is pending and no leak
    indicator of a KB still grows.
  - Read-only - always C(changed=false).
extends_documentation_fragment:
  - winremedy.windows.catalog
  - ansible.builtin.action_common_attributes
  - winremedy.windows.remediate
  - winremedy.windows.remediate.verify
attributes:
  check_mode:
    support: full
    details: Read-only, so it verifies in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: windows
seealso:
  - module: winremedy.windows.kb_facts
  - module: winremedy.windows.kb_report
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Verify after the window, with leak sampling (4 samples 10 minutes apart)
  winremedy.windows.kb_verify:
    results_dir: ./winremedy-report
  timeout: 3600

- name: Verify one KB quickly (no leak verdict with fewer than 3 samples)
  winremedy.windows.kb_verify:
    kbs:
      - KB979223
    verify_samples: 1
"""

RETURN = r"""
status:
  description:
    - What this step came to on the host - V(compliant) (nothing to do), V(fixed) (changed and verified, or
      changed by this step), V(planned) (check mode, work to do), V(restart_pending), V(reboot_scheduled),
      V(failed) or V(unreachable).
  returned: always
  type: str
  sample: compliant
msg:
  description: One line - the host, what happened, and on failure the KB and the code.
  returned: always
  type: str
  sample: "w7-0001: verification failed: KB2847346 missing: nsisvc.dll 6.1.7601.18229 is older than 6.1.7601.22590 (verify)"
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
  sample: [{step: verify, kb: null, changed: false, message: 'verified: KB2847346 fixed, no leak'}]
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
  sample: verify
"""
