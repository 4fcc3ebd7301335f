"""The lab's WS-Management server: many emulated hosts, one asyncio loop, one listening socket per host.

Per request the host model is consulted (up? which auth? a fault due?) and WinRS actions go to the
host's :class:`WinRS`. Nothing a client sends can end the loop: malformed input gets the answer a
Windows host would give, and an unexpected error closes only that connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..api import LabHost, WireFault
from . import faults
from .auth import ConnectionAuth, CredentialStore, Verdict
from .encryption import CONTENT_TYPE as ENCRYPTED_TYPE
from .encryption import EncryptionError, is_encrypted, unwrap, wrap
from .http import MAX_HEAD, HttpError, HttpRequest, HttpResponse, read_request
from .soap import SoapFault, fault_envelope, parse_request
from .tls import TlsMaterial
from .winrs import Caller, WinRS

log = logging.getLogger(__name__)
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
_FRAMING_SLACK = 1024  # multipart/encrypted headers around an envelope


@dataclass
class Listener:
    """One host's endpoint. ``port`` 0 picks a free port; it holds the real one after ``start()``."""

    host: LabHost
    address: str = "127.0.0.1"
    port: int = 0
    scheme: Literal["http", "https"] = "http"
    require_channel_binding: bool = False  # CbtHardeningLevel=Strict (HTTPS only)

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}/wsman"


@dataclass(frozen=True)
class Exchange:
    """One answered request, for observers (wire logs, tests): what came in, what went out."""

    host: str
    action: str  # short WS-Man action name, '' for auth legs and HTTP-level answers
    status: int
    request_type: str
    response_type: str


Observer = Callable[[Exchange], None]


@dataclass
class _Connection:
    listener: Listener
    winrs: WinRS
    auth: ConnectionAuth
    peer: str


