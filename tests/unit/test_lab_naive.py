"""The bench's lab (``bench/lab_naive.py``) answers the naive baseline's one-fact snippets from the same model as the
collector, and cmd.exe's command-line limit (8,191 characters) holds for every command line but not for scripts sent
on stdin."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from winremedy.catalog import load_catalog
from winremedy.audit.collector import build_query, facts_from_raw, parse_collect_output
from winremedy.lab.clock import ManualClock
from winremedy.lab.cmdline import MAX_COMMAND_LINE
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.lab.faults import FaultSpec
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.profiles import OsProfile
from winremedy.psdata import ps_data
from pslint import lint_ps2, parse_errors
from winremedy.scripts import render
from winremedy.transport.bootstrap import POWERSHELL, POWERSHELL_ARGUMENTS, encode_script

CATALOG = load_catalog()
QUERY = build_query(CATALOG)
TOO_LONG = b"The command line is too long.\r\n"


def _load_bench(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


naive = _load_bench("naive_baseline")
naive_lab = _load_bench("lab_naive")


def _host(family: str, sp: int, arch: str, **spec: Any) -> EmulatedHost:
    host_spec = HostSpec(name=f"{family}-{arch}", profile=OsProfile(family, sp, arch), user="u", password="p",
                         seed=5, **spec)
    return EmulatedHost(host_spec, ManualClock(1.79e9, scale=3600.0), command_line=naive_lab.COMMAND_LINE)


def _encoded_line(script: str) -> str:
    """pywinrm's ``Session.run_ps``: the whole script on the command line, base64 of UTF-16LE."""
    return "powershell -encodedcommand " + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


class _Response:
    def __init__(self, status_code: int, std_out: bytes, std_err: bytes) -> None:
        self.status_code, self.std_out, self.std_err = status_code, std_out, std_err


