"""CIG Covid 2021: the legge di bilancio (L. 178/2020 as instructed by circ. INPS 28/2021 and msg. 406/2021)
and the Decreto Sostegni (DL 41/2021). The circular's Decreto Ristori example, every window edge, every
deadline with its month ends, partial acceptance, the union agreement and FIS thresholds, the workers'
date (1 January in the law, 4 January in the circular), and the DL 41 version's own edges."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import case, reference_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Library, Result, evaluate, explain
from engine._values import Unknown
from engine.errors import VersionSelectionError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cig-covid-circolare-28.json"
D = dt.date

BASE_L178: dict[str, Any] = {
    "tipo_trattamento": "CIGO",
    "media_dipendenti_semestre": 12,
    "data_inizio_sospensione": "2021-02-01",
    "data_fine_sospensione": "2021-02-28",
    "data_domanda": "2021-02-10",
    "pagamento_diretto": False,
    "data_autorizzazione": "2021-03-05",
    "periodi_ristori": [],
    "periodi_autorizzati": [],
    "lavoratori": [{"data_assunzione": "2019-03-01"}],
}

BASE_DL41: dict[str, Any] = {
    **BASE_L178,
    "data_inizio_sospensione": "2021-04-06",
    "data_fine_sospensione": "2021-04-30",
    "data_domanda": "2021-04-15",
    "data_autorizzazione": "2021-05-05",
}
del BASE_DL41["periodi_ristori"]

RISTORI_EXAMPLE = [{"inizio": "2020-12-21", "fine": "2021-01-30"}]
DIRECT = {"pagamento_diretto": True}


def run(facts: dict[str, Any], **kwargs: Any) -> Result:
    result = evaluate(facts, family="cig-covid", **kwargs)
    explain(result)  # every case's explanation renders, whatever is missing
    return result


def outcome(result: Result, requirement: str) -> str:
    return result.requirement(f"requisito.{requirement}").outcome


def day(result: Result, name: str) -> str:
    value = result.value(name)
    assert isinstance(value, dt.date), (name, value)
    return value.isoformat()


def granted(result: Result) -> tuple[str, str, int]:
    return day(result, "inizio_concesso"), day(result, "fine_concessa"), result.value("settimane_concesse")


# ---------------------------------------------------------------------------------------------------------------
# The circular's example and the weeks available


def test_circular_example_ristori_21_december_to_30_january_leaves_8_weeks() -> None:
    result = run(case(BASE_L178, periodi_ristori=RISTORI_EXAMPLE))
    assert result.version == "2021-l178"
    assert result.value("settimane_ristori_2021") == 4
    assert result.value("settimane_disponibili") == 8
    assert result.decision == "ammesso"
    text = explain(result)
    assert "4 sono imputate ai periodi del Decreto Ristori" in text
    assert "ne restano 8" in text
    assert "da verificare: la circolare dà solo l'esempio" in text  # the general rule is our reading


def test_the_8_weeks_left_run_from_4_january_to_28_february() -> None:
    result = run(case(BASE_L178, periodi_ristori=RISTORI_EXAMPLE, data_inizio_sospensione="2021-01-04",
                      data_fine_sospensione="2021-03-31", data_domanda="2021-01-20"))
    assert granted(result) == ("2021-01-04", "2021-02-28", 8)
    assert result.value("settimane_residue") == 0
    assert result.outputs["accoglimento_parziale"] is True


@pytest.mark.parametrize(("ristori", "already", "available"), [
    ([], [], 12),
    ([{"inizio": "2020-11-16", "fine": "2020-12-20"}], [], 12),            # all in 2020
    ([{"inizio": "2021-01-04", "fine": "2021-01-31"}], [], 8),             # 4 weeks in 2021
    ([{"inizio": "2020-12-28", "fine": "2021-01-10"}], [], 11),            # the week begun on 28 December is 2020's
    (RISTORI_EXAMPLE, [{"inizio": "2021-02-01", "fine": "2021-02-28"}], 4),  # 12 - 4 Ristori - 4 already authorised
    (RISTORI_EXAMPLE, [{"inizio": "2021-02-01", "fine": "2021-03-28"}], 0),
])
def test_weeks_available(ristori: list[dict[str, str]], already: list[dict[str, str]], available: int) -> None:
    result = run(case(BASE_L178, periodi_ristori=ristori, periodi_autorizzati=already))
    assert result.value("settimane_disponibili") == available
    expected = "soddisfatto" if available else "non_soddisfatto"
    assert outcome(result, "settimane_disponibili") == expected


def test_no_weeks_left_refuses() -> None:
    result = run(case(BASE_L178, periodi_ristori=RISTORI_EXAMPLE,
                      periodi_autorizzati=[{"inizio": "2021-02-01", "fine": "2021-03-28"}],
                      data_inizio_sospensione="2021-03-29", data_fine_sospensione="2021-03-31",
                      data_domanda="2021-03-29"))
    assert result.decision == "respinto"
    assert "non ne resta nessuna" in explain(result)


def test_missing_ristori_periods_leave_the_weeks_undetermined() -> None:
    result = run(case(BASE_L178, periodi_ristori=None))
    assert result.decision == "indeterminato"
    assert result.missing_facts == ("periodi_ristori",)
    assert "i periodi del Decreto Ristori già autorizzati" in explain(result)


# ---------------------------------------------------------------------------------------------------------------
# Version selection by the suspension start, and each window edge


@pytest.mark.parametrize(("start", "version"), [
    ("2021-01-01", "2021-l178"), ("2021-03-31", "2021-l178"), ("2021-04-01", "2021-dl41"), ("2021-12-31", "2021-dl41"),
])
def test_version_is_selected_by_the_suspension_start(start: str, version: str) -> None:
    facts = case(BASE_L178, data_inizio_sospensione=start, data_fine_sospensione=start, data_domanda=start)
    assert run(facts).version == version


@pytest.mark.parametrize("start", ["2020-12-31", "2022-01-01"])
def test_no_version_before_2021_or_after_2021(start: str) -> None:
    with pytest.raises(VersionSelectionError, match="nessuna versione di cig-covid regola"):
        run(case(BASE_L178, data_inizio_sospensione=start))


@pytest.mark.parametrize(("treatment", "end", "granted_end", "partial"), [
    ("CIGO", "2021-03-31", "2021-03-31", False),
    ("CIGO", "2021-04-01", "2021-03-31", True),    # CIGO window ends 31 March
    ("ASO", "2021-04-01", "2021-04-01", False),    # ASO and CIGD go on to 30 June
    ("CIGD", "2021-04-01", "2021-04-01", False),
])
def test_l178_window_end_for_cigo(treatment: str, end: str, granted_end: str, partial: bool) -> None:
    facts = case(BASE_L178, tipo_trattamento=treatment, accordo_sindacale=True, data_inizio_sospensione="2021-03-15",
                 data_fine_sospensione=end, data_domanda="2021-03-20")
    result = run(facts)
    assert result.decision == "ammesso"
    assert day(result, "fine_concessa") == granted_end
    assert result.outputs["accoglimento_parziale"] is partial


@pytest.mark.parametrize(("end", "granted_end", "partial"), [
    ("2021-06-30", "2021-06-30", False), ("2021-07-01", "2021-06-30", True),
])
def test_l178_window_end_for_aso_and_cigd_is_30_june(end: str, granted_end: str, partial: bool) -> None:
    # a suspension starting in May is governed by DL 41; apply the legge di bilancio on request
    facts = case(BASE_L178, tipo_trattamento="ASO", data_inizio_sospensione="2021-05-01", data_fine_sospensione=end,
                 data_domanda="2021-05-10")
    result = run(facts, version="2021-l178")
    assert result.forced_version
    assert granted(result) == ("2021-05-01", granted_end, 9)
    assert result.outputs["accoglimento_parziale"] is partial


def test_cigo_starting_after_31_march_is_outside_the_l178_window() -> None:
    facts = case(BASE_L178, data_inizio_sospensione="2021-04-01", data_fine_sospensione="2021-04-30",
                 data_domanda="2021-04-10")
    result = run(facts, version="2021-l178")
    assert result.decision == "respinto"
    assert outcome(result, "periodo_nella_finestra") == "non_soddisfatto"
    assert outcome(result, "domanda_nei_termini") == "soddisfatto"  # one cause, one refusal
    assert "non rientra nella finestra della CIGO, dal 1° gennaio 2021 al 31 marzo 2021" in explain(result)


def test_dates_take_the_italian_article() -> None:
    text = explain(run(case(BASE_L178, data_inizio_sospensione="2021-03-08", data_fine_sospensione="2021-03-11",
                            data_domanda="2021-03-11")))
    assert "sospensione dall'8 marzo 2021 all'11 marzo 2021, domanda inviata l'11 marzo 2021." in text


def test_suspension_ending_before_it_starts_is_refused() -> None:
    result = run(case(BASE_L178, data_fine_sospensione="2021-01-31"))
    assert outcome(result, "periodo_nella_finestra") == "non_soddisfatto"
    assert "la sospensione finisce il 31 gennaio 2021, prima di iniziare" in explain(result)


def test_first_day_of_the_window_is_1_january() -> None:
    result = run(case(BASE_L178, data_inizio_sospensione="2021-01-01", data_fine_sospensione="2021-01-07",
                      data_domanda="2021-01-05"))
    assert granted(result) == ("2021-01-01", "2021-01-07", 1)


# ---------------------------------------------------------------------------------------------------------------
# Application deadline: end of the month after the start; 28 February 2021 for January starts


@pytest.mark.parametrize(("start", "sent", "deadline", "first_day_in_time", "expected"), [
    ("2021-01-04", "2021-02-28", "2021-02-28", "2021-01-04", "soddisfatto"),   # first application: 28 February
    ("2021-01-31", "2021-02-28", "2021-02-28", "2021-01-31", "soddisfatto"),
    ("2021-01-04", "2021-03-01", "2021-02-28", "2021-02-01", "soddisfatto"),   # January lapsed, the rest is in time
    ("2021-02-01", "2021-03-31", "2021-03-31", "2021-02-01", "soddisfatto"),
    ("2021-02-28", "2021-03-31", "2021-03-31", "2021-02-28", "soddisfatto"),
    ("2021-02-01", "2021-04-01", "2021-03-31", "2021-03-01", "soddisfatto"),   # February lapsed
    ("2021-03-31", "2021-04-30", "2021-04-30", "2021-03-31", "soddisfatto"),
    ("2021-03-31", "2021-05-01", "2021-04-30", "2021-04-01", "non_soddisfatto"),  # CIGO: nothing left in the window
])
def test_application_deadline(start: str, sent: str, deadline: str, first_day_in_time: str, expected: str) -> None:
    result = run(case(BASE_L178, data_inizio_sospensione=start, data_fine_sospensione="2021-03-31",
                      data_domanda=sent))
    assert day(result, "scadenza_domanda") == deadline
    assert day(result, "primo_giorno_nei_termini") == first_day_in_time
    assert outcome(result, "domanda_nei_termini") == expected


def test_first_application_deadline_is_a_parameter_of_28_february_2021() -> None:
    result = run(case(BASE_L178, data_inizio_sospensione="2021-01-10", data_fine_sospensione="2021-01-20",
                      data_domanda="2021-02-28"))
    use = result.parameters["termine_prima_applicazione"]
    assert use.value == D(2021, 2, 28)
    assert use.sources[0].citation == "L. 178/2020, art. 1, c. 301"
    assert "è anche il termine di prima applicazione" in explain(result)


def test_partial_acceptance_of_a_multi_month_period_sent_late() -> None:
    """Circ. 28/2021: a late application lapses only for the months whose deadline has passed."""
    facts = case(BASE_L178, data_inizio_sospensione="2021-01-18", data_fine_sospensione="2021-03-31",
                 data_domanda="2021-03-10")
    result = run(facts)
    assert result.decision == "ammesso"
    assert granted(result) == ("2021-02-01", "2021-03-31", 9)
    assert result.outputs["accoglimento_parziale"] is True
    assert result.value("settimane_residue") == 3
    text = explain(result)
    assert "Esito: AMMESSA IN PARTE. Concesse 9 settimane dal 1° febbraio 2021 al 31 marzo 2021" in text
    assert "resta nei termini per il periodo dal 1° febbraio 2021: la decadenza riguarda solo i giorni" in text
    assert "La decisione riguarda la domanda nel suo insieme: la parte concessa è calcolata a parte." in text


def test_partial_acceptance_by_weeks_window_and_lapse_together() -> None:
    facts = case(BASE_L178, tipo_trattamento="ASO", data_inizio_sospensione="2021-01-11",
                 data_fine_sospensione="2021-07-31", data_domanda="2021-03-15", periodi_ristori=RISTORI_EXAMPLE)
    result = run(facts)
    # January lapsed (deadline 28 February): from 1 February, 8 weeks left: 1 February – 28 March
    assert granted(result) == ("2021-02-01", "2021-03-28", 8)
    assert "le settimane disponibili finiscono il 28 marzo 2021" in explain(result)


def test_application_late_for_the_whole_period_is_refused() -> None:
    result = run(case(BASE_L178, data_inizio_sospensione="2021-01-04", data_fine_sospensione="2021-01-31",
                      data_domanda="2021-03-01"))
    assert result.decision == "respinto"
    assert "decadenza per tutto il periodo" in explain(result)


# ---------------------------------------------------------------------------------------------------------------
# Payment data (SR41) and the 40% advance, for direct payment


@pytest.mark.parametrize(("authorised", "sent", "deadline", "in_time"), [
    # the period ends on 28 February: end of the following month 31 March
    ("2021-03-05", "2021-04-04", "2021-04-04", True),   # authorisation + 30 days is later: 4 April
    ("2021-03-05", "2021-04-05", "2021-04-04", False),
    ("2021-03-01", "2021-03-31", "2021-03-31", True),   # authorisation + 30 days = 31 March, the same day
    ("2021-02-15", "2021-03-31", "2021-03-31", True),   # authorisation + 30 days = 17 March, earlier
    ("2021-02-15", "2021-04-01", "2021-03-31", False),
])
def test_sr41_deadline_is_the_later_of_month_end_and_authorisation_plus_30(authorised: str, sent: str,
                                                                           deadline: str, in_time: bool) -> None:
    result = run(case(BASE_L178, **DIRECT, data_autorizzazione=authorised, data_invio_sr41=sent))
    assert day(result, "scadenza_sr41") == deadline
    assert result.value("sr41_nei_termini") is in_time
    text = explain(result)
    assert ("nei termini" if in_time else "in ritardo, il pagamento e i relativi oneri restano a carico") in text


def test_sr41_for_a_period_ending_on_31_january_is_due_on_28_february() -> None:
    result = run(case(BASE_L178, **DIRECT, data_inizio_sospensione="2021-01-04", data_fine_sospensione="2021-01-31",
                      data_domanda="2021-01-20", data_autorizzazione="2021-01-25"))
    assert day(result, "termine_sr41_periodo") == "2021-02-28"  # later than the first-application 31 January
    assert day(result, "scadenza_sr41") == "2021-02-28"
    assert result.parameters["termine_sr41_prima_applicazione"].unconfirmed


def test_sr41_sent_before_the_month_end_needs_no_authorisation_date() -> None:
    on_time = run(case(BASE_L178, **DIRECT, data_autorizzazione=None, data_invio_sr41="2021-03-20"))
    assert on_time.value("sr41_nei_termini") is True
    assert isinstance(on_time.value("scadenza_sr41"), Unknown)
    late = run(case(BASE_L178, **DIRECT, data_autorizzazione=None, data_invio_sr41="2021-04-20"))
    assert isinstance(late.value("sr41_nei_termini"), Unknown)  # depends on the authorisation date
    assert late.decision == "ammesso"  # payment data decide who pays, not whether the treatment is granted


@pytest.mark.parametrize(("start", "asked", "deadline", "due"), [
    ("2021-02-01", "2021-02-16", "2021-02-16", True),
    ("2021-02-01", "2021-02-17", "2021-02-16", False),
    ("2021-02-20", "2021-03-07", "2021-03-07", True),    # across the end of February
    ("2021-01-20", "2021-02-04", "2021-02-04", True),
])
def test_40_percent_advance_requested_within_15_days(start: str, asked: str, deadline: str, due: bool) -> None:
    facts = case(BASE_L178, **DIRECT, anticipo_richiesto=True, data_richiesta_anticipo=asked,
                 data_inizio_sospensione=start, data_fine_sospensione="2021-03-31", data_domanda=asked)
    result = run(facts)
    assert day(result, "scadenza_anticipo") == deadline
    assert result.outputs["anticipo_spettante"] is due
    assert result.decision == "ammesso"  # a late advance request does not refuse the treatment


def test_no_advance_without_direct_payment_or_request() -> None:
    assert run(case(BASE_L178, **DIRECT)).outputs["anticipo_spettante"] is False
    indirect = case(BASE_L178, anticipo_richiesto=True, data_richiesta_anticipo="2021-02-02")
    assert run(indirect).outputs["anticipo_spettante"] is False


def test_cigd_is_always_paid_directly() -> None:
    facts = case(BASE_L178, tipo_trattamento="CIGD", media_dipendenti_semestre=3, pagamento_diretto=None,
                 anticipo_richiesto=True, data_richiesta_anticipo="2021-02-05")
    result = run(facts)
    assert result.value("pagamento_diretto_inps") is True
    assert result.outputs["anticipo_spettante"] is True
    assert "per la CIGD è l'unico previsto" in explain(result)


def test_employer_advanced_payment_has_a_six_month_conguaglio_deadline() -> None:
    result = run(BASE_L178)
    assert result.outputs["scadenza_conguaglio"] == D(2021, 9, 5)  # authorisation 5 March, after 28 February
    later = run(case(BASE_L178, data_autorizzazione="2021-02-20"))
    assert later.outputs["scadenza_conguaglio"] == D(2021, 8, 28)  # end of the pay period, 28 February
    assert "conguaglia entro il 28 agosto 2021" in explain(later)


def test_cigo_of_an_employer_suspending_a_cigs_programme_is_explained() -> None:
    result = run(case(BASE_L178, cigs_in_corso=True))
    assert result.value("sospensione_cigs") is True
    text = explain(result)
    assert "L'impresa sospende un programma di CIGS in corso" in text
    assert "«COVID-19 L 178/2020 – sospensione CIGS»" in text
    assert "L'impresa sospende" not in explain(run(BASE_L178))
    aso = run(case(BASE_L178, cigs_in_corso=True, tipo_trattamento="ASO"))
    assert aso.value("sospensione_cigs") is False


# ---------------------------------------------------------------------------------------------------------------
# Union agreement (CIGD) and the FIS threshold (ASO)


@pytest.mark.parametrize(("employees", "agreement", "expected"), [
    (5, None, "soddisfatto"),        # up to 5: no agreement needed
    (6, False, "non_soddisfatto"),
    (6, True, "soddisfatto"),
    (Decimal("5.5"), False, "non_soddisfatto"),
    (6, None, "indeterminato"),      # the agreement is needed and not stated
])
def test_cigd_union_agreement_above_5_employees(employees: Any, agreement: bool | None, expected: str) -> None:
    facts = case(BASE_L178, tipo_trattamento="CIGD", media_dipendenti_semestre=employees, accordo_sindacale=agreement)
    result = run(facts)
    assert outcome(result, "accordo_sindacale") == expected
    if expected == "indeterminato":
        assert result.missing_facts == ("accordo_sindacale",)


def test_cigd_without_agreement_after_a_closure_order() -> None:
    facts = case(BASE_L178, tipo_trattamento="CIGD", media_dipendenti_semestre=20, accordo_sindacale=False,
                 attivita_chiusa_per_provvedimento=True)
    assert outcome(run(facts), "accordo_sindacale") == "soddisfatto"


def test_no_agreement_needed_for_cigo_even_if_not_stated() -> None:
    result = run(case(BASE_L178, media_dipendenti_semestre=50))
    assert outcome(result, "accordo_sindacale") == "soddisfatto"
    assert "non richiesto: il trattamento chiesto non è la CIGD" in explain(result)


def test_refused_cigd_explains_the_agreement() -> None:
    result = run(case(BASE_L178, tipo_trattamento="CIGD", media_dipendenti_semestre=6, accordo_sindacale=False))
    assert result.decision == "respinto"
    assert "deve essere preceduta da un accordo sindacale" in explain(result)


@pytest.mark.parametrize(("employees", "fund", "expected"), [
    (5, None, "non_soddisfatto"),    # FIS: more than 5 on average
    (6, None, "soddisfatto"),
    (Decimal("5.01"), None, "soddisfatto"),
    (5, True, "soddisfatto"),        # an art. 27 solidarity fund (e.g. FSBA) pays the ASO
    (None, None, "indeterminato"),
])
def test_aso_of_the_fis_above_5_average_employees(employees: Any, fund: bool | None, expected: str) -> None:
    facts = case(BASE_L178, tipo_trattamento="ASO", media_dipendenti_semestre=employees,
                 fondo_solidarieta_art_27=fund)
    result = run(facts)
    assert outcome(result, "assegno_ordinario_fis") == expected
    if expected == "non_soddisfatto":
        assert "spetta oltre 5 (fuori dall'emergenza oltre 15)" in explain(result)


# ---------------------------------------------------------------------------------------------------------------
# Workers: in force on 1 January 2021 by law, on 4 January 2021 by circ. INPS 28/2021


@pytest.mark.parametrize(("hired", "covered"), [
    ("2020-12-31", 1), ("2021-01-01", 1), ("2021-01-04", 1), ("2021-01-05", 0),
])
def test_worker_in_force_on_4_january_2021(hired: str, covered: int) -> None:
    result = run(case(BASE_L178, lavoratori=[{"data_assunzione": hired}]))
    assert result.value("lavoratori_coperti") == covered
    assert result.value("lavoratori_non_coperti") == 1 - covered
    assert outcome(result, "lavoratori_in_forza") == ("soddisfatto" if covered else "non_soddisfatto")


def test_workers_covered_only_by_the_circular_are_counted_and_explained() -> None:
    workers = [{"data_assunzione": d} for d in ("2019-01-01", "2021-01-02", "2021-01-04", "2021-01-05")]
    result = run(case(BASE_L178, lavoratori=workers))
    assert (result.outputs["lavoratori_coperti"], result.outputs["lavoratori_non_coperti"]) == (3, 1)
    assert result.value("lavoratori_coperti_per_circolare") == 2
    assert result.parameters["data_in_forza_legge"].value == D(2021, 1, 1)
    text = explain(result)
    assert "La legge indica i lavoratori in forza al 1° gennaio 2021" in text
    assert "la circ. INPS 28/2021, su parere conforme del Ministero del lavoro, ha spostato la data al 4 gennaio" \
        in text
    assert "2 lavoratori assunti dopo il 1° gennaio 2021 e fino al 4 gennaio 2021 sono coperti solo per effetto" in text


def test_missing_workers_leave_it_undetermined() -> None:
    result = run(case(BASE_L178, lavoratori=None))
    assert result.decision == "indeterminato"
    assert result.missing_facts == ("lavoratori",)


# ---------------------------------------------------------------------------------------------------------------
# DL 41/2021 (Decreto Sostegni): 13 weeks of CIGO to 30 June, 28 weeks of ASO and CIGD to 31 December


def test_dl41_cigo_13_weeks_from_1_april_to_30_june() -> None:
    result = run(case(BASE_DL41, data_inizio_sospensione="2021-04-01", data_fine_sospensione="2021-06-30",
                      data_domanda="2021-04-20"))
    assert result.version == "2021-dl41"
    assert result.value("settimane_disponibili") == 13
    assert granted(result) == ("2021-04-01", "2021-06-30", 13)  # 91 days: 13 weeks exactly
    assert result.outputs["accoglimento_parziale"] is False


def test_dl41_cigo_window_ends_30_june() -> None:
    result = run(case(BASE_DL41, data_inizio_sospensione="2021-06-01", data_fine_sospensione="2021-07-01",
                      data_domanda="2021-06-10"))
    assert granted(result) == ("2021-06-01", "2021-06-30", 5)
    assert result.outputs["accoglimento_parziale"] is True
    after = run(case(BASE_DL41, data_inizio_sospensione="2021-07-01", data_fine_sospensione="2021-07-31",
                     data_domanda="2021-07-10"))
    assert outcome(after, "periodo_nella_finestra") == "non_soddisfatto"


@pytest.mark.parametrize("treatment", ["ASO", "CIGD"])
def test_dl41_aso_and_cigd_28_weeks(treatment: str) -> None:
    result = run(case(BASE_DL41, tipo_trattamento=treatment, accordo_sindacale=True,
                      data_inizio_sospensione="2021-04-01", data_fine_sospensione="2021-12-31",
                      data_domanda="2021-04-20"))
    assert result.value("settimane_disponibili") == 28
    assert granted(result) == ("2021-04-01", "2021-10-13", 28)  # 196 days


def test_dl41_aso_window_ends_31_december() -> None:
    result = run(case(BASE_DL41, tipo_trattamento="ASO", data_inizio_sospensione="2021-12-01",
                      data_fine_sospensione="2022-01-15", data_domanda="2021-12-10"))
    assert granted(result) == ("2021-12-01", "2021-12-31", 5)


def test_dl41_weeks_already_authorised() -> None:
    already = [{"inizio": "2021-04-01", "fine": "2021-05-31"}]  # 61 days: 9 weeks
    result = run(case(BASE_DL41, periodi_autorizzati=already, data_inizio_sospensione="2021-06-01",
                      data_fine_sospensione="2021-06-30", data_domanda="2021-06-05"))
    assert result.value("settimane_disponibili") == 4
    assert granted(result) == ("2021-06-01", "2021-06-28", 4)


@pytest.mark.parametrize(("hired", "covered"), [("2021-03-23", 1), ("2021-03-24", 0)])
def test_dl41_workers_in_force_on_23_march_2021(hired: str, covered: int) -> None:
    result = run(case(BASE_DL41, lavoratori=[{"data_assunzione": hired}]))
    assert result.value("lavoratori_coperti") == covered
    assert outcome(result, "lavoratori_in_forza") == ("soddisfatto" if covered else "non_soddisfatto")


@pytest.mark.parametrize(("start", "sent", "first_day_in_time", "expected"), [
    ("2021-04-01", "2021-05-31", "2021-04-01", "soddisfatto"),
    ("2021-04-01", "2021-06-01", "2021-05-01", "soddisfatto"),       # April lapsed
    ("2021-11-15", "2021-12-31", "2021-11-15", "soddisfatto"),
    ("2021-11-15", "2022-01-01", "2021-12-01", "soddisfatto"),       # November lapsed
])
def test_dl41_application_deadline(start: str, sent: str, first_day_in_time: str, expected: str) -> None:
    result = run(case(BASE_DL41, tipo_trattamento="ASO", data_inizio_sospensione=start,
                      data_fine_sospensione="2021-12-31", data_domanda=sent))
    assert day(result, "primo_giorno_nei_termini") == first_day_in_time
    assert outcome(result, "domanda_nei_termini") == expected


def test_dl41_rules_carried_over_by_analogy_are_flagged() -> None:
    result = run(BASE_DL41)
    assert result.parameters["termine_prima_applicazione"].unconfirmed
    assert isinstance(result.parameters["termine_prima_applicazione"].value, Unknown)
    assert result.requirement("requisito.domanda_nei_termini").unconfirmed
    text = explain(result)
    assert "Termine di prima applicazione non noto (valore da verificare" in text
    assert "data di entrata in vigore del decreto" in text


def test_dl41_does_not_read_ristori_periods() -> None:
    result = run(case(BASE_DL41, periodi_ristori=RISTORI_EXAMPLE))
    assert result.value("settimane_disponibili") == 13


# ---------------------------------------------------------------------------------------------------------------
# The example file, the CLI, the family guess


def test_example_file_is_the_circular_example() -> None:
    facts = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    result = evaluate(facts)  # the family is guessed from the facts
    assert (result.family, result.version, result.decision) == ("cig-covid", "2021-l178", "ammesso")
    assert result.outputs["settimane_concesse"] == 8
    assert (result.outputs["inizio_concesso"], result.outputs["fine_concessa"]) == (D(2021, 2, 1), D(2021, 3, 28))
    assert result.outputs["lavoratori_coperti"] == 3
    assert result.outputs["anticipo_spettante"] is True
    assert result.outputs["scadenza_sr41"] == D(2021, 4, 30)
    assert json.loads(result.to_json())["outputs"]["scadenza_sr41"] == "2021-04-30"


def test_cli_lists_the_family_and_explains_the_example() -> None:
    regole = Path(sys.executable).with_name("regole")
    listed = subprocess.run([regole, "rulesets"], capture_output=True, text=True, check=True).stdout
    assert "cig-covid\n" in listed
    assert "2021-l178  1 gen 2021 – 31 mar 2021" in listed
    assert "2021-dl41  1 apr 2021 – 31 dic 2021" in listed
    explained = subprocess.run([regole, "evaluate", str(EXAMPLE)], capture_output=True, text=True, check=True).stdout
    assert "Esito: AMMESSA IN PARTE. Concesse 8 settimane dal 1° febbraio 2021 al 28 marzo 2021" in explained


# ---------------------------------------------------------------------------------------------------------------
# The rule network agrees with the Python evaluator on random applications


def random_application(rng: random.Random) -> dict[str, Any]:
    start = D(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    facts: dict[str, Any] = {
        "tipo_trattamento": rng.choice(["CIGO", "ASO", "CIGD"]),
        "media_dipendenti_semestre": rng.choice([0, 3, 5, 6, 15, Decimal("5.5")]),
        "accordo_sindacale": rng.random() < 0.5,
        "data_inizio_sospensione": start.isoformat(),
        "data_fine_sospensione": (start + dt.timedelta(days=rng.randint(-5, 200))).isoformat(),
        "data_domanda": (start + dt.timedelta(days=rng.randint(-10, 120))).isoformat(),
        "pagamento_diretto": rng.random() < 0.5,
        "periodi_ristori": [{"inizio": "2020-12-21", "fine": "2021-01-30"}] if rng.random() < 0.5 else [],
        "periodi_autorizzati": [{"inizio": "2021-01-04", "fine": (D(2021, 1, 4) + dt.timedelta(
            days=rng.randint(0, 120))).isoformat()}] if rng.random() < 0.3 else [],
        "lavoratori": [{"data_assunzione": (D(2020, 12, 28) + dt.timedelta(days=rng.randint(0, 100))).isoformat()}
                       for _ in range(rng.randint(0, 3))],
    }
    for optional in ("attivita_chiusa_per_provvedimento", "fondo_solidarieta_art_27"):
        if rng.random() < 0.2:
            facts[optional] = rng.random() < 0.5
    for name in list(facts):
        if name != "data_inizio_sospensione" and rng.random() < 0.08:
            del facts[name]
    return facts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_network_agrees_with_the_python_evaluator(library: Library, seed: int) -> None:
    facts = random_application(random.Random(seed))
    result = evaluate(facts, family="cig-covid", library=library)
    law = library.get("cig-covid", result.version)
    values = reference_values(law, facts)
    names = {True: "soddisfatto", False: "non_soddisfatto"}
    for node in law.requirements:
        expected = values[node.name]
        assert result.requirement(node.name).outcome == names.get(expected, "indeterminato"), node.name
    for name in law.outputs:
        if isinstance(values[name], Unknown):
            assert isinstance(result.value(name), Unknown), name
        else:
            assert result.value(name) == values[name], name
    explain(result)
