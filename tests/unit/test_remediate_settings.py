"""The remediation options, defined once in Settings, and the engine's rules both front doors follow.

The collection's side (argument spec, module documentation, playbooks) is in
test_plugins_remediate.py; this file covers the command line, the conversion
of given options into Settings, the source of packages and the check-mode
verdicts of a plan.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import WinRemedyError
from winremedy.lab.packages import write_repository
from winremedy.remediate.command import add_remediate_command
from winremedy.remediate.fleet import settings_for
from winremedy.remediate.outcome import FileChange, HostOutcome, HostStatus
from winremedy.remediate.plan import Action, HostPlan, KbPlan, Restart
from winremedy.remediate.reboot import RebootMode
from winremedy.remediate.settings import Settings, argument_spec
from winremedy.remediate.stage import resolve_source
from winremedy.repo.manifest import Entry


def cli() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The top parser and the ``remediate`` subcommand's, as ``winremedy`` builds them."""
    parser = argparse.ArgumentParser(prog="winremedy")
    commands = parser.add_subparsers()
    add_remediate_command(commands)
    return parser, commands.choices["remediate"]


def cli_settings(*flags: str) -> Settings:
    parser, _ = cli()
    args = parser.parse_args(["remediate", "-i", "inventory.yml", *flags])
    return settings_for(vars(args), load_catalog(), check=args.check)


def test_the_command_line_defaults_are_the_settings_defaults() -> None:
    assert cli_settings() == Settings()
    assert Settings().reboot is RebootMode.NEVER and Settings().install_gdr is True


def test_every_option_is_a_flag_of_the_command_line() -> None:
    given = cli_settings("--kb", "2847346", "--kb", "KB979223", "--reboot", "window", "--method", "dism",
                         "--skip-gdr", "--nic-bounce", "--verify-samples", "3", "--verify-interval", "60",
                         "--install-timeout", "90", "--reboot-timeout", "120", "--poll", "0.5", "--check")
    assert given == Settings(reboot=RebootMode.WINDOW, kbs=("KB2847346", "KB979223"), install_gdr=False,
                             method="dism", nic_bounce=True, verify_samples=3, verify_interval=60.0,
                             install_timeout=90.0, reboot_timeout=120.0, poll=0.5, check=True)


def test_the_help_shows_each_default() -> None:
    text = " ".join(cli()[1].format_help().split())
    for shown in ("--reboot {now,window,never}", "(default never)", "--method {auto,dism}", "(default auto)",
                  "--verify-samples VERIFY_SAMPLES", "(default 4)", "--reboot-timeout REBOOT_TIMEOUT",
                  "(default 1800)", "(default 600)", "(default 10)", "--kb KB", "--skip-gdr", "--nic-bounce"):
        assert shown in text, shown


def test_the_argument_spec_has_the_same_defaults_and_choices() -> None:
    spec = argument_spec()
    assert spec["reboot"] == {"type": "str", "choices": ["now", "window", "never"], "default": "never"}
    assert spec["kbs"] == {"type": "list", "elements": "str", "default": []}
    assert spec["method"] == {"type": "str", "choices": ["auto", "dism"], "default": "auto"}
    assert spec["install_gdr"] == {"type": "bool", "default": True}
    assert spec["verify_samples"] == {"type": "int", "default": 4}
    assert spec["reboot_timeout"] == {"type": "float", "default": 1800.0}
    assert "check" not in spec  # each front door's own switch, not an option


def test_options_are_converted_and_missing_ones_take_the_default() -> None:
    class Tagged(str):  # ansible-core 2.19 hands templated values over as subclasses like this
        pass

    settings = Settings.from_options({"reboot": Tagged("now"), "kbs": [Tagged("KB2847346")], "poll": 2,
                                      "journal_dir": "/tmp/j", "verify_samples": None})
    assert settings.reboot is RebootMode.NOW and type(settings.kbs[0]) is str and settings.poll == 2.0
    assert settings.verify_samples == 4 and settings.check is False


