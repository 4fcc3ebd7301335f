"""Per-host detail for the HTML report: facts, each finding with the evidence that decided it, leak charts.

A host that needs action opens expanded; the others stay collapsed so a fleet
of thousands still reads from the top.
"""

from __future__ import annotations

import json
from statistics import median
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..audit.assess import Finding
from ..catalog import Indicator
from ..audit.facts import HostFacts, LeakVerdict, Sample
from ..audit.results import HostResult
from ..instants import iso
from .escape import h
from .html_parts import Markup, badge, definitions, table
from .summary import failure_reason, host_os, needs_action, os_label
from .svg import line_chart

if TYPE_CHECKING:
    from ..history import Point

_BYTES_PER_MB = 1_000_000
_SECONDS_PER_HOUR = 3600.0
_SECONDS_PER_DAY = 86400.0


def host_anchor(index: int) -> str:
    """Anchor ids come from the host's position, never from its (hostile) name."""
    return f"host-{index}"


def host_details(index: int, result: HostResult, indicators: dict[str, Indicator],
                 history: Mapping[str, Sequence[Point]] | None = None) -> str:
    failure = failure_reason(result)
    expanded = failure is not None or any(needs_action(f) for f in result.findings)
    statuses = " ".join(f"{h(f.kb)} {badge(f.status.value)}" for f in result.findings)
    if failure is not None:
        statuses = f"{badge('error')} {statuses}"
    facts = result.facts
    parts = [f'<details id="{host_anchor(index)}"{" open" if expanded else ""}><summary><b>{h(result.host)}</b> '
             f'{h(os_label(host_os(result)))} {statuses}</summary>']
    if failure is not None:
        parts.append(f'<p class="error">{h(result.error_code or "error")}: {h(failure)}</p>')
    parts.append(_facts(facts) if facts else "")
    parts += [_finding(f) for f in result.findings]
    parts.append(_leak_charts(facts, indicators) if facts else "")
    parts.append(_history_charts(history, indicators) if history else "")
    parts.append("</details>")
    return "".join(parts)


def _facts(facts: HostFacts) -> Markup:
    os_info = facts.os
    return definitions([
        ("OS", f"{os_info.caption.strip()} {os_info.version} SP{os_info.sp} {os_info.arch or ''}" if os_info else
         "not known"),
        ("collected", f"{facts.collected_at or 'unknown time'} via {facts.source}"),
        ("boot time", facts.boot_time),
        ("PowerShell", facts.powershell_version),
        ("pending reboot", _collected_list(facts.pending_reboot)),
        ("products", _collected_list(facts.products)),
        ("collector notes", "; ".join(facts.notes) or None),
    ])


def _finding(finding: Finding) -> str:
    head = (f'<h4>{h(finding.kb)} {badge(finding.status.value)} <small>{h(finding.confidence)} confidence, '
            f'basis {h(finding.basis)}</small></h4>')
    summary = definitions([("reason", finding.reason), ("action", finding.action), ("package", finding.package)])
    return f'<section class="finding">{head}{summary}{_evidence(finding.evidence)}</section>'


def _evidence(evidence: dict[str, Any]) -> str:
    """The known kinds of evidence as tables; anything else as JSON, so nothing the engine said is dropped."""
    parts = []
    for key, value in evidence.items():
        if key == "rule":
            parts.append("<h5>rule</h5>" + definitions(list(value.items())))
        elif key == "files":
            parts.append("<h5>files: found vs required</h5>" + table(
                ("file", "path", "found", "required", "state"),
                [(c["name"], c["path"], c["found"] or "absent", c["required"], c["state"]) for c in value]))
        elif key == "registration":
            parts.append("<h5>registrations</h5>" + (
                f"<p>{h(_collected_list(value))}</p>" if not value else
                table(("id", "source", "state", "package"),
                      [(r["id"], r["source"], r["state"], r["package"]) for r in value])))
        elif key == "products":
            parts.append(f"<h5>products installed</h5><p>{h(_collected_list(value))}</p>")
        elif key == "leaks":
            parts.append("<h5>leak verdicts</h5>" + table(
                ("indicator", "verdict", "rate per hour", "confidence", "samples", "reason"),
                [(v["indicator"], "leaking" if v["leaking"] else "quiet", f"{v['rate_per_hour']:,.0f}",
                  f"{v['confidence']:.2f}", v["samples"], v["reason"]) for v in value]))
        else:
            parts.append(f"<h5>{h(key)}</h5><pre>{h(json.dumps(value, indent=1))}</pre>")
    return "".join(parts)


