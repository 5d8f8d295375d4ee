"""Benchmark: ISCRO 2024 evaluations per second on one core, next to a hand-written durable-rules rule.

    python benchmarks/bench_kernel.py [--n 100000] [--million]

Prints figures and the ratios measured in this run (absolute times drift between runs and machines).
The population is synthetic (tests/population.py), not INPS data.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from population import application

from engine import Library, evaluate, explain
from engine._facts import selecting_date
from engine._run import run_case


def hand_written_rates(cases: list[dict[str, Any]], law: Any) -> tuple[float, float]:
    """One durable-rules rule for the same decision, posted through the public API: the rate with its
    inputs (reference income, 70% of the mean, whole years of partita IVA...) precomputed outside the timing,
    and the rate when each case's inputs are derived from its raw facts inside the timing."""
    from durable.engine import MessageNotHandledException
    from durable.lang import m, post, ruleset, when_all

    admitted = [0]
    with ruleset("bench_hand_written"):
        @when_all((m.gestione_separata == True) & (m.pensione == False) & (m.altra_cassa == False)  # noqa: E712
                  & (m.adi == False) & (m.regolare == True) & (m.reddito_dich <= m.soglia)  # noqa: E712
                  & (m.anni_piva >= 3) & (m.reddito_rif < m.soglia_calo))
        def ammesso(c: Any) -> None:
            admitted[0] += 1

    rows = hand_written_rows(cases, law)
    start = time.perf_counter()
    for row in rows:
        with contextlib.suppress(MessageNotHandledException):  # raised when no rule matches
            post("bench_hand_written", row)
    precomputed = len(rows) / (time.perf_counter() - start)
    start = time.perf_counter()
    for case in cases:
        with contextlib.suppress(MessageNotHandledException):
            post("bench_hand_written", hand_written_rows([case], law)[0])
    derived = len(cases) / (time.perf_counter() - start)
    return precomputed, derived


def hand_written_rows(cases: list[dict[str, Any]], law: Any) -> list[dict[str, Any]]:
    rows = []
    for c in cases:
        day = dt.date.fromisoformat(c["data_domanda"])
        year = day.year - 1
        incomes = {int(k): float(v) for k, v in c["reddito_lavoro_autonomo"].items()}
        mean = (incomes.get(year - 2, 0.0) + incomes.get(year - 1, 0.0)) / 2
        rows.append({
            "sid": "0", "gestione_separata": c.get("iscritto_gestione_separata", False),
            "pensione": c.get("titolare_pensione_diretta", True),
            "altra_cassa": c.get("assicurato_altra_forma_obbligatoria", True),
            "adi": c.get("percettore_assegno_inclusione", True), "regolare": c.get("regolarita_contributiva", False),
            "reddito_dich": float(c.get("reddito_dichiarato", {}).get(str(year), 1e9)),
            "soglia": float(law.parameters["soglia_reddito"].at(day).value),
            "anni_piva": (day - dt.date.fromisoformat(c["data_apertura_partita_iva"])).days // 365,
            "reddito_rif": incomes.get(year, 1e9), "soglia_calo": mean * 0.7,
        })
    return rows


def rate(fn: Any, items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 evaluations, watching memory")
    args = parser.parse_args()
    rng = random.Random(1)
    cases = [application(rng, first_year=2024, last_year=2026, missing_rate=0.02) for _ in range(args.n)]
    library = Library()
    law = library.get("iscro", "2024")
    days = [selecting_date(c, "data_domanda") for c in cases]
    pairs = list(zip(cases, days, strict=True))
    run_case(law, cases[0], days[0])

    floor, fair = hand_written_rates(cases, law)
    trace = rate(lambda p: run_case(law, p[0], p[1]), pairs)
    api = rate(lambda c: evaluate(c, family="iscro", library=library), cases[: max(1, args.n // 5)])
    explained = rate(lambda p: explain(run_case(law, p[0], p[1])), pairs[: max(1, args.n // 5)])

    print(f"applications: {args.n:,} (ISCRO 2024, synthetic)")
    print(f"hand-written rule, inputs precomputed (floor)   : {floor:10,.0f} /s")
    print(f"hand-written rule, inputs derived per case      : {fair:10,.0f} /s")
    print(f"regole kernel, decision + full trace            : {trace:10,.0f} /s   "
          f"ratio {trace / floor:.3f} to the floor, {trace / fair:.3f} to the derived-inputs rule")
    print(f"regole evaluate() incl. facts schema check      : {api:10,.0f} /s   ratio {api / floor:.3f}")
    print(f"regole trace + Italian explanation              : {explained:10,.0f} /s")

    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "regole"), "evaluate", "examples/iscro-2024-ammessa.json"],
                   check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent)
    print(f"`regole evaluate` cold start, wall time        : {time.perf_counter() - start:10.3f} s")

    if args.million:
        before = rss_mib()
        start = time.perf_counter()
        for i in range(1_000_000):
            c, d = pairs[i % len(pairs)]
            run_case(law, c, d)
            if i % 250_000 == 0:
                print(f"  after {i:>9,}: RSS {rss_mib():7.1f} MiB")
        print(f"1,000,000 evaluations in {time.perf_counter() - start:.0f} s; RSS {before:.1f} -> {rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()
