"""Rolling batches behave as Ansible's serial and max_fail_percentage, and say which hosts were not touched."""

from __future__ import annotations

import pytest

from winremedy.errors import WinRemedyError
from winremedy.remediate.outcome import HostOutcome, HostStatus
from winremedy.remediate.rollout import batches, roll_out

HOSTS = [f"h{i:02d}" for i in range(10)]


def test_serial_as_count_percentage_or_one_batch() -> None:
    assert [len(b) for b in batches(HOSTS, "3")] == [3, 3, 3, 1]
    assert [len(b) for b in batches(HOSTS, "25%")] == [2, 2, 2, 2, 2]  # 25% of 10 rounds down to 2
    assert [len(b) for b in batches(HOSTS[:3], "10%")] == [1, 1, 1]  # never less than one host
    assert batches(HOSTS, None) == [HOSTS]
    assert sum(batches(HOSTS, "4"), []) == HOSTS  # order kept, nobody lost


@pytest.mark.parametrize("serial", ["0", "-1", "abc", "150%", "0%"])
def test_bad_serial_is_refused_with_the_value(serial: str) -> None:
    with pytest.raises(WinRemedyError, match="--serial"):
        batches(HOSTS, serial)


def _runner(failing: set[str], seen: list[str]):  # type: ignore[no-untyped-def]
    def run(host: str) -> HostOutcome:
        seen.append(host)
        return HostOutcome(host, HostStatus.FAILED if host in failing else HostStatus.FIXED)
    return run


def test_rollout_stops_after_a_batch_beyond_the_limit_and_lists_the_untouched() -> None:
    seen: list[str] = []
    rollout = roll_out(HOSTS, _runner({"h03", "h04"}, seen), serial="3", max_fail_percentage=30)
    assert sorted(seen) == HOSTS[:6]  # batch 2 (h03-h05) failed 2 of 3 > 30%
    assert rollout.stopped is not None and "batch 2 of 4" in rollout.stopped
    untouched = [o for o in rollout.outcomes if o.status is HostStatus.NOT_TOUCHED]
    assert [o.host for o in untouched] == HOSTS[6:]
    assert all("not touched" in o.message for o in untouched)


def test_failures_within_the_limit_do_not_stop_the_rollout() -> None:
    seen: list[str] = []
    rollout = roll_out(HOSTS, _runner({"h00"}, seen), serial="5", max_fail_percentage=20)
    assert rollout.stopped is None and sorted(seen) == HOSTS  # 1 of 5 is 20%, not more


def test_without_a_limit_only_a_wholly_failed_batch_stops() -> None:
    seen: list[str] = []
    assert roll_out(HOSTS, _runner({"h00", "h01"}, seen), serial="3").stopped is None
    seen.clear()
    rollout = roll_out(HOSTS, _runner({"h00", "h01", "h02"}, seen), serial="3")
    assert rollout.stopped is not None and sorted(seen) == ["h00", "h01", "h02"]


def test_a_failed_last_batch_leaves_nothing_untouched() -> None:
    rollout = roll_out(HOSTS[:2], _runner({"h01"}, []), serial="1", max_fail_percentage=0)
    assert rollout.stopped is None and [o.status for o in rollout.outcomes] == [HostStatus.FIXED, HostStatus.FAILED]


def test_limit_out_of_range_is_refused() -> None:
    with pytest.raises(WinRemedyError, match="--max-fail-percentage"):
        roll_out(HOSTS, _runner(set(), []), max_fail_percentage=150)
