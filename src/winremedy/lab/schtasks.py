"""How schtasks.exe on Windows 2003 reads the start of ``/create /sc once``: the lab's one reading of it.

``/sd`` in the order of the account's locale (its ``iDate``, from the host's registry) with "/" between the
fields, or today when it is left out; ``/st`` as HH:MM:SS, required for a once schedule; both in the host's
local time. A date in another order is refused when a field cannot be (a month of 13) and otherwise read as
another day. Sources are in :mod:`winremedy.remediate.schtasks`. Known: the three formats, the "/", the /st
format, the refusal's wording on later schtasks versions. Assumed: the same wording on 2003, exit code 1 (later
versions were seen to exit 0x80004005), a refusal of the locale's own separator, and the refused time's wording.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from ..remediate.schtasks import INTERNATIONAL, date_order, date_pattern
from .host import HostModel

EXIT_REFUSED = 1
_DATE = re.compile(r"^(\d{1,4})/(\d{1,2})/(\d{1,4})$")
_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")


class StartRefused(ValueError):
    """What schtasks prints (one line) when it refuses the start of a task."""


def start_of(host: HostModel, sd: str | None, st: str | None) -> float:
    """The UTC epoch a ``/sc once`` task with this ``/sd`` and ``/st`` starts at on ``host``."""
    i_date = host.registry_value(INTERNATIONAL + "\\iDate")
    zone = ZoneInfo(host.spec.timezone)
    time = _TIME.match(st or "")
    if time is None or int(time[1]) > 23 or int(time[2]) > 59 or int(time[3]) > 59:
        raise StartRefused('ERROR: Invalid Start Time (Time should be in "HH:MM:SS" format).')
    if sd is None:
        day = datetime.fromtimestamp(host.clock.now(), zone)
        year, month, mday = day.year, day.month, day.day
    else:
        match = _DATE.match(sd)
        fields = dict(zip(date_order(i_date), (int(part) for part in match.groups()), strict=True)) if match else {}
        year, month, mday = fields.get("y", 0), fields.get("m", 0), fields.get("d", 0)
    refused = StartRefused(f'ERROR: Invalid Start Date (Date should be in "{date_pattern(i_date)}" format).')
    if year < 1000:
        raise refused
    try:
        return datetime(year, month, mday, int(time[1]), int(time[2]), int(time[3]), tzinfo=zone).timestamp()
    except ValueError:
        raise refused from None
