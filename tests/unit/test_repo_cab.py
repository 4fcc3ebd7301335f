"""The pure-Python CAB reader and writer: round trips, checksums, refusals, and other tools' CABs."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winremedy.errors import RepoError
from winremedy.repo.cab import BLOCK_SIZE, Cabinet, Compression, checksum, locate, write_cab

names = st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=40)
COMPRESSIONS: list[Compression] = ["none", "mszip"]
members = st.lists(st.tuples(names, st.binary(max_size=3000)), max_size=8, unique_by=lambda m: m[0].lower())


def open_cab(data: bytes, label: str = "test.cab") -> Cabinet:
    return Cabinet(io.BytesIO(data), label)


def contents(cab: Cabinet) -> list[tuple[str, bytes]]:
    return [(m.name, cab.read(m)) for m in cab.members]


@settings(max_examples=150, deadline=None)
@given(members, st.sampled_from(COMPRESSIONS))
def test_round_trip_keeps_names_and_contents(files: list[tuple[str, bytes]], compression: Compression) -> None:
    assert contents(open_cab(write_cab(files, compression))) == files


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_member_spanning_several_blocks_reads_back(compression: Compression) -> None:
    big = bytes(range(256)) * (3 * BLOCK_SIZE // 256) + b"tail"
    cab = open_cab(write_cab([("small.txt", b"x" * 100), ("dir\\big.bin", big)], compression))
    member = cab.find("DIR/BIG.BIN")  # case-insensitive, either separator
    assert member is not None and member == cab.find("dir\\big.bin")
    assert cab.read(member) == big and cab.read(member, limit=10) == big[:10]


def test_checksum_of_leftover_bytes_takes_the_first_as_most_significant() -> None:
    assert checksum(b"\x01\x00\x00\x00\x02\x03") == 0x1 ^ 0x0203
    assert checksum(b"\x01\x02\x03") == 0x010203


def test_a_flipped_data_byte_fails_the_block_checksum() -> None:
    data = bytearray(write_cab([("a.txt", b"hello world")]))
    data[-3] ^= 0x01
    cab = open_cab(bytes(data), "flipped.cab")
    with pytest.raises(RepoError, match=r"^flipped.cab: corrupt: checksum mismatch in data block 0 of folder 0 \(reading a.txt\)"):
        cab.read(cab.members[0])


def test_not_a_cab_and_truncated_are_told_apart() -> None:
    with pytest.raises(RepoError, match=r"^x.cab: not a CAB \(no MSCF signature\)$"):
        open_cab(b"PK\x03\x04 a zip", "x.cab")
    data = write_cab([("a.txt", b"a" * 1000)])
    with pytest.raises(RepoError, match=rf"^x.cab: truncated: the CAB header says {len(data)} bytes, 500 are present$"):
        open_cab(data[:500], "x.cab")
    with pytest.raises(RepoError, match="truncated: 20 bytes, shorter than a CAB header"):
        open_cab(data[:20], "x.cab")


def test_lzx_folders_are_listed_but_not_read() -> None:
    data = bytearray(write_cab([("update.mum", b"<assembly/>")]))
    data[42:44] = (3).to_bytes(2, "little")  # CFFOLDER.typeCompress = LZX
    cab = open_cab(bytes(data), "lzx.cab")
    assert [m.name for m in cab.members] == ["update.mum"]
    with pytest.raises(RepoError, match=r"^lzx.cab: compressed \(lzx\): cannot read update.mum$"):
        cab.read(cab.members[0])


def test_an_embedded_cab_is_found_after_a_stub_with_a_false_signature() -> None:
    cab = write_cab([("update/update.inf", b"[Version]\r\n")])
    stub = b"MZ" + b"\0" * 100 + b"MSCF but not a header" + b"\0" * 50
    stream = io.BytesIO(stub + cab + b"trailing overlay")
    origin = locate(stream, chunk=16)  # small chunks: the signature straddles reads
    assert origin == len(stub)
    assert contents(Cabinet(stream, "update.exe", origin)) == [("update/update.inf", b"[Version]\r\n")]
    assert locate(io.BytesIO(b"MZ" + b"\0" * 1000)) is None


@pytest.mark.skipif(shutil.which("cabextract") is None, reason="cabextract is not installed (interoperability check)")
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_cabextract_accepts_our_cabs(tmp_path: Path, compression: Compression) -> None:
    path = tmp_path / "ours.cab"
    path.write_bytes(write_cab([("a.txt", b"alpha"), ("d\\b.bin", bytes(range(256)) * 300)], compression))
    result = subprocess.run(["cabextract", "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "All done, no errors" in result.stdout


@pytest.mark.skipif(shutil.which("gcab") is None, reason="gcab is not installed (interoperability check)")
@pytest.mark.parametrize("compress", [[], ["-z"]])
def test_we_read_cabs_made_by_gcab(tmp_path: Path, compress: list[str]) -> None:
    (tmp_path / "one.txt").write_bytes(b"first\n" * 5000)
    (tmp_path / "two.bin").write_bytes(bytes(range(256)) * 200)
    subprocess.run(["gcab", "-c", "-n", *compress, "made.cab", "one.txt", "two.bin"], cwd=tmp_path, check=True)
    with open(tmp_path / "made.cab", "rb") as stream:
        cab = Cabinet(stream, "made.cab")
        assert contents(cab) == [("one.txt", b"first\n" * 5000), ("two.bin", bytes(range(256)) * 200)]
