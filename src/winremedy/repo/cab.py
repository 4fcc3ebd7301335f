"""Microsoft Cabinet (MS-CAB) files in pure Python: list, read and write.

A package's identity lives inside it: an .msu is a CAB, and a Windows 2003
update.exe carries one after its stub. No CAB tool exists on every operator's
machine (and expand.exe only on Windows), so the reader is here. It reads
folders stored uncompressed (NONE) or MSZIP (deflate per 32 KB block, history
carried across blocks); Quantum and LZX folders are listed but not read.
Data-block checksums are verified when present, so a flipped byte is caught.
Every failure is a :class:`RepoError` naming the cabinet (``label``) and why.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from ..errors import RepoError

SIGNATURE = b"MSCF"
BLOCK_SIZE = 32768  # uncompressed bytes per CFDATA block, and the MSZIP history window
_HEADER = struct.Struct("<4sIIIIIBBHHHHH")  # CFHEADER without its optional fields: 36 bytes
_RESERVE = struct.Struct("<HBB")  # cbCFHeader, cbCFFolder, cbCFData (when FLAG_RESERVE)
_FOLDER = struct.Struct("<IHH")  # coffCabStart, cCFData, typeCompress
_FILE = struct.Struct("<IIHHHH")  # cbFile, uoffFolderStart, iFolder, date, time, attribs
_DATA = struct.Struct("<IHH")  # csum, cbData, cbUncomp
_FLAG_PREV, _FLAG_NEXT, _FLAG_RESERVE = 0x1, 0x2, 0x4
_NAME_IS_UTF = 0x80
_ARCHIVE = 0x20
_CONTINUED = 0xFFFD  # iFolder values >= this continue a folder from/into another cabinet
_COMPRESSION = {0: "none", 1: "mszip", 2: "quantum", 3: "lzx"}
_MAX_NAME = 256
_DOS_STAMP = (2013, 6, 1, 0, 0, 0)

Compression = Literal["none", "mszip"]


@dataclass(frozen=True)
class Member:
    """One file in a cabinet; ``name`` as stored (Windows paths use ``\\``)."""

    name: str
    size: int
    folder: int
    offset: int  # in the folder's uncompressed stream


@dataclass(frozen=True)
class Header:
    """The fixed part of CFHEADER: enough to tell a CAB from noise and to know its size."""

    size: int
    files_offset: int
    folders: int
    files: int
    flags: int


@dataclass(frozen=True)
class _Folder:
    start: int  # offset of the first CFDATA, from the cabinet's start
    blocks: int
    compression: str


def parse_header(data: bytes, label: str) -> Header:
    """CFHEADER from the first bytes of a cabinet; refuses anything that is not a single, whole-set CAB."""
    if len(data) < 4 or data[:4] != SIGNATURE:
        raise RepoError(label, "not a CAB (no MSCF signature)")
    if len(data) < _HEADER.size:
        raise RepoError(label, f"truncated: {len(data)} bytes, shorter than a CAB header")
    _, reserved1, size, _, files_offset, _, minor, major, folders, files, flags, _, _ = _HEADER.unpack_from(data)
    if reserved1 != 0 or major != 1 or minor != 3:
        raise RepoError(label, f"not a CAB this reader knows (format version {major}.{minor})")
    if flags & (_FLAG_PREV | _FLAG_NEXT):
        raise RepoError(label, "a CAB spanning several cabinets (not supported)")
    if size < _HEADER.size or not _HEADER.size <= files_offset <= size:
        raise RepoError(label, f"corrupt CAB header (size {size}, file table at {files_offset})")
    return Header(size, files_offset, folders, files, flags)


class Cabinet:
    """A cabinet in ``stream`` starting at ``origin`` (non-zero when embedded in an .exe)."""

    def __init__(self, stream: BinaryIO, label: str, origin: int = 0) -> None:
        self._stream = stream
        self.label = label
        self._origin = origin
        available = stream.seek(0, io.SEEK_END) - origin
        self.header = parse_header(self._read_at(0, _HEADER.size + _RESERVE.size), label)
        if self.header.size > available:
            raise RepoError(label, f"truncated: the CAB header says {self.header.size} bytes, {available} are present")
        self._folder_reserve, self._data_reserve, folders_at = self._reserves()
        self._folders = [self._folder(folders_at + i * (_FOLDER.size + self._folder_reserve)) for i in range(self.header.folders)]
        self.members = list(self._members())

    def find(self, name: str) -> Member | None:
        """The member called ``name`` (case-insensitive, ``/`` or ``\\``), if any."""
        wanted = _norm(name)
        return next((m for m in self.members if _norm(m.name) == wanted), None)

    def read(self, member: Member, limit: int | None = None) -> bytes:
        """The member's bytes (only the first ``limit`` when given)."""
        folder = self._folders[member.folder]
        if folder.compression not in ("none", "mszip"):
            raise RepoError(self.label, f"compressed ({folder.compression}): cannot read {member.name}")
        end = member.offset + (member.size if limit is None else min(limit, member.size))
        out, blocks = bytearray(), self._blocks(member.folder, member.name)
        while len(out) < end:
            block = next(blocks, None)
            if block is None:
                raise RepoError(self.label, f"corrupt: {member.name} runs past the end of its folder")
            out += block
        return bytes(out[member.offset : end])

    def _read_at(self, offset: int, size: int) -> bytes:
        self._stream.seek(self._origin + offset)
        return self._stream.read(size)

    def _reserves(self) -> tuple[int, int, int]:
        """Per-folder and per-block reserve sizes, and where the CFFOLDER table starts."""
        if not self.header.flags & _FLAG_RESERVE:
            return 0, 0, _HEADER.size
        header_reserve, folder_reserve, data_reserve = _RESERVE.unpack(self._read_at(_HEADER.size, _RESERVE.size))
        return folder_reserve, data_reserve, _HEADER.size + _RESERVE.size + header_reserve

    def _folder(self, offset: int) -> _Folder:
        start, blocks, compression = _FOLDER.unpack(self._exact(offset, _FOLDER.size, "folder table"))
        if not _HEADER.size <= start <= self.header.size:
            raise RepoError(self.label, f"corrupt: a folder's data starts at {start}, outside the CAB")
        return _Folder(start, blocks, _COMPRESSION.get(compression & 0xF, f"type {compression & 0xF}"))

    def _members(self) -> Iterator[Member]:
        offset = self.header.files_offset
        for _ in range(self.header.files):
            size, folder_offset, folder, _, _, attributes = _FILE.unpack(self._exact(offset, _FILE.size, "file table"))
            raw = self._read_at(offset + _FILE.size, _MAX_NAME + 1).split(b"\0", 1)
            if len(raw) < 2:
                raise RepoError(self.label, "corrupt: a file name in the file table is not terminated")
            name = raw[0].decode("utf-8" if attributes & _NAME_IS_UTF else "latin-1", "replace")
            if folder >= _CONTINUED:
                raise RepoError(self.label, f"{name} continues into another cabinet (not supported)")
            if folder >= len(self._folders):
                raise RepoError(self.label, f"corrupt: {name} names folder {folder}, the CAB has {len(self._folders)}")
            yield Member(name, size, folder, folder_offset)
            offset += _FILE.size + len(raw[0]) + 1

    def _blocks(self, index: int, reading: str) -> Iterator[bytes]:
        """The folder's uncompressed blocks, checksums verified."""
        folder = self._folders[index]
        offset, history = folder.start, b""
        for number in range(folder.blocks):
            where = f"data block {number} of folder {index} (reading {reading})"
            checksum, stored, size = _DATA.unpack(self._exact(offset, _DATA.size, where))
            body = offset + _DATA.size + self._data_reserve
            data = self._exact(body, stored, where)
            if checksum and checksum != _block_checksum(data, stored, size):
                raise RepoError(self.label, f"corrupt: checksum mismatch in {where}")
            block = data if folder.compression == "none" else _inflate(data, history, self.label, where)
            if len(block) != size:
                raise RepoError(self.label, f"corrupt: {where} gives {len(block)} bytes, its header says {size}")
            history = (history + block)[-BLOCK_SIZE:]
            offset = body + stored
            yield block

    def _exact(self, offset: int, size: int, what: str) -> bytes:
        if offset + size > self.header.size:
            raise RepoError(self.label, f"corrupt: the {what} runs past the CAB's end")
        data = self._read_at(offset, size)
        if len(data) < size:
            raise RepoError(self.label, f"truncated in the {what}")
        return data


