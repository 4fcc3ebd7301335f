"""HTTP authentication of one connection, as a Windows WinRM listener does it.

Basic is checked per request; NTLM and Kerberos (raw or SPNEGO-wrapped, under the ``Negotiate`` or
``Kerberos`` scheme) authenticate the TCP connection, whose context then seals bodies; CredSSP runs its
TLS-in-headers exchange and receives the client's delegated credentials; a client certificate issued by
the lab's CA maps to the account named by its UPN, as WinRM's certificate mapping does. Mechanisms are
dispatched by the Authorization scheme.

Kerberos needs the acceptor's keytab in ``KRB5_KTNAME`` (and the realm in ``KRB5_CONFIG``) when the first
context is made: the lab sets both for its process (``lab.kdc``).

pyspnego's NTLM acceptor reads its users from the file named by ``NTLM_USER_FILE`` (pyspnego ``spnego/_ntlm.py``), at
creation and again when the AUTHENTICATE message arrives. One process serves many hosts with different
users, so each host gets its own file and every acceptor step runs with the variable pointing at it,
under a process-wide lock.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import spnego
from cryptography import x509
from spnego._ntlm_raw.crypto import ntowfv1
from spnego.channel_bindings import GssChannelBindings

from ..api import LabHost
from .http import HttpRequest
from .tls import UPN_OID

_ENV_LOCK = threading.Lock()
Header = tuple[str, str]


@contextmanager
def _user_file(path: Path) -> Iterator[None]:
    with _ENV_LOCK:
        previous = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = str(path)
        try:
            yield
        finally:
            if previous is None:
                del os.environ["NTLM_USER_FILE"]
            else:
                os.environ["NTLM_USER_FILE"] = previous


def _nt_hash(password: str) -> str:
    return ntowfv1(password).hex().upper()  # MD4 is gone from OpenSSL 3; pyspnego carries its own


class CredentialStore:
    """One smbpasswd-format user file per host, written on first use and rewritten when the host's users change.

    smbpasswd lines (``DOMAIN\\user:uid:LM:NT:[U]:LCT-0``) hold hashes, so passwords may contain ``:``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._written: dict[int, tuple[Path, list[tuple[str, str, str]]]] = {}

    def file_for(self, host: LabHost) -> Path:
        credentials = list(host.nt_credentials())
        known = self._written.get(id(host))
        if known is not None and known[1] == credentials:
            return known[0]
        path = known[0] if known is not None else self.directory / f"host-{len(self._written)}.ntlm"
        lines = [
            f"{domain + chr(92) if domain else ''}{user}:0:{'0' * 32}:{_nt_hash(password)}:[U]:LCT-00000000"
            for domain, user, password in credentials
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
        self._written[id(host)] = (path, credentials)
        return path


CERTIFICATE_SCHEME = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"  # pywinrm's header


@dataclass
class Verdict:
    """``pass``: serve the request as ``user``; ``challenge``: 401 and keep the connection; ``reject``: 401 and close.

    ``delegated``: the logon holds credentials usable on a second hop (CredSSP, or Kerberos with a forwarded
    ticket), as a plain network logon does not.
    """

    kind: Literal["pass", "challenge", "reject"]
    user: str = ""
    headers: list[Header] = field(default_factory=list)
    delegated: bool = False


def certificate_upn(der: bytes) -> str | None:
    """The UPN in a client certificate's subjectAltName (WinRM maps certificates by it), or None."""
    try:
        names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, x509.ExtensionNotFound):
        return None
    for name in names.value.get_values_for_type(x509.OtherName):
        if name.type_id == UPN_OID and name.value[:1] == b"\x0c":  # DER UTF8String, short form length
            return name.value[2:].decode("utf-8", "replace")
    return None


