"""The faults a WinRM 2.0 host returns, with its codes and texts (MS-WSMV; Windows responses recorded in
jborean93/pypsrp ``tests/tests_pypsrp/responses`` and WinRb/WinRM ``tests/spec/stubs``; quota texts from
hashicorp/vagrant #7489)."""

from __future__ import annotations

from .soap import SoapFault

_UNEXPECTED_SELECTORS = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors"
_INVALID_SELECTORS = (
    "The WS-Management service cannot process the request because the request contained invalid "
    "selectors for the resource. "
)


def timed_out() -> SoapFault:
    """Receive had nothing new within OperationTimeout; clients poll again (note the two spaces)."""
    text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
    return SoapFault("s:Receiver", "w:TimedOut", text, 2150858793)


def unknown_shell(shell_id: str) -> SoapFault:
    return SoapFault(
        "s:Sender",
        "w:InvalidSelectors",
        _INVALID_SELECTORS,
        2150858843,
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ",
        _UNEXPECTED_SELECTORS,
    )


def unknown_command() -> SoapFault:
    return SoapFault(
        "s:Sender",
        "w:InvalidSelectors",
        _INVALID_SELECTORS,
        2150858843,
        "The Windows Remote Shell received a request to perform an operation on a command identifier that "
        "does not exist. Either the command has completed execution or the client specified an invalid "
        "command identifier. ",
        _UNEXPECTED_SELECTORS,
    )


def shell_quota(limit: int) -> SoapFault:
    """MaxShellsPerUser exceeded, in the WinRM 2.0 (2008 R2) form: ``w:QuotaLimit`` + WSManFault code."""
    return SoapFault(
        "s:Sender",
        "w:QuotaLimit",
        "The WS-Management service cannot process the request. The maximum number of concurrent shells for "
        "this user has been exceeded. Close existing shells or raise the quota for this user. ",
        2150859173,
        f"The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for "
        "this user. ",
    )


def internal_error() -> SoapFault:
    """An injected server-side failure: E_OUTOFMEMORY, what a host starved by a pool leak answers."""
    return SoapFault(
        "s:Receiver",
        "w:InternalError",
        "The WS-Management service cannot process the request. ",
        2147942414,
        "Not enough storage is available to complete this operation. ",
    )


def invalid_parameter() -> SoapFault:
    """A request the cmd shell plugin does not understand (missing element, bad stream name, ...)."""
    return SoapFault(
        "s:Sender",
        "w:InvalidParameter",
        "The parameter is incorrect. ",
        87,
        "The parameter is incorrect. ",
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue",
    )


def action_not_supported(action: str) -> SoapFault:
    """An action or resource the lab does not serve (PSRP, enumeration); no WSManFault code is recorded."""
    return SoapFault(
        "s:Sender",
        "a:ActionNotSupported",
        f"The action is not supported by the service: {action} ",
    )
