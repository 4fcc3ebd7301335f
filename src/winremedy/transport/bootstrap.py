"""How a PowerShell 2.0 script of any length reaches a host: a tiny bootstrap plus stdin.

A command line through WinRS and cmd.exe fails beyond 8,191 characters (KB830473), and
``powershell -Command -`` runs stdin line by line (multi-line constructs break, and a
parse error only skips a line). So the command line carries only a fixed bootstrap, as
``-EncodedCommand`` (UTF-16LE base64, so no cmd.exe quoting is involved). Stdin carries the
script as base64 of its UTF-8 bytes: pure ASCII, so neither the console code page (pywinrm
opens 437, Ansible 65001) nor line handling can alter it, and it may be sent in chunks cut
anywhere.

The bootstrap reads stdin through ``$input``, never ``[Console]::In``: PowerShell 2.0's
console host reads redirected stdin itself, to EOF, to feed ``$input`` whether or not the
command uses it, so a second reader on the same handle gets part of the data or none;
PowerShell 3.0+ reads it only when the command text names ``$input`` (ConsoleHost.cs in
github.com/PowerShell/PowerShell; field reports: rackspace-monitoring-agent PR 403,
StackStorm st2 PR 1695). Ansible's own bootstrap_wrapper.ps1 reads ``$input`` for the same
reason.

Before it runs the script, the bootstrap prints ``@@WINREMEDY-SCRIPT@@`` and the SHA-1 of
the bytes it decoded, so the controller knows which script arrived (:mod:`.delivery`).
SHA1CryptoServiceProvider is in mscorlib since .NET 2.0 and is allowed under the FIPS
policy, where SHA256Managed throws. ``exit N`` in the script sets the exit code; a
terminating error gives 1.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence

POWERSHELL = "powershell.exe"
DIGEST_SENTINEL = "@@WINREMEDY-SCRIPT@@"
_RUN_DECODED = (
    "$h=New-Object Security.Cryptography.SHA1CryptoServiceProvider;"
    f"'{DIGEST_SENTINEL}'+[BitConverter]::ToString($h.ComputeHash($b)).Replace('-','');"
    "&([scriptblock]::Create([Text.Encoding]::UTF8.GetString($b)))"
)
BOOTSTRAP = "$ProgressPreference='SilentlyContinue';$b=[Convert]::FromBase64String((@($input) -join ''));" + _RUN_DECODED
_ENCODED = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
POWERSHELL_ARGUMENTS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", _ENCODED)
COMMAND_LINE_LIMIT = 8191  # cmd.exe


def encode_script(script: str) -> bytes:
    """The stdin that carries ``script`` to the bootstrap."""
    return base64.b64encode(script.encode("utf-8")) + b"\r\n"


def script_digest(script: str) -> str:
    """What the bootstrap prints after :data:`DIGEST_SENTINEL` when it decoded exactly ``script``."""
    return hashlib.sha1(script.encode("utf-8")).hexdigest().upper()  # noqa: S324 - an identity, not a secret


def reported_digests(stdout: bytes) -> list[str]:
    """The digests a host printed: one when a script arrived, none when PowerShell got no script."""
    return [line[len(DIGEST_SENTINEL):].strip() for line in stdout.decode("ascii", errors="replace").splitlines()
            if line.startswith(DIGEST_SENTINEL)]


def file_loader(path: str) -> str:
    """PowerShell text that runs the base64 script in file ``path`` (then deletes it): no stdin is needed."""
    quoted = path.replace("'", "''")
    return ("$ProgressPreference='SilentlyContinue';"
            f"$p=[Environment]::ExpandEnvironmentVariables('{quoted}');"
            "$b=[Convert]::FromBase64String([IO.File]::ReadAllText($p));[IO.File]::Delete($p);" + _RUN_DECODED)


def encoded_command(text: str) -> tuple[str, ...]:
    """powershell.exe's arguments that run ``text`` (UTF-16LE base64, as -EncodedCommand takes it)."""
    return (*POWERSHELL_ARGUMENTS[:-1], base64.b64encode(text.encode("utf-16-le")).decode("ascii"))


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
