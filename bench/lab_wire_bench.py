"""Micro benchmark of the lab's WS-Management server: N hosts in one process.

Measures the time to bind N listeners, the server's RSS, and ``run_cmd`` throughput/latency with parallel
pywinrm clients (in separate processes; each ``run_cmd`` = a new connection, an NTLM handshake and 5 encrypted
requests), and the server's own CPU time per request.

    .venv/bin/python bench/lab_wire_bench.py --hosts 1000 --clients 8 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import statistics
import threading
import time

import winrm

from winremedy.lab.stub import StubHost
from winremedy.lab.wsman import Listener, WsmanServer

USER, PASSWORD = "bench", "Bench-Passw0rd"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _client(ports: list[tuple[int, str]], seconds: float, seed: int) -> list[float]:
    """One client process: ``run_cmd`` against random hosts (new connection and NTLM handshake each)."""
    rng = random.Random(seed)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        port, name = rng.choice(ports)
        session = winrm.Session(f"http://127.0.0.1:{port}/wsman", auth=(USER, PASSWORD), transport="ntlm")
        started = time.perf_counter()
        result = session.run_cmd("hostname")
        latencies.append(time.perf_counter() - started)
        assert result.std_out == name.encode() + b"\r\n", result
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    # StubHost's run is the cheapest possible command (it prints the host name); limits high enough for the clients.
    listeners = [
        Listener(StubHost(f"HOST{i:04d}", USER, PASSWORD, max_shells_per_user=30, max_envelope_kb=500))
        for i in range(args.hosts)
    ]
    server = WsmanServer(listeners)
    loop = asyncio.new_event_loop()
    rss_before = _rss_mb()
    started = time.perf_counter()
    loop.run_until_complete(server.start())
    start_s = time.perf_counter() - started
    print(f"started {args.hosts} listeners in {start_s:.2f} s; peak RSS {_rss_mb():.0f} MB (before {rss_before:.0f} MB)")
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    ports = [(listener.port, listener.host.name) for listener in listeners]
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.clients) as pool:
        runs = pool.starmap(_client, [(ports, args.seconds, seed) for seed in range(args.clients)])
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

    latencies = [latency for run in runs for latency in run]
    requests = sum(listener.host.counters.requests for listener in listeners)
    print(
        f"{len(latencies)} run_cmd in {elapsed:.1f} s from {args.clients} client processes: "
        f"{len(latencies) / elapsed:.1f} run_cmd/s, {requests / elapsed:.0f} HTTP requests/s\n"
        f"run_cmd latency median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {statistics.quantiles(latencies, n=20)[-1] * 1000:.1f} ms\n"
        f"server CPU {server_cpu / len(latencies) * 1000:.2f} ms per run_cmd "
        f"({server_cpu / requests * 1000:.2f} ms per HTTP request); peak RSS {_rss_mb():.0f} MB"
    )
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()


if __name__ == "__main__":
    main()
