"""Leak evidence: is an indicator growing now, and how sure are we?

Memory counters wander like a random walk, so tests that assume independent
samples (Mann-Kendall, a regression t-test) call drift-free wander a leak far
too often. The null model here is the catalog's healthy-host noise: a random
walk of ``wander_per_sqrt_hour`` plus reading-to-reading ``jitter``. Under it
the growth over a span S has variance ``wander² * S + 2 * jitter²``; the drift
estimate is the growth per hour, and its z score against that variance
(inflated when the increments scatter more than the catalog expects: a host
noisier than a healthy one earns no extra confidence) gives the confidence.

An indicator is leaking only when every check passes, and the verdict says
which one failed: at least :data:`MIN_SAMPLES` samples over at least the
catalog's minimum span, growth above its minimum, a confident drift, a rate
of at least :data:`RATE_SHARE` of the threshold (the threshold is the rate
the audit must catch; estimation error would miss half the leaks at exactly
that rate), and not a single jump (a process starting is a step, not a leak).
The constants were chosen by simulation: ``bench/leak_statistics.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..catalog import Catalog, Indicator, Noise
from .facts import HostFacts, LeakVerdict, Sample

MIN_SAMPLES = 4
RATE_SHARE = 0.5  # a rate of half the threshold counts: leaks at the threshold are caught 95%+ of the time
STEP_SHARE = 0.5  # one increment carrying half the growth or more is checked as a possible step
TAG_SHARE = 0.5  # a pool tag "accounts for" the pool's growth when it grows at half the pool's rate or more
TOP_TAGS = 5
POOL_TAG_PREFIX = "pool:"  # samples key of a pool tag's nonpaged bytes: "pool:NSpc"
POOL_ALLOCS_PREFIX = "pool_allocs:"  # samples key of its outstanding nonpaged allocations
_HOUR = 3600.0


@dataclass(frozen=True)
class Trend:
    """The drift of one series: rate, total growth, span and the confidence that it rises beyond the noise."""

    rate_per_hour: float
    growth: float
    span_hours: float
    confidence: float  # 0..1
    samples: int
    largest_jump: float  # the largest single increment
    jump_index: int  # the index of the sample after that increment


def trend(samples: Sequence[Sample], noise: Noise) -> Trend:
    """Drift of time-stamped samples (``t`` in seconds) against the random-walk-plus-jitter null model."""
    points = _distinct_times(samples)
    n = len(points)
    if n < 2:
        return Trend(0.0, 0.0, 0.0, 0.0, n, 0.0, 0)
    span = (points[-1][0] - points[0][0]) / _HOUR
    growth = points[-1][1] - points[0][1]
    rate = growth / span
    steps = [((t2 - t1) / _HOUR, v2 - v1) for (t1, v1), (t2, v2) in zip(points, points[1:], strict=False)]
    jump_index = max(range(len(steps)), key=lambda i: steps[i][1])
    return Trend(rate, growth, span, _confidence(rate, span, steps, noise), n, steps[jump_index][1], jump_index + 1)


def _distinct_times(samples: Sequence[Sample]) -> list[tuple[float, float]]:
    """Sorted by time; of several readings at one instant, the last one counts."""
    return sorted({s.t: s.value for s in samples}.items())


def _confidence(rate: float, span: float, steps: list[tuple[float, float]], noise: Noise) -> float:
    """One-sided P(drift > 0): the z score of the rate against the noise model, inflated by excess scatter."""
    wander2, jitter2 = noise.wander_per_sqrt_hour ** 2, noise.jitter ** 2
    expected = [wander2 * dt + 2 * jitter2 for dt, _ in steps]
    scatter = 1.0
    if len(steps) > 1 and all(expected):
        scatter = sum((d - rate * dt) ** 2 / e for (dt, d), e in zip(steps, expected, strict=True)) / (len(steps) - 1)
    variance = (wander2 * span + 2 * jitter2) / span ** 2 * max(1.0, scatter)
    if variance <= 0:
        return 1.0 if rate > 0 else 0.0
    return 0.5 * (1.0 + math.erf(rate / math.sqrt(2.0 * variance)))


def verdict(indicator: Indicator, samples: Sequence[Sample]) -> LeakVerdict:
    """Leaking when every check passes; the reason names the numbers and the check that decided."""
    fit = trend(samples, indicator.noise)
    unit = indicator.unit

    def result(leaking: bool, why: str, label: str = "quiet") -> LeakVerdict:
        numbers = (f"{fit.rate_per_hour:+,.0f} {unit}/h over {fit.span_hours:.1f} h and {fit.samples} samples "
                   f"(growth {fit.growth:+,.0f}, confidence {fit.confidence:.3f})")
        return LeakVerdict(indicator.id, leaking, fit.rate_per_hour, round(fit.confidence, 4), fit.samples,
                           f"{'leaking' if leaking else label}: {why}; {numbers}",
                           span_hours=round(fit.span_hours, 3), growth=fit.growth, judged=label != "no verdict")

    if fit.samples < MIN_SAMPLES:
        return result(False, f"too few samples ({fit.samples} < {MIN_SAMPLES}) to call a trend", "no verdict")
    if fit.span_hours < indicator.min_span_hours:
        return result(False, f"span {fit.span_hours:.2f} h is below the {indicator.min_span_hours:g} h minimum",
                      "no verdict")
    if fit.growth < indicator.min_growth:
        return result(False, f"growth below the minimum of {indicator.min_growth:,.0f} {unit}")
    floor = RATE_SHARE * indicator.leaking_rate_per_hour
    if fit.rate_per_hour < floor:
        return result(False, f"slower than {floor:,.0f} {unit}/h (half the {indicator.leaking_rate_per_hour:,.0f} "
                             f"{unit}/h threshold)")
    if _is_step(indicator, samples, fit):
        return result(False, f"a single jump of {fit.largest_jump:+,.0f} {unit}, not a steady rise (a step)")
    if fit.confidence < indicator.min_confidence:
        return result(False, f"the rise is within the healthy noise (needs confidence {indicator.min_confidence})")
    return result(True, f"rises faster than {floor:,.0f} {unit}/h beyond the healthy noise")


def _is_step(indicator: Indicator, samples: Sequence[Sample], fit: Trend) -> bool:
    """A step: one increment carries most of the growth, and without it the rest does not rise."""
    if fit.largest_jump < STEP_SHARE * fit.growth:
        return False
    points = _distinct_times(samples)
    rest = [Sample(t, v - (fit.largest_jump if i >= fit.jump_index else 0.0)) for i, (t, v) in enumerate(points)]
    without = trend(rest, indicator.noise)
    return (without.confidence < indicator.min_confidence
            or without.rate_per_hour < RATE_SHARE * indicator.leaking_rate_per_hour)


@dataclass(frozen=True)
class TagGrowth:
    """A nonpaged pool tag that grows: how fast, how big now, and its outstanding allocations."""

    tag: str
    rate_per_hour: float
    bytes: float
    allocations: float | None
    allocations_per_hour: float | None
    driver: str | None  # what the catalog knows of the tag
    kb: str | None  # the KB whose leak shows under this tag


def growing_tags(samples: Mapping[str, Sequence[Sample]], catalog: Catalog, pool: Indicator) -> list[TagGrowth]:
    """The nonpaged pool tags that rise beyond the pool's healthy noise, fastest first (at most :data:`TOP_TAGS`)."""
    known = {t.tag: (t.driver, kb.kb) for kb in catalog.kbs.values() for t in kb.pool_tags}
    grown = []
    for key, series in samples.items():
        if not key.startswith(POOL_TAG_PREFIX) or len(_distinct_times(series)) < MIN_SAMPLES:
            continue
        tag = key[len(POOL_TAG_PREFIX):]
        fit = trend(series, pool.noise)
        if fit.confidence < pool.min_confidence or fit.growth <= 0:
            continue
        allocs = _distinct_times(samples.get(POOL_ALLOCS_PREFIX + tag) or [])
        allocs_rate = ((allocs[-1][1] - allocs[0][1]) / ((allocs[-1][0] - allocs[0][0]) / _HOUR)
                       if len(allocs) > 1 else None)
        driver, kb = known.get(tag, (None, None))
        grown.append(TagGrowth(tag, fit.rate_per_hour, _distinct_times(series)[-1][1],
                               allocs[-1][1] if allocs else None, allocs_rate, driver, kb))
    return sorted(grown, key=lambda g: -g.rate_per_hour)[:TOP_TAGS]


