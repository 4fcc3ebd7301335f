"""The collection's remediation plugins (kb_stage, kb_install, kb_reboot, kb_verify, kb_remediate) and their docs.

Each plugin runs as Ansible runs it: its ActionModule over ansible-core's real
winrm plugin, whose wire call goes to an in-process lab host (see
test_plugins_transport.py) running at 3600 host seconds per real second, so an
install task finishes after a poll or two. Restarts over the wire are covered
by tests/integration/test_collection_remediate.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from unittest.mock import MagicMock
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader
from ansible.template import Templar
from ansible.utils.plugin_docs import get_docstring

from test_plugins_actions import PREFIX, REPO, action, playbook_drift, plugins  # noqa: F401 - plugins is the collection fixture
from test_plugins_transport import failing_winrm_connection, winrm_connection
from winremedy.lab.clock import LabClock
from winremedy.lab.emulated import EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.packages import corrupt, write_repository
from winremedy.lab.profiles import OsProfile
from winremedy.audit.results import load_results
from winremedy.remediate.command import add_remediate_command
from winremedy.remediate.settings import Settings

NAMES = ("kb_stage", "kb_install", "kb_reboot", "kb_verify", "kb_remediate")
FLEET = "kb_fleet_remediate"  # every host of a batch at once: the options of kb_remediate and forks
FAST = {"poll": 0.01, "verify_samples": 2, "verify_interval": 60}
HOST = "w7-0001"


def fast(plugin: ModuleType) -> dict[str, Any]:
    """The options of :data:`FAST` that ``plugin`` takes."""
    return {k: v for k, v in FAST.items() if k in plugin.ActionModule.OPTIONS}


@pytest.fixture(scope="module")
def remediate(plugins: dict[str, ModuleType]) -> dict[str, ModuleType]:  # noqa: F811 - the imported fixture
    """The five action plugins and kb_fleet_remediate, imported while the collection fixture's loader is installed."""
    return {name: importlib.import_module(f"{PREFIX}.action.{name}") for name in (*NAMES, FLEET)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("repo")
    write_repository(directory)
    return directory


def host(family: str = "win7", sp: int = 1, arch: str = "x64", **spec: Any) -> EmulatedHost:
    profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]
    return EmulatedHost(HostSpec(name=HOST, profile=profile, user="Administrator", password="pw", **spec),
                        LabClock(1.7e9, scale=3600.0), port=45001)


def run(remediate: dict[str, ModuleType], name: str, args: dict[str, Any], connection: Any, *,
        check_mode: bool = False, diff: bool = False, hostvars: dict[str, Any] | None = None) -> dict[str, Any]:
    plugin = action(remediate[name], args, connection, check_mode=check_mode)
    plugin._task.diff = diff
    plugin._templar = Templar(loader=DataLoader())
    return dict(plugin.run(task_vars={"inventory_hostname": HOST, **(hostvars or {})}))


def manifest_sha256(repo: Path, file: str) -> str:
    return next(p["sha256"] for p in json.loads((repo / "manifest.json").read_text())["packages"] if p["file"] == file)


def scripts(lab: EmulatedHost) -> set[str]:
    """The project scripts the host ran, by name."""
    return {name.split()[0] for name in lab.counters.scripts}


