"""Compare law versions, 3: one case under two versions, "as if version B applied on the same date".

Both versions are applied to the same facts, with their parameters read at the case's own selecting date
(``data_domanda`` for ISCRO), whichever version governs that date. A parameter that has no value at that
date under a version (its values start later) is unknown there, and the requirements that read it are
``indeterminato``: the comparison never borrows a value from another date. Requirements are matched by id;
one that exists in a single version is shown alone. The explanation lines that differ are the Italian
explanations of both results, compared line by line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import _i18n
from ._compile import LawVersion
from ._explain import explain as explain_result
from ._facts import selecting_date, validate_facts
from ._i18n import N_
from ._i18n import gettext as _
from ._run import run_case
from ._trace import Result, json_value
from ._values import Unknown
from .errors import RegoleError

FORMAT_VERSION = 1
_ANSI = {"-": "\033[31m", "+": "\033[32m", "!": "\033[33m", "#": "\033[1m"}
_RESET = "\033[0m"


@dataclass(frozen=True)
class RequirementPair:
    id: str
    title: str
    a: str | None  # soddisfatto | non_soddisfatto | indeterminato, None when the version lacks it
    b: str | None

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclass(frozen=True)
class OutputPair:
    name: str
    label: str
    type: str
    a: Any  # None when the version lacks the output or the case is not admitted under it
    b: Any

    @property
    def changed(self) -> bool:
        return bool(json_value(self.a) != json_value(self.b))


@dataclass(frozen=True)
class Comparison:
    a: Result
    b: Result
    a_law: LawVersion
    b_law: LawVersion
    selecting_date: dt.date
    requirements: tuple[RequirementPair, ...]
    outputs: tuple[OutputPair, ...]
    unknown_parameters: dict[str, tuple[str, ...]]  # version key → parameters with no value at the date
    explanation_a: str | None  # None when the version has no explanation templates
    explanation_b: str | None
    explanation_problem: str | None = None

    @property
    def same_decision(self) -> bool:
        return self.a.decision == self.b.decision

    def explanation_changes(self) -> list[tuple[str, str]]:
        """Lines only in A (``-``) and only in B (``+``), in reading order."""
        if self.explanation_a is None or self.explanation_b is None:
            return []
        old, new = self.explanation_a.splitlines(), self.explanation_b.splitlines()
        out: list[tuple[str, str]] = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                out += _interleave(old[i1:i2], new[j1:j2])
        return out

    def to_dict(self) -> dict[str, Any]:
        def side(law: LawVersion, result: Result) -> dict[str, Any]:
            return {"key": law.key, "title": law.title, "path": law.path, "sha256": law.sha256,
                    "governs_date": law.governs(self.selecting_date), "decision": result.decision,
                    "unknown_parameters": list(self.unknown_parameters.get(law.key, ())),
                    "missing_facts": list(result.missing_facts)}

        return {
            "format": "regole-compare",
            "format_version": FORMAT_VERSION,
            "selecting_date": self.selecting_date.isoformat(),
            "a": side(self.a_law, self.a),
            "b": side(self.b_law, self.b),
            "same_decision": self.same_decision,
            "outputs": [{"name": o.name, "label": o.label, "a": json_value(o.a), "b": json_value(o.b),
                         "changed": o.changed} for o in self.outputs],
            "requirements": [{"id": r.id, "title": r.title, "a": r.a, "b": r.b, "changed": r.changed}
                             for r in self.requirements],
            "explanation": {"changes": [{"side": "a" if mark == "-" else "b", "line": line}
                                        for mark, line in self.explanation_changes()],
                            "problem": self.explanation_problem},
            "results": {"a": self.a.to_dict(), "b": self.b.to_dict()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"


def compare_case(data: Mapping[str, Any], a: LawVersion, b: LawVersion, *, source: str | None = None,
                 explain: bool = True) -> Comparison:
    """Evaluate ``data`` (parsed JSON facts) under both versions on the case's own date."""
    validate_facts(data, a.facts_schema, source=source)
    if b.facts_schema != a.facts_schema:
        validate_facts(data, b.facts_schema, source=source)
    day = selecting_date(data, a.selected_by, source=source)
    day_b = selecting_date(data, b.selected_by, source=source)
    result_a = run_case(a, data, day, forced=not a.governs(day))
    result_b = run_case(b, data, day_b, forced=not b.governs(day_b))
    ids_a = [r.id for r in result_a.requirements]
    ids_b = [r.id for r in result_b.requirements]
    order = ids_b + [i for i in ids_a if i not in ids_b]
    requirements = []
    for ident in order:
        ra = next((r for r in result_a.requirements if r.id == ident), None)
        rb = next((r for r in result_b.requirements if r.id == ident), None)
        either = rb or ra
        title = either.title if either is not None else ident
        requirements.append(RequirementPair(ident, title, ra.outcome if ra else None, rb.outcome if rb else None))
    outputs = []
    for name in list(dict.fromkeys([*b.outputs, *a.outputs])):
        node = b.computations.get(name) or a.computations.get(name)
        label = node.label if node else name
        outputs.append(OutputPair(name, label, str(node.type) if node else "", _output(result_a, name),
                                  _output(result_b, name)))
    unknown = {law.key: tuple(sorted(n for n, p in result.parameters.items() if isinstance(p.value, Unknown)
                                     and p.valid_from is None))
               for law, result in ((a, result_a), (b, result_b))}
    text_a = text_b = problem = None
    if explain:
        try:
            text_a, text_b = explain_result(result_a), explain_result(result_b)
        except RegoleError as exc:  # a version without templates still compares
            problem = str(exc)
        except TypeError as exc:  # a template that tests an unknown value ("Unknown has no truth value")
            problem = _("a template could not handle an unknown value: {error}").format(error=exc)
    return Comparison(result_a, result_b, a, b, day, tuple(requirements), tuple(outputs), unknown, text_a, text_b,
                      problem)


