"""Leak evidence: is an indicator growing now, and how sure are we?

A host that is merely old has large numbers; a leaking host has numbers that
keep rising. From K samples taken inside one call we fit a Theil-Sen slope
(the median of pairwise slopes: one outlier, such as a garbage collection or
a burst of activity, cannot drag it) and take the confidence from the
Mann-Kendall trend test (how unlikely the rise would be if the values were
only noise). An indicator is leaking when both exceed the catalog's
thresholds for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from ..catalog import Catalog, Indicator
from .facts import HostFacts, LeakVerdict, Sample

MIN_SAMPLES = 3
_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Trend:
    rate_per_hour: float  # Theil-Sen slope, indicator units per hour
    confidence: float  # 0..1: one-sided Mann-Kendall confidence that the values rise
    samples: int


def trend(samples: Sequence[Sample]) -> Trend:
    """Robust slope and rising-trend confidence of time-stamped samples (``t`` in seconds)."""
    points = sorted((s.t, s.value) for s in samples)
    n = len(points)
    slopes = [(v2 - v1) / (t2 - t1) for i, (t1, v1) in enumerate(points) for t2, v2 in points[i + 1:] if t2 > t1]
    if not slopes:
        return Trend(0.0, 0.0, n)
    return Trend(median(slopes) * _SECONDS_PER_HOUR, _mann_kendall_confidence([v for _, v in points]), n)


def _mann_kendall_confidence(values: list[float]) -> float:
    """P(rising) from the Mann-Kendall S statistic with the normal approximation and continuity correction."""
    n = len(values)
    s = sum(_sign(values[j] - values[i]) for i in range(n) for j in range(i + 1, n))
    variance = n * (n - 1) * (2 * n + 5) / 18.0
    if variance == 0 or s <= 0:
        return 0.0
    z = (s - 1) / math.sqrt(variance)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def verdict(indicator: Indicator, samples: Sequence[Sample]) -> LeakVerdict:
    """Leaking when the rise is both fast enough and sure enough, by the catalog's thresholds."""
    fit = trend(samples)
    if fit.samples < MIN_SAMPLES:
        return LeakVerdict(indicator.id, False, fit.rate_per_hour, fit.confidence, fit.samples,
                           f"too few samples ({fit.samples} < {MIN_SAMPLES}) to call a trend")
    fast = fit.rate_per_hour > indicator.leaking_rate_per_hour
    sure = fit.confidence >= indicator.min_confidence
    leaking = fast and sure
    reason = (f"{fit.rate_per_hour:,.0f} {indicator.unit}/h (threshold {indicator.leaking_rate_per_hour:,.0f}), "
              f"confidence {fit.confidence:.2f} (needs {indicator.min_confidence:.2f}) over {fit.samples} samples")
    return LeakVerdict(indicator.id, leaking, fit.rate_per_hour, round(fit.confidence, 4), fit.samples,
                       ("leaking: " if leaking else "quiet: ") + reason)


def analyse(facts: HostFacts, catalog: Catalog) -> dict[str, LeakVerdict]:
    """A verdict for every catalog indicator with enough samples to show a trend.

    With fewer than :data:`MIN_SAMPLES` (a single-sample nightly audit) there is
    no verdict at all: "quiet" would claim what was never measured.
    """
    indicators = {i.id: i for kb in catalog.kbs.values() for i in kb.indicators}
    return {key: verdict(indicators[key], samples) for key, samples in facts.samples.items()
            if key in indicators and len(samples) >= MIN_SAMPLES}