class LabSession:
    """``winrm.Session`` reduced to what the baseline calls, sending exactly what ``run_ps`` sends."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self.lines: list[str] = []

    def run_ps(self, script: str) -> _Response:
        line = _encoded_line(script)
        self.lines.append(line)
        result = self.host.run(line, [], b"")
        return _Response(result.exit_code, result.stdout, result.stderr)


def _collector_facts(host: EmulatedHost) -> dict[str, Any]:
    result = host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(render("collect", QUERY)))
    assert result.exit_code == 0, result.stderr
    return parse_collect_output(result.stdout, host=host.name).to_dict()


@pytest.mark.parametrize("host", [
    _host("win7", 1, "x64", installed=("KB2847346",)),
    _host("win2008r2", 1, "x64", leak=LeakSpec.of(Scenario.NSI)),
    _host("win2008", 2, "x86", pending=("KB979223",)),
    _host("win2003", 1, "x86", products=("lcs2005",), syn_attack_protect=0),
    _host("vista", 2, "x64", patch_level="gdr"),
], ids=lambda h: h.name)
def test_naive_facts_equal_the_collectors(host: EmulatedHost) -> None:
    session = LabSession(host)
    raw = naive.collect_naively(session, QUERY)
    assert raw["errors"] == []
    facts = facts_from_raw(raw, host=host.name).to_dict()
    expected = _collector_facts(host)
    assert any(key.startswith("pool:") for key in expected["samples"])  # the collector reads the pool table too
    expected["samples"] = {k: v for k, v in expected["samples"].items() if not k.startswith(("pool:", "pool_allocs:"))}
    assert {k: v for k, v in facts.items() if k != "collected_at"} == \
        {k: v for k, v in expected.items() if k != "collected_at"}
    # 47: KB903927's registration is read under each SP<n> key and the Hotfix mirror, and four host settings
    # (Windows Update start mode, the FIPS policy both ways, SystemRoot)
    assert len(session.lines) == len(naive.facts_to_ask(QUERY)) + len(QUERY["indicators"]) == 47
    assert host.counters.scripts["naive_fact 1"] == 47


def test_samples_are_one_call_per_indicator_per_round_at_host_time() -> None:
    host = _host("win7", 1, "x86", leak=LeakSpec.of(Scenario.NSI))
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        host.clock.advance(seconds * 3600.0)  # type: ignore[attr-defined]

    raw = naive.collect_naively(LabSession(host), QUERY, samples=3, pause=60 / 3600, sleep=sleep)
    assert pauses == [60 / 3600] * 2
    points = raw["samples"]["nsi_private_bytes"]
    assert [t - points[0][0] for t, _ in points] == [0.0, 60.0, 120.0]
    assert points[-1][1] > points[0][1]  # leaking


@pytest.mark.parametrize("params", naive.facts_to_ask(QUERY) + naive.indicator_calls(QUERY),
                         ids=lambda p: f"{p['kind']}-{p.get('kind_of_indicator') or ''}")
def test_every_snippet_is_powershell_2_and_fits_on_a_command_line(params: dict[str, Any]) -> None:
    script = naive.snippet(params)
    assert parse_errors(script) == []
    assert lint_ps2(script, "snippet") == []
    assert len(_encoded_line(script)) <= MAX_COMMAND_LINE


def test_unknown_kind_and_garbled_host() -> None:
    host = _host("win7", 1, "x64")
    bad = host.run(_encoded_line(f"{naive.IDENTITY}\n$WinRemedyArgs = {ps_data({'kind': 'nope'})}\n"), [], b"")
    assert bad.exit_code == 1 and b"unknown kind 'nope'" in bad.stderr
    garbled = _host("win7", 1, "x64", faults=FaultSpec(garbled=True))
    result = garbled.run(_encoded_line(naive.snippet({"kind": "os"})), [], b"")
    assert result.exit_code == 0 and b"\xff\xfe" in result.stdout


def test_no_powershell_fails_every_snippet() -> None:
    host = _host("win2003", 2, "x86", powershell=None)
    result = host.run(_encoded_line(naive.snippet({"kind": "os"})), [], b"")
    assert result.exit_code == 9009 and b"'powershell' is not recognized" in result.stderr


# --- cmd.exe's command-line limit ------------------------------------------------------------------


def test_command_line_of_8191_characters_runs_and_8192_fails_as_cmd_exe() -> None:
    host = _host("win7", 1, "x64")
    padding = "x" * (MAX_COMMAND_LINE - len("hostname "))
    ok = host.run("hostname", [padding], b"")
    assert ok.exit_code == 0 and ok.stdout == b"win7-x64\r\n"
    too_long = host.run("hostname", [padding + "x"], b"")
    assert (too_long.exit_code, too_long.stdout, too_long.stderr) == (1, b"", TOO_LONG)
    assert host.run("hostname" + " " * (MAX_COMMAND_LINE - 7), [], b"").stderr == TOO_LONG  # spaces count too


def test_run_ps_of_a_big_script_is_too_long_but_stdin_carries_it() -> None:
    host = _host("win7", 1, "x64")
    script = render("collect", QUERY)  # about 12 KB of PowerShell
    line = _encoded_line(script)
    assert len(line) > MAX_COMMAND_LINE
    assert host.run(line, [], b"").stderr == TOO_LONG
    assert host.run("powershell", ["-encodedcommand", line.rsplit(" ", 1)[1]], b"").stderr == TOO_LONG
    assert host.counters.scripts == {}  # refused before PowerShell ever saw it
    stdin = host.run(POWERSHELL, [" ".join(POWERSHELL_ARGUMENTS)], encode_script(script))
    assert stdin.exit_code == 0 and stdin.stdout.splitlines()[1].startswith(b"@@WINREMEDY@@")  # after the digest


def test_only_the_bench_lab_answers_the_baseline() -> None:
    """The stand-in lives in bench/: the lab the package ships has no answer for ``naive_fact``."""
    spec = HostSpec(name="w7", profile=OsProfile("win7", 1, "x64"), user="u", password="p")
    packaged = EmulatedHost(spec, ManualClock(1.79e9)).run(_encoded_line(naive.snippet({"kind": "arch"})), [], b"")
    assert packaged.exit_code == 1 and b"no handler is registered for script naive_fact 1" in packaged.stderr
    bench = _host("win7", 1, "x64").run(_encoded_line(naive.snippet({"kind": "arch"})), [], b"")
    assert (bench.exit_code, bench.stdout) == (0, b"AMD64\r\n")
