"""Stage 5, trace: the result of one evaluation, with every requirement, every value used and every
parameter with its date and source. Plain data; ``to_dict`` gives JSON-ready content (money as strings,
dates ISO) and ``to_json`` is byte-identical for the same facts and ruleset."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from ._compile import Source
from ._values import NotComputed, Unknown

OUTCOME_NAMES = {True: "soddisfatto", False: "non_soddisfatto", None: "indeterminato"}


def citation_of(sources: tuple[Source, ...]) -> str:
    """The citations of ``sources``, joined by "; " (what a record's ``citation`` gives templates)."""
    return "; ".join(s.citation for s in sources)


RESULT_FORMAT_VERSION = 1  # of Result.to_dict, schemas/output/evaluate.schema.json: raised when a key changes


def json_value(value: Any) -> Any:
    """A value as JSON carries it: money as a string, dates ISO, unknown as null."""
    if isinstance(value, Unknown):
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


class Values(Mapping[str, Any]):
    """A read-only view of some of one case's values, by name: what a requirement depends on, the facts, the
    outputs. Records share the case's values instead of each copying its own; nothing changes them once
    the result is built."""

    __slots__ = ("_known", "_names", "_values")

    def __init__(self, names: tuple[str, ...], known: frozenset[str], values: Mapping[str, Any]) -> None:
        self._names = names
        self._known = known
        self._values = values

    def __getitem__(self, name: str) -> Any:
        if name not in self._known:
            raise KeyError(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the same names and values."""
        values = self._values
        return {name: values[name] for name in self._names}


@dataclass(frozen=True)
class ParameterUse:
    name: str
    label: str
    value: Any  # Unknown when the law version has no known value for the date
    valid_from: dt.date | None
    valid_to: dt.date | None
    sources: tuple[Source, ...]
    unconfirmed: str | None

    @property
    def citation(self) -> str:
        return citation_of(self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": json_value(self.value),
                "valid_from": json_value(self.valid_from), "valid_to": json_value(self.valid_to),
                "sources": [s.citation for s in self.sources], "unconfirmed": self.unconfirmed}


class RequirementResult(NamedTuple):
    """One requirement's outcome with everything it was decided on (an immutable record)."""

    id: str
    title: str
    outcome: str  # soddisfatto | non_soddisfatto | indeterminato
    condition: str
    sources: tuple[Source, ...]
    values: Mapping[str, Any]  # every fact, parameter and derived value the requirement depends on
    missing: tuple[str, ...]
    unconfirmed: str | None
    template: str

    @property
    def citation(self) -> str:
        return citation_of(self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "outcome": self.outcome, "condition": self.condition,
                "sources": [s.citation for s in self.sources],
                "values": {k: json_value(v) for k, v in sorted(self.values.items())},
                "missing_facts": list(self.missing), "unconfirmed": self.unconfirmed}


class ComputedValue(NamedTuple):
    """A derived value or computation of one case (an immutable record)."""

    name: str
    label: str
    kind: str  # derived | computation
    value: Any
    formula: str
    sources: tuple[Source, ...]
    unconfirmed: str | None

    @property
    def citation(self) -> str:
        return citation_of(self.sources)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON; ``"computed": false`` tells a computation that the law version works out
        only for an admitted case (``null``, and the case was not admitted) from an unknown value."""
        data = {"value": json_value(self.value), "formula": self.formula,
                "sources": [s.citation for s in self.sources], "unconfirmed": self.unconfirmed}
        if isinstance(self.value, NotComputed):
            data["computed"] = False
        return data


@dataclass(frozen=True)
class NoteResult:
    id: str
    text: str
    sources: tuple[Source, ...]
    unconfirmed: str | None

    @property
    def citation(self) -> str:
        return citation_of(self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "sources": [s.citation for s in self.sources],
                "unconfirmed": self.unconfirmed}


@dataclass(frozen=True)
class Result:
    """The decision on one case and the full trace behind it."""

    family: str
    version: str
    title: str
    ruleset_sha256: str
    engine_version: str
    selected_by: str
    selecting_date: dt.date
    forced_version: bool
    decision: str  # ammesso | respinto | indeterminato
    requirements: tuple[RequirementResult, ...]
    values: dict[str, ComputedValue]
    parameters: dict[str, ParameterUse]
    facts: Mapping[str, Any]
    outputs: Mapping[str, Any]
    missing_facts: tuple[str, ...]
    notes: tuple[NoteResult, ...] = field(default=())
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def _of(cls, fields: dict[str, Any], records: Callable[[], tuple[tuple[RequirementResult, ...],
                                                                      dict[str, ComputedValue]]]) -> Result:
        """A result with these fields, built without the dataclass's ``__init__`` (which sets the fields one by
        one), whose ``requirements`` and ``values`` ``records()`` makes when they are first read.

        The engine builds one result per case, and a batch often reads only the decision and the outputs;
        the trace's content (every outcome and value) is worked out by the evaluation either way, and only
        its records wait to be asked for."""
        result = object.__new__(cls)
        fields["_records"] = records
        object.__setattr__(result, "__dict__", fields)
        return result

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set: the records of a result made by _of, on first reading, or
        # just made by another thread (which sets both before it drops the function that makes them).
        if name in ("requirements", "values"):
            state = self.__dict__
            records = state.get("_records")
            if records is not None:
                requirements, values = records()
                state.setdefault("requirements", requirements)  # a thread that made them too keeps the first
                state.setdefault("values", values)
                state.pop("_records", None)
            if name in state:
                return state[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied with its records made, not with the function that makes them."""
        if "_records" in self.__dict__:
            self.__getattr__("requirements")
        return self.__dict__

    def label(self, path: str) -> str:
        """The Italian label of a fact or value; ``reddito.2023`` becomes ``<label> (2023)``."""
        name, _, key = path.partition(".")
        text = self.labels.get(name, name)
        return f"{text} ({key})" if key else text

    @property
    def admitted(self) -> bool:
        return self.decision == "ammesso"

    @property
    def failed(self) -> tuple[RequirementResult, ...]:
        """The requirements not met, in the ruleset's order (every one of them, not only the first)."""
        return tuple(r for r in self.requirements if r.outcome == "non_soddisfatto")

    def requirement(self, requirement_id: str) -> RequirementResult:
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        raise KeyError(requirement_id)

    def value(self, name: str) -> Any:
        if name in self.values:
            return self.values[name].value
        if name in self.parameters:
            return self.parameters[name].value
        return self.facts.get(name, Unknown(frozenset({name})))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "regole-result",
            "format_version": RESULT_FORMAT_VERSION,
            "family": self.family,
            "version": self.version,
            "title": self.title,
            "decision": self.decision,
            "outputs": {k: json_value(v) for k, v in self.outputs.items()} if self.admitted else None,
            "missing_facts": list(self.missing_facts),
            "requirements": [r.to_dict() for r in self.requirements],
            "values": {k: v.to_dict() for k, v in self.values.items()},
            "parameters": {k: p.to_dict() for k, p in self.parameters.items()},
            "notes": [n.to_dict() for n in self.notes],
            "provenance": {
                "selected_by": self.selected_by,
                "selecting_date": self.selecting_date.isoformat(),
                "forced_version": self.forced_version,
                "ruleset_sha256": self.ruleset_sha256,
                "engine_version": self.engine_version,
            },
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