class ConnectionAuth:
    """The authentication state of one TCP connection."""

    def __init__(
        self,
        host: LabHost,
        store: CredentialStore,
        channel_bindings: bytes | None,
        *,
        tls: bool = False,
        peer_certificate: bytes | None = None,
    ) -> None:
        self.host = host
        self.store = store
        self.bindings = GssChannelBindings(application_data=channel_bindings) if channel_bindings else None
        self.tls = tls  # CredSSP is served over HTTPS only (its HTTP body encryption is not emulated)
        self.peer_certificate = peer_certificate  # DER, verified against the lab CA by the TLS handshake
        self.context: spnego.ContextProxy | None = None  # a completed context seals bodies
        self.basic_user: str | None = None
        self.delegated = False

    @property
    def sealer(self) -> spnego.ContextProxy | None:
        return self.context if self.context is not None and self.context.complete else None

    def challenge_headers(self) -> list[Header]:
        """What the first 401 offers; Windows advertises Negotiate, never plain NTLM."""
        headers: list[Header] = []
        if self.host.accepts_auth("ntlm") or self.host.accepts_auth("kerberos"):
            headers.append(("WWW-Authenticate", "Negotiate"))
        if self.host.accepts_auth("kerberos"):
            headers.append(("WWW-Authenticate", "Kerberos"))
        if self.host.accepts_auth("basic"):
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        if self.host.accepts_auth("credssp"):
            headers.append(("WWW-Authenticate", "CredSSP"))  # last: requests-credssp reads the final item
        return headers

    def check(self, request: HttpRequest) -> Verdict:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not scheme:
            if self.sealer is not None:
                return Verdict("pass", self.sealer.client_principal or "", delegated=self.delegated)
            return Verdict("challenge", headers=self.challenge_headers())
        mechanism = _SCHEMES.get(scheme.lower())
        if mechanism is None:
            return self._reject()
        return mechanism(self, token.strip())

    def _reject(self) -> Verdict:
        self.host.counters.auth_failures += 1
        self.context = None
        self.delegated = False
        return Verdict("reject", headers=self.challenge_headers())

    def _succeed(self, user: str, headers: list[Header] | None = None) -> Verdict:
        self.host.counters.authentications += 1
        return Verdict("pass", user, headers or [], self.delegated)

    def _is_account(self, principal: str) -> bool:
        """Whether a Kerberos principal or certificate UPN (``user@REALM``) names one of the host's accounts."""
        user = principal.rpartition("@")[0] or principal
        return any(known.lower() == user.lower() for _, known, _ in self.host.nt_credentials())

    def _basic(self, token: str) -> Verdict:
        if not self.host.accepts_auth("basic"):
            return self._reject()
        try:
            user, sep, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return self._reject()
        if not sep or not self.host.check_password(user, password):
            return self._reject()
        if self.basic_user == user:
            return Verdict("pass", user)
        self.basic_user = user
        return self._succeed(user)

    def _negotiate(self, token: str) -> Verdict:
        if not (self.host.accepts_auth("ntlm") or self.host.accepts_auth("kerberos")):
            return self._reject()
        return self._step("negotiate", token, "Negotiate")

    def _credssp(self, token: str) -> Verdict:
        if not self.host.accepts_auth("credssp") or not self.tls:
            return self._reject()
        return self._step("credssp", token, "CredSSP")

    def _step(self, protocol: str, token: str, scheme: str) -> Verdict:
        """One leg of a context-based mechanism; the context, once complete, holds the connection's logon."""
        try:
            in_token = base64.b64decode(token, validate=True)
        except binascii.Error:
            return self._reject()
        if self.context is None or self.context.complete or self.context.protocol != protocol:
            self.context = spnego.server(protocol=protocol, channel_bindings=self.bindings)
            self.delegated = False
        try:
            with _user_file(self.store.file_for(self.host)):
                out_token = self.context.step(in_token)
        except Exception:  # noqa: BLE001 - a garbage token surfaces as any parsing error inside pyspnego
            return self._reject()
        headers = [("WWW-Authenticate", f"{scheme} " + base64.b64encode(out_token).decode())] if out_token else []
        if not self.context.complete:
            return Verdict("challenge", headers=headers)
        mechanism = (self.context.negotiated_protocol or "") if protocol == "negotiate" else protocol
        principal = self.context.client_principal or ""
        if not self.host.accepts_auth(mechanism) or (mechanism == "kerberos" and not self._is_account(principal)):
            return self._reject()
        if protocol == "credssp":
            self.delegated = self.context.get_extra_info("client_credential") is not None
        else:  # Kerberos with a forwarded TGT (kerberos_delegation and a forwardable ticket)
            self.delegated = bool(self.context.context_attr & spnego.ContextReq.delegate)
        return self._succeed(principal, headers)

    def _certificate(self, _token: str) -> Verdict:
        """WinRM certificate mapping: a client certificate from the lab CA whose UPN is one of the host's accounts."""
        if not self.host.accepts_auth("certificate") or self.peer_certificate is None:
            return self._reject()
        upn = certificate_upn(self.peer_certificate)
        if upn is None or not self._is_account(upn):
            return self._reject()
        return self._succeed(upn.rpartition("@")[0])


_SCHEMES = {
    "basic": ConnectionAuth._basic,
    "negotiate": ConnectionAuth._negotiate,
    "ntlm": ConnectionAuth._negotiate,
    "kerberos": ConnectionAuth._negotiate,
    "credssp": ConnectionAuth._credssp,
    CERTIFICATE_SCHEME: ConnectionAuth._certificate,
}
