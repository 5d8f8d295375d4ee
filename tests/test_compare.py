"""``regole compare``: one case under two law versions on the case's own date. Cases that flip both ways
(admitted only under 2024, admitted only under 2021), requirements matched by id, the explanation lines that
differ, the JSON form, and a date for which a version has no parameter values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, case, cli

from engine import LawVersion
from engine._compare import Comparison, compare_case, render_comparison

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

# Both regimes' facts, so that each version can decide (2021 reads percettore_reddito_cittadinanza and
# titolare_ape_sociale; 2024 reads the Assegno di inclusione, ALAS, IDIS and elected offices).
COMMON = case(BASE_2024, percettore_reddito_cittadinanza=False, titolare_ape_sociale=False)

# 2021 averages 2020-2022 (5.666,67 €; half is 2.833,33 €): 3.000 € in 2023 is no fall.
# 2024 averages 2021-2022 (5.500 €; 70% is 3.850 €): it is. Amount 5.500 / 2 × 25% = 687,50 €.
ONLY_2024 = case(COMMON, reddito_lavoro_autonomo={"2020": "6000.00", "2021": "6000.00", "2022": "5000.00",
                                                  "2023": "3000.00"})

# An ISCRO that began in February 2024 is outside the 2021-2023 triennium but within the last two years.
# Under 2021 the amount is 25% of half the 2023 income: 3.000 / 2 × 25% = 375,00 €.
ONLY_2021 = case(COMMON, reddito_lavoro_autonomo={"2020": "10000.00", "2021": "10000.00", "2022": "10000.00",
                                                  "2023": "3000.00"},
                 prestazioni_iscro_precedenti=[{"data_inizio": "2024-02-01"}])




def compare(facts: dict[str, Any], laws: dict[str, LawVersion]) -> Comparison:
    return compare_case(facts, laws["2021"], laws["2024"])


def requirement(c: Comparison, ident: str) -> tuple[str | None, str | None]:
    pair = next(r for r in c.requirements if r.id == ident)
    return pair.a, pair.b


def test_admitted_under_2024_refused_under_2021(laws: dict[str, LawVersion]) -> None:
    c = compare(ONLY_2024, laws)
    assert (c.a.decision, c.b.decision, c.same_decision) == ("respinto", "ammesso", False)
    assert requirement(c, "requisito.calo_reddito") == ("non_soddisfatto", "soddisfatto")
    assert [r.id for r in c.requirements if r.changed] == ["requisito.assegno_inclusione", "requisito.calo_reddito",
                                                           "requisito.reddito_cittadinanza"]
    outputs = {o.name: (o.a, o.b) for o in c.outputs}
    assert outputs["importo_mensile"] == (None, pytest.approx(687.50))
    assert str(outputs["importo_totale"][1]) == "4125.00"
    assert outputs["imponibile_fiscale"] == (None, True)
    assert str(outputs["data_inizio"][1]) == "2024-09-11"
    assert str(outputs["data_fine"][1]) == "2025-03-10"


def test_admitted_under_2021_refused_under_2024(laws: dict[str, LawVersion]) -> None:
    c = compare(ONLY_2021, laws)
    assert (c.a.decision, c.b.decision) == ("ammesso", "respinto")
    assert requirement(c, "requisito.iscro_precedente") == ("soddisfatto", "non_soddisfatto")
    outputs = {o.name: (o.a, o.b) for o in c.outputs}
    assert str(outputs["importo_mensile"][0]) == "375.00"
    assert outputs["importo_mensile"][1] is None
    assert str(outputs["importo_totale"][0]) == "2250.00"
    assert outputs["imponibile_fiscale"] == (False, None)


def test_requirements_are_matched_by_id_and_unmatched_ones_shown_alone(laws: dict[str, LawVersion]) -> None:
    c = compare(ONLY_2024, laws)
    ids = [r.id for r in c.requirements]
    assert ids[:11] == [r.name for r in laws["2024"].requirements]  # B's order, then A's own
    assert ids[11:] == ["requisito.reddito_cittadinanza"]
    assert requirement(c, "requisito.assegno_inclusione") == (None, "soddisfatto")
    assert requirement(c, "requisito.reddito_cittadinanza") == ("soddisfatto", None)


def test_explanation_lines_that_differ(laws: dict[str, LawVersion]) -> None:
    changes = compare(ONLY_2024, laws).explanation_changes()
    removed = [line for mark, line in changes if mark == "-"]
    added = [line for mark, line in changes if mark == "+"]
    assert any(line.startswith("Esito: RESPINTA") for line in removed)
    assert any(line.startswith("Esito: AMMESSA. Importo mensile 687,50 €") for line in added)
    assert any("inferiore al 70% della media 2021-2022" in line for line in added)
    # each requirement's old line comes right before its new line
    calo = [i for i, (_, line) in enumerate(changes) if line.startswith(("✗ Calo", "✓ Calo"))]
    assert len(calo) == 2
    assert calo[1] == calo[0] + 1


def test_same_version_twice_has_no_differences(laws: dict[str, LawVersion]) -> None:
    c = compare_case(ONLY_2024, laws["2024"], laws["2024"])
    assert c.same_decision
    assert not any(r.changed for r in c.requirements)
    assert not any(o.changed for o in c.outputs)
    assert c.explanation_changes() == []


def test_a_date_before_the_version_has_no_parameter_values(laws: dict[str, LawVersion]) -> None:
    """2024's parameters start in 2024: on a 2023 date they are unknown, never borrowed from another year."""
    facts = case(COMMON, data_domanda="2023-09-10", reddito_lavoro_autonomo={
        "2019": "9000.00", "2020": "9000.00", "2021": "9000.00", "2022": "3000.00"},
        reddito_dichiarato={"2022": "3000.00"})
    c = compare(facts, laws)
    assert c.a.decision == "ammesso"
    assert c.b.decision == "indeterminato"
    assert "soglia_reddito" in c.unknown_parameters["iscro@2024"]
    assert c.unknown_parameters["iscro@2021"] == ()
    text = render_comparison(c)
    assert "no value at this date for: anni_esclusione, anni_partita_iva" in text


