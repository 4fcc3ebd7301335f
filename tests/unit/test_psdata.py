"""ps_data: hostile values become inert PowerShell data; decode_frame: typed errors for bad frames.

Each ps_data expression is parsed with tree-sitter-powershell, checked to hold
only literal/hashtable/array nodes, and evaluated back by a small interpreter
of that subset, so the tests check both safety and exactness.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import tree_sitter_powershell
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Node, Parser

from winremedy.errors import ProtocolError
from winremedy.psdata import read_ps_data, FRAME_SENTINEL, decode_frame, ps_data

PARSER = Parser(Language(tree_sitter_powershell.language()))

HOSTILE = [
    "'", "''", "\u2018", "\u2019", "\u201a", "\u201b", "\u2018\u2019'", '"', "`", "`'", "$(calc)", "$x",
    "${env:PATH}", "@(", "; Remove-Item C:\\ -Recurse", "a\nb", "a\r\nb", "\x00", "a\x00b", "'@", '"@',
    "@'\nx\n'@", "#>", "<#", "# comment", "\u0085", "\u2028", "\ud800", "\U0001f600", "caf\u00e9",
    "\u200b", "\x1b[31m", "| Out-Host", "&", "-join", "\t", " ", "",
]  # fmt: skip

SAFE_TYPES = {
    "program", "statement_list", "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression",
    "comparison_expression", "additive_expression", "multiplicative_expression", "format_expression",
    "range_expression", "array_literal_expression", "unary_expression", "expression_with_unary_operator",
    "cast_expression", "type_literal", "type_spec", "type_name", "type_identifier", "parenthesized_expression",
    "string_literal", "verbatim_string_characters", "integer_literal", "decimal_integer_literal", "real_literal",
    "variable", "array_expression", "hash_literal_expression", "hash_literal_body", "hash_entry", "key_expression",
    "[", "]", "(", ")", "@(", "@{", "}", "=", ";", ",", "+", "-",
}  # fmt: skip


class _Array(list[Any]):
    """An array built by the comma operator (as opposed to one value inside @())."""


def _evaluate(node: Node) -> Any:
    """Evaluate the literal subset ps_data emits, as PowerShell would."""
    kind, named = node.type, node.named_children
    if node.child_count == 1 and named and kind not in {"string_literal", "integer_literal", "variable"}:
        return _evaluate(named[0])  # precedence wrappers
    if kind == "string_literal":
        (chars,) = named
        text = chars.text.decode("ascii")
        assert text[0] == text[-1] == "'"
        return text[1:-1].replace("''", "'")
    if kind == "integer_literal":
        return int(node.text)
    if kind == "real_literal":
        return float(node.text)
    if kind == "variable":
        return {"$true": True, "$false": False, "$null": None}[node.text.decode()]
    if kind == "cast_expression":
        type_literal, operand = named
        caster = {"[char]": lambda v: chr(int(v)), "[decimal]": int}[type_literal.text.decode()]
        return caster(_evaluate(operand))
    if kind == "additive_expression":
        left, operator, right = node.children
        assert operator.type == "+"
        joined = _evaluate(left) + _evaluate(right)
        return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")  # .NET: UTF-16 units
    if kind == "expression_with_unary_operator" and node.child_count == 2:
        operator, operand = node.children
        value = _evaluate(operand)
        return _Array([value]) if operator.type == "," else -value
    if kind == "array_literal_expression" and len(named) > 1:
        return _Array(_evaluate(child) for child in named)
    if kind == "array_expression":
        if not named:
            return []
        value = _evaluate(named[0])
        return list(value) if isinstance(value, _Array) else [value]
    if kind == "hash_literal_expression":
        return {_evaluate(entry.named_children[0]): _evaluate(entry.named_children[1]) for entry in named[0].named_children} if named else {}
    assert len(named) == 1, f"unexpected {kind}: {node.text!r}"
    return _evaluate(named[0])


def _check_inert(expression: str) -> Any:
    """Assert the expression is one statement of data nodes only, and return its value."""
    assert expression.isascii() and "\n" not in expression and "\r" not in expression
    root = PARSER.parse(expression.encode("ascii")).root_node
    assert not root.has_error, expression
    (statements,) = root.named_children
    assert len(statements.named_children) == 1, expression
    stack = [root]
    while stack:
        node = stack.pop()
        assert node.type in SAFE_TYPES, f"{node.type} in {expression}"
        if node.type == "variable":
            assert node.text.decode() in {"$true", "$false", "$null"}
        if node.type == "type_literal":
            assert node.text.decode() in {"[char]", "[decimal]"}
        stack.extend(node.children)
    return _evaluate(statements.named_children[0])


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_string_is_one_inert_literal(text: str) -> None:
    assert _check_inert(ps_data(text)) == text


def test_printable_ascii_stays_a_plain_literal() -> None:
    assert ps_data("it's") == "'it''s'"
    assert ps_data("") == "''"


def test_non_ascii_starts_with_a_string_so_plus_concatenates() -> None:
    assert ps_data("\u00e9") == "('' + [char]233)"
    assert ps_data("\U0001f600") == "('' + [char]55357 + [char]56832)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "$null"),
        (True, "$true"),
        (False, "$false"),
        (-7, "-7"),
        (2**63 - 1, "9223372036854775807"),
        (-(2**63), "[decimal]'-9223372036854775808'"),
        (10**20, "[decimal]'100000000000000000000'"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        ([], "@()"),
        ([[1, 2]], "@(,@(1, 2))"),
        ({"a": [1]}, "@{'a' = @(,1)}"),
        ({}, "@{}"),
    ],
)
def test_scalar_and_container_forms(value: Any, expected: str) -> None:
    assert ps_data(value) == expected
    assert _check_inert(expected) == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (10**29, ValueError),
        (b"bytes", TypeError),
        ({1: "x"}, TypeError),
        ({"Key": 1, "kEY": 2}, ValueError),
        (object(), TypeError),
    ],
)
def test_values_powershell_cannot_hold_exactly_are_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        ps_data(value)


_TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=()), max_size=30))
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**28), max_value=10**28),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(_TEXT, inner), max_size=4, unique_by=lambda kv: kv[0].casefold()).map(dict),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_any_json_like_value_round_trips_as_inert_data(value: Any) -> None:
    assert _check_inert(ps_data(value)) == value


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_read_ps_data_is_the_exact_inverse(value: Any) -> None:
    """The lab reads script parameters with read_ps_data: whatever ps_data writes comes back unchanged."""
    back = read_ps_data(ps_data(value))
    assert back == value
    assert json.dumps(back, sort_keys=True) == json.dumps(value, sort_keys=True)  # also True/1, 1.0/1 stay apart


def test_int_subclasses_are_written_at_once() -> None:
    """Ansible 2.19 hands templated ints over as int subclasses; a range() membership test would scan for them."""

    class TaggedInt(int):
        pass

    assert ps_data({"samples": TaggedInt(2**62)}) == f"@{{'samples' = {2**62}}}"


@pytest.mark.parametrize(
    "text",
    ["$(Remove-Item C:)", "@{'a' = 1; b = 2}", "'unterminated", "@(1, 2", "1; Stop-Computer", "$env:PATH",
     "@{'a' = 1}extra", "('a' + $x)", "[char]65 + 'b'"],
)
def test_read_ps_data_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        read_ps_data(text)


# ---- decode_frame -------------------------------------------------------------------------------


def _frame(value: Any) -> str:
    return FRAME_SENTINEL + json.dumps(value, ensure_ascii=True)


@settings(max_examples=200, deadline=None)
@given(_VALUES)
def test_frame_round_trips_amid_other_output(value: Any) -> None:
    text = "WARNING: something\r\n" + _frame(value) + "\r\ntrailing noise\r\n"
    assert decode_frame(text, host="web01") == value
    assert decode_frame(text.encode("utf-8"), host="web01") == value


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("no frame here\n", "no @@WINREMEDY@@ result line"),
        (b"", "no @@WINREMEDY@@ result line"),
        (FRAME_SENTINEL + '{"a": [1, 2', "truncated or garbled"),
        (FRAME_SENTINEL + '{"a": 1} trailing', "truncated or garbled"),
        (FRAME_SENTINEL + '{"a": NaN}', "truncated or garbled"),
        (FRAME_SENTINEL + '{"a": 1, "a": 2}', "duplicate key"),
        (FRAME_SENTINEL + '{"a": "caf\u00e9"}', "non-ASCII"),
        (b"\xff\xfe" + FRAME_SENTINEL.encode() + b"{}", "not UTF-8"),
        (_frame(1) + "\n" + _frame(2), "2 @@WINREMEDY@@ result lines"),
        (" " + _frame(1), "no @@WINREMEDY@@ result line"),
    ],
)
def test_bad_frames_raise_protocol_error_naming_the_host(output: str | bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment) as caught:
        decode_frame(output, host="db02.example.org")
    assert str(caught.value).startswith("db02.example.org: ")
