"""The on-host sampler on a 20-host lab: two days of host time, then one audit reads what the hosts recorded.

Its verdicts must equal those of an audit that samples the same two days itself (9 samples 6 hours apart,
running meanwhile), through the real CLI, pywinrm and the lab's WS-Management server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy

pytestmark = pytest.mark.integration

TIME_SCALE = 3600  # two days of host time in 48 s
MIN_READINGS = 200  # of 289 in two days: the install waits for the spanning audit's first round (under load, seconds)
SPAN_SAMPLES, SPAN_INTERVAL = 9, 21600  # 8 intervals of 6 hours: the same two days, sampled by the audit


def _fleet() -> dict[str, Any]:
    kinds = [("win7", 1, "x64", "nsi", []), ("win2008", 2, "x64", "wfp", []), ("win2003", 2, "x86", "lcs", ["lcs2005"])]
    # (2003 SP2: the on-host sampler is a PowerShell script, and 2003 SP1 has none: WMF 2.0 needs SP2)
    hosts = []
    for index in range(20):
        os_name, sp, arch, leak, products = kinds[index % 3]
        host: dict[str, Any] = {"name": f"s{index:02d}-{os_name}", "os": os_name, "sp": sp, "arch": arch,
                                "products": products}
        if index % 2:
            host["leak"] = leak
        hosts.append(host)
    return {"time_scale": TIME_SCALE, "seed": 9, "credentials": {"user": "Administrator", "password": "Lab-pass1"},
            "hosts": hosts}


def _verdicts(report: dict[str, Any]) -> dict[str, Any]:
    return {name: ({f["kb"]: f["status"] for f in host["findings"]},
                   {key: leak["leaking"] for key, leak in host["facts"]["leaks"].items()})
            for name, host in report["hosts"].items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_lab(tmp_path_factory.mktemp("lab"), _fleet()) as directory:
        inventory = str(directory / "inventory.yml")
        spanning = subprocess.Popen([sys.executable, "-m", "winremedy.cli", "audit", "-i", inventory, "--format",
                                     "json", "--samples", str(SPAN_SAMPLES), "--interval", str(SPAN_INTERVAL)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Install once every host has answered the spanning audit's first round trip, which reads (and
            # clears) the sampler's file: its verdicts then rest on its own samples only.
            while min(host["counters"]["commands"] for host in lab_hosts(directory).values()) < 1:
                time.sleep(0.2)
            installed = json.loads(winremedy("sampler", "install", "-i", inventory, "--every", "10", "--format",
                                             "json").stdout)
            stdout, stderr = spanning.communicate(timeout=300)
        finally:
            spanning.kill()
        assert spanning.returncode in (0, 1), stderr
        waiting = json.loads(winremedy("sampler", "status", "-i", inventory, "--format", "json").stdout)
        recorded = json.loads(winremedy("audit", "-i", inventory, "--format", "json").stdout)
        removed = json.loads(winremedy("sampler", "remove", "-i", inventory, "--format", "json").stdout)
        yield installed, json.loads(stdout), waiting, recorded, removed


def test_verdicts_from_on_host_samples_equal_an_audit_sampling_the_span(runs: Any) -> None:
    installed, spanned, waiting, recorded, _ = runs
    assert [h["installed"] for h in installed["hosts"]] == [True] * 20
    assert min(h["samples"] for h in waiting["hosts"]) >= MIN_READINGS  # 10-minute readings over most of two days
    assert _verdicts(recorded) == _verdicts(spanned)
    leaking = [name for name, (_, leaks) in _verdicts(recorded).items() if any(leaks.values())]
    assert len(leaking) == 10  # every odd host leaks, and each one is seen leaking
    for host in recorded["hosts"].values():
        assert all(leak["samples"] >= MIN_READINGS for leak in host["facts"]["leaks"].values())
    for host in spanned["hosts"].values():
        assert {leak["samples"] for leak in host["facts"]["leaks"].values()} == {SPAN_SAMPLES}


def test_remove_deletes_the_task(runs: Any) -> None:
    *_, removed = runs
    assert [h["installed"] for h in removed["hosts"]] == [False] * 20
