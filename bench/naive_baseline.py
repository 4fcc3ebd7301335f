"""The naive baseline: what a user writes without winremedy, one pywinrm ``run_ps`` per fact.

    .venv/bin/python bench/lab_naive.py up --dir LAB --hosts 100
    .venv/bin/python bench/naive_baseline.py -i LAB/inventory.yml --threads 64 --json naive.json

For each host of the inventory (read with PyYAML, as a user's script would),
one ``winrm.Session(endpoint, auth=(user, password), transport='ntlm')`` and
one ``session.run_ps(snippet)`` per fact of the same query the collector
answers (``build_query(load_catalog())``). ``run_ps`` sends each snippet as
``powershell -encodedcommand <base64>`` on the command line and opens and
deletes a shell for it (5 WS-Management requests; the NTLM handshake is done
once per session). The choice of facts, as a typical script splits them:

* OS: one call for ``Win32_OperatingSystem`` (caption, version, CSD version,
  service pack, product type, boot time), one for the architecture
  (``$env:PROCESSOR_ARCHITECTURE``: ``OSArchitecture`` does not exist on 2003),
  one for ``$PSVersionTable`` (PowerShell and CLR versions);
* one call per file version, per registry value and per registry key;
* one call per CBS package prefix (one per KB), one for the QFE list;
* one call per service name, per service image, per process name;
* one call per indicator per sample: K samples = K rounds, ``--interval``
  host seconds apart (a real-time sleep of interval / time scale).

With the catalog of 3 KBs that is 43 ``run_ps`` for one sample (+4 per extra
sample). Each snippet is small PowerShell 2.0 that prints plain text; it also
carries ``# winremedy-script: naive_fact 1`` and ``$WinRemedyArgs`` (its
parameter as data, which the body reads) so the lab can answer it (a lab
started by ``bench/lab_naive.py up``, whose extra stand-in answers them). The
answers are put together in the collector's raw shape and judged by the engine
(``facts_from_raw``, ``analyse``, ``assess``): the baseline differs from
``winremedy audit`` only in how it collects.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import winrm
import yaml

from winremedy.audit.assess import assess
from winremedy.catalog import Catalog, load_catalog
from winremedy.audit.collector import build_query, facts_from_raw
from winremedy.audit.leaks import analyse
from winremedy.psdata import ps_data

IDENTITY = "# winremedy-script: naive_fact 1"

# --- the snippets ---------------------------------------------------------------------------------

_EPOCH = "$t = ([DateTime]::UtcNow - (New-Object DateTime 1970, 1, 1)).TotalSeconds\n"
_PRINT_SAMPLE = ("if ($null -ne $value) { $t.ToString('R', [Globalization.CultureInfo]::InvariantCulture) + '|' + "
                 "$value }\n")

BODIES: dict[str, str] = {
    "os": """$os = Get-WmiObject Win32_OperatingSystem
[string]$os.Caption
[string]$os.Version
[string]$os.CSDVersion
[string]$os.ServicePackMajorVersion
[string]$os.ProductType
$os.ConvertToDateTime($os.LastBootUpTime).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
""",
    "arch": """if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
""",
    "powershell": """$PSVersionTable.PSVersion.ToString()
$PSVersionTable.CLRVersion.ToString()
""",
    "file": """$path = [Environment]::ExpandEnvironmentVariables($WinRemedyArgs.path)
if (Test-Path -LiteralPath $path) {
    $v = [Diagnostics.FileVersionInfo]::GetVersionInfo($path)
    '{0}.{1}.{2}.{3}' -f $v.FileMajorPart, $v.FileMinorPart, $v.FileBuildPart, $v.FilePrivatePart
}
""",
    "registry_value": """$key = 'Registry::' + (Split-Path -Parent $WinRemedyArgs.path)
$name = Split-Path -Leaf $WinRemedyArgs.path
$item = Get-ItemProperty -LiteralPath $key -Name $name -ErrorAction SilentlyContinue
if ($item) { $item.$name }
""",
    "registry_key": """Test-Path -LiteralPath ('Registry::' + $WinRemedyArgs.path)
""",
    "cbs": """$root = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages'
Get-ChildItem $root -ErrorAction SilentlyContinue |
    Where-Object { $_.PSChildName -like ($WinRemedyArgs.prefix + '*') } |
    ForEach-Object { $_.PSChildName + '|' + $_.GetValue('CurrentState') }
