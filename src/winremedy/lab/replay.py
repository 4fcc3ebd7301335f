"""A lab host that answers the project's scripts as a recorded real host did (fleet key ``replay``).

The recording (:mod:`winremedy.transport.recording`, written by ``--record DIR``) holds each
script the controller ran and what the host printed. Replayed, the n-th run of a script gets the
n-th recorded answer, and the last one again after that; a script never recorded fails as an
unknown script would, so a test shows exactly what the recording lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..transport.recording import Recording
from .api import CommandResult
from .host import HostModel

Handler = Callable[[HostModel, dict[str, Any]], CommandResult]


def stand_ins(recording: Recording) -> dict[str, Handler]:
    """One stand-in per script name the recording holds."""
    names = {e.script.split()[0] for e in recording.exchanges if e.script}
    return {name: _replayer(recording, name) for name in sorted(names)}


def _replayer(recording: Recording, name: str) -> Handler:
    answers = recording.answers(name)
    runs = [0]

    def answer(host: HostModel, query: dict[str, Any]) -> CommandResult:
        exchange = answers[min(runs[0], len(answers) - 1)]
        runs[0] += 1
        return CommandResult(exchange.stdout.encode("utf-8"), exchange.stderr.encode("utf-8"), exchange.rc)

    return answer
