# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options kb_stage, kb_install, kb_reboot, kb_verify and kb_remediate share, documented once."""

from __future__ import annotations


class ModuleDocFragment:
    # Every remediation step: which KBs, where the host's result goes, how it runs.
    DOCUMENTATION = r"""
options:
  kbs:
    description:
      - Only these KBs (e.g. V(KB2847346) or V(2847346)); an empty list means every KB of the catalog.
      - A KB the catalog does not know fails the task before the host is contacted.
    type: list
    elements: str
    default: []
  results_dir:
    description:
      - Directory on the controller where the host's outcome is saved as C(remediation/<host>.json) and its
        last audit (the verification when there was one) as C(hosts/<host>.json), the layout of
        C(winremedy remediate --out), so M(winremedy.windows.kb_report) and C(winremedy report) read it.
      - Not set, nothing is saved.
    type: path
notes:
  - Runs on the controller through the host's own connection (C(ansible_connection=winrm) with every
    C(ansible_winrm_*) option); nothing runs on the host but winremedy's PowerShell 2.0 scripts, so Windows
    Server 2003 to 2008 R2, Vista and Windows 7 work. Needs the C(winremedy) Python package on the controller,
    of the collection's release series.
  - Every decision follows a fresh audit of the host, so a second run after success changes nothing.
  - A host that cannot be reached, refuses the credentials or fails TLS is C(unreachable); an expected failure is
    C(failed) with one line naming the host, the KB and winremedy's code (V(stage), V(install), V(reboot),
    V(verify), V(blocked), V(inventory), ...), never a traceback.
"""

    # Where the packages come from (every step that may stage one, or plans with them).
    SOURCE = r"""
options:
  repo:
    description:
      - The package repository - a directory on the controller made by C(winremedy repo scan) (packages are pushed
        over WinRM in chunks). A URL is refused - the manifest that pins each package's SHA-256 is always the
        controller's own; for hosts that download over http(s) use C(winremedy remediate --repo DIR --repo-url URL).
      - Every package the task may use is checked before the host is touched - its Authenticode signature against
        the repository's trusted roots, its content, the catalog and the manifest (KB, architecture, size,
        SHA-256); a refused package is reported in C(warnings) and a host that needs it fails with
        code V(blocked).
    type: str
    required: true
  repo_unc:
    description:
      - A share (V(\\\\server\\share)) the hosts copy the packages from; O(repo) is then the controller's copy of
        that share, read for the manifest and the checks.
      - The host's computer account must be able to read the share (the WinRM logon cannot pass its
        credentials on).
    type: str
  install_gdr:
    description:
      - Also install a missing KB on hosts whose files are GDR-branch builds (installing the hotfix moves them to
        the LDR branch, the documented way out). V(false) leaves them alone with the reason.
    type: bool
    default: true
"""

    # How a package is installed.
    INSTALL = r"""
options:
  method:
    description:
      - The installer on Windows 7 / 2008 R2 - V(auto) runs wusa in a scheduled task as SYSTEM (wusa over WinRM
        is refused, KB2773898), V(dism) expands the MSU and adds its CAB with DISM. Vista / 2008 use pkgmgr and
        Server 2003 update.exe either way.
    type: str
    choices: [auto, dism]
    default: auto
  install_timeout:
    description: Seconds one install may take before the task fails with code V(install).
    type: float
    default: 1800
"""

    # How and when the host restarts.
    RESTART = r"""
options:
  reboot:
    description:
      - V(now) restarts the host when an installed KB needs it, and waits for it to come back through the
        task's connection (reset between tries, as M(ansible.windows.win_reboot) does).
      - V(window) restarts now when the host is inside its maintenance window, otherwise schedules the restart
        at the window's next start (host time) and reports C(reboot_required=true) with C(scheduled_for). The
        window comes from the host variables C(winremedy_maintenance_window) (e.g. V(Sun 02:00-04:00)) and
        C(winremedy_maintenance_timezone) (IANA, default V(UTC)).
      - V(never) installs and reports C(reboot_required=true). A KB needing only a service restart (KB903927,
        the LCS service) gets it whatever this says.
    type: str
    choices: [now, window, never]
    default: never
  nic_bounce:
    description:
      - KB2847346 with O(reboot=never) - schedule a network adapter bounce that frees the leaked NSI
        registrations until the restart. Drops the host's connectivity for a moment.
    type: bool
    default: false
  reboot_timeout:
    description: Seconds a restarting host may take to answer again before the task fails with code V(reboot).
    type: float
    default: 1800
"""

    # The verification audit.
    VERIFY = r"""
options:
  verify_samples:
    description:
      - Leak samples of each indicator in the verification audit, O(verify_interval) seconds apart, inside one
        command. 3 or more give a leak verdict; at least 1.
    type: int
    default: 4
  verify_interval:
    description: Seconds between two verification samples, on the host.
    type: float
    default: 600
"""

    # Waiting, and remembering what was started.
    JOURNAL = r"""
options:
  poll:
    description: Seconds between two checks of a running install or a restarting host; above 0.
    type: float
    default: 10
  journal_dir:
    description:
      - Directory on the controller for the host's journal (C(journal/<host>.jsonl)) - an install or a restart is
        recorded before it is requested, so a rerun after an interruption waits for it instead of doing it twice.
      - Not set, the journal lives only as long as the task. The playbooks pass C(winremedy_report_dir).
    type: path
"""
