"""The fleet of hosts without PowerShell (issue 12's acceptance fleet) and what its remediation must leave, shared
by the audit test, the CLI remediation and the collection's remediation of it.

WMF 2.0 (PowerShell 2.0, KB968930) needs Service Pack 2 on Windows 2003, so every host KB903927 applies to has
no PowerShell; 2008 Server Core has no .NET and so none either. What each host should show comes from this
definition by the articles' rules (test_audit_lab's oracle), independently of the engine.
"""

from __future__ import annotations

from typing import Any

from test_audit_lab import expected_status

SAMPLES, INTERVAL, TIME_SCALE = 6, 1800, 3600  # 2.5 h of host time: a verdict needs 2 h
BARE = None  # powershell: null
KB = "KB903927"
CREDENTIALS = {"user": "Administrator", "password": "Lab-pass1"}


def _host(name: str, os_name: str, sp: int, arch: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "os": os_name, "sp": sp, "arch": arch, **more}


HOSTS = [
    _host("lcs-leak-1", "win2003", 1, "x86", products=["lcs2005"], leak="lcs", powershell=BARE, winrm="1.1"),
    _host("lcs-leak-2", "win2003", 1, "x86", products=["lcs2003"], leak="lcs", powershell=BARE,
          syn_attack_protect=1),
    _host("lcs-quiet", "win2003", 1, "x86", products=["lcs2005"], powershell=BARE, winrm="1.1"),
    _host("lcs-fixed", "win2003", 1, "x86", products=["lcs2005"], powershell=BARE, installed=["KB903927"],
          system_root="C:\\WINNT"),
    _host("lcs-x64", "win2003", 1, "x64", products=["lcs2005"], powershell=BARE),
    _host("plain-sp1", "win2003", 1, "x86", powershell=BARE, winrm="1.1"),
    _host("sp2-bare", "win2003", 2, "x86", powershell=BARE, winrm="1.1"),
    _host("sp2-wmf2", "win2003", 2, "x86"),
    _host("sp2-wmf2-lcs", "win2003", 2, "x64", products=["lcs2005"]),
    _host("core-leak", "win2008", 2, "x64", powershell=BARE, leak="wfp"),
    _host("core-quiet", "win2008", 1, "x86", powershell=BARE, winrm="1.1"),
    _host("win7", "win7", 1, "x64", leak="nsi"),
]
NEEDS_FIX = {h["name"] for h in HOSTS if expected_status(h, KB).startswith("missing")}
# LCS on x64 Windows: the article and its package cover x86 only, so the status is unknown and the host needs a person
UNKNOWN = {h["name"] for h in HOSTS if expected_status(h, KB) == "unknown"}


def fleet(seed: int) -> dict[str, Any]:
    """The fleet file of ``winremedy lab up``."""
    return {"time_scale": TIME_SCALE, "seed": seed, "credentials": CREDENTIALS, "hosts": HOSTS}


def is_bare(host: dict[str, Any]) -> bool:
    return host.get("powershell", "2.0") is None


def check_fixed_without_reboot(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Lab state around the first remediation of KB903927: each host that needed it installed it once by one task
    and restarted LCS once; nothing else installed; no host restarted; no PowerShell on a bare host."""
    for host in HOSTS:
        name = host["name"]
        was, now = before[name]["counters"], after[name]["counters"]
        assert now["reboots"] == was["reboots"], name
        assert now["powershell_starts"] == was["powershell_starts"] or not is_bare(host), name
        if name not in NEEDS_FIX:
            assert now["installs"] == was["installs"], name
            continue
        assert now["installs"] == was["installs"] + 1 and now["tasks_run"] == was["tasks_run"] + 1, name
        assert now["service_restarts"] == was["service_restarts"] + 1, name
        assert now["scripts"] == {}, (name, now["scripts"])


def check_audit_fixed(audit: dict[str, Any]) -> None:
    """``winremedy audit --format json`` hosts after the remediation: KB903927 fixed and RTCSrv.exe quiet."""
    for name in NEEDS_FIX:
        report = audit[name]
        assert {f["kb"]: f["status"] for f in report["findings"]}[KB] == "fixed", (name, report["findings"])
        assert not report["facts"]["leaks"].get("rtcsrv_private_bytes", {}).get("leaking"), name


def check_nothing_changed(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Lab state around a second remediation: nothing installed, restarted or run."""
    for name in before:
        for counter in ("installs", "reboots", "service_restarts", "tasks_run"):
            assert after[name]["counters"][counter] == before[name]["counters"][counter], (name, counter)
