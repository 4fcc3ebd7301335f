"""The lab's counter noise: a true random walk as a pure function of time, steps that a restart clears, cycles."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from winremedy.lab.noise import DAY, HOUR, KINDS, CounterNoise, NoiseProfile, synthetic_series

T0 = 1_709_251_200.0


def test_the_same_instant_reads_the_same_and_hosts_differ() -> None:
    profile = NoiseProfile(1.0, 0.5, daily_amplitude=2.0, steps_per_day=3.0, step_size=5.0)
    a, b = CounterNoise("h1:x", profile), CounterNoise("h1:x", profile)
    assert [a.value(T0 + k * 777.7, T0) for k in range(20)] == [b.value(T0 + k * 777.7, T0) for k in range(20)]
    assert CounterNoise("h2:x", profile).value(T0 + 5000, T0) != a.value(T0 + 5000, T0)


@pytest.mark.parametrize("lag_hours", [1.0, 6.0, 24.0])
def test_the_wander_is_a_random_walk(lag_hours: float) -> None:
    """Increments over a lag have variance wander² * lag (within sampling error), whatever the lag."""
    walk = CounterNoise("walk", NoiseProfile(2.0, 0.0))
    lag = lag_hours * HOUR
    steps = [walk.wander(T0 + k * lag + lag) - walk.wander(T0 + k * lag) for k in range(600)]
    assert statistics.pstdev(steps) == pytest.approx(2.0 * math.sqrt(lag_hours), rel=0.12)
    assert abs(statistics.fmean(steps)) < 0.15 * 2.0 * math.sqrt(lag_hours)  # no drift


def test_steps_start_over_at_the_boot_and_the_value_starts_at_zero() -> None:
    noise = CounterNoise("s", NoiseProfile(0.0, 0.0, steps_per_day=4.0, step_size=10.0))
    boot = T0 + 3 * DAY
    assert noise.value(boot, boot) == 0.0
    assert noise.steps(boot, boot + 10 * DAY) != 0.0
    assert noise.steps(T0, boot + 10 * DAY) != noise.steps(boot, boot + 10 * DAY)


def test_the_daily_cycle_repeats_each_day() -> None:
    noise = CounterNoise("d", NoiseProfile(0.0, 0.0, daily_amplitude=3.0))
    assert noise.value(T0 + 5 * HOUR + DAY, T0) == pytest.approx(noise.value(T0 + 5 * HOUR, T0))
    assert max(noise.value(T0 + h * HOUR, T0) for h in range(24)) == pytest.approx(3.0, rel=0.02)


def test_synthetic_series_have_the_promised_shape() -> None:
    rng = random.Random(5)
    for kind in KINDS:
        series = synthetic_series(kind, 1e6, NoiseProfile(1e5, 1e5), rng)
        span = (series[-1].t - series[0].t) / HOUR
        assert 4 <= len(series) <= 16 and 0.5 <= span <= 7 * 24 + 1e-6
        assert [s.t for s in series] == sorted(s.t for s in series)
    with pytest.raises(ValueError, match="unknown series kind 'sawtooth'"):
        synthetic_series("sawtooth", 1e6, NoiseProfile(1e5, 1e5), rng)
