"""Connections to hosts: the Transport protocol and its pywinrm implementation."""

from winremedy.transport.base import Result, Transport
from winremedy.transport.options import WinRMOptions
from winremedy.transport.winrm import WinRMTransport

__all__ = ["Result", "Transport", "WinRMOptions", "WinRMTransport"]
