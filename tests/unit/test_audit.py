"""audit_fleet: every host gets a result, whatever happens on the others; leak samples on one fleet schedule."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from winremedy.audit.command import time_scale
from winremedy.audit.facts import HostFacts, Sample
from winremedy.inventory import load_targets
from winremedy.audit.results import load_results
from winremedy.audit.run import TIME_SCALE_VARIABLE, AuditSettings, _Attempt, _Sampling, audit_fleet
from winremedy.audit.collector import build_query, build_sample_query
from winremedy.catalog import load_catalog
from winremedy.errors import AuthenticationError, InventoryError, UnreachableError
from winremedy.lab.clock import LabClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.profiles import OsProfile
from winremedy.psdata import read_ps_data
from winremedy.scripts import identify
from winremedy.transport import Result
from winremedy.transport.bootstrap import POWERSHELL, POWERSHELL_ARGUMENTS, encode_script

CATALOG = load_catalog()


class _Broken:
    """A transport that fails the way a library bug or a refused logon would."""

    def __init__(self, host: str, error: Exception) -> None:
        self.host, self.error, self.closed = host, error, False

    def run_ps(self, script: str, **_: object) -> Result:
        raise self.error

    def close(self) -> None:
        self.closed = True


def test_one_host_failing_never_stops_the_others(tmp_path):
    errors = {"a": AuthenticationError("a: credentials rejected"), "b": KeyError("boom"), "c": RuntimeError("x")}
    transports = {name: _Broken(name, error) for name, error in errors.items()}
    results = audit_fleet(list(errors), transports.__getitem__, CATALOG, AuditSettings(), forks=2,
                          out=tmp_path)
    by_host = {r.host: r for r in results}
    assert (by_host["a"].error_code, by_host["a"].reachable) == ("auth", True)
    assert by_host["b"].error_code == "internal" and "unexpected KeyError" in (by_host["b"].error or "")
    assert by_host["c"].error_code == "internal"
    assert all(t.closed for t in transports.values())
    assert {r.host for r in load_results(tmp_path)} == {"a", "b", "c"}


def test_timeout_covers_the_waits_between_samples():
    from winremedy.audit.run import COLLECT_TIMEOUT

    assert AuditSettings(samples=1, interval=600).timeout == COLLECT_TIMEOUT  # one sample: nothing to wait for
    assert AuditSettings(samples=8, interval=1200).timeout == COLLECT_TIMEOUT + 7 * 1200


def test_a_host_with_a_bad_connection_variable_fails_alone_with_its_reason(tmp_path):
    inventory = Path(tmp_path) / "hosts.ini"
    inventory.write_text("[web]\nbad01 ansible_port=https\ngood01\n")
    targets = {t.name: t for t in load_targets([str(inventory)])}
    good = _Broken("good01", AuthenticationError("good01: credentials rejected"))

    def connect(name: str) -> _Broken:
        targets[name].winrm_options()  # raises the host's TransportConfigError
        return good

    by_host = {r.host: r for r in audit_fleet(list(targets), connect, load_catalog(), AuditSettings(), out=tmp_path)}
    assert by_host["bad01"].error_code == "transport-config"
    assert by_host["bad01"].error == "bad01: variable ansible_port (port): expected an integer, got 'https'"
    assert by_host["good01"].error_code == "auth" and good.closed


# --- leak sampling on a schedule shared by the fleet ---------------------------------------------------


class _Counted:
    """A transport into a lab host that waits as the wire does (the answer's delay) and counts what runs."""

    def __init__(self, host: EmulatedHost, meter: _Meter, *, fail_after: int | None = None) -> None:
        self.host, self.lab_host, self.meter, self.fail_after = host.name, host, meter, fail_after
        self.scripts: list[str] = []

    def run_ps(self, script: str, **_: object) -> Result:
        self.scripts.append(script)
        if self.fail_after is not None and len(self.scripts) > self.fail_after:
            raise UnreachableError(f"{self.host}: connection refused")
        with self.meter:
            answer = self.lab_host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(script))
            time.sleep(0.02 + answer.delay)  # a round trip, and the host's own waits (samples taken inside)
        return Result(self.host, answer.exit_code, answer.stdout, answer.stderr).check()

    def close(self) -> None:
        pass


