"""The plan: from one host's audit result, what remediation will do, KB by KB (pure; no host contact).

The audit decides, the plan only follows it: a KB that is ``fixed`` or
``not_applicable`` is never touched, one that is installed and waiting for a
restart only gets the restart, one that is ``missing`` gets its exact package
(KB x OS x SP x architecture from the repository). A KB missing on a
GDR-branch build is installed unless GDR installs are turned off (the hotfix
moves the files to the LDR branch). A KB whose service-pack prerequisite is
missing gets the service pack when the repository has it (the run restarts into
it, audits and plans again, and goes on with the KB), and is blocked with that
reason otherwise. ``unknown`` is never installed. ``--check`` prints this
plan and stops.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..audit.assess import Finding, Status
from ..catalog import Catalog
from ..repo.manifest import Entry, Manifest, pick
from ..audit.results import HostResult
from .reboot import RebootMode


class Action(str, enum.Enum):
    SKIP = "skip"  # nothing to do, or nothing that may be done (reason says which)
    INSTALL = "install"
    RESTART_ONLY = "restart_only"  # installed, waiting for its restart
    BLOCKED = "blocked"  # something should be done but cannot (no package, refused package)


class Restart(str, enum.Enum):
    NONE = "none"
    SERVICE = "service"
    REBOOT = "reboot"


@dataclass(frozen=True)
class KbPlan:
    """What happens to one KB on one host, and why."""

    kb: str
    status: str  # the audit's status
    action: Action
    reason: str
    restart: Restart = Restart.NONE
    service: str | None = None  # the service restarted instead of the host (KB903927: the LCS service)
    package: Entry | None = None

    @property
    def service_pack(self) -> bool:
        """Whether this installs the KB's service-pack prerequisite rather than the KB itself."""
        return self.action is Action.INSTALL and self.package is not None and bool(self.package.identity.get("service_pack"))

    def to_dict(self) -> dict[str, Any]:
        return {"kb": self.kb, "status": self.status, "action": self.action.value, "reason": self.reason,
                "restart": self.restart.value, "service": self.service,
                "package": None if self.package is None else {"file": self.package.file, "sha256": self.package.sha256,
                                                              "size": self.package.size}}


@dataclass(frozen=True)
class HostPlan:
    host: str
    os: str  # "win7 6.1.7601 SP1 x64", for the printed plan
    family: str
    kbs: tuple[KbPlan, ...] = field(default_factory=tuple)

    @property
    def installs(self) -> list[KbPlan]:
        return [k for k in self.kbs if k.action is Action.INSTALL]

    @property
    def service_packs(self) -> list[KbPlan]:
        """The prerequisite installs: they come first, each followed by a restart and a new plan."""
        return [k for k in self.kbs if k.service_pack]

    @property
    def blocked(self) -> list[KbPlan]:
        return [k for k in self.kbs if k.action is Action.BLOCKED]

    @property
    def restart(self) -> Restart:
        """The strongest restart any acted-on KB needs: a reboot covers a service restart."""
        acted = [k.restart for k in self.kbs if k.action in (Action.INSTALL, Action.RESTART_ONLY)]
        if Restart.REBOOT in acted:
            return Restart.REBOOT
        return Restart.SERVICE if Restart.SERVICE in acted else Restart.NONE

    @property
    def unknown(self) -> list[KbPlan]:
        """KBs left alone because the audit could not tell their status: a person must look at them."""
        return [k for k in self.kbs if k.status == Status.UNKNOWN.value and k.action is Action.SKIP]

    @property
    def has_work(self) -> bool:
        return any(k.action in (Action.INSTALL, Action.RESTART_ONLY) for k in self.kbs)

    @property
    def needs_reboot(self) -> bool:
        """Whether carrying out the plan leaves the host waiting for a restart of the whole host."""
        return self.has_work and self.restart is Restart.REBOOT

    def would_change(self, step: str, reboot: RebootMode) -> bool:
        """Check mode: whether ``step`` (a name of runner.ENTRY_POINTS; remediate is all of them) would change
        the host under ``reboot``, from the plan alone."""
        if step == "verify":
            return False
        restarts = self.restart is Restart.SERVICE or (self.restart is Restart.REBOOT and reboot is not RebootMode.NEVER)
        if step in ("stage", "install"):
            return bool(self.installs)
        if step == "reboot":
            return self.has_work and restarts
        return bool(self.installs) or (self.has_work and restarts)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "os": self.os, "restart": self.restart.value,
                "kbs": [k.to_dict() for k in self.kbs]}


