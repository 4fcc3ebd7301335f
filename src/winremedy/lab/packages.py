"""Lab packages: small files whose content carries their identity the way real ones do.

An .msu here is a real CAB holding the update's own CAB (a tiny one with an
``update.mum``), the pkgmgr unattend ``.xml`` and the ``-pkgProperties.txt``
(UTF-16LE with a BOM, the real keys). A Windows 2003 package is an ``MZ`` stub
followed by a CAB with ``update\\update.inf`` naming the KB, NT version, service
pack range and architecture. One file per package the catalog lists, so the
lab repository is read by the same code, and refused for the same reasons, as
a user's. :func:`package_bytes` with another ``arch`` makes a mislabelled file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..catalog import KbEntry, Package, load_catalog
from ..repo.cab import write_cab
from ..repo.identity import PRODUCT_NAMES
from ..repo.manifest import Manifest
from ..repo.repository import scan
from ..versions import WinVersion
from .errors import LabError

BUILD_DATE = "2013/06/01"
_CBS_ARCH = {"x86": "x86", "x64": "amd64", "ia64": "ia64"}
_STUB = b"MZ" + b"\0" * 58 + b"\x40\0\0\0" + b"This program cannot be run in DOS mode.\r\n$".ljust(0x1C0, b"\0")


def package_bytes(kb_entry: KbEntry, package: Package, arch: str | None = None) -> bytes:
    """The lab file for a catalog package; ``arch`` other than the package's makes content that contradicts its name."""
    content_arch = arch or package.arch
    if package.kind == "exe":
        return _STUB + write_cab([("update\\update.inf", _update_inf(kb_entry, package, content_arch)), ("update\\update.exe", _STUB)])
    return _msu(kb_entry, package, content_arch)


def lab_packages() -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) for every package of every catalog KB."""
    for kb_entry in load_catalog():
        for package in kb_entry.packages:
            yield package.file, package_bytes(kb_entry, package)


def write_repository(directory: Path) -> Manifest:
    """Write every lab package into ``directory`` and build its manifest with the repository's own scan."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in lab_packages():
        (directory / name).write_bytes(data)
    result = scan(directory)
    if result.refused:
        raise LabError(f"the lab's own packages were refused: {'; '.join(map(str, result.refused))}")
    return result.manifest


def corrupt(path: Path) -> None:
    """Flip the file's last byte (inside its last CAB data block), as a damaged download would be."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _msu(kb_entry: KbEntry, package: Package, arch: str) -> bytes:
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
            (f"{stem}.cab", write_cab([("update.mum", mum.encode())], "mszip")),
            (f"{stem}.xml", unattend.encode()),
            (f"{stem}-pkgProperties.txt", "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")),
        ]
    )


def _update_inf(kb_entry: KbEntry, package: Package, arch: str) -> bytes:
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
    return "\r\n".join(lines).encode("ascii") + b"\r\n"


def _file_version(kb_entry: KbEntry, package: Package) -> str:
    """The highest fixed-file version the catalog lists for this package, else the build's RTM number."""
    rows = [row for version in package.versions for row in kb_entry.fix_files(version, package.arch)]
    return max((row.version for row in rows if row.version), key=WinVersion.parse, default=f"{package.versions[0]}.16385")
