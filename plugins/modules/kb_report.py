# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the code is the action plugin plugins/action/kb_report.py (it runs on the controller).

DOCUMENTATION = r"""
---
module: kb_report
short_description: Write the winremedy fleet reports (JSON, CSV, JUnit, HTML) from saved host results
version_added: 0.1.0
description:
  - Reads every host result saved under O(results_dir)C(/hosts/) (by M(winremedy.windows.kb_facts) with
    its O(winremedy.windows.kb_facts#module:results_dir), or by C(winremedy audit --out)) and writes the fleet
    reports into O(results_dir), exactly as C(winremedy audit --out) does - C(report.json), C(report.csv),
    C(report.xml) (JUnit) and C(report.html) (one self-contained page with trend charts).
  - Results of several runs merge - every C(hosts/*.json) in the directory is reported, also from earlier
    runs or other controllers.
  - Runs on the controller only; run it once (C(run_once) with C(delegate_to=localhost)). Needs the
    C(winremedy) Python package on the controller.
options:
  results_dir:
    description:
      - The directory holding C(hosts/<host>.json); the reports are written next to C(hosts/).
      - Relative paths are relative to the directory ansible-playbook runs in.
    type: path
    required: true
  formats:
    description:
      - Which reports to write - V(json) (C(report.json)), V(csv) (C(report.csv)), V(junit) (C(report.xml)),
        V(html) (C(report.html)), V(table) (C(report.txt)).
    type: list
    elements: str
    default: [json, csv, junit, html]
extends_documentation_fragment:
  - winremedy.windows.catalog
  - winremedy.windows.history
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The reports are written in check mode too - they change no managed host.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller.
notes:
  - Always C(changed=false); the files are written atomically, so a reader never sees half a report.
  - The task fails when O(results_dir) holds no C(hosts/) directory or a broken result file (named in the message).
seealso:
  - module: winremedy.windows.kb_facts
author:
  - winremedy engineers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the fleet reports once the hosts are audited
  winremedy.windows.kb_report:
    results_dir: ./winremedy-report
  delegate_to: localhost
  run_once: true
  register: report

- name: Fail the run when the fleet is not compliant (the CLI's exit code 1)
  ansible.builtin.fail:
    msg: "{{ report.summary.failed }} hosts failed; findings: {{ report.summary.findings }}"
  when: not report.compliant
  run_once: true

- name: Only the JUnit report, for a CI job
  winremedy.windows.kb_report:
    results_dir: ./winremedy-report
    formats: [junit]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
paths:
  description: The report files written.
  returned: success
  type: list
  elements: str
  sample: [winremedy-report/report.json, winremedy-report/report.csv, winremedy-report/report.xml,
           winremedy-report/report.html]
summary:
  description: The fleet counts (the C(summary) of C(report.json)).
  returned: success
  type: dict
  contains:
    hosts:
      description: Hosts with a saved result.
      type: int
      sample: 20
    audited:
      description: Hosts audited completely.
      type: int
      sample: 19
    failed:
      description: Hosts that could not be audited (unreachable, refused, garbled answer).
      type: int
      sample: 1
    compliant:
      description: Same as the top-level C(compliant).
      type: bool
      sample: false
    exit_code:
      description: Same as the top-level C(exit_code).
      type: int
      sample: 1
    findings:
      description: Findings per status, every status included.
      type: dict
      sample: {not_applicable: 25, fixed: 12, missing: 14, missing_leaking: 3, pending_reboot: 2, unknown: 1}
    os_families:
      description: Audited hosts per OS family.
      type: dict
      sample: {win7: 8, win2008r2: 6, win2003: 5}
    kbs:
      description: KB -> status -> number of findings (non-zero only).
      type: dict
      sample: {KB2847346: {missing: 6, fixed: 2}}
compliant:
  description: True when every host was audited and every KB is fixed or not applicable.
  returned: success
  type: bool
  sample: false
exit_code:
  description: What C(winremedy audit) would exit with - 0 compliant, 1 findings or failed hosts.
  returned: success
  type: int
  sample: 1
"""
