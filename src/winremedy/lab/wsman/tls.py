"""A private CA and one server certificate for the lab's HTTPS listeners.

Clients verify the lab like a real fleet behind an internal CA (``ca_trust_path``),
so HTTPS tests exercise real validation instead of ``server_cert_validation='ignore'``.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # Microsoft's User Principal Name otherName


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files: the CA certificate clients trust, the server certificate and its key, the CA's key."""

    ca_cert: Path
    cert: Path
    key: Path
    ca_key: Path | None = None  # signs client certificates (:func:`make_client_certificate`)

    def server_context(self) -> ssl.SSLContext:
        """One context shared by every HTTPS listener (loading it per listener would cost seconds at 1,000).

        A client may present a certificate; one not issued by the lab CA fails the handshake, as http.sys
        refuses a certificate it cannot chain to a trusted root.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(self.ca_cert)
        return context

    def channel_binding(self) -> bytes:
        """``tls-server-end-point`` application data (RFC 5929): the hash of the server certificate."""
        der = x509.load_pem_x509_certificate(self.cert.read_bytes()).public_bytes(serialization.Encoding.DER)
        return b"tls-server-end-point:" + hashlib.sha256(der).digest()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "winremedy lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hostnames: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for name in dict.fromkeys(["localhost", "127.0.0.1", *hostnames]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(names)


def _write_pem(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def make_tls_material(directory: Path, hostnames: list[str]) -> TlsMaterial:
    """Create a CA and a server certificate (SAN: localhost, 127.0.0.1 and ``hostnames``) in ``directory``.

    Both certificates are signed with SHA-256, so the channel binding hash is SHA-256 (RFC 5929).
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=825)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("winremedy lab CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0] if hostnames else "localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(hostnames), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    material = TlsMaterial(directory / "ca.pem", directory / "server.pem", directory / "server.key", directory / "ca.key")
    _write_pem(directory / "ca.key", _private_pem(ca_key), private=True)
    _write_pem(material.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_pem(material.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write_pem(material.key, _private_pem(key), private=True)
    return material


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def make_client_certificate(material: TlsMaterial, directory: Path, upn: str) -> tuple[Path, Path]:
    """A client-authentication certificate and key for ``upn`` (user@domain), issued by the lab CA.

    WinRM maps a client certificate to a local account by the UPN in its subjectAltName
    ("Certificate-based authentication for WinRM", Microsoft Learn: winrm/authentication-for-remote-connections).
    """
    if material.ca_key is None:
        raise ValueError("the TLS material has no CA key to issue client certificates")
    ca_cert = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(material.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    now = datetime.datetime.now(datetime.timezone.utc)
    encoded = upn.encode("utf-8")
    if len(encoded) > 127:
        raise ValueError(f"UPN too long for a lab certificate: {upn}")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, upn.partition("@")[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.OtherName(UPN_OID, b"\x0c" + bytes([len(encoded)]) + encoded)]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    stem = upn.partition("@")[0].lower()
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    _write_pem(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write_pem(key_path, _private_pem(key), private=True)
    return cert_path, key_path
