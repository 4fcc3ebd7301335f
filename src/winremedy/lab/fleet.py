"""Fleet files: which hosts a lab emulates, strictly checked, and a generator of realistic fleets.

A fleet file is YAML::

    time_scale: 60                   # host seconds per real second (default 1)
    start_time: 2024-03-01T01:30:00Z # host time when the lab starts (default: now)
    seed: 7                          # noise, PIDs and faults replay identically for a seed
    reboot_downtime: 90              # host seconds a reboot keeps a host down (default 90)
    credentials: {user: Administrator, password: secret}   # default for every host (optional: see below)
    hosts:
      - name: w7-0001                # NetBIOS name: letters, digits, '-', at most 15
        os: win7                     # win2003 | vista | win2008 | win7 | win2008r2
        sp: 1
        arch: x64                    # x86 | x64 | ia64, as the OS exists
        installed: [KB2847346]       # applied before the lab starts
        pending: []                  # installed, waiting for a restart
        products: []                 # lcs2003 | lcs2005 (Windows 2003 only)
        leak: nsi                    # none | nsi | wfp | lcs | driver, or {scenario: nsi, rate: 8} (MB/hour); nsi
                                     # and wfp need Vista or later, lcs an LCS product; where the fix cannot be
                                     # installed (wfp on SP1) the leak has another cause and never stops;
                                     # driver: a third-party driver no KB fixes, under {tag: Fltr} (wfp: Nbuf)
        credentials: {user: ..., password: ...}
        auth: [ntlm, basic]          # ntlm | basic | kerberos | credssp | certificate; the inventory uses the
                                     # first; kerberos starts the lab's KDC, credssp (WinRM 2.0: needs
                                     # PowerShell) and certificate need --scheme https; default [ntlm, basic],
                                     # [ntlm] on WinRM 1.1 (Basic off there by default)
        allow_unencrypted: false     # WinRM's AllowUnencrypted (default false, as on Windows): true lets
                                     # Basic over http and unsealed NTLM in; also a fleet-wide default
        powershell: "2.0"            # "2.0" (default; none on 2003 before SP2), "3.0" (stdin read only for $input), or null
        patch_level: base            # base | gdr (monthly GDR updates applied)
        syn_attack_protect: 1        # Windows 2003 only; absent = not set
        free_disk_mb: 20480          # free space on C:, where packages are staged (default 20480)
        timezone: Europe/Berlin      # IANA name of the host's local time zone (default UTC)
        maintenance_window: "Sun 02:00-04:00"   # wall-clock time in that zone (remediate.window forms)
        windows_update: running      # running | disabled: the wuauserv service (disabled on hardened servers)
        fips: false                  # the FIPS algorithm policy (SHA256Managed throws under it)
        system_root: 'C:\\WINNT'      # %SystemRoot% (default C:\\Windows; C:\\WINNT on 2003 upgraded from 2000)
        locale: de-DE                # en-US (default), en-GB, de-DE, fr-FR, es-ES, it-IT, nl-NL, ru-RU, ja-JP,
                                     # zh-CN: the short-date order schtasks reads, the formats the host prints
        adapters: [{name: "Ethernet 2", default_route: true}, {name: Backup}]   # exactly one default route
        dotnet: ["2.0", "3.5"]       # .NET versions present (default: the OS's in-box ones, 2.0 with PowerShell)
        winrm: "2.0"                 # "1.1" | "2.0" (default 2.0 with PowerShell or on 7 / 2008 R2, else 1.1)
        replay: recorded/web01.json  # answer the project's scripts as a recorded host did (`--record DIR`;
                                     # a file, or a directory with <name>.json; relative to the fleet file)
        faults: {slow: 0.5, reset: {probability: 0.1}, http500: {burst: 3, after: 10},
                 bad_auth: true, no_return: true, unreachable: true, garbled: true,
                 wmic_first_run_fails: true}   # wmic's first run shows its banner and fails; later runs answer

Any unknown key or bad value is a one-line :class:`LabError` naming the file,
the host and the key.

Credentials may be left out, on a host and on the fleet: such a host takes the
lab default, :data:`LAB_CREDENTIALS` (user ``Administrator``, password
``winremedy-lab``), and the inventory the lab writes carries them as for any
host. They guard a loopback port of an emulator, nothing real.

:func:`generate` proportions (per host, from the seed): Windows 7 SP1 x64 40%,
x86 5%; Server 2008 R2 SP1 x64 24%, ia64 1%; Server 2008 SP2 x64 8%, x86 2%;
Vista SP2 5%; Windows 7 / 2008 R2 RTM x64 3%; Server 2003 SP2 8%; Server 2003
SP1 x86 with LCS 4%. 60% carry GDR updates. Where one of the three fixes
applies, 25% have it installed; of the others 20% leak (about 14% of the
fleet), at 0.5x-2x the default rate. Faults and bare (PowerShell-less) 2003
hosts appear only with ``faulty=True``: then the documented quirks are mixed in (``_add_quirks``: Windows
Update disabled 10%, FIPS 5%, C:\\WINNT on 30% of 2003, another locale 20%, a renamed or second adapter
15%, .NET 3.5 added, PowerShell 3.0 on 10% of the hosts WMF 3.0 supports), 5% of hosts get one fault and 20%
of the 2003 hosts lack PowerShell.
"""

