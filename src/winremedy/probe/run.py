"""The probe over a transport: one round trip per host (the file route adds one when stdin delivered nothing).

Read-only. A host that fails never stops the others: its failure becomes its verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..audit.cmdtools import decode, file_version, wmic_records
from ..errors import ScriptFailedError, WinRemedyError
from ..scripts import render
from ..transport import Transport
from ..transport.delivery import NOT_RECOGNIZED
from ..transport.options import WinRMOptions
from .query import DISK_BY_CMD, WSMSVC_BY_CMD, build_query
from .readiness import NOT_RECOGNIZED as NOT_RECOGNIZED_TEXT
from .readiness import BareFacts, Channel, Check, Readiness, no_powershell, read_probe, unreachable

_log = logging.getLogger(__name__)
PROBE_TIMEOUT = 60.0  # seconds: the probe reads a few values, it never waits on the host


def channel_of(host: str, options: WinRMOptions) -> Channel:
    """The channel an inventory's ``ansible_winrm_*`` options describe."""
    return Channel(options.address or host, options.port, options.scheme, options.transport,
                   options.message_encryption)


def probe_host(transport: Transport, channel: Channel | None = None) -> Readiness:
    """Run the probe script on the host and judge the answer; every expected failure becomes a reason."""
    host = transport.host
    script = render("probe", build_query())
    try:
        started = time.time()
        result = transport.run_ps(script, timeout=PROBE_TIMEOUT)
        controller_time = (started + time.time()) / 2  # the host read its clock somewhere in between
        if result.rc == NOT_RECOGNIZED or NOT_RECOGNIZED_TEXT in result.stderr_text:
            return no_powershell(host, channel, _read_by_cmd(transport))
        result.check()
        delivery = getattr(transport, "delivery", None)
        return read_probe(result.stdout, host=host, channel=channel, controller_time=controller_time,
                          route=delivery.route.value if delivery is not None else None)
    except ScriptFailedError as error:
        return Readiness(host, {"reachable": True, "authenticated": True},
                         reasons=[Check("script", _one_line(error), "run the probe script by hand and read its "
                                                                      "error")])
    except WinRemedyError as error:
        return unreachable(host, channel, _one_line(error), error.code)
    except Exception as error:  # a bug or an unforeseen library error on one host must not stop the fleet
        _log.exception("unexpected error while probing %s", host)
        return unreachable(host, channel, f"{host}: unexpected {type(error).__name__}: {error}", "internal")


def _read_by_cmd(transport: Transport) -> BareFacts:
    """wsmsvc.dll's file version (``wmic datafile``) and the staging drive's free space (``wmic logicaldisk``) in one
    command line, the probe's second round trip on a host without PowerShell; what cannot be read is an error of
    the probe, and the host is still probed."""
    result = transport.run_cmd(f"{WSMSVC_BY_CMD} & {DISK_BY_CMD}", timeout=PROBE_TIMEOUT)
    facts = BareFacts()
    try:
        records = wmic_records(decode(result.stdout, result.encoding))
        versions = [r["Version"] for r in records if "Version" in r]
        facts.wsmsvc = file_version(versions[0]) if versions else None
        disks = [r for r in records if "FreeSpace" in r]
        if disks and disks[0]["FreeSpace"].strip().isdigit():  # empty: wmic's own answer for a drive without media
            facts.drive, facts.free = disks[0].get("DeviceID", "").strip() or None, float(disks[0]["FreeSpace"])
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        facts.errors.append(f"{transport.host}: wmic datafile (wsmsvc.dll) and logicaldisk (exit code {result.rc}): "
                            f"cannot read their output: {exc}")
    return facts


def probe_fleet(hosts: Sequence[str], connect: Callable[[str], tuple[Transport, Channel | None]], *,
                forks: int) -> list[Readiness]:
    """Probe ``hosts``, ``forks`` at a time; the results in host order."""

    def one(host: str) -> Readiness:
        try:
            transport, channel = connect(host)
        except WinRemedyError as error:
            return unreachable(host, None, _one_line(error), error.code)
        try:
            return probe_host(transport, channel)
        finally:
            transport.close()

    with ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="probe") as pool:
        results = list(pool.map(one, hosts))
    return sorted(results, key=lambda r: r.host.lower())


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
