"""Property-based fuzzing (Hypothesis). `make test` runs a short budget; `make fuzz` a long one
(REGOLE_FUZZ_EXAMPLES sets the number of examples per property)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import os
import random
import re
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from conftest import BASE_2021, BASE_2024, assert_valid_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FactsError, Library, RegoleError, Result, RulesetError, evaluate, explain, load_ruleset
from engine._compile import load_ruleset_text
from engine._dataset import FactTable, read_rows
from engine._evaluate import EvaluationError, compile_expression
from engine._expr import ParseError, parse_expression, render
from engine._facts import parse_facts_json, validate_facts
from engine._impact import measure_impact
from engine._run import default_library
from engine._types import TypeChecker, TypeCheckError
from engine._values import Unknown, add_months, round_half_up, whole_years_between
from engine.cli import main

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


# -- One property for every entry point of evaluate (issue 12) ----------------------------------------------------
#
# Whatever reaches evaluate (a Python mapping, JSON text, a file or standard input of the CLI, a row of a batch),
# the outcome is a Result or a RegoleError subclass, never another exception: hostile documents mix extreme
# numbers and exponents, special Decimals, deep and cyclic structures, keys that are not text, huge strings and
# every JSON type in every field of the three bases below.

ENTRY = settings(max_examples=max(EXAMPLES // 3, 20), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CIG_BASE: dict[str, Any] = json.loads((Path(__file__).resolve().parent.parent / "examples"
                                       / "cig-covid-circolare-28.json").read_text("utf-8"))
BASES = [BASE_2024, BASE_2021, CIG_BASE]
FIELDS = sorted({*BASE_2024, *BASE_2021, *CIG_BASE, "ultimo_reddito_certificato", "titolare_ape_sociale"})
SPECIAL_DECIMALS = [Decimal(text) for text in (
    "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "-0", "0E-1000", "1E+26", "1e308", "-1e308", "1e400",
    "1E+999999999", "-1E+999999999", "1E-999999999", "1000000000000.01", "999999999999.99", "0.001", "1.000")]
HUGE_TEXT = "9" * 200_000

extreme_numbers = (
    st.integers() | st.integers(min_value=-10**60, max_value=10**60)
    | st.sampled_from([2**63, -2**63 - 1, 10**12, 10**12 + 1])
    | st.builds(lambda sign, digits: sign * 10**digits, st.sampled_from([1, -1]), st.sampled_from([4400, 5000]))
    | st.floats() | st.decimals()
    | st.builds(lambda m, e: Decimal(f"{m}E{e}"), st.integers(-10**30, 10**30), st.integers(-10**7, 10**7))
    | st.sampled_from(SPECIAL_DECIMALS))
hostile_strings = (
    st.text(max_size=20) | st.from_regex(r"-?\d{1,20}(\.\d{0,5})?", fullmatch=True)
    | st.sampled_from(["2024-09-10", "2024-02-30", "9999-12-31", "0001-01-01", "2024-9-1", "6000.50", "6.000,50",
                       "-0", "1e26", "NaN", "\x00", "2023", "", " ", "ammesso", "CIGO", HUGE_TEXT]))
hostile_scalars = (st.none() | st.booleans() | extreme_numbers | hostile_strings | st.binary(max_size=4)
                   | st.dates())
hostile_keys = (st.sampled_from([*FIELDS, "2023", 2023, "2021", 2021, "data_inizio", "inizio", "fine"])
                | st.text(max_size=6) | st.integers() | st.none() | st.floats(allow_nan=False) | st.booleans()
                | st.tuples(st.integers(0, 3)))
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(hostile_keys, inner, max_size=4),
    max_leaves=12)


def _shaped(value: Any, shape: str) -> Any:
    """``value`` inside a deep or self-referencing structure, or as it is."""
    if shape == "deep":
        for _ in range(900):
            value = {"a": value}
        return value
    if shape == "cyclic list":
        loop: list[Any] = [value]
        loop.append(loop)
        return loop
    if shape == "cyclic dict":
        cycle: dict[str, Any] = {"data_inizio": value}
        cycle["self"] = cycle
        return cycle
    if shape == "shared":  # a DAG whose paths, walked naively, number 10 ** 30
        for _ in range(30):
            value = [value] * 10
        return value
    return value


SHAPES = st.sampled_from(["as is"] * 8 + ["deep", "cyclic list", "cyclic dict", "shared"])


@st.composite
def hostile_documents(draw: st.DrawFn, *, json_only: bool = False) -> Any:
    """A base case with some fields removed, replaced or added, perhaps not a mapping at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(hostile_values)
    facts: dict[Any, Any] = copy.deepcopy(draw(st.sampled_from(BASES)))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        facts.pop(key, None)
    for key, value in draw(st.dictionaries(hostile_keys, hostile_values, max_size=4)).items():
        facts[key] = value if json_only else _shaped(value, draw(SHAPES))
    return facts


