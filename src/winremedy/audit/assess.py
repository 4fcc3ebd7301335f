"""assess(facts, catalog) -> findings: the status of each KB on one host.

Pure: no I/O, no clock. The order of the questions is the order an operator
would ask them: do we know the OS at all; does the article cover this build
(or exclude it, and why); is the product there; then what the files say, and
only when they were not collected, what the registration says. File versions
are the ground truth (Win32_QuickFixEngineering lists only CBS updates, per its Microsoft
documentation); a registration that contradicts them
is reported, never trusted over them.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from ..catalog import Applicability, Catalog, Exclusion, KbEntry
from ..errors import VersionError
from .facts import CbsState, HostFacts, Hotfix
from .leaks import tag_text
from ..versions import BUILD_SERVICE_PACKS, FixState, WinVersion, compare_fix, servicing_build


class Status(str, enum.Enum):
    NOT_APPLICABLE = "not_applicable"
    FIXED = "fixed"
    MISSING = "missing"
    MISSING_LEAKING = "missing_leaking"
    PENDING_REBOOT = "pending_reboot"
    UNKNOWN = "unknown"


# How much a status can be trusted: files verified, or only a registration or a belief.
HIGH, MEDIUM, LOW = "high", "medium", "low"
_RULE_CONFIDENCE = {"confirmed": MEDIUM, "inferred": LOW, "unverified": LOW}
# A superseded CBS package (0x50) was replaced by a later package that carries its content ("Component Based
# Servicing: CurrentState values", the CBS state table in Microsoft's servicing documentation).
_INSTALLED_STATES = {CbsState.INSTALLED.name.lower(), CbsState.PERMANENT.name.lower(),
                     CbsState.SUPERSEDED.name.lower()}
_PENDING_STATES = {CbsState.INSTALL_PENDING.name.lower(), CbsState.PARTIALLY_INSTALLED.name.lower()}


@dataclass
class FileCheck:
    """One fixed file: what the host has against what the hotfix installs."""

    name: str
    path: str
    required: str
    found: str | None  # None: absent on the host
    state: str  # FixState value, "absent", "not_collected", "malformed" or "other_os"


@dataclass
class Finding:
    """The status of one KB on one host, with the evidence that decided it."""

    kb: str
    status: Status
    confidence: str  # high | medium | low
    basis: str  # files | registration | service_pack | applicability | none
    reason: str
    action: str
    package: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def assess(facts: HostFacts, catalog: Catalog, kbs: list[str] | None = None) -> list[Finding]:
    """One finding per KB of the catalog (or of ``kbs``), in catalog order."""
    entries = [catalog.get(kb) for kb in kbs] if kbs else list(catalog.kbs.values())
    return [_with_leaks(assess_kb(facts, entry), facts, entry) for entry in entries]


def assess_kb(facts: HostFacts, kb: KbEntry) -> Finding:
    """The status of one KB, before leak evidence is taken into account."""
    os_info = facts.os
    if os_info is None:
        return _unknown(kb, "the OS is not known (the input lists hotfixes only)", "give the host's systeminfo too")
    family, arch = os_info.family, os_info.arch
    host_desc = f"{family or 'unknown OS'} {os_info.version} SP{os_info.sp} {arch or 'unknown arch'}"
    if family is None or arch is None:
        missing = "product type" if family is None else "architecture"
        return _unknown(kb, f"{missing} not known for {host_desc}", "collect facts over WinRM (winremedy audit)")
    levels = BUILD_SERVICE_PACKS.get(os_info.version)
    if levels is not None and os_info.sp not in levels:
        return _unknown(kb, f"{host_desc}: contradictory facts: build {os_info.version} is "
                        f"{' or '.join(f'SP{n}' for n in levels)}, not SP{os_info.sp}", _RECHECK)
    build = servicing_build(os_info.version)  # Server 2008 SP2 with 2019+ rollups reports 6.0.6003
    no_product = _without_required_product(facts, kb, host_desc)
    if no_product:
        return no_product
    for exclusion in kb.excluded:
        if exclusion.matches(family, build, os_info.sp, arch):
            if exclusion.prerequisite is not None:
                return _prerequisite_missing(kb, exclusion, host_desc)
            status = Status(exclusion.status)
            return Finding(
                kb=kb.kb, status=status, confidence=HIGH if status is Status.NOT_APPLICABLE else LOW,
                basis="applicability", reason=f"{host_desc}: {exclusion.reason}",
                action="none" if status is Status.NOT_APPLICABLE else "review manually",
                evidence={"rule": {"excluded": _rule_text(exclusion.os, exclusion.version, exclusion.sp)}},
            )
    rule = next((r for r in kb.applies_to if r.matches(family, build, os_info.sp, arch)), None)
    if rule is None:
        covered = "; ".join(_rule_text(r.os, r.version, r.sp, r.archs) for r in kb.applies_to)
        return Finding(
            kb=kb.kb, status=Status.NOT_APPLICABLE, confidence=HIGH, basis="applicability",
            reason=f"{host_desc} is not covered by the article (covers: {covered})", action="none",
        )
    evidence: dict[str, Any] = {"rule": {"applies": _rule_text(rule.os, rule.version, rule.sp, rule.archs),
                                         "verify": rule.verify, "confidence": rule.confidence, "note": rule.note}}
    product_gate = _product_gate(facts, kb, rule, host_desc, evidence)
    if product_gate:
        return product_gate
    if build != os_info.version:
        evidence["serviced_as"] = build
    package = kb.package_for(family, build, arch)
    evidence["registration"] = _registration_evidence(facts, kb)
    if rule.verify == "service_pack":
        return Finding(
            kb=kb.kb, status=Status.FIXED, confidence=LOW, basis="service_pack",
            reason=f"fixed by service pack (unconfirmed): {rule.note}", action="none",
            package=package.file if package else None, evidence=evidence,
        )
    if rule.verify == "files" and facts.files is not None:
        return _by_files(facts, kb, rule, evidence, package.file if package else None)
    return _by_registration(facts, kb, rule, evidence, package.file if package else None)


def _prerequisite_missing(kb: KbEntry, exclusion: Exclusion, host_desc: str) -> Finding:
    """A host with the bug that cannot take the fix yet: the fix is certainly absent, so it is missing, not
    "not applicable" (which would count it compliant while it leaks)."""
    assert exclusion.prerequisite is not None
    prerequisite = exclusion.prerequisite
    what = f"Service Pack {prerequisite.service_pack}" + (f" ({prerequisite.kb})" if prerequisite.kb else "")
    return Finding(
        kb=kb.kb, status=Status.MISSING, confidence=HIGH, basis="prerequisite",
        reason=f"{host_desc}: {exclusion.reason}", action=f"install {what}, then {kb.kb}",
        evidence={"rule": {"excluded": _rule_text(exclusion.os, exclusion.version, exclusion.sp)},
                  "prerequisite": {"service_pack": prerequisite.service_pack, "kb": prerequisite.kb}},
    )


def _without_required_product(facts: HostFacts, kb: KbEntry, host_desc: str) -> Finding | None:
    """A KB that applies only with a product (every rule names one) is not applicable where none is installed,
    whatever the OS build: its exclusions and uncertainties are about hosts that run the product."""
    wanted = sorted({p for rule in kb.applies_to for p in rule.products})
    if facts.products is None or not wanted or any(not rule.products for rule in kb.applies_to):
        return None
    if _installed(facts.products, wanted):
        return None
    return _no_product(kb, host_desc, wanted, {"products": list(facts.products)})


def _product_gate(facts: HostFacts, kb: KbEntry, rule: Applicability, host_desc: str,
                  evidence: dict[str, Any]) -> Finding | None:
    """KBs that apply only where a product is installed (KB903927: Live Communications Server)."""
    if not rule.products:
        return None
    if facts.products is None:
        return _unknown(kb, f"{host_desc}: applies only with {', '.join(rule.products)}, and installed products "
                        "were not collected", "collect facts over WinRM (winremedy audit)", evidence)
    evidence["products"] = _installed(facts.products, rule.products)
    return None if evidence["products"] else _no_product(kb, host_desc, rule.products, evidence)


def _installed(products: list[str], wanted: list[str]) -> list[str]:
    """The installed products a condition names; ``lcs`` covers ``lcs2003`` and ``lcs2005``."""
    return [p for p in products if any(p.lower().startswith(w.lower()) for w in wanted)]


def _no_product(kb: KbEntry, host_desc: str, wanted: list[str], evidence: dict[str, Any]) -> Finding:
    return Finding(kb=kb.kb, status=Status.NOT_APPLICABLE, confidence=HIGH, basis="applicability",
                   reason=f"{host_desc}: applies only with {', '.join(wanted)}, none installed", action="none",
                   evidence=evidence)


def _by_files(facts: HostFacts, kb: KbEntry, rule: Applicability, evidence: dict[str, Any],
              package: str | None) -> Finding:
    """Decide on the versions of the files the hotfix replaces (the ground truth)."""
    assert facts.os is not None and facts.os.arch is not None and facts.files is not None
    checks = [_check_file(row.name, row.path, row.version, facts.files, facts.os.version) for row in
              kb.fix_files(rule.version, facts.os.arch)]
    evidence["files"] = [asdict(c) for c in checks]
    states = {c.state for c in checks}
    registered, pending_install = _registration_state(facts, kb)
    reboot_pending = bool(facts.pending_reboot)

    def finding(status: Status, confidence: str, reason: str, action: str) -> Finding:
        return Finding(kb=kb.kb, status=status, confidence=confidence, basis="files", reason=reason,
                       action=action, package=package, evidence=evidence)

    if not checks:
        return _by_registration(facts, kb, rule, evidence, package)
    contradictions = [_CONTRADICTION[c.state].format(c=c, host=facts.os.version) for c in checks
                      if c.state in _CONTRADICTION]
    if contradictions:
        return finding(Status.UNKNOWN, LOW, f"contradictory facts: {'; '.join(contradictions)}", _RECHECK)
    if "not_collected" in states or "absent" in states:
        gaps = [f"{c.name} {'not collected' if c.state == 'not_collected' else 'absent'}" for c in checks
                if c.state in ("not_collected", "absent")]
        return finding(Status.UNKNOWN, LOW, f"cannot verify files: {', '.join(gaps)}",
                       "check the host's system files; rerun the audit")
    older = [c for c in checks if c.state == FixState.OLDER.value]
    if older:
        detail = _files_text(older)
        if pending_install or (registered and reboot_pending):
            return finding(Status.PENDING_REBOOT, HIGH, f"installed, restart pending: {detail}",
                           "restart the host to complete the installation")
        if registered:
            return finding(Status.MISSING, MEDIUM,
                           f"{kb.kb} is registered but files are older than required ({detail}): "
                           "registration contradicts the files; the files decide",
                           _install_action(kb, package, reinstall=True))
        return finding(Status.MISSING, HIGH, f"files older than required: {detail}", _install_action(kb, package))
    other = [c for c in checks if c.state == FixState.OTHER_BRANCH.value]
    if other:
        # Hotfix-only (LDR) fixes reach the GDR branch only when the branches merge (revisions 23000 and up):
        # "Understanding GDR vs LDR branches" (Microsoft Windows servicing blog) and the hotfix articles'
        # "this hotfix may receive additional testing... only for systems experiencing this specific problem".
        return finding(Status.MISSING, MEDIUM,
                       f"GDR-branch files below the merged builds (23000+): {_files_text(other)}; the GDR branch "
                       "does not receive hotfix-only (LDR) fixes until the branches merge",
                       _install_action(kb, package) + " (the hotfix moves the files to the LDR branch)")
    unregistered = not registered and (facts.hotfixes is not None or bool(facts.registry))
    note = f"; {kb.kb} not registered (files come from a later update)" if unregistered else ""
    return finding(Status.FIXED, HIGH, f"files at or above required versions{note}", "none")


def _by_registration(facts: HostFacts, kb: KbEntry, rule: Applicability, evidence: dict[str, Any],
                     package: str | None) -> Finding:
    """Decide on KB registration only: file versions were not collected or not published."""
    why = ("file versions not collected" if rule.verify == "files" else (rule.note or "no file table published"))
    if facts.hotfixes is None and not facts.registry:
        return _unknown(kb, f"neither file versions nor hotfix registrations were collected ({why})",
                        "collect facts over WinRM (winremedy audit)", evidence)
    registered, pending_install = _registration_state(facts, kb)
    confidence = MEDIUM if rule.verify == "files" else _RULE_CONFIDENCE[rule.confidence]
    if facts.hotfixes_incomplete and not (registered or pending_install):
        why = f"{why}; {facts.hotfixes_incomplete}"
    if not (registered or pending_install):
        # Later rollups carry a hotfix's files without registering it (the Windows 7 SP1 convenience rollup,
        # KB3125574, and the monthly rollups), so "not registered" alone never proves "missing".
        confidence = LOW
        if rule.verify == "files":
            why = f"{why}; an audit over WinRM reads the file versions and settles it"

    def finding(status: Status, reason: str, action: str) -> Finding:
        return Finding(kb=kb.kb, status=status, confidence=confidence, basis="registration",
                       reason=f"{reason} (based on registration only: {why})", action=action,
                       package=package, evidence=evidence)

    if pending_install:
        return finding(Status.PENDING_REBOOT, f"{kb.kb} install pending", "restart the host to complete the installation")
    if registered:
        seen = _registration_seen(facts, kb)
        return finding(Status.FIXED, f"{kb.kb} registered ({seen})", "none")
    return finding(Status.MISSING, f"{kb.kb} not registered", _install_action(kb, package))


def _check_file(name: str, path: str | None, required: str | None, files: dict[str, str | None],
                host_version: str) -> FileCheck:
    assert path is not None and required is not None  # the loader gives every versioned row a path
    key = next((k for k in files if k.lower() == path.lower()), None)
    if key is None:
        return FileCheck(name, path, required, None, "not_collected")
    found = files[key]
    if found is None:
        return FileCheck(name, path, required, None, "absent")
    try:
        version = WinVersion.parse(found)
    except VersionError:
        return FileCheck(name, path, required, str(found), "malformed")
    if version.os_version.split(".")[:2] != host_version.split(".")[:2]:
        return FileCheck(name, path, required, found, "other_os")  # e.g. a 6.0.6002 file on a 6.1.7601 host
    state = compare_fix(version, WinVersion.parse(required))
    return FileCheck(name, path, required, found, state.value)


def _registration_state(facts: HostFacts, kb: KbEntry) -> tuple[bool, bool]:
    """(registered as installed, install pending) from QFE, CBS and update.exe registrations."""
    seen = _registrations(facts, kb)
    registered = any(_counts_installed(h) for h in seen)
    pending = any(h.source == "cbs" and (h.state or "").lower() in _PENDING_STATES for h in seen)
    return registered or bool(_registry_keys_seen(facts, kb)), pending


def _counts_installed(fix: Hotfix) -> bool:
    return fix.source != "cbs" or (fix.state or "").lower() in _INSTALLED_STATES


def _registry_keys_seen(facts: HostFacts, kb: KbEntry) -> list[str]:
    """The catalog's update.exe registration keys present on the host (2003 registers a hotfix under the
    service pack that will contain it, ``SP<n>``, or the ``Hotfix`` mirror; see the KB file)."""
    return [key for key in kb.registration.registry_keys if facts.registry and facts.registry.get(key) is not None]


def _registration_seen(facts: HostFacts, kb: KbEntry) -> str:
    """Which registration was seen, for the reason: a registry key, a CBS package and its state, or QFE."""
    keys = _registry_keys_seen(facts, kb)
    if keys:
        return f"key {keys[0]}"
    fix = next(h for h in _registrations(facts, kb) if _counts_installed(h))
    if fix.source == "cbs":
        state = (fix.state or "").lower()
        return f"CBS package {fix.package or fix.id}: {state}" + (
            ", a later package carries the fix" if state == CbsState.SUPERSEDED.name.lower() else "")
    return f"{fix.source} {fix.id}"


def _registrations(facts: HostFacts, kb: KbEntry) -> list[Hotfix]:
    prefix = (kb.registration.cbs_package_prefix or "").lower()
    by_kb = facts.registered_kbs().get(kb.registration.kb, [])
    by_package = [h for h in facts.hotfixes or [] if prefix and (h.package or "").lower().startswith(prefix)]
    return by_kb + [h for h in by_package if h not in by_kb]


def _registration_evidence(facts: HostFacts, kb: KbEntry) -> list[dict[str, Any]] | None:
    if facts.hotfixes is None:
        return None
    return [{"id": h.id, "source": h.source, "state": h.state, "package": h.package} for h in _registrations(facts, kb)]


def _with_leaks(finding: Finding, facts: HostFacts, kb: KbEntry) -> Finding:
    """Leak verdicts turn a missing KB into missing_leaking, and flag a leak the fix did not stop."""
    verdicts = [facts.leaks[i.id] for i in kb.indicators if i.id in facts.leaks]
    if not verdicts:
        return finding
    finding.evidence["leaks"] = [asdict(v) for v in verdicts]
    leaking = [v for v in verdicts if v.leaking]
    if not leaking:
        return finding
    rates = ", ".join(f"{v.indicator} +{v.rate_per_hour:,.0f}/h" for v in leaking)
    tags = [tag for v in facts.leaks.values() for tag in v.tags]
    drivers = f"; growing pool tags: {', '.join(tag_text(t) for t in tags)}" if tags else ""
    if tags:
        finding.evidence["growing_pool_tags"] = tags
    if finding.status is Status.MISSING:
        finding.status = Status.MISSING_LEAKING
        finding.reason = f"{finding.reason}; leaking now: {rates}{drivers}"
    elif finding.status is Status.FIXED:
        finding.reason = f"{finding.reason}; leak persists: another cause ({rates}){drivers}"
        finding.action = "investigate: the leak persists with the fix in place" + (
            f"; look at the driver behind pool tag {tags[0]['tag']}" if tags else "")
    return finding


_RECHECK = "check the host's facts; rerun the audit over WinRM (winremedy audit)"
# File states that are a contradiction in the facts, not a status of the fix, and how to say them.
_CONTRADICTION = {
    "malformed": "{c.name} has version {c.found!r}, not a 4-part file version",
    "other_os": "{c.name} {c.found} belongs to another OS than the host's {host}",
}


def _unknown(kb: KbEntry, reason: str, action: str, evidence: dict[str, Any] | None = None) -> Finding:
    return Finding(kb=kb.kb, status=Status.UNKNOWN, confidence=LOW, basis="none", reason=reason,
                   action=action, evidence=evidence or {})


def _install_action(kb: KbEntry, package: str | None, reinstall: bool = False) -> str:
    verb = "reinstall" if reinstall else "install"
    what = package or f"the {kb.kb} package (no package name known for this OS/architecture)"
    then = f"restart the {kb.restart_service} service" if kb.restart == "not_required" and kb.restart_service \
        else ("no restart needed" if kb.restart == "not_required" else "restart the host")
    return f"{verb} {what}, then {then}"


def _files_text(checks: list[FileCheck]) -> str:
    return ", ".join(f"{c.name} {c.found} < {c.required}" if c.state == FixState.OLDER.value
                     else f"{c.name} {c.found} vs {c.required}" for c in checks)


def _rule_text(families: list[str], version: str, sp: int | None, archs: list[str] | None = None) -> str:
    sp_text = "" if sp is None else f" SP{sp}"
    arch_text = f" ({'/'.join(archs)})" if archs else ""
    return f"{'/'.join(families)} {version}{sp_text}{arch_text}"
