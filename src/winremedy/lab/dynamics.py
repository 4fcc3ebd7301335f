"""Leak dynamics: the indicators the audit samples, as pure functions of host time.

Nothing ticks: ``value(t) = base + rate * (t - epoch) + noise(t)``, where the
epoch is the start of the leaking process (the boot, or an LCS restart), so a
reboot resets the leak and reading the same instant twice gives the same
number. Noise (:mod:`.noise`: random-walk wander, jitter, a daily cycle, steps
when processes start) is deterministic per host seed, so a lab replays
identically. Once the right fix is loaded (after the reboot, or LCS restart,
that applies it) the growth term is gone and the indicator only wanders.

The nonpaged pool is also read tag by tag (the poolmon view): a few busy tags
of every host, NSpc where NSI runs, and the tag a leak allocates under, so the
audit can name the driver behind a growing pool. The ``driver`` scenario is a
leak no KB fixes, in a third-party driver, under a tag of the lab's choosing.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from .noise import CounterNoise, NoiseProfile

MB = 1024 * 1024


class Scenario(str, enum.Enum):
    NONE = "none"
    NSI = "nsi"  # KB2847346: monitoring churn leaks in the svchost hosting nsi, and pool tag NSpc
    WFP = "wfp"  # KB979223: a WFP callout driver leaks NBLs into the nonpaged pool
    LCS = "lcs"  # KB903927: SChannel leaks inside RTCSrv.exe
    DRIVER = "driver"  # another cause: a third-party driver leaks nonpaged pool under its own tag; no KB fixes it


# Indicator ids, as the catalog names them and the facts' ``samples`` mapping keys them.
NSI_PRIVATE_BYTES = "nsi_private_bytes"
POOL_NSPC = "nspc_pool"
NONPAGED_POOL = "nonpaged_pool_total"
RTCSRV_PRIVATE_BYTES = "rtcsrv_private_bytes"

FIXED_BY: dict[Scenario, str] = {Scenario.NSI: "KB2847346", Scenario.WFP: "KB979223", Scenario.LCS: "KB903927"}
DEFAULT_RATE_MB_PER_HOUR: dict[Scenario, float] = {Scenario.NSI: 8.0, Scenario.WFP: 5.0, Scenario.LCS: 6.0,
                                                   Scenario.DRIVER: 5.0}
# The pool tag a leak allocates under, unless the fleet names one (the NSI leak's NSpc is an indicator of its own).
DEFAULT_TAG: dict[Scenario, str] = {Scenario.WFP: "Nbuf", Scenario.DRIVER: "Fltr"}

# Share of the scenario's rate that each indicator grows by: NSpc is nonpaged, so it shows in the total too.
_GROWTH: dict[Scenario, dict[str, float]] = {
    Scenario.NONE: {},
    Scenario.NSI: {NSI_PRIVATE_BYTES: 1.0, POOL_NSPC: 0.25, NONPAGED_POOL: 0.25},
    Scenario.WFP: {NONPAGED_POOL: 1.0},
    Scenario.LCS: {RTCSRV_PRIVATE_BYTES: 1.0},
    Scenario.DRIVER: {NONPAGED_POOL: 1.0},
}

# How each counter moves on a healthy host: within the catalog's noise bounds, so a quiet host stays quiet.
_NOISE: dict[str, NoiseProfile] = {
    NSI_PRIVATE_BYTES: NoiseProfile(0.2 * MB, 0.15 * MB, daily_amplitude=0.5 * MB, steps_per_day=0.5, step_size=MB),
    POOL_NSPC: NoiseProfile(24 * 1024, 12 * 1024, daily_amplitude=8 * 1024),
    NONPAGED_POOL: NoiseProfile(0.5 * MB, 0.3 * MB, daily_amplitude=2 * MB, steps_per_day=1.0, step_size=4 * MB),
    RTCSRV_PRIVATE_BYTES: NoiseProfile(0.4 * MB, 0.3 * MB, daily_amplitude=2 * MB, steps_per_day=0.5,
                                       step_size=4 * MB),
}
_TAG_NOISE = NoiseProfile(16 * 1024, 8 * 1024, daily_amplitude=64 * 1024)
# Busy nonpaged tags of any Windows host (names from the public pooltag list), and their size range in MB.
_BUSY_TAGS: dict[str, tuple[float, float]] = {"File": (2, 6), "Irp ": (1, 3), "MmCa": (2, 8), "Thre": (1, 4),
                                              "Even": (0.5, 2), "Ntfx": (1, 5), "TcpE": (0.5, 2)}
_LEAK_TAG_BASE = 64 * 1024  # bytes a leak's tag holds at the start of its epoch
_BYTES_PER_ALLOCATION = 256  # the leaked allocations' size, for the outstanding-allocations count


@dataclass(frozen=True)
class LeakSpec:
    """A host's leak scenario and its rate (MB per hour of host time)."""

    scenario: Scenario = Scenario.NONE
    rate_mb_per_hour: float = 0.0
    tag: str | None = None  # the nonpaged pool tag the leak allocates under

    @classmethod
    def of(cls, scenario: Scenario, rate_mb_per_hour: float | None = None, tag: str | None = None) -> LeakSpec:
        if scenario is Scenario.NONE:
            return cls()
        rate = DEFAULT_RATE_MB_PER_HOUR[scenario] if rate_mb_per_hour is None else rate_mb_per_hour
        return cls(scenario, rate, tag or DEFAULT_TAG.get(scenario))

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
        pool_base = rng.uniform(18, 40) if legacy_kernel else rng.uniform(60, 140)
        bases = {
            NSI_PRIVATE_BYTES: rng.uniform(5.5, 9.0) * MB,
            POOL_NSPC: rng.uniform(16, 64) * 1024,
            NONPAGED_POOL: pool_base * MB,
            RTCSRV_PRIVATE_BYTES: rng.uniform(45, 90) * MB,
        }
        self._base = {name: bases[name] for name in names}
        self._noise = {name: CounterNoise(f"{seed}:{name}", _NOISE[name]) for name in names}
        self._tags = {tag: (rng.uniform(*size) * MB, CounterNoise(f"{seed}:tag:{tag}", _TAG_NOISE))
                      for tag, size in _BUSY_TAGS.items()}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._base)

    def value(self, name: str, t: float, epoch: LeakEpoch) -> float:
        """The indicator ``name`` at host time ``t``, in bytes."""
        base = self._base[name]
        growth = self._growth(_GROWTH[self.leak.scenario].get(name, 0.0), t, epoch)
        return round(max(base / 4, base + growth + self._noise[name].value(t, epoch.start)))

    def pool_tags(self, t: float, epoch: LeakEpoch) -> dict[str, tuple[int, int]]:
        """The nonpaged pool tag table at ``t``: tag -> (bytes, outstanding allocations)."""
        table = {tag: (round(base + noise.value(t, epoch.start)), 0) for tag, (base, noise) in self._tags.items()}
        if POOL_NSPC in self._base:
            table["NSpc"] = (round(self.value(POOL_NSPC, t, epoch)), 0)
        if self.leak.tag:
            share = _GROWTH[self.leak.scenario].get(NONPAGED_POOL, 0.0)
            table[self.leak.tag] = (round(_LEAK_TAG_BASE + self._growth(share, t, epoch)), 0)
        return {tag: (size, max(1, size // _BYTES_PER_ALLOCATION)) for tag, (size, _) in table.items()}

    def _growth(self, share: float, t: float, epoch: LeakEpoch) -> float:
        if epoch.fixed or not share:
            return 0.0
        return share * self.leak.rate_mb_per_hour * MB * max(0.0, t - epoch.start) / 3600.0