""",
    "qfe": """Get-WmiObject Win32_QuickFixEngineering | ForEach-Object {
    [string]$_.HotFixID + '|' + $_.ServicePackInEffect + '|' + $_.InstalledOn + '|' + $_.Description
}
""",
    "service": """$s = Get-WmiObject Win32_Service -Filter ("Name='" + $WinRemedyArgs.name + "'")
if ($s) {
    $p = Get-WmiObject Win32_Process -Filter ('ProcessId=' + $s.ProcessId)
    $s.Name + '|' + $s.ProcessId + '|' + $s.State + '|' + $p.CommandLine
}
""",
    "service_image": """Get-WmiObject Win32_Service | Where-Object { $_.PathName -like ('*' + $WinRemedyArgs.image + '*') } |
    ForEach-Object { $_.Name + '|' + $_.ProcessId + '|' + $_.State + '|' + $_.PathName }
""",
    "process": """$name = [IO.Path]::GetFileNameWithoutExtension($WinRemedyArgs.name)
Get-Process -Name $name -ErrorAction SilentlyContinue | ForEach-Object {
    [string]$_.Id + '|' + $_.PrivateMemorySize64 + '|' + $_.WorkingSet64 + '|' + $_.HandleCount
}
""",
}

# One snippet per indicator kind (the catalog's kinds).
INDICATOR_BODIES: dict[str, str] = {
    "counter": _EPOCH + """$value = (Get-WmiObject Win32_PerfRawData_PerfOS_Memory).PoolNonpagedBytes
""" + _PRINT_SAMPLE,
    "service_process": _EPOCH + """$s = Get-WmiObject Win32_Service -Filter ("Name='" + $WinRemedyArgs.target + "'")
$value = $null
if ($s -and $s.ProcessId) { $value = (Get-Process -Id $s.ProcessId).PrivateMemorySize64 }
""" + _PRINT_SAMPLE,
    "process": _EPOCH + """$name = [IO.Path]::GetFileNameWithoutExtension($WinRemedyArgs.target)
$value = $null
$procs = @(Get-Process -Name $name -ErrorAction SilentlyContinue)
if ($procs.Count -gt 0) { $value = ($procs | Measure-Object PrivateMemorySize64 -Sum).Sum }
""" + _PRINT_SAMPLE,
    # poolmon in PowerShell 2.0: NtQuerySystemInformation(SystemPoolTagInformation = 22), fields read at their
    # offsets (Geoff Chappell, SYSTEM_POOLTAG_INFORMATION); the longest snippet (about 4 KB on the command line).
    "pool_tag": _EPOCH + """Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class PoolTags {
    [DllImport("ntdll.dll")]
    public static extern int NtQuerySystemInformation(int infoClass, IntPtr buffer, int length, out int returned);
}
'@
$Marshal = [Runtime.InteropServices.Marshal]
$length = 65536
$status = -1073741820
while ($status -eq -1073741820) {
    $buffer = $Marshal::AllocHGlobal($length)
    $returned = 0
    $status = [PoolTags]::NtQuerySystemInformation(22, $buffer, $length, [ref]$returned)
    if ($status -eq -1073741820) {
        $Marshal::FreeHGlobal($buffer)
        $length = [Math]::Max($length * 2, $returned)
    }
}
if ([IntPtr]::Size -eq 8) { $size = 40; $used = 32 } else { $size = 28; $used = 24 }
$value = $null
$count = $Marshal::ReadInt32($buffer, 0)
for ($i = 0; $i -lt $count; $i++) {
    $offset = [IntPtr]::Size + $i * $size
    $tag = [Text.Encoding]::ASCII.GetString([BitConverter]::GetBytes($Marshal::ReadInt32($buffer, $offset)))
    if ($tag -eq $WinRemedyArgs.target) {
        if ([IntPtr]::Size -eq 8) { $value = $Marshal::ReadInt64($buffer, $offset + $used) }
        else { $value = $Marshal::ReadInt32($buffer, $offset + $used) }
    }
}
$Marshal::FreeHGlobal($buffer)
""" + _PRINT_SAMPLE,
}


def snippet(params: dict[str, Any]) -> str:
    """The PowerShell a user would send for one fact, with the identity header the lab answers by."""
    kind = params["kind"]
    body = INDICATOR_BODIES[params["kind_of_indicator"]] if kind == "indicator" else BODIES[kind]
    header_params = {k: v for k, v in params.items() if k != "kind_of_indicator"}
    return f"{IDENTITY}\n$WinRemedyArgs = {ps_data(header_params)}\n$ProgressPreference = 'SilentlyContinue'\n{body}"


def facts_to_ask(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every one-fact call except the indicator samples, in the order a script would make them."""
    calls: list[dict[str, Any]] = [{"kind": "os"}, {"kind": "arch"}, {"kind": "powershell"}]
    calls += [{"kind": "file", "path": path} for path in query["files"]]
    calls += [{"kind": "registry_value", "path": path} for path in query["registry_values"]]
    calls += [{"kind": "registry_key", "path": path} for path in query["registry_keys"]]
    calls += [{"kind": "cbs", "prefix": prefix} for prefix in query["cbs_prefixes"]]
    calls += [{"kind": "qfe"}]
    calls += [{"kind": "service", "name": name} for name in query["services"]]
    calls += [{"kind": "service_image", "image": image} for image in query["service_images"]]
    calls += [{"kind": "process", "name": name} for name in query["processes"]]
    return calls


