"""Leak verdicts: drift against the healthy-noise model, and every check that can refuse a leak, with its reason."""

from __future__ import annotations

import random

import pytest

from winremedy.catalog import Catalog, Indicator, load_catalog
from winremedy.audit.facts import HostFacts, OsInfo, Sample
from winremedy.audit.leaks import POOL_ALLOCS_PREFIX, POOL_TAG_PREFIX, analyse, trend, verdict

MB = 1024 * 1024
HOUR = 3600.0


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def indicators(catalog: Catalog) -> dict[str, Indicator]:
    return {i.id: i for kb in catalog.kbs.values() for i in kb.indicators}


def series(rate_per_hour: float, *, n: int = 12, interval: float = 1200.0, noise: float = 0.0, seed: int = 1,
           base: float = 300 * MB) -> list[Sample]:
    rng = random.Random(seed)
    return [Sample(t=1.7e9 + i * interval, value=base + rate_per_hour * i * interval / HOUR + rng.gauss(0, noise))
            for i in range(n)]


def test_rate_is_growth_per_hour(indicators: dict[str, Indicator]) -> None:
    fit = trend(series(10 * MB), indicators["nsi_private_bytes"].noise)
    assert fit.rate_per_hour == pytest.approx(10 * MB)
    assert fit.span_hours == pytest.approx(11 * 1200 / HOUR)
    assert fit.confidence > 0.999 and fit.samples == 12


def test_a_steady_leak_is_leaking_with_its_numbers_in_the_reason(indicators: dict[str, Indicator]) -> None:
    result = verdict(indicators["nsi_private_bytes"], series(8 * MB, noise=0.2 * MB))
    assert result.leaking
    assert result.reason.startswith("leaking: rises faster than 1,048,576 bytes/h")
    assert "over 3.7 h and 12 samples" in result.reason


def test_four_samples_a_second_apart_are_no_verdict(indicators: dict[str, Indicator]) -> None:
    """300 bytes a second is 1 MB/h on paper; 3 seconds of data say nothing about an hour."""
    result = verdict(indicators["nonpaged_pool_total"], series(300 * HOUR, n=4, interval=1.0))
    assert not result.leaking
    assert result.reason.startswith("no verdict: span 0.00 h is below the 2 h minimum")


def test_three_samples_are_no_verdict_however_steep(indicators: dict[str, Indicator]) -> None:
    result = verdict(indicators["nonpaged_pool_total"], series(1024 * MB, n=3, interval=HOUR))
    assert not result.leaking
    assert result.reason.startswith("no verdict: too few samples (3 < 4)")


def test_one_jump_among_flat_samples_is_not_a_leak(indicators: dict[str, Indicator]) -> None:
    samples = series(0, n=8, interval=HOUR, noise=0.05 * MB)
    samples = [Sample(s.t, s.value + (20 * MB if i >= 4 else 0)) for i, s in enumerate(samples)]
    result = verdict(indicators["nonpaged_pool_total"], samples)
    assert not result.leaking
    assert result.reason.startswith("quiet:")


def test_a_step_with_a_clean_baseline_is_named_a_step(indicators: dict[str, Indicator]) -> None:
    """Noise-free: the scatter test cannot reject it; the step check does, and says so."""
    samples = [Sample(1.7e9 + i * HOUR, 100 * MB + (20 * MB if i >= 6 else 0) + i * 1000) for i in range(8)]
    result = verdict(indicators["nonpaged_pool_total"], samples)
    assert not result.leaking
    assert "a single jump of +20,972,520 bytes, not a steady rise (a step)" in result.reason


def test_growth_below_the_minimum_is_quiet(indicators: dict[str, Indicator]) -> None:
    result = verdict(indicators["nspc_pool"], series(0.4 * MB, n=5, interval=HOUR / 2, base=50_000))
    assert not result.leaking and "growth below the minimum of 1,048,576 bytes" in result.reason


def test_slow_sure_growth_below_half_the_threshold_is_quiet(indicators: dict[str, Indicator]) -> None:
    result = verdict(indicators["nsi_private_bytes"], series(0.8 * MB, n=24, interval=HOUR))
    assert not result.leaking and "slower than 1,048,576 bytes/h" in result.reason


