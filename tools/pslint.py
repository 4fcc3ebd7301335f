"""PowerShell 2.0 checks for every script the project sends to a host.

The hosts run PowerShell 2.0 on CLR 2.0; a PowerShell 3+ construct fails
there only at run time, on a customer's server. These checks read the syntax
tree (tree-sitter-powershell), so a forbidden word inside a string or a
comment is not a finding and ``-in`` is one only as an operator.
Sources of the rules: Microsoft's PowerShell documentation (the ConvertTo-Json help: introduced in
Windows PowerShell 3.0; about_PSCustomObject; about_Classes, PowerShell 5.0), the PSScriptAnalyzer rule
UseCompatibleSyntax, and the .NET Framework 4 API reference for the members CLR 2.0 lacks (PowerShell 2.0
runs on CLR 2.0).

Known gap of the grammar (tree-sitter-powershell 0.26): a chained method call
as a bare command argument (``f $a.B().C(1, 2)``) is reported as a syntax
error although PowerShell accepts it; wrap the argument in parentheses.

Not part of the installed package: the test suite imports it (``pythonpath`` in pyproject.toml).
Usage: ``python tools/pslint.py FILE...`` (exit 1 on findings).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser


@dataclass(frozen=True, order=True)
class Finding:
    """A PowerShell 3+ construct at ``path:line`` and what to write instead."""

    path: str
    line: int
    construct: str
    alternative: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.construct} is not PowerShell 2.0; use {self.alternative}"


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_powershell.language()))


def _tree(text: str) -> Node:
    return _parser().parse(text.encode("utf-8")).root_node


def _source(node: Node) -> str:
    """A node's source text (tree-sitter types it as optional bytes)."""
    return (node.text or b"").decode("utf-8", "replace")


def parse_errors(text: str) -> list[str]:
    """Syntax errors as ``line N: ...`` (tree-sitter ERROR and MISSING nodes, outermost only)."""
    errors = []
    for node in _walk(_tree(text), into_errors=False):
        line = node.start_point.row + 1
        if node.is_error:
            errors.append(f"line {line}: syntax error at {_source(node)[:40]!r}")
        elif node.is_missing:
            errors.append(f"line {line}: missing {node.type!r}")
    return errors


def _walk(node: Node, *, into_errors: bool = True) -> Iterator[Node]:
    yield node
    if node.is_error and not into_errors:
        return
    for child in node.children:
        yield from _walk(child, into_errors=into_errors)


# ---- rules ----------------------------------------------------------------------------------

