"""``regole test``: the YAML test cases of a family, run from the command line, with a readable report of
what each failed case expected and what came out; and the rules of the case format (extends, null removes a
fact, money compared as amounts)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import cli

from engine._casetests import load_case_file, same_value
from engine._resources import rulesets_dir

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording


def family_copy(tmp_path: Path, cases: str) -> Path:
    """The ISCRO rulesets in a folder of their own, with ``cases`` as their only case file."""
    folder = tmp_path / "iscro"
    (folder / "tests").mkdir(parents=True)
    for path in (rulesets_dir() / "iscro").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / "tests" / "casi.yaml").write_text(cases, encoding="utf-8")
    return folder


BASE = """\
- name: esempio
  facts:
    data_domanda: 2024-09-10
    iscritto_gestione_separata: true
    titolare_pensione_diretta: false
    assicurato_altra_forma_obbligatoria: false
    percettore_assegno_inclusione: false
    percettore_naspi: false
    percettore_dis_coll: false
    percettore_alas: false
    percettore_idis: false
    carica_elettiva_con_emolumenti: false
    regolarita_contributiva: true
    data_apertura_partita_iva: 2015-03-01
    reddito_lavoro_autonomo: {2021: "6000.00", 2022: "5000.00", 2023: "3000.00"}
    reddito_dichiarato: {2023: "3000.00"}
    prestazioni_iscro_precedenti: []
  expected: {decision: ammesso, outputs: {importo_mensile: "687.50"}}
"""


def test_the_bundled_cases_pass() -> None:
    code, out, err = cli("test", "--lang", "en")
    assert (code, err) == (0, "")
    assert re.search(r"^\d+ passed, 0 failed$", out, flags=re.MULTILINE), out
    assert "rulesets/iscro/tests/iscro-2024.yaml: " in out


def test_a_failed_case_shows_expected_and_actual_for_every_field(tmp_path: Path) -> None:
    folder = family_copy(tmp_path, BASE + """\
- name: sbagliato
  extends: esempio
  facts: {regolarita_contributiva: null}
  expected:
    decision: ammesso
    outputs: {importo_mensile: "700.00"}
    missing_facts: []
    values: {sogla_calo: "3850.00"}
""")
    code, out, err = cli("test", str(folder), "--lang", "en")
    assert (code, err) == (1, "")
    assert "casi.yaml: 1/2 passed" in out
    assert re.search(r"  FAIL  sbagliato \(.*casi\.yaml:19\)", out)
    block = out[out.index("FAIL"):]
    assert """\
        decision
          - expected: "ammesso"
          + actual:   "indeterminato"
        outputs.importo_mensile
          - expected: "700.00"
          + actual:   null (not computed: the case is not admitted, and this law version works out its \
computations for an admitted case only)
        values.sogla_calo
          - expected: "3850.00"
          + actual:   no such value in the trace (did you mean 'soglia_calo'?)
        missing_facts
          - expected: []
          + actual:   ["regolarita_contributiva"]""" in block
    assert out.rstrip().endswith("1 passed, 1 failed")


def test_json_report(tmp_path: Path) -> None:
    folder = family_copy(tmp_path, BASE)
    code, out, _ = cli("test", str(folder / "tests" / "casi.yaml"), "--format", "json")
    report = json.loads(out)
    assert (code, report["passed"], report["failed"]) == (0, 1, 0)
    assert report["files"][0]["cases"][0]["name"] == "esempio"


def test_a_case_file_with_errors_is_reported_located(tmp_path: Path) -> None:
    folder = family_copy(tmp_path, BASE.replace("data_domanda: 2024-09-10", "data_domanda: 2024-09-10\n    redito: 1"))
    code, out, _ = cli("test", str(folder))
    assert code == 1
    assert re.search(r"casi\.yaml:4:5: error\[F003\]: redito: unknown field 'redito'", out), out


def test_misuse(tmp_path: Path) -> None:
    assert cli("test", str(tmp_path / "nowhere"))[0] == 2
    code, _, err = cli("test", str(tmp_path))
    assert code == 2
    assert "no test cases" in err


def test_extends_replaces_top_level_facts_and_null_removes_one(tmp_path: Path) -> None:
    path = tmp_path / "casi.yaml"
    path.write_text(BASE + """\
- name: figlio
  extends: esempio
  facts: {reddito_dichiarato: {2023: "1.00"}, regolarita_contributiva: null}
  expected: {decision: indeterminato}
""", encoding="utf-8")
    base, child = load_case_file(path).cases
    assert child.facts["reddito_dichiarato"] == {"2023": "1.00"}
    assert "regolarita_contributiva" not in child.facts
    assert child.facts["data_domanda"] == base.facts["data_domanda"] == "2024-09-10"  # dates as JSON carries them


def test_values_are_compared_as_json_carries_them() -> None:
    from datetime import date
    from decimal import Decimal

    assert same_value("687.50", Decimal("687.5"))
    assert not same_value("687.50", Decimal("687.51"))
    assert same_value("2024-09-11", date(2024, 9, 11))
    assert same_value(True, True)
    assert not same_value(1, True)
    assert not same_value(None, False)
    assert same_value(None, None)
    assert same_value(6, 6)
