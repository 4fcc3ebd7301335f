"""The rows every report is built from, the fleet summary, and the exit code.

Every format shows the same facts; building the rows and the counts once here
keeps the table, CSV, JUnit and HTML from disagreeing about a host.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..audit.assess import Finding, Status
from ..audit.facts import OsInfo
from ..audit.results import HostResult

COMPLIANT = frozenset({Status.FIXED, Status.NOT_APPLICABLE})
from ..commandline import EXIT_FINDINGS, EXIT_OK as EXIT_COMPLIANT


@dataclass(frozen=True)
class FindingRow:
    """One host x KB: the finding and the host it belongs to."""

    result: HostResult
    finding: Finding

    @property
    def host(self) -> str:
        return self.result.host

    @property
    def os(self) -> OsInfo | None:
        return host_os(self.result)


@dataclass(frozen=True)
class Failure:
    """A host the audit could not complete, and why."""

    result: HostResult
    reason: str

    @property
    def host(self) -> str:
        return self.result.host

    @property
    def code(self) -> str | None:
        return self.result.error_code

    @property
    def os(self) -> OsInfo | None:
        return host_os(self.result)


def host_os(result: HostResult) -> OsInfo | None:
    return result.facts.os if result.facts else None


def finding_rows(results: list[HostResult]) -> list[FindingRow]:
    """Every finding of every host, in host order then catalog order."""
    return [FindingRow(r, f) for r in results for f in r.findings]


def failure_reason(result: HostResult) -> str | None:
    """Why the host was not audited, or ``None``; an unreachable host without a message still counts."""
    if result.error is not None:
        return result.error
    return None if result.reachable else f"{result.host}: not reachable"


def failures(results: list[HostResult]) -> list[Failure]:
    return [Failure(r, reason) for r in results if (reason := failure_reason(r)) is not None]


def needs_action(finding: Finding) -> bool:
    """Not compliant, or compliant with something still to do (a leak that persists with the fix in place)."""
    return finding.status not in COMPLIANT or finding.action != "none"


def os_family(os_info: OsInfo | None) -> str:
    return (os_info.family or f"unknown ({os_info.version})") if os_info else "unknown"


def os_label(os_info: OsInfo | None) -> str:
    """``win2008r2 SP1 x64``: the words an operator uses for a build."""
    if os_info is None:
        return "unknown"
    return f"{os_family(os_info)} SP{os_info.sp} {os_info.arch or 'unknown arch'}"


def os_columns(os_info: OsInfo | None) -> tuple[str, str, str, str]:
    """(family, version, service pack, architecture); empty strings where unknown."""
    if os_info is None:
        return "", "", "", ""
    return os_info.family or "", os_info.version, str(os_info.sp), os_info.arch or ""


@dataclass(frozen=True)
class Summary:
    """Fleet counts: hosts audited and failed, findings by status, hosts by OS family, findings by KB."""

    hosts: int
    audited: int
    failed: int
    by_status: dict[str, int]  # every status, in Status order, zeros included
    by_os: dict[str, int]  # audited hosts per OS family
    by_kb: dict[str, dict[str, int]]  # KB -> status -> findings (non-zero only)

    @property
    def compliant(self) -> bool:
        return self.failed == 0 and all(self.by_status[s.value] == 0 for s in Status if s not in COMPLIANT)

    @property
    def exit_code(self) -> int:
        return EXIT_COMPLIANT if self.compliant else EXIT_FINDINGS

    def to_dict(self) -> dict[str, Any]:
        return {"hosts": self.hosts, "audited": self.audited, "failed": self.failed, "compliant": self.compliant,
                "exit_code": self.exit_code, "findings": self.by_status, "os_families": self.by_os,
                "kbs": self.by_kb}

    def line(self) -> str:
        """One line for the end of a terminal report."""
        counts = ", ".join(f"{n} {status}" for status, n in self.by_status.items() if n) or "none"
        verdict = "compliant" if self.compliant else "NOT compliant"
        return f"{self.hosts} hosts: {self.audited} audited, {self.failed} failed; findings: {counts}; {verdict}"


def summarize(results: list[HostResult]) -> Summary:
    rows = finding_rows(results)
    failed = len(failures(results))
    by_status = Counter(row.finding.status.value for row in rows)
    by_kb: dict[str, Counter[str]] = {}
    for row in rows:
        by_kb.setdefault(row.finding.kb, Counter())[row.finding.status.value] += 1
    by_os = Counter(os_family(r.facts.os) for r in results if r.facts is not None and failure_reason(r) is None)
    return Summary(
        hosts=len(results), audited=len(results) - failed, failed=failed,
        by_status={s.value: by_status[s.value] for s in Status},
        by_os=dict(sorted(by_os.items())),
        by_kb={kb: {s.value: c[s.value] for s in Status if c[s.value]} for kb, c in by_kb.items()},
    )


def exit_code(results: list[HostResult]) -> int:
    """0 when every host was audited and every finding is fixed or not applicable; 1 otherwise."""
    return summarize(results).exit_code