def test_check_mode_plans_changes_nothing_and_diffs_the_planned_file(remediate: dict[str, ModuleType], repo: Path,
                                                                      tmp_path: Path) -> None:
    lab = host()
    connection, _ = winrm_connection(lab)
    result = run(remediate, "kb_remediate", {"repo": str(repo), "reboot": "now", "journal_dir": str(tmp_path),
                                             "results_dir": str(tmp_path), **FAST}, connection,
                 check_mode=True, diff=True)
    assert result["changed"] is True and result["status"] == "planned" and "failed" not in result
    assert result["reboot_required"] is True and result["steps"] == [] and result["staged"] == []
    assert [k["action"] for k in result["plan"]["kbs"] if k["kb"] == "KB2847346"] == ["install"]
    path = r"%SystemRoot%\Temp\winremedy\Windows6.1-KB2847346-x64.msu"
    assert result["diff"] == [{"before_header": path, "after_header": path,
                               "before": "sha256: not probed in check mode\n",
                               "after": f"sha256: {manifest_sha256(repo, 'Windows6.1-KB2847346-x64.msu')}\n"}]
    assert scripts(lab) == {"probe", "collect"} and lab.counters.installs == 0 and lab.counters.stages == 0
    assert not (tmp_path / "journal").exists()  # check mode keeps its journal in memory
    assert load_results(tmp_path)[0].host == HOST  # the audit is saved for the report, as kb_facts does


def test_stage_then_install_then_nothing_left(remediate: dict[str, ModuleType], repo: Path, tmp_path: Path) -> None:
    lab = host()
    connection, _ = winrm_connection(lab)
    staged = run(remediate, "kb_stage", {"repo": str(repo)}, connection, diff=True)
    assert staged["changed"] is True and lab.counters.stages == 1 and lab.counters.installs == 0
    (diff,) = staged["diff"]
    assert diff["before"] == "sha256: absent\n" and diff["after"] == f"sha256: {staged['staged'][0]['sha256']}\n"
    again = run(remediate, "kb_stage", {"repo": str(repo)}, connection, diff=True)
    assert again["changed"] is False and again["diff"] == [] and again["staged"][0]["method"] == "present"

    installed = run(remediate, "kb_install", {"repo": str(repo), "journal_dir": str(tmp_path), "poll": 0.01},
                    connection)
    assert installed["changed"] is True and installed["reboot_required"] is True
    assert installed["status"] == "restart_pending" and lab.counters.installs == 1
    assert [s["step"] for s in installed["steps"]] == ["stage", "install"] and not installed["steps"][0]["changed"]
    assert (tmp_path / "journal" / f"{HOST}.jsonl").is_file()

    pending = run(remediate, "kb_reboot", {"repo": str(repo), "reboot": "never", **FAST}, connection)
    assert pending["changed"] is False and pending["reboot_required"] is True and "failed" not in pending
    assert lab.counters.reboots == 0


def test_remediate_without_a_reboot_reports_the_pending_restart_then_changes_nothing(
        remediate: dict[str, ModuleType], repo: Path, tmp_path: Path) -> None:
    lab = host("win2008", 2, "x64")
    connection, _ = winrm_connection(lab)
    args = {"repo": str(repo), "journal_dir": str(tmp_path), "results_dir": str(tmp_path), **FAST}
    first = run(remediate, "kb_remediate", args, connection)
    assert first["changed"] is True and first["status"] == "restart_pending" and first["reboot_required"] is True
    saved = json.loads((tmp_path / "remediation" / f"{HOST}.json").read_text())
    assert saved["status"] == "restart_pending" and saved["host"] == HOST
    second = run(remediate, "kb_remediate", args, connection)
    assert second["changed"] is False and lab.counters.installs == 1  # the install is never repeated


def test_a_service_restart_is_done_whatever_the_reboot_mode(remediate: dict[str, ModuleType], repo: Path) -> None:
    lab = host("win2003", 1, "x86", products=("lcs2005",))
    connection, _ = winrm_connection(lab)
    result = run(remediate, "kb_remediate", {"repo": str(repo), **FAST}, connection)
    assert result["changed"] is True and result["reboot_required"] is False, result["msg"]
    assert "restart_service" in [s["step"] for s in result["steps"]] and lab.counters.service_restarts == 1


