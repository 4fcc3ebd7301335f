"""The WinRS ``cmd`` shell resource of one host: shells, commands, stdin, and the Receive hold.

State lives per host (not per listener), so an HTTP and an HTTPS listener of one host share shells and
quotas, as they do on Windows. Commands run on the host *model* (``LabHost.run``); nothing is executed here.
"""

from __future__ import annotations

import asyncio
import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from ..api import LOGON_DELEGATED, CommandResult, LabHost
from . import faults
from .soap import NS, Request, new_guid, q, response

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
_STATE = _SHELL + "CommandState/"
_ENVELOPE_OVERHEAD = 4096  # bytes of XML around the streams in a Receive response
_DEFAULT_TIMEOUT_S = 60.0


@dataclass
class Command:
    """One command line; ``result`` is set once it has run (after stdin ``End`` when it reads stdin)."""

    id: str
    command: str
    arguments: list[str]
    stdin: list[bytes] = field(default_factory=list)
    result: CommandResult | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    ready_at: float = 0.0
    sent: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})

    def start(self, result: CommandResult) -> None:
        self.result = result
        self.ready_at = asyncio.get_running_loop().time() + max(result.delay, 0.0)
        self.started.set()


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the authenticated user (shell owner, quota key), its address, the endpoint URL."""

    user: str
    client_ip: str
    endpoint: str
    delegated: bool = False  # the logon holds credentials for a second hop (CredSSP, Kerberos delegation)


@dataclass
class Shell:
    id: str
    owner: str
    client_ip: str
    input_streams: str
    output_streams: str
    commands: dict[str, Command] = field(default_factory=dict)
    delegated: bool = False  # the logon that created the shell holds delegated credentials


class WinRS:
    """Dispatches WinRS actions for one host."""

    def __init__(self, host: LabHost) -> None:
        self.host = host
        self.shells: dict[str, Shell] = {}

    async def handle(self, request: Request, caller: Caller) -> bytes:
        """Answer one request or raise :class:`SoapFault`."""
        handler = _SIMPLE.get(request.action)
        if handler is not None and request.resource_uri.lower() == SHELL_URI:
            return handler(self, request, caller)
        if request.action == _SHELL + "Receive" and request.resource_uri.lower() == SHELL_URI:
            return await self._receive(request)
        raise faults.action_not_supported(request.action)

    # -- actions ---------------------------------------------------------------------------------

    def _create(self, request: Request, caller: Caller) -> bytes:
        owned = sum(1 for shell in self.shells.values() if shell.owner == caller.user)
        if owned >= self.host.max_shells_per_user:
            raise faults.shell_quota(self.host.max_shells_per_user)
        spec = request.body.find(q("rsp", "Shell"))
        if spec is None:
            raise faults.invalid_parameter()
        shell = Shell(
            id=new_guid(),
            owner=caller.user,
            client_ip=caller.client_ip,
            input_streams=_child_text(spec, "InputStreams") or "stdin",
            output_streams=" ".join((_child_text(spec, "OutputStreams") or "stdout stderr").split()),
            delegated=caller.delegated,
        )
        self.shells[shell.id] = shell
        self.host.counters.shells += 1
        return response(
            request,
            "<x:ResourceCreated>"
            f"<a:Address>{escape(caller.endpoint)}</a:Address>"
            f"<a:ReferenceParameters><w:ResourceURI>{SHELL_URI}</w:ResourceURI>"
            f'<w:SelectorSet><w:Selector Name="ShellId">{shell.id}</w:Selector></w:SelectorSet>'
            "</a:ReferenceParameters></x:ResourceCreated>"
            f'<rsp:Shell xmlns:rsp="{NS["rsp"]}"><rsp:ShellId>{shell.id}</rsp:ShellId>'
            f"<rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(caller.user)}</rsp:Owner><rsp:ClientIP>{escape(caller.client_ip)}</rsp:ClientIP>"
            "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{escape(shell.input_streams)}</rsp:InputStreams>"
            f"<rsp:OutputStreams>{escape(shell.output_streams)}</rsp:OutputStreams>"
            "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
            "</rsp:Shell>",
        )

    def _command(self, request: Request, caller: Caller) -> bytes:
        shell = self._shell(request)
        line = request.body.find(q("rsp", "CommandLine"))
        executable = _child_text(line, "Command") if line is not None else None
        if line is None or executable is None:
            raise faults.invalid_parameter()
        arguments = [(node.text or "") for node in line.iterfind(q("rsp", "Arguments"))]
        command = Command(id=new_guid(), command=executable, arguments=arguments)
        shell.commands[command.id] = command
        self.host.counters.commands += 1
        if not self.host.wants_stdin(command.command, command.arguments):
            command.start(self._run(shell, command, b""))
        return response(request, f"<rsp:CommandResponse><rsp:CommandId>{command.id}</rsp:CommandId></rsp:CommandResponse>")

    def _run(self, shell: Shell, command: Command, stdin: bytes) -> CommandResult:
        """Run on the host model inside the shell's logon (whether it can reach another server with credentials)."""
        token = LOGON_DELEGATED.set(shell.delegated)
        try:
            return self.host.run(command.command, command.arguments, stdin)
        finally:
            LOGON_DELEGATED.reset(token)

    def _send(self, request: Request, caller: Caller) -> bytes:
        shell = self._shell(request)
        send = request.body.find(q("rsp", "Send"))
        if send is None:
            raise faults.invalid_parameter()
        for stream in send.iterfind(q("rsp", "Stream")):
            command = self._command_of(shell, stream.get("CommandId"))
            if command.result is not None:  # stdin after End, or to a command that never reads it
                continue
            command.stdin.append(base64.b64decode(stream.text or ""))
            if (stream.get("End") or "false").lower() == "true":
                command.start(self._run(shell, command, b"".join(command.stdin)))
        return response(request, "<rsp:SendResponse/>")

    def _signal(self, request: Request, caller: Caller) -> bytes:
        shell = self._shell(request)
        signal = request.body.find(q("rsp", "Signal"))
        if signal is None:
            raise faults.invalid_parameter()
        command = self._command_of(shell, signal.get("CommandId"))
        if (_child_text(signal, "Code") or "").lower().endswith("/signal/terminate"):
            del shell.commands[command.id]
        return response(request, "<rsp:SignalResponse/>")

    def _delete(self, request: Request, caller: Caller) -> bytes:
        shell = self._shell(request)
        del self.shells[shell.id]
        return response(request, "")

    async def _receive(self, request: Request) -> bytes:
        shell = self._shell(request)
        desired = request.body.find(f"{q('rsp', 'Receive')}/{q('rsp', 'DesiredStream')}")
        if desired is None:
            raise faults.invalid_parameter()
        command = self._command_of(shell, desired.get("CommandId"))
        await _wait_until_ready(command, request.operation_timeout or _DEFAULT_TIMEOUT_S)
        budget = max((request.max_envelope_size - _ENVELOPE_OVERHEAD) * 3 // 4, 1024)
        return response(request, f"<rsp:ReceiveResponse>{_drain(command, budget)}</rsp:ReceiveResponse>")

    # -- lookups ---------------------------------------------------------------------------------

    def _shell(self, request: Request) -> Shell:
        shell_id = request.selectors.get("ShellId", "")
        shell = self.shells.get(shell_id.upper())
        if shell is None:
            raise faults.unknown_shell(shell_id)
        return shell

    @staticmethod
    def _command_of(shell: Shell, command_id: str | None) -> Command:
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise faults.unknown_command()
        return command


_SIMPLE = {
    _TRANSFER + "Create": WinRS._create,
    _SHELL + "Command": WinRS._command,
    _SHELL + "Send": WinRS._send,
    _SHELL + "Signal": WinRS._signal,
    _TRANSFER + "Delete": WinRS._delete,
}


def _child_text(parent: ET.Element, tag: str) -> str | None:
    node = parent.find(q("rsp", tag))
    return node.text if node is not None and node.text is not None else None


async def _wait_until_ready(command: Command, timeout: float) -> None:
    """Hold the Receive until the output exists, or answer TimedOut as Windows does after OperationTimeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if not command.started.is_set():
        try:
            await asyncio.wait_for(command.started.wait(), timeout)
        except TimeoutError:
            raise faults.timed_out() from None
    wait = command.ready_at - loop.time()
    if wait > deadline - loop.time():
        await asyncio.sleep(max(deadline - loop.time(), 0.0))
        raise faults.timed_out()
    if wait > 0:
        await asyncio.sleep(wait)


def _drain(command: Command, budget: int) -> str:
    """Stream elements for output not yet sent, at most ``budget`` raw bytes; Done once all is out."""
    assert command.result is not None
    streams = {"stdout": command.result.stdout, "stderr": command.result.stderr}
    parts: list[str] = []
    for name, data in streams.items():
        start = command.sent[name]
        chunk = data[start : start + budget]
        if chunk:
            parts.append(_stream(name, command.id, base64.b64encode(chunk).decode("ascii")))
            command.sent[name] += len(chunk)
            budget -= len(chunk)
    if any(command.sent[name] < len(data) for name, data in streams.items()):
        parts.append(f'<rsp:CommandState CommandId="{command.id}" State="{_STATE}Running"></rsp:CommandState>')
        return "".join(parts)
    parts += [_stream(name, command.id, "", end=True) for name in streams]
    parts.append(
        f'<rsp:CommandState CommandId="{command.id}" State="{_STATE}Done">'
        f"<rsp:ExitCode>{command.result.exit_code}</rsp:ExitCode></rsp:CommandState>"
    )
    return "".join(parts)


def _stream(name: str, command_id: str, data: str, end: bool = False) -> str:
    end_attr = ' End="true"' if end else ""
    return f'<rsp:Stream Name="{name}" CommandId="{command_id}"{end_attr}>{data}</rsp:Stream>'
