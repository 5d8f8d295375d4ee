"""Stage 4b: choose the law version, prepare the case's values, run the kernel and build the trace."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _i18n
from ._compile import LawVersion, load_ruleset
from ._facts import facts_accepted, normalise_python_facts, parse_facts_json, selecting_date, to_values, validate_facts
from ._i18n import gettext as _
from ._resources import rulesets_dir
from ._schema import load_schema
from ._trace import (
    OUTCOME_NAMES,
    ComputedValue,
    NoteResult,
    ParameterUse,
    RequirementResult,
    Result,
    Values,
)
from ._values import NOT_COMPUTED, Unknown
from ._version import __version__
from .backends._kernel import Kernel
from .errors import Problem, VersionSelectionError


class Library:
    """The law versions available to an evaluation: the bundled ones, or those under ``root``.

    Rulesets are read from ``root/<family>/*.yaml`` and compiled on first use.
    """

    def __init__(self, root: str | Path | None = None, *, versions: list[LawVersion] | None = None) -> None:
        self._root = Path(root) if root is not None else rulesets_dir()
        self._lock = threading.Lock()
        self._loaded: dict[str, list[LawVersion]] | None = None
        if versions is not None:
            self._loaded = {}
            for law in versions:
                self._loaded.setdefault(law.family, []).append(law)
            for laws in self._loaded.values():
                laws.sort(key=lambda law: law.valid_from)

    def _all(self) -> dict[str, list[LawVersion]]:
        with self._lock:
            if self._loaded is None:
                loaded: dict[str, list[LawVersion]] = {}
                for path in sorted(self._root.glob("*/*.yaml")):
                    law = load_ruleset(path)
                    loaded.setdefault(law.family, []).append(law)
                for laws in loaded.values():
                    laws.sort(key=lambda law: law.valid_from)
                self._loaded = loaded
            return self._loaded

    def _none_found(self) -> VersionSelectionError:
        return VersionSelectionError(_("no rulesets found in {path} (expected <family>/*.yaml files)").format(
            path=self._root))

    def families(self) -> list[str]:
        families = sorted(self._all())
        if not families:
            raise self._none_found()
        return families

    def versions(self, family: str) -> list[LawVersion]:
        laws = self._all().get(family)
        if not laws:
            raise VersionSelectionError(_("unknown family {family!r}; known: {known}").format(
                family=family, known=", ".join(self.families()) or _("none")))
        return list(laws)

    def get(self, family: str, version: str) -> LawVersion:
        for law in self.versions(family):
            if law.version == version:
                return law
        known = ", ".join(law.version for law in self.versions(family))
        raise VersionSelectionError(_("{family} has no version {version!r}; known: {known}").format(
            family=family, version=version, known=known))

    def select(self, family: str, day: dt.date) -> LawVersion:
        """The version of ``family`` that governs ``day``; an error, never a fallback, when none or more than
        one does."""
        laws = self.versions(family)
        governing = [law for law in laws if law.governs(day)]
        if len(governing) == 1:
            return governing[0]
        if governing:
            names = ", ".join(law.version for law in governing)
            raise VersionSelectionError(_("versions {names} of {family} both govern {day}: their periods overlap "
                                          "(regole check reports it as V001); force one with --law-version").format(
                names=names, family=family, day=_i18n.date(day)))
        periods = "; ".join(f"{law.version}: {_i18n.date(law.valid_from)} – "
                            f"{_i18n.date(law.valid_to) if law.valid_to else '…'}" for law in laws)
        raise VersionSelectionError(_("no version of {family} governs {day} ({periods})").format(
            family=family, day=_i18n.date(day), periods=periods))

    def guess_family(self, facts: Mapping[str, Any]) -> str:
        """The family these facts are for: the one whose facts schema accepts them or, for bad facts, the
        one whose errors are worth showing (the only family, the only one whose required fields are all
        there, or the only one whose schema knows most of the fields)."""
        families = self._all()
        if not families:
            raise self._none_found()
        schemas = {family: laws[0].facts_schema for family, laws in families.items()}
        matches = [family for family, schema in schemas.items() if facts_accepted(facts, schema)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            if len(families) == 1:
                return next(iter(families))
            complete = [f for f, schema in schemas.items()
                        if all(name in facts for name in _schema_list(schema, "required"))]
            if len(complete) == 1:
                return complete[0]
            overlap = {f: len(set(facts) & set(_schema_list(schema, "properties"))) for f, schema in schemas.items()}
            leaders = [f for f, count in overlap.items() if count == max(overlap.values())]
            if len(leaders) == 1 and overlap[leaders[0]]:
                return leaders[0]
        raise VersionSelectionError(_("cannot tell which family these facts are for; name it (--family {names})")
                                    .format(names="|".join(self.families())))


def _schema_list(schema_name: str, key: str) -> list[str]:
    """The names under ``key`` ("required" or "properties") of a bundled facts schema."""
    value = load_schema(schema_name).get(key, ())
    return list(value) if isinstance(value, list | dict) else []


_DEFAULT: Library | None = None
_DEFAULT_LOCK = threading.Lock()


def default_library() -> Library:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Library()
        return _DEFAULT


def kernel_for(law: LawVersion) -> Kernel:
    if law._kernel is None:
        law._kernel = Kernel(law)
    kernel: Kernel = law._kernel
    return kernel


def evaluate(facts: Mapping[str, Any] | str | bytes, *, family: str | None = None, version: str | None = None,
             library: Library | None = None, source: str | None = None, lang: str | None = None) -> Result:
    """Evaluate one case.

    ``facts`` is a mapping (as parsed from JSON) or JSON text. The law version is chosen by the family's
    selecting date (e.g. ``data_domanda``), unless ``version`` forces one ("as if these rules applied").
    Raises FactsError for bad facts and VersionSelectionError when no version governs the date; their
    messages are in ``lang`` ("it", "en"), by default in the language in force (``REGOLE_LANG`` or Italian).
    Codes and paths do not depend on the language.
    """
    if lang is None:
        return _evaluate(facts, family, version, library, source)
    with _i18n.language(lang):
        return _evaluate(facts, family, version, library, source)


def _evaluate(facts: Mapping[str, Any] | str | bytes, family: str | None, version: str | None,
              library: Library | None, source: str | None) -> Result:
    library = library or default_library()
    if isinstance(facts, str | bytes):
        data = parse_facts_json(facts, source=source)
    else:
        data = normalise_python_facts(facts, source=source)
    if family is None:
        family = library.guess_family(data)
    laws = library.versions(family)
    validate_facts(data, laws[0].facts_schema, source=source)
    day = selecting_date(data, laws[0].selected_by, source=source)
    law = library.get(family, version) if version is not None else library.select(family, day)
    return run_case(law, data, day, forced=version is not None)


class _TracePlan:
    """What every result of one law version shares, worked out once: sources, sorted dependencies,
    labels, the parameter records of each dated value."""

    def __init__(self, law: LawVersion) -> None:
        self.law = law
        self.nodes = {n.name: n for n in law.nodes() if n.kind != "requirement"}
        self.node_sources = {name: tuple(law.sources[s] for s in n.sources) for name, n in self.nodes.items()}
        # Per requirement, what its trace record holds that the case does not change, and the names of the
        # values it shows (its sorted dependencies; see _result).
        self.requirement_records = []
        for node in law.requirements:
            needed = tuple(sorted(law.dependencies(node.name)))
            self.requirement_records.append(
                (node.name, (node.name, node.label), (node.text, tuple(law.sources[s] for s in node.sources)),
                 (node.unconfirmed, node.template or ""), (needed, frozenset(needed)), node.reads))
        self.optional = frozenset(name for name, fact in law.facts.items() if fact.optional)
        self.fact_names = tuple(law.facts)
        self.fact_view = (self.fact_names, frozenset(self.fact_names))
        self.output_view = (tuple(law.outputs), frozenset(law.outputs))
        self.notes = tuple(NoteResult(n.id, n.text, tuple(law.sources[s] for s in n.sources), n.unconfirmed)
                           for n in law.notes)
        self.labels = {name: fact.label for name, fact in law.facts.items()}
        self.labels.update({name: p.label for name, p in law.parameters.items()})
        self.labels.update({node.name: node.label for node in law.nodes()})
        self.parameters: dict[str, list[tuple[Any, ParameterUse]]] = {}
        for name, parameter in law.parameters.items():
            self.parameters[name] = [
                (dated, ParameterUse(name, parameter.label, dated.value if dated.value is not None else Unknown(
                    frozenset()), dated.valid_from, dated.valid_to, tuple(law.sources[s] for s in dated.sources),
                    dated.unconfirmed))
                for dated in parameter.values
            ]
        self.absent_parameter = {name: ParameterUse(name, p.label, Unknown(frozenset()), None, None, (), None)
                                 for name, p in law.parameters.items()}
        self.unknown_facts = {name: Unknown(frozenset((name,))) for name in law.facts}  # a fact not given
        self.computed = [(name, (name, n.label, n.kind), (n.text, self.node_sources[name], n.unconfirmed))
                         for name, n in self.nodes.items()]
        self._days: dict[dt.date, tuple[dict[str, ParameterUse], dict[str, Any]]] = {}
        self.computed_when_admitted = law.computations_for == "admitted"
        self.not_computed = dict.fromkeys(law.computations, NOT_COMPUTED)
        self.result_fields = {"family": law.family, "version": law.version, "title": law.title,
                              "ruleset_sha256": law.sha256, "engine_version": __version__,
                              "selected_by": law.selected_by, "labels": self.labels}

    def starting_values(self, day: dt.date) -> tuple[dict[str, ParameterUse], dict[str, Any]]:
        """The parameter records in force on ``day`` and what every case of that day starts from: each fact
        unknown, each parameter's value (both shared: copy them before changing them). Worked out once per
        day."""
        found = self._days.get(day)
        if found is None:
            used = {name: self.parameter(name, day) for name in self.parameters}
            found = (used, {**self.unknown_facts, **{name: use.value for name, use in used.items()}})
            if len(self._days) > 10_000:  # bounded; a batch spans a few hundred days
                self._days.clear()
            self._days[day] = found
        return found

    def parameter(self, name: str, day: dt.date) -> ParameterUse:
        for dated, use in self.parameters[name]:
            if dated.valid_from <= day and (dated.valid_to is None or day <= dated.valid_to):
                return use
        return self.absent_parameter[name]


def _plan(law: LawVersion) -> _TracePlan:
    plan = law.__dict__.get("_trace_plan")
    if plan is None:
        plan = _TracePlan(law)
        law.__dict__["_trace_plan"] = plan
    return plan


def prepare(law: LawVersion, data: Mapping[str, Any], day: dt.date) -> tuple[dict[str, Any], dict[str, ParameterUse]]:
    """The values a case starts from (its facts, Unknown where not given, and the parameters in force on
    ``day``) and the parameter records of that day (shared between cases: copy before changing)."""
    plan = _plan(law)
    used, start = plan.starting_values(day)
    values = to_values(data, law, into=start.copy())
    return values, used


def run_case(law: LawVersion, data: Mapping[str, Any], day: dt.date, *, forced: bool = False) -> Result:
    """Evaluate validated facts under ``law`` on ``day`` (the selecting date) and build the trace."""
    values, used = prepare(law, data, day)
    outcome = kernel_for(law).run(values, parameters_key=day)
    return _result(_plan(law), values, outcome.requirements, outcome.decision, dict(used), day, forced)


def _result(plan: _TracePlan, values: dict[str, Any], outcomes: dict[str, bool | None], decision: str,
            used: dict[str, ParameterUse], day: dt.date, forced: bool) -> Result:
    missing_memo: dict[str, frozenset[str]] = {}

    def missing(name: str) -> frozenset[str]:
        """The missing facts behind an unknown value (an absent optional fact never counts)."""
        if name in missing_memo:
            return missing_memo[name]
        value = values.get(name)
        result = value.missing - plan.optional if isinstance(value, Unknown) else frozenset()
        missing_memo[name] = result
        return result

    gaps: dict[str, tuple[str, ...]] = {}

    def lacking(name: str, reads: frozenset[str]) -> tuple[str, ...]:
        """The missing facts that leave an undetermined requirement undetermined (worked out once: for an
        undetermined case, before its records are made)."""
        if name not in gaps:
            gaps[name] = tuple(sorted(frozenset().union(*(missing(r) for r in reads))))
        return gaps[name]

    def records() -> tuple[tuple[RequirementResult, ...], dict[str, ComputedValue]]:
        new = tuple.__new__
        requirements = tuple([new(RequirementResult, (
            *head, OUTCOME_NAMES[outcomes[name]], *condition, Values(*shown, values),
            () if outcomes[name] is not None else lacking(name, reads), *tail))
            for name, head, condition, tail, shown, reads in plan.requirement_records])
        computed = {name: new(ComputedValue, (*head, values[name], *tail)) for name, head, tail in plan.computed}
        return requirements, computed

    if plan.computed_when_admitted and decision != "ammesso":
        values.update(plan.not_computed)  # the law works them out for an admitted case only
    undetermined: tuple[str, ...] = ()
    if decision == "indeterminato":
        undetermined = tuple(sorted({fact for name, *_, reads in plan.requirement_records
                                     if outcomes[name] is None for fact in lacking(name, reads)}))
    return Result._of({
        **plan.result_fields, "selecting_date": day, "forced_version": forced, "decision": decision,
        "parameters": used, "facts": Values(*plan.fact_view, values), "outputs": Values(*plan.output_view, values),
        "missing_facts": undetermined, "notes": plan.notes if decision == "ammesso" else ()}, records)


__all__ = ["Library", "Problem", "evaluate", "prepare", "run_case"]