def test_verify_passes_on_a_fixed_host_and_fails_naming_host_kb_and_code(remediate: dict[str, ModuleType],
                                                                         tmp_path: Path) -> None:
    connection, _ = winrm_connection(host(installed=("KB2847346",)))
    ok = run(remediate, "kb_verify", {"kbs": ["KB2847346"], **fast(remediate["kb_verify"])}, connection)
    assert ok["changed"] is False and "failed" not in ok and ok["status"] == "compliant"

    connection, _ = winrm_connection(host())
    bad = run(remediate, "kb_verify", {"results_dir": str(tmp_path), **fast(remediate["kb_verify"])}, connection)
    assert bad["failed"] is True and bad["changed"] is False and bad["error_code"] == "verify"
    assert bad["msg"].startswith(f"{HOST}: verification failed: KB2847346 missing") and bad["msg"].endswith("(verify)")
    assert load_results(tmp_path)[0].host == HOST  # in the fleet report too


def test_a_refused_package_is_a_warning_and_the_host_that_needs_it_fails(remediate: dict[str, ModuleType],
                                                                         repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "repo"
    bad.mkdir()
    for path in repo.iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    corrupt(bad / "Windows6.1-KB2847346-x64.msu")
    lab = host()
    connection, _ = winrm_connection(lab)
    result = run(remediate, "kb_remediate", {"repo": str(bad), **FAST}, connection)
    assert [w.split(": signature refused: ")[0] for w in result["warnings"]] == ["refused package Windows6.1-KB2847346-x64.msu"]
    assert result["failed"] is True and result["error_code"] == "blocked" and "KB2847346" in result["msg"]
    assert scripts(lab) == {"probe", "collect"} and lab.counters.stages == 0


def test_an_unreachable_host_is_unreachable_and_saved(remediate: dict[str, ModuleType], repo: Path,
                                                       tmp_path: Path) -> None:
    down = failing_winrm_connection(AnsibleConnectionFailure("ntlm: ('Connection aborted.', reset)"))
    result = run(remediate, "kb_remediate", {"repo": str(repo), "results_dir": str(tmp_path)}, down)
    assert result["unreachable"] is True and "failed" not in result and result["error_code"] == "unreachable"
    assert result["msg"].startswith(f"{HOST}: ") and result["msg"].endswith("(unreachable)")
    assert load_results(tmp_path)[0].error_code == "unreachable"


@pytest.mark.parametrize(("args", "hostvars", "message"), [
    ({"kbs": ["KB1"]}, {}, f"{HOST}: unknown KB 'KB1': the catalog knows KB2847346, KB903927, KB979223 (catalog)"),
    ({"repo": "https://x.invalid/", "repo_unc": r"\\s\r"}, {}, "is a URL: hosts download from it"),
    ({"repo": "https://admin:s3cret@x.invalid/"}, {}, "repo https://***@x.invalid/ is a URL: hosts download from it, "
                                                       "but the manifest that pins each package must be a local"),
    ({"poll": 0}, {}, f"{HOST}: verify_samples must be at least 1 and poll above 0, got 4 and 0"),
    ({}, {"winremedy_maintenance_window": "Sun 2-4"}, f"{HOST}: variable winremedy_maintenance_window:"),
])
def test_bad_options_or_host_variables_fail_without_touching_the_host(
        remediate: dict[str, ModuleType], repo: Path, args: dict[str, Any], hostvars: dict[str, Any],
        message: str) -> None:
    untouched = failing_winrm_connection(AssertionError("the host must not be contacted"))
    result = run(remediate, "kb_remediate", {"repo": str(repo), **args}, untouched, hostvars=hostvars)
    assert result["failed"] is True and message in result["msg"] and "Traceback" not in result["msg"]


@pytest.mark.parametrize(("name", "args", "message"), [
    ("kb_remediate", {"repo": "r", "reboot": "later"},
     "value of reboot must be one of: now, window, never, got: later"),
    ("kb_verify", {"repo": "r"}, "Unsupported parameters for (kb_verify) module: repo. Supported parameters include:"),
    ("kb_stage", {}, "missing required arguments: repo"),
    ("kb_install", {"repo": "r", "poll": "often"}, "argument 'poll' is of type str and we were unable to convert"),
])
def test_unknown_or_ill_typed_options_fail_clearly(remediate: dict[str, ModuleType], name: str, args: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(AnsibleActionFail) as raised:
        run(remediate, name, args, failing_winrm_connection(AssertionError("not called")))
    assert message in str(raised.value)


def test_a_missing_engine_is_one_line_before_the_options_are_read(remediate: dict[str, ModuleType],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The argument spec comes from the engine, so its absence is reported first, in require_engine's line."""
    monkeypatch.setitem(sys.modules, "winremedy", None)  # import winremedy now raises ImportError
    with pytest.raises(AnsibleActionFail) as raised:
        run(remediate, "kb_remediate", {"repo": "r", "reboot": "later"}, failing_winrm_connection(AssertionError()))
    assert raised.value.message == "the winremedy Python package is required on the controller: pip install winremedy"


# --- the docs say what the code does --------------------------------------------------------------


def _doc(name: str) -> dict[str, Any]:
    """The module's documentation with its doc fragments merged, as ansible-doc renders it."""
    doc, examples, returns, _ = get_docstring(str(REPO / "plugins" / "modules" / f"{name}.py"), fragment_loader,
                                              collection_name="winremedy.windows")
    return {"doc": doc, "examples": yaml.safe_load(examples), "returns": returns}


def doc_drift(name: str, spec: dict[str, dict[str, Any]]) -> list[str]:
    """Where the module's documentation (with its doc fragments) differs from its argument spec."""
    documented = _doc(name)["doc"]["options"]
    drift = [f"{name}: documented options {sorted(documented)} != spec {sorted(spec)}"] if set(documented) != set(spec) \
        else []
    for option in set(documented) & set(spec):
        for key in ("type", "elements", "choices", "default", "required"):
            doc, code = documented[option].get(key), spec[option].get(key)
            if key == "required":
                doc, code = bool(doc), bool(code)
            if doc != code:
                drift.append(f"{name}: option {option}: {key} documented {doc!r}, the code says {code!r}")
    return drift


def specs(remediate: dict[str, ModuleType]) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: remediate[name].ActionModule.argument_spec() for name in (*NAMES, FLEET)}


@pytest.mark.parametrize("name", (*NAMES, FLEET))
def test_documented_options_are_the_argument_spec(remediate: dict[str, ModuleType], name: str) -> None:
    assert doc_drift(name, remediate[name].ActionModule.argument_spec()) == []


@pytest.mark.parametrize("name", ["remediate.yml", "verify.yml"])
def test_playbooks_leave_the_defaults_to_the_modules(remediate: dict[str, ModuleType], name: str) -> None:
    assert playbook_drift(REPO / "playbooks" / name, specs(remediate)) == []


def test_a_default_changed_in_settings_reaches_each_front_door_or_fails_a_drift_test(
        remediate: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    """The reboot timeout's default changed in its one definition: the command line, the argument spec and the
    playbook follow it; the static documentation and the playbook's header do not, and the drift checks say so."""
    monkeypatch.setattr(Settings.__dataclass_fields__["reboot_timeout"], "default", 60.0)
    commands = argparse.ArgumentParser().add_subparsers()
    add_remediate_command(commands)
    parser = commands.choices["remediate"]
    assert parser.parse_args(["-i", "x"]).reboot_timeout == 60.0 and "(default 60)" in parser.format_help()
    assert Settings.from_options({}).reboot_timeout == 60.0
    assert remediate["kb_remediate"].ActionModule.argument_spec()["reboot_timeout"]["default"] == 60.0
    assert doc_drift("kb_remediate", remediate["kb_remediate"].ActionModule.argument_spec()) == [
        "kb_remediate: option reboot_timeout: default documented 1800, the code says 60.0"]
    assert playbook_drift(REPO / "playbooks" / "remediate.yml", specs(remediate)) == [
        "remediate.yml: winremedy_reboot_timeout listed with default 1800, the module's is 60"] * 2  # both modes' tasks


@pytest.mark.parametrize("name", NAMES)
def test_examples_use_documented_options_and_return_documents_every_key(remediate: dict[str, ModuleType],
                                                                         repo: Path, name: str) -> None:
    doc = _doc(name)
    used = [t[f"winremedy.windows.{name}"] or {} for t in doc["examples"] if f"winremedy.windows.{name}" in t]
    assert used and all(set(args) <= set(doc["doc"]["options"]) for args in used)
    connection, _ = winrm_connection(host())
    args = {} if name == "kb_verify" else {"repo": str(repo)}
    result = run(remediate, name, {**args, **fast(remediate[name])}, connection, check_mode=True)
    common = {"changed", "failed", "unreachable", "msg", "invocation", "_ansible_no_log", "skipped", "warnings", "diff"}
    assert set(result) - common <= set(doc["returns"])


# --- a restart through the task's connection --------------------------------------------------------


def test_reset_closes_the_shell_and_a_down_host_is_only_forgotten(plugins: dict[str, ModuleType]) -> None:  # noqa: F811
    """transport.reset() between restart polls: the old shell is deleted while the host answers (WinRM 2.0 allows
    5 per user); when the host is down, the connection only forgets it and the next command reconnects."""
    transport_module = importlib.import_module(f"{PREFIX}.plugin_utils._transport")
    connection, wire = winrm_connection(host())
    closed: list[str] = []
    connection._winrm_host = "127.0.0.1"  # set by a real connect
    connection.protocol, connection.shell_id = MagicMock(), "shell-1"
    connection.protocol.close_shell.side_effect = closed.append
    transport = transport_module.ConnectionTransport(connection, HOST)
    transport.reset()
    assert closed == ["shell-1"] and connection.protocol is None and connection.shell_id is None

    connection.protocol, connection.shell_id = MagicMock(), "shell-2"
    connection.protocol.close_shell.side_effect = AnsibleConnectionFailure("connection refused")
    transport.reset()  # never raises: the host is restarting
    assert connection.protocol is None and connection.shell_id is None and wire.calls == []


# --- kb_fleet_remediate: the batch at once; each host's outcome replayed by kb_remediate ------------------------


def run_fleet(remediate: dict[str, ModuleType], args: dict[str, Any], hostvars: dict[str, dict[str, Any]], *,
              check_mode: bool = False) -> dict[str, Any]:
    plugin = action(remediate[FLEET], args, check_mode=check_mode)
    return dict(plugin.run(task_vars={"inventory_hostname": next(iter(hostvars)), "hostvars": hostvars,
                                      "ansible_play_batch": list(hostvars)}))


def test_kb_fleet_remediate_fails_only_the_hosts_with_wrong_variables_and_leaves_psrp_out(
        remediate: dict[str, ModuleType], repo: Path, tmp_path: Path) -> None:
    hostvars = {"bad-port": {"ansible_host": "127.0.0.1", "ansible_port": "many"},
                "bad-window": {"ansible_host": "127.0.0.1", "winremedy_maintenance_window": "Sun 2-4"},
                "ps-01": {"ansible_connection": "psrp", "ansible_host": "127.0.0.1"}}
    result = run_fleet(remediate, {"repo": str(repo), "journal_dir": str(tmp_path), "results_dir": str(tmp_path)},
                       hostvars)
    assert result["left_out"] == ["ps-01"] and set(result["hosts"]) == {"bad-port", "bad-window"}
    assert result["changed"] is False and "failed" not in result  # the hosts failed, each on its own
    port, window = result["hosts"]["bad-port"], result["hosts"]["bad-window"]
    assert port["failed"] is True and port["error_code"] == "transport-config" and "ansible_port" in port["msg"]
    assert window["failed"] is True and window["error_code"] == "inventory"
    assert window["msg"].startswith("bad-window: variable winremedy_maintenance_window:")
    assert port["changed"] is False and port["plan"] is None  # kb_remediate's keys, for the per-host replay
    # saved as kb_remediate saves them (the fleet report lists them with the reason); no journal: nothing started
    assert sorted(p.stem for p in (tmp_path / "remediation").glob("*.json")) == ["bad-port", "bad-window"]
    assert {r.host: r.error_code for r in load_results(tmp_path)} == {"bad-port": "transport-config",
                                                                       "bad-window": "inventory"}
    assert not (tmp_path / "journal").exists()


def test_kb_fleet_remediate_fails_every_host_alike_on_a_task_error(remediate: dict[str, ModuleType], repo: Path,
                                                                  tmp_path: Path) -> None:
    """The per-host task's line for each host (so the recap and max_fail_percentage are the per-host mode's)."""
    hostvars = {"w7-01": {"ansible_host": "127.0.0.1", "ansible_port": 9}, "w7-02": {"ansible_host": "127.0.0.1"}}
    result = run_fleet(remediate, {"repo": str(repo), "kbs": ["KB1"], "results_dir": str(tmp_path)}, hostvars)
    assert result["left_out"] == [] and "failed" not in result
    assert {host: (task["failed"], task["msg"]) for host, task in result["hosts"].items()} == {
        host: (True, f"{host}: unknown KB 'KB1': the catalog knows KB2847346, KB903927, KB979223 (catalog)")
        for host in hostvars}
    assert not tmp_path.joinpath("remediation").exists()


def test_kb_remediate_takes_its_hosts_result_of_the_fleet_task_without_touching_the_host(
        remediate: dict[str, ModuleType], repo: Path) -> None:
    replayed = {"failed": True, "changed": True, "status": "failed", "msg": f"{HOST}: KB2847346: ... (install)",
                "error_code": "install"}
    fleet = {"changed": False, "hosts": {HOST: replayed}}
    untouched = failing_winrm_connection(AssertionError("the host must not be contacted"))
    args = {"repo": str(repo), "fleet_task": "fleet"}
    result = run(remediate, "kb_remediate", args, untouched, hostvars={"fleet": fleet})
    assert {key: result[key] for key in replayed} == replayed
    # what the strategy winremedy.windows.fleet takes in the controller: the same result, a copy of it
    known = remediate["kb_remediate"].ActionModule.controller_result
    outcome = known(args, {"inventory_hostname": HOST, "fleet": fleet})
    assert outcome == replayed and outcome is not replayed
    # another host, a skipped fleet task (per-host mode), an argument the action does not know, a step without
    # the option: worked on as usual
    for name, task_args, variables in (
            ("kb_remediate", args, {"inventory_hostname": "w7-99", "fleet": fleet}),
            ("kb_remediate", args, {"inventory_hostname": HOST, "fleet": {"skipped": True}}),
            ("kb_remediate", {**args, "rebot": "now"}, {"inventory_hostname": HOST, "fleet": fleet}),
            ("kb_stage", args, {"inventory_hostname": HOST, "fleet": fleet})):
        assert remediate[name].ActionModule.controller_result(task_args, variables) is None


def test_kb_remediate_names_a_fleet_variable_that_is_not_there(remediate: dict[str, ModuleType], repo: Path) -> None:
    untouched = failing_winrm_connection(AssertionError("the host must not be contacted"))
    result = run(remediate, "kb_remediate", {"repo": str(repo), "fleet_task": "flet"}, untouched,
                 hostvars={"fleet": {"hosts": {}}})
    assert result == {"failed": True, "msg": "fleet_task: no variable 'flet' (register the result of "
                                             "winremedy.windows.kb_fleet_remediate under this name)"}


def test_kb_fleet_remediate_and_winremedy_remediate_share_their_forks(remediate: dict[str, ModuleType]) -> None:
    commands = argparse.ArgumentParser().add_subparsers()
    add_remediate_command(commands)
    cli = commands.choices["remediate"].parse_args(["-i", "x"])
    assert remediate[FLEET].ActionModule.argument_spec()["forks"]["default"] == cli.forks
