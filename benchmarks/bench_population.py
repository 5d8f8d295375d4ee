"""Benchmark: populations on the columnar backend, next to OpenFisca, plain numpy and the Rete path.

    python benchmarks/bench_population.py [--n 1000000] [--rete-n 100000] [--growth 100000,1000000,10000000]
                                          [--rounds 5] [--openfisca-python .bench-venv/bin/python] [--skip-growth]

Prints figures and ratios; asserts nothing. On the synthetic ISCRO 2024 population of the peers
(benchmarks/peers/population.py, seed 7, copied from the shared peers: the same rows for every contender):

1. the columnar backend on ``--n`` rows already in memory as a fact table: the decision, every requirement's
   outcome, every output and the missing facts, exactly (integer cents, three-valued outcomes): the first call,
   then the best of ``--rounds`` calls on one thread per core and on one thread, interleaved round by round
   with the numpy floor so that the ratio is taken at one load; plus the same after reading and checking the
   rows from Parquet;
2. the plain-numpy floor (peers/numpy_limit.py's rules, in this process) and the OpenFisca model
   (peers/openfisca_peer.py, run by ``--openfisca-python``: an environment of its own with
   ``openfisca-core``, never a dependency of regole; skipped with a note when not given);
3. today's Rete path of ``regole impact`` (per row, both versions) on ``--rete-n`` rows, and the columnar
   impact of ``--n`` rows under two versions from Parquet: the ratio per row;
4. ``regole batch`` on 10^5 .. 10^7 rows from Parquet (a new process each, wall time, peak RSS), and the
   10^6 run on one core against two.

The peers use floats and decide on inputs already derived (8 conditions); regole derives everything from the
raw facts (incomes by year, dates), exactly, with three-valued outcomes and per-row dated parameters. Times
drift with the machine and its load (2 cores shared with other work: the load is printed).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / "peers"
sys.path.insert(0, str(PEERS))
REGOLE = str(Path(sys.executable).parent / "regole")

import population as peer_population  # noqa: E402  (benchmarks/peers/population.py)

from engine._batch import euros  # noqa: E402
from engine._dataset import FactTable, read_rows  # noqa: E402
from engine._impact import measure_impact  # noqa: E402
from engine._impact_table import Comparison, PartTally, tally_part  # noqa: E402
from engine._read_columns import read_fact_tables  # noqa: E402
from engine._run import default_library  # noqa: E402
from engine.backends import evaluate_table  # noqa: E402
from engine.backends._layout import ROW  # noqa: E402

DAY = "2024-09-10"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def peer_rows(n: int) -> dict[str, np.ndarray]:
    return dict(peer_population.make(n))


def _cents(euros: np.ndarray) -> pa.Array:
    return pa.array(np.round(euros * 100).astype(np.int64))


def fact_table(n: int) -> pa.Table:
    """The peers' rows as a fact table (the columnar layout), exactly as make_facts.py writes them as facts."""
    p = peer_rows(n)
    false = pa.array(np.zeros(n, dtype=bool))
    opened = np.array([np.datetime64(f"{2024 - k}-08-01") for k in range(12)])[p["anni_piva"]]
    return pa.table({
        ROW: pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "data_domanda": pa.array(np.full(n, np.datetime64(DAY)), pa.date32()),
        "iscritto_gestione_separata": pa.array(p["gestione_separata"]),
        "titolare_pensione_diretta": pa.array(p["pensione"]),
        "assicurato_altra_forma_obbligatoria": pa.array(p["altra_cassa"]),
        "titolare_assegno_ordinario_invalidita": false,
        "percettore_assegno_inclusione": pa.array(p["adi"]),
        "percettore_naspi": false, "percettore_dis_coll": false, "percettore_alas": false, "percettore_idis": false,
        "carica_elettiva_con_emolumenti": false,
        "regolarita_contributiva": pa.array(p["regolare"]),
        "data_apertura_partita_iva": pa.array(opened.astype("datetime64[D]"), pa.date32()),
        "reddito_lavoro_autonomo.2021": _cents(p["reddito_m1"]),
        "reddito_lavoro_autonomo.2022": _cents(p["reddito_m2"]),
        "reddito_lavoro_autonomo.2023": _cents(p["reddito_rif"]),
        "reddito_dichiarato.2023": _cents(p["reddito_dich"]),
        "prestazioni_iscro_precedenti": pa.array([[]] * n, pa.list_(pa.struct([("data_inizio", pa.date32())]))),
    })


