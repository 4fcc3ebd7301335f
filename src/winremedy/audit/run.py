"""The audit: one collector round trip per host, then leak analysis and assessment, for a whole fleet.

Read-only and safe to run every night. Hosts are audited concurrently; each
result is saved the moment it arrives, so an interrupted run keeps what it had
and ``resume`` finishes it. A host that fails (unreachable, refused, garbled
answer) is recorded with its reason and never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .assess import assess
from ..catalog import Catalog
from . import cmd_collector
from .collector import build_query, parse_collect_output
from .facts import HostFacts
from ..errors import WinRemedyError
from .leaks import analyse
from .results import HostResult, done_hosts, save_result
from ..scripts import render
from ..transport import Transport
from ..transport.delivery import NOT_RECOGNIZED
from ..history import DEFAULT_DAYS, HistoryStore
from ..history.series import host_record, joined_samples

_log = logging.getLogger(__name__)

DEFAULT_FORKS = 64  # threads mostly wait on the network; enough for hundreds of hosts
COLLECT_TIMEOUT = 120.0  # seconds for one collector run, on top of the sampling time


@dataclass(frozen=True)
class AuditSettings:
    samples: int = 1
    interval: float = 0.0  # seconds between samples, on the host
    kbs: tuple[str, ...] = ()  # only these KBs in the findings (the query always covers the catalog)
    history_days: float = DEFAULT_DAYS  # how far back the history joins this run's samples in a trend

    @property
    def timeout(self) -> float:
        """The collector waits ``interval`` between samples: ``samples - 1`` waits in all."""
        return COLLECT_TIMEOUT + (self.samples - 1) * self.interval


class Progress(Protocol):
    def started(self, total: int, skipped: int) -> None: ...
    def finished(self, result: HostResult) -> None: ...
    def done(self) -> None: ...


def audit_host(transport: Transport, catalog: Catalog, settings: AuditSettings,
               history: HistoryStore | None = None) -> HostResult:
    """Collect, analyse, assess one host over ``transport``; every expected failure becomes the result's error.

    With ``history``, the leak trends also use the host's samples of the last
    ``settings.history_days`` (same boot, same fix state)."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    query = build_query(catalog, samples=settings.samples, interval=settings.interval)
    try:
        facts = _collect(transport, query, settings.timeout)
        facts.leaks = analyse(facts, catalog, joined_samples(facts, catalog, history, settings.history_days))
        findings = assess(facts, catalog, list(settings.kbs) or None)
    except WinRemedyError as error:
        return HostResult(host=transport.host, reachable=error.code != "unreachable", error=_one_line(error),
                          error_code=error.code, started_at=started_at, duration=time.monotonic() - started)
    except Exception as error:  # a bug or an unforeseen library error on one host must not stop the fleet
        _log.exception("unexpected error while auditing %s", transport.host)
        return HostResult(host=transport.host, reachable=True, error_code="internal", started_at=started_at,
                          error=_one_line(f"{transport.host}: unexpected {type(error).__name__}: {error}"),
                          duration=time.monotonic() - started)
    finally:
        transport.close()
    return HostResult(host=transport.host, reachable=True, facts=facts, findings=findings,
                      started_at=started_at, duration=time.monotonic() - started)


def _collect(transport: Transport, query: dict[str, Any], timeout: float) -> HostFacts:
    """collect.ps1's answer; on a host without PowerShell (cmd.exe's 9009), the cmd.exe collector's."""
    output = transport.run_ps(render("collect", query), timeout=timeout)
    if output.rc == NOT_RECOGNIZED:
        return cmd_collector.collect(lambda line: transport.run_cmd(line, timeout=timeout), query,
                                     host=transport.host)
    return parse_collect_output(output.check().stdout, host=transport.host)


def audit_fleet(
    hosts: Sequence[str],
    connect: Callable[[str], Transport],
    catalog: Catalog,
    settings: AuditSettings,
    *,
    forks: int = DEFAULT_FORKS,
    out: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    history: HistoryStore | None = None,
) -> list[HostResult]:
    """Audit ``hosts`` with up to ``forks`` at a time; results saved under ``out`` as they arrive.

    With ``history``, each host's samples and statuses are appended there (one
    transaction per host, before its result file: a host whose result is saved
    is in the history too, and ``resume`` redoes any other).

    With ``resume``, hosts already saved without error under ``out`` are not
    audited again. Ctrl-C stops starting new hosts, waits for the running ones
    and re-raises: what was saved stays saved.
    """
    skip = done_hosts(out) if (resume and out) else set()
    todo = [h for h in hosts if h not in skip]
    if progress:
        progress.started(len(hosts), len(hosts) - len(todo))
    results: list[HostResult] = []

    def one(host: str) -> HostResult:
        try:
            transport = connect(host)
        except WinRemedyError as error:
            return HostResult(host=host, reachable=False, error=_one_line(error), error_code=error.code)
        return audit_host(transport, catalog, settings, history)

    run = history.begin_run(datetime.now(timezone.utc).isoformat(timespec="seconds")) if history else 0
    with ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="audit") as pool:
        try:
            for result in _as_completed(pool, one, todo, window=2 * max(1, forks)):
                if history and result.facts:
                    # every KB, whatever --kb shows: the fix state splits series the same way in every run
                    history.write_host(run, host_record(result.facts, assess(result.facts, catalog), catalog))
                if out:
                    save_result(out, result)
                results.append(result)
                if progress:
                    progress.finished(result)
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if progress:
                progress.done()
    return sorted(results, key=lambda r: r.host.lower())


def _as_completed(pool: ThreadPoolExecutor, work: Callable[[str], HostResult],
                  hosts: Iterable[str], *, window: int) -> Iterable[HostResult]:
    """Results in completion order, submitting at most ``window`` ahead so Ctrl-C has little to cancel."""
    pending: set[Future[HostResult]] = set()
    queue = iter(hosts)
    while True:
        for host in queue:
            pending.add(pool.submit(work, host))
            if len(pending) >= window:
                break
        if not pending:
            return
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            yield future.result()


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