def as_json_text(value: Any) -> str:
    """``value`` written the way JSON writes it, numbers exactly (NaN and Infinity as Python's json does);
    keys as text, as JSON must have them."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(Decimal(value))  # str() of an int over 4,300 digits refuses
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) and not math.isfinite(value) else str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(as_json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{as_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def assert_result_or_regole_error(run_it: Callable[[], Any]) -> None:
    """``run_it()`` gives a Result that can be shown (JSON and Italian), or raises a RegoleError."""
    try:
        result = run_it()
    except RegoleError as exc:
        assert str(exc)
        if isinstance(exc, FactsError):
            assert exc.problems
            assert all(p.path and p.path.startswith("$") for p in exc.problems), exc.problems
        return
    assert isinstance(result, Result)
    assert_valid_output("evaluate", json.loads(result.to_json()))
    with contextlib.suppress(RegoleError):
        explain(result)


@ENTRY
@given(hostile_documents(), st.sampled_from([None, "iscro", "cig-covid"]))
def test_evaluate_on_a_python_mapping_gives_a_result_or_a_regole_error(facts: Any, family: str | None) -> None:
    assert_result_or_regole_error(lambda: evaluate(facts, family=family))


@ENTRY
@given(hostile_documents(json_only=True), st.sampled_from([None, "iscro"]), st.booleans())
def test_evaluate_on_json_text_gives_a_result_or_a_regole_error(facts: Any, family: str | None,
                                                                 as_bytes: bool) -> None:
    text = as_json_text(facts)
    assert_result_or_regole_error(lambda: evaluate(text.encode() if as_bytes else text, family=family))


@ENTRY
@given(st.sampled_from(['{"a":' * 100_000, "[" * 100_000, '{"data_domanda":' + "[" * 5000, "\ufeff{}",
                        '{"data_domanda":"2024-09-10"' + ',"x":1' * 50_000 + "}", "1e999999999", '"x"', "",
                        '{"data_domanda":"2024-09-10","reddito_dichiarato":{"2023":' + "9" * 100_000 + "}}"]))
def test_evaluate_on_pathological_json_text_gives_a_regole_error(text: str) -> None:
    assert_result_or_regole_error(lambda: evaluate(text, family="iscro"))


CLI_EXITS = {0, 3, 4, 5, 6}


COMMANDS = {"evaluate": ["--json"], "compare": ["--versions", "iscro@2021,iscro@2024", "--json"]}


@ENTRY
@given(hostile_documents(json_only=True), st.booleans(), st.sampled_from(sorted(COMMANDS)))
def test_the_cli_on_a_hostile_file_or_stdin_exits_with_a_documented_code(facts: Any, stdin: bool,
                                                                         command: str) -> None:
    raw = as_json_text(facts).encode()
    out, err = io.StringIO(), io.StringIO()
    if stdin:
        with mock.patch.object(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(raw))):
            code = main([command, "-", *COMMANDS[command]], stdout=out, stderr=err)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "facts.json"
            path.write_bytes(raw)
            code = main([command, str(path), *COMMANDS[command]], stdout=out, stderr=err)
    assert code in CLI_EXITS, err.getvalue()
    assert (code == 0) == bool(out.getvalue())
    assert "Traceback" not in err.getvalue()
    if code == 0:  # what it prints follows its published schema
        assert_valid_output(command, json.loads(out.getvalue()))


@ENTRY
@given(st.lists(hostile_documents(json_only=True), min_size=1, max_size=3))
def test_a_batch_row_never_sinks_the_others(rows: list[Any]) -> None:
    a, b = default_library().get("iscro", "2021"), default_library().get("iscro", "2024")
    lines = [json.dumps(BASE_2024), *(as_json_text(row) for row in rows), json.dumps(BASE_2024)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.jsonl"
        path.write_text("\n".join(lines) + "\n", "utf-8")
        impact = measure_impact(read_rows(path, FactTable([a, b]), "jsonl"), a, b)
    assert impact.rows_read == len(lines)
    assert impact.evaluated + impact.bad_rows == len(lines)
    assert impact.evaluated >= 2  # the two good rows around the hostile ones


# -- The same for load_ruleset over rulesets mutated with hostile values --------------------------------------------

HOSTILE_YAML = ["9" * 5000, "1:30", "0x_", "1e999999999", "-1e999999999", ".nan", ".inf", "0o777", "0b102", "~",
                "''", "!!python/object:os.system", "&a [*a]", "*undefined", "[" * 200, "{a: " * 100,
                "'" + "x" * 100_000 + "'",
                "2024-02-30", "9999-12-31", "-1", "1000000000000000000000000000.5", "yes", "[1, 2]", "{x: 1}",
                "\"\\u0000\"", "1.0e+400", "0.0000000000000000000000000000001"]


@ENTRY
@given(st.integers(min_value=0, max_value=2**32 - 1), st.lists(st.sampled_from(HOSTILE_YAML), min_size=1, max_size=3))
def test_rulesets_with_hostile_values_load_or_give_ruleset_errors(seed: int, values: list[str]) -> None:
    rng = random.Random(seed)
    lines = RULESET_2024.splitlines()
    scalars = [i for i, line in enumerate(lines) if re.search(r":\s+\S", line) and not line.lstrip().startswith("#")]
    for value in values:
        i = rng.choice(scalars)
        key, _, _ = lines[i].partition(": ")
        if rng.random() < 0.7:
            lines[i] = f"{key}: {value}"
        else:  # the value replaces the first number of the line (a function: no backslash escapes)
            lines[i] = re.sub(r"\d+(\.\d+)?", lambda _, text=value: text, lines[i], count=1)
    try:
        law = load_ruleset_text("\n".join(lines), "mutated.yaml")
    except RegoleError as exc:
        assert isinstance(exc, RulesetError)
        assert exc.problems
        assert all(p.file == "mutated.yaml" for p in exc.problems)
        return
    assert_result_or_regole_error(lambda: evaluate(BASE_2024, family="iscro", library=Library(versions=[law])))
