"""A Kerberos lab end to end: ``winremedy lab up --auth kerberos,ntlm`` runs a real MIT KDC, and the clients
use it unchanged: pywinrm, ``ansible`` with the kinit Ansible manages, ``winremedy audit`` and
``winremedy remediate --reboot now`` with the kinit winremedy manages the same way.

Refusals (a wrong password, an expired ticket) come back with their reason, and no secret appears in any
output, result file or lab log. ``lab down`` leaves no KDC and no realm behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import winrm
import yaml
from labcli import running_lab, winremedy

from winremedy.lab.kdc import missing_tools

pytestmark = pytest.mark.integration

PASSWORD = "Kerb-Lab:pass 1"
REPO = Path(__file__).resolve().parents[2]
REALM = "WINREMEDY.LAB"
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120")
PROFILES = [("win7", 1, "x64", "nsi"), ("win2008r2", 1, "x64", "nsi"), ("vista", 2, "x64", "wfp"),
            ("win2008", 2, "x64", None), ("win7", 1, "x86", None)]


def _fleet() -> dict[str, Any]:
    hosts = [
        {"name": f"k{index:02d}-{os_name}"[:15], "os": os_name, "sp": sp, "arch": arch, **({"leak": leak} if leak else {})}
        for index, (os_name, sp, arch, leak) in enumerate(PROFILES * 2)
    ]
    return {"time_scale": 3600, "seed": 5, "credentials": {"user": "Administrator", "password": PASSWORD}, "hosts": hosts}


class Lab:
    """The running lab's directory, the environment ``. DIR/env.sh`` gives, and every output seen."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        exported = (directory / "env.sh").read_text().strip()
        name, _, value = exported.removeprefix("export ").partition("=")
        self.env = {**os.environ, name: value}
        self.env.pop("KRB5CCNAME", None)
        self.outputs: list[str] = []

    @property
    def inventory(self) -> Path:
        return self.directory / "inventory.yml"

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = winremedy(*args, env=env or self.env, timeout=600)
        self.outputs += [result.stdout, result.stderr]
        return result

    def variant(self, name: str, **changes: Any) -> Path:
        """A copy of the inventory with ``changes`` on every host."""
        data = yaml.safe_load(self.inventory.read_text())
        for group in data["all"]["children"].values():
            for host in group["hosts"].values():
                host.update(changes)
        path = self.directory.parent / f"{name}.yml"
        path.write_text(yaml.safe_dump(data))
        return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    missing = missing_tools()
    if missing:
        pytest.skip(f"MIT Kerberos programs absent: apt-get install {' '.join(missing)}")
    with running_lab(tmp_path_factory.mktemp("kerberos"), _fleet(), "--auth", "kerberos,ntlm") as directory:
        yield Lab(directory)


def test_inventory_uses_kerberos_with_the_realm(lab: Lab) -> None:
    hosts = [h for g in yaml.safe_load(lab.inventory.read_text())["all"]["children"].values() for h in g["hosts"].values()]
    assert len(hosts) == 10
    assert {h["ansible_winrm_transport"] for h in hosts} == {"kerberos"}
    assert {h["ansible_user"] for h in hosts} == {f"Administrator@{REALM}"}


def test_pywinrm_kerberos_session_against_a_lab_host(lab: Lab, tmp_path: Path) -> None:
    inventory = yaml.safe_load(lab.inventory.read_text())
    name, host = next(iter(next(iter(inventory["all"]["children"].values()))["hosts"].items()))
    cache = f"FILE:{tmp_path / 'cc'}"
    env = {"PATH": os.environ["PATH"], "KRB5_CONFIG": lab.env["KRB5_CONFIG"], "KRB5CCNAME": cache}
    subprocess.run(["kinit", host["ansible_user"]], input=PASSWORD + "\n", env=env, check=True, capture_output=True, text=True)
    script = (
        "import sys, winrm\n"
        "s = winrm.Session(sys.argv[1], auth=(sys.argv[2], None), transport='kerberos', kerberos_hostname_override=sys.argv[3])\n"
        "r = s.run_cmd('hostname'); print(r.status_code, r.std_out.decode().strip())\n"
    )
    url = f"http://127.0.0.1:{host['ansible_port']}/wsman"
    done = subprocess.run([sys.executable, "-c", script, url, host["ansible_user"], name], env={**lab.env, **env},
                          capture_output=True, text=True, timeout=60)
    lab.outputs += [done.stdout, done.stderr]
    assert done.stdout.split() == ["0", name], done.stderr
    assert winrm.__version__  # the client under test is the installed pywinrm


