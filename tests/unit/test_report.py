"""Reports: every format from one realistic fleet (the bundled samples, a leaking host with samples,
a host known only by its hotfixes, an unreachable host), hostile text, exit codes, the report command."""

from __future__ import annotations

import argparse
import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from winremedy.audit.assess import Finding, Status, assess
from winremedy.catalog import Catalog, load_catalog
from winremedy.errors import WinRemedyError
from winremedy.audit.facts import HostFacts, Sample
from winremedy.audit.leaks import analyse
from winremedy.report.html_fleet import SCRIPT, SCRIPT_HASH
from winremedy.offline import read_facts_files
from winremedy.report import FILE_NAMES, exit_code, render, write_reports
from winremedy.report.command import add_report_command, run_report
from winremedy.report.csv_report import HEADER
from winremedy.report.svg import _ticks, line_chart
from winremedy.report.table import format_table
from winremedy.audit.results import HostResult, save_result

SAMPLES = Path(__file__).parents[2] / "src" / "winremedy" / "samples"
WHEN = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script>"
T0 = 1_795_000_000.0


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _audited(facts: HostFacts, catalog: Catalog) -> HostResult:
    return HostResult(facts.host, True, facts, assess(facts, catalog), started_at="2026-11-20T02:00:00+00:00",
                      duration=1.5)


def _series(start: float, per_hour: float, count: int = 12, step: float = 900.0) -> list[Sample]:
    """Evenly spaced samples rising at ``per_hour``, with a little noise so the fit has work to do."""
    return [Sample(T0 + i * step, start + per_hour * i * step / 3600 + (i % 3) * 150_000) for i in range(count)]


def _leaking_host(catalog: Catalog, name: str = "web02") -> HostFacts:
    """web01's build and files, with sampled indicators: nsi private bytes and nonpaged pool both rising."""
    web01 = next(f for f in read_facts_files([SAMPLES / "web01.json"]))
    facts = copy.deepcopy(web01)
    facts.host = name
    facts.samples = {"nsi_private_bytes": _series(80e6, 9.4e6), "nonpaged_pool_total": _series(200e6, 6e6),
                     "pool:Nbuf": _series(3e6, 5.5e6),  # the pool tag behind the pool's growth
                     "nspc_pool": [Sample(T0 + i * 900, 4e6) for i in range(12)]}  # flat: quiet, no chart
    facts.leaks = analyse(facts, catalog)
    return facts


@pytest.fixture(scope="module")
def fleet(catalog: Catalog) -> list[HostResult]:
    results = [_audited(f, catalog) for f in read_facts_files(sorted(SAMPLES.glob("*.json")))]
    results.append(_audited(_leaking_host(catalog), catalog))
    results.append(_audited(HostFacts(host="qfe-only", os=None, source="qfe", hotfixes=[]), catalog))
    results.append(HostResult("dc09", False, error="dc09: connection refused (port 5986)", error_code="unreachable"))
    return results


def _statuses(results: list[HostResult]) -> list[tuple[str, str, Status]]:
    return [(r.host, f.kb, f.status) for r in results for f in r.findings]


def test_fleet_covers_every_status(fleet: list[HostResult]) -> None:
    assert {s for _, _, s in _statuses(fleet)} == set(Status)


# -- table -------------------------------------------------------------------------------------------------------