_JSON = "a hand-rolled JSON emitter (JavaScriptSerializer needs .NET 3.5)"
_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"convert(to|from)-json"), _JSON),
    (re.compile(r"[a-z]+-cim[a-z]*"), "Get-WmiObject / Invoke-WmiMethod"),
    (re.compile(r"invoke-(webrequest|restmethod)|iwr|irm"), "System.Net.WebClient"),
    (re.compile(r"[a-z]+-scheduled(task|job)[a-z]*"), "schtasks.exe or the Schedule.Service COM object"),
    (re.compile(r"[a-z]+-windows(package|optionalfeature|image|capability|driver)"), "dism.exe / pkgmgr.exe"),
    (re.compile(r"[a-z]+-net(adapter|ipaddress|ipconfiguration|route|tcpconnection|firewall)[a-z]*"), "Get-WmiObject Win32_NetworkAdapterConfiguration or netsh"),
    (re.compile(r"using"), "full type names ('using' is PowerShell 5)"),
]  # fmt: skip
_GET_CONTENT = {"get-content", "gc", "cat", "type"}
_GET_CHILD_ITEM = {"get-childitem", "gci", "ls", "dir"}
_WHERE = {"where-object", "where", "?"}
_FOREACH = {"foreach-object", "foreach", "%"}
_STATIC_MEMBERS = {
    ("string", "isnullorwhitespace"): "[string]::IsNullOrEmpty($s) -or $s.Trim() -eq ''",
    ("environment", "is64bitoperatingsystem"): "[IntPtr]::Size -eq 8 or $env:PROCESSOR_ARCHITEW6432",
    ("environment", "is64bitprocess"): "[IntPtr]::Size -eq 8",
    ("intptr", "add"): "New-Object IntPtr ($p.ToInt64() + $offset)",
    ("version", "parse"): '[version]"1.2.3.4"',
    ("version", "tryparse"): '[version]"1.2.3.4" inside try/catch',
    ("guid", "tryparse"): "[guid]$s inside try/catch",
}
_INSTANCE_MEMBERS = {
    "hasflag": "($value -band $flag) -eq $flag",
    "fileversionraw": "FileMajorPart/FileMinorPart/FileBuildPart/FilePrivatePart",
    "productversionraw": "ProductMajorPart/ProductMinorPart/ProductBuildPart/ProductPrivatePart",
}
_TYPES = {
    "ordered": "New-Object System.Collections.Specialized.OrderedDictionary",
    "pscustomobject": "New-Object PSObject -Property @{...}",
    "tuple": "a hashtable or New-Object PSObject",
}
_VARIABLES = {
    "psitem": "$_",
    "psscriptroot": "Split-Path -Parent $MyInvocation.MyCommand.Path",
    "pscommandpath": "$MyInvocation.MyCommand.Path",
}
_REQUIRES = re.compile(r"#requires\b.*-version\s+(\d+)", re.IGNORECASE)


def lint_ps2(text: str, path: str = "<script>") -> list[Finding]:
    """Every PowerShell 3+ (or .NET 4) construct in ``text``, sorted by line."""
    findings = set()
    for node in _walk(_tree(text)):
        for construct, alternative in _check(node):
            findings.add(Finding(path, node.start_point.row + 1, construct, alternative))
    return sorted(findings)


def _check(node: Node) -> Iterator[tuple[str, str]]:
    kind = node.type
    if kind == "command":
        yield from _check_command(node)
    elif kind == "comparison_operator" and _text(node) in {"-in", "-notin", "-iin", "-inotin", "-cin", "-cnotin"}:
        yield f"the {_text(node)} operator", "-contains / -notcontains with the operands swapped"
    elif kind == "pipeline_chain_tail":
        yield f"the {_text(node)} operator", "if ($?) { ... } (PowerShell 7 pipeline chains)"
    elif kind == "ERROR" and _text(node).startswith("?"):
        yield "a ?: ?? ?. operator", "if/else (PowerShell 7 ternary and null operators)"
    elif kind in {"class_statement", "enum_statement"}:
        yield f"the {kind.split('_')[0]} keyword", "New-Object PSObject, Add-Type, or constants (PowerShell 5)"
    elif kind == "type_name" and node.parent is not None and node.parent.type in {"type_spec", "generic_type_name"}:
        name = re.sub(r"^system\.(management\.automation\.)?", "", _text(node))
        if re.sub(r"`\d+$", "", name) in _TYPES:
            yield f"[{_source(node)}]", _TYPES[re.sub(r"`\d+$", "", name)]
    elif kind in {"invokation_expression", "member_access"}:
        yield from _check_member(node)
    elif kind == "variable":
        name = re.sub(r"^\$\{?|\}$", "", _text(node)).split(":")[-1]
        if name in _VARIABLES:
            yield f"${name}", _VARIABLES[name]
    elif kind == "comment":
        match = _REQUIRES.match(_source(node))
        if match and int(match.group(1)) >= 3:
            yield f"#requires -Version {match.group(1)}", "#requires -Version 2.0"


def _text(node: Node) -> str:
    return _source(node).strip().lower()


