"""Lab packages: small files whose content carries their identity the way real ones do.

An .msu here is a real CAB holding the update's own CAB (a tiny one with an
``update.mum``), the pkgmgr unattend ``.xml`` and the ``-pkgProperties.txt``
(UTF-16LE with a BOM, the real keys). A Windows 2003 package is an ``MZ`` stub
followed by a CAB with ``update\\update.inf`` naming the KB, NT version, service
pack range and architecture (the stub a minimal, valid PE, so it can carry a
signature, with a version resource naming the KB and the package). A service
pack's standalone installer (``lab up --service-packs``) is the stub followed by
a CAB holding its update .cab, whose ``update.mum`` says
``releaseType="Service Pack"``. Every package is Authenticode signed by the lab's own CA
(:mod:`.signing`), which a lab repository trusts. One file per package the
catalog lists, so the lab repository is read by the same code, and refused for
the same reasons, as a user's. :func:`package_bytes` with another ``arch``
makes a mislabelled file, with ``altered`` one whose identity sources disagree.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

from ..catalog import KbEntry, Package, load_catalog
from ..catalog.service_packs import SERVICE_PACKS, ServicePack
from ..repo.cab import write_cab
from ..repo.identity import PRODUCT_NAMES
from ..repo.manifest import Manifest
from ..repo.repository import scan
from ..repo.signature import ROOTS
from ..versions import WinVersion
from .errors import LabError
from .signing import lab_signer

BUILD_DATE = "2013/06/01"
_CBS_ARCH = {"x86": "x86", "x64": "amd64", "ia64": "ia64"}
_FILE_ALIGNMENT = 0x200
_SECTION_ALIGNMENT = 0x1000
SFX_VERSION = "6.3.13.0"  # the lab's self-extractor version (update.exe's own, not the fix's)


def pe_stub(strings: Mapping[str, str] | None = None, version: str = SFX_VERSION) -> bytes:
    """The smallest valid PE32 image (one section holding ``ret``): what a signature tool accepts as an .exe; with
    ``strings``, a second section holds a version resource (VERSIONINFO) with them and the file ``version``.

    Layout per Microsoft's "PE Format" specification: DOS header with ``e_lfanew``, ``PE\\0\\0``, the COFF
    header (i386, one or two sections, 224-byte optional header), the PE32 optional header with 16 data
    directories (the third one: the resource table), the section headers, the sections.
    """
    resource = b"" if strings is None else _resource_section(_version_info(strings, version), 2 * _SECTION_ALIGNMENT)
    sections = 2 if resource else 1
    image_size = (sections + 1) * _SECTION_ALIGNMENT
    dos = bytearray(0x40)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, len(dos))
    coff = struct.pack("<HHIIIHH", 0x14C, sections, 0, 0, 0, 0xE0, 0x0102)
    directories = bytearray(16 * 8)
    if resource:
        struct.pack_into("<II", directories, 2 * 8, 2 * _SECTION_ALIGNMENT, len(resource))
    optional = struct.pack(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", 0x10B, 9, 0, _FILE_ALIGNMENT, len(resource), 0, 0x1000, 0x1000, 0x2000,
        0x400000, _SECTION_ALIGNMENT, _FILE_ALIGNMENT, 5, 2, 0, 0, 5, 2, 0, image_size, _FILE_ALIGNMENT, 0, 2, 0,
        0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
    ) + bytes(directories)
    headers = struct.pack("<8sIIIIIIHHI", b".text", 1, 0x1000, _FILE_ALIGNMENT, _FILE_ALIGNMENT, 0, 0, 0, 0, 0x60000020)
    raw = _aligned(resource)
    if resource:
        headers += struct.pack("<8sIIIIIIHHI", b".rsrc", len(resource), 2 * _SECTION_ALIGNMENT, len(raw),
                               2 * _FILE_ALIGNMENT, 0, 0, 0, 0, 0x40000040)
    return (bytes(dos) + b"PE\0\0" + coff + optional + headers).ljust(_FILE_ALIGNMENT, b"\0") + _aligned(b"\xc3") + raw


def sfx_strings(kb: str, title: str, file: str) -> dict[str, str]:
    """The version strings of a lab update.exe: its description names the KB, its original name the package."""
    return {"CompanyName": "Microsoft Corporation", "FileDescription": f"{title} ({kb})", "FileVersion": SFX_VERSION,
            "InternalName": "sfxcab", "OriginalFilename": file,
            "ProductName": "Microsoft(R) Windows(R) Operating System", "ProductVersion": SFX_VERSION}


def _version_info(strings: Mapping[str, str], version: str) -> bytes:
    """VS_VERSIONINFO: VS_FIXEDFILEINFO, then a StringFileInfo (US English, Unicode) and a VarFileInfo
    ("VS_VERSIONINFO structure", "VS_FIXEDFILEINFO structure", Microsoft Learn)."""
    parts = [int(part) for part in version.split(".")]
    fixed = struct.pack("<13I", 0xFEEF04BD, 0x00010000, parts[0] << 16 | parts[1], parts[2] << 16 | parts[3],
                        parts[0] << 16 | parts[1], parts[2] << 16 | parts[3], 0x3F, 0, 0x40004, 1, 0, 0, 0)
    table = [_block(key, (value + "\0").encode("utf-16-le"), 1, value_length=len(value) + 1)
             for key, value in strings.items()]
    string_info = _block("StringFileInfo", b"", 1, [_block("040904B0", b"", 1, table)])
    var_info = _block("VarFileInfo", b"", 1, [_block("Translation", struct.pack("<HH", 0x0409, 0x04B0), 0)])
    return _block("VS_VERSION_INFO", fixed, 0, [string_info, var_info])


def _block(key: str, value: bytes, kind: int, children: Sequence[bytes] = (), value_length: int | None = None) -> bytes:
    """One version-resource node: wLength, wValueLength, wType, szKey, padding, Value, padding, Children."""
    head = _pad(struct.pack("<HHH", 0, len(value) if value_length is None else value_length, kind)
                + (key + "\0").encode("utf-16-le"))
    body = head + _pad(value) + b"".join(_pad(child) for child in children)
    return struct.pack("<H", len(body)) + body[2:]


def _resource_section(data: bytes, rva: int) -> bytes:
    """A resource tree with one entry, type RT_VERSION (16), id 1, language 0x409, holding ``data``."""
    def directory(entry_id: int, target: int) -> bytes:
        return struct.pack("<IIHHHH", 0, 0, 0, 0, 0, 1) + struct.pack("<II", entry_id, target)
    tree = directory(16, 0x80000000 | 24) + directory(1, 0x80000000 | 48) + directory(0x409, 72)
    return tree + struct.pack("<IIII", rva + 88, len(data), 0, 0) + data


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _aligned(data: bytes) -> bytes:
    return data.ljust(-(-len(data) // _FILE_ALIGNMENT) * _FILE_ALIGNMENT, b"\0")


_STUB = pe_stub()


Altered = tuple[str, str, str]  # (identity source, text, replacement): one source edited, as a crafted package's


def package_bytes(
    kb_entry: KbEntry, package: Package, arch: str | None = None, *, signed: bool = True, padding: int = 0,
    altered: Altered | None = None,
) -> bytes:
    """The lab file for a catalog package, signed by the lab's CA unless ``signed`` is false; ``arch`` other
    than the package's makes content that contradicts its name; ``padding`` bytes of an extra member make
    a large one (several push chunks); ``altered`` (source, text, replacement) edits one identity source
    (``VERSIONINFO``, ``update.inf``, ``update.mum``, ``unattend.xml``), so it contradicts the others."""
    return _package_bytes(kb_entry.kb, package.file, arch or package.arch, signed, padding, altered)


@cache
def _package_bytes(kb: str, file: str, arch: str, signed: bool, padding: int, altered: Altered | None) -> bytes:
    kb_entry = load_catalog().get(kb)
    package = next(p for p in kb_entry.packages if p.file == file)
    extra = [("padding.bin", bytes(range(256)) * (padding // 256) + bytes(padding % 256))] if padding else []
    if package.kind == "exe":
        inf = _alter("update.inf", _update_inf(kb_entry, package, arch), altered).encode("ascii")
        members = [("update\\update.inf", inf), ("update\\update.exe", _STUB)]
        original = file.replace(f"-{package.arch}-", f"-{arch}-")
        strings = sfx_strings(kb, f"Hotfix for {PRODUCT_NAMES[package.os[0]]}", original)
        stub = pe_stub({key: _alter("VERSIONINFO", value, altered) for key, value in strings.items()})
        data = stub + write_cab(members + extra)
    else:
        data = _msu(kb_entry, package, arch, extra, altered)
    return lab_signer().sign(data, "." + package.kind) if signed else data


def _alter(source: str, text: str, altered: Altered | None) -> str:
    """``text`` of identity source ``source``, edited when ``altered`` names that source."""
    return text.replace(altered[1], altered[2]) if altered and altered[0] == source else text


def service_pack_bytes(pack: ServicePack, package: Package) -> bytes:
    """The lab file for a service pack's standalone installer (only its identity: the update .cab's update.mum),
    signed by the lab's CA."""
    mum = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0" '
        f'supportInformation="http://support.microsoft.com/?kbid={pack.kb[2:]}">\r\n'
        f'  <assemblyIdentity name="Package_for_{pack.kb}" version="{pack.version[:3]}.1.17514" language="neutral" '
        f'processorArchitecture="{_CBS_ARCH[package.arch]}" publicKeyToken="31bf3856ad364e35"/>\r\n'
        f'  <package identifier="{pack.kb}" releaseType="Service Pack" restart="required"/>\r\n</assembly>\r\n'
    )
    inner = write_cab([("update.mum", mum.encode()), ("update.ses", b"")], "mszip")
    title = f"{' and '.join(PRODUCT_NAMES[family] for family in package.os)} Service Pack {pack.sp}"
    stub = pe_stub(sfx_strings(pack.kb, title, package.file))
    members = [(package.file.replace(".exe", ".cab"), inner), ("spinstall.exe", _STUB)]
    return lab_signer().sign(stub + write_cab(members), ".exe")


