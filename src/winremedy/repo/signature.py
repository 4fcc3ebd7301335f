"""Authenticode: a package is used only when its signature chains to a root the controller trusts.

A hash proves a file is the one that was added; only a signature proves who made
it. Every .msu (a CAB) and update.exe (a PE) Microsoft ships is Authenticode
signed, so each package is verified before it is added to the repository and
again before anything is staged, by ``osslsigncode verify`` (Debian package
osslsigncode, which reads both PE and CAB signatures), never by a parser of
our own. The roots are a PEM file the operator chooses once per repository
(``repo add|scan --trusted-roots FILE``: Microsoft's code-signing roots in
production); it is kept beside the manifest as :data:`ROOTS`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..errors import RepoError

ROOTS = "trusted-roots.pem"
TOOL = "osslsigncode"
VERIFY_TIMEOUT = 120.0  # seconds; a large package is hashed once
_ERROR_LINE = re.compile(r"^\s*Error: (.+)$", re.MULTILINE)
_SIGNER = re.compile(r"Signer #0:\s*\n\s*Subject: (.+)")


def verify_signature(path: Path, roots: Path | None, label: str) -> None:
    """Refuse (a :class:`RepoError` naming ``label``) a package that is unsigned, altered after signing, or
    signed by a certificate that does not chain to ``roots``."""
    if roots is None or not roots.is_file():
        raise RepoError(label, "cannot verify its signature: no trusted roots (give 'winremedy repo add|scan "
                               "--trusted-roots FILE', a PEM file of the code-signing roots to trust)")
    tool = shutil.which(TOOL)
    if tool is None:
        raise RepoError(label, f"cannot verify its signature: {TOOL} is not installed (apt-get install {TOOL})")
    try:
        run = subprocess.run([tool, "verify", "-CAfile", str(roots), "-in", str(path)], capture_output=True,
                             text=True, errors="replace", timeout=VERIFY_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RepoError(label, f"cannot verify its signature: {TOOL} failed: {error}") from None
    if run.returncode != 0:
        raise RepoError(label, f"signature refused: {_reason(run.stdout + run.stderr)}")


def install_roots(directory: Path, roots: Path) -> None:
    """Make ``roots`` the repository's trusted roots (checked to be a readable PEM file first)."""
    try:
        text = roots.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise RepoError(str(roots), f"cannot read the trusted roots: {getattr(error, 'strerror', None) or error}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise RepoError(str(roots), "not a PEM file of certificates (no BEGIN CERTIFICATE)")
    (directory / ROOTS).write_text(text, encoding="ascii")


def _reason(output: str) -> str:
    """What osslsigncode's report says went wrong, on one line."""
    if "No signature found" in output:
        return "the package is not signed (no Authenticode signature)"
    if "MISMATCH" in output:
        return "the content does not match its signature (altered after signing)"
    signer = _SIGNER.search(output)
    by = f" (signer {signer.group(1).strip()})" if signer else ""
    error = _ERROR_LINE.search(output)
    if error:
        return f"the signer is not trusted: {error.group(1).strip()}{by}"
    return f"Authenticode verification failed{by}"
