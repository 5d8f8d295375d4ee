"""Facts of a case: read JSON safely, check it against the family's facts schema, and turn it into typed
values (Decimal money, real dates). Every problem names its JSON path, the value and what was expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import fastjsonschema
from jsonschema.exceptions import ValidationError

from . import _i18n
from ._compile import LawVersion
from ._i18n import N_
from ._i18n import gettext as _
from ._schema import load_schema, schema_of, validator_for
from ._suggest import suggest
from ._types import ListType
from .errors import FactsError, Problem

MAX_FACTS_BYTES = 1_000_000
MAX_DEPTH = 20
MONEY_LIMIT = 10**12  # the largest amount a facts schema accepts ($defs/money), in euros
_MONEY_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")

# What a JSON document that is not an object is, in JSON's words (the document was JSON, not Python).
_JSON_TYPES = {list: N_("an array"), str: N_("a string"), int: N_("a number"), Decimal: N_("a number"),
               bool: N_("true or false"), type(None): N_("null")}
_ANY_VALUE = N_("a value")


def json_type_name(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words in the language in force ("an array"; "un array")."""
    return _(_JSON_TYPES.get(type(value), _ANY_VALUE))


_BOM = "\ufeff".encode()


def read_facts_file(file: str) -> bytes:
    """The bytes of a facts document: ``file``, or standard input for ``-``; at most one byte over the size
    limit is read, so that :func:`parse_facts_json` can refuse a larger one without reading all of it."""
    if file == "-":
        return sys.stdin.buffer.read(MAX_FACTS_BYTES + 1)
    try:
        with open(file, "rb") as handle:
            return handle.read(MAX_FACTS_BYTES + 1)
    except OSError as exc:
        raise unreadable_file(file, exc) from None


def unreadable_file(file: str, exc: OSError | None = None) -> FactsError:
    """The error for an input file that cannot be read: it does not exist, it is a folder, or the system
    says why (``exc``)."""
    if isinstance(exc, FileNotFoundError) or (exc is None and not os.path.lexists(file)):
        message = _("the file does not exist")
    elif isinstance(exc, IsADirectoryError) or (exc is None and os.path.isdir(file)):
        message = _("this is a folder, not a file")
    else:
        reason = exc.strerror if exc is not None and exc.strerror else _("not a regular file")
        message = _("cannot read the file: {reason}").format(reason=reason)
    return FactsError([Problem(message, code="F000", path="$")], source=file)


