"""A private PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary directory, loopback only.

PostgreSQL refuses to run as root ("root" execution of the PostgreSQL server is
not permitted), so under root the cluster belongs to the unprivileged user
``nobody`` and its programs run through ``runuser``. The superuser connects
over the cluster's own Unix socket (trust, local only); every other role over
TCP with a SCRAM password, as a controller would.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"


def binaries() -> Path | None:
    """The directory of initdb, pg_ctl and postgres (the newest Debian version, else PATH), None if absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb and (Path(initdb).parent / "pg_ctl").exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """``start()`` a cluster in a new temporary directory; ``stop()`` removes it. ``down()``/``up()`` restart it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="winremedy-pg-"))
        self.data, self.sockets, self.log = self.root / "data", self.root / "run", self.root / "server.log"
        self.port = _free_port()
        self._as_owner = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_owner, str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} -> {result.returncode}\n{result.stdout}{result.stderr}{log}")

    def start(self) -> PostgresServer:
        self.sockets.mkdir()
        if self._as_owner:
            shutil.chown(self.root, UNPRIVILEGED)
            shutil.chown(self.sockets, UNPRIVILEGED)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256",
                  "-E", "UTF8", "--no-sync")
        self.up()
        return self

    def up(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def down(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.down()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, *statements: str) -> None:
        """Run ``statements`` as the superuser, each in its own transaction."""
        import psycopg

        with psycopg.connect(host=str(self.sockets), port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as db:
            for statement in statements:
                db.execute(statement)  # type: ignore[arg-type]  # our own literal statements

    def database(self, name: str, owner: str, password: str) -> str:
        """A new role ``owner`` (with ``password``) owning a new database ``name``; its URL without the password."""
        self.admin(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(owner, name)

    def url(self, user: str, database: str, password: str | None = None) -> str:
        secret = f":{quote(password, safe='')}" if password is not None else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"
