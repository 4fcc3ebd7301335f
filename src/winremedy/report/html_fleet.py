"""The fleet's hosts in one table an operator can filter (status, KB, leaking) and sort, in the page itself.

One small inline script does it, allowed by its SHA-256 in the page's
Content-Security-Policy (nothing else may run, nothing may be fetched). The
state lives in the URL fragment (``#status=missing_leaking&kb=KB2847346``), so
a filtered view can be bookmarked or mailed. Without the script the table
simply shows every host.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence

from ..audit.assess import Status
from ..audit.facts import Sample
from ..audit.leaks import verdict
from ..audit.results import HostResult
from ..catalog import Catalog
from ..history import Point
from ..history.series import pieces
from .escape import h
from .html_parts import Markup, badge, cell
from .summary import failure_reason, host_os, os_label

# Worst first: the order "sort by status" shows hosts in.
_RANK = [Status.MISSING_LEAKING.value, "error", Status.UNKNOWN.value, Status.PENDING_REBOOT.value,
         Status.MISSING.value, Status.FIXED.value, Status.NOT_APPLICABLE.value]
LEAK_STATES = {"now": "leaking now", "stopped": "leak stopped after the fix", "none": "not leaking"}

SCRIPT = """(function () {
  var table = document.getElementById('fleet-hosts');
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var controls = {status: document.getElementById('filter-status'), kb: document.getElementById('filter-kb'),
                  leak: document.getElementById('filter-leak'), sort: document.getElementById('sort-hosts')};
  function matches(row, s) {
    var pairs = row.getAttribute('data-statuses').split(' ');
    var kbOk = s.kb === 'all' || pairs.some(function (p) { return p.split(':')[0] === s.kb; });
    var statusOk = s.status === 'all' || pairs.some(function (p) {
      var kv = p.split(':');
      return kv[1] === s.status && (s.kb === 'all' || kv[0] === s.kb);
    });
    return kbOk && statusOk && (s.leak === 'all' || row.getAttribute('data-leak') === s.leak);
  }
  function apply() {
    var s = {}, parts = [], shown = 0, key;
    for (key in controls) { s[key] = controls[key].value; }
    rows.forEach(function (row) { row.hidden = !matches(row, s); shown += row.hidden ? 0 : 1; });
    rows.slice().sort(function (a, b) {
      var x = a.getAttribute('data-' + s.sort), y = b.getAttribute('data-' + s.sort);
      return x < y ? -1 : (x > y ? 1 : 0);
    }).forEach(function (row) { body.appendChild(row); });
    for (key in controls) {
      if (s[key] !== controls[key].options[0].value) { parts.push(key + '=' + encodeURIComponent(s[key])); }
    }
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search);
    document.getElementById('fleet-count').textContent = shown + ' of ' + rows.length + ' hosts';
  }
  location.hash.slice(1).split('&').forEach(function (pair) {
    var kv = pair.split('=');
    var control = controls[kv[0]];
    if (control) {
      control.value = decodeURIComponent(kv[1] || '');
      if (control.selectedIndex < 0) { control.selectedIndex = 0; }
    }
  });
  for (var key in controls) { controls[key].addEventListener('change', apply); }
  apply();
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def fleet_hosts(results: Sequence[HostResult], anchors: Mapping[int, str], catalog: Catalog,
                history: Mapping[str, Mapping[str, Sequence[Point]]]) -> str:
    """The controls, the host table (one row per host) and the script that filters and sorts it."""
    kbs = sorted({f.kb for r in results for f in r.findings})
    rows = [_row(r, anchors[id(r)], kbs, catalog, history.get(r.host, {})) for r in results]
    controls = (_select("filter-status", "status", ["all", *_RANK])
                + _select("filter-kb", "KB", ["all", *kbs])
                + _select("filter-leak", "leaking", ["all", *LEAK_STATES], LEAK_STATES)
                + _select("sort-hosts", "sort by", ["host", "rank", "os"],
                          {"host": "host name", "rank": "worst status", "os": "OS"}))
    head = "".join(f"<th>{h(c)}</th>" for c in ("host", "OS", *kbs, "leak"))
    return (f'<p class="controls">{controls} <span id="fleet-count">{len(results)} hosts</span></p>'
            f'<table id="fleet-hosts"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f"<script>{SCRIPT}</script>")


def _select(element: str, label: str, values: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    options = "".join(f'<option value="{h(v)}">{h((names or {}).get(v, v))}</option>' for v in values)
    return f'<label>{h(label)} <select id="{element}">{options}</select></label> '


def _row(result: HostResult, anchor: str, kbs: Sequence[str], catalog: Catalog,
         history: Mapping[str, Sequence[Point]]) -> str:
    statuses = {f.kb: f.status.value for f in result.findings}
    if failure_reason(result) is not None:
        statuses = dict.fromkeys(kbs, "error")
    leak = _leak_state(result, catalog, history)
    rank = min((_RANK.index(s) for s in statuses.values()), default=len(_RANK))
    os_text = os_label(host_os(result))
    cells = [Markup(f'<a href="#{anchor}">{h(result.host)}</a>'), os_text,
             *[badge(statuses[kb]) if kb in statuses else "" for kb in kbs], LEAK_STATES[leak]]
    data = " ".join(f"{kb}:{status}" for kb, status in sorted(statuses.items()))
    return (f'<tr data-host="{h(result.host.lower())}" data-os="{h(os_text)}" data-rank="{rank}:'
            f'{h(result.host.lower())}" data-leak="{leak}" data-statuses="{h(data)}">'
            + "".join(f"<td>{cell(c)}</td>" for c in cells) + "</tr>")


def _leak_state(result: HostResult, catalog: Catalog, history: Mapping[str, Sequence[Point]]) -> str:
    """``now`` when an indicator leaks in this audit; ``stopped`` when one leaked before the fix and not since."""
    if result.facts and any(v.leaking for v in result.facts.leaks.values()):
        return "now"
    indicators = {i.id: i for kb in catalog for i in kb.indicators}
    for key, points in history.items():
        chunks = pieces(points)
        if key in indicators and len(chunks) > 1 and chunks[-1].fixed and any(
                not c.fixed and verdict(indicators[key], [Sample(p.t, p.value) for p in c.points]).leaking
                for c in chunks[:-1]):
            return "stopped"
    return "none"
