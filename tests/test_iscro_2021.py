"""ISCRO 2021-2023 (L. 178/2020, experimental): the INPS example, each year's values, windows, and the
boundary with the 2024 version."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import BASE_2021, BASE_2024, case, outcome, run

from engine import VersionSelectionError, evaluate, explain


def test_inps_worked_example_750() -> None:
    result = run(BASE_2021)
    assert result.version == "2021"
    assert result.decision == "ammesso"
    assert result.outputs["importo_mensile"] == Decimal("750.00")
    assert result.outputs["importo_totale"] == Decimal("4500.00")
    assert result.outputs["imponibile_fiscale"] is False


def test_last_certified_income_is_the_base_when_given() -> None:
    result = run(case(BASE_2021, ultimo_reddito_certificato="4000.00"))
    assert result.outputs["importo_mensile"] == Decimal("500.00")


@pytest.mark.parametrize(("reference", "expected"), [
    ("9999.99", "soddisfatto"),       # 50% of the 2017-2019 mean of 20.000,00 is 10.000,00
    ("10000.00", "non_soddisfatto"),
])
def test_decline_below_half_of_the_three_year_mean(reference: str, expected: str) -> None:
    incomes = {"2017": "20000.00", "2018": "20000.00", "2019": "20000.00", "2020": reference}
    assert outcome(run(case(BASE_2021, reddito_lavoro_autonomo=incomes)), "requisito.calo_reddito") == expected


@pytest.mark.parametrize(("day", "ceiling"), [
    ("2021-09-10", "8145.00"), ("2022-09-10", "8299.76"), ("2023-09-10", "8972.04"),
])
def test_ceiling_by_application_year(day: str, ceiling: str) -> None:
    year = str(int(day[:4]) - 1)
    at = case(BASE_2021, data_domanda=day, reddito_dichiarato={year: ceiling})
    above = case(at, reddito_dichiarato={year: str(Decimal(ceiling) + Decimal("0.01"))})
    assert outcome(run(at), "requisito.soglia_reddito") == "soddisfatto"
    assert outcome(run(above), "requisito.soglia_reddito") == "non_soddisfatto"
    assert run(at).parameters["soglia_reddito"].value == Decimal(ceiling)


@pytest.mark.parametrize(("day", "minimum", "maximum"), [
    ("2021-09-10", "250.00", "800.00"), ("2022-09-10", "254.75", "815.20"), ("2023-09-10", "275.38", "881.23"),
])
def test_minimum_and_maximum_by_year(day: str, minimum: str, maximum: str) -> None:
    result = run(case(BASE_2021, data_domanda=day))
    assert result.parameters["importo_minimo"].value == Decimal(minimum)
    assert result.parameters["importo_massimo"].value == Decimal(maximum)
    incomes = {str(y): "20000.00" for y in range(2017, 2023)}
    low = run(case(BASE_2021, data_domanda=day, ultimo_reddito_certificato="100.00", reddito_lavoro_autonomo=incomes))
    assert low.outputs["importo_mensile"] == Decimal(minimum)


@pytest.mark.parametrize(("day", "expected"), [
    ("2021-06-30", "non_soddisfatto"), ("2021-07-01", "soddisfatto"), ("2021-10-31", "soddisfatto"),
    ("2021-11-01", "non_soddisfatto"), ("2022-04-30", "non_soddisfatto"), ("2022-05-01", "soddisfatto"),
    ("2023-05-07", "non_soddisfatto"), ("2023-05-08", "soddisfatto"), ("2023-10-31", "soddisfatto"),
])
def test_windows(day: str, expected: str) -> None:
    assert outcome(run(case(BASE_2021, data_domanda=day)), "requisito.finestra_domanda") == expected


@pytest.mark.parametrize(("opened", "expected"), [("2017-09-10", "soddisfatto"), ("2017-09-11", "non_soddisfatto")])
def test_partita_iva_four_years(opened: str, expected: str) -> None:
    assert outcome(run(case(BASE_2021, data_apertura_partita_iva=opened)), "requisito.partita_iva") == expected


def test_once_in_the_triennium() -> None:
    facts = case(BASE_2021, data_domanda="2023-09-10", prestazioni_iscro_precedenti=[{"data_inizio": "2021-08-01"}])
    assert outcome(run(facts), "requisito.iscro_precedente") == "non_soddisfatto"


@pytest.mark.parametrize("benefit", ["percettore_naspi", "percettore_dis_coll", "titolare_ape_sociale",
                                     "percettore_reddito_cittadinanza"])
def test_incompatibilities_and_rdc_refuse(benefit: str) -> None:
    assert run(case(BASE_2021, **{benefit: True})).decision == "respinto"


def test_explanation_cites_the_2021_law() -> None:
    text = explain(run(BASE_2021))
    assert "750,00 €" in text
    assert "L. 178/2020" in text
    assert "non concorre alla formazione del reddito" in text


def test_version_boundary_31_december_2023_and_1_january_2024() -> None:
    assert run(case(BASE_2021, data_domanda="2023-12-31")).version == "2021"
    assert run(case(BASE_2024, data_domanda="2024-01-01")).version == "2024"


def test_no_version_before_2021_is_an_explicit_error() -> None:
    with pytest.raises(VersionSelectionError, match="no version of iscro governs 2020-12-31"):
        run(case(BASE_2021, data_domanda="2020-12-31"))


def test_forcing_a_version_applies_it_on_the_same_date() -> None:
    forced = evaluate(case(BASE_2024, reddito_lavoro_autonomo={"2020": "6000.00", "2021": "6000.00",
                                                               "2022": "5000.00", "2023": "3000.00"}),
                      family="iscro", version="2021")
    assert forced.version == "2021"
    assert forced.forced_version is True
    assert forced.to_dict()["provenance"]["forced_version"] is True


def test_forcing_an_unknown_version_is_an_error() -> None:
    with pytest.raises(VersionSelectionError, match="no version '2030'"):
        evaluate(BASE_2024, family="iscro", version="2030")
