"""What both front doors (``winremedy remediate`` and the collection's kb_* plugins) do around each host's run.

Turning the user's options into :class:`Settings`, checking every package
before a host is touched, reading each host's own variables, starting each
host's run (:func:`host_runner`: the CLI's hosts and a play's batch in
kb_fleet_remediate alike), and saving a host's outcome where ``winremedy
report`` and kb_report find it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..catalog import Catalog
from ..errors import RepoError, WinRemedyError
from ..repo.manifest import Manifest
from ..audit.results import HostResult, result_path, save_result
from ..transport import Transport
from . import stage
from .journal import Journal
from .outcome import HostOutcome, HostStatus
from .runner import HostContext, HostRun, Note
from .settings import Settings
from .window import TIMEZONE_VARIABLE, WINDOW_VARIABLE, window_from_hostvars

ENVELOPE_VARIABLE = "winremedy_max_envelope_kb"
HOST_VARIABLES = (WINDOW_VARIABLE, TIMEZONE_VARIABLE, ENVELOPE_VARIABLE)  # what host_contexts reads of a host


def settings_for(options: Mapping[str, Any], catalog: Catalog, *, check: bool) -> Settings:
    """The run's settings from the options given (defaults for the rest), each KB in the catalog's spelling.

    Raises :class:`~winremedy.errors.WinRemedyError` for a KB the catalog does not know or a value out of range.
    """
    settings = Settings.from_options(options, check=check)
    return dataclasses.replace(settings, kbs=tuple(catalog.get(kb).kb for kb in settings.kbs))


def preflight(source: stage.Source, manifest: Manifest, kbs: tuple[str, ...]) -> dict[str, str]:
    """Every package that may be used, checked before any host is touched: file name -> why it is refused."""
    refused = {}
    for entry in manifest.entries:
        if kbs and entry.kb not in kbs:
            continue
        try:
            stage.preflight(source, entry)
        except RepoError as error:
            refused[entry.file] = error.reason
    return refused


def host_contexts(hostvars: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, HostContext], dict[str, str]]:
    """Each host's window and envelope size from its variables; hosts with a bad value, with the reason."""
    contexts, bad = {}, {}
    for name, variables in hostvars.items():
        try:
            envelope = int(variables.get(ENVELOPE_VARIABLE, HostContext.max_envelope_kb))
            contexts[name] = HostContext(window=window_from_hostvars(variables, name), max_envelope_kb=envelope)
        except (WinRemedyError, ValueError) as error:
            bad[name] = " ".join(str(error).split())
    return contexts, bad


def failed_outcome(host: str, message: str, code: str) -> HostOutcome:
    """A host whose run cannot start (its variables or its connection are wrong): failed, the reason saved as
    its audit result too, so the fleet report lists the host with it."""
    audit = HostResult(host=host, reachable=True, error=message, error_code=code)
    return HostOutcome(host, HostStatus.FAILED, message=message, error_code=code, audit=audit)


def host_runner(connect: Callable[[str], Transport], contexts: Mapping[str, HostContext], bad: Mapping[str, str], *,
                catalog: Catalog, source: stage.Source, manifest: Manifest, settings: Settings,
                refused: dict[str, str], journal_dir: Path | None, note: Note) -> Callable[[str], HostOutcome]:
    """The whole run of one host by name (for :func:`.rollout.roll_out`): a host in ``bad`` (its variables are
    wrong, see :func:`host_contexts`) or whose ``connect`` raises fails with the reason and is not contacted."""
    def run_host(name: str) -> HostOutcome:
        if name in bad:
            return failed_outcome(name, bad[name], "inventory")
        try:
            transport = connect(name)
        except WinRemedyError as error:
            return failed_outcome(name, " ".join(str(error).split()), error.code)
        journal = Journal(None if settings.check else journal_dir, name)  # check mode: nothing is written
        return HostRun(transport, catalog, source, manifest, settings, contexts[name], journal, refused=refused,
                       note=note).run()
    return run_host


def save_outcome(out: Path, outcome: HostOutcome) -> None:
    """The host's remediation record, and its last audit where ``winremedy report DIR`` finds it."""
    path = out / "remediation" / result_path(out, outcome.host).name  # the same safe file name as its result
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(outcome.to_dict(), indent=1))
    if outcome.audit is not None:
        save_result(out, outcome.audit)
