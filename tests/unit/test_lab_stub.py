"""StubHost's bookkeeping, which the wire tests and the wire bench rely on without checking it themselves."""

from __future__ import annotations

from collections import deque

from winremedy.lab.api import CommandResult, LabHost, WireFault
from winremedy.lab.stub import StubHost


def test_credentials_and_mechanisms() -> None:
    host = StubHost("WEB01", "admin", "pw", mechanisms=("ntlm",))
    assert host.check_password("admin", "pw") and not host.check_password("admin", "PW")
    assert host.nt_credentials() == [("", "admin", "pw")]
    assert StubHost("WEB01", "admin", "pw", host_domain=True).nt_credentials() == [
        ("", "admin", "pw"),
        ("WEB01", "admin", "pw"),
    ]
    assert host.accepts_auth("ntlm") and not host.accepts_auth("basic")


def test_faults_are_served_once_each_in_order_per_action() -> None:
    host = StubHost("WEB01", "admin", "pw", faults={"Receive": deque([WireFault.RESET, WireFault.HTTP_500])})
    assert [host.next_fault("Command"), host.next_fault("Receive"), host.next_fault("Receive")] == [
        None,
        WireFault.RESET,
        WireFault.HTTP_500,
    ]
    assert host.next_fault("Receive") is None


def test_defaults_up_no_stdin_and_every_command_prints_the_name() -> None:
    host: LabHost = StubHost("WEB01", "admin", "pw")
    assert host.is_up() and not host.wants_stdin("powershell", ["-Command", "-"])
    assert host.run("anything", ["at", "all"], b"") == CommandResult(b"WEB01\r\n", b"", 0)
    assert (host.max_shells_per_user, host.max_envelope_kb) == (5, 150)
