"""Stage 2, check: validate a loaded ruleset against schemas/ruleset.schema.json, collecting every
violation and pointing each one at the YAML line and column of the offending node."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from ._i18n import gettext as _
from ._resources import schemas_dir
from ._suggest import suggest
from ._yaml import LoadedYaml
from .errors import Problem, RulesetSchemaError


@lru_cache(maxsize=8)
def load_schema(name: str, directory: str | None = None) -> dict[str, Any]:
    path = Path(directory) if directory else schemas_dir()
    with (path / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` ends the text. Python's ``$`` also matches before a
    final newline, so ``"2024\\n"`` would pass ``^\\d{4}$`` (and fastjsonschema, which gets this right, would
    disagree with the error listing)."""
    if not isinstance(instance, str):
        return
    if re.search(pattern, instance) is None or (pattern.endswith("$") and not pattern.endswith("\\$")
                                                  and re.search(pattern[:-1] + r"\Z", instance) is None):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


@lru_cache(maxsize=8)
def validator_for(name: str, directory: str | None = None) -> Draft202012Validator:
    schema = load_schema(name, directory)
    Draft202012Validator.check_schema(schema)
    validator: Draft202012Validator = _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator


def jsonable(value: Any, *, text: Callable[[str], str] = str) -> Any:
    """The YAML data as JSON Schema sees it: dates become ISO strings (made by ``text``)."""
    if isinstance(value, dict):
        return {k: jsonable(v, text=text) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v, text=text) for v in value]
    if isinstance(value, dt.date):
        return text(value.isoformat())
    return value


class YamlDate(str):
    """A YAML date (an unquoted 2024-01-01) as a ruleset schema sees it: ISO text, where the schema wants a date;
    refused where the schema wants plain text (a label, a note's text): the engine would hold a date there."""

    __slots__ = ()


_TYPE = Draft202012Validator.VALIDATORS["type"]


def _type_refusing_dates_as_text(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    if isinstance(instance, YamlDate) and types == "string" and schema.get("format") != "date":
        yield ValidationError(_("{value!r} is read as a date, where text is expected: write it in quotes").format(
            value=str(instance)))
        return
    yield from _TYPE(validator, types, instance, schema)


@lru_cache(maxsize=8)
def _authoring_validator(name: str) -> Any:
    """The validator of a bundled schema of authored files (rulesets, test cases), refusing YAML dates as text."""
    kind = validators.extend(_Validator, {"type": _type_refusing_dates_as_text})  # type: ignore[no-untyped-call]
    return kind(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_ruleset_schema(loaded: LoadedYaml) -> None:
    """Raise RulesetSchemaError listing every schema violation, most relevant first."""
    problems = schema_problems(loaded, "ruleset.schema.json")
    if problems:
        raise RulesetSchemaError(problems)


def schema_problems(loaded: LoadedYaml, schema_name: str) -> list[Problem]:
    """Every way ``loaded`` breaks the bundled schema ``schema_name``, located in the YAML, in line order."""
    validator_for(schema_name)  # checks the schema itself
    problems: list[Problem] = []
    for error in _authoring_validator(schema_name).iter_errors(jsonable(loaded.data, text=YamlDate)):
        found = _problem(loaded, error)
        problems.extend(found if isinstance(found, list) else [found])
    return _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
        key = (p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def schema_of(error: ValidationError) -> dict[str, Any]:
    """The sub-schema an error was raised by (a mapping, whatever jsonschema's typing says)."""
    return error.schema if isinstance(error.schema, dict) else {}


def _problem(loaded: LoadedYaml, error: ValidationError) -> Problem | list[Problem]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema_of(error).get("properties", {}))
        extras = [k for k in error.instance if k not in allowed]
        if extras:
            return [loaded.problem((*path, key), _("unknown key {key!r}").format(key=key), code="S002", key=True,
                                   hint=suggest(key, allowed) or _("allowed keys: {keys}").format(
                                       keys=", ".join(allowed)))
                    for key in extras]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return loaded.problem(path, _("missing required key {key!r}").format(key=missing), code="S003", key=True)
    if error.validator in ("type", "format", "pattern", "enum", "const"):
        return loaded.problem(path, _value_message(error), code="S004")
    return loaded.problem(path, str(error.message), code="S001")


def _value_message(error: ValidationError) -> str:
    value = error.instance
    shown = repr(str(value)) if isinstance(value, Decimal) else repr(value)
    if error.validator == "enum":
        allowed = error.validator_value if isinstance(error.validator_value, list) else []
        return _("{value} is not one of {allowed}").format(value=shown, allowed=", ".join(map(str, allowed)))
    if error.validator == "pattern":
        schema_desc = schema_of(error).get("description", "")
        if schema_desc:
            return _("{value} has the wrong form: {description}").format(value=shown, description=schema_desc)
        return _("{value} has the wrong form").format(value=shown)
    if error.validator == "format":
        return _("{value} is not a valid {format}").format(value=shown, format=error.validator_value)
    if error.validator == "type" and isinstance(value, YamlDate):
        return str(error.message)
    if error.validator == "type":
        return _("{value} should be of type {type}").format(value=shown, type=error.validator_value)
    return str(error.message)
