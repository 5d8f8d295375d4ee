"""Load test of ``regole serve``: requests per second and p50/p99 latency of ``POST /evaluate`` with 1 and 2
uvicorn workers, against a server this script starts on 127.0.0.1 (and only there).

Bounded: each run sends exactly ``--requests`` requests (default 2,000) from ``--concurrency`` client threads
(default 8), each on its own keep-alive connection, and gives up after ``--time-limit`` seconds (default 120);
the servers are stopped at the end whatever happens. A run passes when every request got a 200 with the
decision the same case gets from the engine in this process: no errors, no lost requests.

The client shares the machine with the server (these machines have 2 cores): its own CPU time is part of
what is measured, so the figures are a floor for a dedicated server, and the ratio between 1 and 2 workers
is the figure to read.

    python benchmarks/bench_service.py [--requests 2000] [--concurrency 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine import evaluate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "iscro-2024-ammessa.json").read_text(encoding="utf-8"))
HOST = "127.0.0.1"


def cases(n: int) -> list[tuple[bytes, str]]:
    """``n`` ISCRO applications (the INPS example with incomes varied, some refused), each with the decision
    the engine gives it here."""
    out = []
    for i in range(n):
        facts = copy.deepcopy(EXAMPLE)
        facts["reddito_lavoro_autonomo"]["2023"] = f"{1000 + (i * 37) % 6000}.00"
        facts["reddito_dichiarato"]["2023"] = str(Decimal(9000 + (i * 131) % 6000))
        out.append((json.dumps(facts).encode(), evaluate(facts).decision))
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start(workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--host", HOST, "--port", str(port),
                                "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.terminate()
        raise SystemExit("the server did not start within 60 s")
    return process, port


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process and its worker processes (Linux /proc), or NaN."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pids = 0.0, [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError):
        return float("nan")
    return total


def run(port: int, work: list[tuple[bytes, str]], concurrency: int, time_limit: float, path: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(work)))
    stop_at = time.monotonic() + time_limit

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            while time.monotonic() < stop_at:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body, expected = work[index]
                began = time.perf_counter()
                try:
                    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(f"request {index}: {exc!r}")
                    connection.close()
                    connection = http.client.HTTPConnection(HOST, port, timeout=30)
                    continue
                elapsed = time.perf_counter() - began
                decision = json.loads(payload).get("decision") if response.status == 200 else None
                with lock:
                    if response.status != 200 or decision != expected:
                        errors.append(f"request {index}: HTTP {response.status}, decision {decision!r}")
                    else:
                        latencies.append(elapsed)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    answered = len(latencies)
    return {"sent": len(work), "ok": answered, "errors": len(errors), "lost": len(work) - answered - len(errors),
            "seconds": wall, "rps": answered / wall if wall else 0.0,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1000 * latencies[min(answered - 1, int(answered * 0.99))] if latencies else float("nan"),
            "first_errors": errors[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds each run may take at most")
    parser.add_argument("--explain", action="store_true", help="ask for the Italian explanation too")
    args = parser.parse_args()
    path = "/evaluate?explain=true" if args.explain else "/evaluate"
    work = cases(args.requests)
    warmup = work[: min(200, len(work))]
    results = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        process, port = start(workers)
        try:
            run(port, warmup, args.concurrency, args.time_limit, path)  # every worker builds its networks first
            cpu = server_cpu_seconds(process.pid)
            results[workers] = figures = run(port, work, args.concurrency, args.time_limit, path)
            figures["cpu_ms"] = 1000 * (server_cpu_seconds(process.pid) - cpu) / max(1, figures["ok"])
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"workers={workers}: {figures['ok']:,}/{figures['sent']:,} ok, {figures['errors']} errors, "
              f"{figures['lost']} lost, {figures['rps']:,.0f} requests/s, p50 {figures['p50_ms']:.1f} ms, "
              f"p99 {figures['p99_ms']:.1f} ms, server CPU {figures['cpu_ms']:.2f} ms a request "
              f"({figures['seconds']:.1f} s, concurrency {args.concurrency}, {path})")
        for error in figures["first_errors"]:
            print(f"  {error}")
    if 1 in results and 2 in results and results[1]["rps"]:
        print(f"2 workers / 1 worker: {results[2]['rps'] / results[1]['rps']:.2f}x")
    failed = any(r["errors"] or r["lost"] for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
