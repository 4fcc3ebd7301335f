"""Every PowerShell script the project can send to a host parses and is PowerShell 2.0-clean."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pslint import check, read_script
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
