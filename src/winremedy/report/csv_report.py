"""The CSV report: one row per host x KB, one row per failed host (empty KB, status ``error``).

Spreadsheets run cells that start with ``= + - @`` as formulas; host names and
errors are hostile text, so such cells get a leading apostrophe (the OWASP
CSV-injection guard). Quoting is the csv module's.
"""

from __future__ import annotations

import csv
import io

from ..audit.results import HostResult
from .escape import scrub
from .summary import failures, finding_rows, os_columns

HEADER = ("host", "reachable", "os_family", "os_version", "sp", "arch", "kb", "status", "confidence", "basis",
          "reason", "action", "package")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_csv(results: list[HostResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in finding_rows(results):
        f = row.finding
        writer.writerow(_cells(row.host, row.result.reachable, *os_columns(row.os), f.kb, f.status.value,
                               f.confidence, f.basis, f.reason, f.action, f.package or ""))
    for failure in failures(results):
        writer.writerow(_cells(failure.host, failure.result.reachable, *os_columns(failure.os), "", "error", "", "",
                               failure.reason, "", ""))
    return buffer.getvalue()


def _cells(*values: object) -> list[str]:
    cells = [scrub(str(v).lower() if isinstance(v, bool) else v) for v in values]
    return [f"'{c}" if c.startswith(_FORMULA_START) else c for c in cells]
