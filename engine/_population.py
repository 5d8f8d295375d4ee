"""Synthetic populations: draw applications of any family from a data file that describes how each fact is
distributed (``rulesets/<family>/population/<name>.yaml``, format in docs/population.md, schema in
schemas/population.schema.json). Nothing here knows a family: the file names the facts and their
distributions, and this module only interprets the generic kinds (boolean, date, integer, number, money,
money by year, choice, list).

The draw is deterministic: application ``i`` of seed ``s`` comes from its own Mersenne Twister stream seeded
with ``(s, i)`` and uses only ``random()``, so the first 1,000 applications of ``--n 100000`` are the
applications of ``--n 1000``, and the same seed gives the same file on every run.

The distributions are illustrative test data for impact estimates and benchmarks, not INPS statistics.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from . import _i18n
from ._compile import LawVersion
from ._i18n import gettext as _
from ._schema import jsonable, validator_for
from ._types import ListType
from ._yaml import LoadedYaml, Path_, load_yaml_file
from .errors import Problem, RulesetError

SEED_STRIDE = 2**40  # application i of seed s uses the stream seeded with s * SEED_STRIDE + i
MAX_APPLICATIONS = 10**9

Context = dict[str, Any]  # the typed values drawn so far for one application (dates as dt.date)
Draw = Callable[[random.Random, Context], Any]  # returns the JSON-ready value, or _ABSENT


class _Absent:
    """Marks a fact left out of the application."""


_ABSENT = _Absent()

# The fact type each kind produces, to check a population file against the family's law versions.
_KIND_TYPES = {"boolean": "boolean", "date": "date", "integer": "integer", "number": "number", "money": "money",
               "money_by_year": "money_by_year", "choice": "string"}


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: str
    draw: Draw
    fields: tuple[tuple[str, str], ...] = ()  # for lists: (field, kind)


@dataclass(frozen=True)
class PopulationSpec:
    """A compiled population file: draw applications with :meth:`applications`."""

    family: str
    description: str
    path: str
    facts: tuple[FactSpec, ...]

    def application(self, seed: int, index: int) -> dict[str, Any]:
        """Application ``index`` (from 0) of the population drawn with ``seed``: JSON-ready facts."""
        rng = random.Random(seed * SEED_STRIDE + index)  # noqa: S311 - synthetic test data, not secrets
        context: Context = {}
        row: dict[str, Any] = {}
        for fact in self.facts:
            value = fact.draw(rng, context)
            if value is not _ABSENT:
                row[fact.name] = value
        return row

    def applications(self, n: int, seed: int) -> Iterator[dict[str, Any]]:
        if not 0 <= seed < SEED_STRIDE:
            raise ValueError(_("the seed must be between 0 and {last}").format(last=SEED_STRIDE - 1))
        if not 0 <= n <= MAX_APPLICATIONS:
            raise ValueError(_("the number of applications must be between 0 and {last}").format(
                last=_i18n.number(MAX_APPLICATIONS)))
        for index in range(n):
            yield self.application(seed, index)

    def check_against(self, laws: list[LawVersion]) -> list[Problem]:
        """Problems with drawing this family's facts: facts no version reads, kinds that do not fit."""
        declared: dict[str, Any] = {}
        for law in laws:
            declared.update({name: fact.type for name, fact in law.facts.items()})
        problems = []
        for fact in self.facts:
            ftype = declared.get(fact.name)
            if ftype is None:
                problems.append(Problem(_("{name!r} is not a fact of any version of {family}").format(
                                            name=fact.name, family=self.family),
                                        code="G010", file=self.path, path=f"facts.{fact.name}"))
            elif isinstance(ftype, ListType):
                wanted = dict(ftype.fields)
                got = {name: _KIND_TYPES.get(kind, kind) for name, kind in fact.fields}
                if fact.kind != "list" or got != wanted:
                    problems.append(Problem(_("{name!r} is a list of {wanted}, the population draws {kind}").format(
                                            name=fact.name, wanted=wanted, kind=f"{fact.kind} {got or ''}".rstrip()),
                                            code="G011", file=self.path,
                                            path=f"facts.{fact.name}"))
            elif _KIND_TYPES.get(fact.kind) != ftype:
                problems.append(Problem(_("{name!r} is {type}, the population draws {kind}").format(
                                            name=fact.name, type=ftype, kind=fact.kind),
                                        code="G011", file=self.path, path=f"facts.{fact.name}"))
        return problems

    def uncovered(self, laws: list[LawVersion]) -> list[str]:
        """Facts some version reads that this population never draws."""
        drawn = {f.name for f in self.facts}
        return sorted({name for law in laws for name in law.facts if name not in drawn})


