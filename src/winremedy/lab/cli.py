"""``winremedy lab up | status | down | generate``: start an emulated fleet in the background, look at it,
stop it, or write a generated fleet file.

``winremedy.cli`` hands ``winremedy lab ...`` to :func:`main`, importing this module only then;
``python -m winremedy.lab.cli lab ...`` runs it alone.
Expected failures (bad fleet, a lab already running, no free ports, no lab
there, an unwritable output) print one line and exit 2.

Importing this module is cheap: it imports the lab itself (fleet, packages,
the daemon's control client) only when a command runs, so a CLI that adds
these commands does not load the emulator to print its help.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import LabError
from .layout import FLEET_YML, INVENTORY_YML, LAB_JSON, LOG, REPO_DIR

START_TIMEOUT = 120.0  # real seconds for the daemon to bind every port
STOP_TIMEOUT = 30.0
DAEMON = ("-m", "winremedy.lab.daemon")  # what ``lab up`` runs with this Python, before ``--dir DIR --scheme S``
GENERATED_HOSTS = 10  # the size of a generated fleet when --hosts is not given


def add_lab_commands(subparsers: Any) -> None:
    """Add ``lab`` with its ``up``, ``status``, ``down`` and ``generate`` subcommands."""
    from ..commandline import positive_number
    lab = subparsers.add_parser("lab", help="run an emulated Windows fleet on loopback")
    lab.set_defaults(run=run_lab)
    commands = lab.add_subparsers(dest="lab_command", required=True)
    up = commands.add_parser("up", help="start a lab in the background")
    up.add_argument("--dir", type=Path, required=True, help="lab directory (inventory.yml, fleet.yml, lab.json, repo/)")
    source = up.add_mutually_exclusive_group()
    source.add_argument("--fleet", type=Path, help="fleet file (YAML)")
    _add_generator_options(up, source)
    up.add_argument("--time-scale", type=positive_number, help="host seconds per real second (overrides the fleet)")
    up.add_argument("--scheme", choices=("http", "https"), default="http")
    up.add_argument("--service-packs", action="store_true",
                    help="the repository also holds the service packs catalog prerequisites name (KB976932)")
    up.add_argument(
        "--auth",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help="every host's mechanisms, the first used by the inventory (e.g. kerberos,ntlm; overrides the fleet); "
        "kerberos starts a KDC (. DIR/env.sh before using the inventory)",
    )
    status = commands.add_parser("status", help="state and counters of every host")
    status.add_argument("--dir", type=Path, required=True)
    status.add_argument("--format", choices=("json", "table"), default="table")
    down = commands.add_parser("down", help="stop the lab and wait until it has exited")
    down.add_argument("--dir", type=Path, required=True)
    generate = commands.add_parser("generate", help="write a generated fleet file (YAML) for 'lab up --fleet'")
    _add_generator_options(generate, generate)
    generate.add_argument("--output", type=Path, help="write it to this file (default: standard output)")


def _add_generator_options(parser: argparse.ArgumentParser, hosts_group: Any) -> None:
    """The generator's options, one definition for ``up`` (where --hosts excludes --fleet) and ``generate``."""
    hosts_group.add_argument("--hosts", type=int, help=f"generate a fleet of this many hosts (default {GENERATED_HOSTS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated fleet (default 0)")
    parser.add_argument("--faulty", action="store_true", help="the generated fleet includes faulty and odd hosts")


