"""Every PowerShell script the project can send to a host parses and is PowerShell 2.0-clean."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pslint import check, read_script
from winremedy.scripts import COMMON, render
from winremedy.transport.bootstrap import BOOTSTRAP

REPO = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO / "src" / "winremedy" / "scripts"
LINT_FIXTURES = REPO / "tests" / "data" / "pslint"  # deliberately bad; tested by test_pslint


def repo_scripts() -> list[Path]:
    """Tracked .ps1 files plus everything under the scripts package, lint fixtures excluded."""
    listed = subprocess.run(["git", "ls-files", "*.ps1"], cwd=REPO, capture_output=True, text=True, check=False)
    tracked = {REPO / line for line in listed.stdout.splitlines()} if listed.returncode == 0 else set()
    found = tracked | set(SCRIPTS_DIR.rglob("*.ps1"))
    return sorted(path for path in found if path.is_file() and LINT_FIXTURES not in path.parents)


def _problems(paths: list[Path]) -> list[str]:
    return [problem for path in paths for problem in check(read_script(path), str(path.relative_to(REPO)))]


def test_every_project_script_parses_and_passes_lint() -> None:
    assert SCRIPTS_DIR.is_dir()
    assert set(SCRIPTS_DIR.rglob("*.ps1")) <= set(repo_scripts())
    assert _problems(repo_scripts()) == []


def test_the_run_ps_bootstrap_is_powershell_2_clean() -> None:
    assert check(BOOTSTRAP, "bootstrap") == []


def test_the_same_check_fails_on_every_bad_fixture() -> None:
    bad = sorted((LINT_FIXTURES / "bad").glob("*.ps1"))
    assert bad
    flagged = {problem.split(":")[0] for problem in _problems(bad)}
    assert flagged == {str(path.relative_to(REPO)) for path in bad}


_FUNCTION = re.compile(r"^function ([A-Za-z]+-Wr[A-Za-z]+)\b", re.MULTILINE)
_CALL = re.compile(r"\b([A-Z][a-z]+-Wr[A-Za-z]+)\b")


def test_each_function_is_written_once_across_the_scripts_and_their_includes() -> None:
    defined = [name for path in SCRIPTS_DIR.glob("*.ps1") for name in _FUNCTION.findall(read_script(path))]
    assert defined and sorted(name for name in set(defined) if defined.count(name) > 1) == []


@pytest.mark.parametrize("name", sorted(path.stem for path in SCRIPTS_DIR.glob("*.ps1")
                                        if read_script(path).startswith("# winremedy-script: ") and
                                        path.stem != COMMON))
def test_a_rendered_script_defines_every_function_it_calls(name: str) -> None:
    text = render(name, {})
    assert set(_CALL.findall(text)) <= set(_FUNCTION.findall(text))
    assert check(text, f"{name} (rendered)") == []
