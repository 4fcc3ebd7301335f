"""What a package says it is, read from its content: KB, architecture, Windows version, target SPs.

File names lie (renamed downloads, hotfix-request zips, copy mistakes), so the
repository trusts only what is inside: an .msu's properties text (the line
``KB Article Number="2847346"`` and its neighbours), or the ``update/update.inf``
(or another .inf/.txt) in the CAB that a Windows 2003 update.exe carries. Every
other identity source inside must agree with it, or the package is refused: an
.msu's ``update.mum`` (the CBS package manifest in its update CAB: package
identifier, processor architecture and NT version) and its unattend ``.xml`` (the
package wusa hands to CBS, and the update CAB it installs from); an update.inf's
short title, title and uninstall folder (each names the KB); an update.exe's own
version resource (:mod:`.peinfo`: the KB it names, the architecture of its original
file name). The catalog then decides whether that KB, OS and architecture is one of
its packages (:mod:`.verify`). A service pack's standalone installer is an
.exe whose embedded CAB holds its update .cab (windows6.1-KB976932-X64.exe holds
windows6.1-KB976932-X64.cab); that CAB's ``update.mum`` is its identity, with
``releaseType="Service Pack"`` [INF: the layout is seen in public slipstream
scripts, not documented by Microsoft].
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import RepoError
from ..audit.facts import normalize_kb
from .cab import Cabinet, Member, locate, parse_header
from .peinfo import VersionResource, read_version_resource

Kind = Literal["msu", "exe"]

# Each catalog OS family's product name as "Applies to" / "Product Name" / SP_TITLE write it, and NT version.
PRODUCT_NAMES = {
    "win2008r2": "Windows Server 2008 R2",
    "win7": "Windows 7",
    "win2008": "Windows Server 2008",
    "vista": "Windows Vista",
    "win2003": "Windows Server 2003",
}
NT_VERSIONS = {"win2008r2": "6.1", "win7": "6.1", "win2008": "6.0", "vista": "6.0", "win2003": "5.2"}
ARCHITECTURES = {"x86": "x86", "amd64": "x64", "x64": "x64", "ia64": "ia64"}
_KB_ANYWHERE = re.compile(r"KB(\d{6,7})(?![0-9])", re.IGNORECASE)
NAMED_ARCH = re.compile(r"(?<![a-z0-9])(x86|x64|amd64|ia64)(?![a-z0-9])", re.IGNORECASE)  # in a file name
_NESTED_CAB_LIMIT = 64 << 20  # bytes of a service pack's inner update .cab read to find its update.mum
_SP_UNIT = 256  # update.inf encodes service pack n as n * 256
_PROPERTIES_SIZE_LIMIT = 1 << 20


@dataclass(frozen=True)
class Identity:
    """A package's identity as its content states it; ``source`` is the member it was read from.

    ``sps`` is the range of service packs the content itself targets (update.inf), ``None`` when
    the content does not say (an .msu leaves that to CBS applicability).
    """

    kind: Kind
    kb: str
    arch: str
    nt_version: str  # "6.1" from an .msu; "5.2.3790" when an update.inf names the build
    families: tuple[str, ...]
    sps: tuple[int, int] | None
    source: str
    fields: dict[str, str]
    service_pack: bool = False  # a service pack's standalone installer (its update.mum says releaseType "Service Pack")


@dataclass(frozen=True)
class MumIdentity:
    """What a CBS package manifest (``update.mum``) says: KB, architecture, NT version, release type."""

    kb: str
    arch: str
    nt_version: str  # "6.1"
    release_type: str  # "Hotfix", "Service Pack", ...


def read_identity(path: Path) -> Identity:
    """The identity of the package at ``path``; a :class:`RepoError` naming the file says why not."""
    label = str(path)
    try:
        with open(path, "rb") as stream:
            magic = stream.read(4)
            if magic[:2] == b"MZ":
                identity = _exe_identity(stream, label)
                _check_version_resource(identity, read_version_resource(path, label), label)
                return identity
            return _msu_identity(Cabinet(stream, label), label)
    except OSError as error:
        raise RepoError(label, f"cannot read: {error.strerror or error}") from None


def parse_keyed_text(data: bytes) -> dict[str, str]:
    """``Key="Value"`` lines (an .msu properties text, an .inf) -> {lowercased key: value}; the first wins.

    Sections, comments (``;``) and lines without ``=`` are skipped; quotes around values are removed.
    """
    values: dict[str, str] = {}
    for line in decode_text(data).splitlines():
        line = line.strip()
        if not line or line.startswith((";", "[")) or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        values.setdefault(key.lower(), value.strip('"').strip())
    return values


def decode_text(data: bytes) -> str:
    """Properties texts are UTF-16LE with a BOM; .inf files are ANSI or UTF-16; accept all of them."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if len(data) >= 2 and data[1] == 0 and data[0] != 0:
        return data.decode("utf-16-le", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def families_named(text: str) -> tuple[str, ...]:
    """OS families in an "Applies to"/"Product Name" value such as ``Windows 7;Windows Server 2008 R2``."""
    found = []
    longest_first = sorted(PRODUCT_NAMES.items(), key=lambda item: -len(item[1]))
    for part in re.split(r"[;,]", text.lower()):
        family = next((f for f, name in longest_first if name.lower() in part), None)
        if family and family not in found:
            found.append(family)
    return tuple(found)


def _msu_identity(cab: Cabinet, label: str) -> Identity:
    updates = [m for m in cab.members if m.name.lower().endswith(".cab")]
    if not updates:
        raise RepoError(label, "an .msu without an update .cab inside")
    for member in updates:
        _check_inner_cab(cab, member, label)
    source, values = _properties(cab, [m for m in cab.members if m.name.lower().endswith(".txt")])
    if "kb article number" not in values:
        raise RepoError(label, "no properties .txt with a KB Article Number inside")
    kb = _kb(values["kb article number"], source, label)
    arch = _arch(values.get("processor architecture", ""), source, label)
    families = families_named(values.get("applies to", "") or values.get("product name", ""))
    if not families:
        raise RepoError(label, f"{source} names no Windows version this tool knows (Applies to {values.get('applies to')!r})")
    identity = Identity("msu", kb, arch, _one_nt_version(families, source, label), families, None, source, values)
    for member in updates:
        _check_update_manifest(cab, member, identity, label)
    for member in (m for m in cab.members if m.name.lower().endswith(".xml")):
        _check_unattend(cab, member, identity, {m.name.lower() for m in updates}, label)
    return identity


def _exe_identity(stream: BinaryIO, label: str) -> Identity:
    origin = locate(stream)
    if origin is None:
        raise RepoError(label, "an .exe without an embedded CAB (no MSCF header after the stub): its identity cannot be read")
    cab = Cabinet(stream, label, origin)
    inf = cab.find("update/update.inf")
    candidates = ([inf] if inf else []) + [m for m in cab.members if m.name.lower().endswith((".inf", ".txt")) and m is not inf]
    for member in candidates:
        values = parse_keyed_text(cab.read(member, _PROPERTIES_SIZE_LIMIT))
        identity = _inf_identity(values, member.name, label)
        if identity is not None:
            return identity
    service_pack = _service_pack_identity(cab, label)
    if service_pack is not None:
        return service_pack
    looked = ", ".join(m.name for m in candidates) or "no .inf or .txt inside"
    raise RepoError(label, f"the update.exe's embedded CAB names no KB and platform (looked in: {looked})")


def _inf_identity(values: dict[str, str], source: str, label: str) -> Identity | None:
    """update.inf keys: SP_SHORT_TITLE / SP_TITLE (KB and product), NtMajor/Minor/BuildToUpdate, Architecture,
    Min/MaxNtServicePackVersion; ``None`` when this member does not name both KB and platform."""
    title = " ".join(values.get(key, "") for key in ("sp_short_title", "sp_title", "kb article number"))
    major, minor = values.get("ntmajorversiontoupdate"), values.get("ntminorversiontoupdate")
    arch_text = values.get("architecture") or values.get("processor architecture")
    if not (normalize_kb(title) and major and minor and arch_text):
        return None
    nt_version = ".".join(part for part in (major, minor, values.get("ntbuildtoupdate")) if part)
    families = families_named(f"{values.get('sp_title', '')};{values.get('product name', '')}")
    if not families:
        raise RepoError(label, f"{source} names no Windows product this tool knows (SP_TITLE {values.get('sp_title')!r})")
    if not f"{nt_version}.".startswith(_one_nt_version(families, source, label) + "."):
        raise RepoError(label, f"{source} targets NT {nt_version}, which is not {', '.join(families)}")
    sps = (_sp(values, "minntservicepackversion", source, label), _sp(values, "maxntservicepackversion", source, label))
    kb = _kb(title, source, label)
    _check_inf_titles(values, kb, source, label)
    return Identity("exe", kb, _arch(arch_text, source, label), nt_version, families, sps, source, values)


def _check_update_manifest(cab: Cabinet, member: Member, identity: Identity, label: str) -> None:
    """The update CAB's ``update.mum`` must name the same KB, architecture and NT version as the properties text.

    A folder compressed with LZX or Quantum (which this reader does not inflate) is left to the signature.
    """
    inner = Cabinet(io.BytesIO(cab.read(member)), f"{label}!{member.name}")
    mum = inner.find("update.mum")
    if mum is None:
        raise RepoError(label, f"{member.name} holds no update.mum: the package's identity cannot be cross-checked")
    try:
        root = _xml(inner.read(mum, _PROPERTIES_SIZE_LIMIT), f"{member.name}!update.mum", label)
    except RepoError as error:
        if "compressed (" in error.reason:
            return
        raise
    where = f"{member.name}!update.mum"
    package = next((e for e in root.iter() if e.tag.endswith("package")), None)
    _check_assembly(root, identity, where, label, package.get("identifier") if package is not None else None)


def _check_unattend(cab: Cabinet, member: Member, identity: Identity, updates: set[str], label: str) -> None:
    """The pkgmgr unattend ``.xml`` (what wusa hands to CBS) names the package and its update CAB: both must be
    this package's (the ``source location`` one of the update CABs inside)."""
    root = _xml(cab.read(member, _PROPERTIES_SIZE_LIMIT), member.name, label)
    _check_assembly(root, identity, member.name, label)
    for source in (e for e in root.iter() if e.tag.endswith("source")):
        location = source.get("location", "")
        cab_name = re.split(r"[\\/]", location)[-1].lower()
        if cab_name not in updates:
            raise RepoError(label, f"identity mismatch: {member.name} installs '{location}', which is not an "
                                   f"update .cab of this package ({', '.join(sorted(updates))})")


def _check_assembly(root: ElementTree.Element, identity: Identity, where: str, label: str,
                    package: str | None = None) -> None:
    """A CBS ``assemblyIdentity`` (and the ``package`` identifier, when given) must name the properties' KB,
    architecture and NT version: ``Package_for_KB2847346``, ``amd64``, ``6.1.x.y``."""
    assembly = next((e for e in root.iter() if e.tag.endswith("assemblyIdentity")), None)
    named = [text for text in (package, assembly.get("name") if assembly is not None else None) if text]
    if assembly is None or not named:
        raise RepoError(label, f"{where} names no package")
    source = identity.source
    for text in named:
        if normalize_kb(text) != identity.kb:
            raise RepoError(label, f"identity mismatch: {source} says {identity.kb}, {where} says {text!r}")
    arch = assembly.get("processorArchitecture", "")
    if ARCHITECTURES.get(arch.lower()) != identity.arch:
        raise RepoError(label, f"identity mismatch: {source} says {identity.arch}, {where} says {arch!r}")
    version = assembly.get("version")
    if version is not None and not f"{version}.".startswith(f"{identity.nt_version}."):
        raise RepoError(label, f"identity mismatch: {source} says NT {identity.nt_version} "
                               f"({', '.join(identity.families)}), {where} says version {version!r}")


def _check_version_resource(identity: Identity, resource: VersionResource, label: str) -> None:
    """Every KB the PE's version resource names, and the architecture of its original file name, must be
    what the CAB inside says."""
    for key, value in resource.strings.items():
        for number in _KB_ANYWHERE.findall(value):
            if f"KB{number}" != identity.kb:
                raise RepoError(label, f"identity mismatch: {identity.source} says {identity.kb}, the PE version "
                                       f"resource ({key}) says KB{number}")
    original = resource.strings.get("OriginalFilename", "")
    named = {ARCHITECTURES[m.lower()] for m in NAMED_ARCH.findall(original)}
    if named and named != {identity.arch}:
        raise RepoError(label, f"identity mismatch: {identity.source} says {identity.arch}, the PE version resource "
                               f"(OriginalFilename {original!r}) says {'/'.join(sorted(named))}")


def _xml(data: bytes, where: str, label: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise RepoError(label, f"{where} is not XML ({error})") from None


def read_mum(data: bytes) -> MumIdentity | None:
    """The identity an ``update.mum`` states, or None when it does not name KB, architecture and version."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    identity = next((e for e in root.iter() if e.tag.endswith("assemblyIdentity")), None)
    package = next((e for e in root.iter() if e.tag.endswith("package")), None)
    if identity is None or package is None:
        return None
    kb = normalize_kb(package.get("identifier", ""))
    arch = ARCHITECTURES.get(identity.get("processorArchitecture", "").lower())
    version = identity.get("version", "")
    if kb is None or arch is None or not re.match(r"^\d+\.\d+\.", version):
        return None
    return MumIdentity(kb, arch, ".".join(version.split(".")[:2]), package.get("releaseType", ""))


def _service_pack_identity(cab: Cabinet, label: str) -> Identity | None:
    """A service pack's standalone installer: an update .cab whose ``update.mum`` says ``releaseType="Service Pack"``.

    The manifest names no product, only the NT version, so the families are every family of that version;
    the service-pack table narrows them (:mod:`winremedy.repo.verify`)."""
    for member in (m for m in cab.members if m.name.lower().endswith(".cab")):
        if member.size > _NESTED_CAB_LIMIT:
            raise RepoError(label, f"{member.name} is larger than {_NESTED_CAB_LIMIT >> 20} MiB: its update.mum is not read here")
        inner = Cabinet(io.BytesIO(cab.read(member)), f"{label}!{member.name}")
        manifest = inner.find("update.mum")
        mum = read_mum(inner.read(manifest, _PROPERTIES_SIZE_LIMIT)) if manifest else None
        if mum is None or mum.release_type.lower() != "service pack":
            continue
        families = tuple(f for f, version in NT_VERSIONS.items() if version == mum.nt_version)
        if not families:
            raise RepoError(label, f"{member.name}!update.mum targets NT {mum.nt_version}, which this tool does not know")
        return Identity("exe", mum.kb, mum.arch, mum.nt_version, families, None, f"{member.name}!update.mum",
                        {"releasetype": mum.release_type}, service_pack=True)
    return None


def _check_inf_titles(values: dict[str, str], kb: str, source: str, label: str) -> None:
    """Every KB an update.inf's titles and uninstall folder name must be the same one."""
    for key in ("sp_short_title", "sp_title", "uninstall_dir"):
        found = _KB_ANYWHERE.search(values.get(key, ""))  # "$NtUninstallKB903927$": no word boundary before KB
        named = f"KB{found.group(1)}" if found else None
        if named is not None and named != kb:
            raise RepoError(label, f"identity mismatch: {source} names {kb} and, in {key.upper()}, {named}")


def _properties(cab: Cabinet, members: list[Member]) -> tuple[str, dict[str, str]]:
    """The first .txt member that carries a KB Article Number (an .msu also holds other texts)."""
    for member in members:
        values = parse_keyed_text(cab.read(member, _PROPERTIES_SIZE_LIMIT))
        if "kb article number" in values:
            return member.name, values
    return "", {}


def _check_inner_cab(cab: Cabinet, member: Member, label: str) -> None:
    header = parse_header(cab.read(member, 64), f"{label}!{member.name}")
    if header.size != member.size:
        raise RepoError(label, f"corrupt: {member.name} says {header.size} bytes, the .msu holds {member.size}")


def _kb(text: str, source: str, label: str) -> str:
    kb = normalize_kb(text)
    if kb is None:
        raise RepoError(label, f"{source} gives no valid KB number ({text!r})")
    return kb


def _arch(text: str, source: str, label: str) -> str:
    arch = ARCHITECTURES.get(text.strip().lower())
    if arch is None:
        raise RepoError(label, f"{source} gives no known processor architecture ({text!r})")
    return arch


def _sp(values: dict[str, str], key: str, source: str, label: str) -> int:
    text = values.get(key, "0")
    if not text.isdigit():
        raise RepoError(label, f"{source}: {key} is not a number ({text!r})")
    return int(text) // _SP_UNIT


def _one_nt_version(families: tuple[str, ...], source: str, label: str) -> str:
    versions = {NT_VERSIONS[f] for f in families}
    if len(versions) > 1:
        raise RepoError(label, f"{source} applies to Windows of different versions ({', '.join(families)})")
    return versions.pop()
