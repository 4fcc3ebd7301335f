"""The project's PowerShell 2.0 scripts, and the one way they are given their parameters.

Each script starts with an identity line, ``# winremedy-script: <name> <version>``.
:func:`render` inserts ``$WinRemedyArgs = <literal>`` right after it, written by
:func:`winremedy.psdata.ps_data`: parameters reach PowerShell only as data. Then
comes ``common.ps1`` (how every script reports its result), then the includes the
script names on a ``# winremedy-uses: <include> ...`` line (``hostread.ps1``: the
registry and file versions; ``scheduler.ps1``: the Task Scheduler), then the script:
each function is written once, and a script carries only what it uses.
The lab recognises a script by :func:`identify`, the same line in reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..psdata import ps_data

ARGS_VARIABLE = "$WinRemedyArgs"
COMMON = "common"  # included in every rendered script
_IDENTITY_RE = re.compile(r"^# winremedy-script: (?P<name>[a-z_]+) (?P<version>\d+)\r?$", re.MULTILINE)
_USES_RE = re.compile(r"^# winremedy-uses: (?P<names>[a-z_]+(?: [a-z_]+)*)\r?$", re.MULTILINE)


@dataclass(frozen=True)
class ScriptIdentity:
    name: str
    version: int
    args_literal: str | None  # the right-hand side of the $WinRemedyArgs line, as sent


@cache
def source(name: str) -> str:
    """The text of ``scripts/<name>.ps1`` (package data)."""
    return (resources.files(__package__) / f"{name}.ps1").read_text(encoding="utf-8")


def render(name: str, params: dict[str, Any], *, common: bool = True) -> str:
    """The script ``name`` with its parameters bound as a data literal on the line after its identity.

    ``common`` False leaves out ``common.ps1``: for a script that answers by its exit code alone and must
    fit a command line (``verify``, run by a batch file with -EncodedCommand).
    """
    text = source(name)
    first, _, rest = text.partition("\n")
    if not _IDENTITY_RE.match(first):
        raise ValueError(f"scripts/{name}.ps1 does not start with its identity line")
    shared = "".join(source(part).partition("\n")[2] + "\n" for part in includes(name, common=common))
    return f"{first}\n{ARGS_VARIABLE} = {ps_data(params)}\n{shared}{rest}"


def includes(name: str, *, common: bool = True) -> list[str]:
    """The files rendered into script ``name`` before its own text: ``common``, then what it names on its
    ``# winremedy-uses:`` line, in that order."""
    uses = _USES_RE.search(source(name))
    return ([COMMON] if common else []) + (uses["names"].split() if uses else [])


def identify(text: str) -> ScriptIdentity | None:
    """The identity and argument literal of a rendered project script, or None for anything else."""
    first, _, rest = text.lstrip("\ufeff").partition("\n")
    match = _IDENTITY_RE.match(first)
    if not match:
        return None
    args_line = rest.partition("\n")[0].rstrip("\r")
    prefix = f"{ARGS_VARIABLE} = "
    literal = args_line[len(prefix):] if args_line.startswith(prefix) else None
    return ScriptIdentity(match["name"], int(match["version"]), literal)
