"""WinRMOptions.from_hostvars reads Ansible's winrm variables with Ansible's defaults."""

from __future__ import annotations

import re
from typing import Any

import pytest
import winrm.protocol

from winremedy.errors import TransportConfigError
from winremedy.transport import WinRMOptions


def test_defaults_are_ansibles() -> None:
    options = WinRMOptions.from_hostvars({}, "web01")
    assert (options.port, options.scheme, options.transport, options.path) == (5986, "https", "ssl", "/wsman")
    assert options.endpoint("web01") == "https://web01:5986/wsman"
    assert (options.operation_timeout_sec, options.read_timeout_sec) == (20, 30)
    assert options.warnings == ()


@pytest.mark.parametrize(
    ("hostvars", "scheme", "transport"),
    [
        ({"ansible_port": 5985}, "http", "ntlm"),
        ({"ansible_port": "5985"}, "http", "ntlm"),
        ({"ansible_winrm_port": 5985}, "http", "ntlm"),
        ({"ansible_port": 15985}, "https", "ssl"),  # http only on exactly 5985, as Ansible
        ({"ansible_port": 15985, "ansible_winrm_scheme": "http"}, "http", "ntlm"),
        ({"ansible_user": "admin@CORP.EXAMPLE"}, "https", "kerberos"),
        ({"ansible_user": "admin@CORP.EXAMPLE", "ansible_winrm_transport": "ntlm"}, "https", "ntlm"),
        ({"ansible_winrm_transport": ["credssp"]}, "https", "credssp"),
    ],
)
def test_scheme_and_transport_follow_port_and_user(hostvars: dict[str, Any], scheme: str, transport: str) -> None:
    options = WinRMOptions.from_hostvars(hostvars, "web01")
    assert (options.scheme, options.transport) == (scheme, transport)


def test_address_user_password_and_passthrough_options() -> None:
    options = WinRMOptions.from_hostvars(
        {
            "ansible_host": "fe80::1",
            "ansible_user": "CORP\\svc",
            "ansible_winrm_pass": "second",
            "ansible_password": "first",
            "ansible_winrm_server_cert_validation": "ignore",
            "ansible_winrm_message_encryption": "never",
            "ansible_winrm_send_cbt": "no",
            "ansible_winrm_kerberos_delegation": "yes",
            "ansible_winrm_ca_trust_path": "/etc/ca.pem",
            "ansible_winrm_path": "wsman",
            "winremedy_retries": "5",
        },
        "web01",
    )
    assert options.endpoint("web01") == "https://[fe80::1]:5986/wsman"
    assert (options.user, options.password) == ("CORP\\svc", "first")
    assert (options.server_cert_validation, options.message_encryption) == ("ignore", "never")
    assert (options.send_cbt, options.kerberos_delegation) == (False, True)
    assert (options.ca_trust_path, options.retries) == ("/etc/ca.pem", 5)
    assert "first" not in repr(options)


def test_connection_timeout_sets_operation_and_read_timeouts() -> None:
    options = WinRMOptions.from_hostvars({"ansible_winrm_connection_timeout": "60"}, "web01")
    assert (options.operation_timeout_sec, options.read_timeout_sec) == (60, 70)


def test_unknown_and_unused_variables_are_warnings() -> None:
    options = WinRMOptions.from_hostvars(
        {"ansible_winrm_colour": "blue", "ansible_winrm_keytab": "/k.keytab", "ansible_winrm_transport": "ntlm,basic"},
        "web01",
    )
    assert options.transport == "ntlm"
    assert options.warnings == (
        "web01: ansible_winrm_transport ['ntlm', 'basic']: winremedy uses the first only",
        "web01: ignoring unknown variable ansible_winrm_colour",
        "web01: variable ansible_winrm_keytab is not used by winremedy",
    )


@pytest.mark.parametrize(
    ("hostvars", "fragment"),
    [
        ({"ansible_port": "https"}, "variable ansible_port (port): expected an integer"),
        ({"ansible_port": 70000}, "variable ansible_port (port): port must be 1..65535"),
        ({"ansible_port": True}, "variable ansible_port (port)"),
        ({"ansible_winrm_scheme": "ftp"}, "variable ansible_winrm_scheme (scheme)"),
        ({"ansible_winrm_transport": "telnet"}, "variable ansible_winrm_transport (transport)"),
        ({"ansible_winrm_message_encryption": "sometimes"}, "variable ansible_winrm_message_encryption"),
        ({"ansible_winrm_send_cbt": "maybe"}, "variable ansible_winrm_send_cbt (send_cbt): expected a boolean"),
        ({"ansible_password": [1234]}, "variable ansible_password (password): must be a string or a number"),
        ({"ansible_winrm_pass": {"k": "v"}}, "variable ansible_winrm_pass (password): must be a string or a number"),
        ({"ansible_winrm_operation_timeout_sec": 40}, "read_timeout_sec (30) must exceed operation_timeout_sec (40)"),
    ],
)
def test_wrong_values_name_host_and_variable(hostvars: dict[str, Any], fragment: str) -> None:
    with pytest.raises(TransportConfigError, match="^db02: ") as caught:
        WinRMOptions.from_hostvars(hostvars, "db02")
    assert fragment in str(caught.value)


