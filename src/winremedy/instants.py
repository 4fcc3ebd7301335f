"""Instants as the project writes them: ISO 8601 in UTC with a ``Z``, the form HostFacts and the scripts use.

One pair of conversions for the engine and the lab, so a boot time or a
scheduled restart reads back as the same instant wherever it was written.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(t: float) -> str:
    """Seconds since the epoch (UTC) as ISO 8601 with a ``Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> float:
    """An ISO 8601 instant (``2024-03-01T01:30:00Z``; naive means UTC) as seconds since the epoch."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
