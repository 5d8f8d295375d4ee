"""A family's own test cases: YAML files kept beside its rulesets (``rulesets/<family>/tests/*.yaml``), the
runner behind ``regole test`` and ``tests/test_yaml_cases.py``, and the folder conventions ``regole check``
and ``regole docs`` share.

A case file is a list of cases (``schemas/testcases.schema.json``)::

    - name: esempio INPS, 687,50 euro al mese
      facts: {data_domanda: 2024-09-10, reddito_lavoro_autonomo: {2021: "6000.00", ...}, ...}
      expected:
        version: "2024"
        decision: ammesso
        outputs: {importo_mensile: "687.50", importo_totale: "4125.00"}
        not_satisfied: []
        explanation_contains: ["5.500,00 € ÷ 2 × 25% = 687,50 € al mese"]
    - name: reddito esattamente al 70% della media
      extends: esempio INPS, 687,50 euro al mese
      facts: {reddito_lavoro_autonomo: {2021: "6000.00", 2022: "5000.00", 2023: "3850.00"}}
      expected: {decision: respinto, not_satisfied: [requisito.calo_reddito]}

``extends`` starts from the facts of an earlier case; the facts given replace its top-level facts, and a
fact set to null is removed. Only what ``expected`` says is compared; a failed case lists its differences.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import _i18n
from ._compile import LawVersion, load_ruleset
from ._explain import Explainer
from ._facts import selecting_date, validate_facts
from ._i18n import gettext as _
from ._resources import rulesets_dir, schemas_dir
from ._run import Library, run_case
from ._schema import jsonable, schema_problems
from ._suggest import suggest
from ._trace import Result, json_value
from ._values import NotComputed
from ._yaml import LoadedYaml, Path_, load_yaml_file
from .errors import FactsError, KernelError, Problem, RulesetError, RulesetSchemaError, VersionSelectionError

CASES_FOLDER = "tests"
CASES_SCHEMA = "testcases.schema.json"
LANGUAGE = "it"


# ---------------------------------------------------------------------------------------------------------------
# Where things are


def _ancestors(path: Path) -> Iterator[Path]:
    path = path.resolve()
    yield path
    yield from path.parents


@dataclass(frozen=True)
class RulesetFolder:
    """A folder holding the law versions of a family (``<version>.yaml``) and its test cases
    (``tests/*.yaml``). Templates are found in the nearest ``explanations/it/<family>`` above it, facts
    schemas in the nearest ``schemas/`` that has the file (else the bundled one)."""

    path: Path

    @classmethod
    def of(cls, path: Path) -> RulesetFolder:
        """The folder a ruleset file, a case file, a ``tests`` folder or a ruleset folder belongs to."""
        if path.is_file():
            path = path.parent
        if path.name == CASES_FOLDER:
            path = path.parent
        return cls(path)

    def ruleset_files(self) -> list[Path]:
        return sorted(self.path.glob("*.yaml"))

    def case_files(self) -> list[Path]:
        return sorted((self.path / CASES_FOLDER).glob("*.yaml"))

    def templates_root(self, family: str) -> Path | None:
        """The ``explanations/it`` folder that has templates for ``family``, or None."""
        for folder in _ancestors(self.path):
            if (folder / "explanations" / LANGUAGE / family).is_dir():
                return folder / "explanations" / LANGUAGE
        return None

    def schemas_dir(self, name: str) -> Path | None:
        """The folder with the facts schema ``name``: the nearest ``schemas/`` above, else the bundled one."""
        for folder in _ancestors(self.path):
            if (folder / "schemas" / name).is_file():
                return folder / "schemas"
        return schemas_dir() if (schemas_dir() / name).is_file() else None


def folders_with_cases(paths: Sequence[Path]) -> list[RulesetFolder]:
    """The ruleset folders named by ``paths`` (files or folders, searched below for ``tests/*.yaml``)."""
    found: dict[Path, RulesetFolder] = {}
    for path in paths:
        if path.is_file() or (path / CASES_FOLDER).is_dir() or path.name == CASES_FOLDER:
            candidates = [RulesetFolder.of(path)]
        else:
            candidates = [RulesetFolder(case.parent.parent) for case in sorted(path.rglob(f"{CASES_FOLDER}/*.yaml"))]
        for folder in candidates:
            found.setdefault(folder.path.resolve(), folder)
    return list(found.values())


# ---------------------------------------------------------------------------------------------------------------
# Case files


@dataclass(frozen=True)
class YamlCase:
    """One case of a case file (named so that pytest does not take it for a test class)."""

    name: str
    facts: dict[str, Any]  # as JSON carries them: dates as YYYY-MM-DD text, money as Decimal or text
    expected: dict[str, Any]
    law_version: str | None
    file: str
    index: int
    line: int | None


@dataclass(frozen=True)
class CaseFile:
    path: Path
    loaded: LoadedYaml
    cases: tuple[YamlCase, ...]


def load_case_file(path: Path) -> CaseFile:
    """Read and check a case file; raise a RulesetError listing every problem (Y, S, K codes)."""
    loaded = load_yaml_file(path)
    problems = schema_problems(loaded, CASES_SCHEMA)
    if problems:
        raise RulesetSchemaError(problems)
    cases: list[YamlCase] = []
    by_name: dict[str, YamlCase] = {}
    for index, raw in enumerate(loaded.data):
        name = raw["name"]
        if name in by_name:
            problems.append(loaded.problem((index, "name"), _("the case name {name!r} is already used on line {line}")
                                           .format(name=name, line=by_name[name].line), code="K001",
                                           hint=_("give every case its own name")))
        facts: dict[str, Any] = {}
        if "extends" in raw:
            parent = by_name.get(raw["extends"])
            if parent is None:
                problems.append(loaded.problem((index, "extends"), _("no case above is named {name!r}").format(
                                               name=raw["extends"]), code="K002", hint=suggest(raw["extends"], by_name)
                                               or _("a case can extend only a case written above it")))
            else:
                facts = dict(parent.facts)
        elif "facts" not in raw:
            problems.append(loaded.problem((index,), _("missing required key 'facts'"), code="S003", key=True,
                                           hint=_("give the facts, or start from a case above with 'extends: <name>'")))
        for key, value in jsonable(raw.get("facts") or {}).items():
            if value is None:
                facts.pop(key, None)
            else:
                facts[key] = value
        mark = loaded.mark((index,))
        case = YamlCase(name, facts, jsonable(raw["expected"]), raw.get("law_version"), loaded.file, index,
                        mark.line if mark else None)
        by_name.setdefault(name, case)
        cases.append(case)
    if problems:
        raise RulesetError(problems)
    return CaseFile(path, loaded, tuple(cases))


# ---------------------------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Difference:
    """One thing a case expected that did not happen."""

    field: str
    expected: str
    actual: str


@dataclass(frozen=True)
class CaseOutcome:
    case: YamlCase
    differences: tuple[Difference, ...] = ()
    problems: tuple[Problem, ...] = ()  # the case could not be evaluated (bad facts, no version)
    result: Result | None = None
    explanation: str | None = None
    explain_error: Exception | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return not self.differences and not self.problems

    def describe(self) -> str:
        """What went wrong: the problems that stopped the case, then expected (-) and actual (+) per field."""
        lines = [p.render() for p in self.problems]
        for d in self.differences:
            expected, actual = _("expected:"), _("actual:")
            width = max(len(expected), len(actual)) + 1
            lines += [d.field, f"  - {expected:<{width}}{d.expected}", f"  + {actual:<{width}}{d.actual}"]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.case.name, "file": self.case.file, "line": self.case.line, "passed": self.passed,
                "differences": [{"field": d.field, "expected": d.expected, "actual": d.actual}
                                for d in self.differences],
                "problems": [p.to_dict() for p in self.problems]}


class CaseRunner:
    """Evaluates cases against a fixed set of law versions of one family, and explains each result with the
    templates under ``templates`` (an ``explanations/it`` folder) when given."""

    def __init__(self, laws: Sequence[LawVersion], *, templates: Path | None = None,
                 schemas: Path | None = None) -> None:
        if not laws:
            raise ValueError("a CaseRunner needs at least one law version")
        self.family = laws[0].family
        self.library = Library(versions=[law for law in laws if law.family == self.family])
        self.explainer = Explainer(templates) if templates is not None else None
        self.schemas = schemas

    def run(self, case: YamlCase, loaded: LoadedYaml) -> CaseOutcome:
        laws = self.library.versions(self.family)
        try:
            validate_facts(case.facts, laws[0].facts_schema, source=case.file,
                           directory=str(self.schemas) if self.schemas is not None else None)
            day = selecting_date(case.facts, laws[0].selected_by, source=case.file)
        except FactsError as exc:
            return CaseOutcome(case, problems=tuple(_fact_problem(loaded, case, p) for p in exc.problems))
        try:
            if case.law_version is not None:
                law = self.library.get(self.family, case.law_version)
            else:
                law = self.library.select(self.family, day)
            result = run_case(law, case.facts, day, forced=case.law_version is not None)
        except (VersionSelectionError, KernelError) as exc:
            where: Path_ = (case.index, "law_version") if case.law_version else (case.index, "facts")
            cannot = _("the case cannot be evaluated: {error}").format(error=exc)
            return CaseOutcome(case, problems=(loaded.problem(where, cannot, code="K003"),))
        explanation: str | None = None
        error: Exception | None = None
        if self.explainer is not None:
            try:
                explanation = self.explainer.explain(result)
            except Exception as exc:  # a broken template: reported as a difference here, located by `check`
                error = exc
        differences = compare(case.expected, result, explanation, error, explained=self.explainer is not None)
        return CaseOutcome(case, tuple(differences), (), result, explanation, error)


_JSON_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _fact_problem(loaded: LoadedYaml, case: YamlCase, problem: Problem) -> Problem:
    """A facts problem (with a JSON path) placed on the YAML line of the fact in the case file."""
    path: list[str | int] = [case.index, "facts"]
    for match in _JSON_PATH_PART.finditer((problem.path or "$")[1:]):
        path.append(match[1] if match[1] is not None else int(match[2]))
    fact = (problem.path or "$").removeprefix("$.") or "facts"
    return loaded.problem(tuple(path), f"{fact}: {problem.message}", code=problem.code, hint=problem.hint,
                          key=problem.code == "F003")  # an unknown field: point at its name


def _show(value: Any) -> str:
    if isinstance(value, NotComputed):
        return _("null (not computed: the case is not admitted, and this law version works out its computations "
                 "for an admitted case only)")
    return json.dumps(json_value(value), ensure_ascii=False, default=str)


def same_value(expected: Any, actual: Any) -> bool:
    """Whether a value written in a case (as JSON carries it) is the value in the trace."""
    actual = json_value(actual)
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return expected is actual or (expected == actual and type(expected) is type(actual))
    if isinstance(expected, str | int | Decimal) and isinstance(actual, str | int | Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except InvalidOperation:
            return str(expected) == str(actual)
    return bool(expected == actual)


def compare(expected: dict[str, Any], result: Result, explanation: str | None, explain_error: Exception | None,
            *, explained: bool = True) -> list[Difference]:
    """Every way ``result`` (and its explanation) differs from what a case expects."""
    out: list[Difference] = []
    if "version" in expected and result.version != expected["version"]:
        out.append(Difference("version", _show(expected["version"]), _show(result.version)))
    if result.decision != expected["decision"]:
        out.append(Difference("decision", _show(expected["decision"]), _show(result.decision)))
    for name, want in (expected.get("outputs") or {}).items():
        if name not in result.outputs:
            absent = _("no such output (the outputs are {names})").format(names=", ".join(result.outputs))
            out.append(Difference(f"outputs.{name}", _show(want), absent))
        elif not same_value(want, result.outputs[name]):
            out.append(Difference(f"outputs.{name}", _show(want), _show(result.outputs[name])))
    known = {*result.facts, *result.parameters, *result.values}
    for name, want in (expected.get("values") or {}).items():
        if name not in known:
            out.append(Difference(f"values.{name}", _show(want),
                                  _("no such value in the trace") + _hint(suggest(name, known))))
        elif not same_value(want, result.value(name)):
            out.append(Difference(f"values.{name}", _show(want), _show(result.value(name))))
    if "not_satisfied" in expected:
        got = sorted(r.id for r in result.requirements if r.outcome == "non_soddisfatto")
        if got != sorted(expected["not_satisfied"]):
            out.append(Difference("not_satisfied", _show(sorted(expected["not_satisfied"])), _show(got)))
    if "missing_facts" in expected and sorted(result.missing_facts) != sorted(expected["missing_facts"]):
        out.append(Difference("missing_facts", _show(sorted(expected["missing_facts"])),
                              _show(sorted(result.missing_facts))))
    phrases = expected.get("explanation_contains") or []
    if phrases and explanation is None:
        why = (_("the explanation failed: {error}").format(error=explain_error) if explain_error is not None
               else _("no explanation templates were found") if not explained else _("no explanation"))
        out.append(Difference("explanation", _show(phrases), why))
    elif explanation is not None:
        lines = explanation.splitlines()
        for phrase in phrases:
            if phrase not in explanation:
                closest = difflib.get_close_matches(phrase, lines, n=1, cutoff=0.0)
                shown = (_("not in the explanation; closest line: {line!r}").format(line=closest[0]) if closest
                         else _("not in the explanation"))
                out.append(Difference("explanation_contains", _show(phrase), shown))
    return out


def _hint(text: str | None) -> str:
    return f" ({text})" if text else ""


# ---------------------------------------------------------------------------------------------------------------
# regole test


@dataclass
class FileReport:
    path: str
    problems: list[Problem] = field(default_factory=list)  # the file (or its rulesets) could not be used
    outcomes: list[CaseOutcome] = field(default_factory=list)


@dataclass
class CasesReport:
    """What ``regole test`` found: per case file, its problems and the outcome of every case."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for f in self.files for o in f.outcomes)

    @property
    def failed(self) -> int:
        return sum(not o.passed for f in self.files for o in f.outcomes)

    @property
    def broken_files(self) -> int:
        return sum(bool(f.problems) for f in self.files)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.broken_files == 0 and bool(self.files)

    def render(self, *, verbose: bool = False) -> str:
        lines: list[str] = []
        ok, fail = _("ok"), _("FAIL")
        width = max(len(ok), len(fail)) + 2
        for report in self.files:
            passed = sum(o.passed for o in report.outcomes)
            lines.append(_("{path}: {passed}/{total} passed").format(path=report.path, passed=passed,
                                                                     total=len(report.outcomes)))
            lines.extend(_indent(p.render(), 2) for p in report.problems)
            for outcome in report.outcomes:
                if outcome.passed:
                    if verbose:
                        lines.append("  " + ok.ljust(width) + outcome.case.name)
                    continue
                where = f"{outcome.case.file}:{outcome.case.line}"
                lines.append("  " + fail.ljust(width) + f"{outcome.case.name} ({where})")
                lines.append(_indent(outcome.describe(), 8))
        summary = ", ".join([_i18n.ngettext("{n} passed", "{n} passed", self.passed).format(n=self.passed),
                             _i18n.ngettext("{n} failed", "{n} failed", self.failed).format(n=self.failed)])
        if self.broken_files:
            summary += ", " + _i18n.ngettext("{n} file with errors", "{n} files with errors",
                                             self.broken_files).format(n=_i18n.number(self.broken_files))
        if not self.files:
            summary = _("no test cases found")
        lines.append(summary)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed,
                "files": [{"path": f.path, "problems": [p.to_dict() for p in f.problems],
                           "cases": [o.to_dict() for o in f.outcomes]} for f in self.files]}


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def compile_folder(folder: RulesetFolder) -> tuple[list[LawVersion], list[Problem]]:
    """The law versions of ``folder`` and the problems of those that do not load."""
    laws: list[LawVersion] = []
    problems: list[Problem] = []
    for path in folder.ruleset_files():
        try:
            laws.append(load_ruleset(Path(display_path(path))))
        except RulesetError as exc:
            problems.extend(exc.problems)
    return laws, problems


def runner_for(folder: RulesetFolder, laws: Sequence[LawVersion]) -> CaseRunner:
    family = laws[0].family
    return CaseRunner(laws, templates=folder.templates_root(family),
                      schemas=folder.schemas_dir(laws[0].facts_schema))


def is_case_file(path: Path) -> bool:
    return path.suffix == ".yaml" and path.parent.name == CASES_FOLDER


def run_tests(paths: Sequence[Path]) -> CasesReport:
    """Run the cases of every ruleset folder named by ``paths``; a case file named alone runs alone."""
    report = CasesReport()
    chosen: dict[Path, set[Path]] = {}
    for path in paths:
        for folder in folders_with_cases([path]):
            files = chosen.setdefault(folder.path.resolve(), set())
            files.update([path.resolve()] if path.is_file() and is_case_file(path)
                         else (p.resolve() for p in folder.case_files()))
    for folder_path, case_paths in chosen.items():
        folder = RulesetFolder(folder_path)
        laws, broken = compile_folder(folder)
        runner = runner_for(folder, laws) if laws and not broken else None
        for case_path in sorted(case_paths):
            file_report = FileReport(display_path(case_path))
            report.files.append(file_report)
            if runner is None:
                file_report.problems.extend(broken or [Problem(_("no ruleset found beside the tests folder"),
                                                               code="K003", file=file_report.path)])
                continue
            try:
                case_file = load_case_file(Path(file_report.path))
            except RulesetError as exc:
                file_report.problems.extend(exc.problems)
                continue
            file_report.outcomes.extend(runner.run(case, case_file.loaded) for case in case_file.cases)
    return report


# ---------------------------------------------------------------------------------------------------------------
# The command line: regole test


def add_command(commands: Any) -> None:
    """Register ``regole test`` on the CLI's subparsers."""
    test = commands.add_parser(
        "test", help=_("run the YAML test cases kept beside the rulesets"),
        description=_("Run the YAML test cases (rulesets/<family>/tests/*.yaml) of the rulesets named (files or "
                    "folders; by default every bundled family) and show, for every failed case, what was "
                    "expected and what came out. Exit status: 0 all passed, 1 a case failed or a file is "
                    "broken, 2 misuse."))
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help=_("a case file, a family folder (rulesets/iscro) or a folder of families"))
    test.add_argument("--format", choices=("text", "json"), default="text", help=_("output format (default: text)"))
    test.add_argument("-v", "--verbose", action="store_true", help=_("list the cases that passed too"))
    test.set_defaults(handler=run_command)


def requested_paths(args: Any, command: str, err: Any) -> list[Path] | None:
    """The PATH arguments of ``check`` and ``test`` (default: the rulesets folder), or None, with a message,
    when one does not exist."""
    paths: list[Path] = list(args.paths) or [args.rulesets or rulesets_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(_("regole {command}: no such file or folder: {paths}").format(
            command=command, paths=", ".join(map(str, missing))), file=err)
        return None
    return paths


def run_command(args: Any, library: Any, out: Any, err: Any) -> int:
    paths = requested_paths(args, "test", err)
    if paths is None:
        return 2
    report = run_tests(paths)
    if not report.files:
        strays = [p for p in paths if p.is_file() and not is_case_file(p)]
        if strays:
            print(_("regole test: {paths}: a case file is read from the {folder}/ folder beside the family's "
                    "rulesets (e.g. rulesets/iscro/{folder}/{name})").format(
                paths=", ".join(map(str, strays)), folder=CASES_FOLDER, name=strays[0].name), file=err)
        else:
            print(_("regole test: no test cases (tests/*.yaml) found in {paths}").format(
                paths=", ".join(map(str, paths))), file=err)
        return 2
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.render(verbose=args.verbose))
    return 0 if report.ok else 1
