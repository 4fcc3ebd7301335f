"""WinRM connection options, named and defaulted as Ansible's ``ansible_winrm_*`` variables.

One inventory serves both front doors: the CLI reads the same host variables
the Ansible ``winrm`` connection plugin (ansible-core 2.19) reads, with the
same defaults (port 5986; scheme http only on port 5985; transport kerberos
for ``user@REALM``, else ssl on https; ``connection_timeout`` N sets
operation timeout N and read timeout N+10), with one deliberate difference:
credentials never cross the network in clear unless the operator says so.
Ansible's default on http is ``plaintext`` (Basic, the password base64-encoded
in every request); here it is ``ntlm``, whose messages are sealed. Basic over
http, or any logon with ``message_encryption: never`` over http, is refused
unless the host or its group sets ``winremedy_allow_unencrypted: true`` (and
then a warning says so), as Windows itself refuses it unless its WinRM service
has ``AllowUnencrypted=true``. ``server_cert_validation: ignore`` warns too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from winremedy.errors import TransportConfigError
from winremedy.transport.kerberos import KinitRequest

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic", "plaintext", "ssl", "certificate")
ALLOW_UNENCRYPTED = "winremedy_allow_unencrypted"  # the per-host (or group) opt-in to credentials in clear
_UNSEALED = ("basic", "plaintext", "ssl")  # Basic logons: no message encryption of their own
_PREFIX = "ansible_winrm_"
_TRUE = {"yes", "on", "1", "true", "t", "y"}
_FALSE = {"no", "off", "0", "false", "f", "n"}
# Ansible connection variables that have no meaning for winremedy (pywinrm accepts a keytab but never uses it).
_IGNORED = {"keytab"}


@dataclass(frozen=True)
class WinRMOptions:
    """How to reach one host's WinRM listener; field names are the ``ansible_winrm_*`` suffixes."""

    address: str | None = None  # ansible_host; None: the inventory name is the address
    port: int = 5986
    scheme: str = "https"
    path: str = "/wsman"
    transport: str = "ssl"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_trust_path: str | None = None  # None: the system (requests/certifi) store
    server_cert_validation: str = "validate"
    message_encryption: str = "auto"
    operation_timeout_sec: int = 20
    read_timeout_sec: int = 30
    cert_pem: str | None = None
    cert_key_pem: str | None = None
    send_cbt: bool = True
    kerberos_delegation: bool = False
    kerberos_hostname_override: str | None = None
    realm: str | None = None
    service: str = "HTTP"
    credssp_disable_tlsv1_2: bool = False
    kinit_mode: str | None = None  # managed | manual; None: managed for kerberos with a password (Ansible's rule)
    kinit_cmd: str = "kinit"
    kinit_args: str | None = None
    kinit_env_vars: tuple[str, ...] = ()
    proxy: str | None = None  # None: no proxy (pywinrm's environment lookup is deprecated)
    retries: int = 3  # winremedy_retries: retries of a transient fault
    backoff: float = 0.5  # winremedy_backoff: first retry delay in seconds, doubled each time
    allow_unencrypted: bool = False  # winremedy_allow_unencrypted: let credentials and commands go in clear
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_choice("scheme", self.scheme, ("http", "https"))
        _check_choice("transport", self.transport, TRANSPORTS)
        _check_choice("server_cert_validation", self.server_cert_validation, ("validate", "ignore"))
        _check_choice("message_encryption", self.message_encryption, ("auto", "always", "never"))
        if self.kinit_mode is not None:
            _check_choice("kinit_mode", self.kinit_mode, ("managed", "manual"))
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1..65535, not {self.port}")
        if not 0 < self.operation_timeout_sec < self.read_timeout_sec:
            raise ValueError(
                f"read_timeout_sec ({self.read_timeout_sec}) must exceed operation_timeout_sec "
                f"({self.operation_timeout_sec}), both positive"
            )
        if self.retries < 0 or self.backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        if self.in_clear and not self.allow_unencrypted:
            raise ValueError(
                f"{self.in_clear} over http would send the password and every command in clear: refused; use "
                f"https, or ntlm/kerberos with message encryption, or set {ALLOW_UNENCRYPTED}: true for this host"
            )

    @property
    def in_clear(self) -> str:
        """What would cross the network unencrypted (``''``: nothing): Basic, or a logon told not to seal."""
        if self.scheme != "http" or self.transport == "certificate":
            return ""
        if self.transport in _UNSEALED:
            return f"Basic authentication (transport {self.transport})"
        return f"transport {self.transport} with message_encryption never" if self.message_encryption == "never" else ""

    def endpoint(self, host: str) -> str:
        """The WS-Management URL for ``host`` (the inventory name when no address is set)."""
        address = self.address or host
        if ":" in address and not address.startswith("["):
            address = f"[{address}]"  # IPv6 literal
        path = self.path if self.path.startswith("/") else "/" + self.path
        return f"{self.scheme}://{address}:{self.port}{path}"

    def protocol_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``winrm.protocol.Protocol`` (after the endpoint)."""
        return {
            "transport": self.transport,
            "username": self.user,
            "password": self.password,
            **{name: getattr(self, name) for name in _PROTOCOL_NAMES},
        }

    def kinit_request(self) -> KinitRequest | None:
        """The ``kinit`` to run before connecting, or None (not Kerberos, manual mode, or no password)."""
        if self.transport != "kerberos" or not self.user:
            return None
        managed = self.kinit_mode == "managed" or (self.kinit_mode is None and bool(self.password))
        if not managed:
            return None
        return KinitRequest(
            principal=self.user,
            password=self.password or "",
            command=self.kinit_cmd,
            arguments=self.kinit_args,
            env_vars=self.kinit_env_vars,
            forwardable=self.kerberos_delegation,
        )

    @classmethod
    def from_hostvars(cls, hostvars: Mapping[str, Any], host: str) -> WinRMOptions:
        """Options from one host's Ansible variables; unknown ``ansible_winrm_*`` names become warnings.

        Raises :class:`TransportConfigError` naming the host and the variable for a wrong type or value.
        """
        reader = _Reader(hostvars, host)
        port = reader.get("port", _to_port, ("ansible_port", "ansible_winrm_port"), 5986)
        scheme = reader.get("scheme", _CONVERTERS["scheme"], ("ansible_winrm_scheme",), "http" if port == 5985 else "https")
        user = reader.get("user", _to_str, ("ansible_user", "ansible_winrm_user"), None)
        transports = reader.get("transport", _to_transports, ("ansible_winrm_transport",), None)
        if transports is None:  # Ansible: plaintext on http; here NTLM, which seals every message
            transport = "kerberos" if user and "@" in user else ("ssl" if scheme == "https" else "ntlm")
        else:
            transport = transports[0]
            if len(transports) > 1:
                reader.warnings.append(f"{host}: ansible_winrm_transport {transports}: winremedy uses the first only")
        timeouts: dict[str, Any] = {}
        connection_timeout = reader.get("connection_timeout", _to_int, ("ansible_winrm_connection_timeout",), None)
        if connection_timeout is not None:
            timeouts = {"operation_timeout_sec": connection_timeout, "read_timeout_sec": connection_timeout + 10}
        values: dict[str, Any] = {
            "address": reader.get("address", _to_str, ("ansible_host", "ansible_winrm_host"), None),
            "port": port,
            "scheme": scheme,
            "user": user,
            "transport": transport,
            "password": reader.get("password", _to_secret, _PASSWORD_NAMES, None),
            **timeouts,
        }
        for option in dataclasses.fields(cls):
            if option.name not in values and option.name != "warnings":
                convert = _CONVERTERS.get(option.name, _to_str)
                prefix = "winremedy_" if option.name in _OWN else _PREFIX
                values[option.name] = reader.get(option.name, convert, (prefix + option.name,), option.default)
        try:
            options = cls(**values, warnings=tuple(reader.warnings + reader.unknown_names()))
        except ValueError as exc:
            raise TransportConfigError(f"{host}: invalid WinRM options: {exc}") from None
        return dataclasses.replace(options, warnings=options.warnings + tuple(_risks(options, host)))


def _risks(options: WinRMOptions, host: str) -> list[str]:
    """Warnings for what the operator chose to allow: credentials in clear, a server certificate not checked."""
    risks = []
    if options.in_clear:
        risks.append(f"{host}: {options.in_clear} over http: the password and commands cross the network in clear "
                     f"({ALLOW_UNENCRYPTED} is set)")
    if options.scheme == "https" and options.server_cert_validation == "ignore":
        risks.append(f"{host}: server_cert_validation is ignore: anyone on the path can pose as this host "
                     "and receive its credentials")
    return risks


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


class _Reader:
    """Reads variables by precedence and remembers which ``ansible_winrm_*`` names it consumed."""

    def __init__(self, hostvars: Mapping[str, Any], host: str) -> None:
        self._vars = hostvars
        self._host = host
        self._used: set[str] = set()
        self.warnings: list[str] = []

    def get(self, option: str, convert: Callable[[Any], Any], names: tuple[str, ...], default: Any) -> Any:
        self._used.update(names)
        for name in names:
            value = self._vars.get(name)
            if value is None:
                continue
            try:
                return convert(value)
            except (TypeError, ValueError) as exc:
                reason = "must be a string or a number (its value is not shown)" if name in _SECRETS else exc
                raise TransportConfigError(f"{self._host}: variable {name} ({option}): {reason}") from None
        return default

    def unknown_names(self) -> list[str]:
        return [
            f"{self._host}: ignoring unknown variable {name}"
            if name[len(_PREFIX) :] not in _IGNORED
            else f"{self._host}: variable {name} is not used by winremedy"
            for name in sorted(self._vars)
            if name.startswith(_PREFIX) and name not in self._used
        ]


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _to_secret(value: Any) -> str:
    """A password: a string, or a number as Ansible turns it into one (``ansible_password: 31415926``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError("not a string")
    return str(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None


def _to_bool(value: Any) -> bool:
    """Ansible's boolean filter: true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE | _FALSE:
        return str(value).strip().lower() in _TRUE
    raise ValueError(f"expected a boolean (true/false, yes/no), got {value!r}")


def _to_transports(value: Any) -> list[str]:
    """Ansible takes a list or a comma-separated string, tried in order."""
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"expected a transport name or a list of them, got {value!r}")
    for name in names:
        _check_choice("transport", name, TRANSPORTS)
    return names


def _to_names(value: Any) -> tuple[str, ...]:
    """A list of names, or a comma-separated string of them (Ansible's ``list`` option type)."""
    names = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"expected a list of names, got {value!r}")
    return tuple(names)


def _to_port(value: Any) -> int:
    port = _to_int(value)
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1..65535, not {port}")
    return port


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        _check_choice("value", _to_str(value), choices)
        return str(value)

    return convert


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "scheme": _choice("http", "https"),
    "server_cert_validation": _choice("validate", "ignore"),
    "message_encryption": _choice("auto", "always", "never"),
    "operation_timeout_sec": _to_int,
    "read_timeout_sec": _to_int,
    "send_cbt": _to_bool,
    "kerberos_delegation": _to_bool,
    "credssp_disable_tlsv1_2": _to_bool,
    "kinit_mode": _choice("managed", "manual"),
    "kinit_env_vars": _to_names,
    "retries": _to_int,
    "backoff": _to_float,
    "allow_unencrypted": _to_bool,
}
_PROTOCOL_NAMES = (
    "realm", "service", "ca_trust_path", "cert_pem", "cert_key_pem", "server_cert_validation",
    "kerberos_delegation", "read_timeout_sec", "operation_timeout_sec", "kerberos_hostname_override",
    "message_encryption", "credssp_disable_tlsv1_2", "send_cbt", "proxy",
)  # fmt: skip
_PASSWORD_NAMES = ("ansible_password", "ansible_winrm_pass", "ansible_winrm_password")
# Variables whose value never appears in a message, whatever is wrong with it.
_SECRETS = frozenset({*_PASSWORD_NAMES, "ansible_winrm_cert_key_pem"})
_OWN = {"retries", "backoff", "allow_unencrypted"}  # winremedy_*: not Ansible variables