def plan_host(result: HostResult, catalog: Catalog, manifest: Manifest, *, install_gdr: bool = True,
              refused: dict[str, str] | None = None) -> HostPlan:
    """The plan for one audited host; ``refused`` maps package file names to why they may not be used."""
    os_info = result.facts.os if result.facts else None
    family, arch = (os_info.family, os_info.arch) if os_info else (None, None)
    if os_info is None or family is None or arch is None:
        raise ValueError(f"{result.host}: no OS facts to plan from")
    plans = []
    for finding in result.findings:
        entry = catalog.get(finding.kb)
        restart = Restart.REBOOT if entry.restart == "required" else Restart.SERVICE if entry.restart_service else Restart.NONE
        service = entry.restart_service if restart is Restart.SERVICE else None
        decision = _decide(finding, install_gdr)
        prerequisite = finding.evidence.get("prerequisite")
        if decision is Action.INSTALL and prerequisite:
            plans.append(_prerequisite_plan(finding, prerequisite, manifest, refused or {}, family, os_info.version,
                                            os_info.sp, arch))
            continue
        if decision is not Action.INSTALL:
            plans.append(KbPlan(finding.kb, finding.status.value, decision, _reason(finding, decision),
                                restart if decision is Action.RESTART_ONLY else Restart.NONE,
                                service if decision is Action.RESTART_ONLY else None))
            continue
        package = pick(manifest, finding.kb, family, os_info.version, os_info.sp, arch)
        if package is None:
            plans.append(KbPlan(finding.kb, finding.status.value, Action.BLOCKED,
                                f"no package in the repository for {finding.kb} on {family} {os_info.version} "
                                f"SP{os_info.sp} {arch}"))
        elif package.file in (refused or {}):
            plans.append(KbPlan(finding.kb, finding.status.value, Action.BLOCKED,
                                f"package {package.file} refused: {(refused or {})[package.file]}"))
        else:
            plans.append(KbPlan(finding.kb, finding.status.value, Action.INSTALL, _reason(finding, Action.INSTALL),
                                restart, service, package))
    return HostPlan(result.host, f"{family} {os_info.version} SP{os_info.sp} {arch}", family, tuple(plans))


def _prerequisite_plan(finding: Finding, prerequisite: dict[str, Any], manifest: Manifest, refused: dict[str, str],
                       family: str, version: str, sp: int, arch: str) -> KbPlan:
    """The service pack first when the repository has it (the KB follows after its restart); blocked otherwise."""
    what = f"Service Pack {prerequisite['service_pack']}" + (f" ({prerequisite['kb']})" if prerequisite["kb"] else "")
    package = pick(manifest, prerequisite["kb"], family, version, sp, arch) if prerequisite["kb"] else None
    if package is None or package.file in refused:
        why = refused.get(package.file, "") if package else ""
        return KbPlan(finding.kb, finding.status.value, Action.BLOCKED,
                      f"prerequisite not met: install {what} first (no usable service-pack package in the repository "
                      f"for {family} {version} SP{sp} {arch}{': ' + why if why else ''})")
    return KbPlan(finding.kb, finding.status.value, Action.INSTALL,
                  f"prerequisite first: {what}, then a restart into it and {finding.kb}", Restart.REBOOT,
                  None, package)


def _decide(finding: Finding, install_gdr: bool) -> Action:
    if finding.status in (Status.MISSING, Status.MISSING_LEAKING):
        return Action.INSTALL if install_gdr or not _gdr_branch(finding) else Action.SKIP
    if finding.status is Status.PENDING_REBOOT:
        return Action.RESTART_ONLY
    return Action.SKIP


def _gdr_branch(finding: Finding) -> bool:
    """True when the fix is missing because the files are on the GDR branch (assess records each file's state)."""
    return any(f.get("state") == "other_branch" for f in finding.evidence.get("files", []))


def _reason(finding: Finding, action: Action) -> str:
    if action is Action.SKIP and _gdr_branch(finding) and finding.status is not Status.FIXED:
        return f"not installed: GDR installs are turned off ({finding.reason})"
    if action is Action.SKIP and finding.status is Status.UNKNOWN:
        return f"needs review, not installed: status unknown ({finding.reason})"
    return finding.reason