OUTCOME_LABELS = {"ammesso": N_("admitted"), "respinto": N_("refused"), "indeterminato": N_("undetermined"),
                  "soddisfatto": N_("satisfied"), "non_soddisfatto": N_("not satisfied")}


def outcome(value: str) -> str:
    """A decision or a requirement's outcome as the reader's language says it (the JSON keeps the names)."""
    return _(OUTCOME_LABELS[value]) if value in OUTCOME_LABELS else value


def _interleave(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    """A replaced block with each old line next to the new line most like it (in order), so that the two
    explanations of one requirement read one after the other."""
    out: list[tuple[str, str]] = []
    j = 0
    for line in old:
        best, best_ratio = None, 0.5
        for k in range(j, len(new)):
            ratio = difflib.SequenceMatcher(None, line, new[k], autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = k, ratio
        if best is None:
            out.append(("-", line))
            continue
        out += [("+", extra) for extra in new[j:best]]
        out += [("-", line), ("+", new[best])]
        j = best + 1
    out += [("+", extra) for extra in new[j:]]
    return out


def _output(result: Result, name: str) -> Any:
    if not result.admitted or name not in result.outputs:
        return None
    value = result.outputs[name]
    return None if isinstance(value, Unknown) else value


def _shown(value: Any, type_: str) -> str:
    if value is None:
        return "—"
    if type_ == "money":
        return _i18n.money(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.date):
        return _i18n.date(value)
    if isinstance(value, int | Decimal):
        return _i18n.number(value)
    return str(json_value(value))


def render_comparison(c: Comparison, *, color: bool = False, source: str = "", lang: str | None = None) -> str:
    """The comparison as terminal text in ``lang`` (default: ``REGOLE_LANG`` or Italian); the explanation lines
    are the Italian explanations themselves."""
    with _i18n.language(lang):
        return _render(c, color=color, source=source)


def _render(c: Comparison, *, color: bool, source: str) -> str:
    lines: list[str] = []

    def emit(text: str, mark: str = "") -> None:
        text = text.rstrip()
        lines.append(f"{_ANSI[mark]}{text}{_RESET}" if color and mark in _ANSI else text)

    ka, kb = c.a_law.key, c.b_law.key
    absent = {key: _("(not in {version})").format(version=key) for key in (ka, kb)}
    differs = "  " + _("← differs")
    decision = _("decision")
    width = max(len(ka), len(kb), 15, *(len(t) for t in absent.values())) + 2
    emit(f"regole compare {source} ({c.a_law.selected_by} {_i18n.date(c.selecting_date)})".replace("  ", " "), "#")
    for key, law in ((ka, c.a_law), (kb, c.b_law)):
        governs = _("governs this date") if law.governs(c.selecting_date) else _("applied as if it governed this date")
        emit(f"  {key}: {law.title} ({governs})")
        if c.unknown_parameters.get(key):
            emit("    " + _("no value at this date for: {names}").format(names=", ".join(c.unknown_parameters[key])),
                 "!")
    name_width = max([len(decision), *(len(o.name) for o in c.outputs), *(len(r.id) for r in c.requirements)]) + 2
    emit("")
    emit(f"  {'':<{name_width}}{ka:<{width}}{kb:<{width}}", "#")
    emit(f"  {decision:<{name_width}}{outcome(c.a.decision):<{width}}{outcome(c.b.decision):<{width}}"
         + ("" if c.same_decision else differs), "" if c.same_decision else "!")
    for o in c.outputs:
        row = f"  {o.name:<{name_width}}{_shown(o.a, o.type):<{width}}{_shown(o.b, o.type):<{width}}"
        emit(row + (differs if o.changed else ""), "!" if o.changed else "")
    emit("")
    emit("  " + _("requirements"), "#")
    for r in c.requirements:
        a = outcome(r.a) if r.a else absent[ka]
        b = outcome(r.b) if r.b else absent[kb]
        row = f"  {r.id:<{name_width}}{a:<{width}}{b:<{width}}"
        emit(row + (differs if r.changed else ""), "!" if r.changed else "")
    for key, result in ((ka, c.a), (kb, c.b)):
        if result.missing_facts:
            emit("  " + _("missing facts under {version}: {names}").format(version=key,
                                                                          names=", ".join(result.missing_facts)))
    emit("")
    if c.explanation_problem:
        emit("  " + _("explanations not available: {problem}").format(problem=c.explanation_problem), "!")
        return "\n".join(lines) + "\n"
    changes = c.explanation_changes()
    emit("  " + (_("explanation lines that differ ({count})").format(count=_i18n.number(len(changes))) if changes
                 else _("the explanations are the same")), "#")
    for mark, line in changes:
        emit(f"  {mark} {line}", mark)
    return "\n".join(lines) + "\n"


__all__ = ["Comparison", "compare_case", "render_comparison"]