def indicator_calls(query: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": "indicator", "id": i["id"], "kind_of_indicator": i["kind"], "target": i["target"],
             "metric": i["metric"]} for i in query["indicators"]]


# --- reading the answers --------------------------------------------------------------------------


def _lines(stdout: bytes) -> list[str]:
    return stdout.decode("utf-8", "replace").splitlines()


def _none(text: str) -> str | None:
    return text or None


def _registry_value(lines: list[str]) -> Any:
    if not lines:
        return None
    if len(lines) > 1:
        return lines
    text = lines[0]
    return int(text) if text.lstrip("-").isdigit() else text


def _service_rows(lines: list[str]) -> dict[str, dict[str, Any]]:
    rows = {}
    for line in lines:
        name, pid, state, path = line.split("|", 3)
        rows[name] = {"pid": int(pid or 0), "state": state, "path": path}
    return rows


def merge_answer(raw: dict[str, Any], params: dict[str, Any], stdout: bytes) -> None:
    """Put one snippet's printed answer into ``raw``, the collector's raw answer shape."""
    kind, lines = params["kind"], _lines(stdout)
    if kind == "os":
        caption, version, csd, sp, product_type, boot = (lines + [""] * 6)[:6]
        raw["os"].update(caption=caption, version=version, csd_version=_none(csd), sp=int(sp or 0),
                         product_type=int(product_type) if product_type else None, boot_time=_none(boot))
    elif kind == "arch":
        raw["os"]["processor_architecture"] = lines[0] if lines else None
    elif kind == "powershell":
        psv, clr = (lines + ["", ""])[:2]
        raw["powershell_version"], raw["clr_version"] = _none(psv), _none(clr)
    elif kind == "file":
        raw["files"][params["path"]] = lines[0] if lines else None
    elif kind == "registry_value":
        raw["registry_values"][params["path"]] = _registry_value(lines)
    elif kind == "registry_key":
        raw["registry_keys"][params["path"]] = bool(lines) and lines[0] == "True"
    elif kind == "cbs":
        raw["cbs"] += [{"package": name, "state": int(state)} for name, state in (line.rsplit("|", 1) for line in lines)]
    elif kind == "qfe":
        for line in lines:
            hotfix_id, sp_in_effect, installed_on, description = line.split("|", 3)
            raw["qfe"].append({"id": hotfix_id, "sp_in_effect": _none(sp_in_effect),
                               "installed_on": _none(installed_on), "description": description})
    elif kind in ("service", "service_image"):
        raw["services"].update(_service_rows(lines))
    elif kind == "process":
        raw["processes"][params["name"]] = [
            dict(zip(("pid", "private_bytes", "working_set", "handles"), map(int, line.split("|")), strict=True))
            for line in lines]
    elif kind == "indicator":
        for line in lines:
            t, value = line.split("|")
            raw["samples"].setdefault(params["id"], []).append([float(t), float(value)])
    else:
        raise ValueError(f"unknown kind {kind!r}")


def empty_raw() -> dict[str, Any]:
    return {"script": "collect", "errors": [], "os": {}, "files": {}, "registry_values": {}, "registry_keys": {},
            "cbs": [], "qfe": [], "services": {}, "processes": {}, "samples": {}}


# --- one host, the fleet --------------------------------------------------------------------------


class HostFailed(Exception):
    pass


