"""``winremedy history HOST`` and ``winremedy history prune``: what the history database holds, as it holds it."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from ..audit.facts import Sample
from ..audit.leaks import verdict
from ..catalog import load_catalog
from ..commandline import EXIT_OK, print_json
from ..errors import WinRemedyError
from ..instants import iso
from ..report.table import format_table
from . import DEFAULT_DAYS, LOCATIONS, Point, open_history
from .series import Piece, pieces

_DAY = 86400.0
_PRUNE = "prune"


def add_history_command(commands: Any) -> None:
    history = commands.add_parser(
        "history", help="leak history of a host across audits (or: history prune --keep-days N)",
        description="Show a host's indicator samples and KB statuses from the history database that audits "
                    "append to (DIR/history.sqlite under audit --out DIR, or the PostgreSQL database given to "
                    "audit --history), split where the host rebooted or a fix "
                    "went in, with the trend of each piece. 'winremedy history prune --keep-days N' forgets "
                    "older samples and compacts the database.",
    )
    history.add_argument("host", metavar="HOST", help=f"the host, or '{_PRUNE}'")
    history.add_argument("--db", required=True, metavar="PATH|URL", help=f"the history: {LOCATIONS}")
    history.add_argument("--indicator", metavar="ID", help="only this series (an indicator id, or pool:TAG)")
    history.add_argument("--days", type=float, default=DEFAULT_DAYS,
                         help=f"how far back from the host's newest sample (default {DEFAULT_DAYS:g})")
    history.add_argument("--keep-days", type=float, metavar="N", help=f"with '{_PRUNE}': days to keep")
    history.add_argument("--format", choices=("table", "json", "csv"), default="table")
    history.set_defaults(run=run_history)


def run_history(args: argparse.Namespace) -> int:
    store = open_history(args.db, create=False)
    try:
        if args.host == _PRUNE:
            if args.keep_days is None or args.keep_days < 0:
                raise WinRemedyError("history prune: give --keep-days N (N >= 0)")
            print(f"{store.location}: {store.prune(args.keep_days)} rows older than {args.keep_days:g} days deleted")
            return EXIT_OK
        newest = store.read(args.host, since=0.0, indicator=args.indicator)
        last = max((p.t for points in newest.values() for p in points), default=None)
        if last is None:
            raise WinRemedyError(f"history: {args.host}: no samples in {store.location}"
                                 + (f" for {args.indicator}" if args.indicator else ""))
        since = last - args.days * _DAY
        series = {key: [p for p in points if p.t >= since] for key, points in sorted(newest.items())}
        if args.indicator is None:
            series = {key: points for key, points in series.items() if key in _indicators()}
        statuses = store.statuses(args.host, since)
    finally:
        store.close()
    data = _as_data(args.host, series, statuses)
    if args.format == "json":
        print_json(data)
    elif args.format == "csv":
        _print_csv(data)
    else:
        _print_table(data)
    return EXIT_OK


def _indicators() -> dict[str, Any]:
    return {i.id: i for kb in load_catalog().kbs.values() for i in kb.indicators}


def _as_data(host: str, series: dict[str, list[Point]], statuses: list[Any]) -> dict[str, Any]:
    indicators = _indicators()
    out: dict[str, Any] = {"host": host, "series": {}, "statuses": [
        {"at": s.at, "time": iso(s.at), "kb": s.kb, "status": s.status} for s in statuses]}
    for key, points in series.items():
        out["series"][key] = [_piece_data(piece, indicators.get(key)) for piece in pieces(points)]
    return out


def _piece_data(piece: Piece, indicator: Any) -> dict[str, Any]:
    first, last = piece.points[0], piece.points[-1]
    span = (last.t - first.t) / 3600.0
    data: dict[str, Any] = {
        "boot": piece.boot, "fixed": piece.fixed, "samples": len(piece.points),
        "rate_per_hour": (last.value - first.value) / span if span > 0 else None,
        "points": [{"t": p.t, "time": iso(p.t), "value": p.value} for p in piece.points],
    }
    if indicator is not None:
        result = verdict(indicator, [Sample(p.t, p.value) for p in piece.points])
        data["leaking"], data["reason"] = result.leaking, result.reason
    return data


def _print_csv(data: dict[str, Any]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["host", "series", "piece", "boot", "fixed", "t", "time", "value"])
    for key, chunks in data["series"].items():
        for number, piece in enumerate(chunks, start=1):
            for point in piece["points"]:
                writer.writerow([data["host"], key, number, piece["boot"], int(piece["fixed"]), repr(point["t"]),
                                 point["time"], repr(point["value"])])


def _print_table(data: dict[str, Any]) -> None:
    rows, summary = [], []
    for key, chunks in data["series"].items():
        for number, piece in enumerate(chunks, start=1):
            rows += [(key, number, point["time"], _number(point["value"]), piece["boot"],
                      "yes" if piece["fixed"] else "no") for point in piece["points"]]
            rate = piece["rate_per_hour"]
            summary.append((key, number, piece["samples"], "n/a" if rate is None else f"{rate:+,.0f}",
                            piece.get("reason", "")))
    print(format_table(("series", "piece", "time", "value", "boot", "fixed"), rows))
    print()
    print(format_table(("series", "piece", "samples", "rate/h", "verdict"), summary, max_width=160))
    if data["statuses"]:
        print()
        print(format_table(("time", "KB", "status"), [(s["time"], s["kb"], s["status"]) for s in data["statuses"]]))


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