def population_path(rulesets: Path, family: str, name: str = "default") -> Path:
    return rulesets / family / "population" / f"{name}.yaml"


def load_population(path: str | Path) -> PopulationSpec:
    """Read, check and compile a population file; raise RulesetError listing every problem with its line."""
    loaded = load_yaml_file(Path(path))
    validator = validator_for("population.schema.json")
    problems = [_schema_problem(loaded, tuple(error.absolute_path), error.message)
                for error in validator.iter_errors(jsonable(loaded.data))]
    if problems:
        raise RulesetError(_unique(problems))
    return _Builder(loaded).build()


def _schema_problem(loaded: LoadedYaml, path: Path_, message: str) -> Problem:
    if len(message) > 200:  # oneOf/if-then messages quote the whole instance
        message = message[:200] + "…"
    return loaded.problem(path, message, code="G001")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[int | None, int | None, str], Problem] = {}
    for p in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
        seen.setdefault((p.line, p.column, p.message), p)
    return list(seen.values())


# -- drawing --------------------------------------------------------------------------------------------------


def _normal(rng: random.Random) -> float:
    """A standard normal draw (Box-Muller on ``random()`` only, so it is stable across Python versions)."""
    u1 = rng.random()
    u2 = rng.random()
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


Number = Callable[[random.Random], float]


def _distribution(spec: Mapping[str, Any]) -> Number:
    low = float(spec["min"]) if "min" in spec else -math.inf
    high = float(spec["max"]) if "max" in spec else math.inf

    def clamp(draw: Number) -> Number:
        return draw if (low, high) == (-math.inf, math.inf) else (lambda rng: min(max(draw(rng), low), high))

    if "uniform" in spec:
        a, b = (float(x) for x in spec["uniform"])
        return clamp(lambda rng: a + (b - a) * rng.random())
    if "lognormal" in spec:
        median, sigma = float(spec["lognormal"]["median"]), float(spec["lognormal"]["sigma"])
        return clamp(lambda rng: median * math.exp(sigma * _normal(rng)))
    if "normal" in spec:
        mean, sd = float(spec["normal"]["mean"]), float(spec["normal"]["sd"])
        return clamp(lambda rng: mean + sd * _normal(rng))
    constant = float(spec["constant"])
    return clamp(lambda rng: constant)


def _money(value: float) -> str:
    cents = round(value * 100)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _weighted(items: list[tuple[Any, float]]) -> Callable[[random.Random], Any]:
    total = sum(w for _, w in items)
    cumulative = []
    running = 0.0
    for item, weight in items:
        running += weight / total
        cumulative.append((running, item))

    def pick(rng: random.Random) -> Any:
        u = rng.random()
        for bound, item in cumulative:
            if u < bound:
                return item
        return cumulative[-1][1]

    return pick


