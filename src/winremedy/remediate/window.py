"""Maintenance windows: wall-clock time ranges in a host's time zone.

A window is written ``DAYS HH:MM-HH:MM`` (``Sun 02:00-04:00``,
``Sat,Sun 01:00-03:00``, ``Mon-Fri 22:00-02:00``, ``daily 22:00-02:00``).
DAYS name the day a window *starts*; an end at or before the start means the
window runs past midnight into the next day. Times are wall-clock times in an
IANA zone (``zoneinfo``), so a window follows daylight saving time: on the
night clocks spring forward a ``02:00-04:00`` window begins at 03:00 (the
instant 02:00 standard time would have been) and lasts one hour; when they
fall back, ``01:00-03:00`` lasts three.

The engine always asks with the *host's* clock (``reboot.host_clock``): the
controller's clock may be wrong or elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InventoryError

WINDOW_VARIABLE = "winremedy_maintenance_window"
TIMEZONE_VARIABLE = "winremedy_maintenance_timezone"
EXPECTED = ("expected DAYS HH:MM-HH:MM in 24-hour time, e.g. 'Sun 02:00-04:00', 'Sat,Sun 01:00-03:00', "
            "'Mon-Fri 22:00-02:00' or 'daily 22:00-02:00'")

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAYS = {name.lower(): index for index, name in enumerate(DAY_NAMES)} | {
    full: index for index, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
_EVERY_DAY = ("daily", "everyday", "*")
_WINDOW_RE = re.compile(r"^\s*(?P<days>\S(?:.*\S)?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """Days a window starts on (0 = Monday), its start and end as minutes after midnight, and its zone."""

    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight; <= start: the window ends the next day
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def contains(self, t_utc: float) -> bool:
        """Whether the instant ``t_utc`` (epoch seconds) falls inside an occurrence of the window."""
        local = datetime.fromtimestamp(t_utc, self.zone).date()
        return any(begin <= t_utc < end for begin, end in self._occurrences(local - timedelta(days=1), 2))

    def next_start(self, t_utc: float) -> float:
        """The first start of the window at or after ``t_utc`` (epoch seconds)."""
        local = datetime.fromtimestamp(t_utc, self.zone).date()
        return min(begin for begin, _ in self._occurrences(local, 9) if begin >= t_utc)

    def local_iso(self, t_utc: float) -> str:
        """``t_utc`` as ISO 8601 wall-clock time of the window's zone, with its offset."""
        return datetime.fromtimestamp(t_utc, self.zone).isoformat()

    def __str__(self) -> str:
        days = "daily" if len(self.days) == 7 else ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {_hhmm(self.start)}-{_hhmm(self.end)} {self.tz}"

    def _occurrences(self, first: date, count: int) -> list[tuple[float, float]]:
        """(start, end) epoch seconds of the occurrences starting on ``count`` local days from ``first``."""
        spans = []
        for offset in range(count):
            day = first + timedelta(days=offset)
            if day.weekday() in self.days:
                end_day = day if self.end > self.start else day + timedelta(days=1)
                spans.append((self._instant(day, self.start), self._instant(end_day, self.end)))
        return spans

    def _instant(self, day: date, minutes: int) -> float:
        """Wall-clock ``minutes`` on ``day`` in the zone; a time skipped by DST maps past the gap (fold=0)."""
        return (datetime.combine(day, time(), self.zone) + timedelta(minutes=minutes)).timestamp()


def parse_window(text: str, tz: str = "UTC") -> Window:
    """A :class:`Window` from ``text`` in zone ``tz``; bad input is a ValueError naming it and the expected form."""
    if not isinstance(text, str):
        raise ValueError(f"maintenance window {text!r}: not text; {EXPECTED}")
    match = _WINDOW_RE.match(text)
    if not match:
        raise ValueError(f"maintenance window {text!r}: {EXPECTED}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"time zone {tz!r}: unknown; expected an IANA name such as 'Europe/Berlin' or 'UTC'") from None
    days = _days(text, match["days"])
    start, end = _minutes(text, match["start"], 23), _minutes(text, match["end"], 24)
    if start == end:
        raise ValueError(f"maintenance window {text!r}: start and end are the same time; {EXPECTED}")
    return Window(days, start, end, tz)


def window_from_hostvars(hostvars: Mapping[str, Any], host: str) -> Window | None:
    """The host's window from its inventory variables, None when it has none; a bad value names host and variable."""
    text = hostvars.get(WINDOW_VARIABLE)
    if text is None or text == "":
        return None
    tz = hostvars.get(TIMEZONE_VARIABLE) or "UTC"
    try:
        return parse_window(str(text), str(tz))
    except ValueError as exc:
        variable = TIMEZONE_VARIABLE if str(exc).startswith("time zone") else WINDOW_VARIABLE
        raise InventoryError(f"{host}: variable {variable}: {exc}") from None


def _days(text: str, spec: str) -> frozenset[int]:
    if spec.lower() in _EVERY_DAY:
        return frozenset(range(7))
    days: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        bounds = [_day(text, b.strip()) for b in part.split("-")]
        if len(bounds) == 1:
            days.add(bounds[0])
        elif len(bounds) == 2:
            first, last = bounds
            days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise ValueError(f"maintenance window {text!r}: day range {part!r} has more than two ends; {EXPECTED}")
    return frozenset(days)


def _day(text: str, name: str) -> int:
    index = _DAYS.get(name.lower())
    if index is None:
        raise ValueError(f"maintenance window {text!r}: {name!r} is not a day (Mon..Sun or daily); {EXPECTED}")
    return index


def _minutes(text: str, hhmm: str, max_hour: int) -> int:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if hours > max_hour or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"maintenance window {text!r}: {hhmm!r} is not a time of day; {EXPECTED}")
    return hours * 60 + minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
