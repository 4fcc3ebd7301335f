"""A broken catalog file fails on load with ONE line naming the file and the key path.

Broken copies are built in tmp_path from the real files, so the tests keep
working when the real files grow; a few files that cannot be built from a
parsed copy (bad YAML, duplicate keys) live in tests/data/catalog/.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from winremedy.catalog import load_catalog, load_kb_file
from winremedy.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
KB_DIR = ROOT / "src" / "winremedy" / "catalog" / "kb"
BROKEN = ROOT / "tests" / "data" / "catalog"

Data = dict[str, Any]


def _real(kb: str) -> Data:
    loaded: Data = yaml.safe_load((KB_DIR / f"{kb}.yml").read_text(encoding="utf-8"))
    return loaded


def _write(tmp_path: Path, data: Data, name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(CatalogError) as err:
        load_kb_file(path)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path.name}: "), message
    return message


def _set(data: Data, *keys: Any, value: Any) -> Data:
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return data


def _delete(data: Data, *keys: Any) -> Data:
    node = data
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    return data


Mutation = Callable[[Data], Data]

# (case id, KB to start from, mutation, the exact message after "<file>: ")
CASES: list[tuple[str, str, Mutation, str]] = [
    (
        "malformed-version",
        "KB2847346",
        lambda d: _set(d, "files", 3, "version", value="6.1.7601"),
        "files[3].version: '6.1.7601' is not a 4-part version",
    ),
    (
        "unknown-key-in-row",
        "KB2847346",
        lambda d: _set(d, "files", 3, "checksum", value="abc"),
        "files[3].checksum: unknown key (allowed: name, version, size, date, time, platform, package, os, path, branch, sr_level)",
    ),
    (
        "wrong-type-size",
        "KB979223",
        lambda d: _set(d, "files", 0, "size", value="220,040"),
        "files[0].size: '220,040' is not of type integer",
    ),
    (
        "wrong-type-bool",
        "KB2847346",
        lambda d: _set(d, "workarounds", 3, "automatable", value="yes please"),
        "workarounds[3].automatable: 'yes please' is not of type boolean",
    ),
    (
        "branch-disagrees",
        "KB2847346",
        lambda d: _set(d, "files", 2, "branch", value="GDR"),
        "files[2].branch: 'GDR' does not agree with version 6.1.7601.22590 (branch LDR)",
    ),
    (
        "sr-level-disagrees",
        "KB979223",
        lambda d: _set(d, "files", 1, "sr_level", value="SP1"),
        "files[1].sr_level: 'SP1' does not agree with version 6.0.6002.22369 (build 6.0.6002 is SP2)",
    ),
    (
        "branch-on-null-version",
        "KB979223",
        lambda d: _set(d, "files", 6, "branch", value="LDR"),
        "files[6].branch: 'LDR' but the row has no version (expected 'none')",
    ),
    (
        "row-package-not-in-applies-to",
        "KB2847346",
        lambda d: _set(d, "applies_to", value=d["applies_to"][:2]),
        "files[10].package: 'ia64' is in no applies_to archs (x64, x86)",
    ),
    (
        "missing-required-key",
        "KB2847346",
        lambda d: _delete(d, "restart"),
        "restart: missing required key",
    ),
    (
        "enum",
        "KB2847346",
        lambda d: _set(d, "restart", value="maybe"),
        "restart: 'maybe' is not one of: required, not_required",
    ),
    (
        "platform-enum",
        "KB2847346",
        lambda d: _set(d, "files", 10, "platform", value="IA-64"),
        "files[10].platform: 'IA-64' is not one of: x86, x64, ia64, null",
    ),
    (
        "os-family",
        "KB979223",
        lambda d: _set(d, "applies_to", 0, "os", 1, value="server2008"),
        "applies_to[0].os[1]: 'server2008' is not one of: win2003, vista, win2008, win7, win2008r2",
    ),
    (
        "os-build",
        "KB903927",
        lambda d: _set(d, "applies_to", 0, "version", value="5.2"),
        "applies_to[0].version: '5.2' is not an OS build like 6.1.7601",
    ),
    (
        "bad-date",
        "KB2847346",
        lambda d: _set(d, "additional_files", 0, "date", value="05-Feb-2014"),
        "additional_files[0].date: '05-Feb-2014' is not an ISO date (YYYY-MM-DD)",
    ),
    (
        "impossible-date",
        "KB2847346",
        lambda d: _set(d, "files", 0, "date", value="2009-02-30"),
        "files[0].date: '2009-02-30' is not a calendar date",
    ),
    (
        "note-required",
        "KB979223",
        lambda d: _set(d, "applies_to", 6, "note", value=None),
        "applies_to[6].note: required when confidence is not 'confirmed' or verify is not 'files'",
    ),
    (
        "verify-files-without-rows",
        "KB979223",
        lambda d: _set(d, "applies_to", 6, "verify", value="files"),
        "applies_to[6]: verify is 'files' but no file row has package ia64, a version of build 6.1.7600 and os covering win2008r2",
    ),
    (
        "wow64-row-outside-syswow64",
        "KB2847346",
        lambda d: _set(d, "files", 8, "path", value="%SystemRoot%\\System32\\nsi.dll"),
        "files[8].path: '%SystemRoot%\\\\System32\\\\nsi.dll': an x86 file of the x64 package belongs under %SystemRoot%\\SysWOW64",
    ),
    (
        "path-names-another-file",
        "KB979223",
        lambda d: _set(d, "files", 0, "path", value="%SystemRoot%\\System32\\drivers\\tcpip.sys"),
        "files[0].path: '%SystemRoot%\\\\System32\\\\drivers\\\\tcpip.sys' does not end in the file name 'Netio.sys'",
    ),
    (
        "exclusion-overlaps-rule",
        "KB2847346",
        lambda d: _set(d, "excluded", 0, "version", value="6.1.7601") and _set(d, "excluded", 0, "sp", value=None),
        "excluded[0]: overlaps applies_to[0] (same OS family, build, SP and arch)",
    ),
    (
        "registration-kb",
        "KB903927",
        lambda d: _set(d, "registration", "kb", value="KB903928"),
        "registration.kb: 'KB903928' is not the file's KB 'KB903927'",
    ),
    (
        "package-of-another-kb",
        "KB2847346",
        lambda d: _set(d, "packages", 1, "file", value="Windows6.1-KB2847347-x64.msu"),
        "packages[1].file: 'Windows6.1-KB2847347-x64.msu' does not name KB2847346",
    ),
    (
        "duplicate-indicator-id",
        "KB2847346",
        lambda d: _set(d, "indicators", 1, "id", value="nsi_private_bytes"),
        "indicators[1].id: duplicate id 'nsi_private_bytes'",
    ),
    (
        "schema-version",
        "KB903927",
        lambda d: _set(d, "schema_version", value=2),
        "schema_version: 2 must be 1",
    ),
    (
        "top-level-unknown-key",
        "KB903927",
        lambda d: _set(d, "colour", value="red"),
        "colour: unknown key (allowed: schema_version, kb, title, article, summary, restart, restart_service, replaces, "
        "prerequisites, applies_to, excluded, files, additional_files, registration, registry_values, packages, "
        "indicators, pool_tags, workarounds, uncertainties)",
    ),
]


@pytest.mark.parametrize(("kb", "mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_copy_fails_with_one_line(tmp_path: Path, kb: str, mutate: Mutation, expected: str) -> None:
    data = mutate(copy.deepcopy(_real(kb)))
    path = _write(tmp_path, data, f"{kb}.yml")
    assert _error(path) == f"{kb}.yml: {expected}"


def test_unmodified_copies_load(tmp_path: Path) -> None:
    for kb in ("KB2847346", "KB903927", "KB979223"):
        entry = load_kb_file(_write(tmp_path, _real(kb), f"{kb}.yml"))
        assert entry.kb == kb


def test_kb_must_match_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, _real("KB2847346"), "KB2847347.yml")
    assert _error(path) == "KB2847347.yml: kb: 'KB2847346' does not match the file name 'KB2847347.yml' (expected 'KB2847347')"


def test_unquoted_date_is_caught_with_a_hint(tmp_path: Path) -> None:
    text = (KB_DIR / "KB2847346.yml").read_text(encoding="utf-8").replace('date: "2009-07-13"', "date: 2009-07-13", 1)
    path = tmp_path / "KB2847346.yml"
    path.write_text(text, encoding="utf-8")
    assert _error(path) == "KB2847346.yml: files[1].date: 2009-07-13 is not of type string (YAML read it as a date: quote it)"


def test_duplicate_kb_in_one_directory(tmp_path: Path) -> None:
    shutil.copy(KB_DIR / "KB903927.yml", tmp_path / "KB903927.yml")
    shutil.copy(KB_DIR / "KB903927.yml", tmp_path / "KB903927.yaml")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert str(err.value) == "KB903927.yml: kb: duplicate KB KB903927 (also in KB903927.yaml)"


def test_a_broken_file_breaks_the_whole_catalog(tmp_path: Path) -> None:
    for src in KB_DIR.glob("*.yml"):
        shutil.copy(src, tmp_path / src.name)
    _write(tmp_path, _set(_real("KB979223"), "files", 4, "version", value="6.0.6001"), "KB979223.yml")
    with pytest.raises(CatalogError, match=r"^KB979223\.yml: files\[4\]\.version: '6\.0\.6001' is not a 4-part version$"):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("yaml-syntax", r"^KB1000001\.yml: line \d+, column \d+: YAML error: .+$"),
        ("duplicate-key", r"^KB1000001\.yml: line 5, column 1: YAML error: duplicate key 'title'$"),
        ("not-a-mapping", r"^KB1000001\.yml: expected a mapping of catalog keys at the top level, got list$"),
    ],
)
def test_unparseable_files(fixture: str, expected: str) -> None:
    path = BROKEN / fixture / "KB1000001.yml"
    with pytest.raises(CatalogError, match=expected):
        load_kb_file(path)


def test_an_indicator_is_evidence_for_one_kb(tmp_path: Path) -> None:
    for src in KB_DIR.glob("*.yml"):
        shutil.copy(src, tmp_path / src.name)
    data = _real("KB2847346")
    data["indicators"].append(_real("KB979223")["indicators"][0])
    _write(tmp_path, data, "KB2847346.yml")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert str(err.value) == (
        "KB979223.yml: indicators[0].id: indicator 'nonpaged_pool_total' is also defined in "
        "KB2847346.yml; an indicator is evidence for one KB only"
    )