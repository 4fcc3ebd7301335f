# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_facts.py.

DOCUMENTATION = r"""
---
module: kb_facts
short_description: Audit a legacy Windows host for the winremedy memory-leak hotfixes (read-only, one round trip)
version_added: 0.1.0
description:
  - Collects, in one WinRM command, everything the winremedy catalog needs to decide whether
    KB2847346 (NSI), KB979223 (WFP nonpaged pool) and KB903927 (LCS SChannel) are needed, installed,
    pending a reboot or leaking on the host; then assesses it on the controller.
  - Works on Windows Server 2003 to 2008 R2, Vista and Windows 7 with PowerShell 2.0, which Ansible's own
    Windows modules refuse. Nothing is copied to the host and nothing is changed there.
  - A host without PowerShell (Windows Server 2003 SP1, 2008 Server Core, where cmd.exe answers C(powershell) with
    9009) is audited with stock cmd.exe tools (C(wmic), C(reg query), C(ping) as the wait between samples)
    run through the connection's own pywinrm C(Protocol) and shell, since the winrm plugin wraps every
    C(exec_command) in PowerShell. Its facts carry the note C(audited without PowerShell (cmd.exe path)); pool
    tag indicators are unavailable there (named in the notes, never reported as zero).
  - The collected facts are returned namespaced as C(ansible_facts.winremedy).
  - Runs on the controller through the host's own connection (C(ansible_connection=winrm) with every
    C(ansible_winrm_*) option). Needs the C(winremedy) Python package on the controller, of the same release
    series as the collection (C(pip install winremedy)).
  - With O(results_dir), each host's result is saved as C(results_dir/hosts/<host>.json), the format of
    C(winremedy audit --out), so C(winremedy report) and M(winremedy.windows.kb_report) read it. A host that
    cannot be audited is saved with its reason too.
options:
  kbs:
    description:
      - Only these KBs appear in the findings (e.g. V(KB2847346) or V(2847346)); the facts collected are the same.
      - An empty list means every KB of the catalog.
      - A KB the catalog does not know fails the task, naming the known ones.
    type: list
    elements: str
    default: []
  samples:
    description:
      - How many readings of each leak indicator to take, O(interval) seconds apart, inside the one command.
      - With fewer than 4 samples, or a span below the indicator's minimum (2 hours), no leak verdict is given; V(1) is the fast audit.
      - Must be at least 1.
    type: int
    default: 1
  interval:
    description:
      - Seconds between two samples, on the host. Ignored when O(samples=1).
      - The command runs for about O(samples) x O(interval) seconds; keep it below the task's C(timeout).
    type: float
    default: 60
  results_dir:
    description:
      - Directory on the controller where the host's result is saved as C(hosts/<host>.json).
      - Relative paths are relative to the directory ansible-playbook runs in.
      - Not set, nothing is saved.
    type: path
extends_documentation_fragment:
  - winremedy.windows.catalog
  - winremedy.windows.fleet
  - winremedy.windows.history
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The audit is read-only, so it runs in check mode too.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: windows
notes:
  - Always C(changed=false). One WinRM command per host, whatever O(samples) is.
  - A host that cannot be reached, refuses the credentials or fails TLS is reported C(unreachable) (use
    C(ignore_unreachable) to keep auditing); a host whose answer cannot be read is C(failed). The message names
    the host and the error code (V(unreachable), V(auth), V(tls), V(protocol), V(wsman-fault), V(script-failed), ...).
  - Only the C(winrm) connection is supported; C(psrp) hands stdin to the pipeline, not to the console.
  - The task keyword C(timeout) bounds the whole command; the connection bounds each WS-Management request
    (C(ansible_winrm_operation_timeout_sec), C(ansible_winrm_read_timeout_sec)).
seealso:
  - module: winremedy.windows.kb_report
  - name: The winremedy CLI (winremedy audit, winremedy report)
    description: The same audit and reports from the command line, with the same inventory.
    link: https://example.invalid/winremedy
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Audit every KB, fast (one sample, no leak verdict)
  winremedy.windows.kb_facts:

- name: Audit one KB with leak sampling (8 samples 20 minutes apart) and save the result for the report
  winremedy.windows.kb_facts:
    kbs:
      - KB2847346
    samples: 8
    interval: 1200
    results_dir: ./winremedy-report
  timeout: 10800

- name: Keep going when a host is down; it is saved with its reason
  winremedy.windows.kb_facts:
    results_dir: ./winremedy-report
  ignore_unreachable: true

- name: Show the hosts where a KB is missing
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs {{ item.kb }}: {{ item.reason }}"
  loop: "{{ ansible_facts.winremedy.findings | default([]) }}"
  when: item.status in ['missing', 'missing_leaking']
"""

RETURN = r"""
reachable:
  description: Whether the host answered (false only for an unreachable host).
  returned: success
  type: bool
  sample: true
facts:
  description:
    - What the collector learned about the host (winremedy's HostFacts) - OS, service pack, architecture,
      the fixed files' versions, hotfix and CBS registrations, products, registry values, pending reboot
      reasons, boot time, leak samples and the leak verdicts per indicator.
  returned: success
  type: dict
  sample:
    host: w7-0001
    os: {caption: Microsoft Windows 7 Professional, version: 6.1.7601, sp: 1, arch: x64, product_type: 1,
         csd_version: Service Pack 1}
    files: {"%SystemRoot%\\System32\\nsisvc.dll": 6.1.7601.18229}
    pending_reboot: []
    leaks: {}
findings:
  description: One finding per KB (of O(kbs), or of the catalog), in catalog order.
  returned: success
  type: list
  elements: dict
  contains:
    kb:
      description: The KB id.
      type: str
      sample: KB2847346
    status:
      description: V(not_applicable), V(fixed), V(missing), V(missing_leaking), V(pending_reboot) or V(unknown).
      type: str
      sample: missing
    confidence:
      description: V(high) (files verified), V(medium) or V(low) (registration only, or an uncertain fact).
      type: str
      sample: high
    basis:
      description: What decided the status - V(files), V(registration), V(service_pack), V(applicability) or V(none).
      type: str
      sample: files
    reason:
      description: One line saying why.
      type: str
      sample: nsisvc.dll 6.1.7601.18229 is older than 6.1.7601.22590
    action:
      description: What to do next (V(none) when nothing).
      type: str
      sample: install Windows6.1-KB2847346-x64.msu, then restart the host
    package:
      description: The package that fixes it on this host, if one is known.
      type: str
      sample: Windows6.1-KB2847346-x64.msu
    evidence:
      description: The catalog rule that matched, each fixed file's version against the required one, the
        registrations seen.
      type: dict
      sample: {}
statuses:
  description: KB -> status, for quick conditions.
  returned: success
  type: dict
  sample: {KB2847346: missing, KB979223: fixed, KB903927: not_applicable}
compliant:
  description: True when every KB is fixed or not applicable on this host.
  returned: success
  type: bool
  sample: false
ansible_facts:
  description: The same C(reachable), C(facts), C(findings), C(statuses) and C(compliant), under C(winremedy).
  returned: success
  type: dict
  contains:
    winremedy:
      description: The audit of this host.
      type: dict
      sample: {reachable: true, compliant: false, statuses: {KB2847346: missing}, findings: [], facts: {}}
result_path:
  description: Where the host's result was saved (also when the audit failed).
  returned: when O(results_dir) is set and the task's arguments are valid
  type: str
  sample: winremedy-report/hosts/w7-0001.json
error_code:
  description: winremedy's code for why the host could not be audited.
  returned: failure
  type: str
  sample: auth
"""