@pytest.mark.parametrize(("options", "message"), [
    ({"poll": 0}, "verify_samples must be at least 1 and poll above 0, got 4 and 0"),
    ({"verify_samples": 0}, "verify_samples must be at least 1 and poll above 0, got 0 and 10"),
])
def test_out_of_range_values_are_refused_once_for_both_front_doors(options: dict[str, int], message: str) -> None:
    with pytest.raises(WinRemedyError, match=message):
        Settings.from_options(options)
    flag, value = next(iter(options.items()))
    with pytest.raises(WinRemedyError, match=message):
        cli_settings(f"--{flag.replace('_', '-')}", str(value))


def test_kbs_take_the_catalogs_spelling_and_an_unknown_one_is_refused() -> None:
    assert settings_for({"kbs": ["kb903927"]}, load_catalog(), check=False).kbs == ("KB903927",)
    with pytest.raises(WinRemedyError, match="unknown KB 'KB1'"):
        settings_for({"kbs": ["KB1"]}, load_catalog(), check=False)


# --- one reading of where the packages come from ------------------------------------------------------


def test_a_repository_is_a_directory_a_share_or_a_url(tmp_path: Path) -> None:
    write_repository(tmp_path)
    assert resolve_source(str(tmp_path))[0].kind == "push"
    assert resolve_source(tmp_path, r"\\files\winremedy")[0].kind == "unc"
    with pytest.raises(WinRemedyError, match=r"repo HTTPS://dist01/ is a URL: hosts download from it"):
        resolve_source("HTTPS://dist01/", r"\\files\winremedy")
    with pytest.raises(WinRemedyError, match="no package source"):
        resolve_source(None)
    with pytest.raises(WinRemedyError, match="manifest.json"):
        resolve_source(str(tmp_path / "nowhere"))


# --- what check mode says a step would do -------------------------------------------------------------


ENTRY = Entry(file="Windows6.1-KB2847346-x64.msu", kb="KB2847346", kind="msu", arch="x64", os=("win7",), builds=(),
              size=1, sha256="ab" * 32, identity={})


def plan(*kbs: KbPlan) -> HostPlan:
    return HostPlan("h1", "win7 6.1.7601 SP1 x64", "win7", kbs)


INSTALL = KbPlan("KB2847346", "missing", Action.INSTALL, "old", Restart.REBOOT, package=ENTRY)
PENDING = KbPlan("KB979223", "pending_reboot", Action.RESTART_ONLY, "waits", Restart.REBOOT)
SERVICE = KbPlan("KB903927", "pending_reboot", Action.RESTART_ONLY, "waits", Restart.SERVICE, service="RTCSRV")
FIXED = KbPlan("KB979223", "fixed", Action.SKIP, "fixed")


@pytest.mark.parametrize(("kbs", "reboot", "changes"), [
    ((INSTALL,), RebootMode.NEVER, {"stage": True, "install": True, "reboot": False, "verify": False, "remediate": True}),
    ((PENDING,), RebootMode.NEVER, {"stage": False, "install": False, "reboot": False, "remediate": False}),
    ((PENDING,), RebootMode.NOW, {"stage": False, "install": False, "reboot": True, "remediate": True}),
    ((SERVICE,), RebootMode.NEVER, {"stage": False, "reboot": True, "remediate": True}),
    ((FIXED,), RebootMode.NOW, {"stage": False, "install": False, "reboot": False, "remediate": False}),
])
def test_check_mode_changed_comes_from_the_plan(kbs: tuple[KbPlan, ...], reboot: RebootMode,
                                                changes: dict[str, bool]) -> None:
    assert {step: plan(*kbs).would_change(step, reboot) for step in changes} == changes


def test_a_reboot_is_needed_only_for_work_that_waits_for_one() -> None:
    assert plan(INSTALL).needs_reboot and plan(PENDING).needs_reboot
    assert not plan(SERVICE).needs_reboot and not plan(FIXED).needs_reboot


def test_file_changes_are_the_planned_packages_in_check_mode() -> None:
    outcome = HostOutcome("h1", HostStatus.PLANNED, plan=plan(INSTALL, FIXED))
    planned = FileChange(r"%SystemRoot%\Temp\winremedy\Windows6.1-KB2847346-x64.msu", None, "ab" * 32, probed=False)
    assert outcome.file_changes("install", check=True) == [planned]
    assert outcome.file_changes("reboot", check=True) == [] and outcome.file_changes("stage", check=False) == []
    assert dataclasses.replace(outcome, plan=None).file_changes("remediate", check=True) == []
