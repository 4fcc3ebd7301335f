"""A real Kerberos realm for the lab: MIT ``krb5kdc`` on a loopback port, its database in the lab directory.

Domain-joined Windows hosts are reached with Kerberos (Ansible's Windows guide recommends it for
domain accounts), so the lab runs the real thing rather than a stand-in: ``kdb5_util`` creates the
realm database, ``kadmin.local`` adds one ``HTTP/<host>`` service principal per Kerberos host (exported
to a keytab the lab's WinRM acceptor reads through ``KRB5_KTNAME``) and one user principal per fleet
account, and ``krb5kdc`` serves tickets on an unprivileged port. Clients use ``DIR/krb5/krb5.conf``
(``DIR/env.sh`` exports it as ``KRB5_CONFIG``).

Debian packages: krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user (kinit), per
https://web.mit.edu/kerberos/krb5-latest/doc/admin/install_kdc.html.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError

REALM = "WINREMEDY.LAB"
KRB5_DIR = "krb5"
ENV_SH = "env.sh"
TOOLS = {"krb5kdc": "krb5-kdc", "kdb5_util": "krb5-kdc", "kadmin.local": "krb5-admin-server", "kinit": "krb5-user"}
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
START_TIMEOUT = 20.0
MAX_CLOCK_SKEW = 300  # seconds: MIT's default ``clockskew``, as Windows' "Maximum tolerance for computer clock synchronization"


def find_tool(name: str) -> str | None:
    """The path of an MIT Kerberos program (the admin ones live in sbin, often not on a user's PATH)."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))


def missing_tools() -> list[str]:
    """The Debian packages to install before the lab can run a KDC (empty when all is there)."""
    return sorted({package for tool, package in TOOLS.items() if find_tool(tool) is None})


def require_tools() -> None:
    missing = missing_tools()
    if missing:
        raise LabError(f"Kerberos needs the MIT KDC programs: install {' '.join(missing)} (apt-get install {' '.join(missing)})")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class KerberosRealm:
    """One realm's files under ``directory`` and, once started, its KDC process."""

    directory: Path
    realm: str = REALM
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def krb5_conf(self) -> Path:
        return self.directory / "krb5.conf"

    @property
    def keytab(self) -> Path:
        return self.directory / "http.keytab"

    @property
    def log(self) -> Path:
        return self.directory / "kdc.log"

    def principal(self, user: str) -> str:
        return f"{user}@{self.realm}"

    def environment(self) -> dict[str, str]:
        """What clients and the acceptor need: the realm's krb5.conf, and the service keytab."""
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5_KTNAME": f"FILE:{self.keytab}"}

    def create(self, hosts: Iterable[str], users: dict[str, str]) -> None:
        """Write the configuration, create the database, the ``HTTP/<host>`` keytab and the user principals."""
        require_tools()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.port = self.port or _free_port()
        hosts = sorted({host.lower() for host in hosts})
        self._write_config(hosts)
        master = secrets.token_urlsafe(24)
        kdb5_util = find_tool("kdb5_util") or "kdb5_util"
        self._run([kdb5_util, "create", "-s", "-r", self.realm, "-P", master], "create the realm database")
        queries = [f"addprinc -randkey HTTP/{host}" for host in hosts]
        queries += [f"ktadd -k {self.keytab} HTTP/{host}" for host in hosts]
        queries += [f"addprinc -pw {_quoted(password)} {user}" for user, password in sorted(users.items())]
        self._kadmin(queries, "add the principals")

    def set_password(self, user: str, password: str) -> None:
        self._kadmin([f"cpw -pw {_quoted(password)} {user}"], f"change the password of {user}")

    def start(self) -> None:
        """Run ``krb5kdc`` in the foreground of its own process (``stop`` ends it) and wait until it answers."""
        with open(self.log, "ab") as log:
            self._process = subprocess.Popen(
                [find_tool("krb5kdc") or "krb5kdc", "-n", "-r", self.realm],
                env=self._admin_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LabError(f"krb5kdc exited with code {self._process.returncode}; see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LabError(f"krb5kdc did not listen on 127.0.0.1:{self.port} within {START_TIMEOUT:g}s; see {self.log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _write_config(self, hosts: list[str]) -> None:
        kdc = f"127.0.0.1:{self.port}"
        domain_realm = "".join(f"    {host} = {self.realm}\n" for host in hosts)
        self.krb5_conf.write_text(
            "[libdefaults]\n"
            f"    default_realm = {self.realm}\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n"
            "    rdns = false\n"
            "    udp_preference_limit = 1\n"  # TCP only: one port to find free
            f"    clockskew = {MAX_CLOCK_SKEW}\n"
            "    forwardable = true\n"
            "[realms]\n"
            f"    {self.realm} = {{\n        kdc = {kdc}\n    }}\n"
            "[domain_realm]\n" + domain_realm,
            encoding="utf-8",
        )
        (self.directory / "kdc.conf").write_text(
            "[kdcdefaults]\n"
            f"    kdc_ports = {self.port}\n"
            f"    kdc_tcp_ports = {self.port}\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        database_name = {self.directory / 'principal'}\n"
            f"        key_stash_file = {self.directory / 'stash'}\n"
            f"        acl_file = {self.directory / 'kadm5.acl'}\n"
            f"        kdc_ports = {self.port}\n"
            f"        kdc_tcp_ports = {self.port}\n"
            "        max_life = 10h 0m 0s\n"
            "        max_renewable_life = 7d 0h 0m 0s\n"
            "    }\n"
            "[logging]\n"
            f"    kdc = FILE:{self.log}\n",
            encoding="utf-8",
        )

    def _admin_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.directory / "kdc.conf"),
        }

    def _kadmin(self, queries: list[str], what: str) -> None:
        """Run kadmin.local queries from stdin: passwords stay off the command line, and one process does all."""
        tool = find_tool("kadmin.local") or "kadmin.local"
        self._run([tool, "-r", self.realm], what, "\n".join(queries) + "\n")

    def _run(self, command: list[str], what: str, script: str | None = None) -> None:
        """Run an admin program; its stdout echoes the queries (passwords included), so only stderr is reported."""
        result = subprocess.run(command, input=script, env=self._admin_env(), capture_output=True, text=True, check=False)
        errors = [line for line in result.stderr.splitlines() if " while " in line]
        if result.returncode != 0 or errors:
            detail = " ".join((errors or result.stderr.splitlines() or ["no error text"])[-1].split())[:300]
            raise LabError(f"Kerberos realm {self.realm}: cannot {what}: {detail}")


def _quoted(password: str) -> str:
    """A password as one kadmin argument (its parser takes double quotes, without escapes)."""
    if '"' in password or "\n" in password:
        raise LabError("a Kerberos lab password cannot contain a double quote or a newline")
    return f'"{password}"'


def _die_with_parent() -> None:
    """In the KDC's child process: SIGTERM it when the lab process dies, however it dies (Linux prctl)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: stop() and lab down still end it


def write_env_sh(directory: Path, realm: KerberosRealm) -> Path:
    """``DIR/env.sh``: ``. DIR/env.sh`` before running clients (pywinrm, ansible, kinit) against the lab."""
    path = directory / ENV_SH
    path.write_text(f"export KRB5_CONFIG={realm.krb5_conf}\n", encoding="utf-8")
    return path
