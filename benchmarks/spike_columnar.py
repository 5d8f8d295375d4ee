"""The measured spike behind the columnar backend's choice of library (docs/columnar.md): four representative
ISCRO 2024 requirements, written by hand in Polars and in DuckDB (both in-process, on the same Arrow table of
10^6 rows), exactly (integer cents), with Kleene nulls:

* calo_reddito: reddito[anno-1] < 70% of media(reddito[anno-3], reddito[anno-2]) (indexing by each row's year);
* soglia_reddito: reddito_dichiarato[anno-1] <= 12000.00;
* partita_iva: anni_compiuti(data_apertura_partita_iva, data_domanda) >= 3;
* iscro_precedente: nessuno(p in prestazioni: anno(p.data_inizio) >= anno_domanda - 2) (a list quantifier whose
  body reads a column of the row).

    python benchmarks/spike_columnar.py [--n 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

YEARS = (2020, 2021, 2022, 2023, 2024, 2025)


def population(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    epoch = dt.date(1970, 1, 1)
    day = (np.datetime64("2024-01-01") - np.datetime64(epoch)).astype(int) + rng.integers(0, 900, n)
    columns: dict[str, pa.Array] = {
        "data_domanda": pa.array(day.astype("int32"), pa.date32()),
        "data_apertura_partita_iva": pa.array((day - rng.integers(0, 4000, n)).astype("int32"), pa.date32()),
    }
    for year in YEARS:
        for fact in ("reddito_lavoro_autonomo", "reddito_dichiarato"):
            cents = rng.integers(0, 3_000_000, n)
            columns[f"{fact}.{year}"] = pa.array(cents, pa.int64(), mask=rng.random(n) < 0.02)
    lengths = rng.integers(0, 3, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("int32")
    starts = pa.array((day.repeat(lengths) - rng.integers(0, 1500, int(lengths.sum()))).astype("int32"), pa.date32())
    columns["prestazioni"] = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([starts],
                                                                                                   ["data_inizio"]))
    return pa.table(columns)


def by_year_polars(fact: str, year: pl.Expr) -> pl.Expr:
    expr = pl.lit(None, pl.Int64)
    for y in YEARS:
        expr = pl.when(year == y).then(pl.col(f"{fact}.{y}")).otherwise(expr)
    return expr


def run_polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    anno = pl.col("data_domanda").dt.year().cast(pl.Int64)
    reference = by_year_polars("reddito_lavoro_autonomo", anno - 1)
    mean_sum = by_year_polars("reddito_lavoro_autonomo", anno - 3) + by_year_polars("reddito_lavoro_autonomo", anno - 2)
    start, end = pl.col("data_apertura_partita_iva"), pl.col("data_domanda")
    end_day = end.dt.month().cast(pl.Int32) * 100 + end.dt.day()  # month() is Int8: widen before * 100
    start_day = start.dt.month().cast(pl.Int32) * 100 + start.dt.day()
    years = end.dt.year() - start.dt.year() - (end_day < start_day).cast(pl.Int32)
    # the quantifier: explode the list beside the row's own values, then Kleene any() per row
    exploded = (frame.select(pl.int_range(pl.len()).alias("i"), anno.alias("anno"), pl.col("prestazioni"))
                .explode("prestazioni")
                .select("i", (pl.col("prestazioni").struct.field("data_inizio").dt.year() >= pl.col("anno") - 2)
                        .alias("hit"))
                .group_by("i").agg(pl.col("hit").any(ignore_nulls=False)))
    lengths = pl.col("prestazioni").list.len()
    frame = frame.with_row_index("i").join(exploded, on="i", how="left", maintain_order="left")
    return frame.select(
        calo_reddito=reference * 200 < mean_sum * 70,
        soglia_reddito=by_year_polars("reddito_dichiarato", anno - 1) <= 1_200_000,
        partita_iva=years >= 3,
        iscro_precedente=pl.when(lengths == 0).then(True).otherwise(~pl.col("hit")),
    )


def by_year_sql(fact: str, year: str) -> str:
    cases = " ".join(f'WHEN {y} THEN "{fact}.{y}"' for y in YEARS)
    return f"(CASE {year} {cases} END)"


def run_duckdb(table: pa.Table) -> pa.Table:
    anno = "year(data_domanda)"
    reference = by_year_sql("reddito_lavoro_autonomo", f"{anno} - 1")
    mean_sum = (f'{by_year_sql("reddito_lavoro_autonomo", f"{anno} - 3")} + '
                f'{by_year_sql("reddito_lavoro_autonomo", f"{anno} - 2")}')
    years = ("year(data_domanda) - year(data_apertura_partita_iva) - CAST((month(data_domanda) * 100 + "
             "day(data_domanda)) < (month(data_apertura_partita_iva) * 100 + day(data_apertura_partita_iva)) AS INT)")
    sql = f"""SELECT {reference} * 200 < ({mean_sum}) * 70 AS calo_reddito,
        {by_year_sql("reddito_dichiarato", f"{anno} - 1")} <= 1200000 AS soglia_reddito,
        {years} >= 3 AS partita_iva,
        CASE WHEN len(prestazioni) = 0 THEN true ELSE NOT list_bool_or(list_transform(
            prestazioni, lambda p: year(p.data_inizio) >= {anno} - 2)) END AS iscro_precedente
        FROM population"""  # noqa: S608 - the spike's own constant text
    connection = duckdb.connect()
    connection.register("population", table)
    return connection.sql(sql).to_arrow_table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    table = population(args.n)
    results = {}
    for name, run in (("polars", run_polars), ("duckdb", run_duckdb)):
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            out = run(table)
            times.append(time.perf_counter() - start)
        results[name] = out if isinstance(out, pa.Table) else out.to_arrow()
        best = min(times)
        print(f"{name:7} {args.n:>9,} rows: best {best * 1000:7.1f} ms, {args.n / best / 1e6:5.2f} M rows/s")
    for column in ("calo_reddito", "soglia_reddito", "partita_iva", "iscro_precedente"):
        same = results["polars"].column(column).to_pylist() == results["duckdb"].column(column).to_pylist()
        print(f"{column}: the two agree: {same}")


if __name__ == "__main__":
    main()
