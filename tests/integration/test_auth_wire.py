"""Kerberos, CredSSP and client certificates against the lab's WinRM endpoint, with unchanged pywinrm.

Kerberos runs against a real MIT KDC on loopback (``kerberos_realm``); the lab's acceptor is pyspnego over
python-gssapi with the realm's keytab, and over HTTP the bodies are sealed with Kerberos wrap as Windows does.
"""

from __future__ import annotations

import ssl

import pytest
import requests
import winrm
from conftest import KERBEROS_PASSWORD, KERBEROS_USER
from winrm.exceptions import InvalidCredentialsError

from winremedy.lab.api import LOGON_DELEGATED, CommandResult
from winremedy.lab.stub import StubHost
from winremedy.lab.wsman.encryption import SPNEGO_PROTOCOL
from winremedy.lab.wsman.tls import make_client_certificate

pytestmark = pytest.mark.integration
KERBEROS = ("kerberos", "ntlm")


def _host(*mechanisms: str, name: str = "HOST1") -> StubHost:
    return StubHost(name, KERBEROS_USER, KERBEROS_PASSWORD, mechanisms=mechanisms)


def _url(server, scheme: str) -> str:
    return f"{scheme}://127.0.0.1:{server.listeners[0].port}/wsman"


def _kerberos(server, scheme: str, wire_tls, **kwargs) -> winrm.Session:
    return winrm.Session(
        _url(server, scheme),
        auth=(f"{KERBEROS_USER}@WINREMEDY.LAB", None),
        transport="kerberos",
        kerberos_hostname_override="host1",
        ca_trust_path=str(wire_tls.ca_cert),
        **kwargs,
    )


def test_kerberos_over_http_seals_every_body(wire_serve, wire_tls, kinit) -> None:
    assert kinit().returncode == 0
    host = _host(*KERBEROS)
    server, exchanges = wire_serve(host)
    result = _kerberos(server, "http", wire_tls).run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HOST1\r\n")
    soap = [exchange for exchange in exchanges if exchange.action]
    assert {"Create", "Command", "Receive", "Signal", "Delete"} <= {exchange.action for exchange in soap}
    assert all(SPNEGO_PROTOCOL in e.request_type and SPNEGO_PROTOCOL in e.response_type for e in soap)
    assert host.counters.authentications >= 1 and host.counters.auth_failures == 0


def test_kerberos_over_https(wire_serve, wire_tls, kinit) -> None:
    assert kinit().returncode == 0
    server, exchanges = wire_serve(_host(*KERBEROS), scheme="https")
    result = _kerberos(server, "https", wire_tls).run_cmd("hostname")
    assert result.std_out == b"HOST1\r\n"
    assert all(e.request_type.startswith("application/soap+xml") for e in exchanges if e.action)


def test_kerberos_refused_when_the_host_does_not_allow_it(wire_serve, wire_tls, kinit) -> None:
    assert kinit().returncode == 0
    server, _ = wire_serve(_host("ntlm"))
    with pytest.raises(InvalidCredentialsError):
        _kerberos(server, "http", wire_tls).run_cmd("hostname")


def test_kerberos_principal_without_an_account_on_the_host_is_refused(wire_serve, wire_tls, kinit) -> None:
    assert kinit().returncode == 0
    host = StubHost("HOST1", "someone-else", "x", mechanisms=KERBEROS)
    server, _ = wire_serve(host)
    with pytest.raises(InvalidCredentialsError):
        _kerberos(server, "http", wire_tls).run_cmd("hostname")
    assert host.counters.auth_failures >= 1 and host.counters.authentications == 0


