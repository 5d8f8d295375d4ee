"""Compare law versions, 4: the impact of moving a population of applications from version A to version B.

Every good row is evaluated under both versions on its own selecting date (as ``regole compare`` does for
one case), by the same durable-rules network as ``regole evaluate``. By default only the network's decision,
requirement outcomes and computed values are read (:class:`Decider`); building the full trace of every case
(``full_trace=True``, what :func:`engine._run.run_case` does) gives the same figures in about twice the time.
The tallies are streamed, so memory grows only with the amounts kept for the distribution chart. A bad row
is recorded with its number and field and the run goes on.

What is counted, per version: decisions (ammesso, respinto, indeterminato); for each money output of the
decision (``importo_mensile``, ``importo_totale`` for ISCRO), the total and the average over the admitted
applications; for refused applications, the first requirement (in the version's order) that failed. Across
versions: the 3 × 3 transition matrix of decisions, gains (admitted under B only) and losses (admitted under
A only).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import _i18n
from ._compile import LawVersion
from ._dataset import Row, RowProblem
from ._facts import selecting_date
from ._i18n import N_, NO_VALUE
from ._i18n import gettext as _
from ._run import kernel_for, prepare, run_case
from .errors import FactsError, KernelError

DECISIONS = ("ammesso", "respinto", "indeterminato")
FORMAT_VERSION = 1
MAX_PROBLEMS_KEPT = 1000
CENT = Decimal("0.01")
OVERRIDES_NOTE = N_("{version} with parameters changed for this analysis (--set): {values}")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Verdict:
    """What the impact needs of one evaluation."""

    decision: str
    first_failure: str | None  # the first requirement (in the version's order) that failed
    outputs: dict[str, Any]
    missing_facts: tuple[str, ...]


class Decider:
    """Evaluate cases under one law version on its durable-rules network, reading only the decision, the
    requirement outcomes and the computed values (no trace). An undetermined case is evaluated again with
    the full trace to learn which facts are missing (they are few)."""

    def __init__(self, law: LawVersion, *, full_trace: bool = False) -> None:
        self.law = law
        self.full_trace = full_trace
        self.kernel = kernel_for(law)
        self.requirements = tuple(r.name for r in law.requirements)
        self.outputs = law.outputs
    def __call__(self, data: dict[str, Any]) -> Verdict:
        day = selecting_date(data, self.law.selected_by)
        if self.full_trace:
            return self._traced(data, day)
        values, _facts = prepare(self.law, data, day)
        outcome = self.kernel.run(values, parameters_key=day)
        decision = outcome.decision
        if decision == "indeterminato":
            return self._traced(data, day)
        verdicts = outcome.requirements
        failure = next((r for r in self.requirements if verdicts.get(r) is False), None)
        outputs = {name: values.get(name) for name in self.outputs} if decision == "ammesso" else {}
        return Verdict(decision, failure, outputs, ())

    def _traced(self, data: dict[str, Any], day: Any) -> Verdict:
        result = run_case(self.law, data, day, forced=True)
        failure = next((r.id for r in result.requirements if r.outcome == "non_soddisfatto"), None)
        outputs = dict(result.outputs) if result.admitted else {}
        return Verdict(result.decision, failure, outputs, result.missing_facts)


@dataclass
class Tally:
    """What one version decided over the population."""

    decisions: Counter[str] = field(default_factory=Counter)
    totals: dict[str, Decimal] = field(default_factory=dict)
    first_failure: Counter[str] = field(default_factory=Counter)
    missing_facts: Counter[str] = field(default_factory=Counter)
    amounts: list[Decimal] = field(default_factory=list)  # the chart output of each admitted application

    @property
    def admitted(self) -> int:
        return self.decisions["ammesso"]

    def average(self, output: str) -> Decimal | None:
        if not self.admitted:
            return None
        return (self.totals.get(output, Decimal(0)) / self.admitted).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Impact:
    a_law: LawVersion
    b_law: LawVersion
    source: str
    fmt: str
    money_outputs: tuple[str, ...]
    chart_output: str | None
    a: Tally = field(default_factory=Tally)
    b: Tally = field(default_factory=Tally)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows_read: int = 0
    evaluated: int = 0
    bad_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0
    overrides: dict[str, str] = field(default_factory=dict)  # --set: parameters of B changed for the run

    @property
    def gains(self) -> int:
        return sum(n for (a, b), n in self.transitions.items() if a != "ammesso" and b == "ammesso")

    @property
    def losses(self) -> int:
        return sum(n for (a, b), n in self.transitions.items() if a == "ammesso" and b != "ammesso")

    def requirement_rows(self) -> list[tuple[str, int, int]]:
        """(requirement id, first failures under A, under B) for every requirement, B's order first."""
        ids = [r.name for r in self.b_law.requirements]
        ids += [r.name for r in self.a_law.requirements if r.name not in ids]
        return [(i, self.a.first_failure[i], self.b.first_failure[i]) for i in ids]

    def to_dict(self) -> dict[str, Any]:
        def version(law: LawVersion, tally: Tally) -> dict[str, Any]:
            return {"key": law.key, "title": law.title, "path": law.path, "sha256": law.sha256,
                    "decisions": {d: tally.decisions[d] for d in DECISIONS},
                    "amounts": {o: {"total": _money(tally.totals.get(o, Decimal(0))),
                                    "average": _money(tally.average(o))} for o in self.money_outputs},
                    "first_failure": dict(tally.first_failure.most_common()),
                    "missing_facts": dict(tally.missing_facts.most_common())}

        changes = {o: {"total": _money(self.b.totals.get(o, Decimal(0)) - self.a.totals.get(o, Decimal(0))),
                       "average": _money(_difference(self.b.average(o), self.a.average(o)))}
                   for o in self.money_outputs}
        return {
            "format": "regole-impact",
            "format_version": FORMAT_VERSION,
            "source": {"path": self.source, "format": self.fmt},
            "rows": {"read": self.rows_read, "evaluated": self.evaluated, "bad": self.bad_rows},
            "a": version(self.a_law, self.a),
            "b": version(self.b_law, self.b),
            "transitions": {a: {b: self.transitions[(a, b)] for b in DECISIONS} for a in DECISIONS},
            "gains": self.gains,
            "losses": self.losses,
            "amount_changes": changes,
            "problems": [p.to_dict() for p in self.problems],
            "problems_truncated": len(self.problems) >= MAX_PROBLEMS_KEPT,
            "seconds": round(self.seconds, 3),
            **({"overrides": dict(self.overrides)} if self.overrides else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"


def measure_impact(rows: Iterable[Row], a: LawVersion, b: LawVersion, *, source: str = "", fmt: str = "",
                   chart_output: str | None = None, progress: Progress | None = None, every: int = 1000,
                   full_trace: bool = False) -> Impact:
    """Evaluate every good row under ``a`` and ``b`` and tally the differences."""
    decide_a = Decider(a, full_trace=full_trace)
    decide_b = Decider(b, full_trace=full_trace)
    money = tuple(o for o in dict.fromkeys([*a.outputs, *b.outputs])
                  if _output_type(a, o) == "money" or _output_type(b, o) == "money")
    if chart_output is None:
        chart_output = money[0] if money else None
    impact = Impact(a, b, source, fmt, money, chart_output)
    started = time.perf_counter()
    for row in rows:
        impact.rows_read += 1
        if progress is not None and impact.rows_read % every == 0:
            progress(impact.rows_read)
        if row.facts is None:
            _bad(impact, row.problems)
            continue
        try:
            ra = decide_a(row.facts)
            rb = decide_b(row.facts)
        except FactsError as exc:
            _bad(impact, [RowProblem(row.number, (p.path or "$")[2:] or None, p.message) for p in exc.problems])
            continue
        except KernelError as exc:
            _bad(impact, [RowProblem(row.number, None, str(exc))])
            continue
        impact.evaluated += 1
        _count(impact.a, ra, money, chart_output)
        _count(impact.b, rb, money, chart_output)
        impact.transitions[(ra.decision, rb.decision)] += 1
    if progress is not None:
        progress(impact.rows_read)
    impact.seconds = time.perf_counter() - started
    return impact


def _bad(impact: Impact, problems: Iterable[RowProblem]) -> None:
    impact.bad_rows += 1
    for problem in problems:
        if len(impact.problems) < MAX_PROBLEMS_KEPT:
            impact.problems.append(problem)


def _count(tally: Tally, result: Verdict, money: tuple[str, ...], chart_output: str | None) -> None:
    decision = result.decision
    tally.decisions[decision] += 1
    if decision == "ammesso":
        outputs = result.outputs
        for name in money:
            value = outputs.get(name)
            if isinstance(value, Decimal):
                tally.totals[name] = tally.totals.get(name, Decimal(0)) + value
        chart = outputs.get(chart_output) if chart_output else None
        if isinstance(chart, Decimal):
            tally.amounts.append(chart)
    elif decision == "respinto":
        if result.first_failure is not None:
            tally.first_failure[result.first_failure] += 1
    else:
        for name in result.missing_facts:
            tally.missing_facts[name] += 1


def _output_type(law: LawVersion, name: str) -> str | None:
    node = law.computations.get(name)
    return str(node.type) if node else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(CENT, ROUND_HALF_UP):f}"


def _difference(b: Decimal | None, a: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else b - a


# -- text ---------------------------------------------------------------------------------------------------------


DECISION_LABELS = {"ammesso": N_("admitted"), "respinto": N_("refused"), "indeterminato": N_("undetermined")}


def decision_label(decision: str) -> str:
    """``ammesso`` as the reader's language says it (the JSON keeps the outcome's own name)."""
    return _(DECISION_LABELS[decision]) if decision in DECISION_LABELS else decision


def _share(n: int, total: int) -> str:
    return _i18n.percent(n / total) if total else NO_VALUE


def _table(rows: list[list[str]], *, right: int = 1) -> list[str]:
    """Rows of cells as aligned text; every column after the first ``right`` ones is right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(widths[i]) if i < right else c.rjust(widths[i]) for i, c in enumerate(r)]
        out.append("  " + "   ".join(cells).rstrip())
    return out


def render_impact(impact: Impact, *, lang: str | None = None) -> str:
    """The impact as an aligned text table, in ``lang`` (default: ``REGOLE_LANG`` or Italian)."""
    with _i18n.language(lang):
        return _render_impact(impact)


def _render_impact(impact: Impact) -> str:
    ka, kb = impact.a_law.key, impact.b_law.key
    n = impact.evaluated
    rate = impact.rows_read / impact.seconds if impact.seconds else 0
    number, money = _i18n.number, _i18n.money
    lines = [f"regole impact {impact.source}: {ka} → {kb}",
             "  " + _("rows read {read}, evaluated under both versions {evaluated}, bad {bad}; {seconds} s ({rate} "
                      "rows/s, two evaluations per row)").format(
                 read=number(impact.rows_read), evaluated=number(n), bad=number(impact.bad_rows),
                 seconds=number(impact.seconds, digits=1), rate=number(round(rate))), ""]
    if impact.overrides:
        lines[1:1] = ["  " + _(OVERRIDES_NOTE).format(version=kb, values=", ".join(
            f"{name} = {value}" for name, value in impact.overrides.items()))]
    rows = [["", ka, "", kb, "", _("change")]]
    for d in DECISIONS:
        x, y = impact.a.decisions[d], impact.b.decisions[d]
        rows.append([decision_label(d), number(x), _share(x, n), number(y), _share(y, n), _i18n.signed_number(y - x)])
    rows.append([_("gained eligibility (admitted under B only)"), "", "", number(impact.gains), "", ""])
    rows.append([_("lost eligibility (admitted under A only)"), "", "", number(impact.losses), "", ""])
    for o in impact.money_outputs:
        ta, tb = impact.a.totals.get(o, Decimal(0)), impact.b.totals.get(o, Decimal(0))
        rows.append([_("{output}, total").format(output=o), money(ta), "", money(tb), "", _i18n.signed_money(tb - ta)])
        aa, ab = impact.a.average(o), impact.b.average(o)
        difference = _difference(ab, aa)
        rows.append([_("{output}, average of the admitted").format(output=o), money(aa), "", money(ab), "",
                     NO_VALUE if difference is None else _i18n.signed_money(difference)])
    lines += _table(rows)
    lines += ["", "  " + _("decisions: rows {a}, columns {b}").format(a=ka, b=kb)]
    matrix = [["", *(decision_label(d) for d in DECISIONS), _("total")]]
    for a in DECISIONS:
        counts = [impact.transitions[(a, b)] for b in DECISIONS]
        matrix.append([decision_label(a), *(number(c) for c in counts), number(sum(counts))])
    lines += _table(matrix)
    lines += ["", "  " + _("first failing requirement of the refused applications")]
    failures = [[_("requirement"), ka, kb, _("change")]]
    for ident, x, y in impact.requirement_rows():
        in_a = any(r.name == ident for r in impact.a_law.requirements)
        in_b = any(r.name == ident for r in impact.b_law.requirements)
        failures.append([ident, number(x) if in_a else NO_VALUE, number(y) if in_b else NO_VALUE,
                         _i18n.signed_number(y - x)])
    lines += _table(failures)
    lines.append("  " + _("(— : the version has no such requirement)"))
    if impact.problems:
        lines += ["", "  " + _("bad rows: {count} (each skipped; the first ones below)").format(
            count=number(impact.bad_rows))]
        lines += [f"    {p.render()}" for p in impact.problems[:20]]
    return "\n".join(lines) + "\n"


__all__ = ["DECISIONS", "Decider", "Impact", "Tally", "Verdict", "measure_impact", "render_impact"]
