"""Inline SVG charts for the HTML report: horizontal bars and a sample series with its fitted trend.

Plain strings, no plotting library and nothing fetched: the page must open on
an air-gapped jump host. Inline SVG in HTML needs no ``xmlns``, so the charts
name no URL at all. Colours come from CSS classes the page defines; every label
goes through :func:`~winremedy.report.escape.h`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .escape import h

_LABEL_WIDTH, _BAR_WIDTH, _ROW_HEIGHT = 150, 220, 20
_WIDTH, _HEIGHT = 520, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 44


@dataclass(frozen=True)
class Segment:
    """Part of a bar: a count, the CSS class that colours it, and its tooltip."""

    value: float
    css_class: str
    title: str


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[Segment]

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


def bar_chart(bars: Sequence[Bar], *, title: str) -> str:
    """One horizontal bar per label, stacked by segment, scaled to the longest bar, total printed after it."""
    longest = max((b.total for b in bars), default=0) or 1
    height = _ROW_HEIGHT * len(bars) + 4
    width = _LABEL_WIDTH + _BAR_WIDTH + 50
    parts = [f'<svg class="chart-bars" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{h(title)}"><title>{h(title)}</title>']
    for row, bar in enumerate(bars):
        y = row * _ROW_HEIGHT + 2
        parts.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{h(bar.label)}</text>')
        x = float(_LABEL_WIDTH)
        for segment in bar.segments:
            length = _BAR_WIDTH * segment.value / longest
            parts.append(f'<rect class="{h(segment.css_class)}" x="{x:.1f}" y="{y}" width="{length:.1f}" '
                         f'height="{_ROW_HEIGHT - 4}"><title>{h(segment.title)}</title></rect>')
            x += length
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 14}">{_number(bar.total)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: Sequence[tuple[float, float]], *, fit: tuple[float, float] | None, title: str,
               x_label: str, y_label: str, marks: Sequence[tuple[float, str]] = (),
               css_class: str = "chart-trend", point_titles: Sequence[str] | None = None) -> str:
    """Samples as dots joined by a line, and the fitted ``y = slope * x + intercept`` dashed over the same x range.

    ``marks`` are labelled vertical lines at x (a reboot, a fix going in); the line breaks at each of them.
    ``point_titles`` (one per point) replace the dots' default tooltips, the rounded x and y.
    """
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x_lo, x_hi = min(xs), max(xs)
    fit_ys = [fit[0] * x + fit[1] for x in (x_lo, x_hi)] if fit else []
    x_ticks = _ticks(x_lo, x_hi)
    y_ticks = _ticks(min(ys + fit_ys), max(ys + fit_ys))
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + plot_w * (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])

    def py(y: float) -> float:
        return _TOP + plot_h * (1 - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]))

    parts = [f'<svg class="{h(css_class)}" width="{_WIDTH}" height="{_HEIGHT}" '
             f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{h(title)}"><title>{h(title)}</title>',
             f'<text class="chart-title" x="{_LEFT}" y="16">{h(title)}</text>']
    x_step, y_step = x_ticks[1] - x_ticks[0], y_ticks[1] - y_ticks[0]
    for tick in x_ticks:
        parts.append(f'<line class="grid" x1="{px(tick):.1f}" y1="{_TOP}" x2="{px(tick):.1f}" y2="{_TOP + plot_h}"/>'
                     f'<text x="{px(tick):.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">'
                     f'{_tick_text(tick, x_step)}</text>')
    for tick in y_ticks:
        parts.append(f'<line class="grid" x1="{_LEFT}" y1="{py(tick):.1f}" x2="{_LEFT + plot_w}" '
                     f'y2="{py(tick):.1f}"/><text x="{_LEFT - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">'
                     f'{_tick_text(tick, y_step)}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_HEIGHT - 6}" text-anchor="middle">{h(x_label)}</text>'
                 f'<text x="14" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">{h(y_label)}</text>')
    if fit:
        parts.append(f'<line class="fit" x1="{px(x_lo):.1f}" y1="{py(fit_ys[0]):.1f}" '
                     f'x2="{px(x_hi):.1f}" y2="{py(fit_ys[1]):.1f}"/>')
    for x, label in marks:
        parts.append(f'<line class="mark" x1="{px(x):.1f}" y1="{_TOP}" x2="{px(x):.1f}" y2="{_TOP + plot_h}"/>'
                     f'<text class="mark-label" x="{px(x) + 3:.1f}" y="{_TOP + 10}">{h(label)}</text>')
    cuts = sorted(x for x, _ in marks)
    for piece in _split(points, cuts):
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in piece)
        parts.append(f'<polyline class="series" points="{path}"/>')
    titles = point_titles or [f"{_tick_text(x, x_step / 100)}: {_tick_text(y, y_step / 100)}" for x, y in points]
    parts += [f'<circle class="sample" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5"><title>{h(title)}</title></circle>'
              for (x, y), title in zip(points, titles, strict=True)]
    parts.append("</svg>")
    return "".join(parts)


def _split(points: Sequence[tuple[float, float]], cuts: Sequence[float]) -> list[list[tuple[float, float]]]:
    """The points in runs between consecutive cuts (a point at a cut starts the next run)."""
    runs: dict[int, list[tuple[float, float]]] = {}
    for x, y in points:
        runs.setdefault(sum(x >= cut for cut in cuts), []).append((x, y))
    return [runs[key] for key in sorted(runs)]


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 x 10^n) covering ``lo..hi``; a flat range gets a unit-wide band."""
    if hi - lo <= 0:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    # round() drops float noise (0.30000000000000004); + 0.0 turns -0.0 into 0.0 so no tick reads "-0".
    return [round(first + i * step, 12) + 0.0 for i in range(math.ceil((hi - first) / step - 1e-9) + 1)]


def _tick_text(value: float, step: float) -> str:
    """As many decimals as the step needs, no more."""
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:,.{decimals}f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
