"""Small HTML builders shared by the page and the per-host sections: every cell is escaped unless marked."""

from __future__ import annotations

from collections.abc import Sequence

from .escape import h


class Markup(str):
    """HTML this module built itself (already escaped); every other string is escaped on output."""


def cell(value: object) -> str:
    return value if isinstance(value, Markup) else h("" if value is None else value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Markup:
    head = "".join(f"<th>{h(name)}</th>" for name in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def badge(status: str) -> Markup:
    """A status word coloured by its CSS class (``s-missing``, ``s-error``, ...)."""
    return Markup(f'<span class="badge s-{h(status)}">{h(status)}</span>')


def definitions(items: Sequence[tuple[str, object]]) -> Markup:
    """A ``<dl>`` of label/value pairs, skipping values that are ``None``."""
    body = "".join(f"<dt>{h(k)}</dt><dd>{cell(v)}</dd>" for k, v in items if v is not None)
    return Markup(f"<dl>{body}</dl>")