def locate(stream: BinaryIO, chunk: int = 1 << 20) -> int | None:
    """Offset of the first valid CAB header in ``stream`` (an update.exe's payload), or ``None``."""
    position, tail = 0, b""
    while True:
        stream.seek(position)
        data = stream.read(chunk)
        if not data:
            return None
        window, base = tail + data, position - len(tail)
        found = window.find(SIGNATURE)
        while found >= 0:
            stream.seek(base + found)
            try:
                parse_header(stream.read(_HEADER.size), "embedded CAB")
                return base + found
            except RepoError:
                found = window.find(SIGNATURE, found + 1)
        position += len(data)
        tail = window[-(len(SIGNATURE) - 1) :]


def write_cab(files: Sequence[tuple[str, bytes]], compression: Compression = "none") -> bytes:
    """A single-folder cabinet holding ``files`` (name, bytes), blocks checksummed; names must be unique."""
    names = [_encode_name(name) for name, _ in files]
    if len({name.lower() for name, _ in files}) < len(files):
        raise ValueError("CAB member names must be unique (case-insensitive)")
    stream = b"".join(content for _, content in files)
    blocks = list(_deflate_blocks(stream) if compression == "mszip" else _chunks(stream))
    files_offset = _HEADER.size + _FOLDER.size
    data_offset = files_offset + sum(_FILE.size + len(raw) + 1 for raw, _ in names)
    date, time = _dos_stamp()
    table, position = bytearray(), 0
    for (raw, utf), (_, content) in zip(names, files, strict=True):
        table += _FILE.pack(len(content), position, 0, date, time, _ARCHIVE | (_NAME_IS_UTF if utf else 0)) + raw + b"\0"
        position += len(content)
    data = b"".join(_DATA.pack(_block_checksum(c, len(c), size), len(c), size) + c for c, size in blocks)
    total = data_offset + len(data)
    header = _HEADER.pack(SIGNATURE, 0, total, 0, files_offset, 0, 3, 1, 1, len(files), 0, 0, 0)
    folder = _FOLDER.pack(data_offset, len(blocks), 1 if compression == "mszip" else 0)
    return header + folder + bytes(table) + data


