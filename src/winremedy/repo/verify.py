"""Accept a package file only when its signature, its content, its name and the catalog agree.

The signature must chain to a trusted root (:mod:`.signature`); the content decides
what the package is (:mod:`.identity`, every identity source inside it agreeing); the name may only
confirm it (a KB or architecture in the name that contradicts the content means
the file was mislabelled); the catalog decides which OS builds and service packs
the package covers, so the repository never trusts a name for what to install where.
A service pack a catalog prerequisite names (:mod:`winremedy.catalog.service_packs`)
is accepted the same way: its content must say it is that service pack, and the
table says which build it installs on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..catalog import Catalog, KbEntry, Package
from ..catalog.service_packs import ServicePack, service_pack
from ..errors import RepoError
from ..audit.facts import normalize_kb
from .identity import ARCHITECTURES, NAMED_ARCH, Identity, read_identity
from .manifest import Build, Entry, check_package_name
from .signature import verify_signature

_HASH_CHUNK = 1 << 20


def verify_package(path: Path, catalog: Catalog, roots: Path | None) -> Entry:
    """The manifest entry for the package at ``path``, or a :class:`RepoError` naming it and the reason.

    ``roots``: the PEM file of trusted code-signing roots its Authenticode signature must chain to.
    """
    label = str(path)
    check_package_name(path.name, label)
    verify_signature(path, roots, label)
    identity = read_identity(path)
    _check_name(path.name, identity, label)
    pack = service_pack(identity.kb)
    if pack is not None:
        package, builds = _service_pack_package(pack, identity, label)
    elif identity.kb not in catalog:
        raise RepoError(label, f"unknown KB: {identity.kb} is not in the catalog (it knows {', '.join(catalog.kbs)})")
    else:
        kb_entry = catalog.get(identity.kb)
        package = _catalog_package(kb_entry, identity, label)
        builds = _builds(kb_entry, package, identity, label)
    return Entry(
        file=path.name,
        kb=identity.kb,
        kind=identity.kind,
        arch=identity.arch,
        os=tuple(package.os),
        builds=builds,
        size=path.stat().st_size,
        sha256=sha256_file(path),
        identity={
            "source": identity.source,
            "nt_version": identity.nt_version,
            "families": list(identity.families),
            "sps": list(identity.sps) if identity.sps else None,
            "catalog_package": package.file,
            "fields": identity.fields,
            **({"service_pack": pack.sp} if pack else {}),
        },
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_name(name: str, identity: Identity, label: str) -> None:
    """A KB, architecture or kind in the file name must be the content's."""
    named_kb = normalize_kb(name)
    if named_kb and named_kb != identity.kb:
        raise RepoError(label, f"mislabelled: the name says {named_kb}, the content ({identity.source}) says {identity.kb}")
    named_arch = {ARCHITECTURES[m.lower()] for m in NAMED_ARCH.findall(name)}
    if named_arch and named_arch != {identity.arch}:
        raise RepoError(
            label, f"architecture mismatch: the name says {'/'.join(sorted(named_arch))}, the content ({identity.source}) says {identity.arch}"
        )
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("msu", "exe") and suffix != identity.kind:
        raise RepoError(label, f"mislabelled: named .{suffix}, but the content is an {identity.kind}")


def _service_pack_package(pack: ServicePack, identity: Identity, label: str) -> tuple[Package, tuple[Build, ...]]:
    """The table's package for a service pack's content, and the one build it installs on."""
    if not identity.service_pack:
        raise RepoError(label, f"{identity.kb} is a service pack, but the content ({identity.source}) is not one "
                               "(no update.mum with releaseType \"Service Pack\")")
    package = pack.package_for(identity.families, identity.arch)
    if package is None or not _same_os(pack.from_version, identity.nt_version):
        known = "; ".join(f"{p.file} ({', '.join(p.os)} {p.arch})" for p in pack.packages)
        raise RepoError(label, f"OS not covered: the content is {identity.kb} for NT {identity.nt_version} "
                               f"{identity.arch}, which none of its packages is ({known})")
    return package, (Build(pack.from_version, pack.from_sp),)


def _catalog_package(kb_entry: KbEntry, identity: Identity, label: str) -> Package:
    """The catalog package of this KB, kind and architecture for the Windows the content names."""
    for package in kb_entry.packages:
        if (
            package.kind == identity.kind
            and package.arch == identity.arch
            and set(identity.families) <= set(package.os)
            and any(_same_os(version, identity.nt_version) for version in package.versions)
        ):
            return package
    known = "; ".join(f"{p.file} ({', '.join(p.os)} {p.arch})" for p in kb_entry.packages)
    raise RepoError(
        label,
        f"OS not covered: the content is {identity.kb} for {', '.join(identity.families)} {identity.arch}, "
        f"which none of the catalog's packages is ({known})",
    )


def _builds(kb_entry: KbEntry, package: Package, identity: Identity, label: str) -> tuple[Build, ...]:
    """The package's builds with their service packs from the catalog's rules, narrowed to the SPs the content targets."""
    builds = [
        Build(rule.version, rule.sp)
        for version in package.versions
        if _same_os(version, identity.nt_version)
        for rule in kb_entry.applies_to
        if rule.version == version
        and rule.verify != "service_pack"
        and identity.arch in rule.archs
        and set(rule.os) & set(package.os)
        and (identity.sps is None or identity.sps[0] <= rule.sp <= identity.sps[1])
    ]
    if not builds:
        targets = f"SP{identity.sps[0]}-SP{identity.sps[1]}" if identity.sps else "its builds"
        raise RepoError(label, f"OS not covered: the content targets {targets}, which the catalog's {package.file} does not install on")
    return tuple(sorted(set(builds), key=lambda b: (b.version, b.sp)))


def _same_os(version: str, nt_version: str) -> bool:
    """``6.0.6002`` is NT ``6.0``; an update.inf's ``5.2.3790`` must match the build too."""
    return f"{version}.".startswith(f"{nt_version}.")
