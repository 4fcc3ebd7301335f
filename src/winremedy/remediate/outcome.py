"""What remediating one host came to: its status, the plan, the steps taken, the last audit."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..audit.results import HostResult
from .plan import HostPlan
from .stage import StageResult, staged_path


class HostStatus(str, enum.Enum):
    COMPLIANT = "compliant"  # nothing to do
    NEEDS_REVIEW = "needs_review"  # nothing done for a KB whose status is unknown: never counted compliant
    FIXED = "fixed"  # changed and verified
    PLANNED = "planned"  # check mode: the plan has work
    RESTART_PENDING = "restart_pending"  # installed; --reboot never
    REBOOT_SCHEDULED = "reboot_scheduled"  # installed; reboot at the window's start
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    NOT_TOUCHED = "not_touched"  # the rollout stopped before this host's batch


FAILURES = frozenset({HostStatus.FAILED, HostStatus.UNREACHABLE})


@dataclass(frozen=True)
class Step:
    step: str  # stage | install | reboot | schedule_reboot | restart_service | workaround | verify
    kb: str | None
    changed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "kb": self.kb, "changed": self.changed, "message": self.message}


@dataclass(frozen=True)
class FileChange:
    """A package put on the host (check mode: one that would be), for a diff."""

    path: str
    before: str | None  # SHA-256 of what was there; None: nothing
    after: str  # SHA-256 of the package
    probed: bool  # False in check mode: the host was not asked what is there


@dataclass
class HostOutcome:
    host: str
    status: HostStatus
    plan: HostPlan | None = None
    steps: list[Step] = field(default_factory=list)
    message: str = ""
    error_code: str | None = None
    scheduled_for: str | None = None  # ISO 8601, host time
    audit: HostResult | None = None  # the last audit: the verification when there was one
    peers: list[str] = field(default_factory=list)  # KB903927: peers whose SYN attack protection triggers the leak
    staged: list[StageResult] = field(default_factory=list)  # each package put on the host (diff mode)
    readiness: dict[str, Any] | None = None  # the preflight probe's verdict (winremedy.probe.readiness.Readiness)

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)

    @property
    def reboot_required(self) -> bool:
        return self.status in (HostStatus.RESTART_PENDING, HostStatus.REBOOT_SCHEDULED)

    def file_changes(self, step: str, *, check: bool) -> list[FileChange]:
        """Each package ``step`` put on the host (check mode: the plan's packages, at their staging path)."""
        if step not in ("stage", "install", "remediate"):
            return []
        if check:
            planned = self.plan.installs if self.plan else []
            return [FileChange(staged_path(kb.package.file), None, kb.package.sha256, probed=False)
                    for kb in planned if kb.package is not None]
        return [FileChange(s.path, s.before_sha256, s.sha256, probed=True) for s in self.staged if s.changed]

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "status": self.status.value, "changed": self.changed,
                "reboot_required": self.reboot_required, "message": self.message, "error_code": self.error_code,
                "scheduled_for": self.scheduled_for, "plan": self.plan.to_dict() if self.plan else None,
                "steps": [s.to_dict() for s in self.steps], "peers": self.peers, "readiness": self.readiness,
                "findings": [f.to_dict() for f in self.audit.findings] if self.audit else []}
