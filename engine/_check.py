"""``regole check``: validate rulesets, their YAML test cases and their explanation templates, and report every
problem in one run, most useful first (errors before warnings, file by file, earlier stages first).

What is checked, by code (every code is described in docs/error-codes.md)::

    Y     the YAML itself: syntax, tabs, duplicate keys, tags, aliases          (stage load, _yaml)
    S     the ruleset schema, located at line:col                              (stage check, _schema)
    S005  the facts schema a ruleset names does not exist or is not a JSON Schema
    C X R P001 P002   names, expressions, sources, parameter values             (stage compile, _compile)
    P003  a percentage written 70 instead of 0.70
    P004  the dated values of a parameter leave a gap or overlap
    P005  the values of a parameter do not cover the period of the version
    V     the versions of a family: overlapping periods, gaps, a name used twice
    K F   the family's YAML test cases and the facts they give
    T     templates: missing, not compiling, naming what the trace does not provide (each template is also
          rendered, with StrictUndefined, against the results of the family's own test cases)
    W     warnings: facts or parameters nothing reads, versions no test case exercises

What reading and rendering the templates finds is worked out in engine/_check_templates.py.

A ruleset folder is ``<folder>/<version>.yaml``; its test cases are ``<folder>/tests/*.yaml``; its templates
are the nearest ``explanations/it/<family>`` above it. Nothing here is specific to a family.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import _i18n
from ._casetests import (
    CASES_FOLDER,
    CaseFile,
    CaseRunner,
    RulesetFolder,
    display_path,
    is_case_file,
    load_case_file,
    requested_paths,
)
from ._check_templates import (
    VALUES,
    RecordingExplainer,
    lookups,
    mentions,
    missing_templates,
    render_problem,
    syntax_problem,
    template_problem,
)
from ._compile import LawVersion, compile_loaded
from ._explain import Explainer
from ._expr import Arith, Expr, ParseError, Ref, children, parse_expression
from ._i18n import N_
from ._i18n import gettext as _
from ._resources import rulesets_dir, schemas_dir
from ._schema import check_ruleset_schema
from ._suggest import suggest
from ._yaml import LoadedYaml, load_yaml_file, load_yaml_text
from .errors import Problem, RulesetError, RulesetSchemaError, YamlSyntaxError

FORMAT_VERSION = 1  # of the JSON of `regole check --format json` (schemas/output/check.schema.json)
_PERCENT_WORDS = re.compile(r"percent", re.IGNORECASE)
_COEFFICIENT_WORDS = re.compile(r"coefficient|moltiplicator", re.IGNORECASE)
_STAGES = {"Y": 0, "S": 1, "C": 2, "X": 2, "R": 2, "P": 2, "V": 4, "K": 5, "F": 5, "T": 6, "W": 7}
_RAW_CHECKS = {"P003", "P004", "P005"}  # found on the data, after the compiler's P001 and P002
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CheckReport:
    """Every problem found, ranked, and what was checked."""

    problems: tuple[Problem, ...]
    rulesets: int = 0
    templates: int = 0
    case_files: int = 0
    cases: int = 0
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def summary(self) -> str:
        ngettext, n = _i18n.ngettext, _i18n.number
        checked = ", ".join([ngettext("{n} ruleset", "{n} rulesets", self.rulesets).format(n=n(self.rulesets)),
                             ngettext("{n} template", "{n} templates", self.templates).format(n=n(self.templates)),
                             ngettext("{n} test file", "{n} test files", self.case_files).format(n=n(self.case_files))])
        checked += " (" + ngettext("{n} case", "{n} cases", self.cases).format(n=n(self.cases)) + ")"
        if not self.problems:
            return _("checked {what}: no problems").format(what=checked)
        found = ", ".join([ngettext("{n} error", "{n} errors", len(self.errors)).format(n=n(len(self.errors))),
                           ngettext("{n} warning", "{n} warnings", len(self.warnings)).format(n=n(len(self.warnings)))])
        return _("checked {what}: {found}").format(what=checked, found=found)

    def render(self) -> str:
        parts = [p.render() for p in self.problems]
        parts.extend(_("note: {note}").format(note=note) for note in self.notes)
        parts.append(self.summary())
        return "\n\n".join(parts[:-1]) + ("\n\n" if len(parts) > 1 else "") + parts[-1] + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "regole-check",
            "format_version": FORMAT_VERSION,
            "problems": [{**p.to_dict(), "severity": p.severity} for p in self.problems],
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "checked": {"rulesets": self.rulesets, "templates": self.templates, "case_files": self.case_files,
                        "cases": self.cases},
            "notes": list(self.notes),
        }


class _Collector:
    """Problems with their rank: errors first, then by file (in the order the files were met), by stage, and
    in the order each stage found them."""

    def __init__(self) -> None:
        self._files: dict[str, int] = {}
        self._items: list[tuple[tuple[int, int, int, int], Problem]] = []
        self._seen: set[tuple[Any, ...]] = set()

    def file(self, name: str) -> None:
        self._files.setdefault(name, len(self._files))

    def add(self, problem: Problem) -> None:
        key = (problem.code, problem.file, problem.line, problem.column, problem.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.file(problem.file or "")
        stage = 3 if problem.code in _RAW_CHECKS else _STAGES.get(problem.code[:1], 8)
        rank = (problem.severity != "error", self._files[problem.file or ""], stage, len(self._items))
        self._items.append((rank, problem))

    def extend(self, problems: Sequence[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def ranked(self) -> tuple[Problem, ...]:
        return tuple(p for _, p in sorted(self._items, key=lambda item: item[0]))


@dataclass
class _Ruleset:
    path: Path
    checked: bool
    loaded: LoadedYaml | None = None
    law: LawVersion | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any] | None:
        """The ruleset's data once it follows the schema (so every key the checks read is there)."""
        valid = self.loaded is not None and not any(p.code[:1] in "YS" for p in self.problems)
        return self.loaded.data if valid and self.loaded is not None else None


