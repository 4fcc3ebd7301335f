# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_stage.py.

DOCUMENTATION = r"""
---
module: kb_stage
short_description: Put the packages a legacy Windows host needs on it, hash-checked, without installing them
version_added: 0.1.0
description:
  - Audits the host, plans (the exact package per KB x OS x service pack x architecture from O(repo)), and
    puts each package the plan installs into the host's own C(%SystemRoot%\Temp\winremedy) - pushed over WinRM,
    downloaded from a URL or copied from a share - verified on the host by its SHA-256 (SHA-1 on a FIPS host
    without .NET 3.5) before it gets its real name.
  - A package already there with the right SHA-256 is left alone (C(changed=false)). Run it ahead of the
    maintenance window, so M(winremedy.windows.kb_install) only installs.
extends_documentation_fragment:
  - winremedy.windows.catalog
  - ansible.builtin.action_common_attributes
  - winremedy.windows.remediate
  - winremedy.windows.remediate.source
attributes:
  check_mode:
    support: full
    details: Audits and plans only; C(changed) says whether a package would be staged.
  diff_mode:
    support: full
    details: The SHA-256 of each staged file before and after (check mode - the planned file, not probed).
  platform:
    platforms: windows
seealso:
  - module: winremedy.windows.kb_facts
  - module: winremedy.windows.kb_report
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Stage the packages ahead of the window (pushed over WinRM)
  winremedy.windows.kb_stage:
    repo: /srv/winremedy/repo

- name: Let the hosts copy them from a share instead (the controller reads its local copy)
  winremedy.windows.kb_stage:
    repo: /mnt/winremedy-repo
    repo_unc: '\\fileserver\winremedy'
    kbs:
      - KB2847346
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
  sample: "w7-0001: KB2847346: not enough free disk for Windows6.1-KB2847346-x64.msu ... (stage)"
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
  sample: [{step: stage, kb: KB2847346, changed: true, message: Windows6.1-KB2847346-x64.msu push -> %SystemRoot%\Temp\winremedy\Windows6.1-KB2847346-x64.msu}]
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
  sample: stage
"""
