"""The collection's action plugins kb_facts and kb_report, their docs, the guarded engine import, and the strategy
that hands each host its share of a fleet audit.

The plugins are imported as the collection ``winremedy.windows`` (the repo root
symlinked under a temporary ``ansible_collections/``); kb_facts talks to an
in-process lab host through ansible-core's real winrm plugin (see
test_plugins_transport.py), or to a connection that raises.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.inventory.host import Host
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible.utils.collection_loader._collection_config import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from winremedy import __version__
from winremedy.lab.dynamics import LeakSpec, Scenario
from winremedy.audit.command import add_audit_command
from winremedy.audit.results import load_results
from winremedy.audit.run import DEFAULT_FORKS
from winremedy.history import open_history
from test_plugins_transport import failing_winrm_connection, lab_host, winrm_connection

REPO = Path(__file__).resolve().parents[2]
PREFIX = "ansible_collections.winremedy.windows.plugins"


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The plugin modules, imported through Ansible's collection loader from a symlink to the repo."""
    if AnsibleCollectionConfig.collection_finder is not None:
        pytest.fail("an Ansible collection finder is already configured in this session")
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "winremedy").mkdir(parents=True)
    (root / "ansible_collections" / "winremedy" / "windows").symlink_to(REPO, target_is_directory=True)
    finder = _AnsibleCollectionFinder(paths=[str(root)], scan_sys_paths=False)
    finder._install()
    try:
        import importlib

        yield {name: importlib.import_module(f"{PREFIX}.{name}") for name in
               ("action.kb_facts", "action.kb_report", "action.kb_probe", "action.kb_fleet_audit",
                "modules.kb_facts", "modules.kb_report", "modules.kb_probe", "modules.kb_fleet_audit",
                "plugin_utils._engine", "strategy.fleet")}
    finally:
        finder._remove()
        AnsibleCollectionConfig._collection_finder = None
        for name in [m for m in sys.modules if m.startswith("ansible_collections")]:
            del sys.modules[name]


def action(module: ModuleType, args: dict[str, Any], connection: Any = None, *, check_mode: bool = False) -> Any:
    task = MagicMock(Task)
    task.args, task.check_mode, task.async_val, task.diff = args, check_mode, 0, False
    plugin = module.ActionModule(task, connection or MagicMock(), PlayContext(), loader=None, templar=None,
                                 shared_loader_obj=None)
    plugin._load_name = module.__name__.rsplit(".", 1)[-1]
    return plugin


def run_kb_facts(plugins: dict[str, ModuleType], args: dict[str, Any], connection: Any, *,
                 check_mode: bool = False, host: str = "w7-0001") -> dict[str, Any]:
    plugin = action(plugins["action.kb_facts"], args, connection, check_mode=check_mode)
    return dict(plugin.run(task_vars={"inventory_hostname": host}))


# --- kb_probe --------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_kb_probe_returns_the_verdict_and_saves_it(plugins: dict[str, ModuleType], tmp_path: Path,
                                                   check_mode: bool) -> None:
    connection, wire = winrm_connection(lab_host(fips=True, windows_update="disabled"))
    plugin = action(plugins["action.kb_probe"], {"results_dir": str(tmp_path)}, connection, check_mode=check_mode)
    result = dict(plugin.run(task_vars={"inventory_hostname": "w7-0001"}))
    assert len(wire.calls) == 1 and result["changed"] is False and "failed" not in result
    assert result["ready"] is True and result["verdict"] == "ready" and result["route"] == "stdin"
    assert {"fips", "windows_update"} <= {n["topic"] for n in result["notes"]}
    assert result["ansible_facts"]["winremedy_readiness"]["facts"]["fips"] is True
    assert json.loads((tmp_path / "probe" / "w7-0001.json").read_text())["verdict"] == "ready"


def test_kb_probe_fails_a_host_that_is_not_ready_only_when_asked(plugins: dict[str, ModuleType]) -> None:
    full = lab_host("win7", 1, "x64", free_disk_mb=20)  # no room to stage a package
    for fail, failed in ((False, None), (True, True)):
        connection, _ = winrm_connection(full)
        plugin = action(plugins["action.kb_probe"], {"fail_when_not_ready": fail}, connection)
        result = dict(plugin.run(task_vars={"inventory_hostname": "w7-0001"}))
        assert result["ready"] is False and result.get("failed") is failed
        assert [r["topic"] for r in result["reasons"]] == ["free_space"]