class WsmanServer:
    """Serves every listener from the running event loop."""

    def __init__(self, listeners: list[Listener], tls: TlsMaterial | None = None, observer: Observer | None = None) -> None:
        if tls is None and any(listener.scheme == "https" for listener in listeners):
            raise ValueError("HTTPS listeners need TLS material (make_tls_material)")
        if any(listener.require_channel_binding and listener.scheme != "https" for listener in listeners):
            raise ValueError("channel binding needs an HTTPS listener")
        self.listeners = listeners
        self.tls = tls
        self.observer = observer
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._winrs: dict[int, WinRS] = {}
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    async def start(self) -> None:
        """Bind every listener (fails, binding none, if one address is taken)."""
        self._workdir = tempfile.TemporaryDirectory(prefix="winremedy-wsman-")
        store = CredentialStore(Path(self._workdir.name))
        context = self.tls.server_context() if self.tls else None
        binding = self.tls.channel_binding() if self.tls else None
        try:
            for listener in self.listeners:
                winrs = self._winrs.setdefault(id(listener.host), WinRS(listener.host))
                bindings = binding if listener.require_channel_binding else None

                def accept(
                    reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter,
                    listener: Listener = listener,
                    winrs: WinRS = winrs,
                    bindings: bytes | None = bindings,
                ) -> None:
                    ssl_object = writer.get_extra_info("ssl_object")
                    peer = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
                    auth = ConnectionAuth(listener.host, store, bindings, tls=ssl_object is not None, peer_certificate=peer)
                    self._track(self._serve(_Connection(listener, winrs, auth, ""), reader, writer))

                server = await asyncio.start_server(
                    accept,
                    listener.address,
                    listener.port,
                    ssl=context if listener.scheme == "https" else None,
                    limit=MAX_HEAD,
                    reuse_address=True,
                    backlog=64,
                )
                listener.port = server.sockets[0].getsockname()[1]
                self._servers.append(server)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the listening sockets and every open connection (held Receives included)."""
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Keep a reference to each connection's task, so that stop() can end held Receives."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = conn.listener.host
        host.counters.connections += 1
        peer = writer.get_extra_info("peername")
        conn.peer = peer[0] if peer else ""
        try:
            while host.is_up():
                try:
                    request = await read_request(reader, host.max_envelope_kb * 1024 + _FRAMING_SLACK)
                except HttpError as error:
                    await self._send(conn, writer, HttpResponse(error.status, close=error.close), None, "")
                    if error.close:
                        return
                    continue
                if request is None:
                    return
                host.counters.requests += 1
                host.counters.bytes_in += request.wire_bytes
                if not host.is_up():
                    break
                answer = await self._answer(conn, request)
                if answer is None:
                    break
                reply, action = answer
                await self._send(conn, writer, reply, request, action)
                if reply.close or not request.keep_alive:
                    return
            _drop(writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            _drop(writer)
        except asyncio.CancelledError:
            _drop(writer)
            raise
        except Exception:
            log.exception("wsman: unexpected error serving %s; connection closed", host.name)
            _drop(writer)
        finally:
            writer.close()

    async def _send(
        self,
        conn: _Connection,
        writer: asyncio.StreamWriter,
        reply: HttpResponse,
        request: HttpRequest | None,
        action: str,
    ) -> None:
        data = reply.encode()
        conn.listener.host.counters.bytes_out += len(data)
        # Observed before it is written: a client that has read the answer must find it recorded.
        if self.observer is not None:
            response_type = next((value for name, value in reply.headers if name == "Content-Type"), "")
            self.observer(
                Exchange(
                    conn.listener.host.name,
                    action,
                    reply.status,
                    request.content_type if request else "",
                    response_type,
                )
            )
        writer.write(data)
        await writer.drain()

    async def _answer(self, conn: _Connection, request: HttpRequest) -> tuple[HttpResponse, str] | None:
        """The HTTP answer to one request and its action name; None means: drop the connection unanswered."""
        if request.method != "POST":
            return HttpResponse(405, [("Allow", "POST")], close=True), ""
        if request.target.split("?", 1)[0].lower() != "/wsman":
            return HttpResponse(404, close=True), ""
        verdict = conn.auth.check(request)
        if verdict.kind != "pass":
            return HttpResponse(401, verdict.headers, close=verdict.kind == "reject"), ""
        sealer = conn.auth.sealer
        encrypted = is_encrypted(request.content_type)
        body = request.body
        if encrypted:
            if sealer is None:
                return HttpResponse(400, close=True), ""
            try:
                body = unwrap(sealer, body)
            except EncryptionError:
                return HttpResponse(400, close=True), ""
        elif body and not request.content_type.lower().startswith("application/soap+xml"):
            return HttpResponse(415), ""
        elif body and conn.listener.scheme == "http" and not conn.listener.host.allow_unencrypted:
            # AllowUnencrypted=false (Windows' default): a SOAP body in clear over http is refused with a 401,
            # whatever the logon (jborean93 in hashicorp/packer#6205: "it will constantly send a 401")
            return HttpResponse(401, conn.auth.challenge_headers(), close=True), ""
        if not body:  # the empty POST that completes an NTLM handshake before encryption starts
            return HttpResponse(200, verdict.headers), ""
        if len(body) > conn.listener.host.max_envelope_kb * 1024:
            return HttpResponse(413), ""
        outcome = await self._soap(conn, verdict, body)
        if outcome is None:
            return None
        status, action, envelope = outcome
        if encrypted and sealer is not None:
            headers = [*verdict.headers, ("Content-Type", ENCRYPTED_TYPE)]
            return HttpResponse(status, headers, wrap(sealer, envelope)), action
        return HttpResponse(status, [*verdict.headers, ("Content-Type", SOAP_TYPE)], envelope), action

    async def _soap(self, conn: _Connection, verdict: Verdict, body: bytes) -> tuple[int, str, bytes] | None:
        """(status, action name, envelope) for a SOAP request, or None when an injected reset is due."""
        host = conn.listener.host
        relates_to, action = "", ""
        try:
            request = parse_request(body)
            relates_to, action = request.message_id, request.name
            injected = host.next_fault(action)
            if injected == WireFault.RESET:
                host.counters.faults += 1
                return None
            if injected == WireFault.HTTP_500:
                raise faults.internal_error()
            caller = Caller(verdict.user, conn.peer, conn.listener.endpoint, verdict.delegated)
            return 200, action, await conn.winrs.handle(request, caller)
        except SoapFault as fault:
            host.counters.faults += 1
            return 500, action, fault_envelope(fault, relates_to, host.name)
        except Exception:  # a bug in a host model: the client gets a fault, the loop and connection live on
            log.exception("wsman: host %s failed on %s", host.name, action)
            host.counters.faults += 1
            return 500, action, fault_envelope(faults.internal_error(), relates_to, host.name)


def _drop(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as an unreachable or crashing host looks to a client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


@contextmanager
def run_in_thread(
    listeners: list[Listener], tls: TlsMaterial | None = None, observer: Observer | None = None
) -> Iterator[WsmanServer]:
    """Run a server on its own event loop in a background thread (tests, synchronous callers)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="wsman-lab", daemon=True)
    thread.start()
    server = WsmanServer(listeners, tls, observer)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=120)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
