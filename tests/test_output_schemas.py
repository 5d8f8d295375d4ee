"""Every JSON the command line prints follows its published schema (schemas/output/<command>.schema.json):
``evaluate --json``, ``compare --json``, ``diff --format json``, ``impact --json`` and ``check --format json``
(the last also in tests/test_check.py, on every file of tests/invalid_rulesets). On hostile input that ends in
an error, the commands print no JSON at all: the error goes to standard error."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import BASE_2021, BASE_2024, assert_valid_output, case, cli

from engine import Library, evaluate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
CASES = {
    "ammessa 2024": BASE_2024,
    "ammessa 2021": BASE_2021,
    "respinta": case(BASE_2024, titolare_pensione_diretta=True),
    "indeterminata": case(BASE_2024, reddito_dichiarato=None, regolarita_contributiva=None),
    "partita IVA futura": case(BASE_2024, data_apertura_partita_iva="2030-01-01"),
}


def _printed(*argv: str, stdin: bytes | None = None) -> tuple[int, Any, str]:
    if stdin is None:
        code, out, err = cli(*argv)
    else:
        saved = sys.stdin
        sys.stdin = SimpleNamespace(buffer=io.BytesIO(stdin))  # type: ignore[assignment]
        try:
            code, out, err = cli(*argv)
        finally:
            sys.stdin = saved
    return code, json.loads(out) if out else None, err


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_evaluate_json_of_every_example_follows_the_schema(example: Path) -> None:
    code, document, _ = _printed("evaluate", str(example), "--json")
    assert code == 0
    assert document["format"] == "regole-result"
    assert document["format_version"] == 1
    assert_valid_output("evaluate", document)


def test_evaluate_json_with_the_explanation_follows_the_schema() -> None:
    code, document, _ = _printed("evaluate", str(EXAMPLES[0]), "--json", "--explain")
    assert code == 0
    assert document["explanation"].strip()
    assert_valid_output("evaluate", document)


@pytest.mark.parametrize("name", CASES)
def test_evaluate_json_of_every_decision_follows_the_schema(name: str, tmp_path: Path) -> None:
    path = tmp_path / "domanda.json"
    path.write_text(json.dumps(CASES[name]), "utf-8")
    code, document, _ = _printed("evaluate", str(path), "--json")
    assert code == 0
    assert_valid_output("evaluate", document)


def test_the_schema_refuses_what_it_should() -> None:
    document = json.loads(evaluate(BASE_2024, family="iscro").to_json())
    assert_valid_output("evaluate", document)
    for broken in ({**document, "decision": "forse"}, {**document, "format_version": 2},
                   {**document, "outputs": {"importo_mensile": 687.5}}):  # money is never a JSON fraction
        with pytest.raises(AssertionError):
            assert_valid_output("evaluate", broken)


@pytest.mark.parametrize(("facts", "versions"), [(EXAMPLES[-1], "2021,2024"), (EXAMPLES[-1], "2024,2024"),
                                                 (EXAMPLES[0], "cig-covid@2021-l178,cig-covid@2021-dl41")],
                         ids=["iscro", "iscro-same", "cig"])
def test_compare_json_follows_the_schema(facts: Path, versions: str) -> None:
    code, document, err = _printed("compare", str(facts), "--versions", versions, "--json")
    assert code == 0, err
    assert_valid_output("compare", document)


def _version_pairs() -> list[tuple[str, str]]:
    library = Library()
    keys = [law.key for family in library.families() for law in library.versions(family)]
    return [*itertools.permutations(keys, 2), (keys[0], keys[0])]


@pytest.mark.parametrize(("old", "new"), _version_pairs())
def test_diff_json_follows_the_schema(old: str, new: str) -> None:
    code, document, _ = _printed("diff", old, new, "--format", "json")
    assert code in (0, 1)
    assert_valid_output("diff", document)


def test_impact_json_with_good_and_bad_rows_follows_the_schema(tmp_path: Path) -> None:
    rows = [json.dumps(BASE_2024), json.dumps(CASES["indeterminata"]), json.dumps(CASES["respinta"]),
            '{"data_domanda":"2024-09-10","reddito_dichiarato":{"2023":1e400}}', "[1]", "{not json",
            json.dumps(BASE_2021)]
    data = tmp_path / "pop.jsonl"
    data.write_text("\n".join(rows) + "\n", "utf-8")
    code, document, _ = _printed("impact", str(data), "--versions", "2021,2024", "--json")
    assert code == 0
    assert document["rows"] == {"read": 7, "evaluated": 4, "bad": 3}
    assert_valid_output("impact", document)


def test_impact_json_of_an_empty_file_follows_the_schema(tmp_path: Path) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_text("", "utf-8")
    code, document, _ = _printed("impact", str(data), "--versions", "2021,2024", "--json")
    assert code == 0
    assert_valid_output("impact", document)


HOSTILE_FACTS = ['{"data_domanda":"2024-09-10","reddito_lavoro_autonomo":{"2023":1e26}}', "[" * 100_000, "NaN",
                 '{"data_domanda":"2024-09-10","foo":1,"bar":2}', '{"a":' + '"x"' * 2]


@pytest.mark.parametrize("text", HOSTILE_FACTS)
@pytest.mark.parametrize("command", [("evaluate", "-", "--family", "iscro", "--json"),
                                     ("compare", "-", "--versions", "iscro@2021,iscro@2024", "--json")])
def test_hostile_facts_print_no_json_and_a_located_error(text: str, command: tuple[str, ...]) -> None:
    code, document, err = _printed(*command, stdin=text.encode())
    assert (code, document) == (3, None)
    assert err.startswith("regole: i fatti non sono validi:\n<stdin>: $")  # Italian by default


def _project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "rulesets", tmp_path / "rulesets")
    shutil.copytree(ROOT / "explanations", tmp_path / "explanations")
    return tmp_path / "rulesets"


@pytest.mark.parametrize(("where", "old", "new"), [
    ("rulesets/iscro/2024.yaml", "value: 0.70,", "value: " + "7" * 5000 + ","),
    ("rulesets/iscro/2024.yaml", "formula: anno(data_domanda)", "formula: anno(data_domanda) +"),
    ("rulesets/iscro/2024.yaml", "regole: 1", "regole: 1\n\tbad: tab"),
    ("explanations/it/iscro/requisito.gestione_separata.j2", "{{ intestazione(r) }}", "{{ 10 ** 10000000 }}"),
    ("explanations/it/iscro/requisito.gestione_separata.j2", "{{ intestazione(r) }}", "{{ 'x' * 1000000000 }}"),
    ("explanations/it/iscro/requisito.gestione_separata.j2", "{{ intestazione(r) }}", "{% if %}"),
], ids=["long-integer", "bad-formula", "tab", "power", "repetition", "template-syntax"])
def test_check_json_on_hostile_rulesets_and_templates_follows_the_schema(tmp_path: Path, where: str, old: str,
                                                                         new: str) -> None:
    rulesets = _project(tmp_path)
    target = tmp_path / where
    text = target.read_text("utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), "utf-8")
    code, document, err = _printed("--rulesets", str(rulesets), "check", "--format", "json")
    assert (code, err) == (1, "")
    assert document["errors"] >= 1
    assert_valid_output("check", document)
