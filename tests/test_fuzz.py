"""Property-based fuzzing (Hypothesis). `make test` runs a short budget; `make fuzz` a long one
(REGOLE_FUZZ_EXAMPLES sets the number of examples per property)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import BASE_2024
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FactsError, RulesetError, evaluate, load_ruleset
from engine._compile import load_ruleset_text
from engine._evaluate import EvaluationError, compile_expression
from engine._expr import ParseError, parse_expression, render
from engine._facts import parse_facts_json, validate_facts
from engine._types import TypeChecker, TypeCheckError
from engine._values import Unknown, add_months, round_half_up, whole_years_between

EXAMPLES = int(os.environ.get("REGOLE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULESET_2024 = (Path(__file__).resolve().parent.parent / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")

TOKENS = ["a", "b", "m", "d", "x", "(", ")", "[", "]", ",", ":", ".", " ", "+", "-", "*", "/", "<", "<=", "==",
          "!=", ">", "and", "or", "not", "in", "true", "false", "1", "2.5", "70%", '"t"', "min", "max", "media",
          "anno", "arrotonda", "definito", "se", "nessuno", "p", "__class__", "_x", "lista", "eval", "import"]
NAMES = {"a": "integer", "b": "integer", "m": "money", "d": "date", "x": "boolean"}


@FUZZ
@given(st.text(max_size=80))
def test_any_text_parses_or_gives_a_parse_error(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ParseError as exc:
        assert exc.line >= 1
        assert exc.column >= 1
        return
    assert parse_expression(render(expr)) == expr or render(parse_expression(render(expr))) == render(expr)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup_parses_checks_and_evaluates_or_fails_cleanly(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        expr = parse_expression(text)
        TypeChecker(NAMES).check(expr)
    except (ParseError, TypeCheckError):
        return
    evaluator = compile_expression(expr)
    env = {"a": 3, "b": 0, "m": Decimal("10.50"), "d": dt.date(2024, 2, 29), "x": Unknown(frozenset({"x"}))}
    with contextlib.suppress(EvaluationError):  # the documented error (division by zero, date out of range)
        evaluator(env)


money = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2, allow_nan=False)


@FUZZ
@given(money, money, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
def test_comparisons_of_money_are_exact(a: Decimal, b: Decimal, op: str) -> None:
    expr = parse_expression(f"m {op} n")
    result = compile_expression(expr)({"m": a, "n": b})
    expected = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    assert result == expected


@FUZZ
@given(st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=4, allow_nan=False))
def test_rounding_is_half_up_to_the_cent(value: Decimal) -> None:
    rounded = round_half_up(value, 2)
    assert abs(rounded - value) <= Decimal("0.005")
    if abs(rounded - value) == Decimal("0.005"):
        assert abs(rounded) > abs(value)  # ties go away from zero


@FUZZ
@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31)), st.integers(-60, 60))
def test_add_months_keeps_the_day_or_clamps_to_month_end(day: dt.date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or (later.day < day.day and (later + dt.timedelta(days=1)).day == 1)


@FUZZ
@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
       st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31)))
def test_whole_years_between_matches_anniversaries(start: dt.date, end: dt.date) -> None:
    years = whole_years_between(start, end)
    if end >= start:
        anniversary = add_months(start, 12 * years)
        if start.month == 2 and start.day == 29 and anniversary.day == 28:
            anniversary += dt.timedelta(days=1)  # born on 29 February: the year completes on 1 March
        assert anniversary <= end
        assert add_months(start, 12 * (years + 1)) > end or (start.month, start.day) == (2, 29)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(st.dictionaries(st.sampled_from([*BASE_2024, "altro", "reddito"]), json_values, max_size=8))
def test_facts_validator_accepts_or_reports_field_paths(changes: dict[str, Any]) -> None:
    facts = copy.deepcopy(BASE_2024)
    facts.update(changes)
    try:
        validate_facts(facts, "iscro-domanda.schema.json")
    except FactsError as exc:
        assert exc.problems
        assert all(p.path and p.path.startswith("$") for p in exc.problems)
        return
    result = evaluate(facts, family="iscro") if "data_domanda" not in changes else None
    assert result is None or result.decision in ("ammesso", "respinto", "indeterminato")


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_as_facts_give_facts_error_or_a_result(raw: bytes) -> None:
    try:
        parse_facts_json(raw)
    except FactsError as exc:
        assert exc.problems[0].path == "$"


@FUZZ
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_rulesets_load_or_give_ruleset_errors_with_a_location(seed: int) -> None:
    rng = random.Random(seed)
    lines = RULESET_2024.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        action = rng.choice(["drop", "dup", "indent", "char", "swap"])
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = " " + lines[i]
        elif action == "char" and lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + rng.choice("x:-'\"[]{}#!&*%\t 0") + lines[i][j + 1:]
        elif action == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
    try:
        load_ruleset_text("\n".join(lines), "mutated.yaml")
    except RulesetError as exc:
        assert exc.problems
        assert all(p.file == "mutated.yaml" for p in exc.problems)
        assert all(p.line is not None for p in exc.problems), [p.render() for p in exc.problems]


def test_bundled_ruleset_still_loads() -> None:
    assert load_ruleset(Path(__file__).resolve().parent.parent / "rulesets" / "iscro" / "2024.yaml").version == "2024"


def test_json_documents_round_trip_through_the_evaluator() -> None:
    text = json.dumps(BASE_2024)
    assert evaluate(text, family="iscro").to_json() == evaluate(BASE_2024, family="iscro").to_json()
