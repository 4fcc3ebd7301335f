"""Proof that a script arrived, and a second way to send it when stdin delivered nothing.

Every script goes first through the stdin bootstrap (:mod:`.bootstrap`), which prints the
SHA-1 of what it decoded before running it. The controller compares that digest with the
script it sent: equal, the answer is the script's; different, the answer is refused; absent
from an answer with exit code 0 and no error (PowerShell ran and read no script from stdin),
the script is sent once more by the file route, which needs no stdin: its base64 is appended to
a file under the logon's ``%TEMP%`` in pieces that each fit a command line, then a short
``-EncodedCommand`` loader runs it (and deletes the file). The loader is ``-EncodedCommand``
rather than ``-File`` because PowerShell 2.0 returns only 0 or 1 from ``-File`` (reported in
sensu-plugins-windows #38). The route that worked is kept for the rest of the run.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
from collections.abc import Callable, Iterator

from ..errors import ProtocolError
from .base import Result
from .bootstrap import (
    COMMAND_LINE_LIMIT,
    DIGEST_SENTINEL,
    POWERSHELL,
    command_line,
    encoded_command,
    file_loader,
    reported_digests,
    script_digest,
)

NOT_RECOGNIZED = 9009  # cmd.exe's exit code for an unknown program (MSG_DIR_BAD_COMMAND_OR_FILE)


class Route(str, enum.Enum):
    STDIN = "stdin"
    FILE = "file"


ViaStdin = Callable[[str], Result]
ViaFile = Callable[[str, str], Result]  # (file path, script) -> the loader's result


class ScriptDelivery:
    """How scripts reach one host for this run: stdin first, the file route once stdin has delivered nothing."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.route = Route.STDIN
        self.fell_back = False

    def run(self, script: str, via_stdin: ViaStdin, via_file: ViaFile) -> Result:
        if self.route is Route.STDIN:
            result = via_stdin(script)
            if self._arrived(result, script) or result.rc != 0 or result.stderr.strip():
                return _without_digest(result)  # delivered, or failed before any script ran: that answer stands
            self.route, self.fell_back = Route.FILE, True  # PowerShell ran and read no script
        result = via_file(f"%TEMP%\\winremedy-{script_digest(script)[:16]}.b64", script)
        if not self._arrived(result, script) and result.rc != NOT_RECOGNIZED:
            raise ProtocolError(f"{self.host}: the script did not arrive by stdin nor by file "
                                f"(exit code {result.rc}, {len(result.stdout)} bytes of output)")
        return _without_digest(result)

    def _arrived(self, result: Result, script: str) -> bool:
        digests = reported_digests(result.stdout)
        if not digests:
            return False
        if digests != [script_digest(script)]:
            raise ProtocolError(f"{self.host}: the host ran another script than the one sent "
                                f"(digest {digests[0][:12]}..., expected {script_digest(script)[:12]}...)")
        return True


def _without_digest(result: Result) -> Result:
    """The script's own output: the bootstrap's digest line is the transport's business."""
    lines = result.stdout.splitlines(keepends=True)
    kept = b"".join(line for line in lines if not line.startswith(DIGEST_SENTINEL.encode("ascii")))
    return dataclasses.replace(result, stdout=kept)


def echo_lines(path: str, script: str, limit: int = COMMAND_LINE_LIMIT) -> Iterator[str]:
    """cmd.exe lines appending the script's base64 to ``path``, each within ``limit`` characters.

    ``echo X >>file`` keeps a space before ``>>``: ``echo ...2>>file`` would redirect stderr
    and drop the digit. The base64 alphabet has no character cmd.exe treats specially, and
    FromBase64String skips the spaces and line ends.
    """
    suffix = f' >>"{path}"'
    line = ""
    for piece in _pieces(script, limit - len("echo ") - len(suffix) - len(" & ")):
        command = f"echo {piece}{suffix}"
        if line and len(line) + len(" & ") + len(command) > limit:
            yield line
            line = ""
        line = f"{line} & {command}" if line else command
    if line:
        yield line


def _pieces(script: str, size: int) -> list[str]:
    text = base64.b64encode(script.encode("utf-8")).decode("ascii")
    return [text[i:i + size] for i in range(0, len(text), size)]


def via_powershell_append(run_text: Callable[[str], Result], path: str, script: str, *, piece: int = 2400) -> Result:
    """The file route where every command is PowerShell text (Ansible's winrm connection encodes each one).

    ``piece`` keeps the encoded command line (UTF-16LE base64: 8 characters per 3 of text, plus
    the connection's own wrapping) under cmd.exe's limit.
    """
    target = f"[Environment]::ExpandEnvironmentVariables('{path}')"
    run_text(f"[IO.File]::Delete({target})").check()
    for chunk in _pieces(script, piece):
        run_text(f"[IO.File]::AppendAllText({target},'{chunk}')").check()
    return run_text(file_loader(path))


def via_cmd_echo(run_line: Callable[[str], Result], run_loader: Callable[[tuple[str, ...]], Result],
                 path: str, script: str) -> Result:
    """The file route through cmd.exe: the echo lines, then the loader (its arguments for powershell.exe)."""
    run_line(f'del /q "{path}" 2>nul')  # a piece of an earlier, interrupted try must not be appended to
    for line in echo_lines(path, script):
        run_line(line).check()
    arguments = encoded_command(file_loader(path))
    if len(command_line(POWERSHELL, arguments)) > COMMAND_LINE_LIMIT:
        raise ProtocolError(f"file loader for {path} does not fit a command line")  # a bug: the loader is fixed
    return run_loader(arguments)
