"""The engine (and tools/) stays type-correct and free of unused imports and likely bugs (mypy, ruff)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("tool", [["ruff", "check", "src/winremedy", "plugins", "tools"], ["mypy", "src/winremedy", "tools"]],
                         ids=["ruff", "mypy"])
def test_static_checks_pass(tool):
    result = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