def test_kb_probe_a_host_without_powershell_is_ready_through_cmd(plugins: dict[str, ModuleType]) -> None:
    bare = lab_host("win2003", 2, "x86", powershell=None, winrm="1.1")
    connection, _ = winrm_connection(bare)
    plugin = action(plugins["action.kb_probe"], {"fail_when_not_ready": True}, connection)
    result = dict(plugin.run(task_vars={"inventory_hostname": "w3-0001"}))
    assert result["ready"] is True and "failed" not in result
    assert [n["topic"] for n in result["notes"]] == ["powershell", "winrm"] and "cmd.exe" in result["notes"][0]["message"]
    assert result["notes"][1]["message"].startswith("WinRM 1.1:")  # wsmsvc.dll's version, read by wmic datafile


def test_kb_probe_an_unreachable_host_is_unreachable(plugins: dict[str, ModuleType]) -> None:
    failure = AnsibleConnectionFailure("ntlm: ('Connection aborted.', ConnectionResetError(104, 'reset'))")
    plugin = action(plugins["action.kb_probe"], {}, failing_winrm_connection(failure))
    result = dict(plugin.run(task_vars={"inventory_hostname": "w7-0001"}))
    assert result["unreachable"] is True and result["error_code"] == "unreachable"


# --- kb_facts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_kb_facts_returns_namespaced_facts_and_saves_the_result(plugins: dict[str, ModuleType], tmp_path: Path,
                                                                 check_mode: bool) -> None:
    host = lab_host(leak=LeakSpec(Scenario.NSI, 5.0))
    connection, wire = winrm_connection(host)
    result = run_kb_facts(plugins, {"results_dir": str(tmp_path), "samples": 4, "interval": 600}, connection,
                          check_mode=check_mode)

    assert len(wire.calls) == 1 and result["changed"] is False and "failed" not in result
    facts = result["ansible_facts"]["winremedy"]
    assert set(facts) == {"reachable", "facts", "findings", "statuses", "compliant"}
    assert {k: result[k] for k in facts} == facts
    assert facts["statuses"] == {f["kb"]: f["status"] for f in facts["findings"]}
    assert set(facts["statuses"]) == {"KB2847346", "KB979223", "KB903927"}
    assert facts["facts"]["os"]["sp"] == 1 and len(facts["facts"]["samples"]["nsi_private_bytes"]) == 4
    assert facts["compliant"] is False  # a win7 SP1 without the NSI fix
    saved = load_results(tmp_path)
    assert [r.host for r in saved] == ["w7-0001"] and result["result_path"] == str(tmp_path / "hosts" / "w7-0001.json")
    assert [f.to_dict() for f in saved[0].findings] == facts["findings"]


def test_kb_facts_only_the_kbs_asked_and_no_file_without_results_dir(plugins: dict[str, ModuleType]) -> None:
    connection, _ = winrm_connection(lab_host())
    result = run_kb_facts(plugins, {"kbs": ["2847346"]}, connection)
    assert list(result["statuses"]) == ["KB2847346"] and "result_path" not in result


