"""assess(): table-driven over tests/data/assess/cases.yml, plus the finding's JSON shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from winremedy.audit.assess import Status, assess
from winremedy.catalog import Catalog, load_catalog
from winremedy.audit.facts import HostFacts, Hotfix, LeakVerdict, OsInfo
from winremedy.versions import servicing_build

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "assess" / "cases.yml").read_text())
WORKSTATIONS = {"win7", "vista"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _os(spec: str | None) -> OsInfo | None:
    if spec is None:
        return None
    family, version, sp, arch = spec.split()
    return OsInfo(caption=f"Microsoft {family}", version=version, sp=int(sp[2:]), arch=arch,  # type: ignore[arg-type]
                  product_type=1 if family in WORKSTATIONS else 3)


def _files(case: dict[str, Any], os_info: OsInfo, catalog: Catalog) -> dict[str, str | None] | None:
    if "files" not in case:
        return None
    spec = dict(case["files"])
    files: dict[str, str | None] = {}
    default = spec.pop("*", None)
    if default is not None:
        for kb in catalog.kbs.values():
            for rule in kb.applies_to:
                if rule.version == servicing_build(os_info.version) and os_info.arch:
                    files.update({row.path: default for row in kb.fix_files(rule.version, os_info.arch)})
    files.update({f"%SystemRoot%\\{path}": version for path, version in spec.items()})
    return files


def _hotfixes(case: dict[str, Any]) -> list[Hotfix] | None:
    if "hotfixes" not in case:
        return None
    return [Hotfix(id=h, source="qfe") if isinstance(h, str) else Hotfix(**h) for h in case["hotfixes"]]


def _leaks(case: dict[str, Any], catalog: Catalog) -> dict[str, LeakVerdict]:
    verdicts = {}
    for key, leaking in (("leaking", True), ("quiet", False)):
        for kb in case.get(key, []):
            indicator = catalog.get(kb).indicators[0]
            verdicts[indicator.id] = LeakVerdict(indicator.id, leaking, 5e6 if leaking else 0.0, 0.95, 12)
    return verdicts


def _facts(case: dict[str, Any], catalog: Catalog) -> HostFacts:
    os_info = _os(case["os"])
    registry = None
    if case.get("registry"):
        keys = catalog.get("KB903927").registration.registry_keys
        wanted = case["registry"]
        registry = {next(k for k in keys if wanted is True or wanted in k): 1}
    return HostFacts(
        host=case["name"], os=os_info,
        files=_files(case, os_info, catalog) if os_info else None,
        hotfixes=_hotfixes(case), hotfixes_incomplete=case.get("hotfixes_incomplete"),
        products=case.get("products"), registry=registry,
        pending_reboot=case.get("pending_reboot"), leaks=_leaks(case, catalog),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case, catalog):
    findings = {f.kb: f for f in assess(_facts(case, catalog), catalog)}
    for kb, expected in case["expect"].items():
        expected = expected if isinstance(expected, dict) else {"status": expected}
        finding = findings[kb]
        assert finding.status is Status(expected["status"]), f"{kb}: {finding.reason}"
        for key in ("basis", "confidence"):
            if key in expected:
                assert getattr(finding, key) == expected[key], f"{kb}: {finding.reason}"
        for key in ("reason", "action"):
            if key in expected:
                assert expected[key] in getattr(finding, key), f"{kb}: {getattr(finding, key)}"
        if "not_reason" in expected:
            assert expected["not_reason"] not in finding.reason


def test_every_article_row_has_a_case(catalog):
    """Each applies_to and excluded entry of the catalog is exercised by at least one case, for every arch."""
    seen = {(c["os"].split()[1], int(c["os"].split()[2][2:]), c["os"].split()[3]) for c in CASES if c["os"]}
    for kb in catalog.kbs.values():
        for rule in kb.applies_to:
            for arch in rule.archs:
                assert (rule.version, rule.sp, arch) in seen, f"{kb.kb}: no case for {rule.version} SP{rule.sp} {arch}"


def test_finding_json_shape(catalog):
    case = next(c for c in CASES if c["name"].startswith("win7 sp1 x64 whose WOW64"))
    finding = assess(_facts(case, catalog), catalog, ["KB2847346"])[0].to_dict()
    assert {"kb", "status", "evidence", "confidence", "reason", "action", "basis", "package"} <= set(finding)
    assert finding["status"] == "missing"
    assert finding["package"] == "Windows6.1-KB2847346-x64.msu"
    assert "restart the host" in finding["action"]
    files = {f["path"]: f for f in finding["evidence"]["files"]}
    assert files["%SystemRoot%\\SysWOW64\\nsi.dll"]["state"] == "older"
    assert files["%SystemRoot%\\System32\\nsisvc.dll"]["state"] == "satisfied"
    assert finding["evidence"]["rule"]["verify"] == "files"


def test_kb_selection_limits_findings(catalog):
    facts = HostFacts(host="h", os=_os("win7 6.1.7601 sp1 x64"))
    assert [f.kb for f in assess(facts, catalog, ["kb979223"])] == ["KB979223"]
