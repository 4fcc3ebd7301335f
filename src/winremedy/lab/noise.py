"""Counter noise as real hosts show it, so false alarms and misses can be measured.

Memory counters of a healthy host are not flat numbers plus independent
jitter: they wander like a random walk, jump when a process starts or stops,
and follow the day's load. This module models each of these:

* as pure functions of host time (:class:`CounterNoise`), for the lab's hosts:
  reading the same instant twice gives the same number, with no state kept;
* as synthetic series (:func:`synthetic_series`), for the statistical test and
  ``bench/leak_statistics.py``: thousands of flat, wandering, stepping, cycling
  and leaking series whose truth is known.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ..audit.facts import Sample

HOUR = 3600.0
DAY = 86400.0
_WANDER_GRID = 300.0  # host seconds between the random walk's points; linear in between
_WANDER_LEVELS = 20  # the walk is built over 2**20 grid points (about 10 years), then repeats its increments
_JITTER_HOLD = 30.0  # host seconds a jitter reading holds


@dataclass(frozen=True)
class NoiseProfile:
    """How much a healthy counter moves: wander per sqrt(hour), jitter, a daily cycle and process steps."""

    wander_per_sqrt_hour: float
    jitter: float
    daily_amplitude: float = 0.0
    steps_per_day: float = 0.0
    step_size: float = 0.0  # each step is up or down by up to this


def _unit(*key: object) -> random.Random:
    """A generator seeded by ``key``: the same key always gives the same numbers."""
    return random.Random(zlib.crc32(":".join(map(str, key)).encode()))


@functools.lru_cache(maxsize=1 << 16)
def _gauss(*key: object) -> float:
    """A standard normal number fixed by ``key`` (Box-Muller on a hash: far cheaper than seeding a generator).

    Cached: neighbouring readings of a walk share the upper levels of its construction."""
    digest = hashlib.blake2b(":".join(map(str, key)).encode(), digest_size=16).digest()
    u1 = (int.from_bytes(digest[:8], "little") + 1) / 2.0 ** 64
    u2 = int.from_bytes(digest[8:], "little") / 2.0 ** 64
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


class CounterNoise:
    """The noise of one counter of one host, as a function of host time."""

    def __init__(self, seed: str, profile: NoiseProfile) -> None:
        self.seed = seed
        self.profile = profile
        self._phase = _unit(seed, "phase").uniform(0, 2 * math.pi)

    def value(self, t: float, since: float) -> float:
        """The noise at host time ``t`` of a counter that started at ``since`` (the boot, or its process start)."""
        p = self.profile
        return (self.wander(t) - self.wander(since) + p.jitter * _gauss(self.seed, "jitter", int(t // _JITTER_HOLD))
                + p.daily_amplitude * math.sin(2 * math.pi * t / DAY + self._phase) + self.steps(since, t))

    def wander(self, t: float) -> float:
        """A random walk (Brownian motion on a grid, built top-down: Levy's construction), linear between points.

        Host time is positive (seconds since 1970), so the walk starts at 0 then."""
        k, frac = divmod(t / _WANDER_GRID, 1.0)
        return (1 - frac) * self._walk(int(k)) + frac * self._walk(int(k) + 1)

    def _walk(self, k: int) -> float:
        sigma = self.profile.wander_per_sqrt_hour * math.sqrt(_WANDER_GRID / HOUR)
        size = 1 << _WANDER_LEVELS
        block, k = divmod(k, size)
        value = sum(_gauss(self.seed, "block", b) * sigma * math.sqrt(size) for b in range(block))
        lo, hi, w_lo = 0, size, 0.0
        w_hi = _gauss(self.seed, "block", block) * sigma * math.sqrt(size)
        while hi - lo > 1 and k not in (lo, hi):
            mid = (lo + hi) // 2
            w_mid = (w_lo + w_hi) / 2 + _gauss(self.seed, "mid", block, mid) * sigma * math.sqrt(hi - lo) / 2
            lo, hi, w_lo, w_hi = (lo, mid, w_lo, w_mid) if k < mid else (mid, hi, w_mid, w_hi)
        return value + (w_lo if k == lo else w_hi)

    def steps(self, since: float, t: float) -> float:
        """Processes starting and stopping: steps at seeded times of each day between ``since`` and ``t``."""
        p = self.profile
        if p.steps_per_day <= 0 or t <= since:
            return 0.0
        total = 0.0
        for day in range(int(since // DAY), int(t // DAY) + 1):
            rng = _unit(self.seed, "steps", day)
            for _ in range(_poisson(rng, p.steps_per_day)):
                at, size = day * DAY + rng.uniform(0, DAY), rng.uniform(-p.step_size, p.step_size)
                if since < at <= t:
                    total += size
        return total


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the handful of events a day the model uses."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


# --- synthetic series for the statistical test --------------------------------------------------------

KINDS = ("flat", "random_walk", "step", "daily_cycle", "leak_0.5x", "leak_1x", "leak_2x")
LEAK_MULTIPLE = {"leak_0.5x": 0.5, "leak_1x": 1.0, "leak_2x": 2.0}
MIN_SPAN_HOURS, MAX_SPAN_HOURS = 0.5, 7 * 24.0


def synthetic_series(kind: str, threshold: float, noise: NoiseProfile, rng: random.Random) -> list[Sample]:
    """One series of ``kind``: 4 to 16 samples over 30 minutes to 7 days, noise scaled 0.25..2 of ``noise``.

    ``noise`` is the catalog's healthy-host bound; each series draws its own
    level, up to twice that bound (a host noisier than the catalog expects
    must not be called leaking either). Steps are 2 to 20 hours' worth of the threshold rate; the
    daily cycle's amplitude is 0.5 to 1.5 hours' worth, so its steepest rise
    stays under 40% of the threshold (a cycle as steep as a leak is one, over
    a span of hours: no test can tell them apart).
    """
    span = math.exp(rng.uniform(math.log(MIN_SPAN_HOURS), math.log(MAX_SPAN_HOURS))) * HOUR
    n = rng.randint(4, 16)
    gap = span / (n - 1)
    times = [0.0] + [i * gap + rng.uniform(-0.1, 0.1) * gap for i in range(1, n - 1)] + [span]
    scale = rng.uniform(0.25, 2.0)
    wander = noise.wander_per_sqrt_hour * scale if kind != "flat" else 0.0
    walk, level, last = [], 0.0, 0.0
    for t in times:
        level += rng.gauss(0, wander * math.sqrt((t - last) / HOUR))
        walk.append(level)
        last = t
    shape = _shape(kind, threshold, span, rng)
    return [Sample(1.7e9 + t, 1e8 + w + rng.gauss(0, noise.jitter * scale) + shape(t)) for t, w in zip(times, walk, strict=True)]


def _shape(kind: str, threshold: float, span: float, rng: random.Random) -> Callable[[float], float]:
    """The deterministic part of a series of ``kind``: nothing, a step, a daily cycle or a leak."""
    if kind in LEAK_MULTIPLE:
        rate = LEAK_MULTIPLE[kind] * threshold / HOUR
        return lambda t: rate * t
    if kind == "step":
        at, size = rng.uniform(0, span), rng.uniform(2, 20) * threshold
        return lambda t: size if t >= at else 0.0
    if kind == "daily_cycle":
        amplitude, phase = rng.uniform(0.5, 1.5) * threshold, rng.uniform(0, 2 * math.pi)
        return lambda t: amplitude * math.sin(2 * math.pi * t / DAY + phase)
    if kind in ("flat", "random_walk"):
        return lambda t: 0.0
    raise ValueError(f"unknown series kind {kind!r} (expected one of {', '.join(KINDS)})")