def test_table_rows_failed_hosts_and_summary(fleet: list[HostResult]) -> None:
    text = render(fleet, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["host", "OS", "KB", "status", "confidence", "reason"]
    rows = [re.split(r"\s{2,}", line) for line in text.split("\n\n")[0].splitlines()[2:]]
    assert [(row[0], row[2], row[3]) for row in rows] == [(h, kb, s.value) for h, kb, s in _statuses(fleet)]
    assert "failed hosts:" in text and "dc09: connection refused (port 5986)" in text
    assert lines[-1].startswith("8 hosts: 7 audited, 1 failed; findings: ")
    assert lines[-1].endswith("NOT compliant")


def test_table_never_sends_control_characters_to_the_terminal() -> None:
    text = format_table(("host",), [("evil\x1b[2Jhost\x9b",)])
    assert "\x1b" not in text and "\x9b" not in text and "evil\ufffd[2Jhost\ufffd" in text


# -- JSON --------------------------------------------------------------------------------------------------------

def test_json_shape(fleet: list[HostResult], catalog: Catalog) -> None:
    data = json.loads(render(fleet, "json", generated_at=WHEN))
    assert data["generated_at"] == "2026-11-20T06:00:00+00:00"
    assert list(data["hosts"]) == [r.host for r in fleet]
    for result in fleet:
        host = data["hosts"][result.host]
        assert {"reachable", "error", "error_code", "facts", "findings"} <= set(host)
        assert host["reachable"] is result.reachable
        if result.facts is None:
            assert host["facts"] is None and host["findings"] == []
            continue
        assert HostFacts.from_dict(host["facts"]) == result.facts
        assert host["findings"] == [f.to_dict() for f in assess(result.facts, catalog)]
    assert data["hosts"]["dc09"]["error_code"] == "unreachable"
    summary = data["summary"]
    assert (summary["hosts"], summary["audited"], summary["failed"]) == (8, 7, 1)
    assert summary["compliant"] is False and summary["exit_code"] == 1
    assert sum(summary["findings"].values()) == len(_statuses(fleet))
    assert summary["findings"]["unknown"] == 3 and summary["kbs"]["KB2847346"]["missing_leaking"] == 2


# -- CSV ---------------------------------------------------------------------------------------------------------

def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_one_row_per_host_and_kb_and_per_failed_host(fleet: list[HostResult]) -> None:
    text = render(fleet, "csv")
    assert next(csv.reader(io.StringIO(text))) == list(HEADER)
    rows = _csv_rows(text)
    assert [(r["host"], r["kb"], r["status"]) for r in rows[:-1]] == [(h, kb, s.value) for h, kb, s in
                                                                       _statuses(fleet)]
    web02 = next(r for r in rows if r["host"] == "web02" and r["kb"] == "KB2847346")
    assert web02 | {"reason": ""} == {
        "host": "web02", "reachable": "true", "os_family": "win2008r2", "os_version": "6.1.7601", "sp": "1",
        "arch": "x64", "kb": "KB2847346", "status": "missing_leaking", "confidence": "high", "basis": "files",
        "reason": "", "action": "install Windows6.1-KB2847346-x64.msu, then restart the host",
        "package": "Windows6.1-KB2847346-x64.msu"}
    assert "leaking now: nsi_private_bytes" in web02["reason"]
    assert rows[-1] == {"host": "dc09", "reachable": "false", "os_family": "", "os_version": "", "sp": "",
                             "arch": "", "kb": "", "status": "error", "confidence": "", "basis": "",
                             "reason": "dc09: connection refused (port 5986)", "action": "", "package": ""}


def test_csv_quotes_and_defuses_formulas() -> None:
    tricky = 'refused, "twice"\nthen \x00 gave up'
    rows = _csv_rows(render([HostResult("=HYPERLINK(1)", False, error=tricky)], "csv"))
    assert rows[0]["host"] == "'=HYPERLINK(1)"
    assert rows[0]["reason"] == 'refused, "twice"\nthen \ufffd gave up'


# -- JUnit -------------------------------------------------------------------------------------------------------

_OUTCOME = {Status.MISSING: "failure", Status.MISSING_LEAKING: "failure", Status.PENDING_REBOOT: "failure",
            Status.UNKNOWN: "error", Status.NOT_APPLICABLE: "skipped", Status.FIXED: None}


def _outcome(case: ET.Element) -> str | None:
    tags = [child.tag for child in case]
    assert len(tags) <= 1, tags
    return tags[0] if tags else None


def test_junit_suites_and_counts_match_statuses(fleet: list[HostResult]) -> None:
    root = ET.fromstring(render(fleet, "junit", generated_at=WHEN))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["KB2847346", "KB903927", "KB979223", "unreachable"]
    for kb, suite in suites.items():
        expected = [(h, _OUTCOME[s]) for h, k, s in _statuses(fleet) if k == kb] if kb != "unreachable" \
            else [("dc09", "error")]
        cases = suite.findall("testcase")
        assert [(c.get("name"), _outcome(c)) for c in cases] == expected
        assert all(c.get("classname") == kb for c in cases)
        outcomes = [o for _, o in expected]
        assert suite.get("tests") == str(len(cases))
        for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert suite.get(attribute) == str(outcomes.count(tag)), (kb, attribute)
    for attribute in ("tests", "failures", "errors", "skipped"):
        assert root.get(attribute) == str(sum(int(s.get(attribute) or 0) for s in suites.values()))
    leaking = suites["KB2847346"].find("testcase[@name='web02']/failure")
    assert leaking is not None and leaking.get("type") == "missing_leaking"
    assert "nsiproxy.sys: found 6.1.7601.17514, required 6.1.7601.22590" in (leaking.text or "")
    skipped = suites["KB903927"].find("testcase[@name='fw03']/skipped")
    assert skipped is not None and skipped.get("message") == "not applicable"


def test_junit_is_valid_xml_whatever_the_host_says() -> None:
    result = HostResult(f"{HOSTILE}&\x1b", False, error='"quoted" <b>\x00\ud800', error_code="unreachable")
    root = ET.fromstring(render([result], "junit"))
    case = root.find("testsuite/testcase")
    error = root.find("testsuite/testcase/error")
    assert case is not None and case.get("name") == f"{HOSTILE}&\ufffd"
    assert error is not None and error.get("message") == '"quoted" <b>\ufffd\ufffd'


# -- HTML --------------------------------------------------------------------------------------------------------

class _Balance(HTMLParser):
    """Every non-void element closes, in order: the page is structurally sound."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "line", "circle", "rect", "polyline"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()


def _parse(page: str) -> _Balance:
    parser = _Balance()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    return parser


def test_html_is_one_self_contained_page(fleet: list[HostResult], catalog: Catalog) -> None:
    page = render(fleet, "html", catalog=catalog, generated_at=WHEN)
    parser = _parse(page)
    assert parser.tags.count("html") == 1 and parser.tags.count("script") == 1  # the host table's, nothing else
    assert f"<script>{SCRIPT}</script>" in page and f"script-src '{SCRIPT_HASH}'" in page
    lowered = page.lower()
    for loader in ("src=", "href=\"http", "href='http", "url(", "@import", "<link", "<iframe", "<object"):
        assert loader not in lowered, loader
    assert "http://" not in page  # inline SVG needs no xmlns; only catalog article URLs (https, as text) appear
    assert all(url.startswith("https://support.microsoft.com/") for url in _urls(page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def _urls(page: str) -> list[str]:
    return [page[i:].split("<")[0] for i in range(len(page)) if page.startswith("https://", i)]


def test_html_sections_and_evidence(fleet: list[HostResult], catalog: Catalog) -> None:
    page = render(fleet, "html", catalog=catalog)
    for heading in ("<h2>Fleet</h2>", "<h2>Hosts at a glance</h2>", "<h2>Needs action</h2>", "<h2>Failed hosts</h2>",
                    "<h2>Hosts</h2>"):
        assert heading in page
    assert page.count('<svg class="chart-bars"') == 3  # by status, by OS family, by KB
    assert page.count("<details") == len(fleet)
    assert "files: found vs required" in page and "registrations" in page and "<h5>rule</h5>" in page
    assert "dc09: connection refused (port 5986)" in page
    needs_action = page.split("<h2>Needs action</h2>")[1].split("<h2>")[0]
    assert needs_action.count("<tr>") - 1 == sum(1 for r in fleet for f in r.findings
                                                 if f.status not in (Status.FIXED, Status.NOT_APPLICABLE)
                                                 or f.action != "none")


def test_html_trend_chart_per_leaking_indicator_with_samples(fleet: list[HostResult], catalog: Catalog) -> None:
    page = render(fleet, "html", catalog=catalog)
    charted = [(r.host, key) for r in fleet if r.facts for key, samples in r.facts.samples.items()
               if samples and key in r.facts.leaks and r.facts.leaks[key].leaking]
    assert charted == [("web02", "nsi_private_bytes"), ("web02", "nonpaged_pool_total")]  # web01: verdict, no samples
    assert page.count('<svg class="chart-trend"') == len(charted)
    assert page.count('<circle class="sample"') == 24
    web02 = next(r.facts for r in fleet if r.host == "web02")
    assert web02 is not None
    rate = web02.leaks["nsi_private_bytes"].rate_per_hour / 1e6
    assert f"nsi_private_bytes: fitted +{rate:,.2f} MB/h" in page
    assert "hours since first sample" in page and '<line class="fit"' in page


def test_html_escapes_hostile_host_names_and_reasons(catalog: Catalog) -> None:
    facts = _leaking_host(catalog, name=HOSTILE)
    findings = assess(facts, catalog)
    findings[0].reason = f'<img src=x onerror="alert(1)"> {HOSTILE}'
    results = [HostResult(HOSTILE, True, facts, findings),
               HostResult(f"{HOSTILE}2", False, error=f"{HOSTILE}: refused", error_code="<u>")]
    page = render(results, "html", catalog=catalog)
    assert page.count("<script") == 1 and f"<script>{SCRIPT}</script>" in page  # only the host table's own
    assert "<img" not in page and "<u>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert _parse(page).tags.count("details") == 2
    assert page.count('<svg class="chart-trend"') == 2  # charts survive a hostile name


# -- charts ------------------------------------------------------------------------------------------------------

def test_ticks_cover_the_range_in_round_steps() -> None:
    ticks = _ticks(80.1, 89.0)
    assert ticks[0] <= 80.1 and ticks[-1] >= 89.0 and ticks == [80.0, 82.0, 84.0, 86.0, 88.0, 90.0]
    assert _ticks(0.0, 0.9167) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    flat = _ticks(5.0, 5.0)
    assert flat[0] < 5.0 < flat[-1]


def test_line_chart_of_a_flat_or_instant_series_draws() -> None:
    svg = line_chart([(0.0, 4.0), (0.0, 4.0)], fit=(0.0, 4.0), title="flat", x_label="h", y_label="MB")
    assert svg.startswith('<svg class="chart-trend"') and "nan" not in svg.lower()


# -- exit codes --------------------------------------------------------------------------------------------------

def _with(status: Status, *, action: str = "none") -> HostResult:
    finding = Finding(kb="KB979223", status=status, confidence="high", basis="files", reason="r", action=action)
    return HostResult("h1", True, None, [finding])


@pytest.mark.parametrize(("results", "code"), [
    ([_with(Status.FIXED), _with(Status.NOT_APPLICABLE)], 0),
    ([_with(Status.FIXED, action="investigate: the leak persists with the fix in place")], 0),
    ([_with(Status.FIXED), _with(Status.MISSING)], 1),
    ([_with(Status.MISSING_LEAKING)], 1),
    ([_with(Status.PENDING_REBOOT)], 1),
    ([_with(Status.UNKNOWN)], 1),
    ([_with(Status.FIXED), HostResult("h2", False, error="h2: refused", error_code="unreachable")], 1),
    ([HostResult("h3", True, error="h3: truncated answer", error_code="protocol")], 1),
    ([HostResult("h4", False)], 1),
])
def test_exit_code(results: list[HostResult], code: int) -> None:
    assert exit_code(results) == code


def test_unknown_format_is_a_clean_error(fleet: list[HostResult]) -> None:
    expected = "unknown report format 'pdf' (expected one of: table, json, csv, junit, html)"
    with pytest.raises(WinRemedyError, match=re.escape(expected)):
        render(fleet, "pdf")


# -- files and the command ---------------------------------------------------------------------------------------

def test_write_reports_writes_each_format_atomically(fleet: list[HostResult], catalog: Catalog,
                                                     tmp_path: Path) -> None:
    formats = ["json", "csv", "junit", "html"]
    paths = write_reports(fleet, tmp_path / "out", formats, catalog=catalog, generated_at=WHEN)
    assert [p.name for p in paths] == ["report.json", "report.csv", "report.xml", "report.html"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)  # no temp files
    for fmt, path in zip(formats, paths, strict=True):
        assert path.read_bytes() == render(fleet, fmt, catalog=catalog, generated_at=WHEN).encode("utf-8")


def test_write_reports_with_a_bad_format_writes_nothing(fleet: list[HostResult], tmp_path: Path) -> None:
    with pytest.raises(WinRemedyError):
        write_reports(fleet, tmp_path, ["json", "xlsx"])
    assert list(tmp_path.iterdir()) == []


def test_write_reports_survives_text_utf8_cannot_carry(catalog: Catalog, tmp_path: Path) -> None:
    result = HostResult("h\ud800", False, error="bad \ud800 surrogate\x1b", error_code="protocol")
    paths = write_reports([result], tmp_path, list(FILE_NAMES), catalog=catalog)
    assert len(paths) == 5 and json.loads(paths[1].read_text())["hosts"]["h\ud800"]["error"].startswith("bad")


def _saved(tmp_path: Path, results: list[HostResult]) -> Path:
    for result in results:
        save_result(tmp_path, result)
    return tmp_path


def _args(directory: Path, fmt: str, output: Path | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_report_command(parser.add_subparsers())
    argv = ["report", str(directory), "--format", fmt] + (["--output", str(output)] if output else [])
    args = parser.parse_args(argv)
    assert args.run is run_report
    return args


def test_run_report_renders_saved_results(fleet: list[HostResult], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    directory = _saved(tmp_path / "audit", fleet)
    assert run_report(_args(directory, "junit", tmp_path / "ci" / "report.xml")) == 1
    assert ET.parse(tmp_path / "ci" / "report.xml").getroot().get("tests") == str(len(_statuses(fleet)) + 1)
    assert run_report(_args(directory, "json")) == 1
    assert sorted(json.loads(capsys.readouterr().out)["hosts"]) == sorted(r.host for r in fleet)


def test_run_report_on_a_compliant_fleet_exits_0(fleet: list[HostResult], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    compliant = [r for r in fleet if r.host in ("fw03", "mon02")]
    assert run_report(_args(_saved(tmp_path, compliant), "table")) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("; compliant")


def test_run_report_without_results_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(WinRemedyError, match="no audit results here"):
        run_report(_args(tmp_path / "nowhere", "table"))
    (tmp_path / "hosts").mkdir()
    with pytest.raises(WinRemedyError, match="no host results"):
        run_report(_args(tmp_path, "table"))


# -- fleet table and history charts ------------------------------------------------------------------------------

def test_the_script_hash_is_the_scripts() -> None:
    import base64
    import hashlib

    assert SCRIPT_HASH == "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def test_the_host_table_carries_what_the_filters_read(fleet: list[HostResult], catalog: Catalog) -> None:
    page = render(fleet, "html", catalog=catalog)
    glance = page.split("<h2>Hosts at a glance</h2>")[1].split("<h2>")[0]
    assert glance.count("<tr data-host=") == len(fleet)
    web02 = glance.split('<tr data-host="web02"')[1].split("</tr>")[0]
    assert 'data-leak="now"' in web02 and "KB2847346:missing_leaking" in web02 and 'data-rank="0:web02"' in web02
    dc09 = glance.split('<tr data-host="dc09"')[1].split("</tr>")[0]
    assert "KB2847346:error" in dc09 and 'data-leak="none"' in dc09
    for control in ("filter-status", "filter-kb", "filter-leak", "sort-hosts"):
        assert f'<select id="{control}">' in glance


def test_history_charts_mark_reboots_and_the_fix_and_a_stopped_leak(fleet: list[HostResult],
                                                                     catalog: Catalog) -> None:
    from winremedy.history import Point

    day, mb = 86400.0, 1024 * 1024
    points = [Point(T0 + n * day, 300 * mb + n * 48 * mb, "b1", False) for n in range(4)]
    points += [Point(T0 + (4 + n) * day, 280 * mb + n * 1000, "b2", True) for n in range(2)]
    page = render(fleet, "html", catalog=catalog, history={"fw03": {"nsi_private_bytes": points}})
    assert page.count('<svg class="chart-history"') == 1
    chart = page.split('<svg class="chart-history"')[1].split("</svg>")[0]
    assert chart.count('<circle class="sample"') == 6 and chart.count('<polyline class="series"') == 2
    assert '<text class="mark-label"' in chart and ">reboot + fix</text>" in chart
    assert "nsi_private_bytes: 6 samples over 5.0 days" in chart and ": 314,572,800 bytes</title>" in chart
    glance = page.split("<h2>Hosts at a glance</h2>")[1].split("<h2>")[0]
    assert 'data-leak="stopped"' in glance.split('<tr data-host="fw03"')[1].split("</tr>")[0]
