"""The catalog's public API: lookup, applicability, the rows to verify, packages, and the JSON form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from winremedy.catalog import (
    Applicability,
    Catalog,
    Exclusion,
    FileRow,
    Indicator,
    KbEntry,
    Package,
    Workaround,
    load_catalog,
    schema,
)
from winremedy.errors import CatalogError
from winremedy.versions import Branch, WinVersion

KB_DIR = Path(__file__).resolve().parents[2] / "src" / "winremedy" / "catalog" / "kb"
FAMILIES = {"win7", "win2008r2", "vista", "win2008", "win2003"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_default_catalog_has_the_three_kbs_in_file_name_order(catalog: Catalog) -> None:
    assert list(catalog.kbs) == ["KB2847346", "KB903927", "KB979223"]
    assert all(isinstance(e, KbEntry) for e in catalog.kbs.values())
    assert catalog.get("KB2847346").source.name == "KB2847346.yml"


def test_default_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_loading_a_directory_gives_the_same_entries(tmp_path: Path, catalog: Catalog) -> None:
    for src in KB_DIR.glob("*.yml"):
        shutil.copy(src, tmp_path / src.name)
    other = load_catalog(tmp_path)
    assert other is not catalog
    assert {k: e.to_dict() for k, e in other.kbs.items()} == {k: e.to_dict() for k, e in catalog.kbs.items()}
    assert other.get("KB979223").source == tmp_path / "KB979223.yml"


@pytest.mark.parametrize("name", ["KB2847346", "kb2847346", "2847346", " Kb2847346 "])
def test_get_accepts_the_usual_spellings(catalog: Catalog, name: str) -> None:
    assert catalog.get(name).kb == "KB2847346"
    assert name in catalog


@pytest.mark.parametrize("name", ["KB1234567", "", "NSI", "KB28473466"])
def test_get_unknown_kb_names_the_known_ones(catalog: Catalog, name: str) -> None:
    with pytest.raises(CatalogError) as err:
        catalog.get(name)
    message = str(err.value)
    assert "KB2847346, KB903927, KB979223" in message and "\n" not in message


def test_missing_or_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="catalog directory not found"):
        load_catalog(tmp_path / "nope")
    with pytest.raises(CatalogError, match="no KB files"):
        load_catalog(tmp_path)


# --- the rows to verify ----------------------------------------------------------------------------


def _names(rows: list[FileRow]) -> list[tuple[str, str | None, str | None]]:
    return [(r.name, r.version, r.platform) for r in rows]


def test_kb2847346_fix_files_per_arch(catalog: Catalog) -> None:
    kb = catalog.get("KB2847346")
    assert _names(kb.fix_files("6.1.7601", "x64")) == [
        ("Nsiproxy.sys", "6.1.7601.22590", "x64"),
        ("Nsisvc.dll", "6.1.7601.22590", "x64"),
        ("Nsi.dll", "6.1.7601.22590", "x86"),
        ("Winnsi.dll", "6.1.7601.22590", "x86"),
    ]
    assert _names(kb.fix_files("6.1.7601", "x86")) == [("Nsisvc.dll", "6.1.7601.22590", "x86")]
    assert [r.name for r in kb.fix_files("6.1.7601", "ia64")] == ["Nsiproxy.sys", "Nsisvc.dll", "Nsi.dll", "Winnsi.dll"]
    wow64 = [r.path for r in kb.fix_files("6.1.7601", "x64") if r.platform == "x86"]
    assert wow64 == ["%SystemRoot%\\SysWOW64\\nsi.dll", "%SystemRoot%\\SysWOW64\\winnsi.dll"]
    # the RTM-level rows the package carries are never what the engine verifies
    assert kb.fix_files("6.1.7600", "x64") == [r for r in kb.files if r.package == "x64" and r.version == "6.1.7600.16385"]
    assert all(r.win_version == WinVersion.parse("6.1.7601.22590") for r in kb.fix_files("6.1.7601", "x64"))


def test_kb979223_fix_files_per_build(catalog: Catalog) -> None:
    kb = catalog.get("KB979223")
    sp1_x64 = kb.fix_files("6.0.6001", "x64")
    assert [r.name for r in sp1_x64] == ["Netio.sys", "Bfe.dll", "Fwpkclnt.sys", "Fwpuclnt.dll", "Ikeext.dll", "Tcpip.sys", "Fwpuclnt.dll"]
    assert sp1_x64[-1].platform == "x86" and sp1_x64[-1].path == "%SystemRoot%\\SysWOW64\\fwpuclnt.dll"
    assert [r.name for r in kb.fix_files("6.0.6001", "x86")] == ["Netio.sys", "Bfe.dll", "Fwpkclnt.sys", "Fwpuclnt.dll", "Ikeext.dll", "Tcpip.sys"]
    for arch in ("x86", "x64", "ia64"):
        assert _names(kb.fix_files("6.0.6002", arch)) == [("Netio.sys", "6.0.6002.22369", arch)]
    assert _names(kb.fix_files("6.1.7600", "x64")) == [("Netio.sys", "6.1.7600.20611", "x64")]
    assert kb.fix_files("6.1.7600", "ia64") == []  # the article's IA-64 2008 R2 table is cut off
    assert kb.fix_files("6.1.7601", "x64") == []
    # Wfp.mof / Wfp.tmf have no version: never verified
    assert all(r.version is not None for b in ("6.0.6001", "6.0.6002") for a in ("x86", "x64", "ia64") for r in kb.fix_files(b, a))


def test_files_branch_and_sr_level_follow_the_version(catalog: Catalog) -> None:
    for entry in catalog:
        for row in entry.files:
            if row.version is None:
                assert (row.win_version, row.branch, row.sr_level, row.path) == (None, "none", None, None)
            else:
                assert row.branch == row.win_version.branch.value
                assert row.branch in (Branch.GDR.value, Branch.LDR.value)


def test_every_files_rule_has_rows_for_each_arch(catalog: Catalog) -> None:
    for entry in catalog:
        for rule in entry.applies_to:
            assert set(rule.os) <= FAMILIES
            if rule.verify == "files":
                for arch in rule.archs:
                    assert entry.fix_files(rule.version, arch), (entry.kb, rule, arch)


# --- applicability ---------------------------------------------------------------------------------


def _rule(entry: KbEntry, family: str, version: str, sp: int, arch: str) -> Applicability | None:
    return next((r for r in entry.applies_to if r.matches(family, version, sp, arch)), None)


def _exclusion(entry: KbEntry, family: str, version: str, sp: int, arch: str) -> Exclusion | None:
    return next((e for e in entry.excluded if e.matches(family, version, sp, arch)), None)


def test_kb2847346_applicability(catalog: Catalog) -> None:
    kb = catalog.get("KB2847346")
    for family, arch in [("win7", "x86"), ("win7", "x64"), ("win2008r2", "x64"), ("win2008r2", "ia64")]:
        rule = _rule(kb, family, "6.1.7601", 1, arch)
        assert rule is not None and rule.verify == "files" and rule.confidence == "confirmed"
    assert _rule(kb, "win2008r2", "6.1.7601", 1, "x86") is None  # no x86 Server 2008 R2
    assert _rule(kb, "win7", "6.1.7601", 1, "ia64") is None  # no IA-64 Windows 7
    rtm = _exclusion(kb, "win7", "6.1.7600", 0, "x64")
    assert rtm is not None and rtm.status == "prerequisite_missing" and "Service Pack 1" in rtm.reason
    assert rtm.prerequisite is not None and (rtm.prerequisite.service_pack, rtm.prerequisite.kb) == (1, "KB976932")
    assert _rule(kb, "vista", "6.0.6002", 2, "x64") is None and _exclusion(kb, "vista", "6.0.6002", 2, "x64") is None
    assert _rule(kb, None, "6.1.7601", 1, "x64") is None  # type: ignore[arg-type]


def test_kb979223_applicability(catalog: Catalog) -> None:
    kb = catalog.get("KB979223")
    assert _rule(kb, "vista", "6.0.6001", 1, "x86").verify == "files"  # type: ignore[union-attr]
    assert _rule(kb, "win2008", "6.0.6002", 2, "ia64").verify == "files"  # type: ignore[union-attr]
    assert _rule(kb, "vista", "6.0.6001", 1, "ia64") is None
    ia64_r2 = _rule(kb, "win2008r2", "6.1.7600", 0, "ia64")
    assert ia64_r2 is not None and (ia64_r2.verify, ia64_r2.confidence) == ("registration", "unverified") and ia64_r2.note
    sp1 = _rule(kb, "win7", "6.1.7601", 1, "x64")
    assert sp1 is not None and (sp1.verify, sp1.confidence) == ("service_pack", "unverified") and sp1.note
    vista_rtm = _exclusion(kb, "vista", "6.0.6000", 0, "x86")
    assert vista_rtm is not None and vista_rtm.status == "unknown"


def test_kb903927_applicability(catalog: Catalog) -> None:
    kb = catalog.get("KB903927")
    rule = _rule(kb, "win2003", "5.2.3790", 1, "x86")
    assert rule is not None and rule.products == ["lcs"] and rule.verify == "registration" and rule.confidence == "inferred"
    assert _rule(kb, "win2003", "5.2.3790", 1, "x64") is None
    assert _exclusion(kb, "win2003", "5.2.3790", 1, "x64").status == "unknown"  # type: ignore[union-attr]
    assert _exclusion(kb, "win2003", "5.2.3790", 2, "x86").status == "not_applicable"  # type: ignore[union-attr]
    assert _exclusion(kb, "win2003", "5.2.3790", 0, "x64").status == "not_applicable"  # type: ignore[union-attr]
    assert _exclusion(kb, "win2003", "5.2.3790", 1, "x86") is None
    assert kb.files == [] and kb.restart == "not_required" and kb.restart_service
    assert kb.registration.cbs_package_prefix is None and len(kb.registration.registry_keys) == 4
    assert kb.registry_values[0].path.endswith("Tcpip\\Parameters\\SynAttackProtect")
    assert kb.registry_values[0].absent_means == 1


def test_no_rule_is_also_excluded(catalog: Catalog) -> None:
    for entry in catalog:
        for rule in entry.applies_to:
            for family in rule.os:
                for arch in rule.archs:
                    assert _exclusion(entry, family, rule.version, rule.sp, arch) is None


# --- packages, indicators, workarounds ----------------------------------------------------------


def test_package_for(catalog: Catalog) -> None:
    nsi = catalog.get("KB2847346")
    assert nsi.package_for("win2008r2", "6.1.7601", "x64") == Package(
        file="Windows6.1-KB2847346-x64.msu", kind="msu", os=["win7", "win2008r2"], versions=["6.1.7601"], arch="x64", confidence="inferred"
    )
    assert nsi.package_for("win7", "6.1.7601", "x86").file == "Windows6.1-KB2847346-x86.msu"  # type: ignore[union-attr]
    assert nsi.package_for("win7", "6.1.7600", "x64") is None
    wfp = catalog.get("KB979223")
    assert wfp.package_for("vista", "6.0.6002", "x64").file == "Windows6.0-KB979223-x64.msu"  # type: ignore[union-attr]
    assert wfp.package_for("win2008r2", "6.1.7600", "ia64").file == "Windows6.1-KB979223-ia64.msu"  # type: ignore[union-attr]
    assert wfp.package_for("win7", "6.1.7601", "x64") is None  # SP1 is taken as the fix: nothing to install
    lcs = catalog.get("KB903927")
    pkg = lcs.package_for("win2003", "5.2.3790", "x86")
    assert pkg is not None and pkg.kind == "exe" and pkg.file == "WindowsServer2003-KB903927-x86-ENU.exe"
    assert lcs.package_for("win2003", "5.2.3790", "x64") is None


def test_indicators(catalog: Catalog) -> None:
    nsi = {i.id: i for i in catalog.get("KB2847346").indicators}
    assert set(nsi) == {"nsi_private_bytes", "nspc_pool"}
    assert (nsi["nsi_private_bytes"].kind, nsi["nsi_private_bytes"].target) == ("service_process", "nsi")
    assert (nsi["nspc_pool"].kind, nsi["nspc_pool"].target, nsi["nspc_pool"].metric) == ("pool_tag", "NSpc", "nonpaged_bytes")
    assert isinstance(nsi["nsi_private_bytes"].leaking_rate_per_hour, float)
    assert [i.id for i in catalog.get("KB979223").indicators] == ["nonpaged_pool_total"]
    lcs = catalog.get("KB903927").indicators
    assert [(i.kind, i.target, i.metric) for i in lcs] == [("process", "RTCSrv.exe", "private_bytes")]
    for entry in catalog:
        for ind in entry.indicators:
            assert isinstance(ind, Indicator) and ind.leaking_rate_per_hour > 0 and 0 < ind.min_confidence <= 1


def test_workarounds(catalog: Catalog) -> None:
    nsi = {w.id: w for w in catalog.get("KB2847346").workarounds}
    assert [w.scenario for w in nsi.values()] == [1, 1, 2, 3]
    assert [w.id for w in nsi.values() if w.automatable] == ["nic_bounce"]
    assert "connectivity" in nsi["nic_bounce"].risk and "CPU" in nsi["nic_bounce"].risk
    assert catalog.get("KB979223").workarounds == []
    (syn,) = catalog.get("KB903927").workarounds
    assert isinstance(syn, Workaround) and syn.automatable is False and syn.scenario is None
    assert any("Workaround" in u.about and u.confidence == "inferred" for u in catalog.get("KB903927").uncertainties)


def test_indicator_ids_are_unique_across_the_catalog(catalog: Catalog) -> None:
    ids = [ind.id for entry in catalog for ind in entry.indicators]
    assert len(ids) == len(set(ids))
    assert "nonpaged_pool_total" in ids


def test_schema_is_valid_and_closed() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())

    def closed(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, node
            for value in node.values():
                closed(value)
        elif isinstance(node, list):
            for value in node:
                closed(value)

    closed(schema())


# --- JSON form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kb", ["KB2847346", "KB903927", "KB979223"])
def test_to_dict_is_the_yaml_and_valid_json(catalog: Catalog, kb: str) -> None:
    entry = catalog.get(kb)
    out = entry.to_dict()
    json.loads(json.dumps(out))
    jsonschema.Draft202012Validator(schema()).validate(out)
    expected = yaml.safe_load((KB_DIR / f"{kb}.yml").read_text(encoding="utf-8"))
    for excl in expected["excluded"]:
        excl.setdefault("sp", None)
        excl.setdefault("archs", None)
        excl.setdefault("prerequisite", None)
    for work in expected["workarounds"]:
        work.setdefault("scenario", None)
    for indicator in expected["indicators"]:
        indicator.setdefault("needs_growing_tag", False)
    if "pool_tags" not in expected:  # optional: after the indicators, as the dataclass keeps it
        keys = list(expected)
        at = keys.index("indicators") + 1
        expected = {**{k: expected[k] for k in keys[:at]}, "pool_tags": [], **{k: expected[k] for k in keys[at:]}}
    assert out == expected
    assert list(out) == list(expected)