def collect_naively(session: Any, query: dict[str, Any], *, samples: int = 1, pause: float = 0.0,
                    sleep: Any = time.sleep) -> dict[str, Any]:
    """Ask every fact with its own ``session.run_ps``; the answers in the collector's raw shape."""
    raw = empty_raw()

    def ask(params: dict[str, Any]) -> None:
        response = session.run_ps(snippet(params))
        if response.status_code != 0:
            message = response.std_err.decode("utf-8", "replace").strip()
            if params["kind"] == "os":
                raise HostFailed(f"{params['kind']}: rc {response.status_code}: {message}")
            raw["errors"].append(f"{params['kind']} {params}: rc {response.status_code}: {message}")
            return
        merge_answer(raw, params, response.std_out)

    for params in facts_to_ask(query):
        ask(params)
    for round_ in range(samples):
        if round_:
            sleep(pause)
        for params in indicator_calls(query):
            ask(params)
    times = [t for points in raw["samples"].values() for t, _ in points]
    collected = datetime.fromtimestamp(max(times), timezone.utc) if times else datetime.now(timezone.utc)
    raw["collected_at"] = collected.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not raw["os"]:
        raw["os"] = None
    return raw


def audit_naively(endpoint: str, user: str, password: str, name: str, query: dict[str, Any], catalog: Catalog,
                  *, samples: int, pause: float) -> dict[str, Any]:
    """One host the naive way: a result with per-KB statuses, or an error."""
    started = time.monotonic()
    try:
        session = winrm.Session(endpoint, auth=(user, password), transport="ntlm")
        raw = collect_naively(session, query, samples=samples, pause=pause)
        facts = facts_from_raw(raw, host=name)
        facts.leaks = analyse(facts, catalog)
        statuses = {f.kb: f.status.value for f in assess(facts, catalog)}
        return {"host": name, "statuses": statuses, "errors": raw["errors"], "duration": time.monotonic() - started}
    except Exception as exc:  # noqa: BLE001 - a failed host is a figure here, as in the CLI
        return {"host": name, "error": f"{type(exc).__name__}: {exc}", "duration": time.monotonic() - started}


def targets(inventory: Path) -> list[tuple[str, str, str, str]]:
    """(name, endpoint, user, password) of each host of a lab inventory, read the way a user's script would."""
    data = yaml.safe_load(inventory.read_text())
    rows = []
    for group in data["all"]["children"].values():
        for name, v in group["hosts"].items():
            rows.append((name, f"http://{v['ansible_host']}:{v['ansible_port']}/wsman", v["ansible_user"],
                         v["ansible_password"]))
    return rows


def run(hosts: list[tuple[str, str, str, str]], *, threads: int, samples: int, interval: float, time_scale: float,
        budget: float | None) -> dict[str, Any]:
    """Audit ``hosts`` naively with ``threads`` threads; after ``budget`` seconds no new host is started."""
    catalog = load_catalog()
    query = build_query(catalog, samples=samples, interval=interval)
    pause = interval / time_scale if samples > 1 else 0.0
    started = time.monotonic()
    deadline = None if budget is None else started + budget
    lock = threading.Lock()
    done: list[dict[str, Any]] = []

    def one(host: tuple[str, str, str, str]) -> None:
        if deadline is not None and time.monotonic() > deadline:
            return
        result = audit_naively(host[1], host[2], host[3], host[0], query, catalog, samples=samples, pause=pause)
        with lock:
            done.append(result)

    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="naive") as pool:
        list(pool.map(one, hosts))
    elapsed = time.monotonic() - started
    calls = len(facts_to_ask(query)) + samples * len(indicator_calls(query))
    return {"hosts": len(hosts), "audited": len(done), "elapsed": elapsed, "threads": threads, "samples": samples,
            "run_ps_per_host": calls, "budget": budget, "results": sorted(done, key=lambda r: r["host"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", type=Path, required=True, help="a lab's inventory.yml")
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--interval", type=float, default=60.0, help="host seconds between samples")
    parser.add_argument("--time-scale", type=float, default=1.0, help="the lab's host seconds per real second")
    parser.add_argument("--limit", type=int, help="only the first N hosts of the inventory")
    parser.add_argument("--budget", type=float, help="start no new host after this many seconds")
    parser.add_argument("--json", type=Path, help="write the figures and per-host results here")
    args = parser.parse_args()
    hosts = sorted(targets(args.inventory))[:args.limit]
    report = run(hosts, threads=args.threads, samples=args.samples, interval=args.interval,
                 time_scale=args.time_scale, budget=args.budget)
    failed = sum(1 for r in report["results"] if "error" in r)
    print(f"naive: {report['audited']}/{report['hosts']} hosts, {failed} failed, {report['elapsed']:.1f} s, "
          f"{report['run_ps_per_host']} run_ps per host, {args.threads} threads")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
