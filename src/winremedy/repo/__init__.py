"""The package repository: hotfix packages verified by their content, a manifest, and sync to a server.

The stager asks :func:`pick` for the package of one KB x OS x SP x architecture;
``winremedy repo`` (:mod:`.command`) keeps the repository.
"""

from __future__ import annotations

from .identity import Identity, read_identity
from .manifest import Build, Entry, Manifest, load_manifest, pick
from .repository import ScanResult, add, check, scan
from .verify import verify_package

__all__ = [
    "Build",
    "Entry",
    "Identity",
    "Manifest",
    "ScanResult",
    "add",
    "check",
    "load_manifest",
    "pick",
    "read_identity",
    "scan",
    "verify_package",
]
