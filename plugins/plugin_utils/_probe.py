# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: the readiness probe of one host as a task result (kb_probe).

Everything decided here is the engine's (``winremedy.probe``); this module turns its verdict into
what Ansible expects. Import it only after :func:`._engine.require_engine`: it imports winremedy.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from ansible_collections.winremedy.windows.plugins.plugin_utils._transport import ConnectionTransport
from winremedy.errors import WinRemedyError
from winremedy.probe.command import save_readiness
from winremedy.probe.readiness import Readiness, unreachable
from winremedy.probe.run import probe_host

if t.TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

CONNECTION_FAILURES = frozenset({"unreachable", "auth", "tls"})  # what Ansible itself reports as UNREACHABLE


def kb_probe(connection: ConnectionBase, host: str, *, fail_when_not_ready: bool,
             results_dir: str | None) -> dict[str, t.Any]:
    """Probe ``host``; save the verdict under ``results_dir/probe/`` when asked, and return it as a task result."""
    try:
        transport = ConnectionTransport(connection, host)
    except WinRemedyError as error:
        readiness = unreachable(host, None, str(error), error.code)
    else:
        try:
            readiness = probe_host(transport)
        finally:
            transport.close()
    task = task_result(readiness, fail_when_not_ready=fail_when_not_ready)
    if results_dir:
        try:
            save_readiness(Path(results_dir), [readiness])
        except OSError as error:
            return {"failed": True, "msg": f"{host}: cannot save the verdict in {results_dir}: {error}"}
    return task


def task_result(readiness: Readiness, *, fail_when_not_ready: bool) -> dict[str, t.Any]:
    if readiness.error_code in CONNECTION_FAILURES:
        return {"unreachable": True, "changed": False, "msg": f"{readiness.summary()} ({readiness.error_code})",
                "error_code": readiness.error_code}
    data = readiness.to_dict()
    result: dict[str, t.Any] = {"changed": False, "ready": readiness.ready, **data,
                                "ansible_facts": {"winremedy_readiness": data}}
    if fail_when_not_ready and not readiness.ready:
        result.update(failed=True, msg=readiness.summary(), error_code="not_ready")
    return result
