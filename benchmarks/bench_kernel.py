"""Benchmark: ISCRO 2024 evaluations per second on one core, next to a hand-written durable-rules rule.

    python benchmarks/bench_kernel.py [--n 100000] [--rounds 5] [--block 1000] [--million]

The machines here are shared, so one long timing per path would compare a quiet minute with a busy one.
Instead the population is cut into ``--rounds`` slices, and each slice into blocks of about ``--block``
applications; the paths take turns block by block, so two paths compared are timed within a fraction of a
second of each other. Each round gives a rate per path and a ratio, and the figures printed are the
medians over the rounds (every path still sees all ``--n`` applications). Absolute rates drift between
runs and machines; the ratios measured side by side are what the targets speak of.

The population (tests/population.py, synthetic, not INPS data) stays in memory for the whole run, as a
batch job's would. ``gc.freeze()`` after building it keeps the collector from re-scanning those
hundreds of thousands of input objects in the middle of every path's timing, the hand-written rule's
included.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from population import application

from engine import Library, evaluate, explain
from engine._facts import selecting_date
from engine._run import run_case


def hand_written(law: Any) -> tuple[Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], None], list[int]]:
    """One durable-rules rule for the same decision (all eleven requirements of ISCRO 2024), posted through
    the library's public API: ``post_row`` takes inputs already derived (reference income, 70% of the mean,
    whole years of partita IVA, the application window, an earlier ISCRO in the exclusion years), the floor;
    ``post_case`` derives them from the raw facts first, as any real caller must."""
    from durable.engine import MessageNotHandledException
    from durable.lang import m, post, ruleset, when_all

    admitted = [0]
    with ruleset("bench_hand_written"):
        @when_all((m.gestione_separata == True) & (m.pensione == False) & (m.altra_cassa == False)  # noqa: E712
                  & (m.adi == False) & (m.regolare == True) & (m.reddito_dich <= m.soglia)  # noqa: E712
                  & (m.anni_piva >= 3) & (m.reddito_rif < m.soglia_calo)
                  & (m.iscro_recente == False) & (m.giorno >= m.apertura) & (m.giorno <= m.scadenza)  # noqa: E712
                  & (m.naspi == False) & (m.dis_coll == False) & (m.alas == False)  # noqa: E712
                  & (m.idis == False) & (m.carica == False))  # noqa: E712
        def ammesso(c: Any) -> None:
            admitted[0] += 1

    def post_row(row: dict[str, Any]) -> None:
        with contextlib.suppress(MessageNotHandledException):  # raised when no rule matches
            post("bench_hand_written", row)

    def post_case(case: dict[str, Any]) -> None:
        post_row(hand_written_row(case, law))

    return post_row, post_case, admitted


def hand_written_row(c: dict[str, Any], law: Any) -> dict[str, Any]:
    day = dt.date.fromisoformat(c["data_domanda"])
    year = day.year - 1
    incomes = {int(k): float(v) for k, v in c["reddito_lavoro_autonomo"].items()}
    mean = (incomes.get(year - 2, 0.0) + incomes.get(year - 1, 0.0)) / 2
    opening = law.parameters["apertura_finestra"].at(day)
    excluded = law.parameters["anni_esclusione"].at(day).value
    return {
        "sid": "0", "gestione_separata": c.get("iscritto_gestione_separata", False),
        "pensione": c.get("titolare_pensione_diretta", True),
        "altra_cassa": c.get("assicurato_altra_forma_obbligatoria", True),
        "adi": c.get("percettore_assegno_inclusione", True), "regolare": c.get("regolarita_contributiva", False),
        "reddito_dich": float(c.get("reddito_dichiarato", {}).get(str(year), 1e9)),
        "soglia": float(law.parameters["soglia_reddito"].at(day).value),
        "anni_piva": (day - dt.date.fromisoformat(c["data_apertura_partita_iva"])).days // 365,
        "reddito_rif": incomes.get(year, 1e9), "soglia_calo": mean * 0.7,
        "iscro_recente": any(int(p["data_inizio"][:4]) >= day.year - excluded
                             for p in c.get("prestazioni_iscro_precedenti", [])),
        "giorno": day.toordinal(), "scadenza": dt.date(day.year, 10, 31).toordinal(),
        "apertura": opening.value.toordinal() if opening is not None and opening.value is not None else 0,
        "naspi": c.get("percettore_naspi", True), "dis_coll": c.get("percettore_dis_coll", True),
        "alas": c.get("percettore_alas", True), "idis": c.get("percettore_idis", True),
        "carica": c.get("carica_elettiva_con_emolumenti", True),
    }


def records_of(result: Any) -> Any:
    """Read the records of a result's trace, which are made on first reading (every requirement with its
    values and missing facts, every derived value and computation)."""
    return result.requirements, result.values


def interleaved_rates(paths: dict[str, Callable[[Any], Any]], slices: dict[str, list[Any]],
                      block: int) -> dict[str, float]:
    """Each path's rate over its slice, the paths taking turns over blocks (the same number of blocks for
    every path, so a path with fewer items has smaller blocks)."""
    blocks = max(1, -(-max(len(items) for items in slices.values()) // block))
    elapsed = dict.fromkeys(paths, 0.0)
    for b in range(blocks):
        for name, fn in paths.items():
            items = slices[name]
            part = items[b * len(items) // blocks:(b + 1) * len(items) // blocks]
            start = time.perf_counter()
            for item in part:
                fn(item)
            elapsed[name] += time.perf_counter() - start
    return {name: len(slices[name]) / elapsed[name] for name in paths}


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="applications per path (default 100,000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--block", type=int, default=1000,
                        help="applications a path runs before the next path takes its turn (default 1,000)")
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 evaluations, watching memory")
    args = parser.parse_args()
    rng = random.Random(1)
    cases = [application(rng, first_year=2024, last_year=2026, missing_rate=0.02) for _ in range(args.n)]
    library = Library()
    law = library.get("iscro", "2024")
    pairs = [(c, selecting_date(c, "data_domanda")) for c in cases]
    run_case(law, *pairs[0])
    explain(run_case(law, *pairs[0]))
    post_row, post_case, counted = hand_written(law)
    rows = [hand_written_row(c, law) for c in cases]
    admitted = [p for p in pairs if run_case(law, *p).admitted]
    for row in rows:  # the hand-written rule decides as regole does (it treats a missing fact as failing)
        post_row(row)
    agreement = counted[0], len(admitted)
    gc.freeze()

    paths: dict[str, Callable[[Any], Any]] = {
        "floor": post_row,
        "derived": post_case,
        "trace": lambda p: run_case(law, *p),
        "trace_records": lambda p: records_of(run_case(law, *p)),
        "api": lambda c: evaluate(c, family="iscro", library=library),
        "explained": lambda p: explain(run_case(law, *p)),
        "explained_admitted": lambda p: explain(run_case(law, *p)),
    }
    inputs: dict[str, list[Any]] = {"floor": rows, "derived": cases, "trace": pairs, "trace_records": pairs,
                                    "api": cases,
                                    "explained": pairs, "explained_admitted": admitted}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for r in range(args.rounds):
        slices = {name: items[r * (len(items) // args.rounds):(r + 1) * (len(items) // args.rounds)]
                  for name, items in inputs.items()}
        for name, value in interleaved_rates(paths, slices, args.block).items():
            rates[name].append(value)
    med = {name: statistics.median(values) for name, values in rates.items()}
    def ratio(path: str, to: str) -> float:
        return statistics.median(t / f for t, f in zip(rates[path], rates[to], strict=True))

    spread = {name: (min(values), max(values)) for name, values in rates.items()}

    def line(label: str, name: str, extra: str = "") -> None:
        low, high = spread[name]
        print(f"{label:46s}: {med[name]:8,.0f} /s  (rounds {low:,.0f}-{high:,.0f}){extra}")

    print(f"applications: {args.n:,} per path (ISCRO 2024, synthetic; {len(admitted):,} admitted), "
          f"{args.rounds} rounds, paths taking turns every {args.block:,} applications, medians")
    print(f"admitted by the hand-written rule: {agreement[0]:,}; by regole: {agreement[1]:,} (they differ where "
          "facts are missing, which the hand-written rule reads as failing or empty, not as undetermined)")
    line("hand-written rule, inputs precomputed (floor)", "floor")
    line("hand-written rule, inputs derived per case", "derived")
    for label, path in (("regole kernel, decision + full trace", "trace"),
                        ("  the same, every trace record read", "trace_records")):
        line(label, path, f"\n{'':46s}  ratio {ratio(path, 'floor'):.3f} to the floor, "
             f"{ratio(path, 'derived'):.3f} to the derived-inputs rule")
    line("regole evaluate() incl. facts schema check", "api")
    line("regole trace + Italian explanation", "explained")
    line("  the same, admitted applications only", "explained_admitted")

    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "regole"), "evaluate", "examples/iscro-2024-ammessa.json"],
                   check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent)
    print(f"{'`regole evaluate` cold start, wall time':46s}: {time.perf_counter() - start:8.3f} s")

    if args.million:
        before = rss_mib()
        start = time.perf_counter()
        for i in range(1_000_000):
            run_case(law, *pairs[i % len(pairs)])
            if i % 250_000 == 0:
                print(f"  after {i:>9,}: RSS {rss_mib():7.1f} MiB")
        print(f"1,000,000 evaluations in {time.perf_counter() - start:.0f} s; RSS {before:.1f} -> {rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()
