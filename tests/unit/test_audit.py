"""audit_fleet: every host gets a result, whatever happens on the others."""

from __future__ import annotations

from pathlib import Path

from winremedy.audit.run import AuditSettings, audit_fleet
from winremedy.catalog import load_catalog
from winremedy.errors import AuthenticationError
from winremedy.inventory import load_targets
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
