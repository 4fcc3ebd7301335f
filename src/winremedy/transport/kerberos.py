"""Kerberos tickets for the CLI's pywinrm transport, managed as Ansible's winrm connection manages them.

With ``ansible_winrm_kinit_mode: managed`` (the default when a password is set) Ansible runs ``kinit``
(``ansible_winrm_kinit_cmd``, ``_kinit_args``, ``-f`` for ``kerberos_delegation``) with the password on
stdin, an environment of ``PATH``, ``KRB5CCNAME`` and the ``ansible_winrm_kinit_env_vars`` only, into a
private cache. winremedy does the same once per principal per run: the caches live in one private
directory collection (``DIR:``) that becomes this process's ``KRB5CCNAME``, so hosts audited in parallel
with different accounts each find their own principal's ticket (pywinrm asks for it by name), and the
directory is removed when the process ends. ``manual`` uses the caller's own ``KRB5CCNAME`` as it is.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field

from winremedy.errors import AuthenticationError, TransportConfigError

KINIT_TIMEOUT = 30.0


@dataclass(frozen=True)
class KinitRequest:
    """One managed ``kinit``: who, with which command, arguments and passed-through environment."""

    principal: str
    password: str = field(repr=False)
    command: str = "kinit"
    arguments: str | None = None  # None: none, or -f when delegating (Ansible's rule)
    env_vars: tuple[str, ...] = ()
    forwardable: bool = False

    def command_line(self) -> list[str]:
        if self.arguments is not None:
            extra = shlex.split(self.arguments)
        else:
            extra = ["-f"] if self.forwardable else []
        return [self.command, *extra, self.principal]


class _Tickets:
    """The process's managed caches: one kinit per request, its outcome remembered (a refusal too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._directory: str | None = None
        self._outcomes: dict[KinitRequest, str | None] = {}  # None: ticket obtained; else why not

    def ensure(self, host: str, request: KinitRequest) -> None:
        """Get the ticket unless this run already did; raises :class:`AuthenticationError` naming the reason."""
        with self._lock:
            if request not in self._outcomes:
                self._outcomes[request] = self._kinit(request)
            failure = self._outcomes[request]
        if failure is not None:
            raise AuthenticationError(f"{host}: authentication refused: {failure}")

    def _collection(self) -> str:
        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="winremedy-krb5cc-")
            atexit.register(shutil.rmtree, self._directory, True)
            os.environ["KRB5CCNAME"] = f"DIR:{self._directory}"
        return os.environ["KRB5CCNAME"]

    def _kinit(self, request: KinitRequest) -> str | None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KRB5CCNAME": self._collection()}
        env |= {name: os.environ[name] for name in request.env_vars if name in os.environ and name not in env}
        try:
            done = subprocess.run(
                request.command_line(),
                input=request.password + "\n",
                env=env,
                capture_output=True,
                text=True,
                timeout=KINIT_TIMEOUT,
                start_new_session=True,
                check=False,
            )
        except FileNotFoundError:
            raise TransportConfigError(
                f"Kerberos: {request.command} not found: install MIT Kerberos' kinit (Debian: krb5-user) "
                "or set ansible_winrm_kinit_cmd"
            ) from None
        except subprocess.TimeoutExpired:
            return f"kinit for {request.principal} gave no answer within {KINIT_TIMEOUT:g}s"
        if done.returncode == 0:
            return None
        detail = " ".join(done.stderr.split()).replace(request.password, "<redacted>") if request.password else ""
        return f"kinit for {request.principal} failed: {detail[-300:] or f'exit code {done.returncode}'}"


TICKETS = _Tickets()
