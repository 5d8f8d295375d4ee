"""``regole impact`` on fact tables: the same JSON and report as the per-row path for the same data, whatever
the engine, the format and the batch size (tallies merge exactly); ``--set`` recorded and applied; ``--rows``;
a Dask LocalCluster giving the same JSON as a local run."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from conftest import cli

from engine import LawVersion
from engine._dataset import write_jsonl
from engine._impact_table import Comparison, PartTally, impact_of, tally_part
from engine._population import load_population
from engine._read_columns import FactBatch, read_fact_tables
from engine._resources import rulesets_dir

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

ENGINES = ["columnar", "rete"]


def without_time(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    data.pop("seconds")
    data.pop("source")
    return data


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 synthetic applications with some bad rows among them, as JSON Lines."""
    spec = load_population(rulesets_dir() / "iscro" / "population" / "default.yaml")
    rows = list(spec.applications(300, 5))
    path = tmp_path_factory.mktemp("impact") / "domande.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            if i % 50 == 7:
                row = {**row, "reddito_dichiarato": {"2023": "1.005"}}
            if i % 70 == 3:
                row = {**row, "sconosciuto": True}
            write_jsonl([row], handle)
    return path


@pytest.fixture(scope="module")
def reference(population: Path) -> dict[str, Any]:
    """Today's per-row path (the Rete kernel, one case at a time, full trace)."""
    code, out, err = cli("impact", str(population), "--versions", "2021,2024", "--json", "--full-trace")
    assert code == 0, err
    return without_time(out)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_json_as_the_per_row_path(population: Path, reference: dict[str, Any], engine: str) -> None:
    code, out, err = cli("impact", str(population), "--versions", "2021,2024", "--json", "--engine", engine,
                         "--batch-rows", "37")
    assert code == 0, err
    assert without_time(out) == reference
    assert reference["rows"]["bad"] > 0
    assert reference["a"]["missing_facts"]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_report_as_the_per_row_path(population: Path, engine: str) -> None:
    texts = []
    for extra in (["--full-trace"], ["--engine", engine]):
        code, out, _ = cli("impact", str(population), "--versions", "2021,2024", *extra)
        assert code == 0
        texts.append([line for line in out.splitlines() if "rows/s" not in line])
    assert texts[0] == texts[1]


def test_parquet_gives_the_same_figures(population: Path, tmp_path: Path, reference: dict[str, Any]) -> None:
    # The good JSON Lines rows as a flat Parquet file of text cells (the row with an unknown field is left
    # out: a Parquet column that names no fact stops the run), in row groups of 64 rows.
    flat = tmp_path / "d.parquet"
    _jsonl_to_flat_parquet(population, flat)
    code, out, err = cli("impact", str(flat), "--versions", "2021,2024", "--json", "--engine", ENGINES[0])
    assert code == 0, err
    got = without_time(out)
    assert got["a"] == reference["a"]
    assert got["b"] == reference["b"]
    assert got["transitions"] == reference["transitions"]


def cli_laws() -> list[LawVersion]:
    from engine._run import default_library

    return default_library().versions("iscro")


def _jsonl_to_flat_parquet(source: Path, target: Path) -> None:
    from engine._dataset import FactTable, flatten

    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if "sconosciuto" not in r]
    columns = FactTable(cli_laws()).columns(rows)
    cells = [flatten(r) for r in rows]
    pq.write_table(pa.table({c: pa.array([cell.get(c) for cell in cells], pa.string()) for c in columns}),
                   str(target), row_group_size=64)


def test_tallies_merge_exactly_in_any_split(population: Path) -> None:
    laws = cli_laws()
    comparison = Comparison.of(laws[0], laws[1], engine=ENGINES[0])
    batches = list(read_fact_tables(population, laws, "jsonl", block_bytes=1 << 30))
    whole = tally_part(batches[0], comparison)
    facts = batches[0].facts
    rng = random.Random(4)
    cuts = sorted(rng.sample(range(1, facts.num_rows), 5))
    merged = PartTally()
    for start, end in zip([0, *cuts], [*cuts, facts.num_rows], strict=True):
        part = FactBatch(facts.slice(start, end - start), [], end - start, 0)
        merged.merge(tally_part(part, comparison))
    merged.rows_read, merged.bad_rows, merged.problems = whole.rows_read, whole.bad_rows, whole.problems
    one = impact_of(whole, comparison, source="", fmt="", seconds=0).to_json()
    many = impact_of(merged, comparison, source="", fmt="", seconds=0).to_json()
    assert one == many


