"""How cmd.exe splits a command line into words: shared by the command line and the batch lines of tasks."""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(r'(?:"[^"]*"|[^\s"])+')


def split(line: str) -> list[str]:
    """A command line's words, quotes kept (``"C:\\a b\\x.exe" /q`` -> ``['"C:\\a b\\x.exe"', '/q']``)."""
    return _TOKEN_RE.findall(line)


def unquote(token: str) -> str:
    return token.replace('"', "")


def split_command(line: str) -> list[str]:
    """A command line's tokens, quotes removed (``"C:\\a b\\x.exe" /q`` -> ``['C:\\a b\\x.exe', '/q']``)."""
    return [unquote(token) for token in split(line)]


def program_name(token: str) -> str:
    """``"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"`` -> ``powershell``."""
    name = unquote(token).replace("/", "\\").rsplit("\\", 1)[-1].lower()
    return name[:-4] if name.endswith(".exe") else name
