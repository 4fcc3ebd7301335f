"""Just enough HTTP/1.1 for WinRM clients: persistent connections, Content-Length bodies, no chunking.

http.sys is the real server; the lab answers with its ``Server`` header and its status lines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus

SERVER = "Microsoft-HTTPAPI/2.0"
MAX_HEAD = 64 * 1024  # StreamReader limit: the longest request head (NTLM tokens are a few KB)


_MAX_DISCARD = 64 * 1024 * 1024  # an oversized body up to this is read and dropped, so the client sees the 413


class HttpError(Exception):
    """A request the server answers with ``status`` and an empty body (and closes, unless ``close`` is False)."""

    def __init__(self, status: int, close: bool = True) -> None:
        super().__init__(status)
        self.status = status
        self.close = close


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes = b""
    wire_bytes: int = 0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False

    def encode(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}", f"Server: {SERVER}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {len(self.body)}")
        if self.close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def read_request(reader: asyncio.StreamReader, max_body: int) -> HttpRequest | None:
    """The next request on the connection, or None when the client closed it between requests.

    A body over ``max_body`` raises 413 before it is read: the envelope quota, enforced as http.sys would.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise HttpError(400) from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431) from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(400)
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(411)
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(400)
    length = int(length_text)
    if length > max_body:
        if length > _MAX_DISCARD:
            raise HttpError(413)
        await reader.readexactly(length)
        raise HttpError(413, close=False)
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(parts[0], parts[1], headers, body, len(head) + length)