def test_an_unreachable_host_is_unreachable_and_still_saved(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    failure = AnsibleConnectionFailure("ntlm: ('Connection aborted.', ConnectionResetError(104, 'reset'))")
    result = run_kb_facts(plugins, {"results_dir": str(tmp_path)}, failing_winrm_connection(failure))
    assert result["unreachable"] is True and "failed" not in result and result["error_code"] == "unreachable"
    assert result["msg"] == "w7-0001: ntlm: ('Connection aborted.', ConnectionResetError(104, 'reset')) (unreachable)"
    assert "ansible_facts" not in result
    saved = load_results(tmp_path)[0]
    assert saved.reachable is False and saved.error_code == "unreachable" and saved.findings == []


def test_refused_credentials_are_unreachable_as_ansible_reports_them(plugins: dict[str, ModuleType]) -> None:
    failure = AnsibleConnectionFailure("ntlm: the specified credentials were rejected by the server")
    result = run_kb_facts(plugins, {}, failing_winrm_connection(failure))
    assert result["unreachable"] is True and result["error_code"] == "auth"


def test_a_host_without_powershell_is_audited_through_cmd(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    lab = lab_host("win2003", 1, "x86", powershell=None, products=("lcs2005",))
    connection, _ = winrm_connection(lab)
    result = run_kb_facts(plugins, {"results_dir": str(tmp_path)}, connection)
    assert not result.get("failed"), result.get("msg")
    facts = result["ansible_facts"]["winremedy"]
    assert facts["facts"]["notes"][0] == "audited without PowerShell (cmd.exe path)"
    assert {f["kb"]: f["status"] for f in facts["findings"]}["KB903927"] == "missing"
    assert lab.counters.powershell_starts == 0 and load_results(tmp_path)[0].error is None


@pytest.mark.parametrize(("args", "message"), [
    ({"kbz": ["KB2847346"]}, "Unsupported parameters for (kb_facts) module: kbz. Supported parameters include:"),
    ({"samples": "many"}, "argument 'samples' is of type str and we were unable to convert to int"),
    ({"interval": [1]}, "argument 'interval' is of type list and we were unable to convert to float"),
])
def test_unknown_or_ill_typed_options_fail_clearly(plugins: dict[str, ModuleType], args: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(AnsibleActionFail, match=None) as raised:
        run_kb_facts(plugins, args, failing_winrm_connection(AssertionError("not called")))
    assert message in str(raised.value)


def test_an_unknown_kb_or_bad_samples_fail_without_touching_the_host_or_saving(plugins: dict[str, ModuleType],
                                                                               tmp_path: Path) -> None:
    untouched = failing_winrm_connection(AssertionError("the host must not be contacted"))
    result = run_kb_facts(plugins, {"kbs": ["KB1"], "results_dir": str(tmp_path)}, untouched)
    assert result["failed"] is True
    assert result["msg"] == ("w7-0001: unknown KB 'KB1': the catalog knows KB2847346, KB903927, KB979223 (catalog)")
    result = run_kb_facts(plugins, {"samples": 0, "results_dir": str(tmp_path)}, untouched)
    assert result == {"failed": True, "msg": "w7-0001: samples must be at least 1, got 0"}
    assert not (tmp_path / "hosts").exists()


# --- kb_report -------------------------------------------------------------------------------------


def test_kb_report_writes_every_report_from_the_saved_results(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    connection, _ = winrm_connection(lab_host())
    run_kb_facts(plugins, {"results_dir": str(tmp_path)}, connection)
    run_kb_facts(plugins, {"results_dir": str(tmp_path)}, failing_winrm_connection(AnsibleConnectionFailure("down")),
                 host="dead-01")

    result = action(plugins["action.kb_report"], {"results_dir": str(tmp_path)}).run(task_vars={})
    assert result["changed"] is False and result["compliant"] is False and result["exit_code"] == 1
    assert [Path(p).name for p in result["paths"]] == ["report.json", "report.csv", "report.xml", "report.html"]
    assert all(Path(p).stat().st_size for p in result["paths"])
    assert result["summary"]["hosts"] == 2 and result["summary"]["failed"] == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["hosts"]["dead-01"]["reachable"] is False and report["hosts"]["w7-0001"]["findings"]


def test_kb_report_fails_in_one_line_on_bad_input(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    result = action(plugins["action.kb_report"], {"results_dir": str(tmp_path)}).run(task_vars={})
    assert result["failed"] is True and result["msg"].startswith(f"{tmp_path}: no audit results here")
    run_kb_facts(plugins, {"results_dir": str(tmp_path)}, failing_winrm_connection(AnsibleConnectionFailure("down")))
    result = action(plugins["action.kb_report"], {"results_dir": str(tmp_path), "formats": ["html", "pdf"]}
                    ).run(task_vars={})
    assert result["msg"] == "unknown report format 'pdf' (expected one of: table, json, csv, junit, html)"
    assert [p.name for p in tmp_path.iterdir()] == ["hosts"]  # no report half-written
    with pytest.raises(AnsibleActionFail, match="missing required arguments: results_dir"):
        action(plugins["action.kb_report"], {}).run(task_vars={})


# --- the docs say what the code does --------------------------------------------------------------


def _options(plugins: dict[str, ModuleType], name: str) -> dict[str, Any]:
    """The module's options with those of the collection's own doc fragments it extends (catalog_paths)."""
    doc = yaml.safe_load(plugins[f"modules.{name}"].DOCUMENTATION)
    options = dict(doc["options"])
    for fragment in doc.get("extends_documentation_fragment", []):
        if fragment.startswith("winremedy.windows."):
            module = importlib.import_module(
                f"ansible_collections.winremedy.windows.plugins.doc_fragments.{fragment.rsplit('.', 1)[-1]}")
            options.update(yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"])
    return options


@pytest.mark.parametrize("name", ["kb_facts", "kb_report", "kb_fleet_audit"])
def test_documented_options_are_the_argument_spec(plugins: dict[str, ModuleType], name: str) -> None:
    documented = _options(plugins, name)
    spec = plugins[f"action.{name}"].ARGUMENT_SPEC
    assert set(documented) == set(spec)
    for option, doc in documented.items():
        assert doc["type"] == spec[option]["type"], option
        assert doc.get("elements") == spec[option].get("elements"), option
        assert doc.get("default") == spec[option].get("default"), option
        assert doc.get("required", False) == spec[option].get("required", False), option


@pytest.mark.parametrize("name", ["kb_facts", "kb_report", "kb_fleet_audit"])
def test_examples_use_documented_options_only(plugins: dict[str, ModuleType], name: str) -> None:
    documented = set(_options(plugins, name))
    tasks = yaml.safe_load(plugins[f"modules.{name}"].EXAMPLES)
    used = [task[f"winremedy.windows.{name}"] or {} for task in tasks if f"winremedy.windows.{name}" in task]
    assert used and all(set(args) <= documented for args in used)


def test_kb_facts_return_documents_every_key(plugins: dict[str, ModuleType]) -> None:
    returned = set(yaml.safe_load(plugins["modules.kb_facts"].RETURN))
    connection, _ = winrm_connection(lab_host())
    ok = run_kb_facts(plugins, {}, connection)
    failed = run_kb_facts(plugins, {}, failing_winrm_connection(AnsibleConnectionFailure("down")))
    common = {"changed", "failed", "unreachable", "msg", "invocation", "_ansible_no_log", "skipped"}
    assert set(ok) - common <= returned and set(failed) - common <= returned


def playbook_drift(path: Path, specs: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Where a playbook could differ from the modules it runs (``specs``: module name -> argument spec).

    Each option with a default is passed as ``winremedy_<option> | default(omit)``, so the module's default
    applies and the playbook cannot hold another one; the defaults its header lists must be the modules'.
    """
    drift = []
    listed = dict(re.findall(r"^#\s+winremedy_(\w+)\s.*?\sdefault: (\S+)\s*$", path.read_text(), re.MULTILINE))
    for play in yaml.safe_load(path.read_text()):
        for task in [t for item in play["tasks"] for t in (item.get("block", []) + item.get("always", []) or [item])]:
            module = next((k.split(".")[-1] for k in task if k.split(".")[-1] in specs), None)
            for option, value in (task[f"winremedy.windows.{module}"] if module else {}).items():
                default = specs[module][option].get("default")
                if default is None:
                    continue
                if value != f"{{{{ winremedy_{option} | default(omit) }}}}":
                    drift.append(f"{path.name}: {module}: {option} is {value!r}, not the module's default")
                if listed.get(option) != _shown(default):
                    drift.append(f"{path.name}: winremedy_{option} listed with default {listed.get(option)}, "
                                 f"the module's is {_shown(default)}")
    return drift


def _shown(value: Any) -> str:
    """A default as the playbooks' headers write it."""
    return f"{value:g}" if isinstance(value, float) else json.dumps(value) if not isinstance(value, str) else value


def test_the_audit_playbook_leaves_the_defaults_to_the_modules(plugins: dict[str, ModuleType]) -> None:
    specs = {name: plugins[f"action.{name}"].ARGUMENT_SPEC for name in ("kb_facts", "kb_report", "kb_fleet_audit")}
    assert playbook_drift(REPO / "playbooks" / "audit.yml", specs) == []


def test_kb_facts_and_winremedy_audit_share_their_defaults(plugins: dict[str, ModuleType]) -> None:
    commands = argparse.ArgumentParser().add_subparsers()
    add_audit_command(commands)
    cli = vars(commands.choices["audit"].parse_args(["-i", "inventory.yml"]))
    spec = plugins["action.kb_facts"].ARGUMENT_SPEC
    assert {option: cli[option] for option in ("samples", "interval")} == {
        option: spec[option]["default"] for option in ("samples", "interval")}
    assert (cli["kbs"] or []) == spec["kbs"]["default"]
    assert plugins["action.kb_fleet_audit"].ARGUMENT_SPEC["forks"]["default"] == cli["forks"] == DEFAULT_FORKS


# --- kb_fleet_audit --------------------------------------------------------------------------------


def run_kb_fleet_audit(plugins: dict[str, ModuleType], args: dict[str, Any],
                       hostvars: dict[str, dict[str, Any]]) -> dict[str, Any]:
    plugin = action(plugins["action.kb_fleet_audit"], args)
    return dict(plugin.run(task_vars={"inventory_hostname": next(iter(hostvars)), "hostvars": hostvars,
                                      "ansible_play_batch": list(hostvars)}))


def test_kb_fleet_audit_fails_only_the_host_with_wrong_variables_and_leaves_psrp_out(
        plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    hostvars = {"bad-01": {"ansible_connection": "winrm", "ansible_host": "127.0.0.1", "ansible_port": "many"},
                "ps-01": {"ansible_connection": "psrp", "ansible_host": "127.0.0.1"}}
    result = run_kb_fleet_audit(plugins, {"results_dir": str(tmp_path)}, hostvars)
    assert result["left_out"] == ["ps-01"] and set(result["hosts"]) == {"bad-01"}
    bad = result["hosts"]["bad-01"]
    assert bad["failed"] is True and bad["error_code"] == "transport-config" and "ansible_port" in bad["msg"]
    assert "failed" not in result and (tmp_path / "hosts" / "bad-01.json").is_file()


def test_kb_fleet_audit_fails_the_task_on_an_unknown_kb(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    result = run_kb_fleet_audit(plugins, {"kbs": ["KB1"], "results_dir": str(tmp_path)},
                                {"w7-01": {"ansible_host": "127.0.0.1"}})
    assert result["failed"] is True and "unknown KB 'KB1'" in result["msg"] and "error_code" not in result
    assert not (tmp_path / "hosts").exists()


def test_kb_facts_takes_its_hosts_outcome_of_the_fleet_audit_without_touching_the_host(
        plugins: dict[str, ModuleType]) -> None:
    connection = MagicMock()
    replayed = {"unreachable": True, "changed": False, "msg": "w7-01: refused (auth)", "error_code": "auth"}
    fleet = {"changed": False, "hosts": {"w7-01": replayed}}
    plugin = action(plugins["action.kb_facts"], {"fleet_task": "fleet"}, connection)
    result = dict(plugin.run(task_vars={"inventory_hostname": "w7-01", "fleet": fleet}))
    assert {key: result[key] for key in replayed} == replayed
    connection.exec_command.assert_not_called()
    # what the strategy winremedy.windows.fleet takes in the controller: the same outcome, a copy of it
    known = plugins["action.kb_facts"].ActionModule.controller_result
    outcome = known({"fleet_task": "fleet"}, {"inventory_hostname": "w7-01", "fleet": fleet})
    assert outcome == replayed and outcome is not replayed
    # an audited host's facts come once in the fleet result; its task result has them at the top level too
    facts = {"statuses": {"KB2847346": "fixed"}, "compliant": True}
    audited = {"changed": False, "ansible_facts": {"winremedy": facts}}
    variables = {"inventory_hostname": "w7-02", "fleet": {"hosts": {"w7-02": audited}}}
    assert known({"fleet_task": "fleet"}, variables) == {**audited, **facts}
    # another host, a skipped fleet task (per-host mode), an argument the action does not know: audited as usual
    for args, variables in (({"fleet_task": "fleet"}, {"inventory_hostname": "w7-02", "fleet": fleet}),
                            ({"fleet_task": "fleet"}, {"inventory_hostname": "w7-01", "fleet": {"skipped": True}}),
                            ({"fleet_task": "fleet", "kbz": []}, {"inventory_hostname": "w7-01", "fleet": fleet})):
        assert known(args, variables) is None


def test_kb_facts_names_a_fleet_audit_variable_that_is_not_there(plugins: dict[str, ModuleType]) -> None:
    connection = MagicMock()
    plugin = action(plugins["action.kb_facts"], {"fleet_task": "flet"}, connection)
    result = dict(plugin.run(task_vars={"inventory_hostname": "w7-01", "fleet": {"hosts": {}}}))
    assert result == {"failed": True, "msg": "fleet_task: no variable 'flet' (register the result of "
                                             "winremedy.windows.kb_fleet_audit under this name)"}
    connection.exec_command.assert_not_called()


# --- the strategy winremedy.windows.fleet -----------------------------------------------------------


@pytest.fixture
def fleet_strategy(plugins: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """The strategy with the state its base class keeps for queued tasks; a worker start is only recorded."""
    strategy = plugins["strategy.fleet"].StrategyModule.__new__(plugins["strategy.fleet"].StrategyModule)
    strategy._results, strategy._results_lock, strategy._pending_results = deque(), threading.Lock(), 0
    strategy._queued_task_cache, strategy._tqm = {}, MagicMock()
    workers: list[str] = []
    monkeypatch.setattr(LinearStrategyModule, "_queue_task",
                        lambda self, host, task, task_vars, play_context: workers.append(host.name))
    return strategy, workers


def test_the_fleet_strategy_hands_a_hosts_known_result_over_without_a_worker(fleet_strategy: Any) -> None:
    strategy, workers = fleet_strategy
    outcome = {"unreachable": True, "changed": False, "msg": "w7-01: refused (auth)", "error_code": "auth"}
    task = Task.load({"name": "share", "winremedy.windows.kb_facts": {"fleet_task": "fleet"},
                      "ignore_unreachable": True})
    variables = {"inventory_hostname": "w7-01", "fleet": {"hosts": {"w7-01": outcome}}}
    strategy._queue_task(Host("w7-01"), task, variables, PlayContext())
    assert workers == [] and strategy._pending_results == 1
    (result,) = strategy._results
    assert result.host.name == "w7-01" and result.task is task and result.is_unreachable()
    assert result._return_data == {**outcome, "failed": False, "_ansible_no_log": False}
    assert strategy._queued_task_cache[("w7-01", task._uuid)]["task_vars"] is variables  # as the base class keeps it
    strategy._tqm.send_callback.assert_called_once_with("v2_runner_on_start", result.host, task)


@pytest.mark.parametrize("task", [
    {"winremedy.windows.kb_facts": {"fleet_task": "fleet"}, "when": "inventory_hostname != 'x'"},
    {"winremedy.windows.kb_facts": {"fleet_task": "fleet"}, "ignore_errors": "{{ lenient }}"},
    {"winremedy.windows.kb_facts": {"fleet_task": "fleet"}, "delegate_to": "localhost"},
    {"winremedy.windows.kb_facts": {}},
    {"ansible.builtin.debug": {"msg": "hello"}},
], ids=["condition", "templated-ignore-errors", "delegated", "no-fleet-audit", "another-action"])
def test_the_fleet_strategy_leaves_any_other_task_to_a_worker(fleet_strategy: Any, task: dict[str, Any]) -> None:
    strategy, workers = fleet_strategy
    variables = {"inventory_hostname": "w7-01", "fleet": {"hosts": {"w7-01": {"changed": False}}}}
    strategy._queue_task(Host("w7-01"), Task.load(task), variables, PlayContext())
    assert workers == ["w7-01"] and not strategy._results and strategy._pending_results == 0


def test_without_ansible_cores_result_type_the_fleet_strategy_runs_the_task_as_linear(
        fleet_strategy: Any, plugins: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    strategy, workers = fleet_strategy
    monkeypatch.setattr(plugins["strategy.fleet"], "_RawTaskResult", None)  # an ansible-core that moved it
    task = Task.load({"winremedy.windows.kb_facts": {"fleet_task": "fleet"}})
    variables = {"inventory_hostname": "w7-01", "fleet": {"hosts": {"w7-01": {"changed": False}}}}
    strategy._queue_task(Host("w7-01"), task, variables, PlayContext())
    assert workers == ["w7-01"] and not strategy._results and strategy._pending_results == 0


# --- the engine guard ------------------------------------------------------------------------------


def test_engine_of_the_collection_release_is_accepted(plugins: dict[str, ModuleType]) -> None:
    engine = plugins["plugin_utils._engine"]
    assert engine.collection_version() == yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert engine.require_engine().__version__ == __version__


def test_engine_of_another_series_is_refused(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    engine = plugins["plugin_utils._engine"]
    (tmp_path / "galaxy.yml").write_text("version: 9.4.0\n")
    wanted = (rf"winremedy.windows 9.4.0 needs the winremedy Python package 9.4.x on the controller, "
              rf"found {__version__}: pip install 'winremedy==9.4.\*'")
    with pytest.raises(AnsibleActionFail, match=wanted):
        engine.require_engine(tmp_path)
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": __version__}}))
    engine.require_engine(tmp_path)  # an installed collection's MANIFEST.json wins over galaxy.yml


def test_a_missing_engine_is_one_line(plugins: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "winremedy", None)  # import winremedy now raises ImportError
    with pytest.raises(AnsibleActionFail) as raised:
        action(plugins["action.kb_facts"], {}).run(task_vars={"inventory_hostname": "h"})
    assert raised.value.message == "the winremedy Python package is required on the controller: pip install winremedy"
    assert raised.value.__cause__ is None


def test_an_unwritable_results_dir_fails_in_one_line(plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    connection, _ = winrm_connection(lab_host())
    result = run_kb_facts(plugins, {"results_dir": str(tmp_path / "file")}, connection)
    assert result["failed"] is True and result["msg"].startswith(f"w7-0001: cannot save the result in {tmp_path}/file: ")


# --- the history option ----------------------------------------------------------------------------


def test_kb_facts_joins_and_appends_the_history_and_kb_report_charts_it(plugins: dict[str, ModuleType],
                                                                        tmp_path: Path) -> None:
    history = str(tmp_path / "shared" / "history.sqlite")
    host = lab_host(leak=LeakSpec(Scenario.NSI, 5.0))
    for night in range(2):
        host.clock.advance(86400.0 * night)
        result = run_kb_facts(plugins, {"results_dir": str(tmp_path), "samples": 2, "interval": 600,
                                        "history": history}, winrm_connection(host)[0])
        assert "failed" not in result
    store = open_history(history)
    series = store.read("w7-0001", since=0.0)["nsi_private_bytes"]
    store.close()
    assert len(series) == 4  # both nights' samples
    report = dict(action(plugins["action.kb_report"], {"results_dir": str(tmp_path), "formats": ["html"],
                                                       "history": history}).run(task_vars={}))
    assert "failed" not in report and 'class="chart-history"' in (tmp_path / "report.html").read_text()


def test_a_history_that_cannot_be_opened_fails_the_task_before_the_host_is_touched(
        plugins: dict[str, ModuleType], tmp_path: Path) -> None:
    (tmp_path / "history.sqlite").write_bytes(b"no database, but long enough to have a header" * 40)
    connection, wire = winrm_connection(lab_host())
    result = run_kb_facts(plugins, {"results_dir": str(tmp_path / "out"), "history": str(tmp_path)}, connection)
    assert result["failed"] is True and "error_code" not in result and wire.calls == []
    assert result["msg"].startswith(f"w7-0001: {tmp_path / 'history.sqlite'}: cannot open the history database")
    fleet = run_kb_fleet_audit(plugins, {"results_dir": str(tmp_path / "out"), "history": str(tmp_path)},
                               {"w7-01": {"ansible_host": "127.0.0.1"}})
    assert fleet["failed"] is True and "cannot open the history database" in fleet["msg"] and "hosts" not in fleet
    assert not (tmp_path / "out").exists()
