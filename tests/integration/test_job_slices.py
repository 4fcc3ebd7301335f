"""AWX-style job slices, really run: the audit playbook as 3 concurrent ansible-runner jobs on one 60-host lab.

Each slice is what an AWX execution node runs for a sliced job template: its own private data directory
(env/extravars, env/envvars with the credential injected as an environment variable, inventory/, artifacts/),
the collection's playbook, and the slice's hosts: AWX's ``Inventory.get_sliced_hosts`` keeps every
N-th host of the inventory ordered by name, from offset ``slice_number - 1`` (given here as ``--limit``,
since the test slices one inventory rather than AWX's per-slice inventory copies). The slices' per-host
result files are merged with ``winremedy report`` and compared with one controller's run of the same lab.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from labcli import running_lab, winremedy

ansible_runner = pytest.importorskip("ansible_runner", reason="ansible-runner is a test extra: pip install -e '.[test]'")

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SLICES, HOSTS = 3, 60
PASSWORD_VARIABLE = "WINREMEDY_LAB_PASSWORD"  # a custom credential type's env injector, as AWX would set it


def _collections(root: Path) -> Path:
    """ANSIBLE_COLLECTIONS_PATH with ansible_collections/winremedy/windows -> the repo (a symlink, not a copy)."""
    (root / "ansible_collections" / "winremedy").mkdir(parents=True)
    (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    return root


def _private_data_dir(directory: Path, lab: Path, collections: Path, report_dir: Path) -> Path:
    """A runner private data dir: the lab's inventory without its passwords (injected from the environment)."""
    inventory = yaml.safe_load((lab / "inventory.yml").read_text())
    password = None
    for group in inventory["all"]["children"].values():
        for variables in group["hosts"].values():
            password = variables.pop("ansible_password")
    (directory / "inventory").mkdir(parents=True)
    (directory / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (directory / "env").mkdir()
    (directory / "env" / "extravars").write_text(yaml.safe_dump({
        "winremedy_report_dir": str(report_dir),
        "ansible_password": f"{{{{ lookup('ansible.builtin.env', '{PASSWORD_VARIABLE}') }}}}",
    }))
    (directory / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": str(directory / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(directory / "tmp"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PASSWORD_VARIABLE: str(password),
    }))
    (directory / "project").mkdir()  # empty: the playbook comes from the collection
    return directory


def _sliced_hosts(lab: Path, slice_number: int) -> list[str]:
    names = sorted(host["name"] for host in json.loads(
        winremedy("lab", "status", "--dir", str(lab), "--format", "json").stdout)["hosts"])
    return names[slice_number - 1::SLICES]


def _run(directory: Path, limit: str | None) -> Any:
    thread, runner = ansible_runner.run_async(
        private_data_dir=str(directory), playbook="winremedy.windows.audit", limit=limit, forks=20,
        quiet=True, ident="audit")
    return thread, runner


def _findings(report: dict[str, Any]) -> dict[str, Any]:
    return {name: (host["reachable"], host["error_code"], [(f["kb"], f["status"]) for f in host["findings"]])
            for name, host in report["hosts"].items()}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("slices"), None, "--hosts", str(HOSTS), "--seed", "15") as directory:
        yield directory


def test_three_runner_slices_merge_into_the_single_controllers_report(lab: Path, tmp_path: Path) -> None:
    collections = _collections(tmp_path / "collections")
    slices = []
    for number in range(1, SLICES + 1):
        data = _private_data_dir(tmp_path / f"slice-{number}", lab, collections, tmp_path / f"slice-{number}-results")
        slices.append((data, _run(data, ",".join(_sliced_hosts(lab, number)))))
    for _data, (thread, _runner) in slices:  # all three run at once, like AWX's slice jobs
        thread.join(timeout=600)
    for data, (_thread, runner) in slices:
        assert runner.status == "successful" and runner.rc == 0, runner.stdout.read()[-3000:]
        artifacts = data / "artifacts" / "audit"
        assert (artifacts / "rc").read_text() == "0" and (artifacts / "job_events").is_dir()
        assert "fleet mode" in (artifacts / "stdout").read_text()
        assert PASSWORD_VARIABLE not in (artifacts / "stdout").read_text()

    merged = tmp_path / "fleet"
    (merged / "hosts").mkdir(parents=True)
    sizes = []
    for number in range(1, SLICES + 1):
        files = list((tmp_path / f"slice-{number}-results" / "hosts").glob("*.json"))
        sizes.append(len(files))
        for path in files:
            shutil.copy(path, merged / "hosts" / path.name)
    assert sizes == [HOSTS // SLICES] * SLICES  # disjoint slices covering the fleet
    report = json.loads(winremedy("report", str(merged), "--format", "json").stdout)

    single = _private_data_dir(tmp_path / "single", lab, collections, tmp_path / "single-results")
    thread, runner = _run(single, None)
    thread.join(timeout=600)
    assert runner.rc == 0, runner.stdout.read()[-3000:]
    whole = json.loads((tmp_path / "single-results" / "report.json").read_text())
    assert len(report["hosts"]) == HOSTS
    assert _findings(report) == _findings(whole)
    assert report["summary"]["findings"] == whole["summary"]["findings"]