from __future__ import annotations

import math
import random
import re
import time
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from ..audit.facts import normalize_kb
from ..remediate.window import parse_window
from ..instants import parse_instant
from .dynamics import DEFAULT_TAG, FIXED_BY, LeakSpec, Scenario
from .errors import LabError
from ..errors import WinRemedyError
from ..filenames import host_file_stem
from ..transport.recording import load_recording
from ..inbox import DEFAULT_SYSTEM_ROOT, default_dotnet
from .faults import FaultSpec
from .host import LCS_PRODUCTS, HostSpec
from .profiles import FAMILIES, OsProfile, profile_problem
from .quirks import (
    DEFAULT_ADAPTERS,
    DEFAULT_LOCALE,
    DOTNET_VERSIONS,
    LOCALES,
    WINDOWS_UPDATE_STATES,
    WINRM_VERSIONS,
    Adapter,
    default_winrm,
)
from .updates import effect

_FLEET_KEYS = {"time_scale", "start_time", "seed", "reboot_downtime", "credentials", "allow_unencrypted", "hosts"}
_HOST_KEYS = {"name", "os", "sp", "arch", "installed", "pending", "products", "leak", "credentials", "auth",
              "allow_unencrypted",
              "powershell", "patch_level", "syn_attack_protect", "faults", "free_disk_mb",
              "timezone", "maintenance_window", "windows_update", "fips", "system_root", "locale", "adapters",
              "dotnet", "winrm", "replay"}
_FAULT_KEYS = {"unreachable", "slow", "reset", "http500", "bad_auth", "no_return", "garbled", "wmic_first_run_fails"}
_AUTH = ("ntlm", "basic", "kerberos", "credssp", "certificate")
_SYSTEM_ROOT_RE = re.compile(r"^[A-Za-z]:\\[A-Za-z0-9_. -]+$")
_DEFAULT_AUTH = ("ntlm", "basic")
# WinRM 1.1's service has Basic off by default (MS-WSMV, product behavior note 4: 2003 R2, Vista SP1, 2008) and
# accepts only Negotiate- or Kerberos-encrypted traffic over HTTP; an administrator may still turn Basic on.
WINRM_11_AUTH = ("ntlm",)
POWERSHELL_VERSIONS = ("2.0", "3.0")  # 2.0: stdin always read for $input; 3.0+: only when the command names $input
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")
LAB_CREDENTIALS = {"user": "Administrator", "password": "winremedy-lab"}  # for a host whose fleet names none
T = TypeVar("T")


@dataclass(frozen=True)
class Fleet:
    """A checked fleet: lab-wide settings and one spec per host."""

    time_scale: float
    start_time: float  # host time (epoch seconds) when the lab starts
    seed: int
    reboot_downtime: float
    hosts: tuple[HostSpec, ...]
    data: dict[str, Any]  # the fleet as written, for DIR/fleet.yml