def tag_text(tag: Mapping[str, Any]) -> str:
    """``NSpc +2,097,152 B/h (NSI proxy, KB2847346)``: a growing tag (a :class:`TagGrowth` as a dict), with its
    driver when the catalog knows it."""
    owner = ", ".join(str(x) for x in (tag.get("driver"), tag.get("kb")) if x) or "driver unknown"
    return f"{tag['tag']} {float(tag['rate_per_hour']):+,.0f} B/h ({owner})"


def analyse(facts: HostFacts, catalog: Catalog, samples: Mapping[str, Sequence[Sample]] | None = None,
            ) -> dict[str, LeakVerdict]:
    """A verdict for every catalog indicator with at least :data:`MIN_SAMPLES` samples.

    ``samples`` (default: this run's) may hold the history of earlier runs too.
    With fewer samples (a single-sample nightly audit without history) there is
    no verdict at all: "quiet" would claim what was never measured. A pool
    indicator that ``needs_growing_tag`` leaks only when a growing tag not owned
    by another KB accounts for its growth; the growing tags ride along.
    """
    series = facts.samples if samples is None else samples
    kb_of = {i.id: kb for kb in catalog.kbs.values() for i in kb.indicators}
    indicators = {i.id: i for kb in catalog.kbs.values() for i in kb.indicators}
    verdicts = {}
    for key, points in series.items():
        indicator = indicators.get(key)
        if indicator is None or len(_distinct_times(points)) < MIN_SAMPLES:
            continue
        result = verdict(indicator, points)
        if indicator.needs_growing_tag:
            tags = growing_tags(series, catalog, indicator)
            result.tags = [asdict(t) for t in tags]
            if result.leaking:
                _require_tag(result, tags, kb_of[key].kb)
        verdicts[key] = result
    return verdicts


def _require_tag(result: LeakVerdict, tags: list[TagGrowth], kb: str) -> None:
    """The pool total is not specific to one leak: keep "leaking" only when a tag consistent with ``kb`` explains it."""
    consistent = [t for t in tags if t.kb in (None, kb) and t.rate_per_hour >= TAG_SHARE * result.rate_per_hour]
    if consistent:
        result.reason += f"; growing tag: {tag_text(asdict(consistent[0]))}"
        return
    result.leaking = False
    if not tags:
        why = "no pool tag data shows which driver grows"
    else:
        why = "the growth shows under " + ", ".join(tag_text(asdict(t)) for t in tags)
    result.reason = result.reason.replace("leaking:", "quiet:", 1) + f"; the pool grows, but {why}: not {kb}'s leak"
