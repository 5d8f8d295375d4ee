"""``regole population``: a deterministic synthetic population drawn from a family's population file by
generic code. Same seed, same applications (in this process and in another); every application follows the
facts schema; the shares follow the file; a wrong population file is reported with its line."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli

import engine
from engine import Library, RulesetError
from engine._dataset import FactTable, read_rows
from engine._facts import validate_facts
from engine._population import PopulationSpec, load_population
from engine._resources import rulesets_dir

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

SPEC_PATH = rulesets_dir() / "iscro" / "population" / "default.yaml"



@pytest.fixture(scope="module")
def spec() -> PopulationSpec:
    return load_population(SPEC_PATH)


def test_same_seed_same_applications(spec: PopulationSpec) -> None:
    first = list(spec.applications(300, 1))
    assert first == list(spec.applications(300, 1))
    assert first != list(spec.applications(300, 2))
    assert list(spec.applications(50, 1)) == first[:50]  # a smaller population is a prefix of a larger one
    assert spec.application(1, 299) == first[299]


def test_same_seed_same_bytes_in_another_process(tmp_path: Path) -> None:
    code, out, err = cli("population", "--family", "iscro", "--n", "200", "--seed", "7")
    assert (code, err) == (0, "")
    script = "from engine.cli import main; import sys; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", script, "population", "--family", "iscro", "--n", "200",
                            "--seed", "7"], capture_output=True, text=True, check=True, env=env)
    assert other.stdout == out
    assert len(out.splitlines()) == 200


def test_every_application_follows_the_facts_schema(spec: PopulationSpec) -> None:
    for facts in spec.applications(500, 3):
        validate_facts(facts, "iscro-domanda.schema.json")


def test_the_file_covers_every_fact_of_both_versions(spec: PopulationSpec, library: Library) -> None:
    laws = library.versions("iscro")
    assert spec.check_against(laws) == []
    assert spec.uncovered(laws) == []


def test_shares_follow_the_file(spec: PopulationSpec) -> None:
    rows = list(spec.applications(4000, 5))
    enrolled = sum(1 for r in rows if r.get("iscritto_gestione_separata") is True) / len(rows)
    assert 0.94 < enrolled < 0.97  # 97% true, 1% left out
    with_certified = sum(1 for r in rows if "ultimo_reddito_certificato" in r) / len(rows)
    assert 0.12 < with_certified < 0.18  # left out 85% of the time
    dates = sorted(r["data_domanda"] for r in rows)
    assert dates[0] >= "2024-01-01"
    assert dates[-1] <= "2025-12-31"
    years = {len(r["reddito_lavoro_autonomo"]) for r in rows if "reddito_lavoro_autonomo" in r}
    assert max(years) == 5
    previous = [len(r["prestazioni_iscro_precedenti"]) for r in rows]
    assert 0.09 < sum(1 for n in previous if n) / len(rows) < 0.15
    assert max(previous) <= 2
    for r in rows:
        if "data_apertura_partita_iva" in r:
            assert r["data_apertura_partita_iva"] < r["data_domanda"]
        for item in r["prestazioni_iscro_precedenti"]:
            assert item["data_inizio"] < r["data_domanda"]


def test_cli_writes_jsonl_csv_and_parquet_that_read_back_the_same(tmp_path: Path, library: Library) -> None:
    jsonl, csv, parquet = tmp_path / "p.jsonl", tmp_path / "p.csv", tmp_path / "p.parquet"
    for path in (jsonl, csv, parquet):
        code, out, err = cli("population", "--family", "iscro", "--n", "300", "--seed", "4", "--out", str(path))
        assert (code, out) == (0, "")
        assert "300 applications of iscro (seed 4)" in err
        assert "not INPS statistics" in err
    table = FactTable(library.versions("iscro"))
    from_jsonl = [r.facts for r in read_rows(jsonl, table, "jsonl")]
    from_csv = [r.facts for r in read_rows(csv, table, "csv")]
    assert from_jsonl == from_csv
    from_parquet = [r.facts for r in read_rows(parquet, table, "parquet")]  # money as Decimal: the same amounts
    assert json.loads(json.dumps(from_parquet, default=str)) == json.loads(json.dumps(from_jsonl, default=str))
    import pyarrow.parquet as pq

    types = {f.name: str(f.type) for f in pq.read_schema(str(parquet))}
    assert (types["data_domanda"], types["iscritto_gestione_separata"], types["reddito_lavoro_autonomo.2023"],
            types["prestazioni_iscro_precedenti.1.data_inizio"]) == ("date32[day]", "bool", "decimal128(18, 2)",
                                                                     "date32[day]")
    assert from_jsonl == [json.loads(json.dumps(r)) for r in load_population(SPEC_PATH).applications(300, 4)]
    header = csv.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[0] == "data_domanda"
    assert "reddito_lavoro_autonomo.2023" in header
    assert "prestazioni_iscro_precedenti.1.data_inizio" in header


def test_cli_errors() -> None:
    code, _, err = cli("population", "--family", "cassa", "--n", "1")
    assert code == 5
    assert "unknown family 'cassa'" in err
    code, _, err = cli("population", "--family", "iscro", "--spec", "nessuno", "--n", "1")
    assert code == 5
    assert "no population file 'nessuno'" in err
    code, _, err = cli("population", "--family", "iscro", "--n", "-1")
    assert code == 2  # a misused option
    assert "must not be negative" in err


def write_spec(tmp_path: Path, facts: str) -> Path:
    path = tmp_path / "pop.yaml"
    path.write_text("population: 1\nfamily: iscro\nfacts:\n" + facts, encoding="utf-8")
    return path


def test_a_wrong_population_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "  data_domanda:\n    kind: date\n    ranges: [{from: 2024-01-01, to: 2023-01-01}]\n"
                                "  percettore_naspi: {kind: boolean, probability: 1.5}\n"
                                "  data_apertura_partita_iva:\n    kind: date\n    relative_to: data_nascita\n"
                                "    ranges: [{days: [-10, -1]}]\n")
    with pytest.raises(RulesetError) as caught:
        load_population(path)
    assert [(p.line, p.code) for p in caught.value.problems] == [(7, "G001")]  # the schema first: 1.5 > 1
    path.write_text(path.read_text(encoding="utf-8").replace("1.5", "0.5"), encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_population(path)
    problems = [(p.line, p.code, p.message) for p in caught.value.problems]
    assert problems == [
        (6, "G003", "ends (2023-01-01) before it starts (2024-01-01)"),
        (10, "G002", "'data_nascita' must be a date fact listed above this one"),
    ]
    assert str(caught.value).startswith(f"{path}:6:14: error[G003]")


def test_a_population_of_facts_the_family_does_not_have(tmp_path: Path, library: Library) -> None:
    path = write_spec(tmp_path, "  data_domanda:\n    kind: date\n    ranges: [{from: 2024-01-01, to: 2024-12-31}]\n"
                                "  stipendio: {kind: money, distribution: {constant: 10}}\n"
                                "  percettore_naspi: {kind: money, distribution: {uniform: [1, 2]}}\n")
    problems = load_population(path).check_against(library.versions("iscro"))
    assert [(p.code, p.path) for p in problems] == [("G010", "facts.stipendio"), ("G011", "facts.percettore_naspi")]
    code, _, err = cli("population", "--family", "iscro", "--n", "1", "--spec", str(path))
    assert code == 4
    assert "'stipendio' is not a fact of any version of iscro" in err


def test_the_generic_modules_know_no_family() -> None:
    """The comparison tools are generic: no family's names appear in their code (docstrings aside)."""
    names = ("iscro", "reddito", "domanda", "importo", "partita_iva", "cittadinanza")
    folder = Path(engine.__file__).parent
    for module in ("_population", "_dataset", "_diff", "_diff_render", "_compare", "_impact", "_impact_report"):
        tree = ast.parse((folder / f"{module}.py").read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value
            elif isinstance(node, ast.Name):
                text = node.id
            if text is not None:
                assert not any(n in text.lower() for n in names), (module, text)
