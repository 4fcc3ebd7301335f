"""What installing an update does to a host, read from the catalog (``winremedy.catalog``).

An update installs where one of its catalog rules matches the host's OS, SP
and architecture, except where the service pack itself is the fix (the RTM
hotfix has no SP1 branch, so CBS refuses it). Its files are the catalog's
rows for the host's own OS build and architecture. KB903927's article
publishes no file table, so installing it changes no file: it shows only as
its update.exe registration. Any update the catalog does not know installs
everywhere, needs no restart and changes nothing but its registration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..catalog import load_catalog
from .profiles import OsProfile


@dataclass(frozen=True)
class UpdateEffect:
    """What installing ``kb`` on one host means."""

    kb: str
    applicable: bool
    restart: bool
    files: dict[str, str]  # path -> version it installs


@functools.cache
def effect(kb: str, profile: OsProfile) -> UpdateEffect:
    catalog = load_catalog()
    if kb not in catalog:
        return UpdateEffect(kb, True, False, {})
    entry = catalog.get(kb)
    applicable = any(
        rule.verify != "service_pack" and rule.matches(profile.family, profile.version, profile.sp, profile.arch)
        for rule in entry.applies_to
    )
    files = {
        row.path: row.version
        for row in entry.fix_files(profile.version, profile.arch)
        if row.path is not None and row.version is not None
    }
    return UpdateEffect(entry.kb, applicable, entry.restart == "required", files)


def cbs_package(kb: str, profile: OsProfile) -> str:
    """The CBS package identity an update installs as on Vista and later."""
    if profile.version.startswith("6.1"):
        branch = "sp1" if profile.sp else "rtm"
        return f"Package_for_{kb.lower()}_{branch}~31bf3856ad364e35~{profile.cbs_arch}~~6.1.1.0"
    return f"Package_for_{kb.upper()}~31bf3856ad364e35~{profile.cbs_arch}~~6.0.1.0"