def input_parquet(facts: pa.Table, path: Path, *, row_group: int = 250_000) -> None:
    """The fact table as a population file (docs/datasets.md): money in euros (decimal); the earlier ISCRO
    benefits, none for every row, as one item column left empty (an empty list, known: without the column the
    list would be unknown and every would-be admission undetermined)."""
    columns = {}
    for name in facts.column_names:
        if name in (ROW, "prestazioni_iscro_precedenti"):
            continue
        column = facts.column(name)
        if name.startswith("reddito_"):
            column = euros(column)
        columns[name] = column
    columns["prestazioni_iscro_precedenti.1.data_inizio"] = pa.nulls(facts.num_rows, pa.date32())
    pq.write_table(pa.table(columns), str(path), row_group_size=row_group)


def best_of(runs: dict[str, Any], rounds: int) -> dict[str, tuple[float, float]]:
    """The best and the median time of each run, the runs interleaved round by round (so that they share the
    machine's load)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: (min(found), sorted(found)[len(found) // 2]) for name, found in times.items()}


def timed(label: str, fn: object, *args: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.3f} s")
    return seconds, result


def run_child(argv: list[str], *, cores: set[int] | None = None) -> tuple[float, int, str]:
    """Wall time, peak RSS (kB) and standard error of a child process."""
    def pin() -> None:
        if cores is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cores)

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True, cwd=ROOT,
                          preexec_fn=pin, check=False)
    seconds = time.perf_counter() - start
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak = int(match.group(1)) if match else max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    if done.returncode:
        print(done.stderr[-2000:])
    return seconds, peak, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rete-n", type=int, default=100_000)
    parser.add_argument("--growth", default="100000,1000000,10000000")
    parser.add_argument("--openfisca-python", default=os.environ.get("OPENFISCA_PYTHON"))
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many calls, in memory (default 5)")
    args = parser.parse_args()
    library = default_library()
    law_2021, law_2024 = library.get("iscro", "2021"), library.get("iscro", "2024")
    print(f"bench_population: n={args.n:,}, cores={os.cpu_count()}, load {load()}")

    print("\n1. columnar backend, ISCRO 2024 (decision + every requirement + outputs, exact)")
    facts = fact_table(args.n)
    evaluate_table(law_2024, facts.slice(0, 1000))  # compile once, outside the timing
    _, results = timed(f"evaluate_table on {args.n:,} rows in memory, first call", evaluate_table, law_2024,
                             facts)
    admitted = results.column("decisione").to_pylist().count("ammesso")  # type: ignore[attr-defined]
    p = peer_rows(args.n)
    start = time.perf_counter()
    ok, _ = peer_population.reference(p)
    print(f"  numpy floor, first call: {time.perf_counter() - start:.4f} s")
    print(f"  admitted {admitted:,}; numpy reference admits {int(ok.sum()):,}")
    best = best_of({"columnar, one thread per core": lambda: evaluate_table(law_2024, facts),
                    "columnar, one thread": lambda: evaluate_table(law_2024, facts, threads=1),
                    "numpy floor": lambda: peer_population.reference(p)}, args.rounds)
    for label, (seconds, median) in best.items():
        print(f"  {label}: {seconds:.4f} s (best of {args.rounds}; median {median:.4f} s; the three interleaved "
              "round by round)")
    t_columnar = best["columnar, one thread per core"][0]
    print(f"  median ratio to the floor: {best['columnar, one thread per core'][1] / best['numpy floor'][1]:.1f}x "
          f"(one thread: {best['columnar, one thread'][1] / best['numpy floor'][1]:.1f}x)")
    work = Path(tempfile.mkdtemp(prefix="bench-population-"))
    try:
        rest(args, facts, p, work, law_2021, law_2024, t_columnar, best["numpy floor"][0])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rest(args: argparse.Namespace, facts: pa.Table, p: dict[str, np.ndarray], work: Path, law_2021: object,
         law_2024: object, t_columnar: float, t_numpy: float) -> None:
    data = work / f"iscro-{args.n}.parquet"
    input_parquet(facts, data)

    def read_and_evaluate() -> int:
        rows = 0
        for batch in read_fact_tables(data, [law_2024], "parquet"):
            rows += evaluate_table(law_2024, batch.facts).num_rows
        return rows

    t_read_eval, _ = timed(f"read + check {args.n:,} rows from Parquet, then evaluate", read_and_evaluate)

    print("\n2. peers on the same rows")
    print(f"  numpy floor: {t_numpy:.4f} s (best of {args.rounds}, above)")
    t_openfisca = None
    if args.openfisca_python:
        done = subprocess.run([args.openfisca_python, str(PEERS / "openfisca_peer.py"), str(args.n)],
                              capture_output=True, text=True, cwd=PEERS, check=False)
        match = re.search(r"seconds=([\d.]+)", done.stdout)
        if match:
            t_openfisca = float(match.group(1))
            print(f"  OpenFisca: {t_openfisca:.3f} s ({done.stdout.strip()})")
        else:
            print(f"  OpenFisca failed: {done.stderr[-500:]}")
    else:
        print("  OpenFisca: not run (give --openfisca-python, an environment with openfisca-core)")

    print(f"\n3. impact 2021 -> 2024: today's Rete path on {args.rete_n:,} rows, columnar on {args.n:,} from Parquet")
    small = work / f"iscro-{args.rete_n}.parquet"
    input_parquet(facts.slice(0, args.rete_n), small)
    t_rete, impact = timed(f"Rete per-row path, {args.rete_n:,} rows", lambda: measure_impact(
        read_rows(small, FactTable([law_2021, law_2024]), "parquet"), law_2021, law_2024))
    comparison = Comparison.of(law_2021, law_2024)

    def columnar_impact() -> PartTally:
        total = PartTally()
        for batch in read_fact_tables(data, [law_2021, law_2024], "parquet"):
            total.merge(tally_part(batch, comparison))
        return total

    t_impact, _ = timed(f"columnar impact, {args.n:,} rows", columnar_impact)

    print("\nratios (rows per second)")
    rate = args.n / t_columnar
    print(f"  columnar, in memory: {rate:,.0f} rows/s; with reading and checking from Parquet: "
          f"{args.n / t_read_eval:,.0f} rows/s")
    print(f"  numpy floor: {args.n / t_numpy:,.0f} rows/s -> columnar is {t_columnar / t_numpy:.1f}x slower "
          f"(target: within 5x)")
    if t_openfisca:
        print(f"  OpenFisca: {args.n / t_openfisca:,.0f} rows/s -> columnar is {t_openfisca / t_columnar:.2f}x "
              "OpenFisca's rate (target: at least 2x)")
    per_row_rete = t_rete / args.rete_n
    per_row_columnar = t_impact / args.n
    print(f"  impact per row: Rete {per_row_rete * 1e6:.1f} us, columnar {per_row_columnar * 1e6:.2f} us -> "
          f"{per_row_rete / per_row_columnar:.0f}x (target: at least 100x)")
    del impact

    if args.skip_growth:
        return
    print("\n4. regole batch from Parquet to Parquet (a new process each: wall time, peak RSS)")
    sizes = [int(s) for s in args.growth.split(",") if s]
    for size in sizes:
        path = work / f"iscro-{size}.parquet"
        if size != args.n:
            chunk = min(size, 1_000_000)
            writer = None
            for start in range(0, size, chunk):
                part = fact_table(min(chunk, size - start))
                part = part.set_column(0, ROW, pa.array(np.arange(start + 1, start + part.num_rows + 1)))
                tmp = work / "part.parquet"
                input_parquet(part, tmp)
                table = pq.read_table(str(tmp))
                writer = writer or pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table, row_group_size=250_000)
            if writer is not None:
                writer.close()
        out = work / f"out-{size}.parquet"
        seconds, peak, _ = run_child([REGOLE, "batch", str(path), "--family", "iscro", "--out", str(out)])
        print(f"  {size:>12,} rows: {seconds:7.2f} s, {size / seconds:>10,.0f} rows/s, peak RSS {peak / 1024:,.0f} MB "
              f"(load {load()})")
    one = work / f"iscro-{args.n}.parquet"
    for cores in ({0}, {0, 1}):
        seconds, peak, _ = run_child([REGOLE, "batch", str(one), "--family", "iscro", "--out",
                                      str(work / "cores.parquet")], cores=cores)
        print(f"  {args.n:,} rows on {len(cores)} core(s): {seconds:.2f} s, peak RSS {peak / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
