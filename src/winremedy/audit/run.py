"""The audit: one collector round trip per host (one more per extra leak sample), analysis, assessment.

Read-only and safe to run every night. Hosts are audited concurrently; each
result is saved the moment it arrives, so an interrupted run keeps what it had
and ``resume`` finishes it. A host that fails (unreachable, refused, garbled
answer) is recorded with its reason and never stops the others.

Leak sampling costs the fleet its span once, not once per round of workers:
the first round trip is the whole collector with the first sample; sample k of
a host is a short indicators-only command due ``(k-1)·interval`` after that
host's first answer, on a schedule shared by the fleet and run by the same
``forks`` workers. While a host waits for its next sample it holds no worker,
no thread and no connection, only its facts so far.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..catalog import Catalog
from ..errors import WinRemedyError
from ..scripts import render
from ..transport import Transport
from ..transport.delivery import NOT_RECOGNIZED
from . import cmd_collector
from .assess import assess
from .collector import build_query, build_sample_query, parse_collect_output, same_boot
from .facts import HostFacts
from .leaks import analyse
from .results import HostResult, done_results, save_result
from ..history import DEFAULT_DAYS, HistoryStore
from ..history.series import host_record, joined_samples

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_FORKS = 64  # threads mostly wait on the network; enough for hundreds of hosts
COLLECT_TIMEOUT = 120.0  # seconds for one collector run, on top of any waits between samples inside it
TIME_SCALE_VARIABLE = "winremedy_lab_time_scale"  # host seconds per controller second; only a lab sets it


@dataclass(frozen=True)
class AuditSettings:
    samples: int = 1
    interval: float = 0.0  # seconds between samples, on the host
    kbs: tuple[str, ...] = ()  # only these KBs in the findings (the query always covers the catalog)
    time_scale: float = 1.0  # host seconds per controller second: 1 but for a lab whose clock runs faster
    history_days: float = DEFAULT_DAYS  # how far back the history joins this run's samples in a trend

    @property
    def timeout(self) -> float:
        """The collector waits ``interval`` between samples: ``samples - 1`` waits in all."""
        return COLLECT_TIMEOUT + (self.samples - 1) * self.interval

    @property
    def spacing(self) -> float:
        """Controller seconds from one sample of a host to its next, in a fleet audit."""
        return self.interval / self.time_scale


class Progress(Protocol):
    def started(self, total: int, skipped: int) -> None: ...
    def finished(self, result: HostResult) -> None: ...
    def done(self) -> None: ...


@dataclass
class _Attempt:
    """When the audit of one host started, for its result."""

    host: str
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def failed(self, error: WinRemedyError, reachable: bool | None = None) -> HostResult:
        return HostResult(host=self.host, reachable=error.code != "unreachable" if reachable is None else reachable,
                          error=_one_line(error), error_code=error.code, started_at=self.started_at,
                          duration=self.elapsed())

    def guarded(self, step: Callable[[], _T]) -> _T | HostResult:
        """``step()``, with every failure turned into the result's error: one host never stops the fleet."""
        try:
            return step()
        except WinRemedyError as error:
            return self.failed(error)
        except Exception as error:  # a bug or an unforeseen library error on one host must not stop the fleet
            _log.exception("unexpected error while auditing %s", self.host)
            return HostResult(host=self.host, reachable=True, error_code="internal", started_at=self.started_at,
                              error=_one_line(f"{self.host}: unexpected {type(error).__name__}: {error}"),
                              duration=self.elapsed())

    def finish(self, facts: HostFacts, catalog: Catalog, settings: AuditSettings,
               history: HistoryStore | None = None) -> HostResult:
        """Leak analysis (with ``history``: joined to the host's samples of the last ``settings.history_days``,
        same boot, same fix state) and assessment of everything collected."""
        facts.leaks = analyse(facts, catalog, joined_samples(facts, catalog, history, settings.history_days))
        findings = assess(facts, catalog, list(settings.kbs) or None)
        return HostResult(host=self.host, reachable=True, facts=facts, findings=findings,
                          started_at=self.started_at, duration=self.elapsed())

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def audit_host(transport: Transport, catalog: Catalog, settings: AuditSettings,
               history: HistoryStore | None = None) -> HostResult:
    """Collect, analyse, assess one host in one command, samples taken inside it (the collection, verification);
    with ``history``, the trends join the host's earlier samples."""
    attempt = _Attempt(transport.host)
    query = build_query(catalog, samples=settings.samples, interval=settings.interval)
    try:
        return attempt.guarded(
            lambda: attempt.finish(_collect(transport, query, settings.timeout), catalog, settings, history))
    finally:
        transport.close()


def _collect(transport: Transport, query: dict[str, Any], timeout: float, *, powershell: bool = True) -> HostFacts:
    """collect.ps1's answer; on a host without PowerShell (cmd.exe's 9009, or known from an earlier answer of
    this run: ``powershell=False``), the cmd.exe collector's."""
    if powershell:
        output = transport.run_ps(render("collect", query), timeout=timeout)
        if output.rc != NOT_RECOGNIZED:
            return parse_collect_output(output.check().stdout, host=transport.host)
    return cmd_collector.collect(lambda line: transport.run_cmd(line, timeout=timeout), query, host=transport.host)


