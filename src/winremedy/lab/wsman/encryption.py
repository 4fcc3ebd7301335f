"""WinRM message encryption over HTTP: the ``multipart/encrypted`` framing of MS-WSMV 2.2.9.1, as pywinrm's and pypsrp's
``encryption.py`` read it.

The sealing itself is the authentication context's (``wrap_winrm``/``unwrap_winrm``); this module only frames.
Its state is per connection and sequence-numbered, so messages must be unwrapped and wrapped in order.
"""

from __future__ import annotations

import re
import struct
from typing import Protocol

from spnego import WinRMWrapResult

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_LENGTH = re.compile(rb"Length=(\d+)")
_OCTETS = b"\tContent-Type: application/octet-stream\r\n"


class EncryptionError(Exception):
    """A body that does not follow the framing or does not decrypt (Windows answers 400)."""


class Sealer(Protocol):
    """What a completed security context offers for WinRM encryption (spnego contexts do)."""

    def wrap_winrm(self, data: bytes) -> WinRMWrapResult: ...

    def unwrap_winrm(self, header: bytes, data: bytes) -> bytes: ...


def is_encrypted(content_type: str) -> bool:
    return content_type.lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def unwrap(context: Sealer, body: bytes) -> bytes:
    """The SOAP plaintext of an encrypted request body."""
    parts = body.split(_BOUNDARY)
    # ['', '\r\n\tContent-Type: ...OriginalContent...Length=N\r\n', '\r\n\tContent-Type: octet...<data>', '--\r\n']
    if len(parts) != 4 or not parts[2].startswith(b"\r\n" + _OCTETS):
        raise EncryptionError("not a single-part multipart/encrypted body")
    length = _LENGTH.search(parts[1])
    payload = parts[2][len(_OCTETS) + 2 :]
    if length is None or len(payload) < 4:
        raise EncryptionError("no OriginalContent length or no payload")
    signature_length = struct.unpack("<I", payload[:4])[0]
    signature, sealed = payload[4 : 4 + signature_length], payload[4 + signature_length :]
    try:
        plaintext = context.unwrap_winrm(signature, sealed)
    except Exception as error:  # spnego raises several types for a bad signature or sequence number
        raise EncryptionError(str(error)) from error
    if len(plaintext) != int(length.group(1)):
        raise EncryptionError("decrypted length differs from OriginalContent Length")
    return plaintext


def wrap(context: Sealer, plaintext: bytes) -> bytes:
    """An encrypted response body for ``plaintext`` (send with :data:`CONTENT_TYPE`)."""
    sealed = context.wrap_winrm(plaintext)
    return (
        _BOUNDARY
        + b"\r\n\tContent-Type: "
        + SPNEGO_PROTOCOL.encode()
        + b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(plaintext)).encode()
        + b"\r\n"
        + _BOUNDARY
        + b"\r\n"
        + _OCTETS
        + struct.pack("<I", len(sealed.header))
        + sealed.header
        + sealed.data
        + _BOUNDARY
        + b"--\r\n"
    )