def test_set_changes_a_parameter_of_b_and_is_recorded(population: Path, reference: dict[str, Any]) -> None:
    code, out, err = cli("impact", str(population), "--versions", "2021,2024", "--json", "--engine", ENGINES[0],
                         "--set", "soglia_reddito=100000", "--set", "percentuale_calo=90%")
    assert code == 0, err
    data = without_time(out)
    assert data["overrides"] == {"soglia_reddito": "100000", "percentuale_calo": "0.9"}
    assert data["a"] == reference["a"]  # A untouched
    assert data["b"]["decisions"]["ammesso"] > reference["b"]["decisions"]["ammesso"]
    assert data["b"]["first_failure"].get("requisito.soglia_reddito", 0) == 0
    code, out, _ = cli("impact", str(population), "--versions", "2021,2024", "--engine", ENGINES[0],
                       "--set", "soglia_reddito=100000")
    assert "soglia_reddito = 100000" in out
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--set", "soglia=1")
    assert code == 5
    assert "has no such parameter" in err
    assert "soglia_reddito" in err
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--set", "soglia_reddito=10.000,00")
    assert code == 5
    assert "money" in err
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--set", "soglia_reddito")
    assert code == 2


def test_rows_lists_who_gains_and_who_loses(population: Path, tmp_path: Path, reference: dict[str, Any]) -> None:
    rows = tmp_path / "rows.csv"
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--engine", ENGINES[0], "--rows",
                       str(rows))
    assert code == 0, err
    table = pcsv.read_csv(str(rows)).to_pylist()
    assert len(table) == reference["rows"]["evaluated"]
    assert set(table[0]) == {"__row", "a.decisione", "b.decisione", "a.importo_mensile", "a.importo_totale",
                             "b.importo_mensile", "b.importo_totale"}
    gains = sum(1 for r in table if r["a.decisione"] != "ammesso" and r["b.decisione"] == "ammesso")
    assert gains == reference["gains"]
    admitted = [r for r in table if r["b.decisione"] == "ammesso"]
    assert f"{sum(round(r['b.importo_mensile'] * 100) for r in admitted) / 100:.2f}" == \
        reference["b"]["amounts"]["importo_mensile"]["total"]


def test_dask_local_cluster_gives_the_same_json(population: Path, tmp_path: Path) -> None:
    from engine._distributed import distributed_tally, partitions

    flat = tmp_path / "d.parquet"
    _jsonl_to_flat_parquet(population, flat)
    assert len(partitions(flat)) > 2
    laws = cli_laws()
    comparison = Comparison.of(laws[0], laws[1], engine=ENGINES[0])
    local = PartTally()
    for batch in read_fact_tables(flat, laws, "parquet"):
        local.merge(tally_part(batch, comparison))
    expected = impact_of(local, comparison, source="d", fmt="parquet", seconds=0).to_json()
    remote = distributed_tally(flat, comparison, overrides={}, scheduler=None, processes=False)
    assert impact_of(remote, comparison, source="d", fmt="parquet", seconds=0).to_json() == expected
    from distributed import LocalCluster  # a running cluster, reached by its address as --scheduler does

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster:
        remote = distributed_tally(flat, comparison, overrides={}, scheduler=cluster.scheduler_address)
    assert impact_of(remote, comparison, source="d", fmt="parquet", seconds=0).to_json() == expected


def test_dask_reads_parquet_only(population: Path) -> None:
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--dask", "local")
    assert code == 3
    assert "Parquet" in err


def test_full_trace_does_not_take_the_table_path_options(population: Path) -> None:
    code, _, err = cli("impact", str(population), "--versions", "2021,2024", "--full-trace", "--set",
                       "soglia_reddito=1")
    assert code == 2
    assert "--full-trace" in err
