"""The leak verdict over thousands of seeded synthetic series: false alarms and detection, per kind.

The series and the rates come from ``bench/leak_statistics.py`` (which prints
the README's table): flat noise, drift-free random walks, single steps, daily
cycles and leaks at 0.5x, 1x and 2x the threshold, over 30 minutes to 7 days.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "leak_statistics.py"
SERIES_PER_KIND = 2000


@pytest.fixture(scope="module")
def rates() -> dict[str, tuple[float, float]]:
    spec = importlib.util.spec_from_file_location("leak_statistics", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table: dict[str, tuple[float, float]] = module.rates(SERIES_PER_KIND, seed=1)
    return table


@pytest.mark.parametrize("kind", ["flat", "random_walk", "step", "daily_cycle"])
def test_false_alarms_stay_under_one_percent(rates: dict[str, tuple[float, float]], kind: str) -> None:
    assert rates[kind][0] <= 0.01


@pytest.mark.parametrize("kind", ["leak_1x", "leak_2x"])
def test_leaks_at_or_above_the_threshold_are_caught(rates: dict[str, tuple[float, float]], kind: str) -> None:
    assert rates[kind][0] >= 0.95


def test_the_old_test_called_steps_leaks(rates: dict[str, tuple[float, float]]) -> None:
    """The comparison column measures something: Mann-Kendall on levels calls a single step a leak."""
    assert rates["step"][1] > 0.05
    assert rates["leak_1x"][1] < 0.9  # and a rate compared with the threshold itself misses half the leaks at it