def lab_packages(*, service_packs: bool = False) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) for every package of every catalog KB, and with ``service_packs`` of every service pack."""
    for kb_entry in load_catalog():
        for package in kb_entry.packages:
            yield package.file, package_bytes(kb_entry, package)
    for pack in SERVICE_PACKS.values() if service_packs else ():
        for package in pack.packages:
            yield package.file, service_pack_bytes(pack, package)


def write_repository(directory: Path, *, service_packs: bool = False) -> Manifest:
    """Write every lab package into ``directory`` and build its manifest with the repository's own scan."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(lab_signer().roots, directory / ROOTS)
    for name, data in lab_packages(service_packs=service_packs):
        (directory / name).write_bytes(data)
    result = scan(directory)
    if result.refused:
        raise LabError(f"the lab's own packages were refused: {'; '.join(map(str, result.refused))}")
    return result.manifest


def corrupt(path: Path) -> None:
    """Flip a byte in the middle of the file (inside the signed content), as a damaged download would."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _msu(
    kb_entry: KbEntry, package: Package, arch: str, extra: list[tuple[str, bytes]], altered: Altered | None
) -> bytes:
    nt = package.versions[0][:3]
    stem = f"Windows{nt}-{kb_entry.kb}-{arch}"
    number = kb_entry.kb[2:]
    identity = (
        f'<assemblyIdentity name="Package_for_{kb_entry.kb}" version="{nt}.1.0" language="neutral" '
        f'processorArchitecture="{_CBS_ARCH[arch]}" publicKeyToken="31bf3856ad364e35"/>'
    )
    mum = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0" description="Fix for {kb_entry.kb}" '
        f'supportInformation="http://support.microsoft.com/?kbid={number}">\r\n  {identity}\r\n'
        f'  <package identifier="{kb_entry.kb}" releaseType="Hotfix" restart="{kb_entry.restart}"/>\r\n</assembly>\r\n'
    )
    unattend = (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<unattend xmlns="urn:schemas-microsoft-com:unattend">\r\n'
        f'  <servicing><package action="install">{identity}<source location="%configsetroot%\\{stem}.CAB"/></package></servicing>\r\n'
        "</unattend>\r\n"
    )
    properties = {
        "Applies to": PRODUCT_NAMES[package.os[0]],
        "Build Date": BUILD_DATE,
        "Company": "Microsoft Corporation",
        "File Version": _file_version(kb_entry, package),
        "Installation Type": "FULL",
        "Installer Engine": "Component Based Servicing",
        "Installer Version": f"{package.versions[0]}.16385",
        "KB Article Number": number,
        "Language": "ALL",
        "Package Type": "Hotfix",
        "Package Version": f"{nt}.1.0",
        "Processor Architecture": _CBS_ARCH[arch],
        "Product Name": PRODUCT_NAMES[package.os[0]],
        "Support Link": f"http://support.microsoft.com/?kbid={number}",
    }
    text = "".join(f'{key}="{value}"\r\n' for key, value in properties.items())
    return write_cab(
        [
            (f"{stem}.cab", write_cab([("update.mum", _alter("update.mum", mum, altered).encode())], "mszip")),
            (f"{stem}.xml", _alter("unattend.xml", unattend, altered).encode()),
            (f"{stem}-pkgProperties.txt", "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")),
            *extra,
        ]
    )


def _update_inf(kb_entry: KbEntry, package: Package, arch: str) -> str:
    """update.inf of a 2003 hotfix: NT version, build and SP range to update, architecture, titles naming the KB."""
    major, minor, build = package.versions[0].split(".")
    sps = [rule.sp for rule in kb_entry.applies_to if rule.version == package.versions[0] and rule.verify != "service_pack"]
    lines = [
        "[Version]",
        'Signature="$Windows NT$"',
        "LanguageType=0",
        f"NtMajorVersionToUpdate={major}",
        f"NtMinorVersionToUpdate={minor}",
        f"NtBuildToUpdate={build}",
        f"MinNtServicePackVersion={min(sps) * 256}",
        f"MaxNtServicePackVersion={max(sps) * 256}",
        f"Architecture={arch}",
        "",
        "[Strings]",
        f'SP_SHORT_TITLE="{kb_entry.kb}"',
        f'SP_TITLE="Hotfix for {PRODUCT_NAMES[package.os[0]]} ({kb_entry.kb})"',
        f'UNINSTALL_DIR="$NtUninstall{kb_entry.kb}$"',
    ]
    return "\r\n".join(lines) + "\r\n"


def _file_version(kb_entry: KbEntry, package: Package) -> str:
    """The highest fixed-file version the catalog lists for this package, else the build's RTM number."""
    rows = [row for version in package.versions for row in kb_entry.fix_files(version, package.arch)]
    return max((row.version for row in rows if row.version), key=WinVersion.parse, default=f"{package.versions[0]}.16385")
