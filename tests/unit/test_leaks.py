"""Leak trends: Theil-Sen slope, Mann-Kendall confidence, and the verdict against catalog thresholds."""

from __future__ import annotations

import random

import pytest

from winremedy.catalog import Indicator
from winremedy.audit.facts import HostFacts, OsInfo, Sample
from winremedy.audit.leaks import analyse, trend, verdict

MB = 1024 * 1024
NSI = Indicator(id="nsi_private_bytes", what="nsi svchost private bytes", kind="service_process", target="nsi",
                metric="private_bytes", unit="bytes", leaking_rate_per_hour=2 * MB, min_confidence=0.8,
                basis="test")


def series(rate_per_hour: float, *, n: int = 12, interval: float = 300.0, noise: float = 0.0, seed: int = 1,
           base: float = 300 * MB) -> list[Sample]:
    rng = random.Random(seed)
    return [Sample(t=1.7e9 + i * interval, value=base + rate_per_hour * i * interval / 3600 + rng.gauss(0, noise))
            for i in range(n)]


def test_slope_is_in_units_per_hour():
    fit = trend(series(10 * MB))
    assert fit.rate_per_hour == pytest.approx(10 * MB)
    assert fit.confidence > 0.99
    assert fit.samples == 12


def test_one_outlier_does_not_move_the_slope():
    samples = series(4 * MB)
    samples[5] = Sample(samples[5].t, samples[5].value + 500 * MB)  # one wild reading
    assert trend(samples).rate_per_hour == pytest.approx(4 * MB, rel=0.05)


def test_pure_noise_rarely_looks_like_a_rise():
    """Mann-Kendall is calibrated: on flat noise, confidence >= 0.95 happens about 5% of the time."""
    fits = [trend(series(0, noise=2 * MB, seed=seed)) for seed in range(400)]
    false_alarms = sum(f.confidence >= 0.95 for f in fits) / len(fits)
    assert false_alarms < 0.08
    assert sum(f.confidence >= 0.5 for f in fits) / len(fits) < 0.6


def test_falling_values_are_not_a_rise():
    assert trend(series(-5 * MB)).confidence == 0.0


def test_unordered_samples_are_sorted_by_time():
    samples = series(6 * MB)
    assert trend(list(reversed(samples))).rate_per_hour == pytest.approx(6 * MB)


@pytest.mark.parametrize(
    ("rate", "noise", "leaking"),
    [(20 * MB, 0.5 * MB, True), (1 * MB, 0.0, False), (0, 1 * MB, False), (8 * MB, 0.2 * MB, True)],
)
def test_verdict_needs_rate_and_confidence(rate, noise, leaking):
    result = verdict(NSI, series(rate, noise=noise))
    assert result.leaking is leaking
    assert result.indicator == "nsi_private_bytes"
    assert ("leaking" if leaking else "quiet") in result.reason


def test_too_few_samples_never_leak():
    result = verdict(NSI, series(50 * MB, n=2))
    assert not result.leaking and "too few samples" in result.reason


def test_same_timestamps_give_no_slope():
    result = trend([Sample(1.0, 1.0), Sample(1.0, 5.0), Sample(1.0, 9.0)])
    assert result.rate_per_hour == 0.0


def test_analyse_gives_no_verdict_without_a_trend():
    from winremedy.catalog import load_catalog

    catalog = load_catalog()
    known = catalog.get("KB2847346").indicators[0].id
    facts = HostFacts(host="h", os=OsInfo("W", "6.1.7601", 1, "x64", 1), samples={known: series(100 * MB, n=1)})
    assert analyse(facts, catalog) == {}


def test_analyse_uses_catalog_indicators_only():
    from winremedy.catalog import load_catalog

    catalog = load_catalog()
    known = catalog.get("KB2847346").indicators[0].id
    facts = HostFacts(host="h", os=OsInfo("W", "6.1.7601", 1, "x64", 1),
                      samples={known: series(100 * MB), "not_an_indicator": series(100 * MB)})
    verdicts = analyse(facts, catalog)
    assert set(verdicts) == {known}
    assert verdicts[known].leaking