def load_fleet(path: Path) -> Fleet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabError(f"{path}: cannot read fleet file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LabError(f"{path}: not a fleet file (not UTF-8 text)") from None
    except RecursionError:
        raise LabError(f"{path}: not a fleet file (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # a ReaderError spans lines
        raise LabError(f"{path}: not valid YAML{where}: {problem}") from None
    for host in (data.get("hosts") if isinstance(data, dict) else None) or []:
        if isinstance(host, dict) and isinstance(host.get("replay"), str):
            host["replay"] = str(path.parent / host["replay"])  # relative to the fleet file, wherever it is copied
    return fleet_from_dict(data, str(path))


def fleet_from_dict(data: Any, origin: str = "fleet") -> Fleet:
    """Check a fleet (as loaded from YAML); the error names ``origin``, the host and the key."""
    check = _Checker(origin)
    if not isinstance(data, dict):
        raise LabError(f"{origin}: a fleet file is a mapping with a 'hosts' list")
    check.keys(data, _FLEET_KEYS)
    hosts = data.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise LabError(f"{origin}: key 'hosts': expected a non-empty list of hosts")
    seed = check.value(data, "seed", int, 0)
    default_credentials = data.get("credentials", LAB_CREDENTIALS)
    allow_unencrypted = check.value(data, "allow_unencrypted", bool, False)
    specs: list[HostSpec] = []
    seen: set[str] = set()
    for index, host in enumerate(hosts):
        spec = _host_spec(check, host, index, seed, default_credentials, allow_unencrypted)
        if spec.name.lower() in seen:
            raise check.error("key 'name'", f"duplicate host name {spec.name!r}", host=spec.name)
        seen.add(spec.name.lower())
        specs.append(spec)
    check.host = None
    start = data.get("start_time")
    return Fleet(
        time_scale=check.positive(data, "time_scale", 1.0),
        start_time=time.time() if start is None else check.instant(start),
        seed=seed,
        reboot_downtime=check.positive(data, "reboot_downtime", 90.0),
        hosts=tuple(specs),
        data=data,
    )


class _Checker:
    """Reads values with one-line errors that say where: file, host, key."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.host: str | None = None

    def error(self, key: str, problem: str, host: str | None = None) -> LabError:
        host = host or self.host
        where = f"{self.origin}: host {host!r}: " if host else f"{self.origin}: "
        return LabError(f"{where}{key}: {problem}")

    def keys(self, data: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
        for key in data:
            if key not in allowed:
                raise self.error(f"key '{prefix}{key}'", f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def value(self, data: dict[str, Any], key: str, kind: type[T], default: T, prefix: str = "") -> T:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(f"key '{prefix}{key}'", f"expected {kind.__name__}, got {value!r}")
        return value

    def positive(self, data: dict[str, Any], key: str, default: float, prefix: str = "") -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise self.error(f"key '{prefix}{key}'", f"expected a positive finite number, got {value!r}")
        return float(value)

    def choice(self, data: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = data.get(key, default)
        if value not in choices:
            raise self.error(f"key {key!r}", f"expected one of {', '.join(choices)}, got {value!r}")
        return str(value)

    def string_list(self, data: dict[str, Any], key: str, allowed: Callable[[str], str | None]) -> tuple[str, ...]:
        """A list of strings, each mapped by ``allowed`` to its canonical form (None = not allowed)."""
        value = data.get(key) or []
        if not isinstance(value, list):
            raise self.error(f"key {key!r}", f"expected a list, got {value!r}")
        result = []
        for item in value:
            canonical = allowed(str(item)) if isinstance(item, str | int) else None
            if canonical is None:
                raise self.error(f"key {key!r}", f"{item!r} is not allowed here")
            result.append(canonical)
        return tuple(result)

    def instant(self, value: Any) -> float:
        if isinstance(value, datetime | date):
            value = value.isoformat()
        try:
            return parse_instant(str(value))
        except ValueError:
            raise self.error("key 'start_time'", f"expected an ISO 8601 instant, got {value!r}") from None


def _host_spec(
    check: _Checker, host: Any, index: int, seed: int, default_credentials: Any, allow_unencrypted: bool
) -> HostSpec:
    check.host = None
    if not isinstance(host, dict):
        raise check.error(f"key 'hosts[{index}]'", "expected a mapping with name, os, sp, arch")
    name = host.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise check.error(f"key 'hosts[{index}].name'", f"expected a host name of at most 15 letters, digits or '-', got {name!r}")
    check.host = name
    check.keys(host, _HOST_KEYS)
    family = check.choice(host, "os", FAMILIES)
    sp, arch = host.get("sp"), host.get("arch")
    problem = profile_problem(family, sp, arch)
    if problem:
        raise check.error(f"key {problem[0]!r}", problem[1])
    profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]

    def applicable_kb(text: str) -> str | None:
        kb = normalize_kb(text)
        return kb if kb and effect(kb, profile).applicable else None

    installed = check.string_list(host, "installed", applicable_kb)
    pending = check.string_list(host, "pending", applicable_kb)
    products = check.string_list(host, "products", lambda p: p if p in LCS_PRODUCTS and profile.is_2003 else None)
    auth = check.string_list(host, "auth", lambda a: a.lower() if a.lower() in _AUTH else None) or _DEFAULT_AUTH
    user, password = _credentials(check, host.get("credentials", default_credentials))
    powershell = host.get("powershell", default_powershell(profile.family, profile.sp))
    if powershell not in (*POWERSHELL_VERSIONS, 2.0, 3.0, None):
        raise check.error("key 'powershell'", f"expected \"2.0\", \"3.0\" or null, got {powershell!r}")
    if powershell is not None and default_powershell(profile.family, profile.sp) is None:
        raise check.error("key 'powershell'", f"{powershell!r} on Windows 2003 SP{profile.sp}: Windows Management "
                          "Framework 2.0 (PowerShell 2.0, KB968930) needs Service Pack 2; use null")
    if "credssp" in auth and powershell is None:
        # CredSSP came with WinRM 2.0 (Windows Management Framework, KB968930); WinRM 1.1 has none.
        raise check.error("key 'auth'", "credssp needs WinRM 2.0, which comes with PowerShell 2.0 (powershell: null here)")
    syn = host.get("syn_attack_protect")
    if syn is not None and (syn not in (0, 1) or isinstance(syn, bool) or not profile.is_2003):
        raise check.error("key 'syn_attack_protect'", f"expected 0 or 1 on a win2003 host, got {syn!r}")
    timezone, window = _window(check, host)
    quirks = _quirks(check, host, profile, None if powershell is None else f"{float(powershell):.1f}")
    if quirks["winrm"] == "1.1" and not host.get("auth"):
        auth = WINRM_11_AUTH
    spec = HostSpec(
        name=name,
        profile=profile,
        user=user,
        password=password,
        auth=auth,
        installed=installed,
        pending=pending,
        products=products,
        leak=_leak(check, host.get("leak"), profile, products),
        faults=_faults(check, host.get("faults") or {}),
        powershell=None if powershell is None else f"{float(powershell):.1f}",
        patch_level=check.choice(host, "patch_level", ("base", "gdr"), "base"),  # type: ignore[arg-type]
        syn_attack_protect=syn,
        seed=zlib.crc32(f"{seed}:{name.lower()}".encode()),
        free_disk_mb=int(check.positive(host, "free_disk_mb", 20480)),
        timezone=timezone,
        maintenance_window=window,
        replay=_replay(check, host.get("replay")),
        **quirks,
        allow_unencrypted=check.value(host, "allow_unencrypted", bool, allow_unencrypted),
    )
    return spec


def _replay(check: _Checker, value: Any) -> str | None:
    """A recording file, or a directory holding ``<host>.json``: it must load (winremedy.transport.recording)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise check.error("key 'replay'", f"expected the path of a recording, got {value!r}")
    path = Path(value)
    if path.is_dir():
        path = path / f"{host_file_stem(str(check.host))}.json"
    try:
        load_recording(path)
    except WinRemedyError as exc:
        raise check.error("key 'replay'", str(exc)) from None
    return str(path)


def _quirks(check: _Checker, host: dict[str, Any], profile: OsProfile, powershell: str | None) -> dict[str, Any]:
    """The keys of :mod:`.quirks`, checked against each other and the OS as the sources there say."""
    system_root = check.value(host, "system_root", str, DEFAULT_SYSTEM_ROOT)
    if not _SYSTEM_ROOT_RE.match(system_root):
        raise check.error("key 'system_root'", f"expected a drive and folder such as C:\\WINNT, got {system_root!r}")
    dotnet = check.string_list(host, "dotnet", lambda v: v if v in DOTNET_VERSIONS else None)
    dotnet = dotnet or default_dotnet(profile.version, powershell is not None) or ()
    if powershell and "2.0" not in dotnet:
        raise check.error("key 'dotnet'", "PowerShell 2.0 needs .NET 2.0 (about_Remote_Requirements)")
    winrm = str(check.choice(host, "winrm", WINRM_VERSIONS, default_winrm(profile.family, powershell)))
    if winrm == "1.1" and (powershell or profile.family in ("win7", "win2008r2")):
        raise check.error("key 'winrm'", "WinRM 1.1 only without PowerShell 2.0 and before Windows 7 / 2008 R2 "
                                         "(WMF 2.0, KB968929, brings WinRM 2.0)")
    return {
        "windows_update": check.choice(host, "windows_update", WINDOWS_UPDATE_STATES, "running"),
        "fips": check.value(host, "fips", bool, False),
        "system_root": system_root,
        "locale": check.choice(host, "locale", tuple(LOCALES), DEFAULT_LOCALE),
        "adapters": _adapters(check, host.get("adapters")),
        "dotnet": dotnet,
        "winrm": winrm,
    }


def _adapters(check: _Checker, value: Any) -> tuple[Adapter, ...]:
    if value is None:
        return DEFAULT_ADAPTERS
    if not isinstance(value, list) or not value:
        raise check.error("key 'adapters'", f"expected a list of {{name, default_route}}, got {value!r}")
    adapters = []
    for index, item in enumerate(value):
        prefix = f"adapters[{index}]."
        if not isinstance(item, dict):
            raise check.error(f"key 'adapters[{index}]'", f"expected a mapping with name, got {item!r}")
        check.keys(item, {"name", "default_route"}, prefix)
        name = check.value(item, "name", str, "", prefix)
        if not name.strip():
            raise check.error(f"key '{prefix}name'", "expected the adapter's connection name")
        adapters.append(Adapter(name, check.value(item, "default_route", bool, False, prefix)))
    if sum(a.default_route for a in adapters) != 1:
        raise check.error("key 'adapters'", "expected exactly one adapter with default_route: true")
    return tuple(adapters)


def _window(check: _Checker, host: dict[str, Any]) -> tuple[str, str | None]:
    """The host's time zone and maintenance window, checked as the remediation will read them."""
    timezone, window = host.get("timezone", "UTC"), host.get("maintenance_window")
    try:
        parse_window("daily 00:00-01:00", str(timezone))
        if window is not None:
            parse_window(str(window), str(timezone))
    except ValueError as exc:
        key = "timezone" if str(exc).startswith("time zone") else "maintenance_window"
        raise check.error(f"key {key!r}", str(exc)) from None
    return str(timezone), None if window is None else str(window)


def _credentials(check: _Checker, value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"user", "password"}:
        raise check.error("key 'credentials'", "expected {user: ..., password: ...} on the host or the fleet")
    user, password = value["user"], value["password"]
    if not isinstance(user, str) or not user or not isinstance(password, str | int):
        raise check.error("key 'credentials'", "user and password must be non-empty strings")
    return user, str(password)


def _leak(check: _Checker, value: Any, profile: OsProfile, products: tuple[str, ...]) -> LeakSpec:
    rate, tag = None, None
    if isinstance(value, dict):
        check.keys(value, {"scenario", "rate", "tag"}, "leak.")
        rate = check.positive(value, "rate", 1.0, "leak.") if "rate" in value else None
        tag = value.get("tag")
        if tag is not None and not (isinstance(tag, str) and 1 <= len(tag) <= 4 and tag.isascii()):
            raise check.error("key 'leak.tag'", f"expected a pool tag of 1 to 4 ASCII characters, got {tag!r}")
        value = value.get("scenario")
    try:
        scenario = Scenario(value or "none")
    except ValueError:
        raise check.error("key 'leak'", f"expected one of {', '.join(s.value for s in Scenario)}, got {value!r}") from None
    if scenario in (Scenario.NSI, Scenario.WFP) and profile.is_2003:
        raise check.error("key 'leak'", f"{scenario.value} leaks in a component of Vista and later, not on Windows 2003")
    if scenario is Scenario.LCS and not products:
        raise check.error("key 'leak'", "an lcs leak needs Live Communications Server in 'products'")
    if tag is not None and scenario not in DEFAULT_TAG:
        raise check.error("key 'leak.tag'", f"a {scenario.value} leak has no pool tag to choose (only "
                                            f"{', '.join(s.value for s in DEFAULT_TAG)})")
    return LeakSpec.of(scenario, rate, tag)


def _faults(check: _Checker, value: Any) -> FaultSpec:
    if not isinstance(value, dict):
        raise check.error("key 'faults'", f"expected a mapping, got {value!r}")
    check.keys(value, _FAULT_KEYS, "faults.")
    reset: Any = value.get("reset") or {}
    http500: Any = value.get("http500") or {}
    if isinstance(http500, int) and not isinstance(http500, bool):
        http500 = {"burst": http500}
    for key, sub, allowed in (("reset", reset, {"probability", "count"}), ("http500", http500, {"burst", "after"})):
        if not isinstance(sub, dict):
            raise check.error(f"key 'faults.{key}'", f"expected a mapping, got {sub!r}")
        check.keys(sub, allowed, f"faults.{key}.")
    probability = reset.get("probability", 0.0)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise check.error("key 'faults.reset.probability'", f"expected a number from 0 to 1, got {probability!r}")
    slow = value.get("slow", 0.0)
    if isinstance(slow, bool) or not isinstance(slow, int | float) or slow < 0:
        raise check.error("key 'faults.slow'", f"expected real seconds (a number >= 0), got {slow!r}")
    return FaultSpec(
        unreachable=check.value(value, "unreachable", bool, False, "faults."),
        slow=float(slow),
        reset_probability=float(probability),
        reset_count=check.value(reset, "count", int, 0, "faults.reset."),
        http500_burst=check.value(http500, "burst", int, 0, "faults.http500."),
        http500_after=check.value(http500, "after", int, 0, "faults.http500."),
        bad_auth=check.value(value, "bad_auth", bool, False, "faults."),
        no_return=check.value(value, "no_return", bool, False, "faults."),
        garbled=check.value(value, "garbled", bool, False, "faults."),
        wmic_first_run_fails=check.value(value, "wmic_first_run_fails", bool, False, "faults."),
    )


# --- generation ----------------------------------------------------------------------------------

# (weight, os, sp, arch, name prefix)
_MIX: tuple[tuple[int, str, int, str, str], ...] = (
    (40, "win7", 1, "x64", "w7"),
    (5, "win7", 1, "x86", "w7"),
    (24, "win2008r2", 1, "x64", "r2"),
    (1, "win2008r2", 1, "ia64", "r2"),
    (8, "win2008", 2, "x64", "s8"),
    (2, "win2008", 2, "x86", "s8"),
    (3, "vista", 2, "x64", "vi"),
    (2, "vista", 2, "x86", "vi"),
    (2, "win7", 0, "x64", "w7"),
    (1, "win2008r2", 0, "x64", "r2"),
    (8, "win2003", 2, "x86", "s3"),
    (4, "win2003", 1, "x86", "lc"),
)
_ZONES = ("UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")
_WINDOWS = ("Sun 02:00-04:00", "Sat,Sun 01:00-03:00", "daily 22:00-02:00", "Wed 03:00-05:00")
_SCENARIO_OF_FIX = {kb: scenario for scenario, kb in FIXED_BY.items()}
_SAMPLE_FAULTS: tuple[dict[str, Any], ...] = (
    {"slow": 0.2},
    {"reset": {"probability": 0.05}},
    {"http500": {"burst": 2, "after": 3}},
    {"bad_auth": True},
    {"no_return": True},
    {"unreachable": True},
)


def fleet_yaml(data: dict[str, Any]) -> str:
    """A fleet as YAML, keys in their written order (``lab up`` keeps it as DIR/fleet.yml; ``lab generate`` prints it)."""
    return yaml.safe_dump(data, sort_keys=False)


def generate(hosts: int, seed: int = 0, faulty: bool = False, windows: bool = False) -> dict[str, Any]:
    """A realistic mixed fleet of ``hosts`` hosts, the same for the same seed (proportions: module doc).

    With ``windows`` every host also gets a time zone and a maintenance window (drawn from their own
    seed, so the rest of the fleet stays the same)."""
    if hosts < 1:
        raise LabError(f"--hosts must be at least 1, got {hosts}")
    rng = random.Random(seed)
    weights = [row[0] for row in _MIX]
    entries = [_generated_host(rng, index, rng.choices(_MIX, weights)[0], faulty) for index in range(1, hosts + 1)]
    if faulty:
        for index, entry in enumerate(entries, start=1):
            _add_quirks(random.Random(f"{seed}:quirks:{index}"), entry)
    if windows:
        for index, entry in enumerate(entries, start=1):
            window_rng = random.Random(f"{seed}:window:{index}")
            entry["timezone"] = window_rng.choice(_ZONES)
            entry["maintenance_window"] = window_rng.choice(_WINDOWS)
    return {"seed": seed, "credentials": {"user": "Administrator", "password": f"Lab-{seed}-Pa55"}, "hosts": entries}


def default_powershell(family: str, sp: int) -> str | None:
    """PowerShell 2.0, but none on Windows 2003 before SP2: WMF 2.0 (KB968929, its Core package KB968930) installs
    on Windows Server 2003 SP2 only, and 2003 has .NET 1.1 in-box ("Windows Management Framework (Windows PowerShell
    2.0, WinRM 2.0, and BITS 4.0)", Microsoft Support; ".NET Framework versions and dependencies", Microsoft Learn)."""
    return None if family == "win2003" and sp < 2 else "2.0"


def _add_quirks(rng: random.Random, host: dict[str, Any]) -> None:
    """Some of the documented quirks (:mod:`.quirks`), each on a plausible share of the hosts it can occur on."""
    family, sp = host["os"], host["sp"]
    has_powershell = host.get("powershell", default_powershell(family, sp)) is not None
    if family != "win2003" and rng.random() < 0.1:
        host["windows_update"] = "disabled"  # hardened servers
    if rng.random() < 0.05:
        host["fips"] = True
    if family == "win2003" and rng.random() < 0.3:
        host["system_root"] = "C:\\WINNT"  # upgraded from Windows 2000
    if rng.random() < 0.2:
        host["locale"] = rng.choice([name for name in LOCALES if name != DEFAULT_LOCALE])
    if rng.random() < 0.15:
        renamed = rng.choice(["Ethernet 2", "NIC Team", "LAN-Verbindung", "Public"])
        host["adapters"] = [{"name": renamed, "default_route": True}]
        if rng.random() < 0.5:
            host["adapters"].append({"name": "Backup Network"})
    if has_powershell and family in ("win2003", "win2008") and rng.random() < 0.25:
        host["dotnet"] = [*(default_dotnet(OsProfile(family, sp, host["arch"]).version, True) or ()), "3.5"]
    if has_powershell and (family, sp) in {("win7", 1), ("win2008r2", 1), ("win2008", 2)} and rng.random() < 0.1:
        host["powershell"] = "3.0"  # WMF 3.0 needs 7 SP1, 2008 R2 SP1 or 2008 SP2


def _generated_host(rng: random.Random, index: int, mix: tuple[int, str, int, str, str], faulty: bool) -> dict[str, Any]:
    _, family, sp, arch, prefix = mix
    profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]
    host: dict[str, Any] = {"name": f"{prefix}-{index:04d}", "os": family, "sp": sp, "arch": arch,
                            "patch_level": "gdr" if rng.random() < 0.6 else "base"}
    if prefix == "lc":
        host["products"] = ["lcs2005" if rng.random() < 0.7 else "lcs2003"]
    if profile.is_2003:
        syn = rng.choice([None, None, None, 0, 1])
        if syn is not None:
            host["syn_attack_protect"] = syn
        if faulty and rng.random() < 0.2:
            host["powershell"] = None
    fix = next((kb for kb in _SCENARIO_OF_FIX if effect(kb, profile).applicable), None)
    if fix and (fix != "KB903927" or "products" in host):
        if rng.random() < 0.25:
            host["installed"] = [fix]
        elif rng.random() < 0.2:
            scenario = _SCENARIO_OF_FIX[fix]
            host["leak"] = {"scenario": scenario.value, "rate": round(LeakSpec.of(scenario).rate_mb_per_hour * rng.uniform(0.5, 2), 2)}
    if faulty and rng.random() < 0.05:
        host["faults"] = dict(rng.choice(_SAMPLE_FAULTS))
    return host
