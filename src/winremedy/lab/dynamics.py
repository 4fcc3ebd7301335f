"""Leak dynamics: the indicators the audit samples, as pure functions of host time.

Nothing ticks: ``value(t) = base + rate * (t - epoch) + noise(t)``, where the
epoch is the start of the leaking process (the boot, or an LCS restart), so a
reboot resets the leak and reading the same instant twice gives the same
number. Noise is deterministic per host seed, so a lab replays identically.
Once the right fix is loaded (after the reboot, or LCS restart, that applies
it) the growth term is gone and the indicator stays flat.
"""

from __future__ import annotations

import enum
import math
import random
import zlib
from dataclasses import dataclass

MB = 1024 * 1024


class Scenario(str, enum.Enum):
    NONE = "none"
    NSI = "nsi"  # KB2847346: monitoring churn leaks in the svchost hosting nsi, and pool tag NSpc
    WFP = "wfp"  # KB979223: a WFP callout driver leaks NBLs into the nonpaged pool
    LCS = "lcs"  # KB903927: SChannel leaks inside RTCSrv.exe


# Indicator ids, as the catalog names them and the facts' ``samples`` mapping keys them.
NSI_PRIVATE_BYTES = "nsi_private_bytes"
POOL_NSPC = "nspc_pool"
NONPAGED_POOL = "nonpaged_pool_total"
RTCSRV_PRIVATE_BYTES = "rtcsrv_private_bytes"

FIXED_BY: dict[Scenario, str] = {Scenario.NSI: "KB2847346", Scenario.WFP: "KB979223", Scenario.LCS: "KB903927"}
DEFAULT_RATE_MB_PER_HOUR: dict[Scenario, float] = {Scenario.NSI: 8.0, Scenario.WFP: 5.0, Scenario.LCS: 6.0}

# Share of the scenario's rate that each indicator grows by: NSpc is nonpaged, so it shows in the total too.
_GROWTH: dict[Scenario, dict[str, float]] = {
    Scenario.NONE: {},
    Scenario.NSI: {NSI_PRIVATE_BYTES: 1.0, POOL_NSPC: 0.25, NONPAGED_POOL: 0.25},
    Scenario.WFP: {NONPAGED_POOL: 1.0},
    Scenario.LCS: {RTCSRV_PRIVATE_BYTES: 1.0},
}

_NOISE_PERIOD = 1800.0  # host seconds: a slow wobble, like a working set breathing
_JITTER_STEP = 30.0  # host seconds: fresh jitter every step, constant within it


@dataclass(frozen=True)
class LeakSpec:
    """A host's leak scenario and its rate (MB per hour of host time)."""

    scenario: Scenario = Scenario.NONE
    rate_mb_per_hour: float = 0.0

    @classmethod
    def of(cls, scenario: Scenario, rate_mb_per_hour: float | None = None) -> LeakSpec:
        if scenario is Scenario.NONE:
            return cls()
        rate = DEFAULT_RATE_MB_PER_HOUR[scenario] if rate_mb_per_hour is None else rate_mb_per_hour
        return cls(scenario, rate)

    @property
    def fixed_by(self) -> str | None:
        return FIXED_BY.get(self.scenario)


@dataclass(frozen=True)
class LeakEpoch:
    """Since when the leaking process has run, and whether it runs the fixed code."""

    start: float
    fixed: bool


class Indicators:
    """The leak indicators of one host; which exist depends on its OS and products."""

    def __init__(self, seed: int, leak: LeakSpec, names: tuple[str, ...], legacy_kernel: bool) -> None:
        rng = random.Random(seed)
        self.leak = leak
        self._seed = seed
        pool_base = rng.uniform(18, 40) if legacy_kernel else rng.uniform(60, 140)
        bases = {
            NSI_PRIVATE_BYTES: (rng.uniform(5.5, 9.0) * MB, 0.005),
            POOL_NSPC: (rng.uniform(16, 64) * 1024, 0.02),
            NONPAGED_POOL: (pool_base * MB, 0.01),
            RTCSRV_PRIVATE_BYTES: (rng.uniform(45, 90) * MB, 0.005),
        }
        self._base = {name: bases[name] for name in names}
        self._phase = rng.uniform(0, 2 * math.pi)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._base)

    def value(self, name: str, t: float, epoch: LeakEpoch) -> float:
        """The indicator ``name`` at host time ``t``, in bytes."""
        base, noise_share = self._base[name]
        growth = 0.0
        if not epoch.fixed:
            share = _GROWTH[self.leak.scenario].get(name, 0.0)
            growth = share * self.leak.rate_mb_per_hour * MB * max(0.0, t - epoch.start) / 3600.0
        return round(base + growth + base * noise_share * self._noise(name, t))

    def _noise(self, name: str, t: float) -> float:
        """A deterministic value in [-1, 1]: a slow wave plus per-step jitter."""
        wave = math.sin(2 * math.pi * t / _NOISE_PERIOD + self._phase)
        step = int(t // _JITTER_STEP)
        jitter = random.Random(zlib.crc32(f"{self._seed}:{name}:{step}".encode())).uniform(-1, 1)
        return 0.6 * wave + 0.4 * jitter
