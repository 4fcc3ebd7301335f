"""Values in and out of PowerShell as data, never as code.

Outbound, :func:`ps_data` turns a JSON-like Python value into a PowerShell 2.0
*expression* (hashtable, array, literals). It needs no parser on the host,
which a base64-JSON design would (PS 2.0 has no ConvertFrom-Json, and a
hand-written reader is more PowerShell to get right). The expression is pure
ASCII and one line: every character outside printable ASCII is written as
``[char]N`` and concatenated, so no code page, line ending or NUL handling on
the way can change it, and PowerShell's extra quote characters
(U+2018..U+201B) never appear inside a literal. Inside the single-quoted
literals only ``'`` is special, and it is doubled.

Inbound, :func:`decode_frame` reads the one result line a project script
prints: ``@@WINREMEDY@@`` followed by ASCII-only JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from winremedy.errors import ProtocolError

FRAME_SENTINEL = "@@WINREMEDY@@"

_INT64_MIN, _INT64_MAX = -(2**63) + 1, 2**63 - 1  # -2**63 itself does not parse (unary minus on an overflow)
_DECIMAL_MAX = 79228162514264337593543950335  # System.Decimal.MaxValue


def ps_data(value: Any) -> str:
    """A PowerShell 2.0 expression that evaluates to ``value``.

    dict -> hashtable (string keys only; keys equal ignoring case are refused,
    since PowerShell hashtables are case-insensitive), list/tuple -> array,
    str -> string, bool, None, int, finite float.
    """
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return _ps_int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no JSON form and is not sent to PowerShell")
        return repr(value)  # shortest round-trip form, '.' and 'e' in every locale
    if isinstance(value, str):
        return _ps_string(value)
    if isinstance(value, Mapping):
        return _ps_hashtable(value)
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return _ps_array(value)
    raise TypeError(f"ps_data cannot send a {type(value).__name__} to PowerShell")


def _ps_int(value: int) -> str:
    if _INT64_MIN <= value <= _INT64_MAX:  # not `in range(...)`: that scans for int subclasses (Ansible's tagged ints)
        return str(value)
    if abs(value) <= _DECIMAL_MAX:
        return f"[decimal]'{value}'"  # PowerShell casts parse with the invariant culture
    raise ValueError(f"integer {value} is beyond System.Decimal, the widest exact type of PowerShell 2.0")


def _ps_string(value: str) -> str:
    """Single-quoted runs of printable ASCII joined with ``[char]N`` for everything else."""
    parts: list[str] = []
    run: list[str] = []
    for char in value:
        if " " <= char <= "~":
            run.append("''" if char == "'" else char)
            continue
        if run:
            parts.append("'" + "".join(run) + "'")
            run = []
        parts.extend(f"[char]{unit}" for unit in _utf16_units(char))
    if run or not parts:
        parts.append("'" + "".join(run) + "'")
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    if parts[0].startswith("[char]"):
        parts.insert(0, "''")  # a string on the left makes '+' concatenate, not add char codes
    return "(" + " + ".join(parts) + ")"


def _utf16_units(char: str) -> tuple[int, ...]:
    """The UTF-16 code units .NET strings hold (a surrogate pair beyond the BMP; lone surrogates kept)."""
    code = ord(char)
    if code <= 0xFFFF:
        return (code,)
    code -= 0x10000
    return (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def _ps_hashtable(value: Mapping[Any, Any]) -> str:
    seen: dict[str, str] = {}
    entries = []
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"hashtable keys must be strings, not {type(key).__name__} ({key!r})")
        folded = key.casefold()
        if folded in seen:
            raise ValueError(f"keys {seen[folded]!r} and {key!r} collide in a case-insensitive PowerShell hashtable")
        seen[folded] = key
        entries.append(f"{_ps_string(key)} = {ps_data(item)}")
    return "@{" + "; ".join(entries) + "}"


def _ps_array(value: Sequence[Any]) -> str:
    items = [ps_data(item) for item in value]
    if len(items) == 1:
        return f"@(,{items[0]})"  # unary comma: @(@(1, 2)) would flatten to @(1, 2)
    return "@(" + ", ".join(items) + ")"


def decode_frame(output: str | bytes, *, host: str) -> Any:
    """The JSON value on the single ``@@WINREMEDY@@`` line of a script's output.

    Other lines (stray output, warnings) are ignored. Raises
    :class:`ProtocolError` naming ``host`` when the output is not UTF-8, when
    there is no frame or more than one, or when the frame is not complete,
    ASCII-only, strict JSON.
    """
    if isinstance(output, bytes):
        try:
            output = output.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{host}: output is not UTF-8 (byte {exc.start})") from None
    frames = [line[len(FRAME_SENTINEL) :].rstrip("\r") for line in output.split("\n") if line.startswith(FRAME_SENTINEL)]
    if not frames:
        raise ProtocolError(f"{host}: no {FRAME_SENTINEL} result line in the output ({len(output)} characters)")
    if len(frames) > 1:
        raise ProtocolError(f"{host}: {len(frames)} {FRAME_SENTINEL} result lines in the output, expected one")
    payload = frames[0]
    if not payload.isascii():
        raise ProtocolError(f"{host}: result line has non-ASCII characters (the collector escapes them as \\uXXXX)")
    try:
        return json.loads(payload, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ProtocolError(f"{host}: result line is truncated or garbled JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


class _LiteralReader:
    """Reads back exactly the subset of PowerShell that :func:`ps_data` writes, nothing more."""

    _NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", re.IGNORECASE)
    _CHAR = re.compile(r"\[char\](\d+)")
    _DECIMAL = re.compile(r"\[decimal\]'(-?\d+)'")

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def value(self) -> Any:
        for word, result in (("$null", None), ("$true", True), ("$false", False)):
            if self._take(word):
                return result
        if self._take("@{"):
            return self._hashtable()
        if self._take("@("):
            return self._array()
        if self.text.startswith(("'", "(", "[char]"), self.pos):
            return self._string()
        if match := self._DECIMAL.match(self.text, self.pos):
            self.pos = match.end()
            return int(match.group(1))
        if match := self._NUMBER.match(self.text, self.pos):
            self.pos = match.end()
            number = match.group(0)
            return int(number) if number.lstrip("-").isdigit() else float(number)
        raise self._error("a value")

    def _hashtable(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while not self._take("}"):
            if result and not self._take("; "):
                raise self._error("'; ' or '}'")
            key = self._string()
            if not self._take(" = "):
                raise self._error("' = '")
            result[key] = self.value()
        return result

    def _array(self) -> list[Any]:
        if self._take(","):
            item = self.value()
            if not self._take(")"):
                raise self._error("')'")
            return [item]
        items: list[Any] = []
        while not self._take(")"):
            if items and not self._take(", "):
                raise self._error("', ' or ')'")
            items.append(self.value())
        return items

    def _string(self) -> str:
        if not self._take("("):
            return self._quoted() if self.text.startswith("'", self.pos) else self._char()
        units: list[str] = []
        while True:
            units.append(self._quoted() if self.text.startswith("'", self.pos) else self._char())
            if self._take(")"):
                return "".join(units).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
            if not self._take(" + "):
                raise self._error("' + ' or ')'")

    def _quoted(self) -> str:
        self._expect("'")
        out: list[str] = []
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                raise self._error("a closing quote")
            out.append(self.text[self.pos:end])
            self.pos = end + 1
            if not self._take("'"):
                return "'".join(out)

    def _char(self) -> str:
        match = self._CHAR.match(self.text, self.pos)
        if not match:
            raise self._error("[char]N")
        self.pos = match.end()
        return chr(int(match.group(1)))

    def _take(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _expect(self, token: str) -> None:
        if not self._take(token):
            raise self._error(repr(token))

    def _error(self, wanted: str) -> ValueError:
        return ValueError(f"expected {wanted} at offset {self.pos} of a data literal")


def read_ps_data(text: str) -> Any:
    """The value a :func:`ps_data` literal denotes (for the lab: parameters are read, never run).

    Raises ``ValueError`` for anything :func:`ps_data` would not have written.
    """
    reader = _LiteralReader(text.strip())
    value = reader.value()
    if reader.pos != len(reader.text):
        raise reader._error("the end of the literal")
    return value
