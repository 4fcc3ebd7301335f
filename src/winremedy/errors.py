"""One error family for the engine, each kind with a stable code.

Expected failures (bad input, an unreachable host) are raised as a subclass of
:class:`WinRemedyError`; the CLI prints ``str(error)`` on one line and exits 2,
never a traceback. Messages name the file, key, host or KB involved.
"""

from __future__ import annotations


class WinRemedyError(Exception):
    """Base of every expected failure; ``code`` is stable and machine-readable."""

    code = "error"


class CatalogError(WinRemedyError):
    """A catalog file is unreadable or does not follow the schema."""

    code = "catalog"


class FactsError(WinRemedyError):
    """Host facts (JSON, systeminfo, wmic qfe) cannot be read or are not understood."""

    code = "facts"


class VersionError(WinRemedyError, ValueError):
    """A string is not a 4-part Windows file version."""

    code = "version"


class ProtocolError(WinRemedyError):
    """A host's answer is not the framed result the engine expects (missing, truncated, not UTF-8)."""

    code = "protocol"


class TransportConfigError(WinRemedyError):
    """Connection options for a host are invalid (wrong type or value of an ``ansible_winrm_*`` variable)."""

    code = "transport-config"


class InventoryError(WinRemedyError):
    """An Ansible inventory cannot be used: a missing or unparsable source, a ``--limit`` that matches no host,
    a wrong vault password, an undefined variable in a template."""

    code = "inventory"


class UnreachableError(WinRemedyError):
    """The host cannot be reached: connection refused or reset, DNS failure, connect or read timeout."""

    code = "unreachable"


class AuthenticationError(WinRemedyError):
    """The host rejected the credentials (HTTP 401) or they are incomplete."""

    code = "auth"


class TlsError(WinRemedyError):
    """The TLS handshake failed: untrusted or mismatched certificate, protocol error."""

    code = "tls"


class WinRMFaultError(WinRemedyError):
    """The WS-Management service answered with a fault (or a non-SOAP HTTP error)."""

    code = "wsman-fault"

    def __init__(self, message: str, *, fault_code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.fault_code = fault_code  # WSManFault/@Code or MSFT_WmiError/error_Code, e.g. 2150858843
        self.http_status = http_status


class CommandTimeoutError(WinRemedyError):
    """A command ran longer than the caller's timeout; it was terminated."""

    code = "timeout"


class ScriptFailedError(WinRemedyError):
    """A script or command exited non-zero and the caller asked for ``check=True``."""

    code = "script-failed"

    def __init__(self, message: str, *, rc: int, stderr: str) -> None:
        super().__init__(message)
        self.rc = rc
        self.stderr = stderr


class SamplerError(WinRemedyError):
    """The on-host sampler's script reported that it could not install, query or remove the sampler."""

    code = "sampler"


class RepoError(WinRemedyError):
    """A package or package repository is refused; ``path`` names the file and ``reason`` says why."""

    code = "repo"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class RemediationError(WinRemedyError):
    """A remediation step failed on a host; the message names the host, the KB and what was expected."""

    code = "remediation"

    def __init__(self, message: str, *, host: str, kb: str | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.kb = kb


class StageError(RemediationError):
    """The package could not be put on the host intact (disk space, download, share, hash)."""

    code = "stage"


class InstallError(RemediationError):
    """The installer could not run or reported a failure (its exit code is in the message)."""

    code = "install"


class RebootError(RemediationError):
    """A restart could not be requested, or the host did not come back in time."""

    code = "reboot"
