"""Maintenance windows: parsing, bad input, crossing midnight, daylight saving time, inventory variables."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from winremedy.errors import InventoryError
from winremedy.lab.clock import ManualClock
from winremedy.lab.errors import LabError
from winremedy.lab.fleet import fleet_from_dict, generate
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.inventory import inventory
from winremedy.remediate.window import Window, parse_window, window_from_hostvars


def at(text: str, tz: str = "UTC") -> float:
    """Epoch seconds of a wall-clock time in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("Sun 02:00-04:00", {6}, 120, 240),
        ("Sat,Sun 01:00-03:00", {5, 6}, 60, 180),
        ("daily 22:00-02:00", set(range(7)), 1320, 120),
        ("Mon-Fri 22:30-23:45", {0, 1, 2, 3, 4}, 1350, 1425),
        ("Fri-Mon 00:00-24:00", {4, 5, 6, 0}, 0, 1440),
        ("  saturday , SUNDAY  3:15 - 4:00 ", {5, 6}, 195, 240),
    ],
)
def test_parse(text: str, days: set[int], start: int, end: int) -> None:
    assert parse_window(text, "Europe/Berlin") == Window(frozenset(days), start, end, "Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Sun 2-4", "expected DAYS HH:MM-HH:MM"),
        ("02:00-04:00", "expected DAYS HH:MM-HH:MM"),
        ("Sun 02:00", "expected DAYS HH:MM-HH:MM"),
        ("Sun 02:00-04:00 UTC", "expected DAYS HH:MM-HH:MM"),
        ("Funday 02:00-04:00", "'Funday' is not a day"),
        ("Sun 25:00-26:00", "'25:00' is not a time of day"),
        ("Sun 02:60-04:00", "'02:60' is not a time of day"),
        ("Sun 02:00-24:30", "'24:30' is not a time of day"),
        ("Sun 02:00-02:00", "start and end are the same time"),
        ("Mon-Wed-Fri 02:00-03:00", "more than two ends"),
        ("", "expected DAYS HH:MM-HH:MM"),
    ],
)
def test_bad_text_names_it_and_the_expected_form(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_window(text)
    message = str(caught.value)
    assert message.startswith(f"maintenance window {text!r}: ")
    assert problem in message and "e.g. 'Sun 02:00-04:00'" in message


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match=r"^time zone 'Mars/Olympus': unknown; expected an IANA name"):
        parse_window("Sun 02:00-04:00", "Mars/Olympus")


def test_contains_and_next_start_in_a_zone() -> None:
    window = parse_window("Sun 02:00-04:00", "Europe/Berlin")
    assert window.contains(at("2024-02-04T02:00", "Europe/Berlin"))
    assert window.contains(at("2024-02-04T03:59:59", "Europe/Berlin"))
    assert not window.contains(at("2024-02-04T04:00", "Europe/Berlin"))
    assert not window.contains(at("2024-02-04T01:59:59", "Europe/Berlin"))
    assert not window.contains(at("2024-02-04T03:30"))  # 03:30 UTC is 04:30 in Berlin (UTC+1): over
    assert window.contains(at("2024-02-04T01:30"))  # 01:30 UTC is 02:30 in Berlin
    assert window.next_start(at("2024-02-01T12:00")) == at("2024-02-04T02:00", "Europe/Berlin")
    assert window.next_start(at("2024-02-04T02:00", "Europe/Berlin")) == at("2024-02-04T02:00", "Europe/Berlin")
    assert window.next_start(at("2024-02-04T02:00:01", "Europe/Berlin")) == at("2024-02-11T02:00", "Europe/Berlin")
    assert window.local_iso(window.next_start(at("2024-02-01T12:00"))) == "2024-02-04T02:00:00+01:00"


def test_crossing_midnight_belongs_to_the_start_day() -> None:
    window = parse_window("Sat 22:00-02:00", "UTC")
    assert window.contains(at("2024-03-02T23:00"))  # Saturday night
    assert window.contains(at("2024-03-03T01:59"))  # Sunday morning, same occurrence
    assert not window.contains(at("2024-03-03T02:00"))
    assert not window.contains(at("2024-03-03T23:00"))  # Sunday night: not a start day
    assert not window.contains(at("2024-03-02T01:00"))  # Saturday morning: Friday's would-be occurrence
    assert window.next_start(at("2024-03-03T01:00")) == at("2024-03-09T22:00")
    daily = parse_window("daily 22:00-02:00")
    assert daily.contains(at("2024-03-05T01:00")) and not daily.contains(at("2024-03-05T03:00"))
    assert daily.next_start(at("2024-03-05T03:00")) == at("2024-03-05T22:00")


