"""The lab's WS-Management (WinRM) server: WinRS over HTTP/HTTPS with Basic and NTLM, for real clients.

Usage::

    tls = make_tls_material(directory, ["host1.lab"])
    listeners = [Listener(host), Listener(host, scheme="https")]
    with run_in_thread(listeners, tls) as server:
        ...  # listeners[i].port is bound
"""

from .server import Exchange, Listener, WsmanServer, run_in_thread
from .tls import TlsMaterial, make_tls_material

__all__ = ["Exchange", "Listener", "TlsMaterial", "WsmanServer", "make_tls_material", "run_in_thread"]
