"""Record every exchange with a host, so a real host's answers become a lab host (fleet key ``replay``).

:class:`RecordingTransport` wraps any :class:`~winremedy.transport.base.Transport`: each script
(by its identity line) or command, its stdin, stdout, stderr, exit code and timing go into
``DIR/<host>.json`` when the transport closes. Every configured secret (the host's password,
anything given with ``--redact``) is replaced by ``********`` before anything is written, and
credentials never enter an exchange in the first place: they travel in HTTP headers, not here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..errors import WinRemedyError
from ..filenames import host_file_stem
from ..scripts import identify
from .base import Result, Transport

RECORDING_VERSION = 1
REDACTED = "********"


@dataclass(frozen=True)
class Exchange:
    """One command and its answer, as text (project scripts print ASCII; anything else is decoded leniently)."""

    kind: str  # "script" (run_ps) or "command" (run_cmd)
    script: str | None  # the project script's identity, e.g. "probe 1"; None for other text
    command: str  # the command line, or the script text
    stdin: str
    stdout: str
    stderr: str
    rc: int
    started: str  # ISO 8601, controller clock
    seconds: float


@dataclass(frozen=True)
class Recording:
    host: str
    exchanges: tuple[Exchange, ...]

    def answers(self, script: str) -> list[Exchange]:
        """Every recorded run of project script ``script`` (its name), in order."""
        return [e for e in self.exchanges if e.script and e.script.split()[0] == script]


class RecordingTransport:
    """A Transport that remembers each exchange and writes them, redacted, to ``directory`` on close."""

    def __init__(self, inner: Transport, directory: Path, secrets: Sequence[str] = ()) -> None:
        self.inner = inner
        self.host = inner.host
        self.directory = directory
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)  # longest first: no partial leaks
        self.exchanges: list[Exchange] = []
        self._saved = False

    @property
    def delivery(self) -> Any:
        return getattr(self.inner, "delivery", None)

    def run_ps(self, script: str, *, timeout: float | None = None, check: bool = False,
               idempotent: bool = True) -> Result:
        identity = identify(script)
        return self._recorded("script", f"{identity.name} {identity.version}" if identity else None, script, b"",
                              lambda: self.inner.run_ps(script, timeout=timeout, check=False, idempotent=idempotent),
                              check)

    def run_cmd(self, command: str, arguments: Sequence[str] = (), *, stdin: bytes = b"",
                timeout: float | None = None, check: bool = False, idempotent: bool = True) -> Result:
        line = " ".join([command, *arguments])
        return self._recorded("command", None, line, stdin,
                              lambda: self.inner.run_cmd(command, arguments, stdin=stdin, timeout=timeout,
                                                         idempotent=idempotent), check)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if not self._saved:
                self._saved = True
                self.save()

    def save(self) -> Path:
        """Write ``DIR/<host>.json``, after the exchanges an earlier command recorded there (probe, then audit)."""
        path = self.directory / f"{host_file_stem(self.host)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        earlier = load_recording(path).exchanges if path.exists() else ()
        exchanges = [*earlier, *self.exchanges]
        data = {"version": RECORDING_VERSION, "host": self.host, "exchanges": [asdict(e) for e in exchanges]}
        write_text_atomic(path, json.dumps(data, indent=1) + "\n")
        return path

    def _recorded(self, kind: str, script: str | None, command: str, stdin: bytes, run: Any, check: bool) -> Result:
        started, clock = datetime.now(UTC).isoformat(timespec="milliseconds"), time.monotonic()
        result: Result = run()
        self.exchanges.append(Exchange(
            kind, script, self._redact(command), self._redact(stdin.decode("utf-8", "replace")),
            self._redact(result.stdout_text), self._redact(result.stderr_text), result.rc, started,
            round(time.monotonic() - clock, 3)))
        return result.check() if check else result

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def load_recording(path: Path) -> Recording:
    """A recording file, strictly checked; any problem is one error naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WinRemedyError(f"{path}: unreadable recording: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != RECORDING_VERSION or not isinstance(data.get("host"), str):
        raise WinRemedyError(f"{path}: not a winremedy recording (version {RECORDING_VERSION})")
    try:
        exchanges = tuple(Exchange(**e) for e in data.get("exchanges") or [])
    except TypeError as exc:
        raise WinRemedyError(f"{path}: malformed exchange: {exc}") from None
    return Recording(data["host"], exchanges)


def add_record_options(parser: Any) -> None:
    """``--record DIR`` and ``--redact TEXT``, the same on every command that talks to hosts."""
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="save every exchange with each host as DIR/<host>.json (a lab host can replay it)")
    parser.add_argument("--redact", action="append", default=[], metavar="TEXT",
                        help="with --record: also replace TEXT wherever it appears (the password always is)")


def recorded(transport: Transport, directory: Path | None, secrets: Sequence[str | None]) -> Transport:
    """``transport`` itself, or wrapped so its exchanges are saved under ``directory`` with ``secrets`` redacted."""
    if directory is None:
        return transport
    return RecordingTransport(transport, directory, [s for s in secrets if s])