def test_daylight_saving_time_keeps_wall_clock_time() -> None:
    window = parse_window("Sun 02:00-04:00", "America/New_York")
    # Before the switch (EST, UTC-5) and after it (EDT, UTC-4): the start stays at 02:00 local time.
    assert window.next_start(at("2024-03-01T00:00")) == at("2024-03-03T07:00")
    assert window.next_start(at("2024-03-11T00:00")) == at("2024-03-17T06:00")
    # On 2024-03-10 02:00 does not exist: the window starts when the clocks jump (03:00 EDT) and lasts an hour.
    spring = window.next_start(at("2024-03-09T00:00"))
    assert spring == at("2024-03-10T07:00") and window.local_iso(spring) == "2024-03-10T03:00:00-04:00"
    assert window.contains(at("2024-03-10T07:30")) and not window.contains(at("2024-03-10T08:00"))
    # On 2024-11-03 01:00-03:00 spans 01:00 EDT to 03:00 EST: three real hours.
    autumn = parse_window("Sun 01:00-03:00", "America/New_York")
    begin = autumn.next_start(at("2024-11-02T00:00"))
    assert begin == at("2024-11-03T05:00")
    assert autumn.contains(begin + 3 * 3600 - 1) and not autumn.contains(begin + 3 * 3600)


def test_window_from_hostvars() -> None:
    assert window_from_hostvars({}, "h1") is None
    assert window_from_hostvars({"winremedy_maintenance_window": ""}, "h1") is None
    window = window_from_hostvars({"winremedy_maintenance_window": "Sun 02:00-04:00",
                                   "winremedy_maintenance_timezone": "Europe/Berlin"}, "h1")
    assert window == parse_window("Sun 02:00-04:00", "Europe/Berlin")
    assert str(window) == "Sun 02:00-04:00 Europe/Berlin"
    assert window_from_hostvars({"winremedy_maintenance_window": "daily 01:00-02:00"}, "h1") == parse_window(
        "daily 01:00-02:00", "UTC")


@pytest.mark.parametrize(
    ("hostvars", "variable"),
    [
        ({"winremedy_maintenance_window": "Sunday at two"}, "winremedy_maintenance_window"),
        ({"winremedy_maintenance_window": 42}, "winremedy_maintenance_window"),
        ({"winremedy_maintenance_window": "Sun 02:00-04:00", "winremedy_maintenance_timezone": "CEST"},
         "winremedy_maintenance_timezone"),
    ],
)
def test_bad_hostvars_name_host_and_variable(hostvars: dict[str, object], variable: str) -> None:
    with pytest.raises(InventoryError, match=rf"^web-01: variable {variable}: .*expected"):
        window_from_hostvars(hostvars, "web-01")


def test_lab_fleet_windows_reach_the_inventory_as_the_engine_reads_them() -> None:
    hosts = [{"name": "w7-0001", "os": "win7", "sp": 1, "arch": "x64", "timezone": "Europe/Berlin",
              "maintenance_window": "Sat,Sun 01:00-03:00"},
             {"name": "w7-0002", "os": "win7", "sp": 1, "arch": "x64"}]
    fleet = fleet_from_dict({"credentials": {"user": "a", "password": "p"}, "hosts": hosts}, "f.yml")
    clock = ManualClock(0.0)
    lab_hosts = [EmulatedHost(spec, clock) for spec in fleet.hosts]
    groups = inventory(lab_hosts, "http", None)["all"]["children"]["win7"]["hosts"]
    assert window_from_hostvars(groups["w7-0001"], "w7-0001") == parse_window("Sat,Sun 01:00-03:00", "Europe/Berlin")
    assert window_from_hostvars(groups["w7-0002"], "w7-0002") is None and lab_hosts[1].spec.timezone == "UTC"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timezone": "Moon/Base"}, "host 'w7-0001': key 'timezone': time zone 'Moon/Base': unknown"),
        ({"maintenance_window": "weekends"}, "host 'w7-0001': key 'maintenance_window': maintenance window 'weekends'"),
    ],
)
def test_lab_fleet_refuses_bad_window_keys(extra: dict[str, str], message: str) -> None:
    host = {"name": "w7-0001", "os": "win7", "sp": 1, "arch": "x64", **extra}
    with pytest.raises(LabError, match=f"^f.yml: {re.escape(message)}"):
        fleet_from_dict({"credentials": {"user": "a", "password": "p"}, "hosts": [host]}, "f.yml")


def test_generated_windows_leave_the_rest_of_the_fleet_alone() -> None:
    plain, with_windows = generate(40, seed=4), generate(40, seed=4, windows=True)
    for a, b in zip(plain["hosts"], with_windows["hosts"], strict=True):
        assert {k: v for k, v in b.items() if k not in ("timezone", "maintenance_window")} == a
        parse_window(b["maintenance_window"], b["timezone"])
    assert len({h["timezone"] for h in with_windows["hosts"]}) > 2
    assert fleet_from_dict(with_windows).hosts[0].maintenance_window == with_windows["hosts"][0]["maintenance_window"]
