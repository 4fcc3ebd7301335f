"""What goes wrong in a rollout, through the real CLI against the lab: bad packages, maintenance windows,
a host that never comes back, a failure limit, and a controller killed mid-rollout."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from labcli import lab_hosts, running_lab, winremedy

from winremedy.catalog import load_catalog
from winremedy.lab.packages import package_bytes

pytestmark = pytest.mark.integration

CREDENTIALS = {"user": "Administrator", "password": "Lab-pass1"}
FAST = ("--poll", "0.05", "--verify-samples", "2", "--verify-interval", "60")


def _remediate(lab: Path, repo: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--repo", str(repo), "--format", "json",
                       *FAST, *extra)
    return result.returncode, {h["host"]: h for h in json.loads(result.stdout)["hosts"]}, result.stderr


def _package(kb: str, file: str) -> tuple[Any, Any]:
    entry = load_catalog().get(kb)
    return entry, next(p for p in entry.packages if p.file == file)


def test_a_wrong_architecture_or_hash_is_refused_before_anything_runs(tmp_path: Path) -> None:
    fleet = {"time_scale": 600, "seed": 3, "credentials": CREDENTIALS, "hosts": [
        {"name": "arch-01", "os": "win7", "sp": 1, "arch": "x64"},
        {"name": "hash-01", "os": "vista", "sp": 2, "arch": "x64"},
        {"name": "good-01", "os": "win2008", "sp": 2, "arch": "x86"},
    ]}
    with running_lab(tmp_path, fleet) as lab:
        repo = tmp_path / "bad-repo"
        shutil.copytree(lab / "repo", repo)
        entry, package = _package("KB2847346", "Windows6.1-KB2847346-x64.msu")
        (repo / package.file).write_bytes(package_bytes(entry, package, arch="x86"))  # x86 content, x64 name
        manifest = json.loads((repo / "manifest.json").read_text())
        for item in manifest["packages"]:
            if item["file"] == "Windows6.0-KB979223-x64.msu":
                item["sha256"] = "0" * 64  # the manifest's file is not the one now in the repository
        (repo / "manifest.json").write_text(json.dumps(manifest))
        code, hosts, stderr = _remediate(lab, repo, "--reboot", "now")
        assert code == 1
        assert "refused package Windows6.1-KB2847346-x64.msu" in stderr and "x86" in stderr
        assert "refused package Windows6.0-KB979223-x64.msu" in stderr
        assert hosts["arch-01"]["status"] == "failed" and "KB2847346" in hosts["arch-01"]["message"]
        assert hosts["hash-01"]["status"] == "failed" and "SHA-256" in hosts["hash-01"]["message"]
        assert hosts["good-01"]["status"] == "fixed"  # one bad package never stops the others
        state = lab_hosts(lab)
        for name in ("arch-01", "hash-01"):
            assert set(state[name]["counters"]["scripts"]) == {"probe 1", "collect 1"}, state[name]["counters"]
            assert state[name]["counters"]["installs"] == 0


def test_hosts_outside_their_window_are_rebooted_at_its_start_and_verified_after(tmp_path: Path) -> None:
    # Host time starts on a Sunday at 01:30 UTC; one minute of host time per real second, so the first run
    # has half a real minute (on a loaded machine too) before later-01's window opens at 02:00 UTC.
    fleet = {"time_scale": 60, "seed": 4, "start_time": "2024-03-03T01:30:00Z", "reboot_downtime": 60,
             "credentials": CREDENTIALS, "hosts": [
                 {"name": "inside-01", "os": "win7", "sp": 1, "arch": "x64", "maintenance_window": "Sun 01:00-03:00"},
                 {"name": "later-01", "os": "win2008r2", "sp": 1, "arch": "x64", "leak": "nsi",
                  "maintenance_window": "Sun 03:00-05:00", "timezone": "Europe/Berlin"},  # 02:00 UTC in winter
             ]}
    with running_lab(tmp_path, fleet) as lab:
        out = tmp_path / "out"
        code, hosts, _ = _remediate(lab, lab / "repo", "--reboot", "window", "--out", str(out))
        assert code == 1  # one restart is still to come
        assert hosts["inside-01"]["status"] == "fixed"
        later = hosts["later-01"]
        assert later["status"] == "reboot_scheduled" and later["scheduled_for"] == "2024-03-03T02:00:00Z"
        assert lab_hosts(lab)["later-01"]["counters"]["reboots"] == 0
        deadline = time.monotonic() + 60
        while lab_hosts(lab)["later-01"]["boot_time"] < "2024-03-03T02:00:00Z":
            assert time.monotonic() < deadline, "the scheduled restart did not happen at the window's start"
            time.sleep(0.5)
        code, hosts, _ = _remediate(lab, lab / "repo", "--reboot", "window", "--out", str(out))
        assert code == 0 and hosts["later-01"]["status"] == "fixed"
        assert "verify" in {s["step"] for s in hosts["later-01"]["steps"]}
        state = lab_hosts(lab)["later-01"]
        assert state["counters"]["reboots"] == 1 and state["counters"]["installs"] == 1 and not state["leaking"]


def test_a_host_that_never_returns_stops_the_rollout_at_the_failure_limit(tmp_path: Path) -> None:
    fleet = {"time_scale": 600, "seed": 5, "credentials": CREDENTIALS, "hosts": [
        {"name": "gone-01", "os": "win7", "sp": 1, "arch": "x64", "faults": {"no_return": True}},
        {"name": "ok-01", "os": "win7", "sp": 1, "arch": "x64"},
        {"name": "later-01", "os": "win7", "sp": 1, "arch": "x64"},
        {"name": "later-02", "os": "win7", "sp": 1, "arch": "x64"},
    ]}
    with running_lab(tmp_path, fleet) as lab:
        code, hosts, _ = _remediate(lab, lab / "repo", "--reboot", "now", "--serial", "2",
                                    "--max-fail-percentage", "40", "--reboot-timeout", "3")
        assert code == 1
        assert hosts["gone-01"]["status"] == "failed" and "gone-01" in hosts["gone-01"]["message"]
        assert hosts["gone-01"]["error_code"] == "reboot"
        assert hosts["ok-01"]["status"] == "fixed"
        state = lab_hosts(lab)
        for name in ("later-01", "later-02"):
            assert hosts[name]["status"] == "not_touched" and "batch 1 of 2" in hosts[name]["message"]
            assert state[name]["counters"]["commands"] == 0


def test_a_rerun_after_a_kill_neither_installs_nor_reboots_twice(tmp_path: Path) -> None:
    names = [f"kill-{i:02d}" for i in range(4)]
    fleet = {"time_scale": 60, "seed": 6, "credentials": CREDENTIALS, "reboot_downtime": 120,
             "hosts": [{"name": n, "os": "win7", "sp": 1, "arch": "x64"} for n in names]}
    with running_lab(tmp_path, fleet) as lab:
        out = tmp_path / "out"
        command = [sys.executable, "-m", "winremedy.cli", "remediate", "-i", str(lab / "inventory.yml"), "--repo",
                   str(lab / "repo"), "--reboot", "now", "--serial", "1", "--out", str(out), *FAST]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = out / "journal" / "kill-01.jsonl"
        deadline = time.monotonic() + 90
        try:
            while not (journal.exists() and "reboot_requested" in journal.read_text()):
                assert time.monotonic() < deadline and process.poll() is None, "never reached kill-01's reboot"
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        code, hosts, _ = _remediate(lab, lab / "repo", "--reboot", "now", "--serial", "1", "--out", str(out))
        assert code == 0, {n: (h["status"], h["message"]) for n, h in hosts.items()}
        state = lab_hosts(lab)
        for name in names:
            assert state[name]["counters"]["installs"] == 1, (name, state[name]["counters"])
            assert state[name]["counters"]["reboots"] == 1, (name, state[name]["counters"])
            assert hosts[name]["status"] in ("fixed", "compliant")
        assert hosts["kill-01"]["status"] == "fixed"  # resumed: its reboot finished, then verified


def test_hosts_download_from_a_url_or_copy_from_a_share_instead_of_a_push(tmp_path: Path) -> None:
    fleet = {"time_scale": 3600, "seed": 7, "credentials": CREDENTIALS, "hosts": [
        {"name": "url-01", "os": "win7", "sp": 1, "arch": "x86"},
        {"name": "unc-01", "os": "win2008", "sp": 2, "arch": "x64"},
    ]}
    with running_lab(tmp_path, fleet) as lab:
        inventory = (lab / "inventory.yml").read_text()
        url = next(line.split(": ", 1)[1] for line in inventory.splitlines() if "winremedy_repo_url:" in line)
        unc = next(line.split(": ", 1)[1] for line in inventory.splitlines() if "winremedy_repo_unc:" in line)
        result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--limit", "url-01", "--repo", str(lab / "repo"), "--repo-url",
                           url.strip("'\""), "--reboot", "now", "--format", "json", *FAST)
        assert result.returncode == 0, result.stderr
        steps = json.loads(result.stdout)["hosts"][0]["steps"]
        assert any(s["step"] == "stage" and " url -> " in s["message"] for s in steps), steps
        result = winremedy("remediate", "-i", str(lab / "inventory.yml"), "--limit", "unc-01", "--repo", str(lab / "repo"),
                           "--repo-unc", unc.strip("'\""), "--reboot", "now", "--format", "json", *FAST)
        assert result.returncode == 0, result.stderr
        steps = json.loads(result.stdout)["hosts"][0]["steps"]
        assert any(s["step"] == "stage" and " unc -> " in s["message"] for s in steps), steps
        state = lab_hosts(lab)
        assert state["url-01"]["counters"]["bytes_staged"] > 0 and state["unc-01"]["counters"]["installs"] == 1