class _Builder:
    def __init__(self, loaded: LoadedYaml) -> None:
        self.loaded = loaded
        self.data: dict[str, Any] = loaded.data
        self.problems: list[Problem] = []
        self.kinds: dict[str, str] = {}  # the facts built so far (a list's fields as "list.field")
        self.item: str | None = None  # the list whose item fields are being built

    def build(self) -> PopulationSpec:
        facts = []
        for name, spec in self.data["facts"].items():
            fact = self._fact(name, spec, ("facts", name))
            facts.append(fact)
            self.kinds[name] = spec["kind"]
        if self.problems:
            raise RulesetError(_unique(self.problems))
        return PopulationSpec(self.data["family"], self.data.get("description", ""), self.loaded.file,
                              tuple(facts))

    def _fact(self, name: str, spec: dict[str, Any], path: Path_) -> FactSpec:
        kind = spec["kind"]
        value = self._value(name, kind, spec, path)
        missing = float(spec.get("missing", 0))
        fields: tuple[tuple[str, str], ...] = ()
        if kind == "list":
            fields = tuple((field, fspec["kind"]) for field, fspec in spec["fields"].items())

        if not missing:
            return FactSpec(name, kind, value, fields)

        def draw(rng: random.Random, context: Context) -> Any:
            if rng.random() < missing:
                return _ABSENT
            return value(rng, context)

        return FactSpec(name, kind, draw, fields)

    def _earlier(self, name: str, kinds: tuple[str, ...], path: Path_) -> None:
        if self.kinds.get(name) not in kinds:
            self.problems.append(self.loaded.problem(
                path, _("{name!r} must be a {kinds} fact listed above this one").format(
                    name=name, kinds=" | ".join(kinds)), code="G002"))

    def _value(self, name: str, kind: str, spec: dict[str, Any], path: Path_) -> Draw:
        if kind == "boolean":
            p = float(spec["probability"])
            return lambda rng, context: rng.random() < p
        if kind == "date":
            return self._date(name, spec, path)
        if kind in ("integer", "number", "money"):
            number = _distribution(spec["distribution"])
            if kind == "integer":
                return lambda rng, context: round(number(rng))
            if kind == "money":
                return lambda rng, context: _money(number(rng))
            places = Decimal(1).scaleb(-int(spec.get("decimals", 2)))
            # a JSON number, as the facts schema wants (the text of one is refused); the float prints as the
            # rounded decimal (1.23), so the written file holds exactly that
            return lambda rng, context: float(Decimal(repr(number(rng))).quantize(places, ROUND_HALF_UP))
        if kind == "choice":
            pick = _weighted([(text, float(w)) for text, w in spec["values"].items()])
            return lambda rng, context: pick(rng)
        if kind == "money_by_year":
            return self._by_year(name, spec, path)
        return self._list(name, spec, path)

    def _date(self, name: str, spec: dict[str, Any], path: Path_) -> Draw:
        base = spec.get("relative_to")
        if base is not None and self.item is not None and f"{self.item}.{base}" in self.kinds:
            base = f"{self.item}.{base}"  # an earlier field of the same list item (a period's end after its start)
        options: list[tuple[tuple[str, Any, Any], float]] = []
        for i, item in enumerate(spec["ranges"]):
            where = (*path, "ranges", i)
            if "from" in item:
                start, end = dt.date.fromisoformat(str(item["from"])), dt.date.fromisoformat(str(item["to"]))
                if end < start:
                    self.problems.append(self.loaded.problem(where, _("ends ({end}) before it starts ({start})")
                                                             .format(end=end, start=start),
                                                             code="G003"))
                options.append((("absolute", start.toordinal(), end.toordinal()), float(item.get("weight", 1))))
                continue
            unit = "days" if "days" in item else "years"
            low, high = item[unit]
            if high < low:
                self.problems.append(self.loaded.problem((*where, unit), _("[{low}, {high}]: the first offset must "
                                                                           "not be larger than the second").format(
                                                         low=low, high=high), code="G003"))
            if base is None:
                self.problems.append(self.loaded.problem(where, _("offsets in {unit} need 'relative_to' on the fact")
                                                         .format(unit=unit),
                                                         code="G002"))
            options.append(((unit, low, high), float(item.get("weight", 1))))
        if base is not None:
            self._earlier(base, ("date",), (*path, "relative_to"))
        pick = _weighted(options)

        def draw(rng: random.Random, context: Context) -> Any:
            unit, low, high = pick(rng)
            offset = low + int(rng.random() * (high - low + 1))
            if unit == "absolute":
                day = dt.date.fromordinal(offset)
            else:
                origin = context.get(base or "")
                if not isinstance(origin, dt.date):
                    return _ABSENT  # the date it is relative to was left out
                day = origin + dt.timedelta(days=offset) if unit == "days" else _add_years(origin, offset)
            context[name] = day
            return day.isoformat()

        return draw

    def _years(self, spec: dict[str, Any], path: Path_) -> Callable[[Context], range | None]:
        years = spec["years"]
        base, first, last = years["relative_to"], years["from"], years["to"]
        self._earlier(base, ("date",), (*path, "years", "relative_to"))
        if last < first:
            self.problems.append(self.loaded.problem((*path, "years"), _("'from' must not be after 'to'"), code="G003"))

        def of(context: Context) -> range | None:
            origin = context.get(base)
            return range(origin.year + first, origin.year + last + 1) if isinstance(origin, dt.date) else None

        return of

    def _by_year(self, name: str, spec: dict[str, Any], path: Path_) -> Draw:
        years_of = self._years(spec, path)
        missing_year = float(spec.get("missing_year", 0))
        if "same_as" in spec:
            source = spec["same_as"]
            self._earlier(source, ("money_by_year",), (*path, "same_as"))
            factor = _distribution(spec["factor"]) if "factor" in spec else (lambda rng: 1.0)

            def derived(rng: random.Random, context: Context) -> Any:
                years = years_of(context)
                amounts = context.get(source)
                if years is None or not isinstance(amounts, dict):
                    return _ABSENT
                out = {}
                for year in years:
                    f = factor(rng)
                    if year in amounts and not (missing_year and rng.random() < missing_year):
                        out[year] = amounts[year] * f
                context[name] = out
                return {str(y): _money(v) for y, v in out.items()} if out else _ABSENT

            return derived

        level = _distribution(spec["level"])
        yearly = _distribution(spec["yearly"]) if "yearly" in spec else (lambda rng: 1.0)
        falls = [(float(f["probability"]), tuple(f["years"]), _distribution(f["factor"]))
                 for f in spec.get("falls", [])]
        origin_name = spec["years"]["relative_to"]

        def draw(rng: random.Random, context: Context) -> Any:
            years = years_of(context)
            if years is None:
                return _ABSENT
            base = level(rng)
            amounts = {year: base * yearly(rng) for year in years}
            origin_year = context[origin_name].year
            for probability, offsets, factor in falls:
                if rng.random() < probability:
                    f = factor(rng)
                    for offset in offsets:
                        if origin_year + offset in amounts:
                            amounts[origin_year + offset] *= f
            if missing_year:
                amounts = {y: v for y, v in amounts.items() if rng.random() >= missing_year}
            context[name] = amounts
            return {str(y): _money(v) for y, v in amounts.items()} if amounts else _ABSENT

        return draw

    def _list(self, name: str, spec: dict[str, Any], path: Path_) -> Draw:
        lengths = []
        for text, weight in spec["length"].items():
            lengths.append((int(text), float(weight)))
        pick = _weighted(lengths)
        fields = []
        self.item = name
        for field, fspec in spec["fields"].items():
            if fspec["kind"] in ("list", "money_by_year"):
                self.problems.append(self.loaded.problem((*path, "fields", field, "kind"),
                                                         _("list items hold plain values only"), code="G004"))
                continue
            fields.append((field, self._fact(f"{name}.{field}", fspec, (*path, "fields", field)).draw))
            self.kinds[f"{name}.{field}"] = fspec["kind"]
        self.item = None
        scoped = [f"{name}.{field}" for field, _draw in fields]

        def draw(rng: random.Random, context: Context) -> Any:
            items = []
            for _item in range(pick(rng)):
                for key in scoped:  # an item's fields are relative to the same item's, never the last one's
                    context.pop(key, None)
                item = {}
                for field, field_draw in fields:
                    value = field_draw(rng, context)
                    if value is not _ABSENT:
                        item[field] = value
                items.append(item)
            return items

        return draw


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)