def run_lab(args: argparse.Namespace, daemon: Sequence[str] = DAEMON) -> int:
    """Run a ``lab`` subcommand; ``daemon`` is what ``up`` starts (``python -m winremedy.lab.daemon``)."""
    try:
        if args.lab_command == "up":
            return _up(args, daemon)
        if args.lab_command == "status":
            return _status(args.dir, args.format)
        if args.lab_command == "generate":
            return _generate(args)
        return _down(args.dir)
    except LabError as error:
        print(f"winremedy lab: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None, daemon: Sequence[str] = DAEMON) -> int:
    parser = argparse.ArgumentParser(prog="winremedy")
    add_lab_commands(parser.add_subparsers(dest="command", required=True))
    return run_lab(parser.parse_args(argv), daemon)


# --- generate ------------------------------------------------------------------------------------


def _generated(args: argparse.Namespace) -> dict[str, Any]:
    """The fleet ``--hosts``, ``--seed`` and ``--faulty`` ask for, as ``up`` and ``generate`` both build it."""
    from .fleet import generate

    return generate(GENERATED_HOSTS if args.hosts is None else args.hosts, args.seed, args.faulty)


def _generate(args: argparse.Namespace) -> int:
    from ..atomic import write_text_atomic
    from .fleet import fleet_yaml

    data = _generated(args)
    if args.output is None:
        sys.stdout.write(fleet_yaml(data))
        return 0
    try:
        write_text_atomic(args.output, fleet_yaml(data))
    except OSError as exc:
        raise LabError(f"{args.output}: cannot write the fleet file: {exc.strerror or exc}") from None
    print(f"lab generate: {len(data['hosts'])} hosts (seed {args.seed}) written to {args.output}", file=sys.stderr)
    return 0


# --- up ------------------------------------------------------------------------------------------


def _up(args: argparse.Namespace, daemon: Sequence[str]) -> int:
    from ..atomic import write_text_atomic
    from .fleet import fleet_from_dict, fleet_yaml, load_fleet
    from .kdc import ENV_SH
    from .packages import write_repository

    directory: Path = args.dir
    running = _running_lab(directory)
    if running:
        raise LabError(f"{directory} already has a running lab (pid {running['pid']}); run 'winremedy lab down --dir {directory}' first")
    data = load_fleet(args.fleet).data if args.fleet else _generated(args)
    if args.time_scale is not None:
        data = {**data, "time_scale": args.time_scale}
    if args.auth:
        data = {**data, "hosts": [{**host, "auth": args.auth} if isinstance(host, dict) else host for host in data.get("hosts") or []]}
    fleet = fleet_from_dict(data, str(args.fleet or "generated fleet"))
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / FLEET_YML, fleet_yaml(data))  # 0600: it holds passwords
    packages = write_repository(directory / REPO_DIR, service_packs=args.service_packs)
    started = time.monotonic()
    _start_daemon(directory, args.scheme, daemon)
    lab = _read_lab_json(directory)
    realm = f"; Kerberos realm: . {directory / ENV_SH}" if (directory / ENV_SH).exists() else ""
    print(
        f"lab up: {len(fleet.hosts)} hosts ({args.scheme}) in {time.monotonic() - started:.1f}s, pid {lab['pid']}, "
        f"time scale {fleet.time_scale:g}; inventory {directory / INVENTORY_YML}; "
        f"{len(packages.entries)} packages in {directory / REPO_DIR}{realm}"
    )
    return 0


def _start_daemon(directory: Path, scheme: str, daemon: Sequence[str]) -> None:
    with open(directory / LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, *daemon, "--dir", str(directory.resolve()), "--scheme", scheme],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline().decode("utf-8", "replace").strip() if ready else ""
    process.stdout.close()
    if line == "ready":
        return
    if not ready:
        process.kill()
    process.wait()
    if line.startswith("error: "):
        raise LabError(line[len("error: "):])
    raise LabError(f"the lab daemon did not start (exit code {process.returncode}); see {directory / LOG}")


# --- status and down -----------------------------------------------------------------------------


def _status(directory: Path, output: str) -> int:
    from .control import call

    lab = _require_lab(directory)
    answer = call(lab["control_port"], lab["token"], "GET", "/status")
    if output == "json":
        print(json.dumps(answer, indent=2))
    else:
        print(_table(answer))
    return 0


_COLUMNS = ("name", "os", "sp", "arch", "up", "installed", "pending", "leak", "boot_time")
_COUNTERS = ("connections", "authentications", "shells", "commands", "bytes_in", "bytes_out", "reboots", "installs")


def _table(answer: dict[str, Any]) -> str:
    from ..report.table import format_table

    rows = []
    for host in answer["hosts"]:
        cells = [",".join(v) if isinstance(v, list) else str(v) for v in (host[c] for c in _COLUMNS)]
        rows.append([cell or "-" for cell in cells] + [str(host["counters"][c]) for c in _COUNTERS])
    return f"host time {answer['host_time']} (x{answer['time_scale']:g})\n" + format_table((*_COLUMNS, *_COUNTERS), rows)


def _down(directory: Path) -> int:
    from .control import call

    lab = _require_lab(directory)
    pid = lab["pid"]
    try:
        call(lab["control_port"], lab["token"], "POST", "/stop", timeout=10)
    except LabError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid, directory):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)
    (directory / LAB_JSON).unlink(missing_ok=True)
    print(f"lab down: pid {pid} stopped")
    return 0


def _read_lab_json(directory: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((directory / LAB_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def _running_lab(directory: Path) -> dict[str, Any] | None:
    """lab.json of a lab whose daemon still runs; a stale file (daemon gone) counts as no lab."""
    lab = _read_lab_json(directory)
    return lab if lab.get("pid") and _alive(int(lab["pid"]), directory) else None


def _require_lab(directory: Path) -> dict[str, Any]:
    lab = _running_lab(directory)
    if lab is None:
        raise LabError(f"no lab is running in {directory}")
    return lab


def _alive(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is a live daemon of the lab in ``directory`` (not a zombie, not a recycled pid):
    ``lab up`` starts it with ``--dir`` and the directory's absolute path."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    marker = b"\0--dir\0" + os.fsencode(directory.resolve()) + b"\0"
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and marker in cmdline


if __name__ == "__main__":
    sys.exit(main())
