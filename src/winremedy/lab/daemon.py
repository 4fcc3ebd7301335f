"""The lab daemon: one detached process, one asyncio loop serving every host and the control endpoint.

Started by ``winremedy lab up`` as ``python -m winremedy.lab.daemon --dir DIR``;
it reads ``DIR/fleet.yml``, binds one loopback port per host, writes
``DIR/inventory.yml`` and ``DIR/lab.json``, then prints one line on stdout,
``ready`` or ``error: <why>``, and closes it so that ``lab up`` can return.
Crashes (never expected) go to ``DIR/lab.log``. It wires the lab's layers: the
fleet, one :class:`~winremedy.lab.emulated.EmulatedHost` per host with the
command line it is handed, the WS-Management server and the control endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ..atomic import write_text_atomic
from ..audit.run import TIME_SCALE_VARIABLE
from ..instants import iso
from .clock import LabClock
from .cmdline import CommandLine
from .control import serve_control
from .emulated import LAB_COMMAND_LINE, EmulatedHost, replaying
from .errors import LabError
from .fleet import Fleet, fleet_from_dict
from .inventory import inventory
from .layout import FLEET_YML, INVENTORY_YML, LAB_JSON, REPO_DIR
from .repository import RepositoryServer
from .stage import LAB_SHARE, LAB_USERS_SHARE
from .accounts import LabAccounts, start_accounts
from .wsman import Listener, TlsMaterial, WsmanServer, make_tls_material


class Lab:
    """The hosts of one fleet on one clock, each answering with ``command_line``."""

    def __init__(self, fleet: Fleet, command_line: CommandLine = LAB_COMMAND_LINE) -> None:
        self.fleet = fleet
        self.clock = LabClock(fleet.start_time, fleet.time_scale)
        self.hosts = [EmulatedHost(spec, self.clock, reboot_downtime=fleet.reboot_downtime,
                                   command_line=replaying(spec, command_line)) for spec in fleet.hosts]

    def status(self) -> dict[str, Any]:
        return {
            "host_time": iso(self.clock.now()),
            "time_scale": self.clock.scale,
            "hosts": [host.status() for host in self.hosts],
        }


async def serve(directory: Path, scheme: str, command_line: CommandLine = LAB_COMMAND_LINE) -> None:
    fleet = fleet_from_dict(yaml.safe_load((directory / FLEET_YML).read_text(encoding="utf-8")), str(directory / FLEET_YML))
    lab = Lab(fleet, command_line)
    tls = make_tls_material(directory, ["localhost"]) if scheme == "https" else None
    accounts = start_accounts(directory, lab.hosts, scheme, tls)
    try:
        await _serve_lab(directory, scheme, fleet, lab, tls, accounts)
    finally:
        accounts.stop()


async def _serve_lab(
    directory: Path, scheme: str, fleet: Fleet, lab: Lab, tls: TlsMaterial | None, accounts: LabAccounts
) -> None:
    listeners = [Listener(host, scheme=scheme) for host in lab.hosts]  # type: ignore[arg-type]
    server = WsmanServer(listeners, tls)
    try:
        await server.start()
    except OSError as exc:
        raise LabError(f"cannot bind {len(listeners)} loopback ports (ports or file descriptors exhausted?): {exc.strerror or exc}") from None
    for listener, host in zip(listeners, lab.hosts, strict=True):
        host.port = listener.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def request_stop() -> dict[str, Any]:
        loop.call_soon(stop.set)
        return {"stopping": True}

    token = secrets.token_hex(16)
    control = await serve_control(token, {("GET", "/status"): lab.status, ("POST", "/stop"): request_stop})
    repository = RepositoryServer(directory / REPO_DIR)
    for host in lab.hosts:
        host.shares[LAB_SHARE] = host.shares[LAB_USERS_SHARE] = str(directory / REPO_DIR)
    inventory_data = inventory(
        lab.hosts, scheme, tls.ca_cert if tls else None,
        realm=accounts.realm_name, client_certificates=accounts.certificates,
    )
    inventory_data["all"]["vars"] |= {"winremedy_repo_unc": LAB_SHARE, "winremedy_repo_url": repository.url,
                                      TIME_SCALE_VARIABLE: fleet.time_scale}
    write_text_atomic(directory / INVENTORY_YML, yaml.safe_dump(inventory_data, sort_keys=False))  # 0600: passwords
    write_text_atomic(directory / LAB_JSON, json.dumps({
        "pid": os.getpid(),
        "control_port": control.sockets[0].getsockname()[1],
        "token": token,
        "scheme": scheme,
        "hosts": len(lab.hosts),
        "started_at": time.time(),
        "time_scale": fleet.time_scale,
        "host_time_start": iso(fleet.start_time),
    }, indent=2))
    _announce("ready")
    try:
        await stop.wait()
    finally:
        control.close()
        await server.stop()
        repository.close()
        (directory / LAB_JSON).unlink(missing_ok=True)


def _announce(line: str) -> None:
    """Tell ``lab up`` how the start went, then let go of its pipe."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def main(argv: list[str] | None = None, command_line: CommandLine = LAB_COMMAND_LINE) -> int:
    """Serve the lab in ``--dir``; ``command_line`` is what its hosts answer with (a bench may hand in its own)."""
    parser = argparse.ArgumentParser(prog="python -m winremedy.lab.daemon")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--scheme", choices=("http", "https"), default="http")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.dir, args.scheme, command_line))
    except LabError as error:
        _announce(f"error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
