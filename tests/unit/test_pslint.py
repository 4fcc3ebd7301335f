"""pslint: every PowerShell 3+ (and CLR 4) construct it knows is found, and only as code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pslint import Finding, check, lint_ps2, main, parse_errors, read_script

DATA = Path(__file__).resolve().parents[1] / "data" / "pslint"
BAD = sorted((DATA / "bad").glob("*.ps1"))


def _expected(path: Path) -> str:
    first = read_script(path).splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <construct>'"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("path", BAD, ids=[path.stem for path in BAD])
def test_each_forbidden_construct_is_found_on_its_line(path: Path) -> None:
    findings = lint_ps2(read_script(path), path.name)
    expected = _expected(path).lower()
    matching = [finding for finding in findings if expected in finding.construct.lower()]
    assert matching, f"{path.name}: no finding for {expected!r} in {findings}"
    assert all(finding.line >= 2 and finding.alternative for finding in matching)


def test_fixtures_cover_every_rule_family() -> None:
    assert len(BAD) >= 45


def test_legal_code_with_forbidden_words_in_strings_and_comments_is_clean() -> None:
    text = read_script(DATA / "clean.ps1")
    assert parse_errors(text) == []
    assert lint_ps2(text, "clean.ps1") == []


def test_finding_reads_as_one_line_with_the_alternative() -> None:
    (finding,) = lint_ps2("$a = 1\nif ($a -in @(1)) { }\n", "x.ps1")
    assert finding == Finding("x.ps1", 2, "the -in operator", "-contains / -notcontains with the operands swapped")
    assert str(finding) == "x.ps1:2: the -in operator is not PowerShell 2.0; use -contains / -notcontains with the operands swapped"


def test_parameters_named_like_operators_are_not_operators() -> None:
    assert lint_ps2("Get-ChildItem -Include *.dll -InputObject $x\nfunction f { param($In) }\nf -In 1\n") == []


def test_parse_errors_have_line_numbers() -> None:
    errors = parse_errors("$ok = 1\nif ($x {\n  'a'\n")
    assert errors and all(error.startswith("line ") for error in errors)
    assert any(error.startswith("line 2") for error in errors)
    assert parse_errors("Get-Date\n") == []


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "ok.ps1"
    clean.write_text("Get-Date\n", encoding="utf-8-sig")
    assert main([str(clean)]) == 0
    assert main([str(clean), str(DATA / "bad" / "in-operator.ps1")]) == 1
    assert "in-operator.ps1:2: the -in operator" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.ps1")]) == 2
    assert "missing.ps1: cannot read" in capsys.readouterr().err


def test_utf16_scripts_are_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.ps1"
    path.write_text("$x = [ordered]@{}\n", encoding="utf-16")
    assert [finding.construct for finding in lint_ps2(read_script(path))] == ["[ordered]"]


def test_check_combines_syntax_errors_and_findings() -> None:
    assert check("$b = $a ?? 1\n", "n.ps1") == [
        "n.ps1: line 1: syntax error at '$a ??'",
        "n.ps1:1: a ?: ?? ?. operator is not PowerShell 2.0; use if/else (PowerShell 7 ternary and null operators)",
    ]
