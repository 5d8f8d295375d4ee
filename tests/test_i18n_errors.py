"""The errors a person reads are Italian by default and English on request (``--lang en``, ``REGOLE_LANG``,
``lang=``), built in the language in force where they are raised; their codes, paths and exit codes never
change with the language."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import BASE_2024, case, cli

from engine import FactsError, _i18n, evaluate, load_ruleset
from engine.errors import Problem, RulesetError

ROOT = Path(__file__).resolve().parent.parent
BAD_FACTS = case(BASE_2024, regolarita_contributiva="si", reddito_dichiarato={"2023": "3.000,00"}, percettore_nasp=True)


def _facts_file(tmp_path: Path, facts: object) -> Path:
    path = tmp_path / "domanda.json"
    path.write_text(json.dumps(facts), "utf-8")
    return path


def test_bad_facts_read_italian_by_default_and_english_with_lang_en(tmp_path: Path) -> None:
    path = _facts_file(tmp_path, BAD_FACTS)
    code_it, _, italian = cli("evaluate", str(path), "--family", "iscro")
    code_en, _, english = cli("evaluate", str(path), "--family", "iscro", "--lang", "en")
    assert code_it == code_en == 3
    assert italian.startswith("regole: i fatti non sono validi:\n")
    assert f'{path}: $.regolarita_contributiva: "si" dovrebbe essere vero o falso (true/false)' in italian
    assert f'{path}: $.reddito_dichiarato.2023: "3.000,00" non è un importo' in italian
    assert f"{path}: $.percettore_nasp: campo sconosciuto 'percettore_nasp' (forse 'percettore_naspi'" in italian
    assert english.startswith("regole: the facts are not valid:\n")
    assert f'{path}: $.regolarita_contributiva: "si" should be boolean' in english
    assert f'{path}: $.reddito_dichiarato.2023: "3.000,00" is not an amount' in english
    assert f"{path}: $.percettore_nasp: unknown field 'percettore_nasp' (did you mean 'percettore_naspi'" in english
    paths = [line.split(": ")[1] for line in italian.splitlines()[1:]]
    assert paths == [line.split(": ")[1] for line in english.splitlines()[1:]]  # the same paths, in the same order


def test_regole_lang_in_the_environment_chooses_english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGOLE_LANG", "en")
    code, _, err = cli("evaluate", str(tmp_path / "missing.json"))
    assert (code, err) == (3, f"regole: {tmp_path / 'missing.json'}: $: the file does not exist\n")
    code, _, err = cli("evaluate", str(tmp_path / "missing.json"), "--lang", "it")  # --lang wins
    assert (code, err) == (3, f"regole: {tmp_path / 'missing.json'}: $: il file non esiste\n")


def test_malformed_json_reads_in_one_language(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"data_domanda": "2024-09-10",\n}', "utf-8")
    _, _, italian = cli("evaluate", str(path))
    _, _, english = cli("evaluate", str(path), "--lang", "en")
    assert "JSON non valido: manca un nome di campo tra virgolette doppie alla riga 2, colonna 1" in italian
    assert "not valid JSON: Expecting property name enclosed in double quotes at line 2, column 1" in english


def test_a_broken_ruleset_reads_with_italian_labels_by_default(tmp_path: Path) -> None:
    broken = tmp_path / "iscro" / "2099.yaml"
    broken.parent.mkdir()
    shutil.copy(ROOT / "tests" / "invalid_rulesets" / "x003_misspelt_fact.yaml", broken)
    code_it, _, italian = cli("--rulesets", str(tmp_path), "rulesets")
    code_en, _, english = cli("--rulesets", str(tmp_path), "rulesets", "--lang", "en")
    assert code_it == code_en == 4
    assert italian.startswith(f"regole: errore nelle regole:\n{broken}:")
    assert "errore[X003]: nome sconosciuto 'sogla'" in italian
    assert "    suggerimento: forse 'soglia'?" in italian
    assert english.startswith(f"regole: ruleset error:\n{broken}:")
    assert "error[X003]: unknown name 'sogla'" in english
    assert "    hint: did you mean 'soglia'?" in english


def test_an_output_path_error_reads_in_the_language_asked(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(BASE_2024) + "\n", "utf-8")
    folder = tmp_path / "report"
    folder.mkdir()
    argv = ("impact", str(data), "--versions", "iscro@2021,iscro@2024", "--report", str(folder))
    assert cli(*argv)[::2] == (2, f"regole: {folder} è una cartella: indicare il nome di un file da scrivere\n")
    assert cli(*argv, "--lang", "en")[::2] == (2, f"regole: {folder} is a folder: give the name of a file to write\n")


def test_a_bad_dataset_row_reads_in_the_language_asked(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(BASE_2024) + "\n[1, 2]\n", "utf-8")
    argv = ("impact", str(data), "--versions", "iscro@2021,iscro@2024")
    assert "riga 2: una riga deve essere un oggetto JSON, non un array" in cli(*argv)[2]
    assert "row 2: a row must be a JSON object, got an array" in cli(*argv, "--lang", "en")[2]


def test_evaluate_takes_lang_and_keeps_codes_and_paths() -> None:
    with pytest.raises(FactsError) as italian:
        evaluate(BAD_FACTS, family="iscro")
    with pytest.raises(FactsError) as english:
        evaluate(BAD_FACTS, family="iscro", lang="en")
    assert [(p.code, p.path) for p in italian.value.problems] == [(p.code, p.path) for p in english.value.problems]
    assert "dovrebbe essere vero o falso" in str(italian.value)
    assert "should be boolean" in str(english.value)
    assert _i18n.current() == "it"  # lang= applied to that call only


def test_a_message_keeps_the_language_it_was_raised_in() -> None:
    with _i18n.language("en"), pytest.raises(FactsError) as raised:
        evaluate("[1]", family="iscro")
    assert str(raised.value) == "$: the facts must be a JSON object, got an array"  # read later, still English
    with pytest.raises(FactsError) as italian:
        evaluate("[1]", family="iscro")
    assert str(italian.value) == "$: i fatti devono essere un oggetto JSON, non un array"


def test_a_problem_renders_its_labels_in_the_language_in_force() -> None:
    problem = Problem("messaggio", code="W001", file="r.yaml", line=3, column=2, hint="consiglio", source_line="abc")
    assert problem.render() == "r.yaml:3:2: avviso[W001]: messaggio\n    abc\n     ^\n    suggerimento: consiglio"
    with _i18n.language("en"):
        assert problem.render() == "r.yaml:3:2: warning[W001]: messaggio\n    abc\n     ^\n    hint: consiglio"
    assert problem.to_dict()["code"] == "W001"
    assert problem.severity == "warning"


def test_a_ruleset_loaded_with_english_in_force_raises_english(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("family: [\n", "utf-8")
    with _i18n.language("en"), pytest.raises(RulesetError) as english:
        load_ruleset(path)
    assert "error[Y001]" in str(english.value)
    with pytest.raises(RulesetError) as italian:
        load_ruleset(path)
    assert "errore[Y001]" in str(italian.value)
