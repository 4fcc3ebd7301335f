"""The leak history a report shows beside each host: read once from the store, then rendered like the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..catalog import Catalog
from ..history import DEFAULT_DAYS, HistoryStore, Point

FleetHistory = Mapping[str, Mapping[str, Sequence[Point]]]  # host -> indicator -> points, oldest first
_DAY = 86400.0


def read_history(store: HistoryStore, hosts: Iterable[str], catalog: Catalog,
                 days: float = DEFAULT_DAYS) -> dict[str, dict[str, list[Point]]]:
    """Each host's catalog indicators over the ``days`` before its newest sample."""
    indicators = {i.id for kb in catalog for i in kb.indicators}
    fleet = {}
    for host in hosts:
        series = {key: points for key, points in store.read(host, since=0.0).items() if key in indicators}
        newest = max((p.t for points in series.values() for p in points), default=None)
        if newest is not None:
            fleet[host] = {key: [p for p in points if p.t >= newest - days * _DAY] for key, points in series.items()}
    return fleet