def _collected_list(values: list[Any] | None) -> str:
    """``None`` is "not collected", which must never read as "none"."""
    if values is None:
        return "not collected"
    return ", ".join(values) or "none"


def _leak_charts(facts: HostFacts, indicators: dict[str, Indicator]) -> str:
    """A chart for every indicator that this run sampled more than once and that leaks: the evidence behind
    missing_leaking (a verdict from one sample and the history has its evidence in the history chart)."""
    charts = [_leak_chart(key, samples, verdict, indicators.get(key)) for key, samples in facts.samples.items()
              if len(samples) > 1 and (verdict := facts.leaks.get(key)) is not None and verdict.leaking]
    return f'<h4>leak trends</h4><div class="charts">{"".join(charts)}</div>' if charts else ""


def _leak_chart(key: str, samples: list[Sample], verdict: LeakVerdict, indicator: Indicator | None) -> str:
    """Samples over hours since the first one, bytes in MB, with the verdict's fitted rate drawn through them."""
    in_bytes = indicator is not None and indicator.unit == "bytes"
    scale, unit = (_BYTES_PER_MB, "MB") if in_bytes else (1.0, indicator.metric if indicator else "value")
    start = min(s.t for s in samples)
    points = [((s.t - start) / _SECONDS_PER_HOUR, s.value / scale) for s in sorted(samples, key=lambda s: s.t)]
    slope = verdict.rate_per_hour / scale
    intercept = median(y - slope * x for x, y in points)  # Theil-Sen's intercept for the verdict's slope
    title = (f"{key}: fitted {slope:+,.2f} {unit}/h, confidence {verdict.confidence:.2f}, "
             f"{verdict.samples} samples")
    chart = line_chart(points, fit=(slope, intercept), title=title, x_label="hours since first sample",
                       y_label=unit)
    caption = verdict.reason
    if indicator is not None:
        threshold = indicator.leaking_rate_per_hour / scale
        caption = f"{indicator.what}. Threshold {threshold:,.2f} {unit}/h. {verdict.reason}"
    return f'<figure class="trend">{chart}<figcaption>{h(caption)}</figcaption></figure>'


def _history_charts(history: Mapping[str, Sequence[Point]], indicators: dict[str, Indicator]) -> str:
    """Each indicator's samples across audits, by day: a break and a mark where the host rebooted or the fix went in."""
    charts = [_history_chart(key, points, indicators[key]) for key, points in sorted(history.items())
              if key in indicators and points]
    return f'<h4>leak history</h4><div class="charts">{"".join(charts)}</div>' if charts else ""


def _history_chart(key: str, points: Sequence[Point], indicator: Indicator) -> str:
    scale, unit = (_BYTES_PER_MB, "MB") if indicator.unit == "bytes" else (1.0, indicator.metric)
    ordered = sorted(points, key=lambda p: p.t)
    start = ordered[0].t
    marks = []
    for before, after in zip(ordered, ordered[1:], strict=False):
        what = [name for name, changed in (("reboot", before.boot != after.boot),
                                            ("fix", after.fixed and not before.fixed)) if changed]
        if what:
            marks.append(((after.t - start) / _SECONDS_PER_DAY, " + ".join(what)))
    days = (ordered[-1].t - start) / _SECONDS_PER_DAY
    title = f"{key}: {len(ordered)} samples over {days:.1f} days"
    chart = line_chart([((p.t - start) / _SECONDS_PER_DAY, p.value / scale) for p in ordered], fit=None,
                       title=title, x_label="days since first sample", y_label=unit, marks=marks,
                       css_class="chart-history",
                       point_titles=[f"{iso(p.t)}: {p.value:,.0f} {indicator.unit}" for p in ordered])
    return f'<figure class="history">{chart}<figcaption>{h(indicator.what)}</figcaption></figure>'
