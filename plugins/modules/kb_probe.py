# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_probe.py.

DOCUMENTATION = r"""
---
module: kb_probe
short_description: Tell whether a legacy Windows host can be audited and remediated by winremedy (read-only)
version_added: 0.2.0
description:
  - Runs one small PowerShell 2.0 script on the host and reports what decides whether winremedy can work
    there - authentication and message encryption, WinRM version and limits (MaxEnvelopeSizekb,
    MaxShellsPerUser, MaxMemoryPerShellMB, MaxTimeoutms), PowerShell and .NET versions, which script delivery
    route worked, whether WMI answers, Task Scheduler 1.0 or 2.0, the Windows Update service, the FIPS policy,
    C(%SystemRoot%), free space on the staging drive, a pending reboot, clock skew against the controller and
    the adapter with the default route.
  - The verdict is V(ready), or V(not ready) with each reason and what to do. Quirks the engine handles are
    listed as notes.
  - M(winremedy.windows.kb_remediate) runs the same checks before it changes anything and refuses a host that
    is not ready with the same reasons.
  - Runs on the controller through the host's own connection (C(ansible_connection=winrm)); needs the
    C(winremedy) Python package on the controller.
options:
  fail_when_not_ready:
    description:
      - Fail the task when the host is not ready (the message lists each reason and what to do).
      - When false, the verdict is only returned.
    type: bool
    default: false
  results_dir:
    description:
      - Directory on the controller where the verdict is saved as C(probe/<host>.json), beside the audit's
        C(hosts/<host>.json), so the HTML report shows readiness next to compliance.
      - Not set, nothing is saved.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The probe is read-only, so it runs in check mode too.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: windows
notes:
  - Always C(changed=false). One WinRM command per host (two when stdin delivered no script and the file route
    is used).
  - A host without PowerShell (cmd.exe answers C(powershell) with 9009) is V(ready) for the cmd.exe path, with a
    note that it is audited and remediated through cmd.exe alone; its WinRM version is read from wsmsvc.dll, and
    the probe's other checks, which need PowerShell, are not made.
  - A host that cannot be reached, refuses the credentials or fails TLS is reported C(unreachable).
seealso:
  - module: winremedy.windows.kb_remediate
  - name: The winremedy CLI (winremedy probe)
    description: The same probe from the command line, with the same inventory.
    link: https://example.invalid/winremedy
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Probe every host before the first patch night
  winremedy.windows.kb_probe:
    results_dir: ./winremedy-report

- name: Stop this host's play when it is not ready
  winremedy.windows.kb_probe:
    fail_when_not_ready: true

- name: Show why a host is not ready
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ item.message }} - {{ item.fix }}"
  loop: "{{ ansible_facts.winremedy_readiness.reasons | default([]) }}"
"""

RETURN = r"""
ready:
  description: True when nothing stops winremedy on this host.
  returned: success
  type: bool
  sample: false
verdict:
  description: V(ready) or V(not ready).
  returned: success
  type: str
  sample: not ready
route:
  description: How the probe script reached the host - V(stdin), or V(file) when stdin delivered nothing.
  returned: success
  type: str
  sample: stdin
facts:
  description: What the probe read (WinRM version and limits, PowerShell, CLR, .NET, Task Scheduler, Windows
    Update state, FIPS, SystemRoot, free bytes, pending reboot reasons, clock skew in seconds, adapters).
  returned: success
  type: dict
  sample: {powershell: "2.0", winrm_version: "2.0", fips: false, system_root: "C:\\Windows"}
reasons:
  description: Each reason the host is not ready.
  returned: success
  type: list
  elements: dict
  contains:
    topic:
      description: What it is about (V(powershell), V(windows_update), V(wmi), V(free_space), V(encryption), ...).
      type: str
      sample: windows_update
    message:
      description: What is wrong.
      type: str
      sample: the Windows Update service (wuauserv) is disabled
    fix:
      description: What to do.
      type: str
      sample: set wuauserv to Manual for the patch night
notes:
  description: Quirks the engine handles (same shape as RV(reasons)).
  returned: success
  type: list
  elements: dict
error_code:
  description: winremedy's code for why the host could not be probed, or V(not_ready) with O(fail_when_not_ready).
  returned: failure
  type: str
  sample: auth
ansible_facts:
  description: The verdict under C(winremedy_readiness).
  returned: success
  type: dict
"""
