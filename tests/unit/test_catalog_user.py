"""User catalogs: KB files in the user's own directories, read with the packaged catalog, and their validation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from winremedy.catalog import CATALOG_PATH_ENV, load_catalog, use_catalog_paths
from winremedy.catalog.validate import validate_files
from winremedy.cli import main
from winremedy.errors import CatalogError

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog" / "KB9999901.yml"
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "winremedy" / "catalog" / "kb"


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CATALOG_PATH_ENV, "")  # restored after the test, also where the CLI has added to it
    directory = tmp_path / "kbs"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory / EXAMPLE.name)
    return directory


def _edited(directory: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data.update(change)
    path = directory / EXAMPLE.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_environment_adds_a_directory_to_the_packaged_catalog(user_dir: Path, monkeypatch) -> None:
    assert "KB9999901" not in load_catalog()
    monkeypatch.setenv(CATALOG_PATH_ENV, str(user_dir))
    catalog = load_catalog()
    assert list(catalog.kbs) == ["KB2847346", "KB903927", "KB979223", "KB9999901"]
    assert catalog.get("KB9999901").source == user_dir / "KB9999901.yml"


def test_use_catalog_paths_puts_the_given_directories_first(user_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(CATALOG_PATH_ENV, str(tmp_path / "other"))
    use_catalog_paths([user_dir])
    assert os.environ[CATALOG_PATH_ENV].split(os.pathsep) == [str(user_dir), str(tmp_path / "other")]


def test_a_kb_defined_twice_names_both_files(user_dir: Path, tmp_path: Path, monkeypatch) -> None:
    shutil.copy(PACKAGED / "KB903927.yml", user_dir / "KB903927.yml")
    monkeypatch.setenv(CATALOG_PATH_ENV, str(user_dir))
    with pytest.raises(CatalogError) as raised:
        load_catalog()
    message = str(raised.value)
    assert message.startswith(f"{user_dir / 'KB903927.yml'}: kb: KB903927 is already defined in ")
    assert message.endswith(str(PACKAGED / "KB903927.yml"))


def test_an_error_in_a_user_file_names_its_path_and_key(user_dir: Path, monkeypatch) -> None:
    _edited(user_dir, {"restart": "sometimes"})
    monkeypatch.setenv(CATALOG_PATH_ENV, str(user_dir))
    with pytest.raises(CatalogError, match=r"^/.*/kbs/KB9999901\.yml: restart: 'sometimes' is not one of"):
        load_catalog()


def test_the_example_is_sound() -> None:
    assert validate_files([EXAMPLE]) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"indicators": [{"id": "nsi_private_bytes", "what": "x", "kind": "service_process", "target": "nsi",
                      "metric": "private_bytes", "unit": "bytes", "leaking_rate_per_hour": 1, "min_confidence": 0.9,
                      "basis": "x", "min_span_hours": 2, "min_growth": 1,
                      "noise": {"wander_per_sqrt_hour": 1, "jitter": 1, "basis": "x"}}]},
     "indicators[0].id: 'nsi_private_bytes' is already evidence for KB2847346"),
    ({"indicators": [{"id": "afd_handles", "what": "x", "kind": "pool_tag", "target": "AfdB",
                      "metric": "handles", "unit": "bytes", "leaking_rate_per_hour": 1, "min_confidence": 0.9,
                      "basis": "x", "min_span_hours": 2, "min_growth": 1,
                      "noise": {"wander_per_sqrt_hour": 1, "jitter": 1, "basis": "x"}}]},
     "indicators[0].metric: 'handles' cannot be read for a pool_tag"),
    ({"workarounds": [{"id": "flush_afd", "what": "x", "effect": "x", "risk": "x", "automatable": True}]},
     "workarounds[0].automatable: true, but winremedy runs only nic_bounce"),
    ({"packages": [{"file": "Windows6.1-KB9999901-x64.msu", "kind": "msu", "os": ["win7"], "versions": ["6.1.7600"],
                    "arch": "x64", "confidence": "inferred"}]},
     "packages[0]: Windows6.1-KB9999901-x64.msu installs on win7 6.1.7600 x64, which no applies_to rule covers"),
    ({"packages": []}, "applies_to[0]: no package for win7 6.1.7601 x64"),
    ({"kb": "KB9999902"}, "kb: 'KB9999902' does not match the file name"),
])
def test_each_problem_is_explained_with_file_and_key(tmp_path: Path, change, problem) -> None:
    path = _edited(tmp_path, change)
    problems = validate_files([path])
    assert any(p.startswith(f"{path}: ") and problem in p for p in problems), problems


def test_every_schema_problem_of_a_file_is_listed(tmp_path: Path) -> None:
    path = _edited(tmp_path, {"restart": "sometimes", "replaces": ["2847346"]})
    problems = validate_files([path])
    assert problems == [f"{path}: replaces[0]: '2847346' is not a KB id like KB2847346",
                        f"{path}: restart: 'sometimes' is not one of: required, not_required"]


def test_validating_a_packaged_kb_again_is_a_duplicate(tmp_path: Path) -> None:
    copy = tmp_path / "KB2847346.yml"
    shutil.copy(PACKAGED / "KB2847346.yml", copy)
    assert validate_files([copy]) == [f"{copy}: kb: KB2847346 is already defined in {PACKAGED / 'KB2847346.yml'}"]


def test_cli_lists_a_kb_of_a_catalog_directory(user_dir: Path, capsys) -> None:
    assert main(["--catalog", str(user_dir), "catalog", "list", "--format", "json"]) == 0
    assert "KB9999901" in [kb["kb"] for kb in json.loads(capsys.readouterr().out)["kbs"]]
    assert main(["catalog", "validate", str(user_dir / "KB9999901.yml")]) == 0
    broken = _edited(user_dir, {"packages": []})
    assert main(["catalog", "validate", str(broken)]) == 1
    assert f"{broken}: applies_to[0]: no package" in capsys.readouterr().out
