"""The lab's own code-signing CA: lab packages are Authenticode signed, as Microsoft's are, and only this CA
is trusted by a lab repository (production trusts Microsoft's roots instead).

The CA and its signing certificate are made with ``cryptography`` once per process
(in a private temporary directory removed at exit); packages are signed by
``osslsigncode sign``, the tool that verifies them (:mod:`winremedy.repo.signature`).
"""

from __future__ import annotations

import atexit
import datetime
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..repo.signature import TOOL
from .errors import LabError

_VALID_FROM = datetime.datetime(2013, 1, 1, tzinfo=datetime.timezone.utc)  # before the packages' build date
_VALID_FOR = datetime.timedelta(days=40 * 365)


@dataclass(frozen=True)
class Signer:
    """Where the lab's signing material lives: ``roots`` is what a lab repository trusts."""

    roots: Path  # the CA certificate (PEM)
    certificate: Path  # the code-signing certificate (PEM)
    key: Path  # its private key (PEM)

    def sign(self, data: bytes, suffix: str) -> bytes:
        """``data`` (a PE or a CAB, told by ``suffix``: .exe or .msu) with an Authenticode signature."""
        return sign_with(self.certificate, self.key, data, suffix)


def sign_with(certificate: Path, key: Path, data: bytes, suffix: str) -> bytes:
    """``data`` signed with ``certificate`` and ``key`` (also used by tests with a certificate nobody trusts)."""
    tool = shutil.which(TOOL)
    if tool is None:
        raise LabError(f"cannot sign the lab's packages: {TOOL} is not installed (apt-get install {TOOL})")
    with tempfile.TemporaryDirectory(prefix="winremedy-sign-") as folder:
        unsigned, signed = Path(folder) / f"in{suffix}", Path(folder) / f"out{suffix}"
        unsigned.write_bytes(data)
        run = subprocess.run([tool, "sign", "-certs", str(certificate), "-key", str(key), "-h", "sha256",
                              "-in", str(unsigned), "-out", str(signed)], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise LabError(f"{TOOL} could not sign a lab package: {(run.stderr or run.stdout).strip()[-300:]}")
        return signed.read_bytes()


@cache
def lab_signer() -> Signer:
    """The lab's CA and signing certificate, made once per process."""
    folder = Path(tempfile.mkdtemp(prefix="winremedy-lab-ca-"))
    atexit.register(shutil.rmtree, folder, True)
    return make_signer(folder, "winremedy lab")


def make_signer(folder: Path, name: str) -> Signer:
    """A new CA named ``name`` and a code-signing certificate it issued, written to ``folder``."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} code signing CA")])
    ca = (_builder(ca_name, ca_name, ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} packages")]), ca_name, key)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    signer = Signer(folder / "ca.pem", folder / "signing.pem", folder / "signing.key")
    signer.roots.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    signer.certificate.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    signer.key.touch(mode=0o600)
    signer.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return signer


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(_VALID_FROM)
            .not_valid_after(_VALID_FROM + _VALID_FOR))