def ruleset_files(paths: Sequence[Path]) -> list[Path]:
    """The ruleset files named by ``paths``: files as given (a test case file stands for its folder); for a
    family folder its ``*.yaml``, for a folder of families (like ``rulesets/``) their ``*/*.yaml``, as the
    Library reads them."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_file():
            files = RulesetFolder.of(path).ruleset_files() if is_case_file(path) else [path]
        elif path.name == CASES_FOLDER:
            files = RulesetFolder.of(path).ruleset_files()
        else:
            files = sorted(path.glob("*.yaml")) or [p for p in sorted(path.glob("*/*.yaml"))
                                                    if p.parent.name != CASES_FOLDER]
        for file in files:
            found.setdefault(file.resolve(), Path(display_path(file)))
    return list(found.values())


def check_paths(paths: Sequence[Path] = ()) -> CheckReport:
    """Check the rulesets named by ``paths`` (default: every bundled ruleset) with their folders' test cases
    and templates."""
    files = ruleset_files(paths or [rulesets_dir()])
    collector = _Collector()
    folders: dict[Path, list[Path]] = {}
    for file in files:
        folders.setdefault(file.resolve().parent, []).append(file)
    totals = {"templates": 0, "case_files": 0, "cases": 0}
    notes: list[str] = []
    for folder_path, checked in folders.items():
        _FolderCheck(RulesetFolder(folder_path), checked, collector, totals, notes).run()
    return CheckReport(collector.ranked(), len(files), totals["templates"], totals["case_files"], totals["cases"],
                       tuple(notes))


class _FolderCheck:
    """The checks of one ruleset folder: its rulesets, the versions together, test cases and templates."""

    def __init__(self, folder: RulesetFolder, checked: list[Path], collector: _Collector, totals: dict[str, int],
                 notes: list[str]) -> None:
        self.folder = folder
        self.collector = collector
        self.totals = totals
        self.notes = notes
        self.cases_checked = False
        self.template_lines: set[tuple[str | None, int | None]] = set()  # where T problems were found by reading
        self.rendered: dict[tuple[Any, ...], list[Problem]] = {}  # T003 found by rendering, by spot and error
        checked_set = {p.resolve() for p in checked}
        siblings = [Path(display_path(p)) for p in folder.ruleset_files() if p.resolve() not in checked_set]
        self.rulesets = [_load(p, checked=True) for p in checked] + [_load(p, checked=False) for p in siblings]
        for ruleset in self.rulesets:
            if ruleset.checked:
                collector.file(str(ruleset.path))

    def report(self, problem: Problem) -> None:
        """Report ``problem`` unless it lies in a sibling ruleset that was not asked for."""
        unchecked = {str(r.path) for r in self.rulesets if not r.checked}
        if problem.file not in unchecked:
            self.collector.add(problem)

    def run(self) -> None:
        for ruleset in self.rulesets:
            if ruleset.checked:
                self.collector.extend(ruleset.problems)
        families: dict[str, list[_Ruleset]] = {}
        for ruleset in self.rulesets:
            if ruleset.data is not None:
                families.setdefault(str(ruleset.data["family"]), []).append(ruleset)
        for family, members in families.items():
            for problem in _version_problems(family, members):
                self.report(problem)
            self._family(family, members)

    def _facts_schema(self, ruleset: _Ruleset) -> Path | None:
        """S005: the facts schema a ruleset names must exist and be a JSON Schema. Returns its folder."""
        assert ruleset.data is not None
        assert ruleset.loaded is not None
        name = str(ruleset.data["facts_schema"])
        folder = self.folder.schemas_dir(name)
        problem = None
        if folder is None:
            problem = _("facts schema {name!r} not found in a schemas/ folder above the ruleset, nor among the "
                        "bundled ones").format(name=name)
        else:
            problem = _schema_file_problem(name, folder / name)
        if problem is not None:
            if ruleset.checked:
                self.collector.add(ruleset.loaded.problem(("facts_schema",), problem, code="S005"))
            return None
        return folder

    def _family(self, family: str, members: list[_Ruleset]) -> None:
        laws = [r.law for r in members if r.law is not None]
        schemas = {self._facts_schema(r) for r in members}
        root = self.folder.templates_root(family)
        mentioned: set[str] | None = None
        if root is None:
            self.notes.append(_("{family}: no explanations/it/{family} folder found above {path}; its templates were "
                                "not checked").format(family=family, path=display_path(self.folder.path)))
        all_compiled = len(laws) == len(members)
        if root is not None and laws:
            mentioned = self._templates(root, family, members, laws, all_compiled=all_compiled)
            if not all_compiled:
                self.notes.append(_("{family}: a ruleset of the family does not load; the names read by the "
                                    "templates its versions share were not checked").format(family=family))
        if not self.cases_checked:  # a folder's test cases are for its (one) family
            self.cases_checked = True
            self._cases(root, members, laws if all_compiled and None not in schemas else [])
        for ruleset in members:
            if ruleset.checked and ruleset.law is not None and ruleset.loaded is not None:
                self.collector.extend(list(_unused(ruleset.law, ruleset.loaded, mentioned)))

    # -- templates ------------------------------------------------------------------------------------------

    def _templates(self, root: Path, family: str, members: list[_Ruleset], laws: list[LawVersion], *,
                   all_compiled: bool) -> set[str]:
        """T001-T003 by reading the templates; returns every name the templates mention (for W001). When a
        version of the family does not load (``all_compiled`` false), a template that is not in the folder of
        a version that loaded is not checked for the names it reads: the missing version may have them, and
        its load failure is the problem to report, not its echoes."""
        explainer = Explainer(root)
        env = explainer.environment(family, laws[0].version)
        by_version = {law.version: law for law in laws}
        family_dir = root / family
        every_value = {n for law in laws for n in _value_names(law)}
        every_parameter = {n for law in laws for n in law.parameters}
        mentioned: set[str] = set()
        for path in sorted(family_dir.rglob("*.j2")):
            self.totals["templates"] += 1
            shown = display_path(path)
            self.collector.file(shown)
            source = path.read_text(encoding="utf-8")
            relative = path.relative_to(family_dir)
            owner = by_version.get(relative.parts[0]) if len(relative.parts) > 1 else None
            try:
                env.compile(source, name=relative.as_posix(), filename=shown)
                tree = env.parse(source, name=relative.as_posix(), filename=shown)
            except TemplateSyntaxError as exc:
                self.collector.add(syntax_problem(exc, shown, source, env.filters, env.tests))
                continue
            mentioned |= mentions(tree)
            if owner is None and not all_compiled:
                continue
            values = _value_names(owner) if owner else every_value
            parameters = set(owner.parameters) if owner else every_parameter
            for variable, name, line in lookups(tree):
                allowed = values if variable == VALUES else parameters
                if name not in allowed:
                    if variable == VALUES:
                        where = (_("version {version} has no value named {name!r}") if owner
                                 else _("no version of {family} has a value named {name!r}"))
                    else:
                        where = (_("version {version} has no parameter named {name!r}") if owner
                                 else _("no version of {family} has a parameter named {name!r}"))
                    where = where.format(version=owner.version if owner else "", family=family, name=name)
                    self.template_lines.add((shown, line))
                    self.collector.add(template_problem(shown, source, line, f"{variable}.{name}", name,
                                                         f"{variable}.{name}: {where}", suggest(name, allowed)))
        for ruleset in members:
            if ruleset.checked and ruleset.law is not None and ruleset.loaded is not None:
                for problem in missing_templates(ruleset.law, ruleset.loaded, root):
                    self.collector.add(problem)
        return mentioned

    # -- test cases -----------------------------------------------------------------------------------------

    def _cases(self, root: Path | None, members: list[_Ruleset], laws: list[LawVersion]) -> None:
        """Check the case files; run their cases (when every version compiled) and render each result."""
        runner = None
        if laws:
            runner = CaseRunner(laws, templates=root, schemas=self.folder.schemas_dir(laws[0].facts_schema))
            if root is not None:
                runner.explainer = RecordingExplainer(root)
        selected: set[str] = set()
        broken = False
        for path in self.folder.case_files():
            self.totals["case_files"] += 1
            shown = Path(display_path(path))
            self.collector.file(str(shown))
            try:
                case_file = load_case_file(shown)
            except RulesetError as exc:
                self.collector.extend(exc.problems)
                broken = True
                continue
            self.totals["cases"] += len(case_file.cases)
            if runner is not None:
                ran, complete = self._run_cases(runner, case_file, root)
                selected |= ran
                broken = broken or not complete
        for same in self.rendered.values():  # one problem per template spot, however many cases hit it
            first = same[0]
            more = (" " + _i18n.ngettext("(and {n} more case)", "(and {n} more cases)", len(same) - 1).format(
                n=len(same) - 1)) if len(same) > 1 else ""
            self.collector.add(dataclasses.replace(first, message=first.message + more))
        if root is not None and runner is not None and not broken:
            for ruleset in members:
                law = ruleset.law
                if ruleset.checked and law is not None and ruleset.loaded is not None and law.version not in selected:
                    self.collector.add(ruleset.loaded.problem(
                        ("version",), _("no test case is decided under version {version}: its rules are not "
                                        "tested and its templates were not rendered").format(version=law.version),
                        code="W002", hint=_("add cases to {path}/*.yaml").format(
                            path=display_path(self.folder.path / "tests"))))

    def _run_cases(self, runner: CaseRunner, case_file: CaseFile, root: Path | None) -> tuple[set[str], bool]:
        """The versions the cases were decided under, and whether every case could be evaluated."""
        selected: set[str] = set()
        complete = True
        recorder = runner.explainer if isinstance(runner.explainer, RecordingExplainer) else None
        for case in case_file.cases:
            outcome = runner.run(case, case_file.loaded)
            self.collector.extend(outcome.problems)
            complete = complete and not outcome.problems
            if outcome.result is None or root is None:
                continue
            selected.add(outcome.result.version)
            failures = recorder.take() if recorder is not None else []
            if outcome.explain_error is not None:
                failures.append(outcome.explain_error)
            for error in failures:
                found = render_problem(error, outcome, root)
                if found is not None and (found[1].file, found[1].line) not in self.template_lines:
                    self.rendered.setdefault(found[0], []).append(found[1])
        return selected, complete


# ---------------------------------------------------------------------------------------------------------------
# One ruleset


def _load(path: Path, *, checked: bool) -> _Ruleset:
    return _checked(_Ruleset(path, checked), lambda: load_yaml_file(path), lambda: _sha256(path))


def _checked(ruleset: _Ruleset, read: Callable[[], LoadedYaml], sha256: Callable[[], str]) -> _Ruleset:
    """Load (``read``), schema-check and compile one ruleset, keeping every problem found on the way."""
    try:
        ruleset.loaded = read()
        check_ruleset_schema(ruleset.loaded)
    except (YamlSyntaxError, RulesetSchemaError) as exc:
        ruleset.problems.extend(exc.problems)
        return ruleset
    try:
        ruleset.law = compile_loaded(ruleset.loaded, sha256())
    except RulesetError as exc:
        ruleset.problems.extend(exc.problems)
    compiler_found = {(p.line, p.column) for p in ruleset.problems}
    ruleset.problems.extend(p for p in _parameter_problems(ruleset.loaded)
                            if (p.line, p.column) not in compiler_found)
    return ruleset


def check_text(text: str, *, file: str = "<ruleset>") -> tuple[CheckReport, LawVersion | None]:
    """Check one ruleset given as text, as data: its YAML, the ruleset schema, the bundled facts schema it
    names (S005), the compiler's checks, its parameter values and the facts and parameters no rule reads.
    There is no folder around a text, so its sibling versions, test cases and templates are not checked
    (``regole check`` on a file does those). Returns the report and the compiled version (None when it has
    errors)."""
    ruleset = _checked(_Ruleset(Path(file), checked=True), lambda: load_yaml_text(text, file),
                       lambda: hashlib.sha256(text.encode("utf-8")).hexdigest())
    collector = _Collector()
    collector.extend(ruleset.problems)
    data, loaded = ruleset.data, ruleset.loaded
    if data is not None and loaded is not None:
        name = str(data["facts_schema"])
        found = schemas_dir() / name
        problem = (_schema_file_problem(name, found) if found.is_file()
                   else _("facts schema {name!r} is not a bundled one").format(name=name))
        if problem is not None:
            collector.add(loaded.problem(("facts_schema",), problem, code="S005"))
    if ruleset.law is not None and loaded is not None:
        collector.extend(list(_unused(ruleset.law, loaded, None)))
    report = CheckReport(collector.ranked(), rulesets=1)
    return report, ruleset.law if not report.errors else None


def _schema_file_problem(name: str, path: Path) -> str | None:
    """Why the facts schema ``name`` at ``path`` cannot be used, in the language in force, or None."""
    error = _schema_file_error(path)
    if error is None:
        return None
    return _("facts schema {name!r} is not a valid JSON Schema: {error}").format(name=name, error=error)


@lru_cache(maxsize=64)
def _schema_file_error(path: Path) -> str | None:
    """Why the JSON Schema file at ``path`` cannot be used (the validator's words), or None."""
    try:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, SchemaError) as exc:
        return str(exc).splitlines()[0]
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _expressions(data: dict[str, Any]) -> Iterator[Expr]:
    texts = [spec["formula"] for section in ("derived", "computations") for spec in (data.get(section) or {}).values()]
    texts += [req["condition"] for req in data["requirements"]]
    for text in texts:
        try:
            yield parse_expression(text)
        except ParseError:
            continue  # reported by the compiler


