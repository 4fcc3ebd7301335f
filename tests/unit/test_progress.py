"""Progress on stderr: one redrawn bar on a terminal, one plain line per host in a log."""

import io

from winremedy.audit.assess import Finding, Status
from winremedy.audit.progress import FleetProgress
from winremedy.audit.results import HostResult

OK = HostResult("web01", True, findings=[Finding("KB2847346", Status.MISSING, "high", "files", "old", "install")])
BAD = HostResult("web02", False, error="web02: connection refused", error_code="unreachable")


def test_log_gets_one_line_per_host_and_a_summary():
    stream = io.StringIO()
    progress = FleetProgress(stream, interactive=False)
    progress.started(3, 1)
    progress.finished(OK)
    progress.finished(BAD)
    progress.done()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "audit: 1 of 3 hosts already done (resume)"
    assert lines[1] == "audit [2/3] web01: KB2847346 missing"
    assert lines[2] == "audit [3/3] web02: FAILED (unreachable): web02: connection refused"
    assert lines[3].startswith("audit: 3/3 hosts, 1 failed, ")
    assert "\r" not in stream.getvalue()


def test_terminal_gets_a_bar_and_failures_above_it():
    stream = io.StringIO()
    progress = FleetProgress(stream, interactive=True)
    progress.started(2, 0)
    progress.finished(BAD)
    progress.finished(OK)
    progress.done()
    text = stream.getvalue()
    assert "\r[##############..............] 1/2 hosts  1 failed" in text
    assert "\r[############################] 2/2 hosts  1 failed" in text
    assert "web02: web02: connection refused\n" in text
    assert text.rstrip().splitlines()[-1].startswith("audit: 2/2 hosts, 1 failed")
