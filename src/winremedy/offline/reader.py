"""Read host facts from saved files, whatever their format, and join a host's systeminfo and qfe.

An operator hands over what they could collect: facts JSON from an earlier
audit, ``systeminfo`` output, ``wmic qfe`` output, in any order and encoding.
The format is told by content, not by file name, and a ``wmic qfe`` listing
is joined to the systeminfo of the same host so that one host stays one host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FactsError
from ..audit.facts import HostFacts
from .decoding import EXPECTED_FORMATS, decode_text
from .qfe import OS_UNKNOWN_NOTE, looks_like_qfe, parse_qfe
from .localized import parse_by_structure
from .systeminfo import has_english_labels, looks_like_systeminfo, parse_systeminfo


def read_facts_files(paths: list[Path]) -> list[HostFacts]:
    """HostFacts for every host in ``paths``, in file order; a qfe listing is merged into its host's systeminfo.

    Raises :class:`FactsError` naming the file for anything that cannot be read
    with confidence: never a partial or guessed reading.
    """
    named: list[tuple[str, HostFacts]] = []
    for path in paths:
        named.extend((str(path), facts) for facts in read_facts_file(path))
    return _merge_qfe(named)


def read_facts_file(path: Path) -> list[HostFacts]:
    """The hosts in one file (a JSON list or concatenated systeminfo outputs hold several)."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FactsError(f"{name}: cannot read the file ({exc.strerror or exc}); {EXPECTED_FORMATS}") from None
    return parse_facts_text(decode_text(data, name), name)


def parse_facts_text(text: str, name: str) -> list[HostFacts]:
    """Tell the format by content and parse it; ``name`` is used in error messages."""
    stripped = text.strip()
    if not stripped:
        raise FactsError(f"{name}: the file is empty; {EXPECTED_FORMATS}")
    if stripped[0] in "[{":
        return _parse_json(text, name)
    if looks_like_qfe(text):
        return parse_qfe(text, name)
    if looks_like_systeminfo(text):
        return parse_systeminfo(text, name) if has_english_labels(text) else parse_by_structure(text, name)
    raise FactsError(f"{name}: unknown format; {EXPECTED_FORMATS}")


def _parse_json(text: str, name: str) -> list[HostFacts]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactsError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, list):
        return [HostFacts.from_dict(data, origin=name)]
    if not data:
        raise FactsError(f"{name}: the JSON list holds no host facts")
    return [HostFacts.from_dict(item, origin=f"{name}[{index}]") for index, item in enumerate(data)]


def _merge_qfe(named: list[tuple[str, HostFacts]]) -> list[HostFacts]:
    """Fold each OS-less qfe host into the systeminfo facts of the same host (CSName == Host Name, any case).

    A qfe host with no systeminfo stays on its own (its note says the OS is
    unknown); several qfe listings of such a host become one.
    """
    targets = _systeminfo_hosts(named)
    merged: list[HostFacts] = []
    lone_qfe: dict[str, HostFacts] = {}
    for name, facts in named:
        key = facts.host.lower()
        if not _is_qfe_only(facts):
            merged.append(facts)
        elif key in targets:
            _add_hotfixes(targets[key], facts, name)
        elif key in lone_qfe:
            _add_hotfixes(lone_qfe[key], facts, name)
        else:
            lone_qfe[key] = facts
            merged.append(facts)
    return merged


def _systeminfo_hosts(named: list[tuple[str, HostFacts]]) -> dict[str, HostFacts]:
    """Host name (lower case) -> its systeminfo facts; two for one host make a qfe merge ambiguous."""
    hosts: dict[str, tuple[str, HostFacts]] = {}
    has_qfe = {facts.host.lower() for _, facts in named if _is_qfe_only(facts)}
    for name, facts in named:
        key = facts.host.lower()
        if facts.source != "systeminfo" or key not in has_qfe:
            continue
        if key in hosts:
            raise FactsError(f"{name}: host {facts.host!r} also has systeminfo in {hosts[key][0]}; give one "
                             "systeminfo per host so that its wmic qfe listing has one place to go")
        hosts[key] = (name, facts)
    return {key: facts for key, (_, facts) in hosts.items()}


def _is_qfe_only(facts: HostFacts) -> bool:
    return facts.source == "qfe" and facts.os is None


def _add_hotfixes(target: HostFacts, qfe: HostFacts, name: str) -> None:
    rows = qfe.hotfixes or []
    target.hotfixes = [*(target.hotfixes or []), *rows]
    target.hotfixes_incomplete = qfe.hotfixes_incomplete  # WMI lists every CBS update: the qfe list decides
    target.notes.append(f"{len(rows)} hotfixes added from the wmic qfe listing in {name}")
    target.notes.extend(note for note in qfe.notes if note != OS_UNKNOWN_NOTE and note not in target.notes)
