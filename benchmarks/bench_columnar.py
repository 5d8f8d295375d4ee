"""Benchmark: the columnar backend's ``evaluate_table`` on synthetic ISCRO 2024 populations, beside the Rete
table adapter (the per-case kernel) on fewer rows.

    python benchmarks/bench_columnar.py [--base 100000] [--sizes 100000,1000000] [--rete 10000] [--rounds 3]

1. draws ``--base`` applications with the synthetic population generator (rulesets/iscro/population), turns
   them into a fact table (``facts_table``), and repeats that table (row numbers renumbered) to each size;
2. times ``evaluate_table(law, facts)`` (decision, every requirement's outcome, every output, the missing facts
   of undetermined rows) on each size, best of ``--rounds``, with every thread DuckDB has and with one;
3. times ``evaluate_table(law, facts, engine="rete")`` on ``--rete`` rows, and checks that both give the
   same table on those rows.

Reading and checking population files is 13b's benchmark (benchmarks/ of ``regole batch`` and ``impact``);
the figures here start from a table in memory. The population is illustrative, not INPS data.
"""

from __future__ import annotations

import argparse
import os
import time

import pyarrow as pa

from engine import Library
from engine._population import load_population, population_path
from engine._resources import rulesets_dir
from engine.backends import evaluate_table, facts_table
from engine.backends._layout import ROW
from engine.backends.columnar import evaluate_table as columnar_table


def tiled(table: pa.Table, size: int) -> pa.Table:
    """``table`` repeated to ``size`` rows, with ROW numbering them 1..size."""
    copies = -(-size // table.num_rows)
    big = pa.concat_tables([table] * copies).slice(0, size)
    return big.set_column(big.schema.get_field_index(ROW), ROW, pa.array(range(1, size + 1), pa.int64()))


def best(run: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rete", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    law = Library().get("iscro", "2024")
    start = time.perf_counter()
    rows = list(load_population(population_path(rulesets_dir(), "iscro")).applications(args.base, seed=1))
    base = facts_table(law, rows)
    print(f"population: {args.base:,} applications drawn and tabled in {time.perf_counter() - start:.1f} s "
          f"(cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")
    decisions = evaluate_table(law, base).column("decisione").value_counts().to_pylist()
    print("decisions:", ", ".join(f"{d['values']} {d['counts']:,}" for d in decisions))
    for size in (int(s) for s in args.sizes.split(",")):
        facts = tiled(base, size)
        for threads in (None, 1):
            seconds = best(lambda facts=facts, threads=threads: columnar_table(law, facts, threads=threads),
                           args.rounds)
            label = "all threads" if threads is None else "1 thread"
            print(f"columnar {size:>10,} rows, {label:11}: {seconds:7.3f} s  {size / seconds / 1e6:6.2f} M rows/s")
    sample = tiled(base, args.rete)
    start = time.perf_counter()
    rete = evaluate_table(law, sample, engine="rete")
    seconds = time.perf_counter() - start
    print(f"rete     {args.rete:>10,} rows             : {seconds:7.3f} s  {args.rete / seconds:9,.0f} rows/s")
    print("the two agree on those rows:", rete.equals(evaluate_table(law, sample)))


if __name__ == "__main__":
    main()
