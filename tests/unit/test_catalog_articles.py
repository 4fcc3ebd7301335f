"""The catalog says what the articles say: every file table is re-read from the article texts.

The texts in tests/data/articles are copies of the articles the catalog
was transcribed from (sources in its README). Their layouts differ (KB2847346: one value per
line with blank lines between; KB979223: one value per line, with "Collapse
this table" noise), so a small extractor reads the tables out of both, and the
catalog's rows must equal them table by table, in order.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from winremedy.catalog import Catalog, load_catalog

ARTICLE_DIR = Path(__file__).resolve().parents[1] / "data" / "articles"
ARTICLES = {
    "KB2847346": "kb2847346-nsi-leak.txt",
    "KB979223": "kb979223-wfp-nbl-leak.txt",
    "KB903927": "kb903927-lcs-schannel-leak.txt",
}

_HEADING = re.compile(r"^(Additional files for|For) all supported (x86|x64|IA-64)-based versions of (.+)$")
_HEADER = ["File name", "File version", "File size", "Date", "Time", "Platform"]
_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d+$|^Not Applicable$")
_SIZE = re.compile(r"^\d{1,3}(,\d{3})*$")
_DATE = re.compile(r"^\d{2}-[A-Z][a-z]{2}-\d{4}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
_PLATFORM = {"x86": "x86", "x64": "x64", "IA-64": "ia64", "Not Applicable": None}
_OS = {"Windows Server 2008 R2": "win2008r2", "Windows Server 2008": "win2008", "Windows 7": "win7",
       "Windows Vista": "vista", "Windows Server 2003": "win2003"}
_OS_RE = re.compile("|".join(re.escape(k) for k in _OS))  # longest names first: "2008 R2" before "2008"


@dataclass
class Table:
    heading: str
    package: str
    os: list[str]
    additional: bool
    rows: list[tuple[object, ...]] = field(default_factory=list)


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = " ".join(raw.replace("\xa0", " ").split())
        if line and line != "Collapse this tableExpand this table":
            out.append(line)
    return out


def _date(text: str) -> str:
    return dt.datetime.strptime(text, "%d-%b-%Y").date().isoformat()


def _row(values: list[str]) -> tuple[object, ...] | None:
    """(name, version, size, date, time, platform) if the six values look like a file row."""
    if len(values) != 6:
        return None
    name, version, size, date, time, platform = values
    if not (_VERSION.match(version) and _SIZE.match(size) and _DATE.match(date) and _TIME.match(time) and platform in _PLATFORM):
        return None
    return (name, None if version == "Not Applicable" else version, int(size.replace(",", "")), _date(date), time, _PLATFORM[platform])


def extract_tables(text: str) -> list[Table]:
    """Every file table (and "Additional files" table) of an article, in order, rows as published."""
    lines = _lines(text)
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        match = _HEADING.match(lines[i])
        if not match:
            i += 1
            continue
        kind, arch, rest = match.groups()
        table = Table(
            heading=lines[i],
            package=_PLATFORM[arch] or "",
            os=sorted({_OS[m] for m in _OS_RE.findall(rest)}),
            additional=kind == "Additional files for",
        )
        tables.append(table)
        i += 1
        if table.additional:
            # blocks of: File name, <name>, File version, <v>, File size, <n>, Date (UTC), <d>, Time (UTC), <t>, Platform, <p>
            while i + 12 <= len(lines) and lines[i] == "File name":
                block = lines[i : i + 12]
                row = _row(block[1::2])
                assert row is not None and block[2::2] == ["File version", "File size", "Date (UTC)", "Time (UTC)", "Platform"], block
                table.rows.append(row)
                i += 12
        elif lines[i : i + 6] == _HEADER:
            i += 6
            while (row := _row(lines[i : i + 6])) is not None:
                table.rows.append(row)
                i += 6
    return tables


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _article(kb: str) -> str:
    return (ARTICLE_DIR / ARTICLES[kb]).read_text(encoding="utf-8")


def _catalog_tables(catalog: Catalog, kb: str) -> list[tuple[str, list[str], list[tuple[object, ...]]]]:
    """The catalog's file rows grouped into consecutive (package, os) runs, like the article's tables."""
    groups: list[tuple[str, list[str], list[tuple[object, ...]]]] = []
    for r in catalog.get(kb).files:
        key = (r.package, sorted(r.os))
        if not groups or (groups[-1][0], groups[-1][1]) != key:
            groups.append((r.package, sorted(r.os), []))
        groups[-1][2].append((r.name, r.version, r.size, r.date, r.time, r.platform))
    return groups


def test_extractor_reads_the_tables_it_should() -> None:
    nsi = extract_tables(_article("KB2847346"))
    assert [(t.package, t.os, t.additional, len(t.rows)) for t in nsi] == [
        ("x86", ["win7"], False, 4),
        ("x64", ["win2008r2", "win7"], False, 6),
        ("ia64", ["win2008r2"], False, 6),
        ("x86", ["win7"], True, 7),
        ("x64", ["win2008r2", "win7"], True, 11),
        ("ia64", ["win2008r2"], True, 5),
    ]
    wfp = extract_tables(_article("KB979223"))
    assert [(t.package, t.os, len(t.rows)) for t in wfp] == [
        ("x86", ["vista", "win2008"], 9),
        ("x64", ["vista", "win2008"], 11),
        ("ia64", ["win2008"], 11),
        ("x86", ["win7"], 1),
        ("x64", ["win2008r2", "win7"], 1),
        ("ia64", ["win2008r2"], 0),  # cut off in the article text
    ]
    assert extract_tables(_article("KB903927")) == []


@pytest.mark.parametrize("kb", ["KB2847346", "KB979223", "KB903927"])
def test_file_rows_equal_the_article_table_by_table(catalog: Catalog, kb: str) -> None:
    published = [t for t in extract_tables(_article(kb)) if not t.additional and t.rows]
    ours = _catalog_tables(catalog, kb)
    assert [(p, o) for p, o, _ in ours] == [(t.package, t.os) for t in published]
    for (_package, _os, rows), table in zip(ours, published, strict=True):
        assert rows == table.rows, f"{kb}: table {table.heading!r}"


@pytest.mark.parametrize("kb", ["KB2847346", "KB979223", "KB903927"])
def test_additional_files_equal_the_article(catalog: Catalog, kb: str) -> None:
    published = [
        (name, size, date, time, t.package)
        for t in extract_tables(_article(kb))
        if t.additional
        for (name, _version, size, date, time, _platform) in t.rows
    ]
    ours = [(a.name, a.size, a.date, a.time, a.package) for a in catalog.get(kb).additional_files]
    assert ours == published
    if kb == "KB2847346":
        assert len(ours) == 7 + 11 + 5


def test_cut_off_table_is_not_verified_by_files(catalog: Catalog) -> None:
    kb = catalog.get("KB979223")
    empty = [t for t in extract_tables(_article("KB979223")) if not t.rows]
    assert [(t.package, t.os) for t in empty] == [("ia64", ["win2008r2"])]
    rules = [r for r in kb.applies_to if "win2008r2" in r.os and "ia64" in r.archs and r.version == "6.1.7600"]
    assert len(rules) == 1 and rules[0].verify != "files" and rules[0].confidence == "unverified"
    assert not [r for r in kb.files if r.package == "ia64" and "win2008r2" in r.os]


def test_kb903927_article_has_no_file_table(catalog: Catalog) -> None:
    text = _article("KB903927")
    assert "File information" in text and "File name" not in text
    kb = catalog.get("KB903927")
    assert kb.files == [] and all(r.verify != "files" for r in kb.applies_to)


@pytest.mark.parametrize(
    ("kb", "sentence", "restart"),
    [
        ("KB2847346", "You must restart the computer after you apply this hotfix.", "required"),
        ("KB979223", "You must restart the computer after you apply this hotfix.", "required"),
        ("KB903927", "You do not have to restart the computer after you apply this hotfix.", "not_required"),
    ],
)
def test_restart_and_replacement_follow_the_article(catalog: Catalog, kb: str, sentence: str, restart: str) -> None:
    text = " ".join(_lines(_article(kb)))
    assert sentence in text
    assert catalog.get(kb).restart == restart
    assert re.search(r"This hotfix does not replace (any|a) (previously released|other) hotfix", text)
    assert catalog.get(kb).replaces == []


def test_prerequisites_follow_the_article(catalog: Catalog) -> None:
    nsi = " ".join(_lines(_article("KB2847346")))
    assert "you must have Service Pack 1 for Windows 7 or Windows Server 2008 R2 installed" in nsi
    assert catalog.get("KB2847346").prerequisites == ["Service Pack 1 for Windows 7 or Windows Server 2008 R2"]
    lcs = _article("KB903927")
    assert "Windows Server 2003 SP1 must be installed on the Live Communications Server computer" in lcs
    assert "This problem occurs only when Windows Server 2003 SP1 is installed" in lcs
    assert catalog.get("KB903927").prerequisites == ["Windows Server 2003 SP1 must be installed on the Live Communications Server computer"]


def test_nsi_versions_follow_the_articles_branch_table(catalog: Catalog) -> None:
    """The article: 6.1.7600.16xxx is RTM GDR and 6.1.7601.22xxx is SP1 LDR."""
    text = " ".join(_lines(_article("KB2847346")))
    assert "6.1.760 0. 16xxx Windows 7 and Windows Server 2008 R2 RTM GDR" in text
    assert "6.1.760 1. 22xxx Windows 7 and Windows Server 2008 R2 SP1 LDR" in text
    for row in catalog.get("KB2847346").files:
        assert row.version is not None
        if row.version.startswith("6.1.7600.16"):
            assert (row.branch, row.sr_level) == ("GDR", "RTM")
        else:
            assert row.version.startswith("6.1.7601.22") and (row.branch, row.sr_level) == ("LDR", "SP1")


def test_nspc_tag_is_the_articles(catalog: Catalog) -> None:
    text = " ".join(_lines(_article("KB2847346")))
    assert "NSI Proxy Contexts Tag NSpc" in text
    tags = [i.target for i in catalog.get("KB2847346").indicators if i.kind == "pool_tag"]
    assert tags == ["NSpc"]
