"""How a PowerShell 2.0 script of any length reaches a host: a tiny bootstrap plus stdin.

A command line through WinRS and cmd.exe fails beyond 8,191 characters, and
``powershell -Command -`` runs stdin line by line (multi-line constructs
break, and a parse error only skips a line). So the command line carries only
a fixed bootstrap, as ``-EncodedCommand`` (UTF-16LE base64, so no cmd.exe
quoting is involved), about 450 characters. It reads all of stdin, decodes it
and runs it as one script block, so the script parses as a whole or not at
all. Stdin carries the script as base64 of its UTF-8 bytes: pure ASCII, so
neither the console code page nor line handling can alter it, and it may be
sent in chunks cut anywhere. ``exit N`` in the script sets the exit code; a
terminating error gives 1.
"""

from __future__ import annotations

import base64
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence

POWERSHELL = "powershell.exe"
BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';"
    "$winremedy=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd()));"
    "&([scriptblock]::Create($winremedy))"
)
_ENCODED = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
POWERSHELL_ARGUMENTS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", _ENCODED)
COMMAND_LINE_LIMIT = 8191  # cmd.exe


def encode_script(script: str) -> bytes:
    """The stdin that carries ``script`` to the bootstrap."""
    return base64.b64encode(script.encode("utf-8")) + b"\r\n"


def decode_script(command: str, arguments: Sequence[str], stdin: bytes) -> str | None:
    """The script a :data:`BOOTSTRAP` invocation runs, or None for any other command line (for the lab).

    ``arguments`` as the server sees them: pywinrm sends one ``rsp:Arguments`` joined with spaces.
    """
    if command.lower() != POWERSHELL or " ".join(arguments).split() != list(POWERSHELL_ARGUMENTS):
        return None
    return stdin_script(stdin)


def stdin_script(stdin: bytes) -> str:
    """The script text the bootstrap reads from ``stdin`` (raises ValueError when it is not base64 UTF-8)."""
    return base64.b64decode(stdin, validate=False).decode("utf-8")


def quote_arguments(arguments: Sequence[str]) -> list[str]:
    """Each argument quoted by the MS C runtime rules, as WinRS passes them on (cmd.exe still expands %VAR%)."""
    return [subprocess.list2cmdline([argument]) for argument in arguments]


def command_line(command: str, arguments: Sequence[str]) -> str:
    """The line cmd.exe sees (WinRS joins the arguments with spaces)."""
    return " ".join((command, *arguments))


_CLIXML_HEADER = b"#< CLIXML"
_TEXT_STREAMS = {"Error", "Warning", "Verbose", "Debug"}
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def clean_stderr(stderr: bytes, encoding: str) -> bytes:
    """PowerShell's CLIXML stderr as plain text: error/warning records kept, progress records dropped.

    Anything that is not CLIXML, or not well-formed, is returned unchanged.
    """
    if not stderr.startswith(_CLIXML_HEADER):
        return stderr
    text = stderr[len(_CLIXML_HEADER) :].decode(encoding, errors="replace")
    pieces: list[str] = []
    for document in re.findall(r"<Objs\b.*?</Objs>", text, flags=re.DOTALL):
        try:
            root = ET.fromstring(document)
        except ET.ParseError:
            return stderr
        pieces.extend(
            _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), element.text or "")
            for element in root.iter()
            if element.tag.endswith("}S") and element.get("S") in _TEXT_STREAMS
        )
    return "".join(pieces).encode(encoding, errors="replace")
