"""The verification after a fix says what it measured: a leak is called gone only over a span long enough to judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.lab.clock import LabClock
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.local import LocalTransport
from winremedy.lab.packages import write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.remediate.journal import Journal
from winremedy.remediate.outcome import HostStatus
from winremedy.remediate.runner import HostContext, HostRun
from winremedy.remediate.settings import Settings
from winremedy.remediate.stage import open_source


LCS = HostSpec("lcs-0001", OsProfile("win2003", 1, "x86"), "u", "p", products=("lcs2005",),
               leak=LeakSpec.of(Scenario.LCS))
NSI = HostSpec("w7-0001", OsProfile("win7", 1, "x64"), "u", "p", leak=LeakSpec.of(Scenario.NSI))


@pytest.mark.parametrize("spec,samples,interval,said", [
    (LCS, 4, 600.0, "KB903927 fixed, leak not judged yet: rtcsrv_private_bytes (span 0.50 h is below the 2 h minimum)"),
    (NSI, 4, 600.0, "KB2847346 fixed, leak not judged yet: nsi_private_bytes, nspc_pool (span 0.50 h is below the 2 h "
                    "minimum)"),
    (LCS, 5, 1800.0, "KB903927 fixed, no leak"),
], ids=["lcs-30min", "nsi-30min", "lcs-2h"])
def test_the_verify_step_calls_the_leak_gone_only_when_it_could_judge(tmp_path: Path, spec: HostSpec, samples: int,
                                                                       interval: float, said: str) -> None:
    write_repository(tmp_path / "repo")
    source, manifest = open_source(repo=tmp_path / "repo")
    host = EmulatedHost(spec, LabClock(1_700_000_000.0, scale=20_000.0))
    settings = Settings.from_options({"poll": 0.01, "verify_samples": samples, "verify_interval": interval,
                                      "reboot": "now"}, check=False)
    outcome = HostRun(LocalTransport(host), load_catalog(), source, manifest, settings, HostContext(),
                      Journal(None, spec.name)).run()
    assert outcome.status is HostStatus.FIXED, outcome.message
    [verify] = [step.message for step in outcome.steps if step.step == "verify"]
    assert verify == f"verified: {said}" + ("; a later audit judges it" if "not judged" in said else "")
