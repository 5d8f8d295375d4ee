"""``regole check``, templates: what reading a family's Jinja templates finds (T001 a template missing, T002
one that does not compile, names of values and parameters no version has), and how a template that fails
while rendering a test case's result is reported (T003, at the template's line and column).

engine/_check.py runs these checks; nothing here is specific to a family.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ._casetests import CaseOutcome, display_path
from ._compile import LawVersion
from ._explain import Explainer
from ._i18n import N_
from ._i18n import gettext as _
from ._suggest import suggest
from ._trace import Result
from ._yaml import LoadedYaml
from .errors import Problem, TemplateError

# The templates get the finished result as ``result``, the requirement as ``r``, every value of the trace as
# ``v`` and the parameters used as ``p`` (see Explainer.explain); ``v.x`` and ``p.x`` are checked statically.
VALUES, PARAMETERS = "v", "p"
_FAMILY_TEMPLATES = {"riepilogo.j2": N_("the summary of every explanation"), "importo.j2": N_("the amount computation")}


def missing_templates(law: LawVersion, loaded: LoadedYaml, root: Path) -> Iterator[Problem]:
    """T001: a requirement's template, or a family-wide one, found neither for the version nor the family."""
    folders = [root / law.family / law.version, root / law.family]
    where = display_path(root / law.family)

    def exists(name: str) -> bool:
        return any((folder / name).is_file() for folder in folders)

    for index, node in enumerate(law.requirements):
        name = node.template or f"{node.name}.j2"
        if not exists(name):
            spec = loaded.data["requirements"][index]
            yield loaded.problem(("requirements", index, "template" if "template" in spec else "id"),
                                 _("template {name!r} for requirement {requirement!r} not found in {folder}").format(
                                     name=name, requirement=node.name, folder=where), code="T001",
                                 hint=_("create {path}").format(path=f"{where}/{name}"))
    for name, what in _FAMILY_TEMPLATES.items():
        if not exists(name):
            yield loaded.problem(("decision",), _("template {name!r} ({what}) not found in {folder}").format(
                                 name=name, what=_(what), folder=where), code="T001",
                                 key=True, hint=_("create {path}").format(path=f"{where}/{name}"))


def lookups(tree: nodes.Template) -> Iterator[tuple[str, str, int]]:
    """``v.name``, ``v["name"]``, ``p.name`` and ``p["name"]`` in a template: (variable, name, line)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if not isinstance(target, nodes.Name) or target.name not in (VALUES, PARAMETERS):
            continue
        if isinstance(node, nodes.Getattr):
            yield target.name, node.attr, node.lineno
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            yield target.name, node.arg.value, node.lineno


def mentions(tree: nodes.Template) -> set[str]:
    """Every name, attribute and string constant in a template (a fact named there counts as used)."""
    found: set[str] = set()
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Const)):
        if isinstance(node, nodes.Name):
            found.add(node.name)
        elif isinstance(node, nodes.Getattr):
            found.add(node.attr)
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            found.add(node.value)
    return found


def _column(source: str, line: int, *needles: str) -> int | None:
    lines = source.splitlines()
    if not 0 < line <= len(lines):
        return None
    for needle in needles:
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(needle)}(?![A-Za-z0-9_])", lines[line - 1])
        if match:
            return match.start() + 1
    return None


def template_problem(file: str, source: str, line: int | None, needle: str, name: str, message: str,
                      hint: str | None, code: str = "T003") -> Problem:
    column = _column(source, line, needle, name) if line else None
    lines = source.splitlines()
    source_line = lines[line - 1] if line and 0 < line <= len(lines) else None
    return Problem(message, code=code, file=file, line=line, column=column, hint=hint, source_line=source_line)


def syntax_problem(exc: TemplateSyntaxError, file: str, source: str, filters: Any, tests: Any) -> Problem:
    """T002: where Jinja stopped, with a did-you-mean for unknown filters and tests."""
    message = exc.message or _("syntax error")
    hint = None
    column = None
    unknown = re.search(r"No (filter|test) named '([^']+)'", message)
    if unknown:
        hint = suggest(unknown[2], filters if unknown[1] == "filter" else tests)
        column = _column(source, exc.lineno, unknown[2])
    lines = source.splitlines()
    source_line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else None
    return Problem(_("the template does not compile: {error}").format(error=message), code="T002", file=file,
                   line=exc.lineno,
                   column=column, hint=hint, source_line=source_line)


def _template_frame(error: BaseException, root: Path) -> tuple[Path, int] | None:
    """The innermost template frame of an error's traceback (Jinja maps its frames to template lines)."""
    found = None
    traceback: TracebackType | None = error.__traceback__
    root = root.resolve()
    while traceback is not None:
        name = traceback.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            path = Path(name)
            if path.resolve().is_relative_to(root):
                found = (path, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


class RecordingExplainer(Explainer):
    """Renders as the Explainer does, but notes each template that fails and goes on with the next, so that
    one run finds every failing template (a failure renders as an empty text)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._failures: list[Exception] = []

    def _render(self, env: ImmutableSandboxedEnvironment, name: str, of: Result, **context: Any) -> str:
        try:
            return super()._render(env, name, of, **context)
        except Exception as exc:  # every failure of a template is a problem to report
            self._failures.append(exc)
            return ""

    def take(self) -> list[Exception]:
        failures, self._failures = self._failures, []
        return failures


def render_problem(error: Exception, outcome: CaseOutcome, root: Path) -> tuple[tuple[Any, ...], Problem] | None:
    """T003: a template failed on the result of a test case; point at the template line and the name. Returns
    the problem with a key that is the same for every case failing the same way at the same spot."""
    assert outcome.result is not None
    if isinstance(error, TemplateError) and error.problems and error.problems[0].code in ("T001", "T002"):
        return None  # found by reading the templates
    original = error.__cause__ or error.__context__ or error
    frame = _template_frame(original, root)
    detail = str(original)
    name = None
    if isinstance(original, UndefinedError):
        match = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", detail)
        name = (match[1] or match[2]) if match else None
    result = outcome.result
    known = {*result.facts, *result.parameters, *result.values}
    message = _("rendering the result of case {name!r} ({where}, version {version}): {error}").format(
        name=outcome.case.name, where=f"{outcome.case.file}:{outcome.case.line}", version=result.version, error=detail)
    hint = suggest(name, known) if name else None
    if frame is None:
        return (detail,), Problem(message, code="T003", file=outcome.case.file, line=outcome.case.line, hint=hint)
    path, line = frame
    source = path.read_text(encoding="utf-8")
    problem = template_problem(display_path(path), source, line, name or "", name or "", message, hint)
    return (problem.file, problem.line, problem.column, detail), problem
