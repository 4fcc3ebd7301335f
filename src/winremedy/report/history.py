"""The leak history a report shows beside each host: read once from the store, then rendered like the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..catalog import Catalog
from ..history import DEFAULT_DAYS, HistoryStore, Point, history_path, open_history

FleetHistory = Mapping[str, Mapping[str, Sequence[Point]]]  # host -> indicator -> points, oldest first
_DAY = 86400.0


def report_charts(directory: Path, location: str | None, hosts: Iterable[str], catalog: Catalog,
                  days: float = DEFAULT_DAYS) -> dict[str, dict[str, list[Point]]] | None:
    """The history charted in the reports of ``directory``: from ``location``, else the directory's own
    ``history.sqlite`` if it has one; None without either."""
    if location is None and not history_path(directory).exists():
        return None
    store = open_history(location or directory, create=False)
    try:
        return read_history(store, hosts, catalog, days)
    finally:
        store.close()


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
