"""Populations for the backends' tests: the valid facts of every YAML test case of a family (the cases kept
beside the rulesets), by family."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from engine import LawVersion, Library
from engine._casetests import load_case_file
from engine._facts import validate_facts
from engine._resources import rulesets_dir
from engine._types import ListType
from engine.errors import FactsError


@cache
def library() -> Library:
    return Library()


def every_law() -> list[LawVersion]:
    return [law for family in library().families() for law in library().versions(family)]


@cache
def case_facts(family: str) -> tuple[dict[str, Any], ...]:
    """The facts of each YAML test case of ``family`` that the facts schema accepts (the others test the
    errors of bad facts, which never reach a fact table)."""
    schema = library().versions(family)[0].facts_schema
    rows = []
    for path in sorted((rulesets_dir() / family / "tests").glob("*.yaml")):
        for case in load_case_file(path).cases:
            try:
                validate_facts(case.facts, schema)
            except FactsError:
                continue
            if library().versions(family)[0].selected_by in case.facts:
                rows.append(case.facts)
    return tuple(rows)


# -- rows that sit on the thresholds, for any law version (nothing here knows a family) ----------------------

def _literals(law: LawVersion) -> tuple[set[str], set[int]]:
    """The strings and the integers written in the rules of ``law`` (``"CIGD"``, ``31``, ``2``)."""
    from engine._expr import Lit, children

    strings: set[str] = set()
    integers: set[int] = set()
    stack = [node.expr for node in law.nodes()]
    while stack:
        expr = stack.pop()
        if isinstance(expr, Lit) and isinstance(expr.value, str):
            strings.add(expr.value)
        elif isinstance(expr, Lit) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
            integers.add(expr.value)
        stack.extend(children(expr))
    return strings, integers


def thresholds(law: LawVersion) -> tuple[list[Decimal], list[dt.date], list[int], list[str]]:
    """Values on the edges of the rules: each money parameter's value and one cent under and over it, each
    date parameter's value and the days around it, the period's edges, the integers and strings of the rules."""
    money: set[Decimal] = {Decimal("0.00"), Decimal("0.01")}
    days: set[dt.date] = {law.valid_from, law.valid_from - dt.timedelta(1)}
    if law.valid_to:
        days |= {law.valid_to, law.valid_to + dt.timedelta(1)}
    integers: set[int] = {0, 1}
    for parameter in law.parameters.values():
        for dated in parameter.values:
            days |= {dated.valid_from, dated.valid_from - dt.timedelta(1)}
            value = dated.value
            if value is None:
                continue
            if parameter.type == "money":
                money |= {Decimal(value), Decimal(value) - Decimal("0.01"), Decimal(value) + Decimal("0.01")}
            elif parameter.type == "date":
                days |= {value - dt.timedelta(1), value, value + dt.timedelta(1)}
            elif parameter.type == "integer":
                integers |= {value - 1, value, value + 1}
    strings, written = _literals(law)
    integers |= {i for i in written if abs(i) < 1000}
    return sorted(money), sorted(days), sorted(integers), sorted(strings) or ["x"]


def row_strategy(law: LawVersion) -> Any:
    """A Hypothesis strategy of one application's facts for ``law``: a YAML test case of the family (complete,
    often admitted) whose facts are each kept, left out, or replaced by a value on a threshold (money at, one
    cent under and over each money parameter; dates at and around each date parameter and the period's
    edges) or at random; a by-year amount is replaced year by year."""
    from hypothesis import strategies as st

    money, days, integers, strings = thresholds(law)
    first, last = min(days) - dt.timedelta(days=1200), max(days) + dt.timedelta(days=400)
    money_s = st.one_of(st.sampled_from(money), st.integers(0, 5_000_000).map(lambda c: Decimal(c).scaleb(-2)))
    date_s = st.one_of(st.sampled_from(days), st.dates(first, last))
    int_s = st.one_of(st.sampled_from(integers), st.integers(0, 60))

    def scalar(ftype: str) -> Any:
        return {"money": money_s.map(lambda m: f"{m:.2f}"), "date": date_s.map(dt.date.isoformat),
                "integer": int_s, "boolean": st.booleans(), "string": st.sampled_from(strings),
                "number": st.one_of(int_s, st.decimals(0, 1000, places=2).map(str))}[ftype]

    years = sorted({day.year for day in days} | {day.year - k for day in days for k in (1, 2, 3)})
    drawn: dict[str, Any] = {}
    for name, fact in law.facts.items():
        ftype = fact.type
        if isinstance(ftype, ListType):
            item = st.fixed_dictionaries({f: scalar(t) for f, t in ftype.fields})
            drawn[name] = st.lists(item, max_size=3)
        elif ftype in ("money_by_year", "integer_by_year"):
            value = scalar("money" if ftype == "money_by_year" else "integer")
            drawn[name] = st.dictionaries(st.sampled_from(years).map(str), value, max_size=4)
        else:
            drawn[name] = scalar(str(ftype))

    def mutate(base: dict[str, Any], choices: dict[str, tuple[int, Any]]) -> dict[str, Any]:
        row = {}
        for name in law.facts:
            choice, value = choices[name]
            if name == law.selected_by and choice == 1:
                choice = 0  # the selecting date is always there
            current = base.get(name)
            if choice == 0 and current is not None:
                row[name] = current
            elif choice == 2:
                if isinstance(current, dict) and isinstance(value, dict):  # year by year over the case's years
                    value = {**{str(k): v for k, v in current.items()}, **value}
                row[name] = value
        return row

    bases = case_facts(law.family)
    keep_leave_replace = st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 2])
    choice_s = {name: st.tuples(keep_leave_replace, strategy) for name, strategy in drawn.items()}
    return st.builds(mutate, st.sampled_from(bases), st.fixed_dictionaries(choice_s))


def differences(expected: Any, got: Any) -> list[str]:
    """Every cell where two result tables differ, as ``row, column: expected != got``."""
    assert expected.schema == got.schema, f"{expected.schema}\n!=\n{got.schema}"
    out = []
    for name in expected.column_names:
        for index, (a, b) in enumerate(zip(expected.column(name).to_pylist(), got.column(name).to_pylist(),
                                           strict=True)):
            if a != b:
                out.append(f"row {index}, {name}: rete {a!r} != columnar {b!r}")
    return out
