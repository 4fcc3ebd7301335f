"""audit_fleet: every host gets a result, whatever happens on the others."""

from __future__ import annotations

from winremedy.audit.run import AuditSettings, audit_fleet
from winremedy.catalog import load_catalog
from winremedy.errors import AuthenticationError
from winremedy.audit.results import load_results
from winremedy.transport import Result


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
    results = audit_fleet(list(errors), transports.__getitem__, load_catalog(), AuditSettings(), forks=2,
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
