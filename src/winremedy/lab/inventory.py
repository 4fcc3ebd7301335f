"""The Ansible inventory of a running lab: standard winrm variables, grouped by OS family.

It works as it is with ``ansible all -i DIR/inventory.yml -m raw -a hostname``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..remediate.window import TIMEZONE_VARIABLE, WINDOW_VARIABLE
from .host import EmulatedHost


def inventory(hosts: list[EmulatedHost], scheme: str, ca_path: Path | None) -> dict[str, Any]:
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
        if "ntlm" not in host.spec.auth:
            entry["ansible_winrm_transport"] = "basic"
        if host.spec.maintenance_window is not None:
            entry[WINDOW_VARIABLE] = host.spec.maintenance_window
            entry[TIMEZONE_VARIABLE] = host.spec.timezone
        groups.setdefault(host.profile.family, {"hosts": {}})["hosts"][host.name] = entry
    return {"all": {"vars": connection, "children": dict(sorted(groups.items()))}}
