"""Waiting for a host: how long, how often, and who hears about it, in one object.

An install task and a restart are both waited for the same way: ask the host,
stop when the answer is the one wanted, else report progress, sleep one poll
and ask again until the timeout. ``sleep`` and ``clock`` are there so tests and
the lab can run host time faster than real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

DEFAULT_TIMEOUT = 1800.0  # seconds an install or a restart may take
DEFAULT_POLL = 10.0  # seconds between two checks
T = TypeVar("T")
OnWait = Callable[[Any, float], None]  # (what the host last said, seconds waited)


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One check: ``done`` holds the result once there is one; ``said`` is what the host said meanwhile."""

    done: T | None
    said: Any = None


@dataclass(frozen=True)
class Poller:
    timeout: float = DEFAULT_TIMEOUT
    poll: float = DEFAULT_POLL
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    on_wait: OnWait | None = None

    def wait(self, check: Callable[[], Answer[T]], timed_out: Callable[[Any, float], Exception]) -> T:
        """Call ``check`` until it is done; ``timed_out(last said, seconds waited)`` is raised after the timeout."""
        started = self.clock()
        while True:
            answer = check()
            if answer.done is not None:
                return answer.done
            elapsed = self.clock() - started
            if elapsed >= self.timeout:
                raise timed_out(answer.said, elapsed)
            if self.on_wait is not None:
                self.on_wait(answer.said, elapsed)
            self.sleep(min(self.poll, self.timeout - elapsed))


DEFAULT_WAIT = Poller()  # the default of every function that waits