def test_first_401_offers_negotiate_and_kerberos(wire_serve) -> None:
    server, _ = wire_serve(_host(*KERBEROS))
    answer = requests.post(_url(server, "http"), data=b"", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Negotiate, Kerberos"


def test_a_forged_kerberos_token_gets_401_with_the_challenge(wire_serve) -> None:
    server, _ = wire_serve(_host(*KERBEROS))
    token = "YIIBhgYJKoZIhvcSAQICAQBuggF1MIIBcaADAgEFoQMCAQ6iBwMFACAAAACjggEAYYH9MIH6oAMCAQU="
    answer = requests.post(_url(server, "http"), headers={"Authorization": f"Kerberos {token}"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Negotiate, Kerberos"
    assert answer.headers["Connection"] == "close"


def test_credssp_over_https_runs_a_command(wire_serve, wire_tls) -> None:
    host = _host("credssp", "ntlm")
    server, _ = wire_serve(host, scheme="https")
    session = winrm.Session(
        _url(server, "https"), auth=(KERBEROS_USER, KERBEROS_PASSWORD), transport="credssp",
        ca_trust_path=str(wire_tls.ca_cert),
    )
    result = session.run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HOST1\r\n")


def test_credssp_wrong_password_is_refused(wire_serve, wire_tls) -> None:
    server, _ = wire_serve(_host("credssp", "ntlm"), scheme="https")
    session = winrm.Session(
        _url(server, "https"), auth=(KERBEROS_USER, "wrong"), transport="credssp", ca_trust_path=str(wire_tls.ca_cert)
    )
    with pytest.raises(Exception) as caught:
        session.run_cmd("hostname")
    assert "wrong" not in str(caught.value)


def test_credssp_is_not_offered_over_http(wire_serve) -> None:
    server, _ = wire_serve(_host("credssp", "ntlm"))
    answer = requests.post(_url(server, "http"), headers={"Authorization": "CredSSP FgMB"}, timeout=10)
    assert answer.status_code == 401


def test_client_certificate_maps_to_the_account(wire_serve, wire_tls, tmp_path) -> None:
    cert, key = make_client_certificate(wire_tls, tmp_path, f"{KERBEROS_USER}@localhost")
    server, _ = wire_serve(_host("certificate"), scheme="https")
    session = winrm.Session(
        _url(server, "https"), auth=(None, None), transport="certificate",
        cert_pem=str(cert), cert_key_pem=str(key), ca_trust_path=str(wire_tls.ca_cert),
    )
    assert session.run_cmd("hostname").std_out == b"HOST1\r\n"


def test_certificate_of_an_unknown_account_is_refused(wire_serve, wire_tls, tmp_path) -> None:
    cert, key = make_client_certificate(wire_tls, tmp_path, "mallory@localhost")
    server, _ = wire_serve(_host("certificate"), scheme="https")
    session = winrm.Session(
        _url(server, "https"), auth=(None, None), transport="certificate",
        cert_pem=str(cert), cert_key_pem=str(key), ca_trust_path=str(wire_tls.ca_cert),
    )
    with pytest.raises(InvalidCredentialsError):
        session.run_cmd("hostname")


def test_certificate_from_another_ca_is_refused_by_tls(wire_serve, wire_tls, tmp_path) -> None:
    from winremedy.lab.wsman import make_tls_material

    stranger = make_tls_material(tmp_path / "other-ca", ["localhost"])
    cert, key = make_client_certificate(stranger, tmp_path, f"{KERBEROS_USER}@localhost")
    server, _ = wire_serve(_host("certificate"), scheme="https")
    session = winrm.Session(
        _url(server, "https"), auth=(None, None), transport="certificate",
        cert_pem=str(cert), cert_key_pem=str(key), ca_trust_path=str(wire_tls.ca_cert),
    )
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError, ssl.SSLError)):
        session.run_cmd("hostname")


class LogonHost(StubHost):
    """Prints whether the command runs in a logon that holds delegated credentials (what a second hop needs)."""

    def run(self, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        return CommandResult(b"delegated" if LOGON_DELEGATED.get() else b"network", b"", 0)


def _logon_host(*mechanisms: str) -> LogonHost:
    return LogonHost("HOST1", KERBEROS_USER, KERBEROS_PASSWORD, mechanisms=mechanisms)


def test_credssp_logon_holds_the_delegated_credentials_and_ntlm_does_not(wire_serve, wire_tls) -> None:
    server, _ = wire_serve(_logon_host("credssp", "ntlm"), scheme="https")
    outputs = {
        transport: winrm.Session(_url(server, "https"), auth=(KERBEROS_USER, KERBEROS_PASSWORD), transport=transport,
                                 ca_trust_path=str(wire_tls.ca_cert)).run_cmd("x").std_out
        for transport in ("credssp", "ntlm")
    }
    assert outputs == {"credssp": b"delegated", "ntlm": b"network"}


@pytest.mark.parametrize(("delegation", "logon"), [(True, b"delegated"), (False, b"network")])
def test_kerberos_delegation_forwards_the_ticket(wire_serve, wire_tls, kinit, delegation: bool, logon: bytes) -> None:
    assert kinit("-f").returncode == 0
    server, _ = wire_serve(_logon_host(*KERBEROS))
    assert _kerberos(server, "http", wire_tls, kerberos_delegation=delegation).run_cmd("x").std_out == logon
