"""The probe's answer read into facts and a verdict: ``ready``, or ``not ready`` with each reason and what to do.

A *reason* stops ``remediate`` before it touches the host; a *note* is a quirk the engine
handles, listed so the operator knows the host is not a default install. Every rule is here,
in Python, where it is tested; ``scripts/probe.ps1`` only reads.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..audit.collector import PENDING_REBOOT_KEYS, PENDING_REBOOT_VALUES, pending_reboot_reasons
from ..psdata import decode_frame
from ..errors import ProtocolError
from ..inbox import DEFAULT_ADAPTER, DEFAULT_SYSTEM_ROOT, default_dotnet
from ..remediate.stage import FREE_MARGIN
from ..transport.winrm import STDIN_CHUNK
from .query import FIPS_VALUES, NDP, SHORT_DATE, WINDOWS_UPDATE, WSMSVC, winrm_version

US_SHORT_DATE = "M/d/yyyy"  # en-US sShortDate, the order scripts written on US hosts assume
# Kerberos refuses tickets beyond 5 minutes' skew ("Maximum tolerance for computer clock synchronization",
# Microsoft Learn).
KERBEROS_SKEW = 300.0
# One stdin Send carries STDIN_CHUNK bytes as base64 (4/3) plus the SOAP envelope (a few KB).
ENVELOPE_NEEDED_KB = math.ceil(STDIN_CHUNK * 4 / 3 / 1024) + 8
NOT_RECOGNIZED = "is not recognized"
_NDP_VERSION = re.compile(r"^v(\d+)(?:\.(\d+))?", re.IGNORECASE)


@dataclass(frozen=True)
class Channel:
    """How the controller reached the host: what the probe reports as reachable, authenticated, encrypted."""

    address: str
    port: int
    scheme: str
    auth: str
    message_encryption: str = "auto"  # pywinrm's setting: auto | always | never

    @property
    def encryption(self) -> str | None:
        """TLS on HTTPS, else the authentication's message encryption, else None (clear text)."""
        if self.scheme == "https":
            return "tls"
        if self.auth in ("ntlm", "kerberos", "credssp") and self.message_encryption != "never":
            return f"{self.auth} message encryption"
        return None


@dataclass(frozen=True)
class Check:
    """One finding of the probe: ``topic`` is stable (``fips``, ``powershell``, ...), ``fix`` says what to do."""

    topic: str
    message: str
    fix: str | None = None


@dataclass
class Readiness:
    """One host's probe result."""

    host: str
    facts: dict[str, Any] = field(default_factory=dict)
    reasons: list[Check] = field(default_factory=list)  # each one makes the host not ready
    notes: list[Check] = field(default_factory=list)  # quirks the engine handles
    route: str | None = None  # how the probe script arrived (stdin | file)
    error_code: str | None = None  # WinRemedyError.code when the probe could not run (unreachable, auth, ...)

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def verdict(self) -> str:
        return "ready" if self.ready else "not ready"

    def summary(self) -> str:
        """One line: the verdict and, when not ready, each reason with what to do."""
        if self.ready:
            return f"{self.host}: ready"
        parts = [f"{c.message} ({c.fix})" if c.fix else c.message for c in self.reasons]
        return f"{self.host}: not ready: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "verdict": self.verdict, "route": self.route, "error_code": self.error_code,
                "facts": self.facts,
                "reasons": [asdict(c) for c in self.reasons], "notes": [asdict(c) for c in self.notes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        return cls(host=data["host"], facts=dict(data.get("facts") or {}), route=data.get("route"),
                   error_code=data.get("error_code"),
                   reasons=[Check(**c) for c in data.get("reasons") or []],
                   notes=[Check(**c) for c in data.get("notes") or []])


def unreachable(host: str, channel: Channel | None, error: str, code: str) -> Readiness:
    """A host the probe could not talk to: the connection or the authentication failed."""
    facts = _channel_facts(channel)
    facts["reachable"] = code not in ("unreachable", "tls")
    facts["authenticated"] = code not in ("unreachable", "tls", "auth")
    fix = {"unreachable": "check the address, port and firewall, and that the WinRM service listens (winrm enumerate "
                          "winrm/config/listener)",
           "tls": "check the listener's certificate and the CA trust path",
           "auth": "check the account, its password and that the listener accepts this authentication "
                   "(winrm get winrm/config/service/auth)"}.get(code, "see the error")
    return Readiness(host, facts, reasons=[Check("connection", error, fix)], error_code=code)


@dataclass
class BareFacts:
    """What cmd.exe tools tell the probe on a host without PowerShell (:data:`.query.WSMSVC_BY_CMD`,
    :data:`.query.DISK_BY_CMD`)."""

    wsmsvc: str | None = None  # wsmsvc.dll's file version: the WinRM version
    drive: str | None = None  # the staging folder's drive and its free bytes
    free: float | None = None
    errors: list[str] = field(default_factory=list)


def no_powershell(host: str, channel: Channel | None, bare: BareFacts | None = None) -> Readiness:
    """powershell.exe is unknown on the host (cmd.exe answered 9009): the WinRM version and the staging drive's free
    space as cmd.exe tools read them, judged by the same rules as the probe script's answer."""
    bare = bare or BareFacts()
    facts = {**_channel_facts(channel), "reachable": True, "authenticated": True, "powershell": None,
             "winrm_version": winrm_version(bare.wsmsvc), "winrm_limits": {}, "staging_drive": bare.drive,
             "free_bytes": bare.free, "errors": list(bare.errors)}
    readiness = Readiness(host, facts, notes=[Check(
        "powershell", "no PowerShell: audited and remediated through cmd.exe alone (pool tags cannot be read; "
        "the probe's checks but the WinRM version and free space need PowerShell)",
        "Windows Management Framework 2.0 (KB968930; Windows 2003 SP2, Vista SP1 or 2008, .NET 2.0) would "
        "give the full audit")])
    for rule in (_channel, _winrm, _disk):  # the rules whose facts cmd.exe gives
        rule(facts, None, readiness)
    return readiness


def read_probe(output: bytes | str, *, host: str, channel: Channel | None, controller_time: float,
               route: str | None = None) -> Readiness:
    """The probe script's framed answer as facts and a verdict; a malformed answer is a ProtocolError."""
    raw = decode_frame(output, host=host)
    if not isinstance(raw, dict) or raw.get("script") != "probe":
        raise ProtocolError(f"{host}: the answer is not from the probe script")
    try:
        return _assess(raw, host, channel, controller_time, route)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"{host}: probe answer has an unexpected shape: {type(exc).__name__}: {exc}") from None


