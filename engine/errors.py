"""Every error the engine raises, under one root.

The hierarchy::

    RegoleError                      root: catch this to catch everything regole raises
    ├── RulesetError                 a ruleset, schema or template file is wrong (has file, line, column)
    │   ├── YamlSyntaxError          not YAML, tabs, duplicate keys, tags, aliases, too large
    │   ├── RulesetSchemaError       valid YAML that breaks schemas/ruleset.schema.json
    │   ├── ExpressionError          a rule's expression does not parse or does not type-check
    │   └── TemplateError            an explanation template is missing or broken
    ├── FactsError                   the facts of a case are wrong (has a JSON path per problem)
    ├── VersionSelectionError        no law version governs the date, or the forced version is unknown
    ├── KernelError                  the rule kernel (durable-rules) failed for one evaluation
    ├── OutputPathError              a file or folder a command was asked to write cannot be written
    └── ColumnarError                a rule has a construct the columnar backend cannot compile (names it)

Errors that describe many problems (a ruleset check, a facts document) carry them in ``problems``;
``str(error)`` is always a complete, human-readable message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._i18n import N_
from ._i18n import gettext as _

__all__ = [
    "ClusterError",
    "ColumnarError",
    "ExpressionError",
    "FactsError",
    "KernelError",
    "OutputPathError",
    "Problem",
    "RegoleError",
    "RulesetError",
    "RulesetSchemaError",
    "TemplateError",
    "VersionSelectionError",
    "YamlSyntaxError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in a file or a facts document.

    ``line`` and ``column`` are 1-based; ``path`` is a JSON path ("$.reddito_lavoro_autonomo.2023") for
    facts or the dotted key path inside a ruleset.
    """

    message: str
    code: str = "E000"
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None
    source_line: str | None = field(default=None, compare=False)

    @property
    def severity(self) -> str:
        """``warning`` for W codes (reported, never fatal), ``error`` for every other code."""
        return "warning" if self.code.startswith("W") else "error"

    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        """``file:line:col: errore[CODE]: message``, the source line with a caret, then the hint; the labels
        in the language in force (``error``/``warning``/``hint`` in English)."""
        label = _(_SEVERITY_LABELS[self.severity])
        head = f"{self.location()}: {label}[{self.code}]: {self.message}"
        if self.path and self.line is None:
            head = f"{self.location()}: {label}[{self.code}]: {self.path}: {self.message}"
        lines = [head]
        if self.source_line is not None and self.column is not None:
            shown, column = _window(self.source_line.rstrip("\n"), self.column)
            lines.append("    " + shown)
            lines.append("    " + " " * (column - 1) + "^")
        if self.hint:
            lines.append("    " + _("hint: {hint}").format(hint=self.hint))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "hint": self.hint,
        }


_SEVERITY_LABELS = {"error": N_("error"), "warning": N_("warning")}  # as a rendered problem shows its severity

SHOWN_LINE = 160  # the most of a source line an error shows, around its column


def _window(line: str, column: int) -> tuple[str, int]:
    """At most SHOWN_LINE characters of ``line`` around ``column`` (1-based; "…" marks what is cut), and the
    column within them."""
    if len(line) <= SHOWN_LINE:
        return line, column
    start = max(0, min(column - 1 - SHOWN_LINE // 2, len(line) - SHOWN_LINE))
    end = start + SHOWN_LINE
    shown = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    return shown, column - start + (1 if start else 0)


class RegoleError(Exception):
    """Root of every error regole raises."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class RulesetError(RegoleError):
    """A ruleset (or one of its schemas or templates) is wrong; ``problems`` lists every one found."""

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        problems = tuple(problems)
        super().__init__("\n".join(p.render() for p in problems), problems)

    @property
    def file(self) -> str | None:
        return self.problems[0].file if self.problems else None

    @property
    def line(self) -> int | None:
        return self.problems[0].line if self.problems else None

    @property
    def column(self) -> int | None:
        return self.problems[0].column if self.problems else None


class YamlSyntaxError(RulesetError):
    """The file is not acceptable YAML (syntax, tabs, duplicate keys, tags, aliases, size)."""


class RulesetSchemaError(RulesetError):
    """The YAML is well formed but does not follow schemas/ruleset.schema.json."""


class ExpressionError(RulesetError):
    """An expression in a ruleset does not parse, names something unknown, or mixes types."""


class TemplateError(RulesetError):
    """An explanation template is missing, does not compile, or fails to render."""


class FactsError(RegoleError):
    """The facts of a case do not follow the family's facts schema; ``problems`` has one per field."""

    def __init__(self, problems: tuple[Problem, ...] | list[Problem], *, source: str | None = None) -> None:
        problems = tuple(problems)
        where = f"{source}: " if source else ""
        text = "\n".join(f"{where}{p.path or '$'}: {p.message}" + (f" ({p.hint})" if p.hint else "")
                         for p in problems)
        super().__init__(text, problems)


class VersionSelectionError(RegoleError):
    """No version of the family governs the selecting date, or a forced version does not exist."""


class KernelError(RegoleError):
    """The rule kernel failed while evaluating one case; other evaluations are unaffected."""


class OutputPathError(RegoleError):
    """A file or folder a command was asked to write cannot be written (a missing folder, a folder where a
    file is expected, no permission); checked before the work starts."""


class ClusterError(RegoleError):
    """A Dask cluster (``--dask``, ``--scheduler``) cannot be reached, or failed during the run; the message
    says which address or worker, and why."""


class ColumnarError(RegoleError):
    """A law version has a construct that the columnar backend cannot compile into a vectorized plan; the
    message names the rule and the construct (the Rete backend evaluates it). Raised when compiling, never
    half-way through a table."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
