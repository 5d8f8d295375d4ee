"""The column-wise reader of population files (engine/_read_columns.py) against the per-row reader of
engine/_dataset.py: the same rows accepted, the same problems (row number, field, message) for the rejected,
the same facts for the accepted, on good populations of both families and on hostile rows, as JSON Lines, CSV
and Parquet, with blocks small enough that refused blocks are split."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from backends_support import case_facts, library
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FactsError
from engine._dataset import FactTable, Row, read_rows, write_csv, write_jsonl
from engine._population import load_population
from engine._read_columns import read_fact_tables
from engine._resources import rulesets_dir
from engine.backends import facts_table
from engine.backends._layout import ROW


def population(family: str, n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Synthetic applications where the family has a population file, else its YAML test cases, repeated."""
    path = rulesets_dir() / family / "population" / "default.yaml"
    if path.is_file():
        return list(load_population(path).applications(n, seed))
    cases = case_facts(family)
    return [cases[i % len(cases)] for i in range(n)]


def write(path: Path, family: str, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        if path.suffix == ".csv":
            write_csv(rows, FactTable(library().versions(family)).columns(rows), handle)
        else:
            write_jsonl(rows, handle)


def agree(path: Path, family: str, fmt: str, block_bytes: int = 4096) -> tuple[int, int]:
    """Assert both readers agree on ``path``; give (rows, bad rows)."""
    laws = library().versions(family)
    old = list(read_rows(path, FactTable(laws), fmt))
    batches = list(read_fact_tables(path, laws, fmt, batch_rows=7, block_bytes=block_bytes))
    assert [p for b in batches for p in b.problems] == [p for r in old for p in r.problems]
    assert sum(b.rows for b in batches) == len(old)
    assert sum(b.bad for b in batches) == sum(1 for r in old if r.facts is None)
    good = [r for r in old if r.facts is not None]
    expected = facts_table(laws, [r.facts for r in good if r.facts is not None])
    expected = expected.set_column(0, ROW, pa.array([r.number for r in good], pa.int64()))
    got = pa.concat_tables([b.facts for b in batches], promote_options="permissive")
    for column in sorted(set(expected.column_names) | set(got.column_names)):
        want = expected.column(column).to_pylist() if column in expected.column_names else [None] * len(good)
        have = got.column(column).to_pylist() if column in got.column_names else [None] * got.num_rows
        assert have == want, column
    return len(old), len(old) - len(good)


@pytest.mark.parametrize("family", ["iscro", "cig-covid"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_good_populations_read_the_same(tmp_path: Path, family: str, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    write(path, family, population(family, 300))
    assert agree(path, family, suffix[1:]) == (300, 0)


GOOD = {"data_domanda": "2024-09-10", "iscritto_gestione_separata": True, "regolarita_contributiva": True,
        "data_apertura_partita_iva": "2019-01-01", "reddito_lavoro_autonomo": {"2022": "9000.00", "2023": "1000"},
        "reddito_dichiarato": {"2023": "1000.50"}, "prestazioni_iscro_precedenti": [{"data_inizio": "2020-02-01"}]}

HOSTILE_JSON = [
    "null", "[1, 2]", '"text"', "{", "{} {}", '{"data_domanda": null}', "   ", "",
    '{"data_domanda": "2024-09-10", "z": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"data_domanda": "2023-02-29"}', '{"data_domanda": "2024-9-10"}', '{"data_domanda": " 2024-09-10"}',
    '{"data_domanda": "0000-01-01"}', '{"data_domanda": 20240910}',
    '{"data_domanda": "2024-09-10", "redito_dichiarato": {"2023": "1.00"}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": "6.000,50"}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": 6000.505}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": 6000.5}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"23": "1.00"}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": "1234567890123.00"}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": 1e13}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": "1.00"}',
    '{"data_domanda": "2024-09-10", "ultimo_reddito_certificato": "١٢٣"}',
    '{"data_domanda": "2024-09-10", "ultimo_reddito_certificato": "12\\n"}',
    '{"data_domanda": "2024-09-10", "iscritto_gestione_separata": "true"}',
    '{"data_domanda": "2024-09-10", "iscritto_gestione_separata": 1}',
    '{"data_domanda": "2024-09-10", "data_domanda": "2024-09-11"}',
    '{"data_domanda": "2024-09-10", "reddito_lavoro_autonomo": NaN}',
    '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": [{}]}',
    '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": [{"data_inizio": "2020-01-01", "x": 1}]}',
    '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": [' + ", ".join(
        ['{"data_inizio": "2020-01-01"}'] * 51) + "]}",
    '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": {"data_inizio": "2020-01-01"}}',
    '{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": "1.00"}}\r{"data_domanda": "2024-09-10"}',
    '{"reddito_dichiarato": {"2023": "1.00"}}',
]


def test_hostile_json_lines(tmp_path: Path) -> None:
    lines = []
    for bad in HOSTILE_JSON:
        lines += [json.dumps(GOOD)] * 3 + [bad]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, bad = agree(path, "iscro", "jsonl", block_bytes=2048)
    assert bad >= 25
    assert rows > 3 * len(HOSTILE_JSON)


HOSTILE_CELLS = {
    "data_domanda": ["2023-02-29", "2024-9-10", "10/09/2024", " 2024-09-10 ", "", "2024-09-10\u00a0", "١٩٩٩-01-01"],
    "iscritto_gestione_separata": ["TRUE", "yes", "1", " false", "\u00a0"],
    "reddito_dichiarato.2023": ["6.000,50", "6000.505", "-0", "1234567890123", "999999999999.99", "1e3", "+5",
                                ".5", "٣"],
    "prestazioni_iscro_precedenti.1.data_inizio": ["", "2020-13-01", "2020-01-01"],
    "prestazioni_iscro_precedenti.2.data_inizio": ["", "2021-01-01"],
}


def test_hostile_csv(tmp_path: Path) -> None:
    columns = list(HOSTILE_CELLS)
    good = {"data_domanda": "2024-09-10", "iscritto_gestione_separata": "true", "reddito_dichiarato.2023": "10.5",
            "prestazioni_iscro_precedenti.1.data_inizio": "", "prestazioni_iscro_precedenti.2.data_inizio": ""}
    lines = [",".join(columns)]
    for column, values in HOSTILE_CELLS.items():
        for value in values:
            lines += [",".join(good.values())] * 2
            cells = {**good, column: value}.values()
            lines.append(",".join(f'"{cell}"' if "," in cell else cell for cell in cells))
    lines += [",,,,", "", " , , ,,", "\u00a0,,,,", "2024-09-10,true", '"2024-09-10\n",true,1,,', "2024-09-10,true,1,,,"]
    lines += [",".join(good.values())] * 3
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, bad = agree(path, "iscro", "csv", block_bytes=512)
    assert bad >= 15
    assert rows > 40


def test_parquet_typed_and_text_cells(tmp_path: Path) -> None:
    n = 40
    rng = random.Random(5)
    table = pa.table({
        "data_domanda": pa.array([dt.date(2024, 9, 10)] * n, pa.date32()),
        "iscritto_gestione_separata": pa.array([rng.random() < 0.9 for _ in range(n)]),
        "regolarita_contributiva": pa.array(["true", "False", " true", "maybe"] * (n // 4)),
        "reddito_lavoro_autonomo.2022": pa.array([Decimal("9000.00"), Decimal("1.005"), None, Decimal("-3")] * (n // 4),
                                                 pa.decimal128(12, 3)),
        "reddito_lavoro_autonomo.2023": pa.array([1000, 10**13, None, -5] * (n // 4), pa.int64()),
        "reddito_dichiarato.2023": pa.array([1000.5, 0.1 + 0.2, None, 7.0] * (n // 4), pa.float64()),
        "ultimo_reddito_certificato": pa.array(["12.50", "12,50", None, "  7 "] * (n // 4)),
        "prestazioni_iscro_precedenti.1.data_inizio": pa.array([dt.date(2020, 1, 1), None] * (n // 2), pa.date32()),
    })
    path = tmp_path / "p.parquet"
    pq.write_table(table, str(path), row_group_size=9)
    rows, bad = agree(path, "iscro", "parquet")
    assert rows == n
    assert 0 < bad < n


def test_columns_that_name_no_fact_stop_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("data_domanda,reddito_dichiarato_2023\n2024-09-10,1\n", encoding="utf-8")
    with pytest.raises(FactsError, match="reddito_dichiarato_2023"):
        list(read_fact_tables(path, library().versions("iscro"), "csv"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_columns_of_facts_no_compared_version_reads_are_ignored_as_in_json_lines(tmp_path: Path,
                                                                                  suffix: str) -> None:
    """A family's population holds the facts of every version; compared on 2024 alone (a what-if), the columns
    of 2021's facts are ignored by both readers, as the same fields of a JSON Lines row are."""
    rows = population("iscro", 60)
    laws = [library().get("iscro", "2024")]
    jsonl, path = tmp_path / "p.jsonl", tmp_path / f"p{suffix}"
    write(jsonl, "iscro", rows)
    if suffix == ".csv":
        write(path, "iscro", rows)
    else:
        code, _, err = cli("population", "--family", "iscro", "--n", "60", "--seed", "3", "--out", str(path))
        assert code == 0, err
    assert "titolare_ape_sociale" in pq.read_schema(str(path)).names if suffix == ".parquet" else \
        "titolare_ape_sociale" in path.read_text(encoding="utf-8").splitlines()[0]  # a fact 2024 does not read
    old = list(read_rows(path, FactTable(laws), suffix[1:]))
    batches = list(read_fact_tables(path, laws, suffix[1:], batch_rows=7))
    assert [p for b in batches for p in b.problems] == [p for r in old for p in r.problems] == []
    read = laws[0].facts  # the JSON Lines reader keeps the fields no version reads (checked by the schema)

    def facts_read(found: list[Row]) -> Any:
        return json.loads(json.dumps([{k: v for k, v in (r.facts or {}).items() if k in read} for r in found],
                                     default=str))

    assert facts_read(old) == facts_read(list(read_rows(jsonl, FactTable(laws), "jsonl")))  # whatever the format
    assert sum(b.rows for b in batches) == 60


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_byte_order_mark_is_no_part_of_the_first_cell(tmp_path: Path, suffix: str) -> None:
    """Excel's "CSV UTF-8" (and Notepad) start a file with a UTF-8 byte order mark: both readers skip it, so the
    first column is data_domanda, not '\\ufeffdata_domanda'."""
    plain, marked = tmp_path / f"plain{suffix}", tmp_path / f"marked{suffix}"
    write(plain, "iscro", population("iscro", 40))
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert agree(marked, "iscro", suffix[1:]) == agree(plain, "iscro", suffix[1:]) == (40, 0)
    code, _, err = cli("batch", str(marked), "--out", str(tmp_path / "r.jsonl"))  # the family guessed, too
    assert code == 0, err


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_separated_otherwise_is_named_before_reading(tmp_path: Path, separator: str) -> None:
    """A CSV saved by a spreadsheet set to Italian (';') or tab-separated reads as one column: both readers, and
    `regole batch` guessing the family, say what separates it and how to save it, not that the header is no fact."""
    path = tmp_path / "domande.csv"
    path.write_text(separator.join(["data_domanda", "iscritto_gestione_separata", "reddito_dichiarato.2023"]) +
                    "\n" + separator.join(["2024-09-10", "true", "3000.00"]) + "\n", encoding="utf-8")
    laws = library().versions("iscro")
    for read in (lambda: list(read_fact_tables(path, laws, "csv")),
                 lambda: list(read_rows(path, FactTable(laws), "csv"))):
        with pytest.raises(FactsError) as raised:
            read()
        (problem,) = raised.value.problems
        assert problem.code == "D002"
        assert repr(separator) in problem.message
        assert "CSV UTF-8" in (problem.hint or "")
    previous = tmp_path / "r.csv"
    previous.write_text("the results of an earlier run\n", encoding="utf-8")
    code, _, err = cli("--lang", "en", "batch", str(path), "--out", str(previous), "--errors",
                       str(tmp_path / "e.jsonl"))
    assert code == 3
    assert f"the file seems separated by {separator!r}" in err
    assert "Traceback" not in err
    assert previous.read_text(encoding="utf-8") == "the results of an earlier run\n"  # a failed run loses nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["domande.csv", "r.csv"]  # and leaves no partial file


CELL_VALUES = st.one_of(
    st.sampled_from(["2024-09-10", "2023-02-29", "2024-02-29", "true", "false", "True", "1000.50", "6.000,50",
                     "1.005", "-0", "", " ", "١", "null", "2020-01-01", "x", "1e3", "999999999999.99"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(CELL_VALUES, min_size=5, max_size=5), min_size=1, max_size=12))
def test_random_csv_rows_agree(tmp_path: Path, cells: list[list[str]]) -> None:
    columns = ["data_domanda", "regolarita_contributiva", "reddito_dichiarato.2023", "ultimo_reddito_certificato",
               "prestazioni_iscro_precedenti.1.data_inizio"]
    path = tmp_path / "random.csv"
    text = ",".join(columns) + "\n" + "".join(
        ",".join('"' + c.replace('"', '""') + '"' for c in row) + "\n" for row in cells)
    path.write_text(text, encoding="utf-8")
    agree(path, "iscro", "csv", block_bytes=256)


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**13, 10**13),
                        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: Decimal(d)),
                        CELL_VALUES, st.dictionaries(st.sampled_from(["2022", "2023", "99", "x"]), CELL_VALUES,
                                                     max_size=2),
                        st.lists(st.fixed_dictionaries({"data_inizio": CELL_VALUES}), max_size=2))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(st.sampled_from(["data_domanda", "regolarita_contributiva", "reddito_dichiarato",
                                                      "ultimo_reddito_certificato", "prestazioni_iscro_precedenti",
                                                      "sconosciuto"]), JSON_VALUES, max_size=4),
                     min_size=1, max_size=12))
def test_random_json_rows_agree(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    path = tmp_path / "random.jsonl"
    lines = [json.dumps({"data_domanda": "2024-09-10", **row}, default=str) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    agree(path, "iscro", "jsonl", block_bytes=256)



def test_parquet_timestamps_at_midnight_are_dates(tmp_path: Path) -> None:
    """pandas writes a column of dates as timestamps: one at midnight, without a time zone, is its day, by
    column and by row alike; one with a time of day, or with a time zone, is a bad row saying why."""
    base = population("iscro", 6)
    laws = library().versions("iscro")
    days = [dt.datetime(2024, 9, 10), dt.datetime(2024, 9, 10, 10, 30), dt.datetime(2025, 1, 2), None,
            dt.datetime(2024, 10, 1), dt.datetime(2024, 9, 11, 0, 0, 1)]
    table = pa.Table.from_pylist([{k: v for k, v in row.items() if k != "data_domanda"} for row in base])
    for unit in ("ns", "us"):
        path = tmp_path / f"{unit}.parquet"
        pq.write_table(table.append_column("data_domanda", pa.array(days, pa.timestamp(unit))), str(path),
                       row_group_size=4)
        rows, bad = agree(path, "iscro", "parquet")
        assert (rows, bad) == (6, 3)  # 10:30, no date at all, one second past midnight
    problems = [p for b in read_fact_tables(path, laws, "parquet") for p in b.problems]
    assert [p.row for p in problems] == [2, 4, 6]
    assert "10:30" in problems[0].message
    assert "YYYY-MM-DD" in problems[0].message or "AAAA-MM-GG" in problems[0].message
    earlier = pa.array([[{"data_inizio": dt.datetime(2021, 5, 1)}], [], [{"data_inizio": dt.datetime(2021, 5, 1, 5)}],
                        None, [{"data_inizio": dt.datetime(2022, 3, 1)}, {"data_inizio": None}], []],
                       pa.list_(pa.struct([("data_inizio", pa.timestamp("us"))])))
    listed = tmp_path / "listed.parquet"
    pq.write_table(table.drop_columns(["prestazioni_iscro_precedenti"]).append_column(
        "prestazioni_iscro_precedenti", earlier).append_column(
        "data_domanda", pa.array([dt.datetime(2024, 9, 10)] * 6, pa.timestamp("us"))), str(listed))
    assert agree(listed, "iscro", "parquet") == (6, 2)
    problems = [(p.row, p.field) for b in read_fact_tables(listed, laws, "parquet") for p in b.problems]
    assert problems == [(3, "prestazioni_iscro_precedenti.1.data_inizio"),  # 5 in the morning is no date
                        (5, "prestazioni_iscro_precedenti.2.data_inizio")]  # an item without its date
    zoned = tmp_path / "zoned.parquet"
    pq.write_table(table.append_column("data_domanda", pa.array([dt.datetime(2024, 9, 10)] * 6,
                                                                pa.timestamp("us", tz="Europe/Rome"))),
                   str(zoned))
    assert agree(zoned, "iscro", "parquet") == (6, 6)