def _multiplied(expr: Expr) -> Iterator[str]:
    """Names used directly as a factor of a multiplication."""
    if isinstance(expr, Arith) and expr.op == "*":
        for side in (expr.left, expr.right):
            if isinstance(side, Ref):
                yield side.name
    for child in children(expr):
        yield from _multiplied(child)


def _parameter_problems(loaded: LoadedYaml) -> list[Problem]:
    """P003-P005 on a ruleset that follows the schema."""
    data: dict[str, Any] = loaded.data
    period = data["period"]
    starts, ends = _as_date(period["valid_from"]), _as_date(period.get("valid_to"))
    factors = {name for expr in _expressions(data) for name in _multiplied(expr)}
    problems: list[Problem] = []
    for name, spec in (data.get("parameters") or {}).items():
        if spec["type"] == "number":
            problems.extend(_percentage_problems(loaded, name, spec, name in factors))
        if starts is not None:
            problems.extend(_coverage_problems(loaded, name, spec["values"], starts, ends))
    return problems


def is_percentage(name: str, label: str) -> bool:
    """Whether a number parameter is a percentage by its name or label (``percentuale_calo``)."""
    return bool(_PERCENT_WORDS.search(f"{name} {label}"))


def _percentage_problems(loaded: LoadedYaml, name: str, spec: dict[str, Any], factor: bool) -> Iterator[Problem]:
    words = f"{name} {spec['label']}"
    percentage = is_percentage(name, spec["label"])
    if not percentage and (not factor or _COEFFICIENT_WORDS.search(words)):
        return
    for index, item in enumerate(spec["values"]):
        raw = item["value"]
        if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and raw.strip().endswith("%")):
            continue
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            continue  # P002, from the compiler
        if 0 <= number <= 1:
            continue
        shown = f"{number.normalize():f}"
        message = (_("{name} is a percentage, but this value is {value}: percentages are written as fractions "
                     "between 0 and 1") if percentage else
                   _("{name} multiplies other values, but this value is {value}: percentages are written as "
                     "fractions between 0 and 1"))
        hint = _("percentages are fractions between 0 and 1")
        if 1 < number <= 100:
            fraction = number / 100
            exact = fraction == fraction.quantize(Decimal("0.01"))
            written = f"{fraction:.2f}" if exact else f"{fraction.normalize():f}"
            hint = _("write {fraction} or {percent}%").format(fraction=written, percent=shown)
        yield loaded.problem(("parameters", name, "values", index, "value"), message.format(name=name, value=shown),
                             code="P003", hint=hint)