def _check_command(node: Node) -> Iterator[tuple[str, str]]:
    name_node = node.child_by_field_name("command_name") or next((c for c in node.children if c.type == "command_name"), None)
    if name_node is None:
        return
    name = _text(name_node)
    display = _source(name_node)
    for pattern, alternative in _COMMANDS:
        if pattern.fullmatch(name):
            yield display, alternative
    elements = next((c.named_children for c in node.children if c.type == "command_elements"), [])
    elements = [e for e in elements if e.type != "command_argument_sep"]
    parameters = [_text(e).rstrip(":") for e in elements if e.type == "command_parameter"]
    has_block = any(_is_script_block(e) for e in elements)
    if name in _GET_CONTENT and "-raw" in parameters:
        yield f"{display} -Raw", "[IO.File]::ReadAllText($path)"
    if name in _GET_CHILD_ITEM:
        for parameter in {"-file", "-af"} & set(parameters):
            yield f"{display} {parameter}", "Where-Object { -not $_.PSIsContainer }"
        for parameter in {"-directory", "-ad"} & set(parameters):
            yield f"{display} {parameter}", "Where-Object { $_.PSIsContainer }"
    if name in _WHERE and not has_block and "-filterscript" not in parameters:
        yield f"{display} without a script block", "Where-Object { $_.Name -eq 'x' }"
    if name in _FOREACH and not has_block and not {"-process", "-begin", "-end"} & set(parameters):
        yield f"{display} without a script block", "ForEach-Object { $_.Name }"
    if name == "set-strictmode":
        version = _strict_mode_version(elements)
        if version is not None:
            yield f"Set-StrictMode -Version {version}", "Set-StrictMode -Version 2.0"


def _is_script_block(node: Node) -> bool:
    """Whether an argument is a literal { ... } (under the grammar's single-child precedence wrappers)."""
    while node.type != "script_block_expression":
        if node.named_child_count != 1:
            return False
        node = node.named_children[0]
    return True


def _strict_mode_version(elements: Sequence[Node]) -> str | None:
    """The -Version argument of Set-StrictMode when it is 3 or above, or Latest (whose meaning varies by host)."""
    for index, element in enumerate(elements[:-1]):
        if element.type == "command_parameter" and "-version".startswith(_text(element).rstrip(":")):
            value = _text(elements[index + 1])
            if value == "latest" or re.fullmatch(r"\d+(\.\d+)?", value) and float(value) >= 3:
                return _source(elements[index + 1])
    return None


def _check_member(node: Node) -> Iterator[tuple[str, str]]:
    children = node.children
    operator = next((c for c in children if c.type in {"::", "."}), None)
    member = next((c for c in children if c.type == "member_name"), None)
    if operator is None or member is None:
        return
    name = _text(member)
    if operator.type == "::" and children[0].type == "type_literal":
        type_name = re.sub(r"^\[(system\.)?|\]$", "", _text(children[0]))
        if name == "new":
            yield f"{_source(children[0])}::new()", "New-Object TypeName -ArgumentList ..."
        if (type_name, name) in _STATIC_MEMBERS:
            yield f"{_source(children[0])}::{_source(member)} (.NET 4)", _STATIC_MEMBERS[type_name, name]
    elif operator.type == "." and name in _INSTANCE_MEMBERS:
        yield f".{_source(member)}", _INSTANCE_MEMBERS[name]


# ---- command line ---------------------------------------------------------------------------


def check(text: str, path: str) -> list[str]:
    """Syntax errors and PowerShell 2.0 findings for one script, as printable lines."""
    return [f"{path}: {error}" for error in parse_errors(text)] + [str(finding) for finding in lint_ps2(text, path)]


def read_script(path: Path) -> str:
    """A .ps1 file as text: UTF-8 (with or without BOM) or UTF-16 with BOM, as PowerShell reads them."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python tools/pslint.py FILE...", file=sys.stderr)
        return 2
    problems = []
    for name in paths:
        try:
            problems.extend(check(read_script(Path(name)), name))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{name}: cannot read: {exc}", file=sys.stderr)
            return 2
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