def test_text_report(laws: dict[str, LawVersion]) -> None:
    text = render_comparison(compare(ONLY_2024, laws), source="domanda.json", lang="it")
    lines = text.splitlines()
    assert lines[0] == "regole compare domanda.json (data_domanda 10 set 2024)"
    assert "iscro@2021: ISCRO sperimentale (L. 178/2020) (applicata come se regolasse questa data)" in text
    assert "iscro@2024: ISCRO strutturale (L. 213/2023) (regola questa data)" in text
    decision = next(line for line in lines if line.strip().startswith("decisione"))
    assert decision.split() == ["decisione", "respinto", "ammesso", "←", "cambia"]
    amount = next(line for line in lines if line.strip().startswith("importo_mensile"))
    assert "687,50 €" in amount
    assert "—" in amount
    assert "(assente in iscro@2024)" in text
    assert "(assente in iscro@2021)" in text
    english = render_comparison(compare(ONLY_2024, laws), source="domanda.json", lang="en")
    assert english.splitlines()[0] == "regole compare domanda.json (data_domanda 10 Sept 2024)"
    assert re.search(r"^  decision +refused +admitted +← differs$", english, flags=re.MULTILINE)
    assert "€687.50" in english


def test_cli_text_and_json(tmp_path: Path) -> None:
    path = tmp_path / "domanda.json"
    path.write_text(json.dumps(ONLY_2021), encoding="utf-8")
    code, out, err = cli("compare", str(path), "--versions", "2021,2024")
    assert (code, err) == (0, "")
    assert "\033[" not in out
    assert "requisito.iscro_precedente" in out
    assert "← differs" in out
    code, out, err = cli("compare", str(path), "--versions", "iscro@2021,iscro@2024", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert set(data) == {"format", "format_version", "selecting_date", "a", "b", "same_decision", "outputs",
                         "requirements", "explanation", "results"}
    assert (data["a"]["decision"], data["b"]["decision"], data["same_decision"]) == ("ammesso", "respinto", False)
    assert (data["a"]["governs_date"], data["b"]["governs_date"]) == (False, True)
    mensile = next(o for o in data["outputs"] if o["name"] == "importo_mensile")
    assert (mensile["a"], mensile["b"], mensile["changed"]) == ("375.00", None, True)
    assert {"id": "requisito.reddito_cittadinanza", "title": "Nessun Reddito di cittadinanza",
            "a": "soddisfatto", "b": None, "changed": True} in data["requirements"]
    assert data["results"]["a"]["provenance"]["forced_version"] is True
    assert any(c["side"] == "b" and c["line"].startswith("Esito: RESPINTA") for c in data["explanation"]["changes"])


def test_cli_errors_use_the_regole_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "domanda.json"
    path.write_text(json.dumps(case(ONLY_2024, reddito_dichiarato={"2023": "3.000,00"})), encoding="utf-8")
    code, _, err = cli("compare", str(path), "--versions", "2021,2024")
    assert code == 3
    assert "$.reddito_dichiarato.2023" in err
    path.write_text(json.dumps(ONLY_2024), encoding="utf-8")
    code, _, err = cli("compare", str(path), "--versions", "2021,2099")
    assert code == 5
    assert "no version '2099'" in err
    code, _, err = cli("compare", str(path), "--versions", "2021")
    assert code == 2  # a misused option, as argparse reports it
    assert "two versions" in err