def _assess(raw: dict[str, Any], host: str, channel: Channel | None, controller_time: float,
            route: str | None) -> Readiness:
    values: dict[str, Any] = raw.get("registry_values") or {}
    subkeys: dict[str, Any] = raw.get("registry_subkeys") or {}
    wsman = {key: int(value) for key, value in (raw.get("wsman") or {}).items() if str(value).isdigit()}
    wmi: dict[str, Any] = raw.get("wmi") or {}
    os_version = ".".join(str(wmi.get("version") or "").split(".")[:2]) or None
    adapters = raw.get("adapters") or {}
    service = (raw.get("services") or {}).get(WINDOWS_UPDATE) or {}
    drive = raw.get("staging_drive") or {}
    host_time = datetime.fromisoformat(str(raw["now"]).replace("Z", "+00:00")).timestamp()
    facts: dict[str, Any] = {
        **_channel_facts(channel), "reachable": True, "authenticated": True,
        "winrm_version": winrm_version((raw.get("files") or {}).get(WSMSVC)),
        "winrm_limits": wsman,
        "powershell": raw.get("powershell_version"), "clr": raw.get("clr_version"),
        "dotnet": _dotnet(subkeys.get(NDP)),
        "delivery": route,
        "wmi": bool(wmi), "os": wmi.get("caption"), "os_version": wmi.get("version"),
        "task_scheduler": raw.get("task_scheduler"),
        "windows_update": _service_state(service),
        "fips": any(_truthy(values.get(path)) for path in FIPS_VALUES),
        "system_root": raw.get("system_root"),
        "short_date": values.get(SHORT_DATE),
        "staging_drive": drive.get("drive"), "free_bytes": drive.get("free"),
        "pending_reboot": pending_reboot_reasons(
            {path: values.get(path) for path in PENDING_REBOOT_VALUES.values()},
            {path: subkeys.get(path) is not None for path in PENDING_REBOOT_KEYS.values()}),
        "clock_skew": round(host_time - controller_time, 1),
        "default_route_adapter": adapters.get("default_route"),
        "adapters": list(adapters.get("names") or []),
        "errors": list(raw.get("errors") or []),
    }
    readiness = Readiness(host, facts, route=route)
    for rule in _RULES:
        rule(facts, os_version, readiness)
    return readiness


