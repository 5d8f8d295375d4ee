"""Benchmark: ``regole batch`` on this machine against ``regole batch --dask local``.

    python benchmarks/bench_batch_dask.py [--n 1000000] [--row-group 100000] [--format parquet]

The peers' synthetic ISCRO 2024 population (benchmarks/bench_population.py's generator, seed 7) written as a
Parquet file of several row groups; each run is a new process. Prints the wall time, the peak RSS of the
client process itself (its own high-water mark, /proc/PID/status VmHWM, read just before it exits) and, for
Dask, the largest peak among its worker processes; then checks that both runs wrote the same table. Asserts
no timing; times drift with the machine's load (printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from bench_population import REGOLE, fact_table, input_parquet, load  # run as benchmarks/bench_batch_dask.py


def _hwm(pid: int) -> int:
    """The peak resident set size of a process in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # a child may be started by any thread
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    for child in map(int, children):
        found += [child, *_descendants(child)]
    return found


def run(argv: list[str]) -> tuple[float, int, int]:
    """Wall time, the client's peak RSS (kB), the largest peak among its descendants (kB)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    client = workers = 0
    while process.poll() is None:
        client = max(client, _hwm(process.pid))
        for child in _descendants(process.pid):
            workers = max(workers, _hwm(child))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode:
        print(process.stderr.read() if process.stderr else "", file=sys.stderr)
        raise SystemExit(f"{argv} failed")
    return seconds, client, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--row-group", type=int, default=100_000)
    parser.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "domande.parquet"
        input_parquet(fact_table(args.n), data, row_group=args.row_group)
        groups = pq.ParquetFile(str(data)).metadata.num_row_groups
        print(f"{args.n:,} rows in {groups} row groups; load {load()}")
        outs = {}
        for label, extra in (("local", []), ("--dask local", ["--dask", "local"])):
            out = work / f"{label.strip('-').replace(' ', '_')}.{args.format}"
            seconds, client, workers = run([REGOLE, "batch", str(data), "--family", "iscro", "--out", str(out),
                                            *extra])
            outs[label] = out
            more = f", largest worker {workers / 1024:.0f} MB" if workers else ""
            print(f"  regole batch {label}: {seconds:.1f} s, client peak RSS {client / 1024:.0f} MB{more}; "
                  f"load {load()}")
        if args.format == "parquet":
            same = pq.read_table(str(outs["local"])).equals(pq.read_table(str(outs["--dask local"])))
        else:
            same = outs["local"].read_bytes() == outs["--dask local"].read_bytes()
        print(f"  the same results: {same}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
