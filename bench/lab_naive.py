"""A lab that also answers ``naive_fact``: the one-fact snippets of the naive baseline (``bench/naive_baseline.py``).

    python bench/lab_naive.py up --dir DIR --hosts N [--seed S] [--time-scale X]
    python bench/naive_baseline.py -i DIR/inventory.yml ...
    winremedy lab down --dir DIR

``up`` takes the options of ``winremedy lab up`` and starts the same daemon
with one more stand-in (:func:`answer`) in its table of script answers;
``winremedy lab status`` and ``down`` work on it as on any lab. The stand-in
lives here, not in the package: it serves only the benchmark.

The baseline is what a user writes without winremedy: one pywinrm ``run_ps``
per fact, each a few lines of PowerShell that print the fact as plain text.
Each snippet carries the identity line ``# winremedy-script: naive_fact 1``
and ``$WinRemedyArgs = @{kind = ...; ...}``, so the lab knows what it asks.

The value is read from the host model by :func:`winremedy.lab.collect.answer`
with a one-item query (the collector's own section code: the baseline and the
collector see the same host), then printed the way the snippet prints it:

=================  ===========================  ==================================================
kind               parameters                   output (lines, CRLF)
=================  ===========================  ==================================================
``os``             -                            Caption, Version, CSDVersion, ServicePackMajorVersion,
                                                ProductType, LastBootUpTime (ISO 8601 UTC)
``arch``           -                            PROCESSOR_ARCHITECTURE (``AMD64``, ``x86``, ``IA64``)
``powershell``     -                            PSVersion, CLRVersion
``file``           ``path``                     the version, or nothing if the file is absent
``registry_value`` ``path``                     the value (a multi-string: one line each), or nothing
``registry_key``   ``path``                     ``True`` or ``False``
``cbs``            ``prefix``                   ``package|state`` per matching CBS package
``qfe``            -                            ``HotFixID|ServicePackInEffect|InstalledOn|Description``
``service``        ``name``                     ``name|pid|state|path``, or nothing
``service_image``  ``image``                    ``name|pid|state|path`` per service running it
``process``        ``name``                     ``pid|private_bytes|working_set|handles`` per process
``indicator``      ``id``, ``kind``, ``target``,  ``t|value`` (t: host time, epoch seconds), or nothing
                   ``metric``                   when the host has no such indicator
=================  ===========================  ==================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from winremedy.lab import cli, collect, daemon
from winremedy.lab.api import CommandResult
from winremedy.lab.cmdline import CommandLine
from winremedy.lab.emulated import PROGRAMS, STAND_INS
from winremedy.lab.host import HostModel
from winremedy.psdata import FRAME_SENTINEL

SCRIPT = "naive_fact"


def answer(host: HostModel, params: dict[str, Any]) -> CommandResult:
    """What the naive snippet for ``params['kind']`` prints on this host."""
    kind = params.get("kind")
    fact = _FACTS.get(kind) if isinstance(kind, str) else None
    if fact is None:
        return CommandResult(b"", f"winremedy lab: naive_fact: unknown kind {kind!r}\r\n".encode("utf-8"), 1)
    query, show = fact
    result = collect.answer(host, {**query(params), "samples": 1, "interval": 0.0})
    try:
        raw = json.loads(result.stdout.removeprefix(FRAME_SENTINEL.encode("ascii")))
    except ValueError:
        return result  # a fault (garbled output): the snippet's output is as broken as the collector's
    lines = show(raw, params)
    text = "".join(f"{line}\r\n" for line in lines)
    return CommandResult(text.encode("utf-8"), b"", 0)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _os(raw: dict[str, Any], _: dict[str, Any]) -> list[str]:
    os_info = raw["os"]
    return [_text(os_info[key]) for key in ("caption", "version", "csd_version", "sp", "product_type", "boot_time")]


def _registry_value(raw: dict[str, Any], params: dict[str, Any]) -> list[str]:
    value = raw["registry_values"][params["path"]]
    if value is None:
        return []
    return [_text(v) for v in value] if isinstance(value, list) else [_text(value)]


def _service_lines(services: dict[str, Any]) -> list[str]:
    return [f"{name}|{s['pid']}|{s['state']}|{s['path']}" for name, s in services.items()]


def _indicator(raw: dict[str, Any], params: dict[str, Any]) -> list[str]:
    points = raw["samples"].get(params["id"])
    return [f"{t!r}|{int(value)}" for t, value in points] if points else []


_Query = Callable[[dict[str, Any]], dict[str, Any]]
_Show = Callable[[dict[str, Any], dict[str, Any]], list[str]]
_FACTS: dict[str, tuple[_Query, _Show]] = {
    "os": (lambda p: {"os": True}, _os),
    "arch": (lambda p: {"os": True}, lambda raw, p: [raw["os"]["processor_architecture"]]),
    "powershell": (lambda p: {}, lambda raw, p: [_text(raw["powershell_version"]), _text(raw["clr_version"])]),
    "file": (lambda p: {"files": [p["path"]]}, lambda raw, p: [v] if (v := raw["files"][p["path"]]) else []),
    "registry_value": (lambda p: {"registry_values": [p["path"]]}, _registry_value),
    "registry_key": (lambda p: {"registry_keys": [p["path"]]},
                     lambda raw, p: [str(bool(raw["registry_keys"][p["path"]]))]),
    "cbs": (lambda p: {"cbs_prefixes": [p["prefix"]]},
            lambda raw, p: [f"{row['package']}|{row['state']}" for row in raw["cbs"]]),
    "qfe": (lambda p: {"qfe": True}, lambda raw, p: [
        "|".join(_text(row[k]) for k in ("id", "sp_in_effect", "installed_on", "description")) for row in raw["qfe"]]),
    "service": (lambda p: {"services": [p["name"]]}, lambda raw, p: _service_lines(raw["services"])),
    "service_image": (lambda p: {"services": [], "service_images": [p["image"]]}, lambda raw, p: _service_lines(raw["services"])),
    "process": (lambda p: {"processes": [p["name"]]}, lambda raw, p: [
        f"{m['pid']}|{m['private_bytes']}|{m['working_set']}|{m['handles']}" for m in raw["processes"][p["name"]]]),
    "indicator": (lambda p: {"indicators": [{k: p[k] for k in ("id", "kind", "target", "metric")}]}, _indicator),
}
KINDS = tuple(_FACTS)
COMMAND_LINE = CommandLine({**STAND_INS, SCRIPT: answer}, PROGRAMS)


def main(argv: list[str]) -> int:
    """``up ...``: ``winremedy lab up`` with this daemon; ``serve ...``: the daemon itself (run by ``up``)."""
    if argv[:1] == ["serve"]:
        return daemon.main(argv[1:], COMMAND_LINE)
    if argv[:1] == ["up"]:
        return cli.main(["lab", *argv], daemon=(str(Path(__file__).resolve()), "serve"))
    print("usage: lab_naive.py up --dir DIR [winremedy lab up options]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
