"""ISCRO 2021-2023 (L. 178/2020, experimental): each year's values, the certified income, incompatibilities,
and choosing or forcing a version.

The INPS example (750,00 euro), the 50% decline, the ceiling of each year, the window edges and the boundary
with the 2024 version (31 December 2023 / 1 January 2024) are YAML test cases beside the rulesets
(rulesets/iscro/tests/iscro-2021.yaml and cambio-versione.yaml, run by tests/test_yaml_cases.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import BASE_2021, BASE_2024, case, outcome, run

from engine import VersionSelectionError, evaluate, explain


def test_last_certified_income_is_the_base_when_given() -> None:
    result = run(case(BASE_2021, ultimo_reddito_certificato="4000.00"))
    assert result.outputs["importo_mensile"] == Decimal("500.00")


@pytest.mark.parametrize(("day", "minimum", "maximum"), [
    ("2021-09-10", "250.00", "800.00"), ("2022-09-10", "254.75", "815.20"), ("2023-09-10", "275.38", "881.23"),
])
def test_minimum_and_maximum_by_year(day: str, minimum: str, maximum: str) -> None:
    result = run(case(BASE_2021, data_domanda=day))
    assert result.parameters["importo_minimo"].value == Decimal(minimum)
    assert result.parameters["importo_massimo"].value == Decimal(maximum)
    year = int(day[:4]) - 1  # the reference year: income fell below 50% of the three years before it
    incomes = {**{str(y): "20000.00" for y in range(year - 3, year)}, str(year): "3000.00"}

    def admitted_with(certified: str) -> Decimal:
        result = run(case(BASE_2021, data_domanda=day, ultimo_reddito_certificato=certified,
                          reddito_lavoro_autonomo=incomes, reddito_dichiarato={str(year): "3000.00"}))
        assert result.decision == "ammesso"
        amount: Decimal = result.outputs["importo_mensile"]
        return amount

    assert admitted_with("100.00") == Decimal(minimum)  # 100 ÷ 2 × 25% = 12,50, raised to the minimum
    assert admitted_with("100000.00") == Decimal(maximum)  # 12.500,00, cut to the maximum


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


def test_no_version_before_2021_is_an_explicit_error() -> None:
    with pytest.raises(VersionSelectionError, match="nessuna versione di iscro regola la data 31 dic 2020"):
        run(case(BASE_2021, data_domanda="2020-12-31"))


def test_forcing_a_version_applies_it_on_the_same_date() -> None:
    forced = evaluate(case(BASE_2024, reddito_lavoro_autonomo={"2020": "6000.00", "2021": "6000.00",
                                                               "2022": "5000.00", "2023": "3000.00"}),
                      family="iscro", version="2021")
    assert forced.version == "2021"
    assert forced.forced_version is True
    assert forced.to_dict()["provenance"]["forced_version"] is True


def test_forcing_an_unknown_version_is_an_error() -> None:
    with pytest.raises(VersionSelectionError, match="non ha la versione '2030'"):
        evaluate(BASE_2024, family="iscro", version="2030")
