"""ISCRO 2024 (L. 213/2023): thresholds, each year's parameters, windows, missing facts.

The INPS example (687,50 euro), the 70% decline at and around the threshold, the declared-income ceiling of
each year and the edges of every application window are YAML test cases beside the ruleset
(rulesets/iscro/tests/iscro-2024.yaml, run by tests/test_yaml_cases.py and `regole test`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import BASE_2024, case, outcome, run

from engine import explain


def incomes(y1: str, y2: str, ref: str, start: int = 2021) -> dict[str, str]:
    return {str(start): y1, str(start + 1): y2, str(start + 2): ref}


def test_income_decline_uses_the_two_years_before_the_reference_year() -> None:
    facts = case(BASE_2024, data_domanda="2025-09-10", reddito_dichiarato={"2024": "3000.00"},
                 reddito_lavoro_autonomo={"2021": "1.00", "2022": "6000.00", "2023": "5000.00", "2024": "3000.00"})
    result = run(facts)
    assert result.value("media_redditi") == Decimal("5500")
    assert outcome(result, "requisito.calo_reddito") == "soddisfatto"


def test_2026_ceiling_is_flagged_unconfirmed_in_result_and_explanation() -> None:
    facts = case(BASE_2024, data_domanda="2026-09-10", reddito_dichiarato={"2025": "1000.00"},
                 reddito_lavoro_autonomo={"2023": "6000.00", "2024": "5000.00", "2025": "1000.00"})
    result = run(facts)
    assert result.parameters["soglia_reddito"].value == Decimal("12749.18")
    assert result.parameters["soglia_reddito"].unconfirmed
    assert "valore da verificare" in explain(result)
    assert result.parameters["soglia_reddito"].sources[0].citation == "Circ. INPS n. 4/2026"


@pytest.mark.parametrize(("day", "minimum", "maximum"), [
    ("2024-09-10", "250.00", "800.00"),
    ("2025-09-10", "252.00", "806.40"),
    ("2026-09-10", "255.53", "817.69"),
])
def test_monthly_minimum_and_maximum_by_year(day: str, minimum: str, maximum: str) -> None:
    year = int(day[:4])
    low = case(BASE_2024, data_domanda=day, reddito_dichiarato={str(year - 1): "100.00"},
               reddito_lavoro_autonomo=incomes("1000.00", "1000.00", "100.00", start=year - 3))
    high = case(low, reddito_lavoro_autonomo=incomes("40000.00", "40000.00", "100.00", start=year - 3))
    assert run(low).outputs["importo_mensile"] == Decimal(minimum)
    assert run(high).outputs["importo_mensile"] == Decimal(maximum)


def test_amount_rounds_half_up_to_the_cent() -> None:
    # mean 5.000,02 / 2 * 25% = 625,0025 -> 625,00; mean 5.000,04 -> 625,005 -> 625,01 (half up)
    result = run(case(BASE_2024, reddito_lavoro_autonomo=incomes("5000.04", "5000.04", "100.00")))
    assert result.outputs["importo_mensile"] == Decimal("625.01")


@pytest.mark.parametrize(("opened", "expected"), [
    ("2021-09-10", "soddisfatto"),      # three whole years on the application date
    ("2021-09-11", "non_soddisfatto"),  # one day short
    ("2021-09-09", "soddisfatto"),
])
def test_partita_iva_three_years(opened: str, expected: str) -> None:
    assert outcome(run(case(BASE_2024, data_apertura_partita_iva=opened)), "requisito.partita_iva") == expected


def test_partita_iva_opened_on_29_february_completes_on_1_march() -> None:
    feb = case(BASE_2024, data_apertura_partita_iva="2021-02-28")
    assert outcome(run(feb), "requisito.partita_iva") == "soddisfatto"
    leap = case(BASE_2024, data_domanda="2024-10-01", data_apertura_partita_iva="2020-02-29")
    assert run(leap).value("anni_partita_iva_compiuti") == 4


def test_unknown_opening_date_is_said_in_the_explanation() -> None:
    text = explain(run(case(BASE_2024, data_domanda="2026-03-02")))
    assert "la data di apertura delle domande del 2026 non è nota, quindi si verifica solo la scadenza" in text


@pytest.mark.parametrize(("started", "expected"), [
    ("2022-03-01", "soddisfatto"),
    ("2021-12-31", "soddisfatto"),
    ("2023-01-01", "non_soddisfatto"),
])
def test_no_new_iscro_within_two_years_of_the_start_of_the_previous_one(started: str, expected: str) -> None:
    # application in 2025: a benefit started in 2023 or later blocks it
    facts = case(BASE_2024, data_domanda="2025-09-10", reddito_dichiarato={"2024": "3000.00"},
                 reddito_lavoro_autonomo=incomes("6000.00", "5000.00", "3000.00", start=2022),
                 prestazioni_iscro_precedenti=[{"data_inizio": started}])
    assert outcome(run(facts), "requisito.iscro_precedente") == expected


@pytest.mark.parametrize("benefit", ["percettore_naspi", "percettore_dis_coll", "percettore_alas",
                                     "percettore_idis", "carica_elettiva_con_emolumenti"])
def test_each_incompatibility_refuses(benefit: str) -> None:
    result = run(case(BASE_2024, **{benefit: True}))
    assert result.decision == "respinto"
    assert outcome(result, "requisito.incompatibilita") == "non_soddisfatto"


def test_assegno_ordinario_di_invalidita_is_compatible() -> None:
    result = run(case(BASE_2024, titolare_assegno_ordinario_invalidita=True))
    assert result.decision == "ammesso"
    assert "assegno ordinario di invalidità che percepisce è compatibile" in explain(result)


def test_assegno_di_inclusione_refuses() -> None:
    assert run(case(BASE_2024, percettore_assegno_inclusione=True)).decision == "respinto"


def test_missing_fact_leaves_it_undetermined_and_names_the_fact() -> None:
    result = run(case(BASE_2024, regolarita_contributiva=None))
    assert result.decision == "indeterminato"
    assert result.missing_facts == ("regolarita_contributiva",)
    assert set(result.outputs) == {"importo_mensile", "importo_totale", "data_inizio", "data_fine",
                                   "imponibile_fiscale"}  # outputs kept in the trace
    assert result.to_dict()["outputs"] is None  # but not reported as a decision's outputs


def test_missing_year_of_income_is_named_by_path() -> None:
    result = run(case(BASE_2024, reddito_lavoro_autonomo={"2022": "5000.00", "2023": "3000.00"}))
    assert result.decision == "indeterminato"
    assert result.missing_facts == ("reddito_lavoro_autonomo.2021",)
    assert "il reddito di lavoro autonomo per anno (2021)" in explain(result)


def test_one_definite_failure_refuses_despite_missing_facts() -> None:
    result = run(case(BASE_2024, regolarita_contributiva=None, titolare_pensione_diretta=True))
    assert result.decision == "respinto"
    assert result.missing_facts == ()
    assert outcome(result, "requisito.regolarita_contributiva") == "indeterminato"


def test_a_refused_case_explains_every_failed_requirement() -> None:
    result = run(case(BASE_2024, titolare_pensione_diretta=True, regolarita_contributiva=False))
    text = explain(result)
    assert "Requisiti non soddisfatti: Nessuna pensione diretta; Regolarità contributiva." in text
    assert text.count("✗") == 2


def test_explanation_cites_and_shows_values() -> None:
    text = explain(run(BASE_2024))
    assert ("il reddito 2023, 3.000,00 €, è inferiore al 70% della media 2021-2022, cioè 3.850,00 €" in text)
    assert "L. 213/2023, art. 1, c. 144, lett. c); Circ. INPS n. 84/2024" in text
    assert "5.500,00 € ÷ 2 × 25% = 687,50 € al mese" in text
    assert "11 settembre 2024" in text
    assert "percorsi di aggiornamento professionale" in text  # obligations of an admitted case
    assert "Assegno di inclusione" in text  # an end event


def test_dates_read_as_italian_writes_them() -> None:
    text = explain(run(BASE_2024))
    assert "dall'11 settembre 2024 al 10 marzo 2025" in text
    assert "tra il 1° agosto 2024 e il 31 ottobre 2024" in text
    assert "aperta il 1° marzo 2015" in text


@pytest.mark.parametrize(("mean_income", "monthly"), [
    ("1999.92", "250.00"),  # 249,99 computed: raised to the minimum
    ("2000.00", "250.00"),  # exactly the minimum
    ("2000.08", "250.01"),
    ("6399.92", "799.99"),
    ("6400.00", "800.00"),  # exactly the maximum
    ("6400.08", "800.00"),  # 800,01 computed: cut to the maximum
])
def test_minimum_and_maximum_at_and_one_cent_either_side(mean_income: str, monthly: str) -> None:
    result = run(case(BASE_2024, reddito_lavoro_autonomo=incomes(mean_income, mean_income, "100.00")))
    assert result.outputs["importo_mensile"] == Decimal(monthly)
