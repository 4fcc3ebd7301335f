"""Text from hosts is hostile: scrub what no output format can carry, escape what HTML would run.

Host names, error messages and registry strings arrive from the fleet. Control
characters would drive a terminal (ANSI escapes), make an XML report invalid,
and lone surrogates (legal in JSON input) cannot be written as UTF-8 at all.
"""

from __future__ import annotations

import html
import re

# C0 controls except tab/newline/carriage return, DEL and C1 controls, surrogates, the two XML non-characters.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def scrub(text: object) -> str:
    """``str(text)`` with every character no report can safely carry replaced by U+FFFD."""
    return _UNSAFE.sub("\ufffd", str(text))


def h(text: object) -> str:
    """Scrubbed and HTML-escaped, quotes included: safe in element text and in attribute values."""
    return html.escape(scrub(text), quote=True)
