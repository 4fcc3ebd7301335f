"""From an audit result to history points, and from history back to the samples a trend may use.

A series is split where its counters could not have continued: at a reboot
(the boot time changes; counters start over) and where the indicator's fix
went in (the growth before says nothing about the growth after). The trend
uses the current piece only; ``winremedy history`` shows every piece, so
"growing, then flat after the fix" is visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..audit.assess import Finding, Status, assess
from ..audit.facts import HostFacts, Sample
from ..catalog import Catalog
from . import DEFAULT_DAYS, HistoryStore, HostRecord, Point

_FIXED = {Status.FIXED}
_DAY = 86400.0


def host_record(facts: HostFacts, findings: Sequence[Finding], catalog: Catalog) -> HostRecord:
    """This audit's samples (labelled with boot and fix state) and statuses, as history."""
    fixed = fixed_indicators(findings, catalog)
    boot = facts.boot_time or ""
    series = {key: [Point(s.t, s.value, boot, key in fixed) for s in samples]
              for key, samples in facts.samples.items() if samples}
    times = [s.t for samples in facts.samples.values() for s in samples]
    at = max(times) if times else _epoch(facts.collected_at)
    return HostRecord(facts.host, at, series, {f.kb: f.status.value for f in findings})


def fixed_indicators(findings: Sequence[Finding], catalog: Catalog) -> set[str]:
    """The indicators whose KB is fixed on the host, by these findings."""
    fixed_kbs = {f.kb for f in findings if f.status in _FIXED}
    return {i.id for kb in catalog.kbs.values() if kb.kb in fixed_kbs for i in kb.indicators}


def joined_samples(facts: HostFacts, catalog: Catalog, history: HistoryStore | None,
                   days: float = DEFAULT_DAYS) -> dict[str, list[Sample]] | None:
    """This run's samples joined to the current piece of each series in ``history`` (None: this run's alone)."""
    if history is None:
        return None
    current = host_record(facts, assess(facts, catalog), catalog)  # the fix state, before any leak evidence
    return trend_samples(history.read(facts.host, since=current.at - days * _DAY), current.series)


def trend_samples(history: Mapping[str, Sequence[Point]], current: Mapping[str, Sequence[Point]],
                  ) -> dict[str, list[Sample]]:
    """Per series: the earlier points of the current piece (same boot, same fix state) and this run's."""
    merged = {}
    for key, now in current.items():
        if not now:
            continue
        last = now[-1]
        earlier = [p for p in history.get(key, ()) if p.t < now[0].t and _same_piece(p, last)]
        merged[key] = [Sample(p.t, p.value) for p in [*earlier, *now]]
    return merged


def _same_piece(point: Point, last: Point) -> bool:
    return point.boot == last.boot and point.fixed == last.fixed


@dataclass(frozen=True)
class Piece:
    """A run of points with the same boot and fix state: one unbroken series."""

    boot: str
    fixed: bool
    points: list[Point]


def pieces(points: Sequence[Point]) -> list[Piece]:
    """Split a series at every reboot and every change of fix state, oldest first."""
    split: list[Piece] = []
    for point in sorted(points, key=lambda p: p.t):
        if split and _same_piece(split[-1].points[-1], point):
            split[-1].points.append(point)
        else:
            split.append(Piece(point.boot, point.fixed, [point]))
    return split


def _epoch(text: str | None) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else 0.0
