"""Shared integration fixtures. Names start with ``wire_`` (the WS-Management server's own)."""

from __future__ import annotations

import os
import subprocess
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


KERBEROS_USER, KERBEROS_PASSWORD = "vagrant", "Kerb:er0s pass"


@pytest.fixture(scope="session")
def kerberos_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real MIT KDC on loopback with ``HTTP/host1`` and the user ``vagrant``; the process uses its krb5.conf and keytab.

    Skips only when the system's MIT Kerberos programs are absent (``.ci/run`` installs them).
    """
    from winremedy.lab.kdc import KerberosRealm, missing_tools

    missing = missing_tools()
    if missing:
        pytest.skip(f"MIT Kerberos programs absent: apt-get install {' '.join(missing)}")
    realm = KerberosRealm(Path(tmp_path_factory.mktemp("realm")))
    realm.create(["host1", "host2"], {KERBEROS_USER: KERBEROS_PASSWORD})
    realm.start()
    saved = {name: os.environ.get(name) for name in ("KRB5_CONFIG", "KRB5_KTNAME", "KRB5CCNAME")}
    os.environ.update(realm.environment())
    try:
        yield realm
    finally:
        realm.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


Kinit = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def kinit(kerberos_realm: Any, tmp_path: Path) -> Iterator[Kinit]:
    """``kinit(password=..., *args)`` into a private file cache, which becomes the process's ``KRB5CCNAME``."""
    cache = f"FILE:{tmp_path / 'ccache'}"
    saved = os.environ.get("KRB5CCNAME")
    os.environ["KRB5CCNAME"] = cache

    def run(*args: str, password: str = KERBEROS_PASSWORD) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "KRB5CCNAME": cache, "KRB5_CONFIG": str(kerberos_realm.krb5_conf)}
        command = ["kinit", *args, kerberos_realm.principal(KERBEROS_USER)]
        return subprocess.run(command, input=password + "\n", env=env, capture_output=True, text=True, check=False)

    yield run
    if saved is None:
        os.environ.pop("KRB5CCNAME", None)
    else:
        os.environ["KRB5CCNAME"] = saved


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A private PostgreSQL server on loopback for the session (Debian's postgresql); stopped and removed after.

    Skips only when the PostgreSQL server programs are absent (``.ci/run`` installs them).
    """
    from pgserver import PostgresServer, binaries

    bindir = binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) absent: apt-get install postgresql")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()
