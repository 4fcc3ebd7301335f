"""A package repository: a directory of verified package files and their ``manifest.json``.

``add`` verifies every file before touching the repository and adds all or none;
``scan`` rebuilds the manifest from the files already there and lists the ones
it refuses. Both hold an exclusive lock on ``DIR/.lock`` while they read and
rewrite the manifest, so two concurrent adds never lose each other's entries.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog, load_catalog
from ..errors import RepoError
from ..atomic import atomic_writer
from .manifest import MANIFEST, Entry, Manifest, load_manifest, save_manifest
from .signature import ROOTS, install_roots
from .verify import sha256_file, verify_package

_LOCK = ".lock"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ScanResult:
    manifest: Manifest
    refused: tuple[RepoError, ...]


def add(directory: Path, files: Sequence[Path], catalog: Catalog | None = None, roots: Path | None = None) -> list[Entry]:
    """Copy ``files`` into the repository and record them; if any is refused, nothing is added.

    ``roots``: make this PEM file the repository's trusted roots first (else the ones it has).
    """
    catalog = catalog or load_catalog()
    directory.mkdir(parents=True, exist_ok=True)
    if roots is not None:
        install_roots(directory, roots)
    entries, refused = _verify_all(files, catalog, directory / ROOTS)
    if refused:
        raise RepoError(str(directory), f"nothing added, {len(refused)} refused: " + "; ".join(map(str, refused)))
    with _locked(directory):
        manifest = load_manifest(directory)
        for entry in entries:
            _refuse_overlap(entry, [e for e in manifest.entries if e.file != entry.file] + [e for e in entries if e is not entry])
        for source, entry in zip(files, entries, strict=True):
            _copy_in(source, directory, entry)
        save_manifest(directory, manifest.with_entries(entries))
    return entries


def scan(directory: Path, catalog: Catalog | None = None, roots: Path | None = None) -> ScanResult:
    """Rebuild the manifest from the package files in ``directory``; refused files stay out of it.

    ``roots``: make this PEM file the repository's trusted roots first (else the ones it has).
    """
    catalog = catalog or load_catalog()
    if not directory.is_dir():
        raise RepoError(str(directory), "not a directory")
    if roots is not None:
        install_roots(directory, roots)
    with _locked(directory):
        files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.name not in (MANIFEST, ROOTS))
        entries, refused = _verify_all(files, catalog, directory / ROOTS)
        accepted: list[Entry] = []
        for entry in entries:
            try:
                _refuse_overlap(entry, accepted)
                accepted.append(entry)
            except RepoError as error:
                refused.append(error)
        manifest = Manifest().with_entries(accepted)
        save_manifest(directory, manifest)
    return ScanResult(manifest, tuple(refused))


def check(directory: Path) -> Manifest:
    """The manifest, after checking that every file it lists is present with its size and SHA-256."""
    manifest = load_manifest(directory)
    for entry in manifest.entries:
        path = directory / entry.file
        if not path.is_file():
            raise RepoError(str(path), "listed in the manifest but missing")
        if path.stat().st_size != entry.size or sha256_file(path) != entry.sha256:
            raise RepoError(str(path), "corrupt: its size or SHA-256 differs from the manifest")
    return manifest


def _verify_all(files: Sequence[Path], catalog: Catalog, roots: Path) -> tuple[list[Entry], list[RepoError]]:
    entries, refused = [], []
    for path in files:
        try:
            entries.append(verify_package(path, catalog, roots))
        except RepoError as error:
            refused.append(error)
    return entries, refused


def _refuse_overlap(entry: Entry, others: list[Entry]) -> None:
    """Two files for the same KB x OS x SP x architecture would make :func:`pick` ambiguous."""
    for other in others:
        if other.kb == entry.kb and entry.coverage() & other.coverage():
            raise RepoError(entry.file, f"duplicate: {other.file} already provides {entry.kb} for the same OS, SP and architecture")


def _copy_in(source: Path, directory: Path, entry: Entry) -> None:
    """Copy through a temporary name, hashing as it goes; rename into place only if the hash is the verified one."""
    target = directory / entry.file
    if target.exists() and os.path.samefile(source, target):
        return
    digest = hashlib.sha256()
    with atomic_writer(target) as out, open(source, "rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != entry.sha256:
            raise RepoError(str(source), "changed while it was being added (SHA-256 of the copy differs)")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / _LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
