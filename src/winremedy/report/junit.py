"""The JUnit XML report: CI systems (Jenkins, GitLab, Azure DevOps) show fleet compliance as test results.

One ``<testsuite>`` per KB, one ``<testcase classname="KB..." name="<host>">`` per host x KB:

- ``fixed`` passes;
- ``missing``, ``missing_leaking``, ``pending_reboot`` are ``<failure>`` (the host is not protected);
- ``unknown`` is an ``<error>``, not ``<skipped>``: the audit could not decide, which needs a person
  as much as a failure does (and it makes the exit code 1); a skip would read as green in most CI views;
- ``not_applicable`` is ``<skipped message="not applicable">``.

Hosts that could not be audited are ``<error>`` test cases in a suite named ``unreachable``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from ..audit.assess import Finding, Status
from ..audit.results import HostResult
from .escape import scrub
from .summary import Failure, FindingRow, failures, finding_rows

UNREACHABLE_SUITE = "unreachable"
_FAILURES = {Status.MISSING, Status.MISSING_LEAKING, Status.PENDING_REBOOT}
_ATTRIBUTES = {"failure": "failures", "error": "errors", "skipped": "skipped"}  # outcome tag -> count attribute


def render_junit(results: list[HostResult], generated_at: str) -> str:
    root = ET.Element("testsuites", name="winremedy")
    suites: dict[str, ET.Element] = {}
    for row in finding_rows(results):
        kb = row.finding.kb
        if kb not in suites:
            suites[kb] = ET.SubElement(root, "testsuite", name=kb, timestamp=generated_at)
        _finding_case(suites[kb], row)
    failed = failures(results)
    if failed:
        suite = ET.SubElement(root, "testsuite", name=UNREACHABLE_SUITE, timestamp=generated_at)
        for failure in failed:
            _failure_case(suite, failure)
    _count(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _finding_case(suite: ET.Element, row: FindingRow) -> None:
    finding = row.finding
    case = ET.SubElement(suite, "testcase", classname=finding.kb, name=scrub(row.host))
    if finding.status is Status.FIXED:
        return
    if finding.status is Status.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message="not applicable").text = scrub(finding.reason)
        return
    tag = "failure" if finding.status in _FAILURES else "error"
    outcome = ET.SubElement(case, tag, message=scrub(f"{finding.status.value}: {finding.reason}"),
                            type=finding.status.value)
    outcome.text = scrub(_evidence_text(finding))


def _failure_case(suite: ET.Element, failure: Failure) -> None:
    case = ET.SubElement(suite, "testcase", classname=UNREACHABLE_SUITE, name=scrub(failure.host))
    ET.SubElement(case, "error", message=scrub(failure.reason), type=scrub(failure.code or "error"))


def _evidence_text(finding: Finding) -> str:
    """What a CI log reader needs to act: status, reason, action, and the files or leaks that decided it."""
    lines = [f"{finding.kb}: {finding.status.value} ({finding.confidence} confidence, basis {finding.basis})",
             f"reason: {finding.reason}", f"action: {finding.action}"]
    if finding.package:
        lines.append(f"package: {finding.package}")
    for check in finding.evidence.get("files") or []:
        lines.append(f"file {check['path']}: found {check['found'] or 'none'}, required {check['required']}"
                     f" ({check['state']})")
    for leak in finding.evidence.get("leaks") or []:
        lines.append(f"leak {leak['indicator']}: {'leaking' if leak['leaking'] else 'quiet'}, "
                     f"{leak['rate_per_hour']:,.0f}/h, confidence {leak['confidence']:.2f} ({leak['reason']})")
    return "\n".join(lines)


def _count(root: ET.Element) -> None:
    """tests/failures/errors/skipped on every suite, and their sums on ``<testsuites>``."""
    totals: Counter[str] = Counter()
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = {"tests": len(cases)} | {attribute: sum(case.find(tag) is not None for case in cases)
                                          for tag, attribute in _ATTRIBUTES.items()}
        for attribute, value in counts.items():
            suite.set(attribute, str(value))
        totals.update(counts)
    for attribute in ("tests", *_ATTRIBUTES.values()):
        root.set(attribute, str(totals[attribute]))
