"""The documented ways legacy hosts differ from a default install, as fleet data: locale, adapters, .NET, WinRM.

Each is a fleet-file key of a host (:mod:`.fleet` checks them); the lab's programs and stand-ins
read them from the host model. Sources:

* short-date order: schtasks takes ``/sd`` "in the format of the locale selected in Regional and
  Language Options" (Microsoft Learn, "schtasks create"); the account's pattern is
  ``HKCU\\Control Panel\\International`` ``sShortDate`` with ``iDate`` 0 = M/D/Y, 1 = D/M/Y, 2 = Y/M/D
  ("Locale information", LOCALE_IDATE, Microsoft Learn);
* .NET: what each Windows version has in the box is :mod:`winremedy.inbox`'s (the probe's too);
* WinRM: Windows Management Framework 2.0 (KB968929) brings WinRM 2.0 with PowerShell 2.0;
  Windows 7 / 2008 R2 ship it in the box; without it 2003 R2 / 2003 with KB936059, Vista SP1 and
  2008 run WinRM 1.1 ("What's new in WinRM", Microsoft Learn; TechNet ee922649).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..inbox import DEFAULT_ADAPTER


@dataclass(frozen=True)
class Locale:
    name: str
    short_date: str  # sShortDate
    date_order: int  # iDate: 0 M/D/Y, 1 D/M/Y, 2 Y/M/D


LOCALES = {locale.name: locale for locale in (
    Locale("en-US", "M/d/yyyy", 0),
    Locale("en-GB", "dd/MM/yyyy", 1),
    Locale("de-DE", "dd.MM.yyyy", 1),
    Locale("fr-FR", "dd/MM/yyyy", 1),
    Locale("es-ES", "dd/MM/yyyy", 1),
    Locale("it-IT", "dd/MM/yyyy", 1),
    Locale("nl-NL", "d-M-yyyy", 1),
    Locale("ru-RU", "dd.MM.yyyy", 1),
    Locale("ja-JP", "yyyy/MM/dd", 2),
    Locale("zh-CN", "yyyy/M/d", 2),
)}
DEFAULT_LOCALE = "en-US"


@dataclass(frozen=True)
class Adapter:
    name: str  # NetConnectionID, as netsh and Network Connections show it
    default_route: bool = False


DEFAULT_ADAPTERS = (Adapter(DEFAULT_ADAPTER, default_route=True),)
DOTNET_VERSIONS = ("1.1", "2.0", "3.0", "3.5", "4.0")
WINRM_VERSIONS = ("1.1", "2.0")
WINDOWS_UPDATE_STATES = ("running", "disabled")


def default_winrm(family: str, powershell: str | None) -> str:
    """WinRM 2.0 where PowerShell 2.0 came (WMF 2.0) or in the box (7 / 2008 R2), else 1.1."""
    return "2.0" if powershell or family in ("win7", "win2008r2") else "1.1"
