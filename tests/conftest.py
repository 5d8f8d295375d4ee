"""Shared fixtures and helpers: the bundled library, complete admissible ISCRO applications to vary, the Python
evaluator's reference values, and a stand-in for durable-rules that records what the kernel does."""

from __future__ import annotations

import copy
import functools
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from engine import LawVersion, Library, Result, evaluate
from engine._facts import selecting_date, to_values
from engine._resources import schemas_dir
from engine._values import NOT_COMPUTED, Unknown
from engine.backends._network import topological
from engine.cli import main

# Tests never assert on wall-clock time: the machines are shared and noisy (a property that took 1 ms took
# 377 ms once under load), so Hypothesis's per-example deadline is off for the whole suite.
settings.register_profile("regole", deadline=None)
settings.load_profile("regole")

@pytest.fixture(params=["per-row", "per-day"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two ways the columnar walker goes, forced on tables of any size: every value worked out on every row
    ("per-row"), or the values of the selecting date once a day and the computations of an admitted case on the
    admitted rows alone ("per-day", as large tables go)."""
    from engine.backends import _columnar_numpy

    per_day = request.param == "per-day"
    monkeypatch.setattr(_columnar_numpy, "DAY_ROWS", 0 if per_day else 10**9)
    monkeypatch.setattr(_columnar_numpy, "ADMITTED_SHARE", 1.0 if per_day else -1.0)
    return str(request.param)


BASE_2024: dict[str, Any] = {
    "data_domanda": "2024-09-10",
    "iscritto_gestione_separata": True,
    "titolare_pensione_diretta": False,
    "assicurato_altra_forma_obbligatoria": False,
    "percettore_assegno_inclusione": False,
    "percettore_naspi": False,
    "percettore_dis_coll": False,
    "percettore_alas": False,
    "percettore_idis": False,
    "carica_elettiva_con_emolumenti": False,
    "regolarita_contributiva": True,
    "data_apertura_partita_iva": "2015-03-01",
    "reddito_lavoro_autonomo": {"2021": "6000.00", "2022": "5000.00", "2023": "3000.00"},
    "reddito_dichiarato": {"2023": "3000.00"},
    "prestazioni_iscro_precedenti": [],
}

BASE_2021: dict[str, Any] = {
    "data_domanda": "2021-09-10",
    "iscritto_gestione_separata": True,
    "titolare_pensione_diretta": False,
    "assicurato_altra_forma_obbligatoria": False,
    "percettore_reddito_cittadinanza": False,
    "percettore_naspi": False,
    "percettore_dis_coll": False,
    "titolare_ape_sociale": False,
    "regolarita_contributiva": True,
    "data_apertura_partita_iva": "2010-01-01",
    "reddito_lavoro_autonomo": {"2017": "20000.00", "2018": "20000.00", "2019": "20000.00", "2020": "6000.00"},
    "reddito_dichiarato": {"2020": "6000.00"},
    "prestazioni_iscro_precedenti": [],
}


@pytest.fixture(scope="session")
def library() -> Library:
    return Library()


def case(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` with top-level changes; a value of None removes the fact."""
    facts = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            facts.pop(key, None)
        else:
            facts[key] = value
    return facts


def run(facts: dict[str, Any], **kwargs: Any) -> Result:
    return evaluate(facts, family="iscro", **kwargs)


def outcome(result: Result, requirement: str) -> str:
    return result.requirement(requirement).outcome


def cli(*argv: str, stderr: io.StringIO | None = None) -> tuple[int, str, str]:
    """Run ``regole`` in this process: (exit code, standard output, standard error)."""
    out, err = io.StringIO(), stderr or io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def laws(library: Library) -> dict[str, LawVersion]:
    """The ISCRO law versions by name."""
    return {law.version: law for law in library.versions("iscro")}


def reference_values(law: LawVersion, facts: dict[str, Any]) -> dict[str, Any]:
    """Every value of a case worked out by the Python evaluator alone, in dependency order: the reference
    the durable-rules network is compared with."""
    values: dict[str, Any] = {}
    known = to_values(facts, law)
    for name in law.facts:
        values[name] = known.get(name, Unknown(frozenset({name})))
    day = selecting_date(facts, law.selected_by)
    for name, parameter in law.parameters.items():
        dated = parameter.at(day)
        values[name] = dated.value if dated and dated.value is not None else Unknown(frozenset())
    for node in topological(list(law.derived.values()) if law.computations_for == "admitted"
                             else [*law.derived.values(), *law.computations.values()]):
        values[node.name] = node.evaluate(values)
    for node in law.requirements:
        values[node.name] = node.evaluate(values)
    if law.computations_for == "admitted":  # the computations exist for an admitted case only
        admitted = all(values[node.name] is True for node in law.requirements)
        for node in topological(list(law.computations.values())):
            values[node.name] = node.evaluate(values) if admitted else NOT_COMPUTED
    return values


class RecordingDurable:
    """Stands in for the durable-rules module (monkeypatch ``engine.backends._kernel._durable``): keeps each fact
    asserted, parsed (so a fact that is not JSON fails), and the name of each rule that fires."""

    def __init__(self, durable: Any) -> None:
        self._durable = durable
        self.asserted: list[dict[str, Any]] = []
        self.fired: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._durable, name)

    def assert_fact(self, handle: Any, text: str) -> Any:
        self.asserted.append(json.loads(text))
        return self._durable.assert_fact(handle, text)

    def _fire(self, message: str | None) -> str | None:
        if message:
            self.fired.append(next(iter(json.loads(message))))
        return message

    def start_action_for_state(self, handle: Any, state: Any) -> Any:
        started = self._durable.start_action_for_state(handle, state)
        if started:
            self._fire(started[1])
        return started

    def complete_and_start_action(self, handle: Any, state: Any) -> Any:
        return self._fire(self._durable.complete_and_start_action(handle, state))


@functools.cache
def _output_validators() -> dict[str, Draft202012Validator]:
    """The validators of the published output schemas (schemas/output/<command>.schema.json), by command;
    their references to one another are resolved by $id."""
    schemas = {path.name.removesuffix(".schema.json"): json.loads(path.read_text("utf-8"))
               for path in sorted((schemas_dir() / "output").glob("*.schema.json"))}
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    return {name: Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
            for name, schema in schemas.items()}


def assert_valid_output(command: str, document: Any) -> None:
    """``document`` (the parsed JSON a command printed) follows schemas/output/``command``.schema.json."""
    errors = sorted(_output_validators()[command].iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300] for e in errors[:5]]


@pytest.fixture(scope="module")
def english() -> Iterator[None]:
    """Reports in English (``REGOLE_LANG=en``) for a module whose tests read the English wording; the Italian
    default is what tests/test_golden.py and tests/test_i18n.py check."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGOLE_LANG", "en")
        yield


@pytest.fixture(scope="session", autouse=True)
def italian_by_default() -> Iterator[None]:
    """The tests expect regole's default language: a REGOLE_LANG set in the developer's shell does not leak in."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("REGOLE_LANG", raising=False)
        yield
