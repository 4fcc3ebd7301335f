"""The start date and time of a ``schtasks /create`` on Windows 2003 (Task Scheduler 1.0), written here.

``/sd``: "The format for StartDate varies with the locale selected for the local computer in Regional and
Language Options [...]. Only one format is valid for each locale": MM/DD/YYYY for month-first locales (English
(United States)), DD/MM/YYYY for day-first ones (Bulgarian, Dutch (Netherlands)), YYYY/MM/DD for year-first ones
(Swedish, French (Canada)); "/" in all three, whatever separator the locale itself uses ("Schtasks", Windows
Server 2003 Command-line reference, TechNet cc772785; the same table in "schtasks", MicrosoftDocs
windowsserverdocs). Seen on a Swedish host (short date yyyy-MM-dd): ``ERROR: Invalid Start Date (Date should
be in "yyyy/mm/dd" format).`` (saltstack/salt issue 26906). Which order the account's locale selects is read
as LOCALE_IDATE, ``HKCU\\Control Panel\\International`` ``iDate`` of the account schtasks runs as: 0 month-day-
year, 1 day-month-year, 2 year-month-day ("Locale information constants", Microsoft Learn).

``/st``: HH:MM:SS on Windows XP / 2003, whose ``schtasks /create /?`` says "The time format is HH:MM:SS (24 hour
time)" (as batch files of that time quote it); the current page gives HH:MM, the form of later versions.
"""

from __future__ import annotations

from datetime import datetime

INTERNATIONAL = "HKCU\\Control Panel\\International"
DATE_ORDERS = {"0": "mdy", "1": "dmy", "2": "ymd"}  # iDate -> the order of /sd's fields
_FIELDS = {"m": "mm", "d": "dd", "y": "yyyy"}


def date_order(i_date: object) -> str:
    """``"mdy"``, ``"dmy"`` or ``"ymd"`` from the iDate value; ValueError naming the value otherwise."""
    order = DATE_ORDERS.get(str(i_date).strip())
    if order is None:
        raise ValueError(f"{INTERNATIONAL} iDate is {i_date!r}, not 0, 1 or 2")
    return order


def start_date(when: datetime, i_date: object) -> str:
    """``when``'s date as ``/sd`` takes it on a host whose account has this iDate (``31/12/2030``)."""
    fields = {"m": f"{when:%m}", "d": f"{when:%d}", "y": f"{when:%Y}"}
    return "/".join(fields[field] for field in date_order(i_date))


def start_time(when: datetime) -> str:
    """``when``'s time of day as ``/st`` takes it on Windows 2003."""
    return f"{when:%H:%M:%S}"


def date_pattern(i_date: object) -> str:
    """The pattern schtasks names when it refuses a date (``dd/mm/yyyy``)."""
    return "/".join(_FIELDS[field] for field in date_order(i_date))
