"""Fleet reports from audit results: a terminal table, JSON, CSV, JUnit XML and a self-contained HTML page.

All formats are built from the same rows and the same summary
(:mod:`winremedy.report.summary`), and :func:`exit_code` gives the verdict a
scheduled job acts on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..catalog import Catalog, load_catalog
from ..errors import WinRemedyError
from ..audit.results import HostResult
from .csv_report import render_csv
from .history import FleetHistory
from .html import render_html
from .json_report import render_json
from .junit import render_junit
from .output import write_atomic
from .summary import EXIT_COMPLIANT, EXIT_FINDINGS, Summary, exit_code, summarize
from .terminal import render_table

FILE_NAMES = {"table": "report.txt", "json": "report.json", "csv": "report.csv", "junit": "report.xml",
              "html": "report.html"}
FORMATS = tuple(FILE_NAMES)

__all__ = ["EXIT_COMPLIANT", "EXIT_FINDINGS", "FILE_NAMES", "FORMATS", "exit_code", "render", "summarize",
           "write_reports"]


def render(results: list[HostResult], fmt: str, *, catalog: Catalog | None = None,
           generated_at: datetime | None = None, history: FleetHistory | None = None) -> str:
    """The report in one format; ``catalog`` (loaded if not given) names KBs and indicator units in HTML,
    ``history`` (HTML) charts each host's indicators across audits."""
    renderer = _renderer(fmt)
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    return renderer(results, summarize(results), when, catalog, history)


def write_reports(results: list[HostResult], directory: Path, formats: list[str], *,
                  catalog: Catalog | None = None, generated_at: datetime | None = None,
                  history: FleetHistory | None = None) -> list[Path]:
    """Write ``report.json``, ``report.csv``, ``report.xml``, ``report.html`` (as asked) atomically into ``directory``.

    Every format is rendered before the first file is written, so a bad format name leaves no report behind,
    and all files carry the same ``generated_at``.
    """
    when = generated_at or datetime.now(UTC)
    texts = {fmt: render(results, fmt, catalog=catalog, generated_at=when, history=history)
             for fmt in dict.fromkeys(formats)}
    paths = []
    for fmt, text in texts.items():
        paths.append(directory / FILE_NAMES[fmt])
        write_atomic(paths[-1], text)
    return paths


_Renderer = Callable[[list[HostResult], Summary, str, Catalog | None, FleetHistory | None], str]
_RENDERERS: dict[str, _Renderer] = {
    "table": lambda results, summary, when, catalog, history: render_table(results, summary),
    "json": lambda results, summary, when, catalog, history: render_json(results, summary, when),
    "csv": lambda results, summary, when, catalog, history: render_csv(results),
    "junit": lambda results, summary, when, catalog, history: render_junit(results, when),
    "html": lambda results, summary, when, catalog, history: render_html(results, summary, when,
                                                                        catalog or load_catalog(), history),
}


def _renderer(fmt: str) -> _Renderer:
    if fmt not in _RENDERERS:
        raise WinRemedyError(f"unknown report format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    return _RENDERERS[fmt]
