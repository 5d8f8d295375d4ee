"""Facts of a case: read JSON safely, check it against the family's facts schema, and turn it into typed
values (Decimal money, real dates). Every problem names its JSON path, the value and what was expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import fastjsonschema
from jsonschema.exceptions import ValidationError

from ._compile import LawVersion
from ._schema import load_schema, schema_of, validator_for
from ._suggest import suggest
from ._types import ListType
from .errors import FactsError, Problem

MAX_FACTS_BYTES = 1_000_000
MAX_DEPTH = 20
_MONEY_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


def parse_facts_json(text: str | bytes, *, source: str | None = None) -> dict[str, Any]:
    """Parse a JSON document of facts; numbers keep their exact decimal value."""
    if isinstance(text, bytes):
        if len(text) > MAX_FACTS_BYTES:
            raise FactsError([Problem(f"the document is {len(text)} bytes, over the limit of {MAX_FACTS_BYTES}",
                                      code="F007", path="$")], source=source)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FactsError([Problem(f"not UTF-8 text (invalid byte at offset {exc.start})", code="F008",
                                      path="$")], source=source) from None
    if len(text) > MAX_FACTS_BYTES:
        raise FactsError([Problem(f"the document is {len(text)} characters, over the limit of {MAX_FACTS_BYTES}",
                                  code="F007", path="$")], source=source)

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"duplicate key {key!r}: JSON would silently keep only the last")
            out[key] = value
        return out

    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=reject_constant, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise FactsError([Problem(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                  code="F001", path="$")], source=source) from None
    except ValueError as exc:
        raise FactsError([Problem(str(exc), code="F002", path="$")], source=source) from None
    except RecursionError:
        raise FactsError([Problem("the document is nested too deeply", code="F007", path="$")],
                         source=source) from None
    if not isinstance(data, dict):
        raise FactsError([Problem(f"the facts must be a JSON object, got {type(data).__name__}", code="F002",
                                  path="$")], source=source)
    return data


def normalise_python_facts(data: Mapping[str, Any], *, source: str | None = None) -> dict[str, Any]:
    """Facts given as Python objects: floats become the Decimal they print as (0.1 stays 0.1); NaN and
    infinities are refused, as in JSON text, each named by its path."""
    try:
        converted: dict[str, Any] = _converted(dict(data))
    except _NotANumber:
        problems = [Problem(f"{value} is not a number JSON allows", code="F002", path=path)
                    for path, value in _non_finite(dict(data), "$")]
        raise FactsError(problems, source=source) from None
    return converted


class _NotANumber(Exception):
    pass


def _converted(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotANumber
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _converted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_converted(v) for v in value]
    return value


def _non_finite(value: Any, path: str) -> Iterator[tuple[str, float]]:
    """Where the NaN and infinities are, by JSON path (walked only when there is one)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{index}]")


def _depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar or an empty container is 1); once past ``limit``, some number above
    it. The recursion never goes deeper than ``limit``."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 1
    if limit <= 1:
        return 2 if children else 1
    deepest = 1
    for child in children:
        deepest = max(deepest, 1 + _depth(child, limit - 1))
        if deepest > limit:
            break
    return deepest


@lru_cache(maxsize=16)
def _fast_validator(schema_name: str, directory: str | None = None) -> Callable[[Any], Any]:
    """The facts schema compiled to Python by fastjsonschema: the fast check of well-formed facts.

    fastjsonschema rewrites the ``$ref`` values of the schema it is given into absolute URIs, in place: give it
    a copy, so the cached schema that ``_money_problems`` reads keeps ``#/$defs/money``."""
    schema = copy.deepcopy(load_schema(schema_name, directory))
    validate: Callable[[Any], Any] = fastjsonschema.compile(schema, formats={"date": _real_date})
    return validate


