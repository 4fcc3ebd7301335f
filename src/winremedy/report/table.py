"""Plain-text tables for the terminal: fixed columns, long cells cut with an ellipsis."""

from __future__ import annotations

from collections.abc import Sequence

from .escape import scrub


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, max_width: int = 90) -> str:
    """Left-aligned columns separated by two spaces; a cell wider than ``max_width`` is shortened.

    Control characters in cells (host names, errors: hostile text) are replaced, never sent to the terminal.
    """
    cells = [[_cut(str(v), max_width) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    text = " ".join(scrub(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
