"""The opt-in on-host sampler: leak readings taken by the host itself between audits.

``install`` registers a scheduled task (as SYSTEM, every ``minutes``) that runs
the recorder: the collector script rendered with the indicators-only query and
a ``record`` section, so it appends one answer per run to a bounded file
(:data:`~.collector.SAMPLES_FILE`, the newest ``keep`` lines) instead of
printing it. Every audit reads and clears that file in its one round trip, so
days of 10-minute samples cost no controller time. ``status`` reports the task
and how many readings wait; ``remove`` deletes the task and its files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from ..catalog import Catalog
from ..errors import ProtocolError, SamplerError, WinRemedyError
from ..psdata import decode_frame
from ..scripts import render
from ..transport import Transport
from .collector import SAMPLER_DIR, SAMPLES_FILE, build_recorder_query

TASK_NAME = "winremedy-sampler"
DEFAULT_MINUTES = 10
DEFAULT_KEEP = 7 * 24 * 6  # a week of 10-minute readings: about 5 MB at most on the host
TIMEOUT = 120.0

Action = Literal["install", "status", "remove"]


@dataclass(frozen=True)
class SamplerState:
    """One host's sampler after an action, or why the action failed there."""

    host: str
    installed: bool = False
    samples: int = 0  # readings waiting for the next audit
    last_run: str | None = None  # ISO 8601, when Task Scheduler 2.0 reports it
    error: str | None = None
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "installed": self.installed, "samples": self.samples, "last_run": self.last_run,
                "error": self.error, "error_code": self.error_code}


def sampler_params(catalog: Catalog, action: Action, *, minutes: int = DEFAULT_MINUTES,
                   keep: int = DEFAULT_KEEP) -> dict[str, Any]:
    """The parameters of ``scripts/sampler.ps1`` for ``action``."""
    params: dict[str, Any] = {"action": action, "name": TASK_NAME, "directory": SAMPLER_DIR, "file": SAMPLES_FILE}
    if action == "install":
        params |= {"recorder": render("collect", build_recorder_query(catalog, keep=keep)), "minutes": minutes}
    return params


def run_sampler(transport: Transport, script: str) -> SamplerState:
    """Run the rendered sampler script on one host; any failure is the state's error (never raised)."""
    host = transport.host
    try:
        output = transport.run_ps(script, timeout=TIMEOUT, check=True)
        raw = decode_frame(output.stdout, host=host)
        if not isinstance(raw, dict) or raw.get("script") != "sampler":
            raise ProtocolError(f"{host}: the answer is not from the sampler script")
        if raw.get("error"):
            raise SamplerError(f"{host}: sampler {raw.get('action')}: {' '.join(str(raw['error']).split())}")
        facts = raw["sampler"]
        return SamplerState(host, installed=bool(facts["installed"]), samples=int(facts.get("samples") or 0),
                            last_run=facts.get("last_run"))
    except WinRemedyError as error:
        return SamplerState(host, error=" ".join(str(error).split()), error_code=error.code)
    except (KeyError, TypeError, ValueError) as error:
        return SamplerState(host, error=f"{host}: sampler answer has an unexpected shape: {error}",
                            error_code="protocol")
    finally:
        transport.close()


def sampler_fleet(hosts: Sequence[str], connect: Callable[[str], Transport], catalog: Catalog, action: Action, *,
                  minutes: int = DEFAULT_MINUTES, keep: int = DEFAULT_KEEP, forks: int = 64) -> list[SamplerState]:
    """``action`` on every host, ``forks`` at a time; one host failing never stops the others."""
    if minutes < 1 or keep < 1:
        raise ValueError("minutes and keep must be at least 1")
    script = render("sampler", sampler_params(catalog, action, minutes=minutes, keep=keep))

    def one(host: str) -> SamplerState:
        try:
            transport = connect(host)
        except WinRemedyError as error:
            return SamplerState(host, error=" ".join(str(error).split()), error_code=error.code)
        return run_sampler(transport, script)

    with ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="sampler") as pool:
        return sorted(pool.map(one, hosts), key=lambda state: state.host.lower())
