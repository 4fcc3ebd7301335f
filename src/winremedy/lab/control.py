"""The daemon's control endpoint: plain HTTP JSON on 127.0.0.1, guarded by a random token from lab.json.

Small on purpose: ``GET /status`` and ``POST /stop``. The CLI is its only client.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any, Callable

from .errors import LabError

TOKEN_HEADER = "X-Lab-Token"
Route = Callable[[], dict[str, Any]]


async def serve_control(token: str, routes: dict[tuple[str, str], Route]) -> asyncio.Server:
    """Start the endpoint on a free loopback port; ``routes`` maps (method, path) to a JSON-returning function."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            route = routes.get((method, path))
            if headers.get(TOKEN_HEADER.lower()) != token:
                status, body = 403, {"error": "bad or missing token"}
            elif route is None:
                status, body = 404, {"error": f"no route {method} {path}"}
            else:
                status, body = 200, route()
            data = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode() + data
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def call(port: int, token: str, method: str, path: str, timeout: float = 30.0) -> dict[str, Any]:
    """Ask the daemon; an unreachable daemon is a LabError, not a traceback."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers={TOKEN_HEADER: token})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise LabError(f"lab control endpoint refused {method} {path}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise LabError(f"lab control endpoint on port {port} is not answering: {exc}") from None
