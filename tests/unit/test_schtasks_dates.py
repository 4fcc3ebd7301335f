"""schtasks /sd and /st on Windows 2003: written in the account's date order, read by the lab in that order.

The old task.ps1 wrote /sd in the order of the .NET culture's short-date pattern; on a German host whose
PowerShell culture is not the account's locale that is month first, and the restart of a maintenance window
is refused or lands on another day. :func:`culture_date` is that rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from winremedy.errors import RemediationError
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.remediate import schtasks
from winremedy.remediate.reboot import REBOOT_TASK, reboot_host
from winremedy.remediate.window import parse_window

BERLIN = ZoneInfo("Europe/Berlin")


def culture_date(when: datetime, _i_date: object) -> str:
    """The old rule: the .NET culture's order (en-US, M/d/yyyy) joined by "/", whatever the account's locale."""
    return f"{when:%m/%d/%Y}"


def lab_2003(start: str, locale: str = "de-DE") -> tuple[ManualClock, EmulatedHost, LocalTransport]:
    clock = ManualClock(datetime.fromisoformat(start).timestamp())
    spec = HostSpec(name="h2003", profile=OsProfile("win2003", 2, "x86"), user="a", password="p", seed=5,
                    locale=locale, timezone="Europe/Berlin")
    host = EmulatedHost(spec, clock, reboot_downtime=90)
    return clock, host, LocalTransport(host)


@pytest.mark.parametrize(("i_date", "expected", "pattern"), [
    ("0", "12/31/2030", "mm/dd/yyyy"), ("1", "31/12/2030", "dd/mm/yyyy"), (2, "2030/12/31", "yyyy/mm/dd")])
def test_start_date_follows_idate_with_slashes(i_date: object, expected: str, pattern: str) -> None:
    when = datetime(2030, 12, 31, 23, 5, 9)
    assert schtasks.start_date(when, i_date) == expected and schtasks.date_pattern(i_date) == pattern
    assert schtasks.start_time(when) == "23:05:09"


@pytest.mark.parametrize("i_date", [None, "3", "", "dd.MM.yyyy"])
def test_an_unknown_date_order_is_named(i_date: object) -> None:
    with pytest.raises(ValueError, match=r"HKCU\\Control Panel\\International iDate is .*, not 0, 1 or 2"):
        schtasks.start_date(datetime(2030, 1, 2), i_date)


@pytest.mark.parametrize(("sd", "st", "starts"), [
    ("31/12/2030", "10:00:00", "2030-12-31T10:00:00"),
    ("05/12/2030", "10:00:00", "2030-12-05T10:00:00"),  # day first: 5 December, never 12 May
    (None, "23:30:00", "2026-12-04T23:30:00"),  # no /sd: today on the host's clock
    ("12/31/2030", "10:00:00", 'ERROR: Invalid Start Date (Date should be in "dd/mm/yyyy" format).'),
    ("31.12.2030", "10:00:00", 'ERROR: Invalid Start Date (Date should be in "dd/mm/yyyy" format).'),
    ("30/02/2030", "10:00:00", 'ERROR: Invalid Start Date (Date should be in "dd/mm/yyyy" format).'),
    ("31/12/2030", "10:00", 'ERROR: Invalid Start Time (Time should be in "HH:MM:SS" format).'),
    ("31/12/2030", None, 'ERROR: Invalid Start Time (Time should be in "HH:MM:SS" format).'),
])
def test_the_labs_schtasks_reads_sd_in_the_accounts_order_on_the_hosts_clock(sd: str | None, st: str | None,
                                                                             starts: str) -> None:
    _, host, transport = lab_2003("2026-12-04T12:00:00+00:00")
    line = "schtasks /create /tn t /tr C:\\t.cmd /ru SYSTEM /sc once" + (f" /st {st}" if st else "") + \
        (f" /sd {sd}" if sd else "")
    said = transport.run_cmd(line)
    if starts.startswith("ERROR"):
        assert (said.rc, said.stderr.decode().strip()) == (1, starts) and "t" not in host.tasks
    else:
        assert said.rc == 0
        assert host.tasks["t"].next_at == datetime.fromisoformat(starts).replace(tzinfo=BERLIN).timestamp()


def _restart_in(window: str, start: str, monkeypatch: pytest.MonkeyPatch, old: bool) -> tuple[Any, EmulatedHost, Any]:
    if old:
        monkeypatch.setattr(schtasks, "start_date", culture_date)
    clock, host, transport = lab_2003(start)
    return clock, host, reboot_host(transport, "window", window=parse_window(window, "Europe/Berlin"))


@pytest.mark.parametrize("old", [False, True])
def test_a_window_restart_on_a_german_2003_host_happens_on_the_windows_day(monkeypatch: pytest.MonkeyPatch,
                                                                           old: bool) -> None:
    # Friday 1 March 2024; the window opens Wednesday 6 March 02:00 Berlin. Month first, "03/06/2024" reads
    # as 3 June on a day-first host: the restart would come three months late.
    clock, host, result = _restart_in("Wed 02:00-04:00", "2024-03-01T00:00:00+00:00", monkeypatch, old)
    opens = datetime(2024, 3, 6, 2, 0, tzinfo=BERLIN).timestamp()
    assert result.action == "scheduled" and result.scheduled_at == opens
    clock.advance(opens - clock.now() + 60)
    assert host.is_up() is old and host.counters.reboots == (0 if old else 1)  # settled: down while restarting
    if old:
        assert host.tasks[REBOOT_TASK].next_at == datetime(2024, 6, 3, 2, 0, tzinfo=BERLIN).timestamp()


def test_a_month_first_date_with_a_day_past_12_is_refused_with_schtasks_words(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RemediationError, match=r'h2003: task winremedy-reboot: start failed: schtasks /create exited 1: '
                                               r'ERROR: Invalid Start Date \(Date should be in "dd/mm/yyyy" format\)'):
        _restart_in("Wed 02:00-04:00", "2024-03-12T00:00:00+00:00", monkeypatch, old=True)
    monkeypatch.undo()
    _, host, result = _restart_in("Wed 02:00-04:00", "2024-03-12T00:00:00+00:00", monkeypatch, old=False)
    assert result.scheduled_at == datetime(2024, 3, 13, 2, 0, tzinfo=BERLIN).timestamp()
    assert host.tasks[REBOOT_TASK].next_at == result.scheduled_at
