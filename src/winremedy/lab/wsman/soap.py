"""WS-Management envelopes: parse a request by namespace, build responses and faults shaped as Windows sends them.

Clients differ in prefixes (pywinrm ``env:``/``a:``/``w:``, pypsrp ``s:``/``wsa:``/``wsman:``), so parsing
goes by namespace only. Responses copy the real Windows shape (jborean93/pypsrp's recorded responses): upper-case GUIDs,
``xml:lang`` on the Envelope, and ``RelatesTo`` echoing the request ``MessageID``.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
MAX_TIMEOUT_S = 60.0  # MaxTimeoutms: Windows caps OperationTimeout at 60 s
DEFAULT_MAX_ENVELOPE = 153600  # what pywinrm sends; used when a request has none

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def q(prefix: str, tag: str) -> str:
    """Clark notation ``{uri}tag`` for ElementTree lookups."""
    return f"{{{NS[prefix]}}}{tag}"


class SoapFault(Exception):
    """A WS-Management fault, answered as HTTP 500 with a SOAP Fault body."""

    def __init__(
        self,
        code: str,
        subcode: str,
        reason: str,
        wsman_code: int | None = None,
        message: str | None = None,
        detail_uri: str | None = None,
    ) -> None:
        super().__init__(f"{subcode}: {reason}")
        self.code, self.subcode, self.reason = code, subcode, reason
        self.wsman_code, self.message, self.detail_uri = wsman_code, message, detail_uri


class MalformedRequest(SoapFault):
    """The body is not a WS-Management envelope (real hosts answer a schema validation fault)."""

    def __init__(self, why: str) -> None:
        super().__init__(
            "s:Sender",
            "w:SchemaValidationError",
            "The SOAP XML in the message does not match the corresponding XML schema definition. "
            "Change the XML and retry. ",
            2150858817,
        )
        self.args = (why,)


@dataclass
class Request:
    """The parts of a request envelope that the WinRS dispatcher needs."""

    action: str
    message_id: str
    resource_uri: str
    body: ET.Element
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    operation_timeout: float | None = None
    max_envelope_size: int = DEFAULT_MAX_ENVELOPE

    @property
    def name(self) -> str:
        """The short action name (``Create``, ``Receive``, ...) that hosts key injected faults on."""
        return self.action.rsplit("/", 1)[-1]

    def option(self, name: str) -> str | None:
        return self.options.get(name)


def parse_duration(text: str) -> float:
    """``PT20S``/``PT20.000S``/``P0DT0H1M0S`` -> seconds; anything else is the fault Windows gives."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise SoapFault(
            "s:Sender",
            "a:InvalidMessageInformationHeader",
            "The WS-Management service cannot process the request. The XML contains an invalid timeout "
            f"field in the SOAP header: {text}. ",
            2150858767,
        )
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def _text(header: ET.Element, prefix: str, tag: str) -> str | None:
    node = header.find(q(prefix, tag))
    return node.text.strip() if node is not None and node.text else None


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope; raise :class:`MalformedRequest` when it is not one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise MalformedRequest(str(error)) from None
    header, body = root.find(q("s", "Header")), root.find(q("s", "Body"))
    if root.tag != q("s", "Envelope") or header is None or body is None:
        raise MalformedRequest("not a SOAP 1.2 envelope")
    action = _text(header, "a", "Action")
    if not action:
        raise MalformedRequest("no a:Action")
    request = Request(
        action=action,
        message_id=_text(header, "a", "MessageID") or "",
        resource_uri=_text(header, "w", "ResourceURI") or "",
        body=body,
        selectors={
            node.get("Name", ""): (node.text or "").strip()
            for node in header.iterfind(f"{q('w', 'SelectorSet')}/{q('w', 'Selector')}")
        },
        options={
            node.get("Name", ""): (node.text or "").strip()
            for node in header.iterfind(f"{q('w', 'OptionSet')}/{q('w', 'Option')}")
        },
    )
    timeout = _text(header, "w", "OperationTimeout")
    if timeout is not None:
        request.operation_timeout = min(parse_duration(timeout), MAX_TIMEOUT_S)
    size = _text(header, "w", "MaxEnvelopeSize")
    if size and size.isdigit():
        request.max_envelope_size = int(size)
    return request


def new_guid() -> str:
    """Windows writes GUIDs in upper case."""
    return str(uuid.uuid4()).upper()


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    relates = f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>" if relates_to else ""
    return (
        '<s:Envelope xml:lang="en-US" '
        f'xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:x="{NS["x"]}" xmlns:w="{NS["w"]}" '
        f'xmlns:rsp="{NS["rsp"]}" xmlns:p="{NS["p"]}">'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{new_guid()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>{relates}</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode("utf-8")


def response(request: Request, body: str) -> bytes:
    """The success envelope for ``request``: Action + ``Response``, RelatesTo = its MessageID."""
    return _envelope(request.action + "Response", request.message_id, body)


def fault_envelope(fault: SoapFault, relates_to: str, machine: str) -> bytes:
    """A SOAP Fault in the classic WinRM 2.0 shape (``f:WSManFault`` with ``Code`` and ``Machine``)."""
    detail = ""
    if fault.detail_uri:
        detail += f"<w:FaultDetail>{escape(fault.detail_uri)}</w:FaultDetail>"
    if fault.wsman_code is not None:
        detail += (
            f'<f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.wsman_code}" Machine={quoteattr(machine)}>'
            f"<f:Message>{escape(fault.message or fault.reason)}</f:Message></f:WSManFault>"
        )
    body = (
        f"<s:Fault><s:Code><s:Value>{fault.code}</s:Value>"
        f"<s:Subcode><s:Value>{fault.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        + (f"<s:Detail>{detail}</s:Detail>" if detail else "")
        + "</s:Fault>"
    )
    return _envelope(FAULT_ACTION, relates_to, body)
