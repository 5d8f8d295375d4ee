"""Period and list functions of the rule language (added for the CIG Covid family, available to every family):
``settimane``, ``inizio_mese``, ``somma``, and the date helpers they are combined with (``fine_mese_successivo``,
``aggiungi_mesi``, ``aggiungi_giorni``, ``giorni_tra``, ``min``/``max`` on dates, ``conta`` over dates), with
month ends and 29 February."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._evaluate import _STRICT_FUNCTIONS, compile_expression
from engine._expr import parse_expression
from engine._types import FUNCTIONS, ListType, Type, TypeChecker, TypeCheckError
from engine._values import Unknown

pytestmark = pytest.mark.usefixtures("english")  # the type checker's messages are read in English here
D = dt.date
PERIODS = ListType((("fine", "date"), ("inizio", "date")))
WORKERS = ListType((("data_assunzione", "date"),))
NAMES: dict[str, Type] = {"a": "date", "b": "date", "c": "date", "n": "integer", "periodi": PERIODS,
                          "lavoratori": WORKERS, "importo": "money"}
dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2040, 12, 31))


def value(text: str, **env: Any) -> Any:
    expr = parse_expression(text)
    TypeChecker(NAMES).check(expr)
    return compile_expression(expr)(env)


def type_of(text: str) -> Type:
    return TypeChecker(NAMES).check(parse_expression(text))


# ---------------------------------------------------------------------------------------------------------------
# settimane(da, a): 7-day blocks counted from 'da', both ends included; a begun week counts whole


@pytest.mark.parametrize(("start", "end", "weeks"), [
    (D(2021, 1, 4), D(2021, 1, 4), 1),      # one day is a begun week
    (D(2021, 1, 4), D(2021, 1, 10), 1),     # exactly 7 days
    (D(2021, 1, 4), D(2021, 1, 11), 2),     # the eighth day begins a second week
    (D(2021, 1, 4), D(2021, 3, 28), 12),    # 84 days: the 12 weeks from 4 January end on 28 March
    (D(2021, 1, 4), D(2021, 1, 3), 0),      # an empty period
    (D(2020, 12, 21), D(2021, 1, 30), 6),   # the Decreto Ristori example of circ. INPS 28/2021: 41 days
    (D(2020, 12, 21), D(2020, 12, 31), 2),  # ... of which two weeks begun in 2020
    (D(2021, 2, 1), D(2021, 2, 28), 4),     # February of a common year: 4 weeks exactly
    (D(2024, 2, 1), D(2024, 2, 29), 5),     # February of a leap year: 29 days begin a fifth week
    (D(2024, 2, 23), D(2024, 3, 1), 2),     # across 29 February: 8 days
    (D(2023, 2, 23), D(2023, 3, 1), 1),     # the same dates in a common year: 7 days
])
def test_settimane_examples(start: dt.date, end: dt.date, weeks: int) -> None:
    assert value("settimane(a, b)", a=start, b=end) == weeks


@given(start=dates, days=st.integers(min_value=-30, max_value=800))
def test_settimane_is_the_number_of_7_day_blocks_begun_in_the_period(start: dt.date, days: int) -> None:
    end = start + dt.timedelta(days=days)
    blocks = 0
    first = start
    while first <= end:  # brute force: walk the blocks
        blocks += 1
        first += dt.timedelta(days=7)
    assert value("settimane(a, b)", a=start, b=end) == blocks
    assert blocks == (math.ceil((days + 1) / 7) if days >= 0 else 0)


@given(start=dates, whole_weeks=st.integers(min_value=0, max_value=60), rest=st.integers(min_value=0, max_value=60))
def test_settimane_splits_at_a_block_boundary(start: dt.date, whole_weeks: int, rest: int) -> None:
    """The weeks of a period = the weeks before a block boundary + the weeks after it (the Ristori rule)."""
    boundary = start + dt.timedelta(days=7 * whole_weeks)
    end = boundary + dt.timedelta(days=rest)
    total = value("settimane(a, c)", a=start, c=end)
    before = value("settimane(a, giorno_prima(b))", a=start, b=boundary)
    after = value("settimane(b, c)", b=boundary, c=end)
    assert total == before + after


@given(start=dates, days=st.integers(min_value=0, max_value=400), cut=st.integers(min_value=-400, max_value=400))
def test_weeks_from_a_date_on_never_exceed_the_days_from_that_date(start: dt.date, days: int, cut: int) -> None:
    """The Ristori imputation (weeks of the period minus those begun before a day) is between the whole weeks
    and the begun weeks of the part on or after that day."""
    end = start + dt.timedelta(days=days)
    day = start + dt.timedelta(days=cut)
    imputed = value("settimane(a, b) - settimane(a, min(b, giorno_prima(c)))", a=start, b=end, c=day)
    part = max(0, (end - max(start, day)).days + 1)
    assert part // 7 <= imputed <= math.ceil(part / 7)


def test_settimane_types() -> None:
    assert type_of("settimane(a, b)") == "integer"
    with pytest.raises(TypeCheckError, match="settimane expects date"):
        type_of("settimane(a, n)")


# ---------------------------------------------------------------------------------------------------------------
# inizio_mese, fine_mese_successivo, aggiungi_mesi: month ends and 29 February


@pytest.mark.parametrize(("day", "first"), [
    (D(2021, 1, 31), D(2021, 1, 1)), (D(2024, 2, 29), D(2024, 2, 1)), (D(2021, 3, 1), D(2021, 3, 1)),
])
def test_inizio_mese(day: dt.date, first: dt.date) -> None:
    assert value("inizio_mese(a)", a=day) == first


@given(day=dates)
def test_inizio_mese_is_the_first_of_the_same_month(day: dt.date) -> None:
    first = value("inizio_mese(a)", a=day)
    assert (first.year, first.month, first.day) == (day.year, day.month, 1)


@pytest.mark.parametrize(("day", "deadline"), [
    (D(2021, 1, 1), D(2021, 2, 28)),    # suspensions from January 2021: 28 February 2021
    (D(2021, 1, 31), D(2021, 2, 28)),
    (D(2024, 1, 31), D(2024, 2, 29)),   # leap year
    (D(2021, 2, 28), D(2021, 3, 31)),
    (D(2021, 3, 31), D(2021, 4, 30)),
    (D(2020, 12, 31), D(2021, 1, 31)),  # across the year
    (D(2021, 11, 30), D(2021, 12, 31)),
])
def test_fine_mese_successivo(day: dt.date, deadline: dt.date) -> None:
    assert value("fine_mese_successivo(a)", a=day) == deadline


@given(day=dates)
def test_fine_mese_successivo_is_the_last_day_of_the_next_month(day: dt.date) -> None:
    deadline = value("fine_mese_successivo(a)", a=day)
    following = deadline + dt.timedelta(days=1)
    assert following.day == 1
    assert (deadline.year * 12 + deadline.month) - (day.year * 12 + day.month) == 1


@pytest.mark.parametrize(("day", "first"), [
    (D(2021, 3, 31), D(2021, 2, 1)),   # 31 March - 1 month = 28 February: its month starts on 1 February
    (D(2024, 3, 31), D(2024, 2, 1)),
    (D(2021, 3, 1), D(2021, 2, 1)),
    (D(2021, 1, 15), D(2020, 12, 1)),
])
def test_first_day_of_the_previous_month(day: dt.date, first: dt.date) -> None:
    """The first month still in time for an application sent on ``day`` (end of the following month rule)."""
    assert value("inizio_mese(aggiungi_mesi(a, -1))", a=day) == first


@given(day=dates)
def test_the_previous_month_is_the_oldest_whose_deadline_has_not_passed(day: dt.date) -> None:
    first = value("inizio_mese(aggiungi_mesi(a, -1))", a=day)
    assert value("fine_mese_successivo(a)", a=first) >= day
    before = value("giorno_prima(a)", a=first)
    assert value("fine_mese_successivo(a)", a=before) < day


@pytest.mark.parametrize(("day", "months", "result"), [
    (D(2021, 3, 31), -1, D(2021, 2, 28)), (D(2024, 3, 31), -1, D(2024, 2, 29)), (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2021, 3, 31), 6, D(2021, 9, 30)), (D(2021, 1, 31), 1, D(2021, 2, 28)),
])
def test_aggiungi_mesi_month_ends(day: dt.date, months: int, result: dt.date) -> None:
    assert value("aggiungi_mesi(a, n)", a=day, n=months) == result


# ---------------------------------------------------------------------------------------------------------------
# aggiungi_giorni, giorni_tra, min/max on dates


@pytest.mark.parametrize(("day", "days", "result"), [
    (D(2021, 2, 1), 15, D(2021, 2, 16)), (D(2021, 2, 20), 15, D(2021, 3, 7)), (D(2024, 2, 20), 15, D(2024, 3, 6)),
    (D(2024, 2, 28), 1, D(2024, 2, 29)), (D(2021, 2, 28), 1, D(2021, 3, 1)), (D(2021, 3, 5), 30, D(2021, 4, 4)),
    (D(2021, 1, 1), 30, D(2021, 1, 31)),
])
def test_aggiungi_giorni(day: dt.date, days: int, result: dt.date) -> None:
    assert value("aggiungi_giorni(a, n)", a=day, n=days) == result


@given(start=dates, days=st.integers(min_value=-3000, max_value=3000))
def test_giorni_tra_inverts_aggiungi_giorni(start: dt.date, days: int) -> None:
    end = value("aggiungi_giorni(a, n)", a=start, n=days)
    assert value("giorni_tra(a, b)", a=start, b=end) == days


@given(a=dates, b=dates, c=dates)
def test_min_and_max_of_dates(a: dt.date, b: dt.date, c: dt.date) -> None:
    assert value("max(a, b, c)", a=a, b=b, c=c) == max(a, b, c)
    assert value("min(a, b, c)", a=a, b=b, c=c) == min(a, b, c)
    assert type_of("max(a, b)") == "date"


def test_min_of_a_date_and_a_number_is_refused() -> None:
    with pytest.raises(TypeCheckError, match="mixes date and integer"):
        type_of("min(a, n)")


# ---------------------------------------------------------------------------------------------------------------
# somma(x in lista: intero) and conta over dates

RISTORI = ("somma(p in periodi: settimane(p.inizio, p.fine) - settimane(p.inizio, min(p.fine, giorno_prima(a))))")


@pytest.mark.parametrize(("periods", "weeks"), [
    ([], 0),
    ([(D(2020, 12, 21), D(2021, 1, 30))], 4),                                 # circ. INPS 28/2021
    ([(D(2020, 11, 16), D(2020, 12, 20))], 0),                                # all in 2020
    ([(D(2021, 1, 4), D(2021, 1, 31))], 4),                                   # all in 2021: 28 days
    ([(D(2020, 12, 28), D(2021, 1, 10))], 1),                                 # the week of 28 December stays in 2020
    ([(D(2020, 12, 21), D(2021, 1, 30)), (D(2021, 1, 4), D(2021, 1, 4))], 5),  # a second period adds its week
])
def test_somma_of_the_ristori_weeks_from_1_january_2021(periods: list[tuple[dt.date, dt.date]], weeks: int) -> None:
    records = [{"inizio": start, "fine": end} for start, end in periods]
    assert value(RISTORI, periodi=records, a=D(2021, 1, 1)) == weeks


@given(st.lists(st.tuples(dates, st.integers(min_value=0, max_value=200)), max_size=8))
def test_somma_adds_the_value_of_each_element(periods: list[tuple[dt.date, int]]) -> None:
    records = [{"inizio": start, "fine": start + dt.timedelta(days=days)} for start, days in periods]
    expected = sum(days // 7 + 1 for _, days in periods)
    assert value("somma(p in periodi: settimane(p.inizio, p.fine))", periodi=records) == expected


def test_somma_is_unknown_when_the_list_or_a_value_is_unknown() -> None:
    missing = Unknown(frozenset({"periodi"}))
    assert value("somma(p in periodi: settimane(p.inizio, p.fine))", periodi=missing) == missing
    unknown_day = Unknown(frozenset({"a"}))
    result = value(RISTORI, periodi=[{"inizio": D(2021, 1, 4), "fine": D(2021, 1, 9)}], a=unknown_day)
    assert result == unknown_day
    assert value(RISTORI, periodi=[], a=unknown_day) == 0  # nothing to add: no fact is needed


@pytest.mark.parametrize(("text", "message"), [
    ("somma(p in periodi: p.inizio)", "somma adds integers"),
    ("somma(p in periodi: importo)", "somma adds integers"),
    ("somma(p in periodi: p.inizio <= a)", "somma adds integers"),
    ("somma(periodi)", "somma takes one argument written 'x in lista: valore'"),
    ("somma(p in a: 1)", "somma needs a list"),
    ("conta(p in periodi: 1)", "the condition of conta must be a boolean"),
])
def test_somma_type_errors(text: str, message: str) -> None:
    with pytest.raises(TypeCheckError, match=message):
        type_of(text)


@pytest.mark.parametrize(("hired", "covered"), [
    (D(2021, 1, 4), 1), (D(2021, 1, 5), 0), (D(2020, 2, 29), 1), (D(2021, 1, 1), 1),
])
def test_conta_workers_in_force_on_a_date(hired: dt.date, covered: int) -> None:
    text = "conta(w in lavoratori: w.data_assunzione <= a)"
    assert value(text, lavoratori=[{"data_assunzione": hired}], a=D(2021, 1, 4)) == covered


# ---------------------------------------------------------------------------------------------------------------
# The whitelist


def test_every_function_has_an_italian_doc_and_an_implementation() -> None:
    special = {"definito", "se", "qualcuno", "nessuno", "tutti", "conta", "somma"}
    for name, signature in FUNCTIONS.items():
        assert signature.doc, name
        assert name in _STRICT_FUNCTIONS or name in special, name


@pytest.mark.parametrize("function", ["qualcuno", "nessuno", "tutti", "conta"])
def test_list_functions_with_an_unknown_condition_are_unknown(function: str) -> None:
    """An unknown condition makes the answer unknown (this used to raise TypeError: Unknown has no truth
    value)."""
    unknown_day = Unknown(frozenset({"a"}))
    text = f"{function}(w in lavoratori: w.data_assunzione <= a)"
    assert value(text, lavoratori=[{"data_assunzione": D(2021, 1, 4)}], a=unknown_day) == unknown_day


# qualcuno, nessuno, tutti, conta and somma: empty lists, known and unknown items (Kleene logic)

HIRED = [{"data_assunzione": D(2020, 3, 1)}, {"data_assunzione": D(2021, 6, 30)}]


@pytest.mark.parametrize(("text", "empty", "known"), [
    ("qualcuno(w in lavoratori: w.data_assunzione >= a)", False, True),
    ("nessuno(w in lavoratori: w.data_assunzione >= a)", True, False),
    ("tutti(w in lavoratori: w.data_assunzione >= a)", True, False),
    ("conta(w in lavoratori: w.data_assunzione >= a)", 0, 1),
    ("somma(w in lavoratori: giorni_tra(a, w.data_assunzione))", 0, -306 + 180),  # 1.3.2020 and 30.6.2021
])
def test_quantifiers_on_empty_and_known_lists(text: str, empty: Any, known: Any) -> None:
    assert value(text, lavoratori=[], a=D(2021, 1, 1)) == empty
    assert value(text, lavoratori=HIRED, a=D(2021, 1, 1)) == known


def test_quantifiers_follow_kleene_logic_when_the_body_is_unknown_for_some_items() -> None:
    """The body reads an unknown value: it is false for the item hired in 2020 whatever that value, and
    unknown for the one hired in 2022. So tutti is false, and qualcuno, nessuno and conta are unknown,
    naming what is missing."""
    gap = Unknown(frozenset({"a"}))
    body = "w.data_assunzione > a and w.data_assunzione > b"
    hired = [{"data_assunzione": D(2020, 1, 1)}, {"data_assunzione": D(2022, 1, 1)}]
    known = {"lavoratori": hired, "a": gap, "b": D(2021, 1, 1)}
    assert value(f"tutti(w in lavoratori: {body})", **known) is False
    for quantifier in ("qualcuno", "nessuno", "conta"):
        assert value(f"{quantifier}(w in lavoratori: {body})", **known) == gap
    assert value(f"qualcuno(w in lavoratori: {body})", **{**known, "a": D(2019, 1, 1)}) is True
