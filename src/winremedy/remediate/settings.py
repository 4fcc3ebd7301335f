"""The remediation options, defined once: type, default, choices, validation and help of each.

Both front doors are derived from :class:`Settings`: ``winremedy remediate``
builds its flags with :func:`add_arguments` and the collection's kb_* plugins
build their argument spec with :func:`argument_spec`; both turn what the user
gave into a :class:`Settings` with :meth:`Settings.from_options`, which fills in
the defaults and validates. The collection's documentation and playbooks are
static text (``ansible-doc`` must work without this package); tests compare
them with :func:`argument_spec`, so a default changed here that they do not
follow fails the suite.
"""

from __future__ import annotations

import argparse
import enum
import math
import typing
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any

from ..errors import WinRemedyError
from .poller import DEFAULT_POLL, DEFAULT_TIMEOUT
from .reboot import RebootMode

_ANSIBLE_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


def _option(default: Any, help: str, *, flag: str | None = None, choices: tuple[str, ...] = (),
            metavar: str | None = None) -> Any:
    """A field that is a user option: ``help`` for the CLI, ``flag`` when the CLI spells it otherwise
    (a tuple option is a repeatable flag; a bool option that is on by default has a flag turning it off)."""
    return field(default=default, metadata={"help": help, "flag": flag, "choices": choices, "metavar": metavar})


@dataclass(frozen=True)
class Settings:
    """How one remediation run goes, the same for every host of it."""

    reboot: RebootMode = _option(
        RebootMode.NEVER, "restart now, at the start of the host's maintenance window (inventory variables "
        "winremedy_maintenance_window and winremedy_maintenance_timezone), or never (install and report the "
        "pending restart)")
    kbs: tuple[str, ...] = _option((), "only this KB (repeatable)", flag="--kb", metavar="KB")
    install_gdr: bool = _option(True, "do not install on hosts whose status is unknown because their files are "
                                      "GDR-branch builds", flag="--skip-gdr")
    method: str = _option("auto", "Windows 7 / 2008 R2 installer: wusa in a scheduled task (auto) or expand + DISM",
                          choices=("auto", "dism"))
    nic_bounce: bool = _option(False, "KB2847346 with --reboot never: schedule a network adapter bounce that frees "
                                      "the NSI registrations (drops the host's connectivity for a moment)")
    verify_samples: int = _option(4, "leak samples when verifying (3 or more give a leak verdict; at least 1)")
    verify_interval: float = _option(600.0, "host seconds between verification samples")
    install_timeout: float = _option(DEFAULT_TIMEOUT, "seconds per install")
    reboot_timeout: float = _option(DEFAULT_TIMEOUT, "seconds a host may take to come back")
    poll: float = _option(DEFAULT_POLL, "seconds between checks of a running install or a restarting host (above 0)")
    check: bool = False  # plan only; each front door's own switch (--check, Ansible's check mode)

    def __post_init__(self) -> None:
        for name in ("verify_interval", "install_timeout", "reboot_timeout", "poll"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):  # float("nan") and float("inf") parse
                raise WinRemedyError(f"{name} must be a finite number of seconds, 0 or more, got {value:g}")
        if self.verify_samples < 1 or self.poll <= 0:
            raise WinRemedyError(f"verify_samples must be at least 1 and poll above 0, got {self.verify_samples} "
                                 f"and {self.poll:g}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], **fixed: Any) -> Settings:
        """Settings from the options given (by option name), the defaults for the rest; ``fixed`` as is."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for option in options_of():
            value = options.get(option.name)
            if value is None:
                value = _default(option)
            kind = hints[option.name]
            values[option.name] = tuple(str(v) for v in value) if _is_tuple(kind) else kind(value)
        return cls(**values, **fixed)


def options_of() -> list[Field[Any]]:
    """The fields of :class:`Settings` that are user options, in order."""
    return [f for f in fields(Settings) if f.metadata]


def argument_spec() -> dict[str, dict[str, Any]]:
    """Each option as an Ansible argument spec entry (type, elements, choices, default)."""
    spec = {}
    for option in options_of():
        kind, default = typing.get_type_hints(Settings)[option.name], _default(option)
        if _is_tuple(kind):
            spec[option.name] = {"type": "list", "elements": "str", "default": list(default)}
            continue
        entry: dict[str, Any] = {"type": _ANSIBLE_TYPES[str if _is_enum(kind) else kind]}
        choices = _choices(option, kind)
        if choices:
            entry["choices"] = list(choices)
        entry["default"] = default.value if isinstance(default, enum.Enum) else default
        spec[option.name] = entry
    return spec


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Each option as a flag of ``winremedy remediate`` (``--verify-samples N``, ``--kb KB`` repeated, ...)."""
    hints = typing.get_type_hints(Settings)
    for option in options_of():
        kind, default, meta = hints[option.name], _default(option), option.metadata
        flag = meta["flag"] or "--" + option.name.replace("_", "-")
        if kind is bool:
            action = "store_false" if default else "store_true"
            parser.add_argument(flag, dest=option.name, action=action, help=meta["help"])
        elif _is_tuple(kind):
            parser.add_argument(flag, dest=option.name, action="append", metavar=meta["metavar"], help=meta["help"])
        else:
            shown = default.value if isinstance(default, enum.Enum) else default
            parser.add_argument(flag, dest=option.name, type=str if _is_enum(kind) else kind, default=shown,
                                choices=_choices(option, kind) or None, metavar=meta["metavar"],
                                help=f"{meta['help']} (default {shown:g})" if kind is float
                                else f"{meta['help']} (default {shown})")


def _default(option: Field[Any]) -> Any:
    return option.default


def _choices(option: Field[Any], kind: Any) -> tuple[str, ...]:
    return tuple(m.value for m in kind) if _is_enum(kind) else tuple(option.metadata["choices"])


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def _is_tuple(kind: Any) -> bool:
    return typing.get_origin(kind) is tuple
