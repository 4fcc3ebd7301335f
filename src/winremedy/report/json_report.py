"""The JSON report: the summary and, per host, its facts and findings exactly as the audit produced them.

Consumers (AWX, dashboards) read ``hosts -> name -> reachable, facts, findings``;
text is kept as found (JSON escaping makes it safe), never scrubbed.
"""

from __future__ import annotations

import json
from typing import Any

from ..audit.results import HostResult
from .summary import Summary, failure_reason


def render_json(results: list[HostResult], summary: Summary, generated_at: str) -> str:
    document = {
        "generated_at": generated_at,
        "summary": summary.to_dict(),
        "hosts": {r.host: _host(r) for r in results},
    }
    # ensure_ascii: a lone surrogate from a host's JSON stays an escape instead of failing to encode.
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def _host(result: HostResult) -> dict[str, Any]:
    return {
        "reachable": result.reachable,
        "error": failure_reason(result),
        "error_code": result.error_code,
        "facts": result.facts.to_dict() if result.facts else None,
        "findings": [f.to_dict() for f in result.findings],
        "started_at": result.started_at,
        "duration": result.duration,
    }
