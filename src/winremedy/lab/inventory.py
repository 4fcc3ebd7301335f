"""The Ansible inventory of a running lab: standard winrm variables, grouped by OS family.

It works as it is with ``ansible all -i DIR/inventory.yml -m raw -a hostname``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..remediate.window import TIMEZONE_VARIABLE, WINDOW_VARIABLE
from ..transport.options import ALLOW_UNENCRYPTED
from .host import HostModel


def inventory(
    hosts: Sequence[HostModel],
    scheme: str,
    ca_path: Path | None,
    *,
    realm: str | None = None,
    client_certificates: dict[str, tuple[Path, Path]] | None = None,
) -> dict[str, Any]:
    """Each host connects with the first mechanism of its fleet ``auth`` list.

    Kerberos hosts get what Ansible documents for a managed ``kinit``: ``user@REALM`` with the password, the
    service name through ``kerberos_hostname_override`` (every lab host is 127.0.0.1), and ``KRB5_CONFIG``
    passed to kinit (``. DIR/env.sh`` exports it). Certificate hosts get the account's certificate and key.
    """
    connection: dict[str, Any] = {
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_scheme": scheme,
        "ansible_winrm_message_encryption": "auto",
    }
    if scheme == "https":
        connection["ansible_winrm_server_cert_validation"] = "validate"
        connection["ansible_winrm_ca_trust_path"] = str(ca_path)
    groups: dict[str, dict[str, Any]] = {}
    for host in hosts:
        entry: dict[str, Any] = {
            "ansible_host": host.address,
            "ansible_port": host.port,
            "ansible_user": host.spec.user,
            "ansible_password": host.spec.password,
        }
        entry |= _transport_vars(host, realm, client_certificates or {})
        if scheme == "http" and host.spec.allow_unencrypted and entry.get("ansible_winrm_transport") == "basic":
            entry[ALLOW_UNENCRYPTED] = True  # the host lets it in; without it the client refuses to send
        if host.spec.winrm == "1.1":
            entry |= _winrm_11_vars(scheme)
        if host.spec.maintenance_window is not None:
            entry[WINDOW_VARIABLE] = host.spec.maintenance_window
            entry[TIMEZONE_VARIABLE] = host.spec.timezone
        groups.setdefault(host.profile.family, {"hosts": {}})["hosts"][host.name] = entry
    return {"all": {"vars": connection, "children": dict(sorted(groups.items()))}}


def _winrm_11_vars(scheme: str) -> dict[str, Any]:
    """What a WinRM 1.1 host differs in, for a reader of the inventory and for the engine.

    A real 1.1 host listens on 80 (http) or 443 (https), not 5985/5986 (TechNet ee922665, ee922649); the lab
    serves every host on its own loopback port, so ``ansible_port`` stays the lab's and
    ``winremedy_winrm_listener_port`` says the port a real host of this kind uses. The URL path /wsman and
    the SOAP faults are assumed to be the same as 2.0's (the 1.1 differences are documented only by title).
    """
    return {"winremedy_winrm_version": "1.1", "winremedy_winrm_listener_port": 443 if scheme == "https" else 80}


def _transport_vars(host: HostModel, realm: str | None, certificates: dict[str, tuple[Path, Path]]) -> dict[str, Any]:
    mechanism = host.spec.auth[0]
    if mechanism == "ntlm":
        return {}
    entry: dict[str, Any] = {"ansible_winrm_transport": mechanism}
    if mechanism == "kerberos" and realm is not None:
        entry |= {
            "ansible_user": f"{host.spec.user}@{realm}",
            "ansible_winrm_kerberos_hostname_override": host.name.lower(),
            "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"],
        }
    elif mechanism == "certificate" and host.spec.user.lower() in certificates:
        cert, key = certificates[host.spec.user.lower()]
        entry |= {"ansible_winrm_cert_pem": str(cert), "ansible_winrm_cert_key_pem": str(key)}
    return entry