def test_a_walk_that_zigzags_up_is_within_the_noise(indicators: dict[str, Indicator]) -> None:
    """Fast enough and no single jump, but the increments scatter far beyond a healthy host's: not sure enough."""
    walk = [0, 5, 2, 7, 4, 9, 6, 11, 8, 13]
    result = verdict(indicators["nsi_private_bytes"], [Sample(1.7e9 + i * HOUR, 300 * MB + v * MB)
                                                       for i, v in enumerate(walk)])
    assert not result.leaking and "within the healthy noise" in result.reason
    assert 0.5 < result.confidence < 0.99


def test_falling_values_are_quiet(indicators: dict[str, Indicator]) -> None:
    result = verdict(indicators["nsi_private_bytes"], series(-5 * MB))
    assert not result.leaking and result.confidence < 0.01


def test_unordered_and_repeated_instants(indicators: dict[str, Indicator]) -> None:
    samples = series(6 * MB)
    assert trend(list(reversed(samples)) + samples[:2], indicators["nsi_private_bytes"].noise).samples == 12


def _facts(samples: dict[str, list[Sample]]) -> HostFacts:
    return HostFacts(host="h", os=OsInfo("W", "6.1.7601", 1, "x64", 1), samples=samples)


def test_analyse_gives_no_verdict_without_four_samples(catalog: Catalog) -> None:
    assert analyse(_facts({"nsi_private_bytes": series(100 * MB, n=3)}), catalog) == {}


def test_analyse_uses_catalog_indicators_only(catalog: Catalog) -> None:
    verdicts = analyse(_facts({"nsi_private_bytes": series(100 * MB), "not_an_indicator": series(100 * MB)}), catalog)
    assert set(verdicts) == {"nsi_private_bytes"} and verdicts["nsi_private_bytes"].leaking


def test_analyse_takes_history_in_place_of_this_runs_samples(catalog: Catalog) -> None:
    history = {"nsi_private_bytes": series(8 * MB, n=5, interval=6 * HOUR)}
    verdicts = analyse(_facts({"nsi_private_bytes": history["nsi_private_bytes"][-1:]}), catalog, history)
    assert verdicts["nsi_private_bytes"].leaking


def _pool(rate: float, tags: dict[str, float]) -> dict[str, list[Sample]]:
    samples = {"nonpaged_pool_total": series(rate, n=6, interval=HOUR, base=80 * MB)}
    for tag, tag_rate in tags.items():
        samples[POOL_TAG_PREFIX + tag] = series(tag_rate, n=6, interval=HOUR, base=2 * MB)
        samples[POOL_ALLOCS_PREFIX + tag] = series(tag_rate / 256, n=6, interval=HOUR, base=8000)
    return samples


def test_the_pool_total_alone_is_not_the_wfp_leak(catalog: Catalog) -> None:
    result = analyse(_facts(_pool(10 * MB, {})), catalog)["nonpaged_pool_total"]
    assert not result.leaking
    assert "the pool grows, but no pool tag data shows which driver grows: not KB979223's leak" in result.reason


def test_a_pool_growing_under_another_kbs_tag_is_not_the_wfp_leak(catalog: Catalog) -> None:
    result = analyse(_facts(_pool(10 * MB, {"NSpc": 9 * MB, "File": 0})), catalog)["nonpaged_pool_total"]
    assert not result.leaking
    assert "the growth shows under NSpc +9,437,184 B/h (NSI (Network Store Interface) proxy, KB2847346)" in result.reason
    assert [t["tag"] for t in result.tags] == ["NSpc"]


def test_a_growing_tag_of_unknown_or_own_driver_keeps_the_verdict(catalog: Catalog) -> None:
    result = analyse(_facts(_pool(10 * MB, {"Nbuf": 9 * MB, "Fltr": 1.5 * MB})), catalog)["nonpaged_pool_total"]
    assert result.leaking
    assert "growing tag: Nbuf +9,437,184 B/h (netio.sys (NET_BUFFER_LIST allocations), KB979223)" in result.reason
    top = result.tags[0]
    assert (top["tag"], top["allocations_per_hour"]) == ("Nbuf", pytest.approx(9 * MB / 256))
    assert [t["tag"] for t in result.tags] == ["Nbuf", "Fltr"]
