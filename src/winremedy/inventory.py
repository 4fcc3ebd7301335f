"""Ansible inventories as winremedy targets, read by ansible-core's own inventory, variable and vault code.

One inventory serves both front doors: ``winremedy audit -i INVENTORY`` sees the
hosts, groups, ``group_vars``/``host_vars``, vault values and templates exactly as
a playbook does, because Ansible itself resolves them. This is the only module
that imports ``ansible``, and only inside functions, so importing it (or the rest
of winremedy) costs nothing until an inventory is actually loaded. Written for
ansible-core 2.19 (data tagging: trusted templates, lazily decrypted ``!vault``
strings).

Ansible reports an unparsable source only as a warning on stderr; here every
source must parse, Ansible's printed output is captured, and its reasons end up
in a one-line :class:`InventoryError` (or, when loading succeeds, in the
``winremedy.inventory`` logger).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from winremedy.errors import InventoryError, TransportConfigError
from winremedy.transport.options import WinRMOptions

if TYPE_CHECKING:
    from ansible.errors import AnsibleError
    from ansible.inventory.host import Host
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret
    from ansible.vars.manager import VariableManager

_log = logging.getLogger(__name__)

# Variables winremedy connects with: a template or vault value among them that cannot be resolved is an
# error; any other such variable is left out of Target.hostvars with a warning, as Ansible would not
# resolve it either unless a task used it.
_CONNECTION_NAMES = frozenset(
    {"ansible_host", "ansible_port", "ansible_user", "ansible_password", "ansible_connection"}
)
_CONNECTION_PREFIXES = ("ansible_winrm_", "winremedy_")
_WINRM_CONNECTIONS = frozenset({"winrm", "ansible.builtin.winrm"})
# Magic variables that grow with the fleet (or only exist in a play): kept out of each Target.hostvars.
_FLEET_WIDE = frozenset({"groups", "hostvars", "omit"})
_JINJA_STARTS = ("{{", "{%", "{#")
_PLAIN_SCALARS = (str, int, float, bool, type(None))
_MESSAGE_START = re.compile(r"^\[(?:WARNING|ERROR|DEPRECATION WARNING)\]: ", re.MULTILINE)
_ANSI_COLOR = re.compile(r"\x1b\[[0-9;]*m")
_ORIGIN_LINE = re.compile(r"^Origin: (.+:\d+(?::\d+)?)$", re.MULTILINE)
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_PLUGIN_FAILURE = re.compile(r"^Failed to parse inventory with '([^']+)' plugin: ")


@dataclass(frozen=True)
class Target:
    """One inventory host, its variables resolved as Ansible resolves them, and how to reach it over WinRM.

    A host whose connection variables are wrong has no ``options`` but an ``error`` saying why: that host
    fails with the reason, the others are worked on.
    """

    name: str  # inventory_hostname
    hostvars: Mapping[str, Any] = field(repr=False)  # read-only; holds passwords
    groups: tuple[str, ...]  # group_names: every group of the host except 'all'
    options: WinRMOptions | None
    warnings: tuple[str, ...] = ()
    error: str | None = None  # one line naming the host and the variable; never a secret's value

    def winrm_options(self) -> WinRMOptions:
        """The options to connect with; :class:`TransportConfigError` (the host's ``error``) when they are wrong."""
        if self.options is None:
            raise TransportConfigError(self.error or f"{self.name}: no WinRM options")
        return self.options


def load_targets(
    sources: Sequence[str],
    *,
    limit: str | None = None,
    vault_password_files: Sequence[str] = (),
    extra_vars: Mapping[str, Any] | None = None,
) -> list[Target]:
    """The hosts of the inventory ``sources`` (``-i``, in order), narrowed by an Ansible ``limit`` pattern,
    in Ansible's host order.

    ``extra_vars`` take precedence over every inventory variable, as ``-e`` does; their top-level strings
    may be templates. Raises :class:`InventoryError` (one line naming the source, host or variable) for a missing
    or unparsable source, a limit matching nothing, a wrong vault password. A host whose connection variable
    is wrong or cannot be resolved is returned with its ``error`` (see :class:`Target`), so one bad host never
    stops the others.
    Ansible's printed output is captured while loading (not thread-safe: it swaps ``sys.stdout``/``stderr``).
    """
    if not sources:
        raise InventoryError("no inventory source given")
    for source in sources:
        if "," not in source and not os.path.exists(source):  # a comma makes it a host list, as in Ansible
            raise InventoryError(f"inventory source not found: {source}")
    _start_ansible()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        targets = _load(list(sources), limit, vault_password_files, dict(extra_vars or {}), output)
    for message in _messages(output.getvalue()):
        _log.warning("ansible: %s", message.partition("\n")[0])
    return targets


def _start_ansible() -> None:
    """Create Ansible's Display while ``sys.stdout``/``stderr`` are the real streams: it adapts them once, at import."""
    import ansible.utils.display  # noqa: F401


def _load(
    sources: list[str],
    limit: str | None,
    password_files: Sequence[str],
    extra_vars: dict[str, Any],
    output: io.StringIO,
) -> list[Target]:
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import trust_as_template
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    secrets = _vault_secrets(loader, password_files)
    loader.set_vault_secrets(secrets)
    inventory = _parse(loader, sources, output)
    hosts = _select(inventory, limit, sources, output)
    variables = VariableManager(loader=loader, inventory=inventory)
    extra = {name: trust_as_template(value) if isinstance(value, str) else value for name, value in extra_vars.items()}
    with _vault_context(secrets):
        return [_target(host, variables, loader, extra, sources, secrets) for host in hosts]


def _vault_secrets(loader: DataLoader, password_files: Sequence[str]) -> list[tuple[str, VaultSecret]]:
    """Secrets from password files, or from executable password scripts, as ``--vault-password-file`` reads them."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import get_file_vault_secret

    secrets = []
    for path in password_files:
        try:
            secret = get_file_vault_secret(filename=path, vault_id="default", loader=loader)
            secret.load()
        except AnsibleError as exc:
            raise InventoryError(f"vault password file {path}: {_one_line(exc)}") from None
        secrets.append(("default", secret))
    return secrets


@contextlib.contextmanager
def _vault_context(secrets: list[tuple[str, VaultSecret]]) -> Iterator[None]:
    """Our secrets for inline ``!vault`` values while loading, then whatever was there before.

    ansible-core 2.19 decrypts them on use with a process-wide ``VaultSecretsContext`` that can be
    initialized once only (the ansible CLI does it at start), so its secrets are swapped, not replaced.
    """
    from ansible.parsing.vault import VaultSecretsContext

    context = VaultSecretsContext.current(optional=True)
    if context is None:
        context = VaultSecretsContext([])
        VaultSecretsContext.initialize(context)
    previous, context.secrets = context.secrets, secrets
    try:
        yield
    finally:
        context.secrets = previous


def _parse(loader: DataLoader, sources: list[str], output: io.StringIO) -> InventoryManager:
    """Every source must parse: Ansible would warn, skip it and go on with fewer hosts."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager

    unparsed: list[str] = []

    class _StrictInventoryManager(InventoryManager):
        def parse_source(self, source: str, cache: bool = False) -> bool:
            parsed = bool(super().parse_source(source, cache=cache))
            if not parsed and not os.path.isdir(source):  # a directory's files are recorded one by one
                unparsed.append(source)
            return parsed

    try:
        inventory = _StrictInventoryManager(loader, sources=sources)
    except AnsibleError as exc:
        raise InventoryError(f"inventory {', '.join(sources)}: {_one_line(exc)}") from None
    if unparsed:
        source = unparsed[0]
        raise InventoryError(f"cannot parse inventory {source}: {_parse_failure(output.getvalue(), source)}")
    if not inventory.hosts:
        raise InventoryError(f"no hosts in inventory {', '.join(sources)}")
    return inventory


def _select(inventory: InventoryManager, limit: str | None, sources: list[str], output: io.StringIO) -> list[Host]:
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import split_host_pattern

    if limit is not None and any(not term.lstrip("!&") for term in split_host_pattern(limit) or [""]):
        raise InventoryError(f"limit {limit!r}: a term is empty (a lone '!' or '&' names no host or group)")
    try:
        if limit:
            inventory.subset(limit)
        hosts = inventory.get_hosts()
    except AnsibleError as exc:
        raise InventoryError(f"limit {limit!r}: {_one_line(exc)}") from None
    if not hosts:
        reasons = "; ".join(message.partition("\n")[0] for message in _messages(output.getvalue()))
        raise InventoryError(
            f"limit {limit!r} matches no host in {', '.join(sources)}" + (f" ({reasons})" if reasons else "")
        )
    return hosts


def _target(
    host: Host,
    variables: VariableManager,
    loader: DataLoader,
    extra_vars: dict[str, Any],
    sources: list[str],
    secrets: list[tuple[str, VaultSecret]],
) -> Target:
    from ansible.errors import AnsibleError

    try:
        raw = variables.get_vars(host=host, include_hostvars=False)
    except AnsibleError as exc:
        culprit = _undecryptable_file(sources, secrets)
        if culprit and not secrets:
            raise InventoryError(f"{culprit} is vault-encrypted and no vault password file was given") from None
        if culprit:
            raise InventoryError(f"cannot decrypt {culprit}: {_one_line(exc)}") from None
        raise InventoryError(f"host {host.name}: variables: {_one_line(exc)}") from None
    raw.update(extra_vars)
    groups = tuple(name for name in raw.get("group_names", ()) if isinstance(name, str))
    try:
        hostvars, warnings = _resolve(host.name, raw, loader)
        options = WinRMOptions.from_hostvars(hostvars, host.name)
    except _VaultFailure:
        raise  # a missing or wrong vault password is the run's problem, not this host's
    except (InventoryError, TransportConfigError) as error:
        return Target(name=host.name, hostvars=MappingProxyType({}), groups=groups, options=None, error=str(error))
    connection = hostvars.get("ansible_connection")
    if connection is not None and connection not in _WINRM_CONNECTIONS:
        warnings.append(f"{host.name}: ansible_connection is {connection!r}; winremedy connects over WinRM")
    return Target(
        name=host.name,
        hostvars=MappingProxyType(hostvars),
        groups=groups,
        options=options,
        warnings=options.warnings + tuple(warnings),
    )


def _resolve(name: str, raw: dict[str, Any], loader: DataLoader) -> tuple[dict[str, Any], list[str]]:
    """Template (and decrypt) what needs it, then turn Ansible's tagged values into plain Python ones."""
    from ansible.errors import AnsibleError
    from ansible.template import Templar

    templar: Templar | None = None
    resolved: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in raw.items():
        if key in _FLEET_WIDE:
            continue
        if _needs_templar(value):
            templar = templar or Templar(loader=loader, variables=raw)
            try:
                value = templar.template(value)
            except AnsibleError as exc:
                if _is_connection_variable(key):
                    failure = _VaultFailure if _undecryptable(exc) else InventoryError
                    raise failure(f"host {name}: variable {key}: {_one_line(exc)}") from None
                warnings.append(f"{name}: variable {key} left out: {_one_line(exc)}")
                continue
        resolved[key] = _plain(value)
    return resolved, warnings


def options_from_hostvars(name: str, hostvars: Mapping[str, Any]) -> WinRMOptions:
    """WinRM options from a host's variables as a running play hands them over (templated, vault values decrypted
    on access): only the connection variables are read, as plain Python values, then read as the CLI reads them.

    Raises :class:`TransportConfigError` naming the host and the variable, as :func:`load_targets` records it.
    """
    connection = {key: _plain(hostvars[key]) for key in hostvars if _is_connection_variable(key)}
    return WinRMOptions.from_hostvars(connection, name)


def _is_connection_variable(key: str) -> bool:
    return key in _CONNECTION_NAMES or key.startswith(_CONNECTION_PREFIXES)


class _VaultFailure(InventoryError):
    """A vault value that the given vault passwords cannot decrypt."""


def _undecryptable(exc: BaseException | None) -> bool:
    """Whether Ansible failed on a vault value it could not decrypt (no or a wrong vault password).

    ansible-core 2.19 raises a template error caused by its (internal) ``UndecryptableVaultError``, or an
    ``AnsibleVaultError``; both are looked for along the chain, the internal one by name.
    """
    from ansible.parsing.vault import AnsibleVaultError

    while exc is not None:
        if isinstance(exc, AnsibleVaultError) or type(exc).__name__ == "UndecryptableVaultError":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _needs_templar(value: Any) -> bool:
    """A Jinja string, or a value only Ansible can resolve (a vault-encrypted string), possibly nested."""
    if isinstance(value, str):
        return any(start in value for start in _JINJA_STARTS)
    if isinstance(value, Mapping):
        return any(_needs_templar(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_needs_templar(item) for item in value)
    return not isinstance(value, _PLAIN_SCALARS)


def _plain(value: Any) -> Any:
    """Built-in types instead of Ansible's tagged subclasses, so nothing Ansible leaks into the engine."""
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return value


def _undecryptable_file(sources: list[str], secrets: list[tuple[str, VaultSecret]]) -> str | None:
    """The vault-encrypted group_vars/host_vars file next to an inventory source that the secrets cannot open.

    Ansible's error for it names no file; this is only looked for after a failure.
    """
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, is_encrypted_file

    vault = VaultLib(secrets)
    for source in sources:
        if not os.path.exists(source):
            continue  # a host list
        base = Path(source if os.path.isdir(source) else os.path.dirname(source))
        for path in sorted(p for sub in ("group_vars", "host_vars") for p in (base / sub).rglob("*") if p.is_file()):
            with path.open("rb") as stream:
                if not is_encrypted_file(stream):
                    continue
            try:
                vault.decrypt(path.read_bytes())
            except AnsibleError:
                return str(path)
    return None


def _messages(text: str) -> list[str]:
    """Ansible's printed warnings and errors, each without its ``[WARNING]: `` label, colors removed."""
    return [part.strip() for part in _MESSAGE_START.split(_ANSI_COLOR.sub("", text))[1:] if part.strip()]


def _parse_failure(text: str, source: str) -> str:
    """Why each inventory plugin rejected ``source``, from Ansible's warnings, on one line."""
    reasons: dict[str, str] = {}  # Ansible's reason -> with plugin and location; the first plugin giving it wins
    for message in _messages(text):
        first = message.partition("\n")[0]
        plugin = _PLUGIN_FAILURE.match(first)
        if plugin is None or source not in message:
            continue  # not a plugin's failure on this source
        if plugin.group(1) == "ini" and source.endswith(_YAML_SUFFIXES):
            continue  # the ini plugin's view of a YAML file is noise
        reason = first[plugin.end() :]
        origin = _ORIGIN_LINE.search(message)
        where = f" (at {origin.group(1)})" if origin else ""
        reasons.setdefault(reason, f"{plugin.group(1)} plugin: {reason}{where}")
    return "; ".join(reasons.values()) or "no inventory plugin accepted it"


def _one_line(exc: AnsibleError) -> str:
    """Ansible's message without the excerpt and help below it, plus where the offending content came from."""
    message = str(exc).strip().partition("\n")[0]
    where = _origin(exc)
    return f"{message} (at {where})" if where and where not in message else message


def _origin(exc: BaseException | None) -> str | None:
    """``path[:line[:column]]`` of the content an Ansible error (or the error it wraps) points at.

    Ansible attaches it as ``obj`` (a data-tagging ``Origin`` dataclass), often on an inner error only; other
    ``obj`` values (template markers) raise on any attribute access, so only dataclasses are looked into.
    """
    while exc is not None:
        origin = getattr(exc, "obj", None)
        if is_dataclass(origin) and getattr(origin, "path", None):
            return str(origin)
        exc = exc.__cause__ or exc.__context__
    return None