@pytest.mark.parametrize("transport", ["ntlm", "basic", "plaintext", "ssl", "credssp"])
def test_protocol_arguments_are_accepted_by_pywinrm(transport: str) -> None:
    options = WinRMOptions.from_hostvars(
        {"ansible_user": "u", "ansible_password": "p", "ansible_winrm_transport": transport}, "web01"
    )
    protocol = winrm.protocol.Protocol(options.endpoint("web01"), **options.protocol_arguments())
    assert protocol.transport.endpoint == "https://web01:5986/wsman"
    assert protocol.transport.auth_method == transport


def test_kinit_is_managed_as_ansible_manages_it() -> None:
    hostvars = {"ansible_user": "admin@LAB.TEST", "ansible_password": "pw", "ansible_winrm_kerberos_delegation": True}
    request = WinRMOptions.from_hostvars(hostvars, "web01").kinit_request()
    assert request is not None and request.command_line() == ["kinit", "-f", "admin@LAB.TEST"]
    assert "pw" not in repr(request)
    explicit = {**hostvars, "ansible_winrm_kinit_args": "-l 1h", "ansible_winrm_kinit_env_vars": "KRB5_CONFIG, KRB5_TRACE"}
    request = WinRMOptions.from_hostvars(explicit, "web01").kinit_request()
    assert request is not None and request.command_line() == ["kinit", "-l", "1h", "admin@LAB.TEST"]
    assert request.env_vars == ("KRB5_CONFIG", "KRB5_TRACE")
    assert WinRMOptions.from_hostvars({**hostvars, "ansible_winrm_kinit_mode": "manual"}, "web01").kinit_request() is None
    assert WinRMOptions.from_hostvars({"ansible_user": "admin@LAB.TEST"}, "web01").kinit_request() is None
    assert WinRMOptions.from_hostvars({**hostvars, "ansible_winrm_transport": "ntlm"}, "web01").kinit_request() is None


def test_bad_kinit_mode_names_the_variable() -> None:
    with pytest.raises(TransportConfigError, match="variable ansible_winrm_kinit_mode"):
        WinRMOptions.from_hostvars({"ansible_winrm_kinit_mode": "auto"}, "web01")


@pytest.mark.parametrize(
    ("hostvars", "what"),
    [
        ({"ansible_port": 5985, "ansible_winrm_transport": "basic"}, "Basic authentication (transport basic)"),
        ({"ansible_port": 5985, "ansible_winrm_transport": "plaintext"}, "Basic authentication (transport plaintext)"),
        ({"ansible_winrm_scheme": "http", "ansible_winrm_transport": "ssl"}, "Basic authentication (transport ssl)"),
        ({"ansible_port": 5985, "ansible_winrm_message_encryption": "never"}, "ntlm with message_encryption never"),
    ],
)
def test_credentials_in_clear_are_refused_unless_the_host_opts_in(hostvars: dict[str, Any], what: str) -> None:
    with pytest.raises(TransportConfigError, match=f"^db02: .*{re.escape(what)} over http .*refused.*"
                                                   "winremedy_allow_unencrypted: true"):
        WinRMOptions.from_hostvars({**hostvars, "ansible_password": "pw"}, "db02")
    allowed = WinRMOptions.from_hostvars({**hostvars, "winremedy_allow_unencrypted": "yes"}, "db02")
    assert allowed.allow_unencrypted and allowed.scheme == "http"
    assert any(what in warning and "in clear" in warning for warning in allowed.warnings)


def test_only_host_port_user_password_is_never_plaintext() -> None:
    options = WinRMOptions.from_hostvars(
        {"ansible_host": "10.0.0.1", "ansible_port": 5985, "ansible_user": "admin", "ansible_password": "pw"}, "db02"
    )
    assert (options.scheme, options.transport, options.message_encryption, options.in_clear) == (
        "http", "ntlm", "auto", "")
    assert options.warnings == ()


def test_https_basic_and_sealed_ntlm_need_no_opt_in() -> None:
    assert WinRMOptions.from_hostvars({"ansible_winrm_transport": "basic"}, "h").in_clear == ""
    assert WinRMOptions.from_hostvars({"ansible_winrm_message_encryption": "never"}, "h").warnings == ()


def test_ignoring_the_server_certificate_warns() -> None:
    options = WinRMOptions.from_hostvars({"ansible_winrm_server_cert_validation": "ignore"}, "db02")
    assert options.warnings == (
        "db02: server_cert_validation is ignore: anyone on the path can pose as this host and receive its credentials",
    )
