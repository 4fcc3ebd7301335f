"""Text meant for people cites public sources only: no internal reference sections, no paths of one machine.

Comments, docstrings, catalog notes and documentation name KB numbers, Microsoft documentation titles and
public URLs. Notes written against the project's private research files ("reference §3.3", "[V2]") or a
path on the machine it was built on mean nothing to a reader. Not scanned: tests/data (third-party texts,
not ours to edit) and this file, whose examples are such citations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED_DIRS = ("src", "plugins", "playbooks", "docs", "bench", "tools", "tests", "inventories", "molecule", "meta")
SCANNED_FILES = ("README.md", "galaxy.yml", "pyproject.toml", "execution-environment.yml", ".ci/run")
NOT_SCANNED = {ROOT / "tests" / "data", Path(__file__).resolve()}
SKIPPED_PARTS = {"__pycache__", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache"}

RESEARCH_FILES = ("windows-kb-facts", "legacy-windows-reality", "winrm-protocol.md", "ansible-windows-landscape",
                  "model-codebases")
INTERNAL = {
    "reference section": re.compile("reference[^\n]{0,40}§"),
    "confidence label": re.compile(r"\[V\d*\]"),
    "machine path": re.compile(r"/work/|\.\./shared|\bshared/(seeds|realdata|reference)"),
    "research file": re.compile("|".join(re.escape(name) for name in RESEARCH_FILES)),
}


def scanned() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for directory in SCANNED_DIRS:
        for path in (ROOT / directory).rglob("*"):
            skipped = any(part in SKIPPED_PARTS or part.endswith(".egg-info") for part in path.parts)
            if path.is_file() and not skipped and path not in NOT_SCANNED and not NOT_SCANNED & set(path.parents):
                files.append(path)
    return sorted(files)


def internal_citations(text: str) -> list[str]:
    """``line N: <kind>: <line>`` for each internal citation in ``text``."""
    return [f"line {number}: {kind}: {line.strip()[:100]}"
            for number, line in enumerate(text.splitlines(), 1)
            for kind, pattern in INTERNAL.items() if pattern.search(line)]


def test_no_file_cites_internal_references_or_machine_paths() -> None:
    files = scanned()
    assert ROOT / "src" / "winremedy" / "catalog" / "kb" / "KB979223.yml" in files
    hits = []
    for path in files:
        data = path.read_bytes()
        if b"\0" not in data:
            hits += [f"{path.relative_to(ROOT)}: {hit}" for hit in internal_citations(data.decode("utf-8", "replace"))]
    assert hits == []


@pytest.mark.parametrize("text", [
    "Rules (reference §1.2, §3.4): a later build",
    "note: Secondary sources [V2] say SP1 contains the fix",
    "# Source: the article text in /work/shared/seeds/kb.txt",
    "SEEDS = ROOT / '../shared/seeds'",
    "Exit codes (reference/windows-kb-facts.md §2)",
    "lint rules of windows-kb-facts 4.1",
])
def test_each_kind_of_internal_citation_is_caught(text: str) -> None:
    assert internal_citations(text)


def test_public_citations_pass() -> None:
    text = ("Pending-reboot signals (community.windows win_pending_reboot_info.ps1)\n"
            "KB875417; MS-WSMV 2.2.9.1; https://support.microsoft.com/kb/979223; [Version]$v; shared/ state")
    assert internal_citations(text) == []
