"""Shared integration fixtures. Names start with ``wire_`` (the WS-Management server's own)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from winremedy.lab.api import LabHost
from winremedy.lab.wsman import Exchange, Listener, TlsMaterial, WsmanServer, make_tls_material, run_in_thread


@pytest.fixture(scope="session")
def wire_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """One lab CA and server certificate for the whole session (key generation is the slow part)."""
    return make_tls_material(Path(tmp_path_factory.mktemp("wire-tls")), ["host1.lab.test"])


WireServe = Callable[..., tuple[WsmanServer, list[Exchange]]]


@pytest.fixture
def wire_serve(wire_tls: TlsMaterial) -> Iterator[WireServe]:
    """Start a server for the given host (``scheme=``, ``require_channel_binding=``); stopped after the test.

    Returns the server and the list its observer appends every answered exchange to.
    """
    with ExitStack() as stack:

        def serve(host: LabHost, **listener: Any) -> tuple[WsmanServer, list[Exchange]]:
            exchanges: list[Exchange] = []
            server = stack.enter_context(run_in_thread([Listener(host, **listener)], wire_tls, exchanges.append))
            return server, exchanges

        yield serve
