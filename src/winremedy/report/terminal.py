"""The terminal report: host x KB rows, then the hosts that failed, then one summary line."""

from __future__ import annotations

from ..audit.results import HostResult
from .summary import Summary, failures, finding_rows, os_label
from .table import format_table

_HEADERS = ("host", "OS", "KB", "status", "confidence", "reason")


def render_table(results: list[HostResult], summary: Summary) -> str:
    parts = []
    rows = [(r.host, os_label(r.os), r.finding.kb, r.finding.status.value, r.finding.confidence, r.finding.reason)
            for r in finding_rows(results)]
    if rows:
        parts.append(format_table(_HEADERS, rows))
    failed = failures(results)
    if failed:
        parts.append("failed hosts:\n" + format_table(("host", "error", "reason"),
                                                      [(f.host, f.code or "error", f.reason) for f in failed]))
    parts.append(summary.line())
    return "\n\n".join(parts) + "\n"