def _real_date(text: str) -> bool:
    """The "date" format: a day that exists (fastjsonschema's own pattern lets year 0000 through, which then
    failed later, when the date was converted)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_facts(data: Mapping[str, Any], schema_name: str, *, source: str | None = None,
                   directory: str | None = None) -> None:
    """Raise FactsError listing every way ``data`` breaks the facts schema (read from ``directory``, by default
    the bundled schemas folder)."""
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise FactsError([Problem(f"the document is nested deeper than {MAX_DEPTH} levels", code="F007",
                                  path="$")], source=source)
    validator = validator_for(schema_name, directory)
    schema = validator.schema if isinstance(validator.schema, dict) else {}
    problems = _money_problems(data, schema)
    try:
        _fast_validator(schema_name, directory)(data)
    except fastjsonschema.JsonSchemaValueException as fast:
        # The compiled validator stops at the first problem; jsonschema then lists them all.
        problems += [_problem(error) for error in validator.iter_errors(data)]
        if not problems:  # pragma: no cover - the two validators agree on our schemas (tests check both)
            problems.append(Problem(fast.message, code="F002", path="$"))
    if problems:
        unique = {(p.path, p.code): p for p in problems}
        raise FactsError(sorted(unique.values(), key=lambda p: p.path or ""), source=source)


def _money_problems(data: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Problem]:
    """Money given as a JSON number must have at most two decimals (a schema cannot say this for Decimals)."""
    problems = []
    properties = schema.get("properties", {})

    def is_money(spec: Mapping[str, Any]) -> bool:
        return spec.get("$ref") == "#/$defs/money"

    for name, value in data.items():
        spec = properties.get(name, {})
        if is_money(spec) and isinstance(value, Decimal) and _too_precise(value):
            problems.append(_money_precision(f"$.{name}", value))
        if spec.get("$ref") == "#/$defs/money_by_year" and isinstance(value, dict):
            for year, amount in value.items():
                if isinstance(amount, Decimal) and _too_precise(amount):
                    problems.append(_money_precision(f"$.{name}.{year}", amount))
    return problems


def _too_precise(value: Decimal) -> bool:
    return value != value.quantize(Decimal("0.01"))


def _money_precision(path: str, value: Decimal) -> Problem:
    return Problem(f"{value} has more than two decimals; amounts are in euros and cents", code="F004", path=path)


def _problem(error: ValidationError) -> Problem:
    schema = schema_of(error)
    path = json_path(error.absolute_path)
    value = error.instance
    shown = json.dumps(value, default=str)[:80]
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        extras = sorted(k for k in value if k not in allowed)
        key = extras[0] if extras else "?"
        return Problem(f"unknown field {key!r}", code="F003", path=json_path([*error.absolute_path, key]),
                       hint=suggest(key, allowed) or "see the facts schema for the fields")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return Problem(f"required field {missing!r} is missing", code="F005",
                       path=json_path([*error.absolute_path, missing]))
    if "propertyNames" in error.schema_path:  # a key of a by-year mapping
        return Problem(f"{shown} is not a year between 1900 and 2099 (YYYY)", code="F002",
                       path=f"{path}.{error.instance}")
    if error.validator == "pattern" and schema.get("format") == "date":
        return Problem(f"{shown} is not a date written YYYY-MM-DD", code="F006", path=path)
    if error.validator == "pattern":
        return Problem(f"{shown} is not an amount: write euros with a dot and at most two decimals, "
                       "e.g. \"6000.50\" (not \"6.000,50\")", code="F004", path=path)
    if error.validator == "format" and error.validator_value == "date":
        return Problem(f"{shown} is not a real date (YYYY-MM-DD)", code="F006", path=path)
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return Problem(f"{shown} should be {expected}", code="F002", path=path)
    if error.validator == "propertyNames":
        return Problem(f"{shown} is not a year between 1900 and 2099 (YYYY)", code="F002", path=path)
    if error.validator in ("maxItems", "maxProperties"):
        return Problem(f"too many entries: at most {error.validator_value}", code="F007", path=path)
    if error.validator in ("maximum", "minimum"):
        return Problem(f"{shown} is out of range ({error.validator} {error.validator_value})", code="F007",
                       path=path)
    return Problem(error.message, code="F002", path=path)


def to_values(data: Mapping[str, Any], law: LawVersion, *, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Typed values for the facts ``law`` declares (already validated against the schema), added to ``into``
    when given."""
    converters = law.__dict__.get("_converters")
    if converters is None:  # one converter per fact, chosen once per law version (None: taken as it is)
        converters = law.__dict__["_converters"] = tuple(
            (name, None if (convert := _converter(fact.type)) is _same else convert)
            for name, fact in law.facts.items())
    values: dict[str, Any] = {} if into is None else into
    for name, convert in converters:
        value = data.get(name)
        if value is not None:
            values[name] = value if convert is None else convert(value)
    return values


def _converter(ftype: Any) -> Callable[[Any], Any]:
    """The function turning a validated JSON value of type ``ftype`` into its Python value."""
    if isinstance(ftype, ListType):
        fields = tuple((name, _converter(field)) for name, field in ftype.fields)
        return lambda items: [{name: convert(item[name]) for name, convert in fields if name in item}
                              for item in items]
    if ftype == "date":
        return dt.date.fromisoformat
    if ftype in ("money", "number"):
        return _money
    if ftype == "money_by_year":
        return lambda value: {int(year): Decimal(amount) if amount.__class__ is str else _money(amount)
                              for year, amount in value.items()}
    if ftype == "integer_by_year":
        return lambda value: {int(year): int(amount) for year, amount in value.items()}
    return _same


def _same(value: Any) -> Any:
    return value


def _money(value: Any) -> Decimal:
    try:
        if value.__class__ is str:
            return Decimal(value)
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:  # pragma: no cover - the schema checked the form
        raise ValueError(value) from None


def selecting_date(data: Mapping[str, Any], name: str, *, source: str | None = None) -> dt.date:
    value = data.get(name)
    if value is None:
        raise FactsError([Problem(f"required field {name!r} is missing: it selects the law version",
                                  code="F005", path=f"$.{name}")], source=source)
    try:
        if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FactsError([Problem(f"{json.dumps(value, default=str)} is not a date written YYYY-MM-DD",
                                  code="F006", path=f"$.{name}")], source=source) from None
