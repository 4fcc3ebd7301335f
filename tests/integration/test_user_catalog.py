"""A fourth KB written only as a YAML file in a user catalog directory, end to end on a lab fleet.

The KB (docs/examples/catalog/KB9999901.yml: one file on Windows 7 SP1 x64, one indicator) is listed, audited,
emulated by the lab (its file on the hosts at the base revision, its package in the lab's repository, its
installer) and remediated, through the CLI (``--catalog``; the lab through ``WINREMEDY_CATALOG_PATH``) and
through ``ansible-playbook`` (``winremedy_catalog_paths``), with no code change.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy
from test_collection_audit import REPO, _ansible, ansible_env  # noqa: F401 - ansible_env is a fixture

pytestmark = pytest.mark.integration

KB = "KB9999901"
AFD = "%SystemRoot%\\System32\\drivers\\afd.sys"
FLEET = {
    "time_scale": 3600, "seed": 5, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
    "hosts": [
        {"name": "w7-cli", "os": "win7", "sp": 1, "arch": "x64"},
        {"name": "w7-ansible", "os": "win7", "sp": 1, "arch": "x64", "patch_level": "gdr"},
        {"name": "w7-x86", "os": "win7", "sp": 1, "arch": "x86"},
    ],
}
FAST = ("--poll", "0.05", "--verify-samples", "4", "--verify-interval", "900", "--reboot-timeout", "120")


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("my-kbs")
    shutil.copy(REPO / "docs" / "examples" / "catalog" / f"{KB}.yml", directory)
    return directory


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, catalog_dir: Path) -> Iterator[Path]:
    env = {**os.environ, "WINREMEDY_CATALOG_PATH": str(catalog_dir)}
    with running_lab(tmp_path_factory.mktemp("user-catalog"), FLEET, env=env) as directory:
        yield directory


def _audit(lab: Path, catalog_dir: Path) -> dict[str, dict[str, Any]]:
    report = json.loads(winremedy("--catalog", str(catalog_dir), "audit", "-i", str(lab / "inventory.yml"),
                                  "--format", "json").stdout)
    return {name: {f["kb"]: f for f in host["findings"]} for name, host in report["hosts"].items()}


def test_listed_only_with_the_catalog_directory(catalog_dir: Path) -> None:
    listed = json.loads(winremedy("--catalog", str(catalog_dir), "catalog", "list", "--format", "json").stdout)
    assert KB in [kb["kb"] for kb in listed["kbs"]]
    plain = json.loads(winremedy("catalog", "list", "--format", "json", env={
        k: v for k, v in os.environ.items() if k != "WINREMEDY_CATALOG_PATH"}).stdout)
    assert KB not in [kb["kb"] for kb in plain["kbs"]]


def test_the_lab_emulates_its_file_and_package(lab: Path) -> None:
    hosts = lab_hosts(lab)
    assert hosts["w7-cli"]["files"][AFD] == "6.1.7601.17514"  # the SP1 base revision
    assert hosts["w7-ansible"]["files"][AFD] == "6.1.7601.18229"  # the lab's GDR revision
    assert (lab / "repo" / f"Windows6.1-{KB}-x64.msu").is_file()
    manifest = json.loads((lab / "repo" / "manifest.json").read_text())
    assert {(p["kb"], p["arch"]) for p in manifest["packages"]} >= {(KB, "x64")}


def test_audited_remediated_through_the_cli_and_ansible(lab: Path, catalog_dir: Path,
                                                        ansible_env: dict[str, str]) -> None:  # noqa: F811
    before = _audit(lab, catalog_dir)
    assert before["w7-cli"][KB]["status"] == "missing" and "Afd.sys 6.1.7601.17514 < 6.1.7601.22980" in \
        before["w7-cli"][KB]["reason"]
    assert (before["w7-ansible"][KB]["status"], before["w7-ansible"][KB]["confidence"]) == ("missing", "medium")
    assert before["w7-x86"][KB]["status"] == "not_applicable"

    cli = winremedy("--catalog", str(catalog_dir), "remediate", "-i", str(lab / "inventory.yml"), "-l", "w7-cli",
                    "--kb", KB, "--repo", str(lab / "repo"), "--reboot", "now", "--format", "json",
                    "--out", str(lab.parent / "cli-out"), *FAST)
    outcome = json.loads(cli.stdout)["hosts"][0]
    assert (cli.returncode, outcome["status"]) == (0, "fixed"), outcome["message"]
    assert [s["kb"] for s in outcome["steps"] if s["step"] == "install"] == [KB]

    vars_file = lab.parent / "vars.json"
    vars_file.write_text(json.dumps({"winremedy_catalog_paths": [str(catalog_dir)], "winremedy_kbs": [KB],
                                     "winremedy_repo": str(lab / "repo"), "winremedy_reboot": "now",
                                     "winremedy_poll": 0.05, "winremedy_verify_samples": 4,
                                     "winremedy_verify_interval": 900, "winremedy_reboot_timeout": 120,
                                     "winremedy_report_dir": str(lab.parent / "ansible-out")}))
    env = {k: v for k, v in ansible_env.items() if k != "WINREMEDY_CATALOG_PATH"}
    run = _ansible("ansible-playbook", "-i", str(lab / "inventory.yml"), "winremedy.windows.remediate",
                   "-l", "w7-ansible", "-e", f"@{vars_file}", env=env, cwd=lab.parent)
    assert run.returncode == 0, run.stdout[-3000:]
    saved = json.loads((lab.parent / "ansible-out" / "remediation" / "w7-ansible.json").read_text())
    assert saved["status"] == "fixed" and [s["kb"] for s in saved["steps"] if s["step"] == "install"] == [KB]

    after = _audit(lab, catalog_dir)
    assert after["w7-cli"][KB]["status"] == after["w7-ansible"][KB]["status"] == "fixed"
    files = lab_hosts(lab)
    assert files["w7-cli"]["files"][AFD] == files["w7-ansible"]["files"][AFD] == "6.1.7601.22980"