class _Meter:
    def __init__(self) -> None:
        self.lock, self.in_flight, self.peak, self.peak_threads = threading.Lock(), 0, 0, 0

    def __enter__(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.peak_threads = max(self.peak_threads, threading.active_count())

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.in_flight -= 1


def _lab_fleet(count: int) -> list[EmulatedHost]:
    clock = LabClock(1.79e9, scale=1.0)  # host time is real time: the schedule is what is tested
    return [EmulatedHost(HostSpec(name=f"h{i:02d}", profile=OsProfile("win7", 1, "x64"), user="u", password="p",
                                  seed=i), clock) for i in range(count)]


def test_samples_follow_one_fleet_schedule_with_bounded_workers():
    hosts, meter, forks, samples, interval = _lab_fleet(40), _Meter(), 8, 3, 1.5
    transports = {h.name: _Counted(h, meter) for h in hosts}
    threads_before = threading.active_count()
    results = audit_fleet(list(transports), transports.__getitem__, CATALOG,
                          AuditSettings(samples=samples, interval=interval), forks=forks)
    assert all(r.ok for r in results) and len(results) == 40
    series = [points for r in results for points in r.facts.samples.values()]  # type: ignore[union-attr]
    assert series and all(len(points) == samples for points in series)
    # Holding a worker per host for its whole span would take 5 rounds of 8: the fleet's last first sample
    # would come after the first round's last samples. On one schedule every first sample comes first.
    assert max(points[0].t for points in series) < min(points[-1].t for points in series)
    for points in series:  # sample k is due (k - 1) intervals after the host's first answer
        assert points[-1].t - points[0].t >= (samples - 1) * interval
    assert meter.peak <= forks and meter.peak_threads <= threads_before + forks
    for transport in transports.values():  # the whole collector once, then indicators-only samples
        assert [_query(script) for script in transport.scripts] == \
            [build_query(CATALOG)] + [build_sample_query(CATALOG)] * (samples - 1)


def _query(script: str) -> object:
    identity = identify(script)
    assert identity is not None and identity.name == "collect" and identity.args_literal
    return read_ps_data(identity.args_literal)


def test_one_sample_is_one_command_per_host():
    hosts, meter = _lab_fleet(5), _Meter()
    transports = {h.name: _Counted(h, meter) for h in hosts}
    results = audit_fleet(list(transports), transports.__getitem__, CATALOG, AuditSettings(), forks=2)
    assert all(r.ok for r in results)
    assert [len(t.scripts) for t in transports.values()] == [1] * 5


def test_a_failed_later_sample_is_a_note_and_the_host_keeps_its_facts():
    host = _lab_fleet(1)[0]
    transport = _Counted(host, _Meter(), fail_after=1)
    [result] = audit_fleet([host.name], lambda _: transport, CATALOG, AuditSettings(samples=3, interval=0.05))
    assert result.ok and result.facts is not None and result.findings
    assert all(len(points) == 1 for points in result.facts.samples.values())
    assert [n.split(":")[0] for n in result.facts.notes] == ["leak sample 2", "leak sample 3"]
    assert "connection refused" in result.facts.notes[0]
    assert len(transport.scripts) == 3  # the samples after a failed one are still tried


def test_a_restart_between_samples_starts_the_series_again():
    facts = HostFacts(host="h", os=None, boot_time="2026-12-01T00:00:00Z",
                      samples={"nonpaged_pool_total": [Sample(1.0, 100.0)]})
    state = _Sampling(_Attempt("h"), LocalTransport(_lab_fleet(1)[0]), facts, first_answer=0.0)
    state.add(HostFacts(host="h", os=None, boot_time="2026-12-01T00:00:00Z",
                        samples={"nonpaged_pool_total": [Sample(2.0, 110.0)]}))
    state.taken += 1
    state.add(HostFacts(host="h", os=None, boot_time="2026-12-01T05:00:00Z",
                        samples={"nonpaged_pool_total": [Sample(3.0, 50.0)]}))
    assert facts.samples == {"nonpaged_pool_total": [Sample(3.0, 50.0)]}
    assert facts.notes == ["leak sample 3: the host restarted at 2026-12-01T05:00:00Z; the samples before are left out"]


def test_the_lab_time_scale_comes_from_the_inventory():
    assert time_scale({"a": {}, "b": {}}) == 1.0
    assert time_scale({"a": {TIME_SCALE_VARIABLE: 3600}, "b": {TIME_SCALE_VARIABLE: 3600.0}}) == 3600.0
    with pytest.raises(InventoryError, match=f"host a: {TIME_SCALE_VARIABLE} must be a positive number"):
        time_scale({"a": {TIME_SCALE_VARIABLE: "fast"}})
    with pytest.raises(InventoryError, match="hosts a and b have different"):
        time_scale({"a": {TIME_SCALE_VARIABLE: 60}, "b": {}})
    assert AuditSettings(interval=1200, time_scale=3600).spacing == pytest.approx(1 / 3)
