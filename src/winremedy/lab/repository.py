"""The lab's package repository: DIR/repo, which every host sees as the shares of ``lab.stage`` and
:class:`RepositoryServer` serves over HTTP on loopback (see ``lab.stage`` for why from its own thread)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .host import LOOPBACK


class RepositoryServer:
    """A directory served over HTTP on loopback from its own thread, never the lab's loop (``lab.stage`` says why)."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="winremedy-lab-http", daemon=True)
        self._thread.start()
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RepositoryServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """No request log on stderr."""
