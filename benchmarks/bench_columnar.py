"""Benchmark: the columnar backend's ``evaluate_table`` on synthetic ISCRO 2024 populations, beside the
plain-numpy floor of the issue's targets (benchmarks/peers/population.py, run in the same process at the same
time) and the Rete table adapter (the per-case kernel) on fewer rows.

    python benchmarks/bench_columnar.py [--base 100000] [--sizes 100000,1000000] [--rete 10000] [--rounds 5]

1. draws ``--base`` applications with the synthetic population generator (rulesets/iscro/population), turns
   them into a fact table (``facts_table``), and repeats that table (row numbers renumbered) to each size;
2. times ``evaluate_table(law, facts)`` (decision, every requirement's outcome, every output, the missing facts
   of undetermined rows) on each size, best of ``--rounds``, on one thread and on one per core; and the numpy
   floor on the same number of rows, interleaved with it so that both see the same load;
3. prints rows/s, the ratio to the floor (target: within 5x) and to OpenFisca's rows/s (target: 2x; OpenFisca
   is not a dependency: ``--openfisca-rows-per-s`` gives its figure, 7.4 M rows/s as the peers measured it at
   10^6 rows on this machine class);
4. times ``evaluate_table(law, facts, engine="rete")`` on ``--rete`` rows, and checks that both give the
   same table on those rows.

Reading and checking population files is the benchmark of ``regole batch`` and ``impact``; the figures here
start from a table in memory. The population is illustrative, not INPS data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from engine import Library
from engine._population import load_population, population_path
from engine._resources import rulesets_dir
from engine.backends import evaluate_table, facts_table
from engine.backends._layout import ROW

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
import population as peer_numpy  # benchmarks/peers/population.py: the peers' floor, copied


def tiled(table: pa.Table, size: int) -> pa.Table:
    """``table`` repeated to ``size`` rows, with ROW numbering them 1..size."""
    copies = -(-size // table.num_rows)
    big = pa.concat_tables([table] * copies).slice(0, size).combine_chunks()
    return big.set_column(big.schema.get_field_index(ROW), ROW, pa.array(range(1, size + 1), pa.int64()))


def best_of(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The best time of each run, the runs interleaved round by round (so they share the machine's load)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(found) for name, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rete", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--openfisca-rows-per-s", type=float, default=7.4e6)
    args = parser.parse_args()
    law = Library().get("iscro", "2024")
    start = time.perf_counter()
    rows = list(load_population(population_path(rulesets_dir(), "iscro")).applications(args.base, seed=1))
    base = facts_table(law, rows)
    cores = os.cpu_count() or 1
    print(f"population: {args.base:,} applications drawn and tabled in {time.perf_counter() - start:.1f} s "
          f"(cores: {cores}, load: {os.getloadavg()[0]:.1f})")
    decisions = evaluate_table(law, base).column("decisione").value_counts().to_pylist()
    print("decisions:", ", ".join(f"{d['values']} {d['counts']:,}" for d in decisions))
    for size in (int(s) for s in args.sizes.split(",")):
        facts = tiled(base, size)
        peers = peer_numpy.make(size)
        runs: dict[str, Callable[[], object]] = {
            "numpy floor": lambda peers=peers: peer_numpy.reference(peers),
            "columnar, 1 thread": lambda facts=facts: evaluate_table(law, facts, threads=1),
            f"columnar, {cores} threads": lambda facts=facts: evaluate_table(law, facts, threads=cores),
        }
        found = best_of(runs, args.rounds)
        floor = found["numpy floor"]
        for name, seconds in found.items():
            speed = size / seconds
            ratios = "" if name == "numpy floor" else (
                f"  {seconds / floor:5.1f}x the floor  {speed / args.openfisca_rows_per_s:5.2f}x OpenFisca's rows/s")
            print(f"{size:>10,} rows  {name:20}: {seconds:7.3f} s  {speed / 1e6:6.2f} M rows/s{ratios}")
    sample = tiled(base, args.rete)
    start = time.perf_counter()
    rete = evaluate_table(law, sample, engine="rete")
    seconds = time.perf_counter() - start
    print(f"{args.rete:>10,} rows  {'rete':20}: {seconds:7.3f} s  {args.rete / seconds:9,.0f} rows/s")
    print("the two agree on those rows:", rete.equals(evaluate_table(law, sample)))


if __name__ == "__main__":
    main()
