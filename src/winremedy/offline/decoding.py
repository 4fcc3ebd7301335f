"""Turn the bytes of a saved ``systeminfo`` / ``wmic qfe`` / JSON file into text.

Files arrive however the operator saved them: ``wmic`` writes UTF-16LE with a
BOM, PowerShell redirection writes UTF-16 (sometimes without BOM), ``cmd``
redirection writes the console's OEM code page (cp437 in the US, cp850 in
Western Europe), and copies made on Linux are UTF-8. Only the labels decide how
a file is read, and they are ASCII in English output, so a wrong guess between
single-byte code pages can only blur a value, never change what is parsed.
"""

from __future__ import annotations

import codecs
import unicodedata

from ..errors import FactsError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Single-byte guesses, best first; each decodes any byte, so the text decides.
_SINGLE_BYTE = ("cp437", "cp850", "latin-1")
_ALLOWED_CONTROLS = frozenset("\t\n\r\x0c\x1a")  # \x1a: the DOS end-of-file mark
_MAX_CONTROL_RATIO = 0.01
_MAX_PREAMBLE = 256
EXPECTED_FORMATS = "expected host facts JSON, systeminfo output or wmic qfe output"


def decode_text(data: bytes, name: str) -> str:
    """Decode ``data`` (the content of file ``name``) or raise :class:`FactsError` saying why not."""
    text = _decode(data, name)
    if _looks_binary(text):
        raise FactsError(f"{name}: not a text file (control characters or binary data); {EXPECTED_FORMATS}")
    return text


def _decode(data: bytes, name: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom):], encoding, name)
    for bom, encoding in _BOMS:
        preamble = _console_preamble(data, bom)
        if preamble:
            return preamble + _strict(data[len(preamble) + len(bom):], encoding, name)
    if b"\x00" in data:
        return _strict(data, _bomless_utf16(data, name), name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _best_single_byte(data)


def _console_preamble(data: bytes, bom: bytes) -> str:
    """ASCII lines a console printed before a redirected Unicode stream (wmic's first-run banner), or ''."""
    position = data.find(bom, 0, _MAX_PREAMBLE)
    head = data[:position]
    if position <= 0 or not head.endswith(b"\n") or not head.isascii() or b"\x00" in head:
        return ""
    return head.decode("ascii")


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FactsError(f"{name}: unreadable {encoding.upper()} text at byte {exc.start} "
                         f"({exc.reason}); the file may be cut short or corrupted") from None


def _bomless_utf16(data: bytes, name: str) -> str:
    """UTF-16 without a BOM shows as NUL high bytes: odd positions for LE, even ones for BE.

    Text in a Latin script has a NUL high byte in nearly every character; a
    binary file has NULs scattered on both sides.
    """
    pairs = max(len(data) // 2, 1)
    even_nuls = data[0::2].count(0) / pairs
    odd_nuls = data[1::2].count(0) / pairs
    if odd_nuls >= 0.5 and even_nuls <= 0.05:
        return "utf-16-le"
    if even_nuls >= 0.5 and odd_nuls <= 0.05:
        return "utf-16-be"
    raise FactsError(f"{name}: contains NUL bytes but is not UTF-16 text (binary data?); {EXPECTED_FORMATS}")


def _best_single_byte(data: bytes) -> str:
    """The single-byte code page under which the non-ASCII bytes read as the most letters."""
    candidates = [data.decode(encoding) for encoding in _SINGLE_BYTE]
    return max(candidates, key=lambda text: sum(1 for ch in text if ord(ch) > 127 and ch.isalpha()))


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    return "\x00" in text or controls > _MAX_CONTROL_RATIO * max(len(text), 1)
