"""What a fleet's auth lists need besides the listeners: checked before anything starts, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.lab import accounts, kdc
from winremedy.lab.clock import LabClock
from winremedy.lab.errors import LabError
from winremedy.lab.fleet import fleet_from_dict
from winremedy.lab.emulated import EmulatedHost


def _hosts(*entries: dict[str, object]) -> list[EmulatedHost]:
    fleet = fleet_from_dict({"credentials": {"user": "Administrator", "password": "pw"}, "hosts": list(entries)}, "f.yml")
    clock = LabClock(fleet.start_time, 1.0)
    return [EmulatedHost(spec, clock) for spec in fleet.hosts]


def _host(name: str, auth: list[str], **extra: object) -> dict[str, object]:
    return {"name": name, "os": "win7", "sp": 1, "arch": "x64", "auth": auth, **extra}


def test_missing_kdc_programs_name_the_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kdc, "find_tool", lambda name: None if name in ("krb5kdc", "kinit") else "/bin/true")
    with pytest.raises(LabError, match=r"^Kerberos needs the MIT KDC programs: install krb5-kdc krb5-user \(apt-get"):
        accounts.start_accounts(tmp_path, _hosts(_host("k1", ["kerberos"])), "http", None)
    assert not (tmp_path / kdc.KRB5_DIR).exists()


def test_missing_python_kerberos_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(accounts.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LabError, match=r"^Kerberos needs the Python packages gssapi, krb5: pip install 'winremedy\[kerberos\]'"):
        accounts.start_accounts(tmp_path, _hosts(_host("k1", ["kerberos"])), "http", None)


@pytest.mark.parametrize("mechanism", ["credssp", "certificate"])
def test_credssp_and_certificates_need_https(mechanism: str, tmp_path: Path) -> None:
    with pytest.raises(LabError, match=f"^{mechanism} authentication \\(c1\\) needs an HTTPS lab: lab up --scheme https"):
        accounts.start_accounts(tmp_path, _hosts(_host("c1", [mechanism])), "http", None)


def test_a_realm_has_one_password_per_account(tmp_path: Path) -> None:
    hosts = _hosts(_host("k1", ["kerberos"]), _host("k2", ["kerberos"], credentials={"user": "Administrator", "password": "other"}))
    with pytest.raises(LabError, match="^Kerberos account Administrator has different passwords on k1 and k2"):
        accounts.start_accounts(tmp_path, hosts, "http", None)


def test_hosts_without_enterprise_auth_need_nothing(tmp_path: Path) -> None:
    lab = accounts.start_accounts(tmp_path, _hosts(_host("n1", ["ntlm"])), "http", None)
    assert (lab.realm, lab.certificates) == (None, {})
    lab.stop()
    assert list(tmp_path.iterdir()) == []