def _coverage_problems(loaded: LoadedYaml, name: str, values: list[dict[str, Any]], starts: dt.date,
                       ends: dt.date | None) -> Iterator[Problem]:
    """P004 (gaps and overlaps between values) and P005 (the version's period not covered)."""
    spans = [(_as_date(v["from"]), _as_date(v.get("to"))) for v in values]
    if any(a is None for a, _ in spans):
        return
    froms = [a for a, _ in spans if a is not None]
    if any(b is not None and b < a for a, b in spans if a is not None) or froms != sorted(set(froms)):
        return  # P001, from the compiler
    path = ("parameters", name, "values")
    for index in range(len(spans) - 1):
        (_start, end), (next_start, _next_end) = spans[index], spans[index + 1]
        if end is None or next_start is None:
            continue
        if end >= next_start:
            yield loaded.problem((*path, index, "to"), _("{name}: this value runs to {end}, but the next one starts "
                                                         "on {start}: both would apply from {start} to {end}").format(
                                 name=name, end=end, start=next_start), code="P004",
                                 hint=_("end it on {day}").format(day=next_start - _DAY))
        elif end + _DAY < next_start:
            yield loaded.problem((*path, index, "to"), _("{name}: this value ends on {end} and the next one starts "
                                                         "on {start}: no value applies from {first} to {last}").format(
                                 name=name, end=end, start=next_start, first=end + _DAY, last=next_start - _DAY),
                                 code="P004", hint=_("end it on {day}, or start the next value on {next}").format(
                                     day=next_start - _DAY, next=end + _DAY))
    first, last_end = froms[0], spans[-1][1]
    period = f"{starts} – {ends}" if ends else _("from {day}, with no end date").format(day=starts)
    if first > starts:
        until = min(first - _DAY, ends) if ends else first - _DAY
        yield loaded.problem((*path, 0, "from"), _("{name} has no value from {start} to {until}, a part of the period "
                                                  "this version governs ({period})").format(
                             name=name, start=starts, until=until, period=period), code="P005",
                             hint=_("start the first value on {day}").format(day=starts))
    if last_end is not None and (ends is None or last_end < ends):
        governs = _("until {day}").format(day=ends) if ends else _("with no end date")
        yield loaded.problem((*path, len(spans) - 1, "to"), _("{name} has no value after {day}, but this version "
                                                              "governs {governs}").format(
                             name=name, day=last_end, governs=governs), code="P005",
                             hint=_("remove 'to' from the last value, or add a value from {day}").format(
                                 day=last_end + _DAY))


