"""CredSSP and client certificates on an HTTPS lab, and the double hop they are about.

A CredSSP host receives the client's delegated credentials, so a package staged from a share that only
domain users can read reaches it; the same staging over NTLM is refused with the double-hop reason.
A client certificate from the lab CA logs on as the account its UPN names; any other is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from labcli import running_lab, winremedy

from winremedy.lab.stage import LAB_USERS_SHARE
from winremedy.lab.wsman import make_tls_material
from winremedy.lab.wsman.tls import make_client_certificate

pytestmark = pytest.mark.integration

PASSWORD = "Cred:SSP pass 7"
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120")


def _host(name: str, auth: list[str]) -> dict[str, Any]:
    return {"name": name, "os": "win7", "sp": 1, "arch": "x64", "leak": "nsi", "auth": auth}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fleet = {"time_scale": 3600, "seed": 3, "credentials": {"user": "Administrator", "password": PASSWORD},
             "hosts": [_host("cs-01", ["credssp", "ntlm"]), _host("nt-01", ["ntlm"]), _host("ce-01", ["certificate"])]}
    with running_lab(tmp_path_factory.mktemp("credssp"), fleet, "--scheme", "https") as directory:
        yield directory


def _vars(lab: Path, name: str) -> dict[str, Any]:
    inventory = yaml.safe_load((lab / "inventory.yml").read_text())
    return next(group["hosts"][name] for group in inventory["all"]["children"].values() if name in group["hosts"])


def _pywinrm(lab: Path, name: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``Session.run_cmd('hostname')`` in a fresh process, with the inventory's address and the lab CA."""
    host = _vars(lab, name)
    arguments = {"target": f"https://127.0.0.1:{host['ansible_port']}/wsman", "ca_trust_path": str(lab / "ca.pem"), **kwargs}
    script = (
        "import json, sys, winrm\n"
        "a = json.loads(sys.argv[1]); target = a.pop('target')\n"
        "r = winrm.Session(target, **a).run_cmd('hostname'); print(r.status_code, r.std_out.decode().strip())\n"
    )
    return subprocess.run([sys.executable, "-c", script, json.dumps(arguments)], capture_output=True, text=True, timeout=60)


def test_credssp_command_over_https(lab: Path) -> None:
    done = _pywinrm(lab, "cs-01", auth=["Administrator", PASSWORD], transport="credssp")
    assert done.stdout.split() == ["0", "cs-01"], done.stderr
    assert _vars(lab, "cs-01")["ansible_winrm_transport"] == "credssp"


def test_certificate_command_with_the_labs_client_certificate(lab: Path) -> None:
    host = _vars(lab, "ce-01")
    assert host["ansible_winrm_transport"] == "certificate"
    done = _pywinrm(lab, "ce-01", auth=[None, None], transport="certificate",
                    cert_pem=host["ansible_winrm_cert_pem"], cert_key_pem=host["ansible_winrm_cert_key_pem"])
    assert done.stdout.split() == ["0", "ce-01"], done.stderr


def test_unknown_certificates_are_refused(lab: Path, tmp_path: Path) -> None:
    stranger = make_tls_material(tmp_path / "ca", ["localhost"])
    for upn, material in (("Administrator@localhost", stranger), ("nobody@localhost", None)):
        cert, key = make_client_certificate(material or _lab_tls(lab), tmp_path / upn, upn)
        done = _pywinrm(lab, "ce-01", auth=[None, None], transport="certificate", cert_pem=str(cert), cert_key_pem=str(key))
        assert done.returncode != 0 and "ce-01" not in done.stdout
        # Another CA's certificate fails the TLS handshake (with TLS 1.3 the client sees the connection closed);
        # the lab CA's certificate for an account the host does not have gets 401.
        refusals = ("InvalidCredentialsError",) if material is None else ("SSLError", "Connection aborted")
        assert any(refusal in done.stderr for refusal in refusals), done.stderr[-500:]


def _lab_tls(lab: Path) -> Any:
    from winremedy.lab.wsman import TlsMaterial

    return TlsMaterial(lab / "ca.pem", lab / "server.pem", lab / "server.key", lab / "ca.key")


def test_cli_audits_the_certificate_and_credssp_hosts(lab: Path) -> None:
    done = winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json")
    hosts = json.loads(done.stdout)["hosts"]
    assert {name: host.get("error") for name, host in hosts.items()} == {"cs-01": None, "nt-01": None, "ce-01": None}
    assert PASSWORD not in done.stdout + done.stderr


def test_unc_staging_reaches_the_credssp_host_and_not_the_ntlm_one(lab: Path, tmp_path: Path) -> None:
    done = winremedy("remediate", "-i", str(lab / "inventory.yml"), "-l", "cs-01:nt-01", "--repo", str(lab / "repo"),
                     "--repo-unc", LAB_USERS_SHARE, "--reboot", "now", "--out", str(tmp_path / "out"), "--format", "json", *FAST)
    hosts = {host["host"]: host for host in json.loads(done.stdout)["hosts"]}
    assert hosts["cs-01"]["status"] == "fixed", hosts["cs-01"]
    assert hosts["nt-01"]["status"] not in ("fixed", "compliant")
    assert "is denied" in hosts["nt-01"]["message"] and "double hop" in hosts["nt-01"]["message"]
    key = Path(_vars(lab, "ce-01")["ansible_winrm_cert_key_pem"]).read_text().splitlines()[1]
    files = [path.read_text(errors="replace") for path in (tmp_path / "out").rglob("*") if path.is_file()]
    for text in [done.stdout, done.stderr, (lab / "lab.log").read_text(), *files]:
        assert PASSWORD not in text and key not in text
