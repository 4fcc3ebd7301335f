"""The probe's verdicts as a table, JSON, CSV, JUnit (one test case per host) or an HTML page."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

from ..report.escape import h, scrub
from .readiness import Check, Readiness

FORMATS = ("table", "json", "csv", "junit", "html")
_COLUMNS = ("host", "verdict", "address", "port", "scheme", "encryption", "winrm_version", "powershell", "clr",
            "dotnet", "delivery", "task_scheduler", "windows_update", "fips", "system_root", "free_bytes",
            "pending_reboot", "clock_skew", "default_route_adapter")


def render(results: list[Readiness], fmt: str) -> str:
    return _RENDERERS[fmt](results)


def _line(check: Check) -> str:
    return f"{check.message} -> {check.fix}" if check.fix else check.message


def _table(results: list[Readiness]) -> str:
    lines = []
    for result in results:
        facts = result.facts
        lines.append(f"{scrub(result.host)}  {result.verdict.upper()}  PowerShell {facts.get('powershell') or 'none'}"
                     f"  WinRM {facts.get('winrm_version') or '?'}  {facts.get('scheme') or '?'}:"
                     f"{facts.get('port') or '?'}")
        lines += [f"    reason: {scrub(_line(c))}" for c in result.reasons]
        lines += [f"    note:   {scrub(_line(c))}" for c in result.notes]
    ready = sum(r.ready for r in results)
    lines.append(f"{ready} of {len(results)} hosts ready")
    return "\n".join(lines) + "\n"


def _json(results: list[Readiness]) -> str:
    return json.dumps({"hosts": [r.to_dict() for r in results]}, indent=2) + "\n"


def _csv(results: list[Readiness]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_COLUMNS, "reasons", "notes"])
    for result in results:
        cells = [result.host, result.verdict, *(result.facts.get(c) for c in _COLUMNS[2:])]
        writer.writerow([scrub(_cell(v)) for v in cells] + ["; ".join(_line(c) for c in result.reasons),
                                                            "; ".join(_line(c) for c in result.notes)])
    return out.getvalue()


def _cell(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _junit(results: list[Readiness]) -> str:
    root = ET.Element("testsuites", name="winremedy-probe")
    suite = ET.SubElement(root, "testsuite", name="readiness", tests=str(len(results)),
                          failures=str(sum(not r.ready for r in results)))
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="readiness", name=scrub(result.host))
        if not result.ready:
            failure = ET.SubElement(case, "failure", message=scrub(result.summary()))
            failure.text = scrub("\n".join(_line(c) for c in result.reasons))
        if result.notes:
            ET.SubElement(case, "system-out").text = scrub("\n".join(_line(c) for c in result.notes))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def html_rows(results: list[Readiness]) -> str:
    """Table rows (host, verdict, reasons, notes): the probe page and the audit report's readiness section."""
    rows = []
    for result in results:
        items = "".join(f"<li class=reason>{h(_line(c))}</li>" for c in result.reasons)
        items += "".join(f"<li class=note>{h(_line(c))}</li>" for c in result.notes)
        rows.append(f"<tr><td>{h(result.host)}</td><td class=\"{'ok' if result.ready else 'bad'}\">"
                    f"{h(result.verdict)}</td><td><ul>{items}</ul></td></tr>")
    return "".join(rows)


def _html(results: list[Readiness]) -> str:
    return ("<!DOCTYPE html><html><head><meta charset=utf-8><title>winremedy probe</title>"
            "<style>.bad{color:#b00}.ok{color:#070}.reason{color:#b00}</style></head><body>"
            f"<h1>Readiness</h1><table><tr><th>Host</th><th>Verdict</th><th>Reasons and notes</th></tr>"
            f"{html_rows(results)}</table></body></html>\n")


_RENDERERS = {"table": _table, "json": _json, "csv": _csv, "junit": _junit, "html": _html}
REPORT_FILES = {"json": "probe.json", "csv": "probe.csv", "junit": "probe.xml", "html": "probe.html"}