def test_ansible_raw_with_kinit_managed_by_ansible(lab: Lab) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("ansible")), "all", "-i", str(lab.inventory), "-m", "raw", "-a", "hostname"], env=lab.env,
                          capture_output=True, text=True, timeout=300)
    lab.outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("CHANGED | rc=0") == 10


def test_audit_then_remediate_with_reboot_now(lab: Lab, tmp_path: Path) -> None:
    results = lab.directory.parent / "results"
    audit = lab.run("audit", "-i", str(lab.inventory), "--out", str(results / "audit"), "--format", "json")
    report = json.loads(audit.stdout)
    assert {name: host.get("error") for name, host in report["hosts"].items() if host.get("error")} == {}
    remediate = lab.run("remediate", "-i", str(lab.inventory), "--repo", str(lab.directory / "repo"), "--reboot", "now",
                        "--out", str(results / "remediate"), "--format", "json", *FAST)
    hosts = json.loads(remediate.stdout)["hosts"]
    assert remediate.returncode == 0, [(h["host"], h["status"], h["message"]) for h in hosts]
    assert len(hosts) == 10 and {h["status"] for h in hosts} <= {"fixed", "compliant"}
    assert any(h["status"] == "fixed" for h in hosts)


def test_collection_audit_playbook_over_kerberos(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The collection runs through Ansible's own winrm connection: Kerberos with the kinit Ansible manages."""
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "winremedy").mkdir(parents=True)
    (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    env = {**lab.env, "ANSIBLE_COLLECTIONS_PATH": str(root), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(root / "tmp"), "ANSIBLE_HOME": str(root / "home")}
    out = lab.directory.parent / "results" / "playbook"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(lab.inventory),
                           "winremedy.windows.audit", "-e", f"winremedy_report_dir={out}"],
                          env=env, cwd=out.parent, capture_output=True, text=True, timeout=600)
    lab.outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert len(report["hosts"]) == 10
    assert all(host["reachable"] and not host["error_code"] for host in report["hosts"].values())


def test_wrong_password_is_refused_with_the_reason(lab: Lab) -> None:
    wrong = "Not-the-Passw0rd"
    done = lab.run("audit", "-i", str(lab.variant("wrong", ansible_password=wrong)), "--format", "json")
    hosts = json.loads(done.stdout)["hosts"]
    assert {host["error_code"] for host in hosts.values()} == {"auth"}
    for host in hosts.values():
        assert "authentication refused" in host["error"] and "Password incorrect" in host["error"], host["error"]
    assert wrong not in done.stdout + done.stderr


def test_expired_ticket_is_refused_with_the_reason(lab: Lab, tmp_path: Path) -> None:
    cache = f"FILE:{tmp_path / 'cc'}"
    env = {**lab.env, "KRB5CCNAME": cache}
    subprocess.run(["kinit", "-l", "1s", f"Administrator@{REALM}"], input=PASSWORD + "\n", env=env, check=True,
                   capture_output=True, text=True)
    subprocess.run(["sleep", "2"], check=True)
    manual = lab.variant("manual", ansible_winrm_kinit_mode="manual")
    done = lab.run("audit", "-i", str(manual), "--format", "json", env=env)
    hosts = json.loads(done.stdout)["hosts"]
    assert {host["error_code"] for host in hosts.values()} == {"auth"}
    assert all("Kerberos ticket has expired" in host["error"] for host in hosts.values())


def test_no_secret_in_outputs_results_or_lab_logs(lab: Lab) -> None:
    assert lab.outputs, "the other tests ran first and collected their outputs"
    texts = {f"output {index}": text for index, text in enumerate(lab.outputs)}
    for path in [*(lab.directory.parent / "results").rglob("*"), lab.directory / "lab.log", lab.directory / "krb5" / "kdc.log"]:
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for secret in (PASSWORD, "Not-the-Passw0rd"):
        leaked = [where for where, text in texts.items() if secret in text]
        assert leaked == [], f"{secret!r} found in {leaked}"


def test_lab_down_stops_the_kdc_and_removes_the_realm(tmp_path: Path) -> None:
    if missing_tools():
        pytest.skip("MIT Kerberos programs absent")
    fleet = {"credentials": {"user": "Administrator", "password": PASSWORD},
             "hosts": [{"name": "d1", "os": "win7", "sp": 1, "arch": "x64", "auth": ["kerberos"]}]}
    with running_lab(tmp_path, fleet) as directory:
        conf = (directory / "krb5" / "krb5.conf").read_text()
        port = int(conf.split("kdc = 127.0.0.1:")[1].split()[0])
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert not (directory / "krb5").exists() and not (directory / "env.sh").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
