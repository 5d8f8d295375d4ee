"""Stage 3, compile: turn a checked ruleset into a :class:`LawVersion`: sources, facts, dated parameters and
the nodes (derived values, requirements, computations) with their parsed, type-checked expressions.

Every problem found (a bad expression, an unknown name, a missing source, a cycle) is collected and
reported together with its YAML position.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ._evaluate import Evaluator, compile_expression
from ._expr import Expr, ParseError, Ref, children, free_names, parse_expression
from ._i18n import gettext as _
from ._schema import check_ruleset_schema
from ._suggest import suggest
from ._types import SCALAR_TYPES, ListType, Type, TypeChecker, TypeCheckError
from ._yaml import LoadedYaml, load_yaml_file, load_yaml_text
from .errors import ExpressionError, Problem, RulesetError


@dataclass(frozen=True)
class Source:
    key: str
    citation: str
    kind: str
    confidence: str
    date: dt.date | None = None
    url: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "citation": self.citation, "kind": self.kind, "confidence": self.confidence,
                "date": self.date.isoformat() if self.date else None, "url": self.url}


@dataclass(frozen=True)
class Fact:
    name: str
    type: Type
    label: str
    optional: bool = False
    description: str = ""


@dataclass(frozen=True)
class ParameterValue:
    valid_from: dt.date
    valid_to: dt.date | None
    value: Any  # None when the value is not known
    sources: tuple[str, ...]
    unconfirmed: str | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    label: str
    values: tuple[ParameterValue, ...]
    description: str = ""

    def at(self, day: dt.date) -> ParameterValue | None:
        for value in self.values:
            if value.valid_from <= day and (value.valid_to is None or day <= value.valid_to):
                return value
        return None


@dataclass(frozen=True)
class Node:
    """A derived value, a requirement or a computation: one rule in the kernel."""

    name: str  # the requirement id for requirements
    kind: str  # "derived" | "requirement" | "computation"
    type: Type
    text: str
    expr: Expr
    evaluate: Evaluator
    label: str
    sources: tuple[str, ...] = ()
    unconfirmed: str | None = None
    template: str | None = None
    reads: frozenset[str] = frozenset()  # names read directly


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    sources: tuple[str, ...]
    unconfirmed: str | None = None


@dataclass
class LawVersion:
    """A compiled law version, ready to run. Immutable once built."""

    family: str
    version: str
    title: str
    description: str
    valid_from: dt.date
    valid_to: dt.date | None
    selected_by: str
    facts_schema: str
    sha256: str
    path: str
    sources: dict[str, Source]
    facts: dict[str, Fact]
    parameters: dict[str, Parameter]
    derived: dict[str, Node]
    requirements: list[Node]
    computations: dict[str, Node]
    outputs: tuple[str, ...]
    notes: tuple[Note, ...]
    gap_after: bool = False
    computations_for: str = "every_case"  # or "admitted": see decision.computations_for
    _kernel: Any = field(default=None, repr=False, compare=False)
    _dependencies: dict[str, frozenset[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.family}@{self.version}"

    def governs(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def nodes(self) -> Iterator[Node]:
        yield from self.derived.values()
        yield from self.requirements
        yield from self.computations.values()

    def dependencies(self, name: str) -> frozenset[str]:
        """Every fact, parameter and derived value ``name`` depends on, transitively (computed once)."""
        if self._dependencies is None:
            by_name = {n.name: n for n in self.nodes()}
            table: dict[str, frozenset[str]] = {}
            for node in by_name.values():
                seen: set[str] = set()
                stack = [node.name]
                while stack:
                    current = by_name.get(stack.pop())
                    for read in current.reads if current else ():
                        if read not in seen:
                            seen.add(read)
                            stack.append(read)
                table[node.name] = frozenset(seen)
            self._dependencies = table
        return self._dependencies.get(name, frozenset())


def load_ruleset(path: str | Path) -> LawVersion:
    """Load, check and compile the ruleset at ``path``; raise a RulesetError listing every problem."""
    path = Path(path)
    loaded = load_yaml_file(path)
    return compile_loaded(loaded, hashlib.sha256(path.read_bytes()).hexdigest())


def _first_ref(expr: Expr, names: set[str]) -> Ref:
    """The first reference (in reading order) to one of ``names`` inside ``expr``, which has one."""
    found = [expr]
    while found:
        current = found.pop(0)
        if isinstance(current, Ref) and current.name in names:
            return current
        found[:0] = children(current)
    raise AssertionError("no reference found")  # pragma: no cover - the caller checked free_names


def load_ruleset_text(text: str, file: str = "<string>") -> LawVersion:
    loaded = load_yaml_text(text, file)
    return compile_loaded(loaded, hashlib.sha256(text.encode("utf-8")).hexdigest())


def compile_loaded(loaded: LoadedYaml, sha256: str) -> LawVersion:
    check_ruleset_schema(loaded)
    return _Compiler(loaded, sha256).compile()


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


class _Compiler:
    def __init__(self, loaded: LoadedYaml, sha256: str) -> None:
        self.loaded = loaded
        self.data: dict[str, Any] = loaded.data
        self.sha256 = sha256
        self.problems: list[Problem] = []

    def compile(self) -> LawVersion:
        d = self.data
        sources = {k: Source(k, v["citation"], v["kind"], v["confidence"], _date(v.get("date")), v.get("url"),
                             v.get("note")) for k, v in d["sources"].items()}
        facts = {name: self._fact(name, spec) for name, spec in d["facts"].items()}
        parameters = {name: self._parameter(name, spec) for name, spec in (d.get("parameters") or {}).items()}
        names: dict[str, Type] = {f.name: f.type for f in facts.values()}
        optional = {f.name for f in facts.values() if f.optional}
        for p in parameters.values():
            names[p.name] = p.type
            if any(v.value is None for v in p.values):
                optional.add(p.name)
        self._check_unique_names(d)
        selected = d["period"]["selected_by"]
        if selected not in facts or facts[selected].type != "date":
            message = _("selected_by must name a date fact, not {name!r}").format(name=selected)
            self.problems.append(self.loaded.problem(("period", "selected_by"), message, code="C004"))
        derived_specs = d.get("derived") or {}
        computation_specs = d.get("computations") or {}
        for name, spec in {**derived_specs, **computation_specs}.items():
            names[name] = spec["type"]
        checker = TypeChecker(names, optional=frozenset(optional))
        derived = {name: self._formula(name, "derived", spec, ("derived", name), checker)
                   for name, spec in derived_specs.items()}
        computations = {name: self._formula(name, "computation", spec, ("computations", name), checker)
                        for name, spec in computation_specs.items()}
        requirements = [self._requirement(i, spec, checker) for i, spec in enumerate(d["requirements"])]
        self._check_sources(d, sources)
        outputs = tuple(d["decision"]["outputs"])
        for i, out in enumerate(outputs):
            if out not in computations:
                message = _("output {name!r} is not a computation").format(name=out)
                self.problems.append(self.loaded.problem(("decision", "outputs", i), message, code="C005"))
        notes = tuple(Note(n["id"], n["text"], tuple(n["sources"]), n.get("unconfirmed"))
                      for n in d["decision"].get("notes") or [])
        computations_for = d["decision"].get("computations_for", "every_case")
        if computations_for == "admitted":
            self._check_nothing_reads_computations(derived, requirements, set(computation_specs))
        nodes = [n for n in [*derived.values(), *requirements, *computations.values()] if n is not None]
        self._check_cycles(nodes)
        if self.problems:
            raise ExpressionError(self.problems)
        return LawVersion(
            family=d["family"], version=d["version"], title=d["title"], description=d.get("description", ""),
            valid_from=d["period"]["valid_from"], valid_to=d["period"].get("valid_to"),
            selected_by=selected, facts_schema=d["facts_schema"], sha256=self.sha256, path=self.loaded.file,
            sources=sources, facts=facts, parameters=parameters,
            derived={k: v for k, v in derived.items() if v is not None},
            requirements=[r for r in requirements if r is not None],
            computations={k: v for k, v in computations.items() if v is not None},
            outputs=outputs, notes=notes, gap_after=bool(d["period"].get("gap_after", False)),
            computations_for=computations_for)

    def _check_nothing_reads_computations(self, derived: dict[str, Node | None], requirements: list[Node | None],
                                          computations: set[str]) -> None:
        """With ``computations_for: admitted`` a computation exists only once the case is admitted, so the
        decision cannot depend on one."""
        readers: list[tuple[tuple[Any, ...], Node | None]] = [(("derived", name, "formula"), node)
                                                              for name, node in derived.items()]
        readers += [(("requirements", i, "condition"), node) for i, node in enumerate(requirements)]
        for path, node in readers:
            if node is None or not node.reads & computations:
                continue
            ref = _first_ref(node.expr, computations)
            self._expression_problem(
                path, _("{name!r} reads the computation {computation!r}, which is worked out only for an admitted "
                        "case (decision.computations_for: admitted)").format(name=node.name, computation=ref.name),
                ref.pos.line, ref.pos.column, "C007",
                _("work out what the decision needs in a derived value that reads no computation (a computation "
                  "may read that derived value), or set computations_for: every_case"))

    def _fact(self, name: str, spec: dict[str, Any]) -> Fact:
        ftype: Type = spec["type"]
        if ftype == "list":
            fields = spec.get("fields") or {}
            if not fields:
                self.problems.append(self.loaded.problem(("facts", name), _("a list fact needs 'fields'"),
                                                         code="C006", key=True))
            ftype = ListType(tuple(sorted(fields.items())))
        return Fact(name, ftype, spec["label"], bool(spec.get("optional", False)), spec.get("description", ""))

    def _parameter(self, name: str, spec: dict[str, Any]) -> Parameter:
        values = []
        ptype = spec["type"]
        raw_values = spec["values"]
        for i, raw in enumerate(raw_values):
            path = ("parameters", name, "values", i)
            value = self._parameter_value(raw["value"], ptype, (*path, "value"))
            start = raw["from"]
            end = raw.get("to")
            if end is None and i + 1 < len(raw_values):
                end = raw_values[i + 1]["from"] - dt.timedelta(days=1)
            if end is not None and end < start:
                message = _("ends ({end}) before it starts ({start})").format(end=end, start=start)
                self.problems.append(self.loaded.problem((*path, "to"), message, code="P001"))
            if i and raw_values[i - 1]["from"] >= start:
                self.problems.append(self.loaded.problem((*path, "from"), _("values must be in date order"),
                                                         code="P001"))
            values.append(ParameterValue(start, end, value, tuple(raw["sources"]), raw.get("unconfirmed")))
        return Parameter(name, ptype, spec["label"], tuple(values), spec.get("description", ""))

    def _parameter_value(self, value: Any, ptype: str, path: tuple[Any, ...]) -> Any:
        if value is None:
            return None
        try:
            if ptype == "number" and isinstance(value, str) and value.endswith("%"):
                return _decimal(value[:-1].strip()) / 100  # "70%" is 0.70
            if ptype in ("money", "number"):
                number = _decimal(value)
                if ptype == "money" and number != number.quantize(Decimal("0.01")):
                    raise InvalidOperation
                return number
            if ptype == "integer" and isinstance(value, int) and not isinstance(value, bool):
                return value
            if ptype == "boolean" and isinstance(value, bool):
                return value
            if ptype == "date":
                return dt.date.fromisoformat(str(value))
        except (InvalidOperation, ValueError):
            pass
        message = _("{value!r} is not a valid {type}").format(value=value, type=ptype)
        self.problems.append(self.loaded.problem(path, message, code="P002"))
        return None

    def _check_unique_names(self, d: dict[str, Any]) -> None:
        seen: dict[str, str] = {}
        for section in ("facts", "parameters", "derived", "computations"):
            for name in d.get(section) or {}:
                if name in seen:
                    message = _("{name!r} is already declared in {where}").format(name=name, where=seen[name])
                    self.problems.append(self.loaded.problem((section, name), message, code="C001", key=True))
                seen[name] = section
        ids: set[str] = set()
        for i, req in enumerate(d["requirements"]):
            if req["id"] in ids:
                self.problems.append(self.loaded.problem(("requirements", i, "id"),
                                                         _("requirement id {id!r} is not unique").format(id=req["id"]),
                                                         code="C002"))
            ids.add(req["id"])

    def _expression(self, text: str, path: tuple[Any, ...], checker: TypeChecker,
                    expected: Type) -> tuple[Expr, Evaluator] | None:
        try:
            expr = parse_expression(text)
            got = checker.check(expr)
        except ParseError as exc:
            self._expression_problem(path, exc.message, exc.line, exc.column, "X001", exc.hint)
            return None
        except TypeCheckError as exc:
            self._expression_problem(path, exc.message, exc.pos.line, exc.pos.column, exc.code, exc.hint)
            return None
        except RecursionError:
            self._expression_problem(path, _("the expression is nested too deeply"), 1, 1, "X001",
                                     _("split it into derived values"))
            return None
        if not (got == expected or (expected == "number" and got == "integer")):
            self._expression_problem(path, _("the formula yields {got}, but {expected} is declared").format(
                got=got, expected=expected), 1, 1, "X004", None)
            return None
        try:
            return expr, compile_expression(expr)
        except RecursionError:
            self._expression_problem(path, _("the expression is nested too deeply"), 1, 1, "X001",
                                     _("split it into derived values"))
            return None

    def _expression_problem(self, path: tuple[Any, ...], message: str, line: int, column: int, code: str,
                            hint: str | None) -> None:
        """Record a problem at a spot inside an expression, located in the YAML file."""
        where = locate_in_scalar(self.loaded, path, line, column)
        if where is None:  # pragma: no cover - every scalar has a mark
            self.problems.append(Problem(message, code=code, file=self.loaded.file, hint=hint))
            return
        self.problems.append(Problem(message, code=code, file=self.loaded.file, line=where[0], column=where[1],
                                     hint=hint, source_line=self.loaded.source_line(where[0])))

    def _formula(self, name: str, kind: str, spec: dict[str, Any], path: tuple[Any, ...],
                 checker: TypeChecker) -> Node | None:
        compiled = self._expression(spec["formula"], (*path, "formula"), checker, spec["type"])
        if compiled is None:
            return None
        expr, evaluator = compiled
        return Node(name, kind, spec["type"], spec["formula"], expr, evaluator, spec["label"],
                    tuple(spec.get("sources") or ()), spec.get("unconfirmed"), reads=frozenset(free_names(expr)))

    def _requirement(self, index: int, spec: dict[str, Any], checker: TypeChecker) -> Node | None:
        path = ("requirements", index, "condition")
        compiled = self._expression(spec["condition"], path, checker, "boolean")
        if compiled is None:
            return None
        expr, evaluator = compiled
        return Node(spec["id"], "requirement", "boolean", spec["condition"], expr, evaluator, spec["title"],
                    tuple(spec["sources"]), spec.get("unconfirmed"), spec.get("template") or f"{spec['id']}.j2",
                    reads=frozenset(free_names(expr)))

    def _check_sources(self, d: dict[str, Any], sources: dict[str, Source]) -> None:
        def refs() -> Iterator[tuple[tuple[Any, ...], list[str]]]:
            for name, spec in (d.get("parameters") or {}).items():
                for i, value in enumerate(spec["values"]):
                    yield ("parameters", name, "values", i, "sources"), value["sources"]
            for section in ("derived", "computations"):
                for name, spec in (d.get(section) or {}).items():
                    if "sources" in spec:
                        yield (section, name, "sources"), spec["sources"]
            for i, req in enumerate(d["requirements"]):
                yield ("requirements", i, "sources"), req["sources"]
            for i, note in enumerate(d["decision"].get("notes") or []):
                yield ("decision", "notes", i, "sources"), note["sources"]

        for path, keys in refs():
            for j, key in enumerate(keys):
                if key not in sources:
                    self.problems.append(self.loaded.problem(
                        (*path, j), _("source {key!r} is not declared under 'sources'").format(key=key), code="R001",
                        hint=suggest(key, sources) or _("declare it under 'sources'")))
        for section in ("computations",):
            for name, spec in (d.get(section) or {}).items():
                if not spec.get("sources"):
                    message = _("computation {name!r} cites no source").format(name=name)
                    self.problems.append(self.loaded.problem((section, name), message, code="R002", key=True,
                                                             hint=_("add 'sources: [...]'")))

    def _check_cycles(self, nodes: list[Node]) -> None:
        by_name = {n.name: n for n in nodes}
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2 or name not in by_name:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*trail[trail.index(name):], name])
                section = "derived" if by_name[name].kind == "derived" else "computations"
                message = _("{name!r} depends on itself: {cycle}").format(name=name, cycle=cycle)
                self.problems.append(self.loaded.problem((section, name), message, code="C003", key=True))
                return
            state[name] = 1
            for read in sorted(by_name[name].reads):
                visit(read, [*trail, name])
            state[name] = 2

        for node in nodes:
            if node.kind != "requirement":
                visit(node.name, [])


def locate_in_scalar(loaded: LoadedYaml, path: tuple[Any, ...], line: int, column: int) -> tuple[int, int] | None:
    """The file line and column of (``line``, ``column``) inside the text of the YAML scalar at ``path``.

    Plain and quoted scalars, folded (``>``) and literal (``|``) blocks are handled: a folded scalar's
    lines are joined by single spaces, a literal block keeps them.
    """
    mark = loaded.mark(path)
    if mark is None:
        return None
    style = loaded.styles.get(path)
    lines = loaded.text.splitlines()
    segments: list[tuple[int, int, str]] = []  # (file line, 0-based column, text) in the scalar's order
    if style in ("|", ">"):
        number = mark.line + 1
        indent: int | None = None
        while number <= len(lines):
            raw = lines[number - 1]
            if raw.strip():
                current = len(raw) - len(raw.lstrip(" "))
                if indent is None:
                    indent = current
                elif current < indent:
                    break
                segments.append((number, indent, raw[indent:]))
            number += 1
    else:
        quote = 1 if style in ("'", '"') else 0
        first = lines[mark.line - 1] if mark.line <= len(lines) else ""
        segments.append((mark.line, mark.column - 1 + quote, first[mark.column - 1 + quote:]))
        number = mark.line + 1
        while number <= len(lines) and lines[number - 1].startswith(" " * mark.column) and lines[number - 1].strip():
            raw = lines[number - 1]
            stripped = raw.lstrip(" ")
            if ":" in stripped.split(" ")[0] and style is None:
                break
            segments.append((number, len(raw) - len(stripped), stripped))
            number += 1
    if not segments:
        return mark.line, mark.column
    if style == "|":
        index = min(line, len(segments)) - 1
        file_line, start, _ = segments[index]
        return file_line, start + column
    offset = column - 1
    for file_line, start, text in segments:
        if offset <= len(text):
            return file_line, start + offset + 1
        offset -= len(text) + 1
    file_line, start, text = segments[-1]
    return file_line, start + len(text) + 1


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


__all__ = ["SCALAR_TYPES", "LawVersion", "Node", "Parameter", "RulesetError", "load_ruleset"]