def _value_names(law: LawVersion) -> set[str]:
    return {*law.facts, *law.parameters, *law.derived, *law.computations}


def _unused(law: LawVersion, loaded: LoadedYaml, mentioned: set[str] | None) -> Iterator[Problem]:
    """W001: facts and parameters that no rule reads and no template mentions."""
    read = {law.selected_by}.union(*(node.reads for node in law.nodes()))
    for section, names in (("facts", law.facts), ("parameters", law.parameters)):
        kind = N_("fact") if section == "facts" else N_("parameter")
        for name in names:
            if name not in read and (mentioned is None or name not in mentioned):
                unused = (_("{kind} {name!r} is read by no rule and no template") if mentioned is not None
                          else _("{kind} {name!r} is read by no rule"))
                yield loaded.problem((section, name), unused.format(kind=_(kind), name=name), code="W001", key=True,
                                     hint=_("remove it, or use it in a condition or a formula"))


# ---------------------------------------------------------------------------------------------------------------
# The versions of a family


def _version_problems(family: str, members: list[_Ruleset]) -> Iterator[Problem]:
    """V001 overlapping periods, V002 a gap not marked ``gap_after``, V003 a version name used twice."""
    periods = []
    names: dict[str, _Ruleset] = {}
    for ruleset in members:
        data, loaded = ruleset.data, ruleset.loaded
        if data is None or loaded is None:
            continue
        version = str(data["version"])
        if version in names:
            yield loaded.problem(("version",), _("version {version!r} of {family} is also defined in {path}").format(
                                 version=version, family=family, path=names[version].path), code="V003",
                                 hint=_("give each version its own name"))
        names.setdefault(version, ruleset)
        start, end = _as_date(data["period"]["valid_from"]), _as_date(data["period"].get("valid_to"))
        if start is not None:
            periods.append((start, end, version, bool(data["period"].get("gap_after")), ruleset))
    periods.sort(key=lambda p: (p[0], p[2]))
    latest: tuple[dt.date, dt.date | None, str, bool, _Ruleset] | None = None
    for current in periods:
        start, end, version, _gap, ruleset = current
        if latest is not None:
            before_end, before_version, gap_after, before = latest[1], latest[2], latest[3], latest[4]
            assert ruleset.loaded is not None
            assert before.loaded is not None
            if before_end is None or before_end >= start:
                overlap_end = min((d for d in (before_end, end) if d is not None), default=None)
                until = _("until {day}").format(day=before_end) if before_end else _("with no end date (valid_to)")
                both = (_("from {start} to {end}").format(start=start, end=overlap_end) if overlap_end
                        else _("from {start} on").format(start=start))
                yield ruleset.loaded.problem(
                    ("period", "valid_from"), _("version {version} starts on {start}, but version {before} ({file}) "
                                                "governs {until}: both would govern {both}").format(
                        version=version, start=start, before=before_version, file=before.path.name, until=until,
                        both=both), code="V001",
                    hint=(_("end version {before} on {day}, or start this one on {next}") if before_end
                          else _("end version {before} on {day}")).format(
                        before=before_version, day=start - _DAY, next=before_end + _DAY if before_end else ""))
            elif before_end + _DAY < start and not gap_after:
                yield before.loaded.problem(
                    ("period", "valid_to"), _("no version of {family} governs {first} – {last}: version {before} "
                                              "ends on {end} and version {version} ({file}) starts on {start}").format(
                        family=family, first=before_end + _DAY, last=start - _DAY, before=before_version,
                        end=before_end, version=version, file=ruleset.path.name, start=start), code="V002",
                    hint=_("if the gap is intended, add 'gap_after: true' to the period; otherwise end it on {day}")
                    .format(day=start - _DAY))
        if latest is None or (latest[1] is not None and (end is None or end > latest[1])):
            latest = current  # the version that governs furthest so far


# ---------------------------------------------------------------------------------------------------------------
# The command line: regole check


def add_command(commands: Any) -> None:
    """Register ``regole check`` on the CLI's subparsers."""
    check = commands.add_parser(
        "check", help=_("check rulesets, their test cases and templates; report every problem"),
        description=_("Check rulesets (files or folders; by default every bundled one) with their folders' YAML "
                    "test cases and explanation templates, and report every problem found, most useful first. "
                    "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 misuse."))
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help=_("a ruleset file, a family folder (rulesets/iscro) or a folder of families"))
    check.add_argument("--format", choices=("text", "json"), default="text", help=_("output format (default: text)"))
    check.add_argument("--strict", action="store_true", help=_("exit 1 on warnings too"))
    check.set_defaults(handler=run_command)


def run_command(args: Any, library: Any, out: Any, err: Any) -> int:
    paths = requested_paths(args, "check", err)
    if paths is None:
        return 2
    report = check_paths(paths)
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.render())
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    return 1 if failed else 0