def _json_int(text: str) -> int | Decimal:
    """A JSON integer; one too long for Python's int conversion stays a Decimal, which the schema's limits
    then refuse at its own path."""
    return int(text) if len(text) < 4000 else Decimal(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(_("{value} is not a number JSON allows").format(value=name))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(_("duplicate key {key!r}: JSON would silently keep only the last").format(key=key))
        out[key] = value
    return out


def load_json(text: str) -> Any:
    """JSON text as facts read it: numbers keep their exact decimal value, NaN and Infinity and duplicate keys
    are refused (ValueError, or RecursionError for a document nested too deep for the parser)."""
    return json.loads(text, parse_float=Decimal, parse_int=_json_int, parse_constant=_reject_constant,
                      object_pairs_hook=_no_duplicates)


def parse_facts_json(text: str | bytes, *, source: str | None = None) -> dict[str, Any]:
    """Parse a JSON document of facts; numbers keep their exact decimal value."""
    if len(text) > MAX_FACTS_BYTES:
        message = (_("the document is larger than the limit of {limit} bytes") if isinstance(text, bytes)
                   else _("the document is larger than the limit of {limit} characters"))
        raise FactsError([Problem(message.format(limit=_i18n.number(MAX_FACTS_BYTES)), code="F007", path="$")],
                         source=source)
    if isinstance(text, bytes):
        mark = len(_BOM) if text.startswith(_BOM) else 0  # a byte order mark (Notepad, Excel) is ignored, as
        try:  # RFC 8259 allows a parser to
            text = text[mark:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FactsError([Problem(not_utf8(mark + exc.start), code="F008", path="$")], source=source) from None
    try:
        data = load_json(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise FactsError([Problem(_("not valid JSON: {reason} at line {line}, column {column}").format(
            reason=json_reason(exc.msg), line=exc.lineno, column=exc.colno), code="F001", path="$")],
            source=source) from None
    except ValueError as exc:
        raise FactsError([Problem(str(exc), code="F002", path="$")], source=source) from None
    except RecursionError:
        raise FactsError([Problem(_("the document is nested too deeply"), code="F007", path="$")],
                         source=source) from None
    if not isinstance(data, dict):
        got = json_type_name(data)
        raise FactsError([Problem(_("the facts must be a JSON object, got {type}").format(type=got), code="F002",
                                  path="$")], source=source)
    return data


def normalise_python_facts(data: Mapping[str, Any], *, source: str | None = None) -> dict[str, Any]:
    """Facts given as Python objects, made what JSON text would give: floats become the Decimal they print as
    (0.1 stays 0.1); integer keys (a year, 2023) become strings, an error when the same key is also given as
    text; NaN and infinities (float or Decimal) and other keys are refused, each named by its path; so is
    nesting deeper than MAX_DEPTH levels (a structure that contains itself among them) or holding more than
    MAX_VALUES values (as a JSON document of the size limit at most could)."""
    if not isinstance(data, Mapping):
        raise FactsError([Problem(_("the facts must be a mapping, got {type}").format(type=type(data).__name__),
                                  code="F002", path="$")], source=source)
    try:  # the common case, plain data, in one quick walk; anything else is walked again for its paths
        quick: dict[str, Any] = _plain(data, 1, [0])
        return quick
    except _NotPlain:
        pass
    walk = _PythonFacts()
    try:
        converted: dict[str, Any] = walk.converted(data, "$", 1)
    except _TooLarge as exc:
        raise FactsError([exc.problem], source=source) from None
    if walk.problems:
        raise FactsError(walk.problems[:MAX_PROBLEMS], source=source)
    return converted


MAX_PROBLEMS = 100  # the problems reported about one document
MAX_VALUES = MAX_FACTS_BYTES // 2  # a JSON document of the size limit holds fewer values ("0," is two bytes)


_HUGE_INTEGER = 10**1000


class _NotPlain(Exception):
    pass


def _plain(value: Any, level: int, seen: list[int]) -> Any:
    """``value`` as :meth:`_PythonFacts.converted` gives it when it holds nothing to report; otherwise raise
    _NotPlain. No paths are made, so that good facts cost little."""
    kind = value.__class__
    if kind is str or kind is bool or value is None or (kind is Decimal and value.is_finite()):
        return value
    if level > MAX_DEPTH:
        raise _NotPlain
    seen[0] += 1
    if seen[0] > MAX_VALUES:
        raise _NotPlain
    if kind is dict:
        out = {}
        for key, item in value.items():
            if key.__class__ is not str:
                raise _NotPlain
            out[key] = _plain(item, level + 1, seen)
        return out
    if kind is list:
        return [_plain(item, level + 1, seen) for item in value]
    if kind is int and -_HUGE_INTEGER < value < _HUGE_INTEGER:
        return value
    if kind is float and math.isfinite(value):
        return Decimal(repr(value))
    raise _NotPlain


class _TooLarge(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _PythonFacts:
    """One walk over Python facts: the problems found and the values seen so far."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.seen = 0

    def converted(self, value: Any, path: str, level: int) -> Any:
        """``value`` (at ``level``, the facts mapping being 1) as JSON text would give it."""
        if level > MAX_DEPTH:
            raise _TooLarge(Problem(_too_deep(), code="F007", path=path))
        self.seen += 1
        if self.seen > MAX_VALUES:
            raise _TooLarge(Problem(_("the document holds more than {limit} values").format(
                limit=_i18n.number(MAX_VALUES)), code="F007", path="$"))
        if isinstance(value, float | Decimal):
            if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
                self.problems.append(Problem(_("{value} is not a number JSON allows").format(value=value), code="F002",
                                             path=path))
                return None
            return Decimal(repr(value)) if isinstance(value, float) else value
        if isinstance(value, int) and abs(value) >= _HUGE_INTEGER:
            return Decimal(value)  # as JSON text gives it (see _json_int): nothing formats it with str()
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = _key(key)
                if name is None:
                    self.problems.append(Problem(_("the key {key} is not text: the names of fields and years are JSON "
                                                   "strings").format(key=_shown_key(key)), code="F002", path=path))
                    continue
                where = f"{path}.{name}"
                if name in out:
                    self.problems.append(Problem(_("the key {key!r} is given twice (as text and as a number)").format(
                        key=name), code="F002", path=where))
                    continue
                out[name] = self.converted(item, where, level + 1)
            return out
        if isinstance(value, list | tuple):
            return [self.converted(item, f"{path}[{index}]", level + 1) for index, item in enumerate(value)]
        return value


def _key(key: Any) -> str | None:
    """A mapping key as JSON text has it: a string, or an integer (a year) written in decimal; None for any
    other key."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool) and abs(key) < 10**18:
        return str(key)
    return None


def _shown_key(key: Any) -> str:
    shown = repr(key)
    return shown if len(shown) <= 40 else shown[:37] + "..."


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


def facts_accepted(data: Mapping[str, Any], schema_name: str, directory: str | None = None) -> bool:
    """Whether ``data`` meets the facts schema ``schema_name``: the yes or no of :func:`validate_facts`, without
    listing the problems (each unknown field would cost a spelling suggestion)."""
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        return False
    validator = validator_for(schema_name, directory)
    if _money_problems(data, validator.schema if isinstance(validator.schema, dict) else {}):
        return False
    try:
        _fast_validator(schema_name, directory)(data)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def validate_facts(data: Mapping[str, Any], schema_name: str, *, source: str | None = None,
                   directory: str | None = None) -> None:
    """Raise FactsError listing every way ``data`` breaks the facts schema (read from ``directory``, by default
    the bundled schemas folder)."""
    if facts_accepted(data, schema_name, directory):  # the compiled check, for the good documents
        return
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise FactsError([Problem(_too_deep(), code="F007", path="$")], source=source)
    validator = validator_for(schema_name, directory)
    # The compiled validator stops at the first problem; jsonschema lists them all.
    problems = _money_problems(data, validator.schema if isinstance(validator.schema, dict) else {})
    problems += [p for error in validator.iter_errors(data) for p in _problems(error)]
    if not problems:  # pragma: no cover - the two validators agree on our schemas (tests check both)
        problems.append(Problem(_("the facts do not meet the facts schema"), code="F002", path="$"))
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
    """More than two decimals (an amount over the limit is left to the schema's maximum, which names it; its
    quantizing could overflow the decimal context)."""
    return value.is_finite() and abs(value) <= MONEY_LIMIT and value != value.quantize(Decimal("0.01"))


def _money_precision(path: str, value: Decimal) -> Problem:
    return Problem(too_many_decimals(value), code="F004", path=path)


def _problems(error: ValidationError) -> list[Problem]:
    """The problems of one schema error: one per unknown field, or one."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema_of(error).get("properties", {}))
        return [Problem(_("unknown field {name!r}").format(name=key), code="F003",
                        path=json_path([*error.absolute_path, key]),
                        hint=suggest(key, allowed) or _("see the facts schema for the fields"))
                for key in sorted(k for k in error.instance if k not in allowed)]
    return [_problem(error)]


def _shown(value: Any) -> str:
    """``value`` as a message shows it: as JSON would write it, at most 80 characters."""
    if isinstance(value, Decimal):
        return str(value)[:80]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return f"{Decimal(value):.6E}"  # str() refuses integers of more than 4,300 digits
    try:
        return json.dumps(value, default=str)[:80]
    except ValueError:  # a huge integer inside a list or an object
        return _("a {type} with a number too long to show").format(type=type_name(value))


def _problem(error: ValidationError) -> Problem:
    schema = schema_of(error)
    path = json_path(error.absolute_path)
    value = error.instance
    shown = _shown(value)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return Problem(_("required field {name!r} is missing").format(name=missing), code="F005",
                       path=json_path([*error.absolute_path, missing]))
    if "propertyNames" in error.schema_path:  # a key of a by-year mapping
        return Problem(_not_a_year(shown), code="F002", path=f"{path}.{error.instance}")
    if error.validator == "pattern" and schema.get("format") == "date":
        return Problem(not_a_date(shown), code="F006", path=path)
    if error.validator == "pattern" and isinstance(value, str) and _TOO_MANY_DIGITS.match(value):
        return _over_the_limit(shown, path)
    if error.validator == "pattern":
        return Problem(not_an_amount(shown), code="F004", path=path)
    if error.validator == "format" and error.validator_value == "date":
        return Problem(not_a_real_date(shown), code="F006", path=path)
    if error.validator == "type":
        return Problem(_should_be(shown, error.validator_value), code="F002", path=path)
    if error.validator == "propertyNames":
        return Problem(_not_a_year(shown), code="F002", path=path)
    if error.validator in ("maxItems", "maxProperties"):
        return Problem(_("too many entries: at most {limit}").format(limit=_i18n.number(error.validator_value)),
                       code="F007", path=path)
    if error.validator in ("maximum", "minimum") and schema.get("maximum") == MONEY_LIMIT:
        return _over_the_limit(shown, path)
    if error.validator in ("maximum", "minimum"):
        bound = (_("at most {limit}") if error.validator == "maximum" else _("at least {limit}")).format(
            limit=_i18n.number(error.validator_value))
        return Problem(_("{value} is out of range ({bound})").format(value=shown, bound=bound), code="F007",
                       path=path)
    return Problem(error.message, code="F002", path=path)


_TOO_MANY_DIGITS = re.compile(r"^-?\d{13,}(\.\d+)?$")


def _over_the_limit(shown: str, path: str) -> Problem:
    return Problem(_("{value} is over the limit of an amount: at most {limit} euros (10^12), plus or minus").format(
        value=shown, limit=_i18n.number(MONEY_LIMIT)), code="F007", path=path)


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
        raise FactsError([Problem(_("required field {name!r} is missing: it selects the law version").format(
            name=name), code="F005", path=f"$.{name}")], source=source)
    try:
        if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FactsError([Problem(not_a_date(json.dumps(value, default=str)), code="F006", path=f"$.{name}")],
                         source=source) from None


# -- messages shared with the datasets (engine/_dataset.py): built where the problem is found, in the language in
# force then ----------------------------------------------------------------------------------------------------

# A value's kind as messages name it (the English words are those of JSON Schema and of Python's types).
SHOULD_BE = {"string": N_("{value} should be string"), "number": N_("{value} should be number"),
             "integer": N_("{value} should be integer"), "object": N_("{value} should be object"),
             "array": N_("{value} should be array"), "boolean": N_("{value} should be boolean"),
             "null": N_("{value} should be null")}
PYTHON_TYPES = {"list": N_("list"), "tuple": N_("tuple"), "dict": N_("dict"), "str": N_("str"), "int": N_("int"),
                "float": N_("float"), "Decimal": N_("Decimal"), "bool": N_("bool"), "NoneType": N_("NoneType")}

# The json module's reasons (Python 3.11+), so that "not valid JSON: ..." reads in one language.
JSON_REASONS = {reason: reason for reason in (
    N_("Expecting value"), N_("Expecting property name enclosed in double quotes"), N_("Expecting ',' delimiter"),
    N_("Expecting ':' delimiter"), N_("Unterminated string starting at"), N_("Invalid control character at"),
    N_("Invalid \\escape"), N_("Invalid \\uXXXX escape"), N_("Extra data"))}


def json_reason(reason: str) -> str:
    """A reason of the json module (``exc.msg``) in the language in force (unchanged if it is not listed)."""
    return _(JSON_REASONS[reason]) if reason in JSON_REASONS else reason


def type_name(value: Any) -> str:
    """The name of ``value``'s Python type, in words of the language in force ("list"; "una lista")."""
    name = type(value).__name__
    return _(PYTHON_TYPES[name]) if name in PYTHON_TYPES else name


def _should_be(shown: str, expected: Any) -> str:
    kinds = [str(kind) for kind in (expected if isinstance(expected, list) else [expected])]
    if len(kinds) == 1 and kinds[0] in SHOULD_BE:
        return _(SHOULD_BE[kinds[0]]).format(value=shown)
    return _("{value} should be {expected}").format(value=shown, expected=_either(kinds))


def _either(words: list[str]) -> str:
    """"a or b or c" in the language in force."""
    said = words[0]
    for word in words[1:]:
        said = _("{first} or {second}").format(first=said, second=word)
    return said


def not_utf8(offset: int) -> str:
    return _("not UTF-8 text (invalid byte at offset {offset})").format(offset=offset)


def not_a_date(shown: str) -> str:
    return _("{value} is not a date written YYYY-MM-DD").format(value=shown)


def not_a_real_date(shown: str) -> str:
    return _("{value} is not a real date (YYYY-MM-DD)").format(value=shown)


def not_an_amount(shown: str) -> str:
    return _("{value} is not an amount: write euros with a dot and at most two decimals, e.g. \"6000.50\" "
             "(not \"6.000,50\")").format(value=shown)


def too_many_decimals(value: Any) -> str:
    return _("{value} has more than two decimals; amounts are in euros and cents").format(value=value)


def _not_a_year(shown: str) -> str:
    return _("{value} is not a year between 1900 and 2099 (YYYY)").format(value=shown)


def _too_deep() -> str:
    return _("the document is nested deeper than {limit} levels").format(limit=MAX_DEPTH)
