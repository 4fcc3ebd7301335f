"""False alarms and detection of the leak verdict over synthetic series whose truth is known.

    .venv/bin/python bench/leak_statistics.py --series 2000 --seed 1

For each kind of series (``winremedy.lab.noise.synthetic_series``: flat noise,
a drift-free random walk, a single step, a daily cycle, leaks at 0.5x, 1x and
2x the threshold; 4 to 16 samples over 30 minutes to 7 days) and each catalog
indicator in turn, the share called ``leaking`` by ``winremedy.audit.leaks.verdict``
and, for comparison, by the Mann-Kendall test on levels that the audit used
before (confidence 0.95 and a rate above the threshold, 3 samples or more).
Leaks are counted over spans of 2 h or more (the minimum span refuses shorter
ones); the other kinds over every span. Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence

from winremedy.catalog import Indicator, load_catalog
from winremedy.audit.facts import Sample
from winremedy.lab.noise import HOUR, KINDS, LEAK_MULTIPLE, NoiseProfile, synthetic_series
from winremedy.audit.leaks import verdict

DETECTION_SPAN_HOURS = 2.0


def rates(series_per_kind: int, seed: int) -> dict[str, tuple[float, float]]:
    """kind -> (share called leaking by the verdict, share called leaking by the old Mann-Kendall test)."""
    indicators = [i for kb in load_catalog().kbs.values() for i in kb.indicators]
    rng = random.Random(seed)
    table = {}
    for kind in KINDS:
        called = old = counted = 0
        for n in range(series_per_kind):
            indicator = indicators[n % len(indicators)]
            samples = synthetic_series(kind, indicator.leaking_rate_per_hour,
                                       NoiseProfile(indicator.noise.wander_per_sqrt_hour, indicator.noise.jitter), rng)
            if kind in LEAK_MULTIPLE and _span_hours(samples) < DETECTION_SPAN_HOURS:
                continue
            counted += 1
            called += verdict(indicator, samples).leaking
            old += _mann_kendall_leaking(indicator, samples)
        table[kind] = (called / counted, old / counted)
    return table


def _span_hours(samples: Sequence[Sample]) -> float:
    return (samples[-1].t - samples[0].t) / HOUR


def _mann_kendall_leaking(indicator: Indicator, samples: Sequence[Sample]) -> bool:
    """The test before: Theil-Sen rate above the threshold and Mann-Kendall confidence 0.95 on the levels."""
    values = [s.value for s in samples]
    n = len(values)
    slopes = sorted((b.value - a.value) / (b.t - a.t) for i, a in enumerate(samples) for b in samples[i + 1:])
    rate = slopes[len(slopes) // 2] * HOUR
    s = sum((values[j] > values[i]) - (values[j] < values[i]) for i in range(n) for j in range(i + 1, n))
    z = (s - 1) / math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0) if s > 0 else 0.0
    return rate > indicator.leaking_rate_per_hour and 0.5 * (1 + math.erf(z / math.sqrt(2))) >= 0.95


def markdown(table: dict[str, tuple[float, float]], series_per_kind: int, seed: int) -> str:
    lines = [f"| series ({series_per_kind} per kind, seed {seed}) | called leaking | before (Mann-Kendall on levels) |",
             "|---|---|---|"]
    for kind, (called, old) in table.items():
        what = f"{kind} (spans >= {DETECTION_SPAN_HOURS:g} h)" if kind in LEAK_MULTIPLE else kind
        lines.append(f"| {what} | {called:.1%} | {old:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000, help="series per kind (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(markdown(rates(args.series, args.seed), args.series, args.seed))


if __name__ == "__main__":
    main()
