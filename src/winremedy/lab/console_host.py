"""What powershell.exe does with a command that loads a script from stdin or a file, by PowerShell version.

The lab never runs PowerShell. It reads the few statements a loader is made of and does
what each does on the emulated host, so a loader that would lose its script on a real host
loses it here too:

* where the bytes come from: ``$input`` (the console host's reader), ``[Console]::In.ReadToEnd()``
  (a second reader on the same handle) or ``[IO.File]::ReadAllText(path)``;
* ``[Convert]::FromBase64String`` of them (whitespace skipped, as .NET does);
* a SHA-1 of the bytes printed after ``@@WINREMEDY-SCRIPT@@`` when the loader asks for it;
* ``[IO.File]::Delete(path)``; ``[scriptblock]::Create`` of the UTF-8 text, which is then run.

Stdin by version: PowerShell 2.0's console host reads redirected stdin to EOF to feed
``$input`` whether or not the command uses it, so ``[Console]::In`` finds nothing (on a real
host the two readers race: part of the data or none; the lab gives none, the worst case).
PowerShell 3.0+ reads stdin only when the command text names ``$input``; otherwise
``[Console]::In`` gets all of it. Sources: ConsoleHost.cs and Executor.cs in
github.com/PowerShell/PowerShell (3.0+ behaviour); rackspace-monitoring-agent PR 403 and
StackStorm st2 PR 1695 (2.0 reads stdin whatever the command).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..transport.bootstrap import DIGEST_SENTINEL

_INPUT = re.compile(r"\$input\b", re.IGNORECASE)
_CONSOLE_IN = re.compile(r"\[Console\]::In\.ReadToEnd\(\)", re.IGNORECASE)
_FROM_BASE64 = re.compile(r"\[Convert\]::FromBase64String\(", re.IGNORECASE)
_READ_FILE = re.compile(r"\[IO\.File\]::ReadAllText\(", re.IGNORECASE)
_DELETE_FILE = re.compile(r"\[IO\.File\]::Delete\(", re.IGNORECASE)
_PATH = re.compile(r"ExpandEnvironmentVariables\('((?:[^']|'')*)'\)", re.IGNORECASE)
_SHA1 = re.compile(r"SHA1CryptoServiceProvider", re.IGNORECASE)
_CREATE = re.compile(r"\[scriptblock\]::Create\(", re.IGNORECASE)


@dataclass(frozen=True)
class Stdin:
    """What the command can read: ``$input``'s lines, and what ``[Console]::In.ReadToEnd()`` returns."""

    input_lines: tuple[str, ...]
    console_in: str


def reads_stdin(command_text: str) -> bool:
    """Whether the command waits for stdin to end before it can finish (it names a stdin reader)."""
    return bool(_INPUT.search(command_text) or _CONSOLE_IN.search(command_text))


def stdin_for(version: str, command_text: str, stdin: bytes, encoding: str = "cp437") -> Stdin:
    """Split ``stdin`` between the host's reader and ``[Console]::In`` as PowerShell ``version`` does."""
    text = stdin.decode(encoding, errors="replace")
    if version == "2.0" or _INPUT.search(command_text):
        return Stdin(tuple(text.splitlines()), "")
    return Stdin((), text)


@dataclass(frozen=True)
class Loaded:
    """What a loader command did: the script it will run (None: it is no loader), what it printed first."""

    script: str | None
    preamble: str = ""
    error: str | None = None  # a terminating error before the script ran
    deleted: str | None = None  # the file the loader deleted


def load(command_text: str, stdin: Stdin, read_file: Callable[[str], str | None]) -> Loaded:
    """The script a loader command runs, from where it reads it; None when the text is no loader."""
    if not (_FROM_BASE64.search(command_text) and _CREATE.search(command_text)):
        return Loaded(None)
    path_match = _PATH.search(command_text)
    path = path_match.group(1).replace("''", "'") if path_match else None
    if _READ_FILE.search(command_text):
        data = read_file(path) if path else None
        if data is None:
            return Loaded("", error=f'Exception calling "ReadAllText" with "1" argument(s): "Could not find file '
                                    f"'{path}'.\"")
        source = data
    elif _INPUT.search(command_text):
        source = "".join(stdin.input_lines)
    elif _CONSOLE_IN.search(command_text):
        source = stdin.console_in
    else:
        return Loaded(None)
    try:
        raw = base64.b64decode("".join(source.split()), validate=True)
        script = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return Loaded("", error='Exception calling "FromBase64String" with "1" argument(s): '
                                '"Invalid character in a Base-64 string."')
    preamble = ""
    if _SHA1.search(command_text) and DIGEST_SENTINEL in command_text:
        preamble = f"{DIGEST_SENTINEL}{hashlib.sha1(raw).hexdigest().upper()}\r\n"  # noqa: S324 - an identity
    deleted = path if (path and _DELETE_FILE.search(command_text)) else None
    return Loaded(script, preamble, deleted=deleted)