@dataclass
class _Sampling:
    """A host between its first sample and its last: its facts so far; no worker or connection held meanwhile."""

    attempt: _Attempt
    transport: Transport
    facts: HostFacts
    first_answer: float  # monotonic; sample k is due (k - 1) spacings later
    taken: int = 1

    def due(self, spacing: float) -> float:
        return self.first_answer + self.taken * spacing

    def add(self, later: HostFacts) -> None:
        """Append a later sample; a reboot since the first one restarts the series (counters start again at boot)."""
        label = f"leak sample {self.taken + 1}"
        if not same_boot(later.boot_time, self.facts.boot_time):
            self.facts.notes.append(f"{label}: the host restarted at {later.boot_time}; the samples before are "
                                    "left out")
            self.facts.samples = {}
            self.facts.boot_time = later.boot_time
        for key, points in later.samples.items():
            self.facts.samples.setdefault(key, []).extend(points)
        self.facts.notes.extend(f"{label}: {note}" for note in later.notes)
        self.facts.collected_at = later.collected_at or self.facts.collected_at


class _FleetAudit:
    """The two kinds of work a fleet audit gives its workers: a host's first round trip, and a later sample."""

    def __init__(self, connect: Callable[[str], Transport], catalog: Catalog, settings: AuditSettings,
                 history: HistoryStore | None = None) -> None:
        self.connect, self.catalog, self.settings, self.history = connect, catalog, settings, history
        self.collect_query = build_query(catalog)
        self.sample_query = build_sample_query(catalog)

    def first(self, host: str) -> HostResult | _Sampling:
        attempt = _Attempt(host)
        try:
            transport = self.connect(host)
        except WinRemedyError as error:
            return attempt.failed(error, reachable=False)
        try:
            return attempt.guarded(lambda: self._answered(attempt, transport))
        finally:
            transport.close()

    def _answered(self, attempt: _Attempt, transport: Transport) -> HostResult | _Sampling:
        facts = _collect(transport, self.collect_query, COLLECT_TIMEOUT)
        if self.settings.samples == 1:
            return attempt.finish(facts, self.catalog, self.settings, self.history)
        return _Sampling(attempt, transport, facts, first_answer=time.monotonic())

    def next_sample(self, state: _Sampling) -> HostResult | _Sampling:
        """Take the host's next sample; a failed one is a note (the facts stand), the others are still taken."""
        try:
            powershell = cmd_collector.WITHOUT_POWERSHELL not in state.facts.notes  # switched for the rest of the run
            state.add(_collect(state.transport, self.sample_query, COLLECT_TIMEOUT, powershell=powershell))
        except WinRemedyError as error:
            state.facts.notes.append(f"leak sample {state.taken + 1}: {_one_line(error)}")
        except Exception as error:  # noqa: BLE001 - an unforeseen error on one sample must not lose the host
            _log.exception("unexpected error while sampling %s", state.attempt.host)
            state.facts.notes.append(f"leak sample {state.taken + 1}: unexpected {type(error).__name__}: {error}")
        finally:
            state.transport.close()
        state.taken += 1
        if state.taken < self.settings.samples:
            return state
        return state.attempt.guarded(lambda: state.attempt.finish(state.facts, self.catalog, self.settings, self.history))


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
    """Audit ``hosts`` with up to ``forks`` commands at a time; results saved under ``out`` as they arrive.

    With ``history``, each host's samples and statuses are appended there (one
    transaction per host, before its result file: a host whose result is saved
    is in the history too, and ``resume`` redoes any other).

    With ``resume``, hosts already saved without error under ``out`` are not
    audited again; with ``history`` too, their saved samples and statuses are
    written to it (idempotent: a host saved while the history was down gets
    there now, one already there is unchanged). Ctrl-C stops starting new work, waits for the running
    commands and re-raises: what was saved stays saved; a host still between
    samples is not saved, so ``resume`` audits it again.
    """
    wanted = set(hosts)
    saved = [r for r in done_results(out) if r.host in wanted] if (resume and out) else []
    skip = {r.host for r in saved}
    todo = [h for h in hosts if h not in skip]
    if progress:
        progress.started(len(hosts), len(hosts) - len(todo))
    results: list[HostResult] = []
    fleet = _FleetAudit(connect, catalog, settings, history)
    run = history.begin_run(datetime.now(timezone.utc).isoformat(timespec="seconds")) if history else 0

    def remember(result: HostResult) -> None:
        if history and result.facts:
            # every KB, whatever --kb shows: the fix state splits series the same way in every run
            history.write_host(run, host_record(result.facts, assess(result.facts, catalog), catalog))

    for result in saved:
        remember(result)
    with ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="audit") as pool:
        try:
            for result in _scheduled(pool, fleet, todo, workers=max(1, forks)):
                remember(result)
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


def _scheduled(pool: ThreadPoolExecutor, fleet: _FleetAudit, hosts: Iterable[str], *,
               workers: int) -> Iterator[HostResult]:
    """Results in completion order, never more than ``workers`` commands in flight.

    A free worker takes the sample that is due first, else the next host's
    first round trip: samples keep to their schedule, new hosts fill the gaps.
    """
    spacing = fleet.settings.spacing
    running: set[Future[HostResult | _Sampling]] = set()
    waiting: list[tuple[float, int, _Sampling]] = []  # a heap by due time; the counter breaks ties
    order = itertools.count()
    queue = iter(hosts)
    while True:
        now = time.monotonic()
        while len(running) < workers:
            if waiting and waiting[0][0] <= now:
                running.add(pool.submit(fleet.next_sample, heapq.heappop(waiting)[2]))
            elif (host := next(queue, None)) is not None:
                running.add(pool.submit(fleet.first, host))
            else:
                break
        if not running and not waiting:
            return
        until_due = max(0.0, waiting[0][0] - now) if waiting and len(running) < workers else None
        if not running:
            time.sleep(until_due or 0.0)
            continue
        finished, running = wait(running, timeout=until_due, return_when=FIRST_COMPLETED)
        for future in finished:
            outcome = future.result()
            if isinstance(outcome, HostResult):
                yield outcome
            else:
                heapq.heappush(waiting, (outcome.due(spacing), next(order), outcome))


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
