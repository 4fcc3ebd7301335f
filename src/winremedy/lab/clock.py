"""Host time: one clock per lab, running ``scale`` times faster than real time.

Hours of leak growth and a 02:00 maintenance window must happen in seconds, so
every host reads time from the lab clock, never from the controller's wall
clock. Nothing ticks in the background: the model computes its state from
``now()`` whenever it is asked.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol


class Clock(Protocol):
    """What a host needs from a clock: host time, and how long host seconds take in real time."""

    scale: float

    def now(self) -> float:
        """Host time, in seconds since the epoch (UTC)."""

    def to_real(self, host_seconds: float) -> float:
        """Real seconds that ``host_seconds`` of host time take."""


class LabClock:
    """Host time starts at ``start`` and advances ``scale`` host seconds per real second."""

    def __init__(self, start: float, scale: float = 1.0, real: Callable[[], float] = time.monotonic) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        self.start = start
        self.scale = scale
        self._real = real
        self._real0 = real()

    def now(self) -> float:
        return self.start + (self._real() - self._real0) * self.scale

    def to_real(self, host_seconds: float) -> float:
        return host_seconds / self.scale


class ManualClock:
    """A clock that moves only when told to: for tests and for replaying a scenario step by step."""

    def __init__(self, start: float, scale: float = 1.0) -> None:
        self._now = start
        self.scale = scale

    def now(self) -> float:
        return self._now

    def advance(self, host_seconds: float) -> None:
        self._now += host_seconds

    def to_real(self, host_seconds: float) -> float:
        return host_seconds / self.scale
