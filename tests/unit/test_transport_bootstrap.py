"""The run_ps bootstrap: short, PowerShell 2.0-clean, and lossless for any script."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winremedy.transport.bootstrap import (
    BOOTSTRAP,
    COMMAND_LINE_LIMIT,
    POWERSHELL,
    POWERSHELL_ARGUMENTS,
    clean_stderr,
    command_line,
    decode_script,
    encode_script,
)


def test_bootstrap_command_line_is_far_below_the_cmd_exe_limit() -> None:
    line = command_line(POWERSHELL, POWERSHELL_ARGUMENTS)
    assert len(line) < 1000 < COMMAND_LINE_LIMIT
    assert base64.b64decode(POWERSHELL_ARGUMENTS[-1]).decode("utf-16-le") == BOOTSTRAP


def test_bootstrap_reads_stdin_through_input_only() -> None:
    # PowerShell 2.0's console host reads stdin itself to feed $input: a second reader gets nothing
    assert "$input" in BOOTSTRAP and "[Console]::In" not in BOOTSTRAP and "[scriptblock]::Create(" in BOOTSTRAP
    assert "-Command" not in POWERSHELL_ARGUMENTS  # '-Command -' would run stdin line by line


@given(st.text(st.characters(exclude_categories=("Cs",))))
def test_any_script_survives_encoding(script: str) -> None:
    stdin = encode_script(script)
    assert stdin.isascii()
    assert decode_script(POWERSHELL, POWERSHELL_ARGUMENTS, stdin) == script
    assert decode_script("PowerShell.exe", [" ".join(POWERSHELL_ARGUMENTS)], stdin) == script  # as pywinrm sends it


@pytest.mark.parametrize(
    ("command", "arguments"),
    [("cmd.exe", ["/c", "dir"]), (POWERSHELL, ["-Command", "-"]), ("powershell", list(POWERSHELL_ARGUMENTS))],
)
def test_other_command_lines_are_not_taken_for_the_bootstrap(command: str, arguments: list[str]) -> None:
    assert decode_script(command, arguments, b"") is None


def test_clixml_progress_is_dropped_and_errors_kept() -> None:
    stderr = (
        b"#< CLIXML\r\n"
        b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<Obj S="progress" RefId="0"><MS><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>'
        b"</Objs>"
        b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<S S="Error">Cannot find path &apos;C:\\x&apos;_x000D__x000A_</S><S S="Warning">careful_x000A_</S>'
        b"</Objs>"
    )
    assert clean_stderr(stderr, "cp437") == b"Cannot find path 'C:\\x'\r\ncareful\n"


@pytest.mark.parametrize("stderr", [b"plain error text\r\n", b"#< CLIXML\r\n<Objs><S S='Error'>unclosed</Objs>", b""])
def test_anything_else_is_left_alone(stderr: bytes) -> None:
    assert clean_stderr(stderr, "cp437") == stderr
