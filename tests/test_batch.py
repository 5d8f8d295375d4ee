"""``regole batch``: one row of results per application, under the version in force on each row's date (or a
forced one), checked against ``regole evaluate`` of the same facts row by row; bad rows and rows no version
governs in the errors file with their row and field; the three output formats; output paths refused before
any work; the same results whatever the batch size."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from conftest import cli

from engine import Library, evaluate
from engine._dataset import write_jsonl
from engine._population import load_population
from engine._resources import rulesets_dir
from engine._values import Unknown

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

ENGINES = ["columnar", "rete"]


def applications(n: int) -> list[dict[str, Any]]:
    """Synthetic ISCRO applications, one in five moved to 2022 (the 2021 regime), plus odd rows."""
    spec = load_population(rulesets_dir() / "iscro" / "population" / "default.yaml")
    rows = list(spec.applications(n, 11))
    for i in range(0, n, 5):
        rows[i]["data_domanda"] = "2022-" + rows[i]["data_domanda"][5:]
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "domande.jsonl"
    rows = applications(60)
    with path.open("w", encoding="utf-8") as handle:
        write_jsonl(rows, handle)
        handle.write('{"data_domanda": "2019-05-05"}\n')  # row 61: no version governs 2019
        handle.write('{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": "6.000,50"}}\n')  # row 62
        handle.write("\n")  # a blank line is no row
        handle.write(json.dumps(rows[1]) + "\n")  # row 64, good
    return path


def shown(value: Any) -> Any:
    """An output as the JSON Lines results hold it: euros with two decimals, dates as text, unknown left out."""
    if isinstance(value, Unknown):
        return None
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def results_of(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return list(pq.read_table(str(path)).to_pylist())
    if path.suffix == ".csv":
        return list(pcsv.read_csv(str(path), convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
                    .to_pylist())
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_row_as_regole_evaluate_decides_it(data: Path, tmp_path: Path, engine: str) -> None:
    out, errors = tmp_path / "r.jsonl", tmp_path / "e.jsonl"
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(out), "--errors", str(errors),
                       "--engine", engine)
    assert code == 0, err
    assert "63 applications read, 61 evaluated, 2 rejected" in err
    results = {r["__row"]: r for r in results_of(out)}
    lines = data.read_text(encoding="utf-8").splitlines()
    assert sorted(results) == [*range(1, 61), 64]
    for number, result in results.items():
        expected = evaluate(json.loads(lines[number - 1]), family="iscro")
        assert result["versione"] == expected.version
        assert result["decisione"] == expected.decision
        for requirement in expected.requirements:
            assert result.get(requirement.id) == requirement.outcome
        for name, value in expected.outputs.items():
            assert result.get(name) == shown(value), (number, name)
        assert result["mancanti"] == list(expected.missing_facts)
    problems = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(p["row"], p["field"]) for p in problems] == [(61, "data_domanda"), (62, "reddito_dichiarato.2023")]
    assert "no version of iscro governs 5 May 2019" in problems[0]["message"]


def test_formats_and_forced_version(data: Path, tmp_path: Path) -> None:
    rows = {}
    for suffix in (".parquet", ".csv", ".jsonl"):
        out = tmp_path / f"r{suffix}"
        out.write_text("an earlier run's results\n", encoding="utf-8")  # replaced whole when the run ends well
        code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(out), "--law-version", "2021",
                           "--engine", "rete")
        assert code == 0, err
        rows[suffix] = results_of(out)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]  # written aside, then renamed
    assert {r["versione"] for r in rows[".jsonl"]} == {"2021"}  # the version is forced on every row
    assert "requisito.assegno_inclusione" not in rows[".jsonl"][0]  # only 2021's requirements
    parquet_money = [r["importo_mensile"] for r in rows[".parquet"]]
    assert all(m is None or isinstance(m, Decimal) for m in parquet_money)
    assert [None if m is None else f"{m:.2f}" for m in parquet_money] == \
        [r.get("importo_mensile") for r in rows[".jsonl"]]
    csv_money = [r["importo_mensile"] for r in rows[".csv"]]
    assert [None if m is None else f"{Decimal(str(m)):.2f}" for m in csv_money] == \
        [r.get("importo_mensile") for r in rows[".jsonl"]]
    assert [r["mancanti"] or None for r in rows[".csv"]] == \
        [";".join(r["mancanti"]) or None for r in rows[".jsonl"]]


def test_batch_size_does_not_change_the_results(data: Path, tmp_path: Path) -> None:
    outputs = []
    for size in ("7", "100000"):
        out = tmp_path / f"r{size}.parquet"
        assert cli("batch", str(data), "--family", "iscro", "--out", str(out), "--engine", "rete",
                   "--batch-rows", size)[0] == 0
        outputs.append(pq.read_table(str(out)))
    assert outputs[0].equals(outputs[1])


def test_outputs_are_checked_before_any_work(data: Path, tmp_path: Path) -> None:
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "no" / "r.parquet"))
    assert code == 2  # an output path: OutputPathError, as impact --report
    assert "does not exist" in err
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "r.xlsx"))
    assert code == 2  # an output path: OutputPathError, as impact --report
    assert ".parquet, .csv or .jsonl" in err
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(data.with_suffix(".csv")),
                       "--errors", str(data.with_suffix(".csv")))
    assert code == 2  # an output path: OutputPathError, as impact --report
    assert "the same file" in err
    before = data.read_bytes()
    copy = tmp_path / "d.jsonl"
    copy.write_bytes(before)
    code, _, err = cli("batch", str(copy), "--family", "iscro", "--out", str(tmp_path / "r.csv"),
                       "--errors", str(copy))
    assert code == 2  # an output path: OutputPathError, as impact --report
    assert "is the data file" in err
    assert copy.read_bytes() == before
    assert not (tmp_path / "r.csv").exists()


def test_a_missing_data_file_and_a_missing_family(tmp_path: Path) -> None:
    code, _, err = cli("batch", str(tmp_path / "none.csv"), "--family", "iscro", "--out", str(tmp_path / "r.csv"))
    assert code == 3
    assert "does not exist" in err
    (tmp_path / "d.csv").write_text("colonna_ignota\n1\n", encoding="utf-8")  # no family's fact: cannot guess
    code, _, err = cli("batch", str(tmp_path / "d.csv"), "--out", str(tmp_path / "r.csv"))
    assert code == 5
    assert "--family" in err


def test_a_file_that_cannot_be_read_says_so_before_the_family_is_asked(tmp_path: Path) -> None:
    """Without --family the family is guessed from the file's first facts: a file that cannot be read at all is
    reported as such (as with --family), not as a family to give."""
    fake = tmp_path / "domande.parquet"
    fake.write_text('{"data_domanda": "2024-09-10"}\n', encoding="utf-8")  # JSON Lines named .parquet
    code, _, err = cli("batch", str(fake), "--out", str(tmp_path / "r.csv"))
    assert (code, "D004" in err or "Parquet" in err, "--family" in err) == (3, True, False)
    binary = tmp_path / "domande.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage" * 100)
    code, _, err = cli("batch", str(binary), "--out", str(tmp_path / "r.csv"))
    assert (code, "UTF-8" in err, "--family" in err) == (3, True, False)


@pytest.mark.parametrize(("family", "suffix"), [("iscro", ".jsonl"), ("iscro", ".csv"), ("cig-covid", ".jsonl"),
                                                ("cig-covid", ".csv"), ("cig-covid", ".parquet")])
def test_the_family_is_guessed_from_the_file_as_evaluate_guesses_it(tmp_path: Path, family: str,
                                                                    suffix: str) -> None:
    population = tmp_path / f"p{suffix}"
    if suffix == ".parquet":
        assert cli("population", "--family", family, "--n", "30", "--out", str(tmp_path / "p.csv"))[0] == 0
        pq.write_table(pcsv.read_csv(tmp_path / "p.csv", convert_options=pcsv.ConvertOptions(
            strings_can_be_null=True)), population)
    else:
        assert cli("population", "--family", family, "--n", "30", "--out", str(population))[0] == 0
    out = tmp_path / "r.jsonl"
    code, _, err = cli("batch", str(population), "--out", str(out))
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 30
    versions = {law.version for law in Library().versions(family)}  # the family's own versions, none other's
    assert {row["versione"] for row in rows} <= versions


def test_progress_only_on_a_terminal(data: Path, tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "r.parquet"),
                       stderr=Terminal())
    assert code == 0
    assert "\r  63 / 64 (98%) rows" in err or "\r  63 / 63 (100%) rows" in err
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "r.parquet"))
    assert "\r" not in err


def test_hostile_rows_are_bad_rows_said_in_the_reader_s_words(tmp_path: Path) -> None:
    """A row nested too deep and a bare null are bad rows whose messages are regole's, not Python's ("maximum
    recursion depth exceeded", "None"), in Italian by default; the good rows around them are evaluated."""
    good = json.dumps({"data_domanda": "2024-09-10", "regolarita_contributiva": True})
    deep = '{"data_domanda": "2024-09-10", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join([good, deep, "null", "[1]", good]) + "\n", encoding="utf-8")
    out, errors = tmp_path / "r.jsonl", tmp_path / "e.jsonl"
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(out), "--errors", str(errors),
                       "--lang", "it")
    assert code == 0, err
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    messages = {p["row"]: p["message"] for p in map(json.loads, errors.read_text(encoding="utf-8").splitlines())}
    assert messages == {2: "il documento è annidato troppo in profondità",
                        3: "una riga deve essere un oggetto JSON, non null",
                        4: "una riga deve essere un oggetto JSON, non un array"}