def _channel(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if facts.get("scheme") and facts.get("encryption") is None:
        out.reasons.append(Check("encryption", "credentials and scripts cross the network in clear text",
                                 "use HTTPS (port 5986) or NTLM/Kerberos with message encryption"))


def _powershell(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    version = str(facts.get("powershell") or "0")
    if int(version.split(".")[0]) < 2:
        out.reasons.append(Check("powershell", f"PowerShell {version}: the scripts need 2.0 or later",
                                 "install Windows Management Framework 2.0 (KB968930)"))
    elif int(version.split(".")[0]) >= 3:
        out.notes.append(Check("powershell", f"PowerShell {version}: stdin is read only by scripts that use $input"))
    if facts.get("delivery") == "file":
        out.notes.append(Check("delivery", "stdin delivered no script: scripts go through a temporary file"))


def _winrm(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if facts.get("winrm_version") in ("0.5", "1.0", "1.1"):
        out.notes.append(Check("winrm", f"WinRM {facts['winrm_version']}: listeners on 80/443, no CredSSP, "
                                        "MaxEnvelopeSizekb 150"))
    envelope = facts["winrm_limits"].get("MaxEnvelopeSizekb")
    if envelope is not None and envelope < ENVELOPE_NEEDED_KB:
        out.reasons.append(Check("winrm", f"MaxEnvelopeSizekb is {envelope}, the transport sends up to "
                                          f"{ENVELOPE_NEEDED_KB} KB", "winrm set winrm/config "
                                          f"@{{MaxEnvelopeSizekb=\"{max(150, ENVELOPE_NEEDED_KB)}\"}}"))


def _wmi(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if not facts["wmi"]:
        out.reasons.append(Check("wmi", "WMI does not answer (Win32_OperatingSystem)",
                                 "restart the winmgmt service; check the repository (winmgmt /verifyrepository "
                                 "on Vista and later)"))


def _windows_update(facts: dict[str, Any], os_version: str | None, out: Readiness) -> None:
    if facts["windows_update"] != "disabled":
        return
    # wusa needs wuauserv and fails with 0x80070422 (ERROR_SERVICE_DISABLED) without it (chocolatey/choco #1073);
    # the engine never runs wusa on such a host: expand + DISM on Windows 7 / 2008 R2, expand + pkgmgr on Vista /
    # 2008 (both through TrustedInstaller, not wuauserv), update.exe on 2003 (remediate.install).
    out.notes.append(Check("windows_update", "the Windows Update service (wuauserv) is disabled: packages "
                                             "are installed without wusa"))


def _fips(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if not facts["fips"]:
        return
    if "3.5" in facts["dotnet"]:
        out.notes.append(Check("fips", "FIPS policy on: staged packages are hashed with "
                                       "SHA256CryptoServiceProvider (.NET 3.5)"))
    else:
        out.notes.append(Check("fips", "FIPS policy on and no .NET 3.5: the host cannot compute SHA-256 "
                                       "(SHA256Managed throws under FIPS)", "install .NET 3.5 to verify on the host"))


def _dotnet_extra(facts: dict[str, Any], os_version: str | None, out: Readiness) -> None:
    usual = default_dotnet(os_version or "", bool(facts.get("powershell"))) or facts["dotnet"]
    extra = [v for v in facts["dotnet"] if v not in usual]
    if extra:
        out.notes.append(Check("dotnet", f".NET {', '.join(extra)} added to this Windows version's own"))


def _system_root(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    root = str(facts.get("system_root") or "")
    if root and root.lower() != DEFAULT_SYSTEM_ROOT.lower():
        out.notes.append(Check("system_root", f"%SystemRoot% is {root}: packages are staged in {root}\\Temp"))


def _locale(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    short_date = facts.get("short_date")
    if short_date and short_date != US_SHORT_DATE:
        out.notes.append(Check("locale", f"short date {short_date}: schtasks dates are written in that order"))


def _adapters(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    default, names = facts.get("default_route_adapter"), facts["adapters"]
    if default is None:
        out.notes.append(Check("adapters", "no adapter carries a default route: the NIC bounce workaround "
                                           "cannot be used"))
    elif default != DEFAULT_ADAPTER or len(names) > 1:
        count = f"{len(names)} adapter{'s' * (len(names) != 1)}"
        out.notes.append(Check("adapters", f"the default route is on \"{default}\" (of {count}): "
                                           "the NIC bounce uses that one"))


def _disk(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    free = facts.get("free_bytes")
    if free is not None and free < FREE_MARGIN:
        out.reasons.append(Check("free_space", f"{int(free) // 2**20} MB free on {facts.get('staging_drive')}, "
                                               f"less than the {FREE_MARGIN // 2**20} MB kept free beside a package",
                                 "free space on the drive of %SystemRoot%"))


def _clock(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if abs(facts["clock_skew"]) > KERBEROS_SKEW:
        out.notes.append(Check("clock", f"the host's clock is {facts['clock_skew']:+.0f} s off the controller's: "
                                        "Kerberos refuses tickets beyond 5 minutes", "synchronise its time (w32tm)"))


def _pending(facts: dict[str, Any], _: str | None, out: Readiness) -> None:
    if facts["pending_reboot"]:
        out.notes.append(Check("pending_reboot", "a restart is pending (" + ", ".join(facts["pending_reboot"]) + ")"))


_RULES = (_channel, _powershell, _winrm, _wmi, _windows_update, _fips, _dotnet_extra, _system_root, _locale,
          _adapters, _disk, _clock, _pending)


def _channel_facts(channel: Channel | None) -> dict[str, Any]:
    if channel is None:
        return {}
    return {"address": channel.address, "port": channel.port, "scheme": channel.scheme, "auth": channel.auth,
            "encryption": channel.encryption}


def _dotnet(names: list[str] | None) -> list[str]:
    """.NET versions from the NDP subkeys (v1.1.4322, v2.0.50727, v3.0, v3.5, v4)."""
    versions = set()
    for name in names or []:
        match = _NDP_VERSION.match(str(name))
        if match:
            versions.add(f"{match[1]}.{match[2] or 0}")
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def _service_state(service: dict[str, Any]) -> str | None:
    if not service:
        return None
    if str(service.get("start_mode") or "").lower() == "disabled":
        return "disabled"
    return str(service.get("state") or "").lower() or None


def _truthy(value: Any) -> bool:
    return value not in (None, "", 0, "0")
