"""One host's audit result, and the directory of results a run leaves behind.

Each result is written as soon as it arrives (``DIR/hosts/<host>.json``,
atomically: a temporary file renamed into place), so an interrupted audit keeps
what it had, ``--resume`` skips the hosts already done, and runs split across
controllers or AWX job slices merge by copying their ``hosts/`` files together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .assess import Finding, Status
from ..atomic import write_text_atomic
from ..errors import WinRemedyError
from .facts import HostFacts
from ..filenames import host_file_stem

RESULT_VERSION = 1
READINESS_DIR = "probe"  # ``winremedy probe --out DIR`` saves DIR/probe/<host>.json beside DIR/hosts/<host>.json


@dataclass
class HostResult:
    """What an audit learned about one host, or why it could not."""

    host: str
    reachable: bool
    facts: HostFacts | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # one line naming the host and what went wrong
    error_code: str | None = None  # WinRemedyError.code: unreachable, auth, tls, wsman_fault, protocol, ...
    started_at: str | None = None  # ISO 8601, controller clock
    duration: float | None = None  # seconds
    readiness: dict[str, Any] | None = None  # the probe's verdict, joined from DIR/probe/ when one was saved there

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RESULT_VERSION, "host": self.host, "reachable": self.reachable,
            "facts": self.facts.to_dict() if self.facts else None,
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error, "error_code": self.error_code,
            "started_at": self.started_at, "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str) -> HostResult:
        if not isinstance(data, dict) or data.get("version") != RESULT_VERSION:
            raise WinRemedyError(f"{origin}: not a winremedy host result (version {RESULT_VERSION})")
        try:
            return cls(
                host=data["host"], reachable=bool(data["reachable"]),
                facts=HostFacts.from_dict(data["facts"], origin=origin) if data.get("facts") else None,
                findings=[_finding(f) for f in data.get("findings") or []],
                error=data.get("error"), error_code=data.get("error_code"),
                started_at=data.get("started_at"), duration=data.get("duration"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WinRemedyError(f"{origin}: malformed host result: {exc}") from None


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(**{**data, "status": Status(data["status"])})


def result_path(directory: Path, host: str) -> Path:
    """``DIR/hosts/<host>.json``, one file per host whatever its name (:func:`host_file_stem`)."""
    return directory / "hosts" / f"{host_file_stem(host)}.json"


def save_result(directory: Path, result: HostResult) -> Path:
    """Write atomically: a reader (or a crash) never sees half a file."""
    path = result_path(directory, result.host)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result.to_dict(), indent=1))
    return path


def load_results(directory: Path) -> list[HostResult]:
    """Every host result under ``DIR/hosts/``, sorted by host name; a broken file is an error naming it."""
    folder = directory / "hosts"
    if not folder.is_dir():
        raise WinRemedyError(f"{directory}: no audit results here (expected {folder}/<host>.json)")
    results = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WinRemedyError(f"{path}: unreadable host result: {exc}") from None
        result = HostResult.from_dict(data, origin=str(path))
        result.readiness = _readiness(directory / READINESS_DIR / path.name)
        results.append(result)
    return sorted(results, key=lambda r: r.host.lower())


def _readiness(path: Path) -> dict[str, Any] | None:
    """The probe's verdict saved for the same host, if any (the same safe file name as its result)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WinRemedyError(f"{path}: unreadable probe result: {exc}") from None
    if not isinstance(data, dict) or "verdict" not in data:
        raise WinRemedyError(f"{path}: not a winremedy probe result")
    return data


def done_results(directory: Path) -> list[HostResult]:
    """The results already saved and complete (for ``--resume``); failed hosts are retried."""
    if not (directory / "hosts").is_dir():
        return []
    return [r for r in load_results(directory) if r.ok]
