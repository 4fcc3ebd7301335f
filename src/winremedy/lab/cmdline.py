"""Command-line dispatch: what a host answers to a WinRS command, without ever executing it.

Three kinds of command are understood:

* cmd.exe built-ins and tiny tools (``hostname``, ``ver``, ``ipconfig``,
  ``whoami``, ``exit N``, ``cmd /c ...``), answered as cmd.exe would, joined by
  ``&``, ``&&``, ``||`` and pipes (``echo y| cacls ...``: what one prints is the next one's
  stdin), ``|`` binding tighter than ``&&`` and ``||``, and those tighter than ``&``;
* ``powershell ... -EncodedCommand X`` (decoded, UTF-16LE base64; Ansible
  wraps twice and adds exit-code lines, which are unwrapped) and
  ``powershell ... -Command -`` (script read from stdin);
* the project's own scripts, recognised by identity
  (:func:`winremedy.scripts.identify`): a first line
  ``# winremedy-script: <name> <version>`` and parameters as a data literal
  (:func:`winremedy.psdata.read_ps_data`, which reads, never runs). They
  arrive through the transport's stdin bootstrap
  (:mod:`winremedy.transport.bootstrap`), ``-Command -`` or ``-File``.
  Each is answered by the handler of its name in the ``scripts`` table the
  :class:`CommandLine` is built with (``lab.emulated`` hands in the lab's
  stand-ins: ``collect``, ``stage``, ``task``, ``power``, ``sampler``).

Programs (``wusa``, ``shutdown``...) run directly in the shell come from the
``programs`` table it is built with, the one scheduled tasks use
(``lab.scheduler``).

A command line (command and arguments joined by spaces, as WinRS hands it to
cmd.exe) longer than 8,191 characters fails as cmd.exe fails it, rc 1 and
"The command line is too long." (KB830473; pywinrm issues #87 and #184): what
happens to pywinrm's ``run_ps`` of a script over about 3 KB. The transport's
stdin bootstrap keeps its command line short.

Anything else fails the way a host fails on an unknown command. ``ver`` is a
cmd.exe built-in, so inside PowerShell it is unknown (``cmd /c ver`` works).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from ..psdata import read_ps_data
from ..scripts import identify
from ..transport.delivery import NOT_RECOGNIZED
from . import acltools, cmdtools, console_host
from .api import CommandResult
from .host import HostModel
from .scheduler import Programs, RunContext, run_program
from .tokens import program_name as _program
from .tokens import split as _split
from .tokens import split_command
from .tokens import unquote as _unquote

ScriptHandler = Callable[[HostModel, dict[str, Any]], CommandResult]
Scripts = Mapping[str, ScriptHandler]  # project script name -> its stand-in

_log = logging.getLogger(__name__)
MAX_COMMAND_LINE = 8191  # cmd.exe's limit, in characters
_OUTSIDE_QUOTES = r'(?=(?:[^"]*"[^"]*")*[^"]*$)'
_CHAIN_RE = re.compile(r'\s&\s' + _OUTSIDE_QUOTES)  # an '&' outside quotes
_CONDITIONAL_RE = re.compile(r'\s*(&&|\|\|)\s*' + _OUTSIDE_QUOTES)  # '&&' and '||' outside quotes
_PIPE_RE = re.compile(r'\s*(?<!\|)\|(?!\|)\s*' + _OUTSIDE_QUOTES)  # one '|' outside quotes
# A trailing redirection: ' >>"file"', ' 2>nul'. A handle digit counts only after a space, as in cmd.exe.
_REDIRECT_RE = re.compile(r'\s(?P<fd>[12]?)(?P<op>>>?)\s*(?P<target>"[^"]*"|[^\s"]+)\s*$')
# Lines Ansible and pywinrm wrap around a raw command; they change nothing the lab answers.
_WRAPPER_RES = (
    re.compile(r"^Set-StrictMode -Version Latest$", re.IGNORECASE),
    re.compile(r"^If \(-not \$\?\) \{.*\}$", re.IGNORECASE),
    re.compile(r"^try \{ \[Console\]::OutputEncoding = .*\} catch \{\}$", re.IGNORECASE),
    re.compile(r"^\$ProgressPreference\s*=\s*'SilentlyContinue'$", re.IGNORECASE),
)
# Ends a PowerShell script with a native command's exit code (Ansible's wrapper does so on failure); without
# it powershell.exe -Command exits 1 after a failed native command.
_EXIT_CODE_RE = re.compile(r"^(?:exit \$LASTEXITCODE|If \(-not \$\?\) \{.*exit \$LASTEXITCODE.*\})$", re.IGNORECASE)
_EXTERNAL_TOOLS = ("hostname", "ipconfig", "whoami", "cmd")  # programs, so PowerShell finds them too

# PowerShell.exe parameters: name -> takes a value. Aliases first, then unique prefixes, as powershell.exe resolves them.
_PS_PARAMETERS = {
    "encodedcommand": True,
    "executionpolicy": True,
    "command": True,
    "file": True,
    "inputformat": True,
    "outputformat": True,
    "windowstyle": True,
    "version": True,
    "psconsolefile": True,
    "noprofile": False,
    "noninteractive": False,
    "nologo": False,
    "noexit": False,
    "sta": False,
    "mta": False,
}
_PS_ALIASES = {"e": "encodedcommand", "ec": "encodedcommand", "enc": "encodedcommand", "ep": "executionpolicy",
               "ex": "executionpolicy", "c": "command", "f": "file"}


class CommandLine:
    """What a host's WinRS shell answers, from the tables it is built with: the project scripts' stand-ins
    (by script name) and the programs (by program name, shared with the host's scheduled tasks)."""

    def __init__(self, scripts: Scripts, programs: Programs) -> None:
        self.scripts = scripts
        self.programs = programs

    def wants_stdin(self, host: HostModel, command: str, arguments: list[str]) -> bool:
        """True for ``powershell -Command -`` and ``powershell -``: the script comes on stdin."""
        tokens = _split(" ".join([command, *arguments]))
        if not tokens or _program(tokens[0]) != "powershell" or host.spec.powershell is None:
            return False
        call = _parse_powershell(tokens[1:])
        return call.from_stdin or (call.script is not None and console_host.reads_stdin(call.script))

    def run(self, host: HostModel, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        line = " ".join([command, *arguments])
        if len(line) > MAX_COMMAND_LINE:
            return _fail("The command line is too long.\r\n")
        host.shell_elapsed = 0.0
        return self._run_line(host, line.strip(), stdin)

    # --- cmd.exe ---------------------------------------------------------------------------------

    def _run_line(self, host: HostModel, line: str, stdin: bytes) -> CommandResult:
        commands = _CHAIN_RE.split(line)
        if len(commands) > 1:  # cmd.exe's '&': each in turn, outputs joined, the last one's exit code
            results = [self._run_line(host, command.strip(), stdin) for command in commands]
            return CommandResult(b"".join(r.stdout for r in results), b"".join(r.stderr for r in results),
                                 results[-1].exit_code, sum(r.delay for r in results))
        parts = _CONDITIONAL_RE.split(line)
        result = self._run_pipeline(host, parts[0], stdin)
        for operator, command in zip(parts[1::2], parts[2::2], strict=True):
            if (result.exit_code == 0) == (operator == "&&"):  # && runs after a success, || after a failure
                after = self._run_pipeline(host, command, stdin)
                result = CommandResult(result.stdout + after.stdout, result.stderr + after.stderr, after.exit_code,
                                       result.delay + after.delay)
        return result

    def _run_pipeline(self, host: HostModel, line: str, stdin: bytes) -> CommandResult:
        """``a | b``: what ``a`` prints is ``b``'s stdin; the last one's exit code and the errors of all."""
        stderr, delay = b"", 0.0
        result = CommandResult(b"", b"", 0)
        for command in _PIPE_RE.split(line):
            command, redirects = _redirections(command.strip())
            result = _redirect(host, self._run_simple(host, command, stdin), redirects)
            stdin, stderr, delay = result.stdout, stderr + result.stderr, delay + result.delay
        return CommandResult(result.stdout, stderr, result.exit_code, delay)

    def _run_simple(self, host: HostModel, line: str, stdin: bytes) -> CommandResult:
        tokens = _split(line)
        if not tokens:
            return _ok("")
        program = _program(tokens[0])
        if program == "echo":
            return _ok(line.split(None, 1)[1] + "\r\n" if len(tokens) > 1 else "ECHO is on.\r\n")
        if program == "del":
            for path in (_unquote(t) for t in tokens[1:] if not t.startswith("/")):
                if not host.fs.delete(path):  # del reports a missing file but leaves ERRORLEVEL at 0
                    return CommandResult(b"", f"Could Not Find {path}\r\n".encode("utf-8"), 0)
            return _ok("")
        if program == "cmd":
            rest = re.split(r"(?i)\s/[ck]\s+", f" {line} ", maxsplit=1)
            return self._run_line(host, rest[1].strip(), stdin) if len(rest) == 2 else _ok(_cmd_banner(host))
        if program == "powershell" and host.spec.powershell is not None:
            return self._powershell(host, tokens[1:], stdin)
        if program == "exit":  # cmd /c exit N: a batch's way to end with a chosen exit code
            code = tokens[1] if len(tokens) > 1 else "0"
            return CommandResult(b"", b"", int(code) & 0xFFFFFFFF if re.fullmatch(r"-?\d+", code) else 0)
        reads_stdin = acltools.READS_STDIN.get(program)
        if reads_stdin is not None:
            return reads_stdin(host, line, stdin)
        tool = cmdtools.TOOLS.get(program) or acltools.TOOLS.get(program)
        if tool is not None:
            return tool(host, line)
        builtin = _BUILTINS.get(program)
        if builtin is not None:
            return _ok(builtin(host, tokens[1:]))
        ran = self._run_program(host, line)
        if ran is not None:
            return ran
        message = (f"'{_unquote(tokens[0])}' is not recognized as an internal or external command,\r\n"
                   "operable program or batch file.\r\n")
        return CommandResult(b"", message.encode("utf-8"), NOT_RECOGNIZED)

    # --- powershell.exe --------------------------------------------------------------------------

    def _powershell(self, host: HostModel, args: list[str], stdin: bytes) -> CommandResult:
        host.counters.powershell_starts += 1
        call = _parse_powershell(args)
        if call.error:
            return _fail(call.error + "\r\n")
        if call.file is not None:
            data = host.fs.read(call.file)
            if data is None:
                return _fail(f"The argument '{call.file}' to the -File parameter does not exist. "
                             "Provide the path to an existing '.ps1' file as an argument to the -File parameter.\r\n")
            return self._run_script(host, _text(data), stdin, call.encoded)
        if call.from_stdin:
            return self._run_script(host, _text(stdin), b"", call.encoded)
        if call.script is not None:
            loaded = _load(host, call.script, stdin)
            if loaded.script is not None:
                if loaded.error:
                    return _fail(loaded.error + "\r\n")
                ran = self._run_script(host, loaded.script, b"", call.encoded)
                return CommandResult(loaded.preamble.encode("ascii") + ran.stdout, ran.stderr, ran.exit_code, ran.delay)
        return self._run_script(host, call.script or "", stdin, call.encoded)

    def _run_script(self, host: HostModel, script: str, stdin: bytes, clixml: bool) -> CommandResult:
        identity = identify(script)
        if identity is not None:
            return self._run_project_script(host, identity.name, identity.version, identity.args_literal)
        lines = [line.strip() for line in script.splitlines() if line.strip()]
        exits_with_code = any(_EXIT_CODE_RE.match(line) for line in lines)
        lines = [line for line in lines if not any(r.match(line) for r in (*_WRAPPER_RES, _EXIT_CODE_RE))]
        if not lines:
            return _ok("")
        if len(lines) == 1:
            tokens = _split(lines[0])
            program = _program(tokens[0])
            if program == "powershell" or program in _EXTERNAL_TOOLS:
                return self._run_line(host, lines[0], stdin)
            ran = self._run_program(host, re.sub(r"^&\s*", "", lines[0]))
            if ran is not None:
                if ran.exit_code != 0 and not exits_with_code:
                    ran.exit_code = 1
                return ran
        return _not_recognized(_unquote(_split(lines[0])[0]), clixml)

    # --- the project's scripts -------------------------------------------------------------------

    def _run_project_script(self, host: HostModel, name: str, version: int, args_literal: str | None) -> CommandResult:
        key = f"{name} {version}"
        host.counters.scripts[key] = host.counters.scripts.get(key, 0) + 1
        handler = self.scripts.get(name)
        if handler is None:
            return _fail(f"winremedy lab: no handler is registered for script {key}\r\n")
        try:
            params = read_ps_data(args_literal) if args_literal is not None else {}
        except ValueError as exc:
            return _fail(f"winremedy lab: $WinRemedyArgs of {key} is not a data literal: {exc}\r\n")
        if not isinstance(params, dict):
            return _fail(f"winremedy lab: $WinRemedyArgs of {key} must be a hashtable\r\n")
        try:
            return handler(host, params)
        except Exception as exc:  # a handler bug must not take the WS-Management server down
            _log.exception("handler for %s failed on %s", key, host.name)
            return _fail(f"winremedy lab: handler for {key} failed: {exc}\r\n")

    # --- programs --------------------------------------------------------------------------------

    def _run_program(self, host: HostModel, line: str) -> CommandResult | None:
        """A program of the table run directly in the WinRM shell: a network logon; None if there is none.

        Its exit code is reported as WinRS does, unsigned (0x80070005 is 2147942405).
        """
        ran = run_program(host, split_command(line), RunContext(host.clock.now(), "network"), self.programs)
        if ran is None:
            return None
        code, seconds = ran
        return CommandResult(b"", b"", code & 0xFFFFFFFF, delay=host.clock.to_real(seconds))


# --- cmd.exe built-ins and redirections -----------------------------------------------------------


def _redirections(line: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The command without its trailing redirections, and each as (handle, operator, target)."""
    redirects: list[tuple[str, str, str]] = []
    while match := _REDIRECT_RE.search(line):
        redirects.insert(0, (match["fd"] or "1", match["op"], _unquote(match["target"])))
        line = line[: match.start()]
    return line, redirects


def _redirect(host: HostModel, result: CommandResult, redirects: list[tuple[str, str, str]]) -> CommandResult:
    stdout, stderr = result.stdout, result.stderr
    for handle, operator, target in redirects:
        data = stdout if handle == "1" else stderr
        if target.lower() != "nul":
            host.fs.write(target, data, append=operator == ">>")
        stdout, stderr = (b"", stderr) if handle == "1" else (stdout, b"")
    return CommandResult(stdout, stderr, result.exit_code, result.delay)


def _hostname(host: HostModel, _: list[str]) -> str:
    return f"{host.name}\r\n"


def _ver(host: HostModel, _: list[str]) -> str:
    return f"\r\nMicrosoft Windows [Version {host.profile.version}]\r\n"


def _whoami(host: HostModel, _: list[str]) -> str:
    return f"{host.name}\\{host.spec.user}".lower() + "\r\n"


def _cmd_banner(host: HostModel) -> str:
    return f"Microsoft Windows [Version {host.profile.version}]\r\n"


def _ipconfig(host: HostModel, _: list[str]) -> str:
    if host.profile.is_2003:
        rows = [
            "        Connection-specific DNS Suffix  . : ",
            f"        IP Address. . . . . . . . . . . . : {host.address}",
            "        Subnet Mask . . . . . . . . . . . : 255.0.0.0",
            "        Default Gateway . . . . . . . . . : ",
        ]
    else:
        rows = [
            "   Connection-specific DNS Suffix  . : ",
            f"   Link-local IPv6 Address . . . . . : fe80::{host.port:x}:1%11",
            f"   IPv4 Address. . . . . . . . . . . : {host.address}",
            "   Subnet Mask . . . . . . . . . . . : 255.0.0.0",
            "   Default Gateway . . . . . . . . . : ",
        ]
    route = host.default_route_adapter()
    name = route.name if route else host.spec.adapters[0].name
    return "\r\n".join(["", "Windows IP Configuration", "", "", f"Ethernet adapter {name}:", "", *rows]) + "\r\n"


_BUILTINS: dict[str, Callable[[HostModel, list[str]], str]] = {
    "hostname": _hostname,
    "ver": _ver,
    "whoami": _whoami,
    "ipconfig": _ipconfig,
}


# --- powershell.exe ------------------------------------------------------------------------------


class _PsInvocation:
    def __init__(self) -> None:
        self.script: str | None = None
        self.file: str | None = None
        self.from_stdin = False
        self.encoded = False
        self.error: str | None = None


def _parse_powershell(args: list[str]) -> _PsInvocation:
    call = _PsInvocation()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-":
            call.from_stdin = True
            return call
        if not arg.startswith(("-", "/")):
            call.script = " ".join(args[i:])  # bare text is the command
            return call
        name = _ps_parameter(arg[1:].lower())
        if name is None:
            call.error = f"-{arg[1:]} : The term '{arg}' is not a valid parameter."
            return call
        value = args[i + 1] if i + 1 < len(args) else None
        if name == "command":
            rest = args[i + 1:]
            call.from_stdin = rest == ["-"]
            call.script = None if call.from_stdin else " ".join(rest)
            return call
        if name == "encodedcommand":
            call.encoded = True
            call.script = _decode_command(value or "")
            if call.script is None:
                call.error = ("Cannot process the command because the value specified with -EncodedCommand "
                              "is not properly encoded. The value must be Base64 encoded.")
        elif name == "file":
            call.file = _unquote(value or "")
        i += 2 if _PS_PARAMETERS[name] else 1
    return call


def _ps_parameter(text: str) -> str | None:
    if text in _PS_ALIASES:
        return _PS_ALIASES[text]
    matches = [name for name in _PS_PARAMETERS if name.startswith(text)] if text else []
    return matches[0] if len(matches) == 1 else None


def _decode_command(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError):
        return None


def _load(host: HostModel, text: str, stdin: bytes) -> console_host.Loaded:
    """A loader command (the project's bootstrap or any like it), read as :mod:`.console_host` says."""
    def read(path: str) -> str | None:
        data = host.fs.read(path)
        return None if data is None else data.decode("ascii", errors="replace")

    loaded = console_host.load(text, console_host.stdin_for(host.spec.powershell or "2.0", text, stdin), read)
    if loaded.deleted:
        host.fs.delete(loaded.deleted)
    return loaded


def _not_recognized(term: str, clixml: bool) -> CommandResult:
    message = (
        f"The term '{term}' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
        "and try again.\r\n"
        f"At line:1 char:{len(term) + 1}\r\n"
        f"+ {term} <<<< \r\n"
        f"    + CategoryInfo          : ObjectNotFound: ({term}:String) [], CommandNotFoundException\r\n"
        "    + FullyQualifiedErrorId : CommandNotFoundException\r\n"
    )
    return CommandResult(b"", (_clixml(message) if clixml else message).encode("utf-8"), 1)


def _clixml(message: str) -> str:
    """PowerShell's serialised error stream, as it reaches stderr when the command was encoded."""
    parts = "".join(
        f'<S S="Error">{escape(line)}_x000D__x000A_</S>' for line in message.rstrip("\r\n").split("\r\n")
    )
    return f'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">{parts}</Objs>'


# --- helpers -------------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig", errors="replace")


def _ok(stdout: str) -> CommandResult:
    return CommandResult(stdout.encode("utf-8"), b"", 0)


def _fail(stderr: str) -> CommandResult:
    return CommandResult(b"", stderr.encode("utf-8"), 1)
