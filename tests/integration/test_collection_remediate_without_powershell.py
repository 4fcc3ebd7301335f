"""The collection's remediation (``ansible-playbook winremedy.windows.remediate``) of KB903927 on the fleet of hosts
without PowerShell (bare_fleet), the same fleet and the same checks as `winremedy remediate` in
test_remediate_without_powershell: every KB903927 host fixed (a new `winremedy audit` says so), LCS restarted, no
host restarted, no powershell.exe on a bare host, and a second run changes nothing. ansible-playbook runs as a
subprocess against the lab, the repo made the collection by a symlink (test_collection_audit's ``ansible_env``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bare_fleet import HOSTS, KB, NEEDS_FIX, UNKNOWN, check_audit_fixed, check_fixed_without_reboot, \
    check_nothing_changed, fleet
from labcli import lab_hosts, running_lab, winremedy
from test_collection_audit import ansible_env  # noqa: F401 - a fixture
from test_collection_remediate import recap, remediate

pytestmark = pytest.mark.integration

ONLY_KB = ("-e", json.dumps({"winremedy_kbs": [KB]}), "-e", "winremedy_reboot=now")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with running_lab(tmp_path_factory.mktemp("bare-collection"), fleet(16)) as directory:
        yield directory


@pytest.fixture(scope="module")
def runs(lab: Path, ansible_env: dict[str, str]) -> dict[str, Any]:  # noqa: F811 - the imported fixture
    """The run, the lab's state around it and the saved results, then a second run and the state after it."""
    before = lab_hosts(lab)
    first = remediate(lab, ansible_env, *ONLY_KB)
    after_first = lab_hosts(lab)
    saved = {p.stem: json.loads(p.read_text())["status"] for p in (lab.parent / "report" / "remediation").glob("*.json")}
    second = remediate(lab, ansible_env, *ONLY_KB)
    return {"before": before, "first": first, "after_first": after_first, "saved": saved, "second": second,
            "after_second": lab_hosts(lab)}


def test_every_kb903927_host_is_fixed_with_lcs_restarted_and_no_reboot(lab: Path, runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert first.returncode == 0, first.stdout[-4000:]
    counts = recap(first)
    assert set(counts) == {h["name"] for h in HOSTS}
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts
    assert {name for name, c in counts.items() if c["changed"]} == NEEDS_FIX
    check_fixed_without_reboot(runs["before"], runs["after_first"])
    expected = {h["name"]: "fixed" if h["name"] in NEEDS_FIX else "needs_review" if h["name"] in UNKNOWN
                else "compliant" for h in HOSTS}
    assert runs["saved"] == expected
    audit = json.loads(winremedy("audit", "-i", str(lab / "inventory.yml"), "--format", "json", "--samples", "6",
                                 "--interval", "1200", "--kb", KB).stdout)["hosts"]
    check_audit_fixed(audit)


def test_a_second_run_changes_nothing(runs: dict[str, Any]) -> None:
    second = runs["second"]
    assert second.returncode == 0, second.stdout[-4000:]
    counts = recap(second)
    assert len(counts) == len(HOSTS) and all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    check_nothing_changed(runs["after_first"], runs["after_second"])
