"""Injected faults, per host, from the fleet file.

``slow`` is in **real** seconds added to every command: it models a slow
network or an overloaded WinRM service, which does not speed up with the
lab's time scale. ``reset`` and ``http500`` act on WS-Management requests and
are counted per host, so a given fleet and seed fault the same requests every
run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .api import WireFault


@dataclass(frozen=True)
class FaultSpec:
    unreachable: bool = False  # never up: the port refuses to answer
    slow: float = 0.0  # real seconds added to every command
    reset_probability: float = 0.0  # chance that a Receive is answered by dropping the connection
    reset_count: int = 0  # the first N Receive requests are dropped
    http500_burst: int = 0  # N consecutive requests get a 500 fault ...
    http500_after: int = 0  # ... after this many requests went through
    bad_auth: bool = False  # no credentials are ever accepted
    no_return: bool = False  # after a reboot the host never comes back
    garbled: bool = False  # the project's scripts answer with truncated, non-UTF-8 output
    wmic_first_run_fails: bool = False  # wmic's first run prints its banner and fails (later runs answer)

    @property
    def any(self) -> bool:
        return self != FaultSpec()


class FaultInjector:
    """Decides, request by request, whether a wire fault is due."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(seed)
        self._requests = 0
        self._receives = 0

    def next_fault(self, action: str) -> WireFault | None:
        spec = self.spec
        self._requests += 1
        if spec.http500_after < self._requests <= spec.http500_after + spec.http500_burst:
            return WireFault.HTTP_500
        if action.rsplit("/", 1)[-1] != "Receive":
            return None
        self._receives += 1
        if self._receives <= spec.reset_count:
            return WireFault.RESET
        if spec.reset_probability and self._rng.random() < spec.reset_probability:
            return WireFault.RESET
        return None
