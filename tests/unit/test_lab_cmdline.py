"""Command dispatch: cmd built-ins, PowerShell encodings, unknown commands, the table of project-script answers."""

from __future__ import annotations

import base64
import pytest

from winremedy.lab.api import CommandResult
from winremedy.lab.clock import ManualClock
from winremedy.lab.cmdline import CommandLine, ScriptHandler
from winremedy.psdata import ps_data
from winremedy.transport.bootstrap import DIGEST_SENTINEL, POWERSHELL, POWERSHELL_ARGUMENTS, encode_script, script_digest
from winremedy.lab.emulated import PROGRAMS, STAND_INS, EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile

NOT_RECOGNIZED = b"'powershell' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def ansible_wrap(script: str) -> list[str]:
    """What ansible's winrm connection sends for ``-m raw -a <script>`` (arguments after 'PowerShell')."""
    return ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted", "-EncodedCommand", encoded(script)]


def _echo(host: EmulatedHost, params: dict[str, object]) -> CommandResult:
    return CommandResult(f"{host.name}:{params['word']}".encode(), b"", 0)


def _broken(host: EmulatedHost, params: dict[str, object]) -> CommandResult:
    raise KeyError("boom")


def _host(**scripts: ScriptHandler) -> EmulatedHost:
    """A host whose command line answers the lab's scripts and ``scripts`` too."""
    spec = HostSpec(name="W7-0001", profile=OsProfile("win7", 1, "x64"), user="Administrator", password="pw")
    return EmulatedHost(spec, ManualClock(1.7e9), port=45001, command_line=CommandLine({**STAND_INS, **scripts}, PROGRAMS))


@pytest.fixture
def host() -> EmulatedHost:
    return _host()


@pytest.fixture
def echo_host() -> EmulatedHost:
    return _host(echo=_echo)


def test_cmd_builtins(host: EmulatedHost) -> None:
    assert host.run("hostname", [], b"").stdout == b"W7-0001\r\n"
    assert host.run("ver", [], b"").stdout == b"\r\nMicrosoft Windows [Version 6.1.7601]\r\n"
    assert host.run("whoami", [], b"").stdout == b"w7-0001\\administrator\r\n"
    assert b"IPv4 Address. . . . . . . . . . . : 127.0.0.1" in host.run("ipconfig", ["/all"], b"").stdout
    assert host.run("cmd.exe", ["/c", "ver"], b"").exit_code == 0


def test_powershell_encoded_raw_command_as_ansible_sends_it(host: EmulatedHost) -> None:
    result = host.run("PowerShell", ansible_wrap("hostname"), b"")
    assert (result.stdout, result.exit_code) == (b"W7-0001\r\n", 0)
    wrapped = "hostname\r\nIf (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } Else { exit 1 } }"
    inner = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + encoded(wrapped)
    assert host.run("PowerShell", ansible_wrap(inner), b"").stdout == b"W7-0001\r\n"
    assert host.run(f"powershell -encodedcommand {encoded('whoami')}", [], b"").exit_code == 0  # pywinrm run_ps


def test_unknown_commands_fail_like_a_host(host: EmulatedHost) -> None:
    result = host.run("frobnicate", ["--now"], b"")
    assert result.exit_code == 9009 and result.stderr.startswith(b"'frobnicate' is not recognized")
    ps = host.run("PowerShell", ansible_wrap("Get-Frob -All"), b"")
    assert ps.exit_code == 1 and ps.stderr.startswith(b"#< CLIXML")
    assert b"The term 'Get-Frob' is not recognized" in ps.stderr
    assert host.run("powershell", ["-Command", "ver"], b"").stderr.startswith(b"The term 'ver'")
    assert host.run("powershell", ["-EncodedCommand", "%%%"], b"").exit_code == 1


def test_no_powershell_on_a_bare_2003() -> None:
    spec = HostSpec(name="s3-0001", profile=OsProfile("win2003", 2, "x86"), user="a", password="b", powershell=None)
    bare = EmulatedHost(spec, ManualClock(1.7e9))
    result = bare.run("powershell", ["-EncodedCommand", encoded("hostname")], b"")
    assert (result.stderr, result.exit_code) == (NOT_RECOGNIZED, 9009)  # cmd.exe's errorlevel
    assert not bare.wants_stdin("powershell", ["-Command", "-"])
    assert bare.run("ver", [], b"").stdout == b"\r\nMicrosoft Windows [Version 5.2.3790]\r\n"


def test_project_scripts_by_identity(echo_host: EmulatedHost) -> None:
    host = echo_host
    script = f"# winremedy-script: echo 1\r\n$WinRemedyArgs = {ps_data({'word': 'hi'})}\r\nWrite-Output 'never run'\r\n"
    assert host.run("powershell", ["-EncodedCommand", encoded(script)], b"").stdout == b"W7-0001:hi"
    assert host.wants_stdin("PowerShell", ["-NoProfile", "-Command", "-"])
    assert host.run("PowerShell", ["-NoProfile", "-Command", "-"], script.encode("utf-8-sig")).stdout == b"W7-0001:hi"
    args = " ".join(POWERSHELL_ARGUMENTS)  # pywinrm sends one Arguments element
    assert host.wants_stdin(POWERSHELL, [args])
    digest = f"{DIGEST_SENTINEL}{script_digest(script)}\r\n".encode("ascii")  # the bootstrap proves what arrived
    assert host.run(POWERSHELL, [args], encode_script(script)).stdout == digest + b"W7-0001:hi"
    assert host.counters.scripts == {"echo 1": 3}
    unknown = host.run("powershell", ["-EncodedCommand", encoded("# winremedy-script: nope 1\r\n")], b"")
    assert unknown.exit_code == 1 and b"no handler" in unknown.stderr


def test_a_failing_handler_is_an_error_result() -> None:
    host = _host(broken=_broken)
    result = host.run("powershell", ["-EncodedCommand", encoded("# winremedy-script: broken 1\r\n")], b"")
    assert result.exit_code == 1 and b"handler for broken 1 failed" in result.stderr


def test_staged_script_runs_with_file(echo_host: EmulatedHost) -> None:
    host = echo_host
    host.fs.write("C:\\Windows\\Temp\\w.ps1", f"# winremedy-script: echo 2\r\n$WinRemedyArgs = {ps_data({'word': 'f'})}".encode())
    assert host.run("powershell", ["-File", "%TEMP%\\W.PS1"], b"").stdout == b"W7-0001:f"
    assert host.run("powershell", ["-File", "C:\\missing.ps1"], b"").exit_code == 1
