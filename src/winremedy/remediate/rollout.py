"""Rolling batches: ``--serial N|P%`` hosts at a time, stopping when a batch fails beyond the limit.

The semantics are Ansible's, so a play and the CLI roll out alike: a
percentage is of the whole fleet, rounded down, at least one host; the
rollout stops after a batch in which more than ``max_fail_percentage`` of the
hosts failed (without a limit: only when every host of the batch failed).
The hosts of later batches are reported ``not_touched``, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import WinRemedyError
from .outcome import FAILURES, HostOutcome, HostStatus

DEFAULT_FORKS = 16  # hosts remediated at once: `winremedy remediate --forks`, kb_fleet_remediate's forks
_SERIAL = re.compile(r"^(?P<number>\d+)(?P<percent>%?)$")


def batches(hosts: Sequence[str], serial: str | None) -> list[list[str]]:
    """``hosts`` cut into batches; ``serial`` is ``N``, ``P%`` or None (one batch)."""
    if not hosts:
        return []
    if serial is None:
        return [list(hosts)]
    match = _SERIAL.match(serial.strip())
    if not match or int(match["number"]) == 0 or (match["percent"] and int(match["number"]) > 100):
        raise WinRemedyError(f"--serial: expected a positive number of hosts or a percentage 1-100%, got {serial!r}")
    size = int(match["number"])
    if match["percent"]:
        size = max(1, len(hosts) * size // 100)
    return [list(hosts[i:i + size]) for i in range(0, len(hosts), size)]


def exceeds(failed: int, size: int, max_fail_percentage: float | None) -> bool:
    if max_fail_percentage is None:
        return failed == size
    return failed * 100 > max_fail_percentage * size


@dataclass
class Rollout:
    outcomes: list[HostOutcome]
    stopped: str | None = None  # why the rollout stopped early


def roll_out(
    hosts: Sequence[str],
    run_host: Callable[[str], HostOutcome],
    *,
    serial: str | None = None,
    max_fail_percentage: float | None = None,
    forks: int = DEFAULT_FORKS,
    on_result: Callable[[HostOutcome], None] | None = None,
) -> Rollout:
    """Run ``run_host`` batch by batch (up to ``forks`` at once inside a batch)."""
    if max_fail_percentage is not None and not 0 <= max_fail_percentage <= 100:
        raise WinRemedyError(f"--max-fail-percentage: expected 0-100, got {max_fail_percentage}")
    groups = batches(hosts, serial)
    outcomes: list[HostOutcome] = []
    for number, batch in enumerate(groups, start=1):
        with ThreadPoolExecutor(max_workers=max(1, min(forks, len(batch))), thread_name_prefix="remediate") as pool:
            done = []
            for outcome in pool.map(run_host, batch):
                done.append(outcome)
                if on_result:
                    on_result(outcome)
        outcomes += done
        failed = sum(o.status in FAILURES for o in done)
        if exceeds(failed, len(batch), max_fail_percentage) and number < len(groups):
            limit = "every host" if max_fail_percentage is None else f"more than {max_fail_percentage:g}%"
            reason = (f"batch {number} of {len(groups)}: {failed} of {len(batch)} hosts failed ({limit} may fail); "
                      f"the rollout stopped")
            rest = [h for group in groups[number:] for h in group]
            untouched = [HostOutcome(h, HostStatus.NOT_TOUCHED, message=f"{h}: not touched: {reason}") for h in rest]
            for outcome in untouched:
                if on_result:
                    on_result(outcome)
            return Rollout(outcomes + untouched, reason)
    return Rollout(outcomes)
