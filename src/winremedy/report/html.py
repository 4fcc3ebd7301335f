"""The HTML report: one self-contained page an operator can mail or open on an air-gapped jump host.

No scripts, fonts, images or style sheets are fetched: CSS is inline, charts
are inline SVG, and a Content-Security-Policy forbids loading anything and
running any script but the host table's own (allowed by its hash), so even an
escaping slip could not run a script. Catalog article URLs appear as text,
never as links.
"""

from __future__ import annotations

from ..audit.assess import Status
from ..catalog import Catalog
from ..audit.results import HostResult
from .escape import h
from .history import FleetHistory
from .html_fleet import SCRIPT_HASH, fleet_hosts
from .html_hosts import host_anchor, host_details
from .html_parts import Markup, badge, table
from .summary import Summary, failures, finding_rows, needs_action, os_label, summarize
from .svg import Bar, Segment, bar_chart

_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'"
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}h4{margin:.8em 0 .2em}h5{margin:.5em 0 .2em}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;
vertical-align:top}th{background:#f3f3f3}
dl{display:grid;grid-template-columns:max-content auto;gap:1px 1em;margin:.3em 0}dt{font-weight:600}dd{margin:0}
.charts{display:flex;flex-wrap:wrap;gap:2em}.charts>div{min-width:22em}
details{border:1px solid #ddd;margin:.4em 0;padding:.3em .6em}summary{cursor:pointer}
.finding{border-left:3px solid #ccc;padding-left:.6em;margin:.6em 0}
.badge{color:#fff;background:var(--c);border-radius:3px;padding:0 5px;font-size:.9em}
svg text{font-size:11px;fill:#333}svg rect{fill:var(--c)}.chart-title{font-weight:600}
.grid{stroke:#e3e3e3}.series{fill:none;stroke:#1565c0;stroke-width:1.5}.sample{fill:#1565c0}
.fit{stroke:#c62828;stroke-width:1.5;stroke-dasharray:5 3}.mark{stroke:#6a1b9a;stroke-dasharray:2 2}
.error{color:#b71c1c}.verdict-ok{color:#2e7d32}.verdict-bad{color:#b71c1c}
.s-fixed{--c:#2e7d32}.s-not_applicable{--c:#9e9e9e}.s-missing{--c:#e65100}.s-missing_leaking{--c:#b71c1c}
.s-pending_reboot{--c:#f9a825}.s-unknown{--c:#6a1b9a}.s-error{--c:#424242}.s-hosts{--c:#1565c0}
"""


def render_html(results: list[HostResult], summary: Summary, generated_at: str, catalog: Catalog,
                history: FleetHistory | None = None) -> str:
    indicators = {i.id: i for kb in catalog for i in kb.indicators}
    history = history or {}
    anchors = {id(r): host_anchor(n) for n, r in enumerate(results)}
    sections = [
        _heading(summary, generated_at),
        "<h2>Fleet</h2>" + _fleet(summary, catalog),
        _readiness(results, anchors),
        "<h2>Hosts at a glance</h2>" + fleet_hosts(results, anchors, catalog, history),
        "<h2>Needs action</h2>" + _needs_action(results, anchors),
        "<h2>Failed hosts</h2>" + _failed(results, anchors),
        "<h2>Hosts</h2>" + "".join(host_details(n, r, indicators, history.get(r.host))
                                   for n, r in enumerate(results)),
    ]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>winremedy fleet report {h(generated_at)}</title><style>{_CSS}</style></head><body>"
            + "".join(sections) + "</body></html>\n")


def _readiness(results: list[HostResult], anchors: dict[int, str]) -> str:
    """The probe's verdict beside each host's compliance, when ``winremedy probe --out`` saved one in the same DIR."""
    probed = [r for r in results if r.readiness is not None]
    if not probed:
        return ""
    rows = []
    for result in probed:
        readiness = result.readiness or {}
        items = [f"reason: {c['message']} ({c.get('fix') or ''})" for c in readiness.get("reasons") or []]
        items += [f"note: {c['message']}" for c in readiness.get("notes") or []]
        compliance = "not audited" if not result.ok else (
            "compliant" if summarize([result]).compliant else "not compliant")
        rows.append((_host_link(result, anchors), readiness["verdict"], compliance,
                     Markup("<br>".join(h(item) for item in items))))
    return "<h2>Readiness</h2>" + table(("host", "readiness", "compliance", "reasons and notes"), rows)


def _heading(summary: Summary, generated_at: str) -> str:
    verdict = ('<b class="verdict-ok">compliant</b>' if summary.compliant
               else '<b class="verdict-bad">not compliant</b>')
    return (f"<h1>winremedy fleet report</h1><p>Generated {h(generated_at)}: {verdict} "
            f"(exit code {summary.exit_code}). {h(summary.line())}</p>")


def _fleet(summary: Summary, catalog: Catalog) -> str:
    """Counts by status, by OS family and by KB: each a small table beside its bar chart."""
    statuses = [s.value for s in Status]
    by_status = table(("status", "findings"), [(badge(s), summary.by_status[s]) for s in statuses])
    status_chart = bar_chart([Bar(s, [Segment(summary.by_status[s], f"s-{s}", s)]) for s in statuses],
                             title="findings by status")
    by_os = table(("OS family", "hosts"), list(summary.by_os.items()))
    os_chart = bar_chart([Bar(family, [Segment(n, "s-hosts", f"{n} hosts")]) for family, n in summary.by_os.items()],
                         title="audited hosts by OS family")
    by_kb = table(("KB", "title", "article", "findings"),
                  [(kb, *_kb_text(catalog, kb),
                    Markup(" ".join(f"{badge(s)} {n}" for s, n in counts.items())))
                   for kb, counts in summary.by_kb.items()])
    kb_chart = bar_chart([Bar(kb, [Segment(n, f"s-{s}", f"{n} {s}") for s, n in counts.items()])
                          for kb, counts in summary.by_kb.items()], title="findings by KB and status")
    return "".join(f'<div class="charts"><div>{t}</div><div>{c}</div></div>'
                   for t, c in ((by_status, status_chart), (by_os, os_chart), (by_kb, kb_chart)))


def _needs_action(results: list[HostResult], anchors: dict[int, str]) -> str:
    rows = [(_host_link(row.result, anchors), os_label(row.os), row.finding.kb, badge(row.finding.status.value),
             row.finding.confidence, row.finding.reason, row.finding.action, row.finding.package)
            for row in finding_rows(results) if needs_action(row.finding)]
    if not rows:
        return "<p>Nothing: every audited host is fixed or not affected.</p>"
    return table(("host", "OS", "KB", "status", "confidence", "reason", "action", "package"), rows)


def _failed(results: list[HostResult], anchors: dict[int, str]) -> str:
    failed = failures(results)
    if not failed:
        return "<p>None: every host was audited.</p>"
    return table(("host", "error", "reason"),
                 [(_host_link(f.result, anchors), f.code or "error", f.reason) for f in failed])


def _host_link(result: HostResult, anchors: dict[int, str]) -> Markup:
    return Markup(f'<a href="#{anchors[id(result)]}">{h(result.host)}</a>')


def _kb_text(catalog: Catalog, kb: str) -> tuple[str, str]:
    """(title, article URL) of a KB; blank for a KB the catalog no longer has (results outlive catalogs)."""
    entry = catalog.kbs.get(kb)
    return (entry.title, entry.article) if entry else ("", "")