def checksum(data: bytes, seed: int = 0) -> int:
    """The CAB checksum: XOR of little-endian 32-bit words, the 1-3 leftover bytes taken big-end first."""
    words = len(data) // 4
    value = seed
    for (word,) in struct.iter_unpack("<I", data[: words * 4]):
        value ^= word
    rest = 0
    for byte in data[words * 4 :]:
        rest = (rest << 8) | byte
    return value ^ rest


def _block_checksum(data: bytes, stored: int, size: int) -> int:
    """The CFDATA checksum covers the block's bytes, then its cbData and cbUncomp fields."""
    return checksum(struct.pack("<HH", stored, size), checksum(data))


def _inflate(data: bytes, history: bytes, label: str, where: str) -> bytes:
    if data[:2] != b"CK":
        raise RepoError(label, f"corrupt: {where} lacks the MSZIP 'CK' signature")
    try:
        inflater = zlib.decompressobj(-15, zdict=history) if history else zlib.decompressobj(-15)
        return inflater.decompress(data[2:]) + inflater.flush()
    except zlib.error as error:
        raise RepoError(label, f"corrupt: {where} does not inflate ({error})") from None


def _chunks(stream: bytes) -> Iterator[tuple[bytes, int]]:
    for start in range(0, len(stream), BLOCK_SIZE):
        chunk = stream[start : start + BLOCK_SIZE]
        yield chunk, len(chunk)


def _deflate_blocks(stream: bytes) -> Iterator[tuple[bytes, int]]:
    history = b""
    for chunk, size in _chunks(stream):
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=history) if history else zlib.compressobj(9, zlib.DEFLATED, -15)
        yield b"CK" + deflater.compress(chunk) + deflater.flush(), size
        history = chunk


def _encode_name(name: str) -> tuple[bytes, bool]:
    utf = not name.isascii()
    raw = name.encode("utf-8")
    if not raw or b"\0" in raw or len(raw) >= _MAX_NAME:
        raise ValueError(f"CAB member names are 1-255 bytes without NUL: {name!r}")
    return raw, utf


def _dos_stamp() -> tuple[int, int]:
    year, month, day, hour, minute, second = _DOS_STAMP
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


def _norm(name: str) -> str:
    return name.replace("\\", "/").lower()
