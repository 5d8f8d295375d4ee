"""Benchmark: ``regole impact`` on a synthetic population, pinned to one CPU core.

    python benchmarks/bench_impact.py [--n 100000] [--scale 200000] [--csv] [--full-trace]

1. draws ``--n`` applications with ``regole population --family iscro --seed 1`` (JSON Lines);
2. times ``regole impact FILE --versions 2021,2024`` on them, as a user runs it (a new process, wall time
   including start-up), and checks that it finishes in under a minute;
3. times the same on ``--scale`` applications and extrapolates linearly to 1,000,000. The extrapolation is
   an estimate, labelled as such: the work per row is constant (tallies are streamed; only the admitted
   amounts are kept, a few MB per million rows).

Every row is evaluated twice (once per version) by the durable-rules kernel; absolute times drift with the
machine and its load, which is printed beside the figures. The population is illustrative, not INPS data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGOLE = str(Path(sys.executable).parent / "regole")
LIMIT_SECONDS = 60.0


def one_core() -> None:
    """Run the child on CPU 0 only (where the platform allows it)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT, preexec_fn=one_core)
    return time.perf_counter() - start, done.stdout


def population(n: int, folder: Path, suffix: str) -> tuple[Path, float]:
    path = folder / f"population-{n}{suffix}"
    seconds, _ = run([REGOLE, "population", "--family", "iscro", "--n", str(n), "--seed", "1", "--out", str(path)])
    return path, seconds


def impact(path: Path, extra: list[str]) -> tuple[float, str]:
    return run([REGOLE, "impact", str(path), "--versions", "iscro@2021,iscro@2024", *extra])


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="applications for the timed run (default 100,000)")
    parser.add_argument("--scale", type=int, default=200_000,
                        help="applications for the run extrapolated to 1,000,000 (default 200,000; 0 skips it)")
    parser.add_argument("--csv", action="store_true", help="also time the same population as CSV")
    parser.add_argument("--full-trace", action="store_true", help="also time --full-trace (the whole trace)")
    args = parser.parse_args()

    print(f"machine load before the run (1/5/15 min): {load()}; each command pinned to one core")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, seconds = population(args.n, folder, ".jsonl")
        print(f"regole population --n {args.n:,}: {seconds:6.1f} s ({args.n / seconds:,.0f} applications/s), "
              f"{path.stat().st_size / 2**20:.1f} MiB of JSON Lines")

        seconds, report = impact(path, [])
        verdict = "under" if seconds < LIMIT_SECONDS else "OVER"
        print(f"regole impact, {args.n:,} applications (JSON Lines): {seconds:6.1f} s wall, {args.n / seconds:,.0f} "
              f"rows/s, {seconds / args.n * 1e6:.0f} µs a row (two evaluations): {verdict} the {LIMIT_SECONDS:.0f} s "
              "limit")
        print("\n".join("    " + line for line in report.splitlines()[:12]))

        if args.csv:
            csv_path, _ = population(args.n, folder, ".csv")
            seconds, _ = impact(csv_path, [])
            print(f"regole impact, {args.n:,} applications (CSV): {seconds:6.1f} s wall")
        if args.full_trace:
            seconds, _ = impact(path, ["--full-trace"])
            print(f"regole impact --full-trace, {args.n:,} applications: {seconds:6.1f} s wall")

        if args.scale:
            big, _ = population(args.scale, folder, ".jsonl")
            seconds, _ = impact(big, [])
            per_row = seconds / args.scale
            print(f"regole impact, {args.scale:,} applications (measured): {seconds:6.1f} s wall, "
                  f"{args.scale / seconds:,.0f} rows/s")
            print(f"1,000,000 applications, EXTRAPOLATED linearly from the {args.scale:,} run (not measured): "
                  f"about {per_row * 1_000_000:,.0f} s ({per_row * 1_000_000 / 60:.1f} min) on one core")
    print(f"machine load after the run (1/5/15 min): {load()}")


if __name__ == "__main__":
    main()
