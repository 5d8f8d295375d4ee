"""Stage 1, load: read a ruleset's YAML safely and remember where every node came from.

Safety rules (see docs/security.md): only the YAML core types are accepted (no Python or custom tags),
anchors and aliases are refused (no alias bombs), duplicate keys are errors, tabs in indentation are
errors, and files are capped in size. Numbers with a fraction are read as ``Decimal`` straight from the
text, never through ``float``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import _i18n
from ._i18n import gettext as _
from .errors import Problem, YamlSyntaxError

MAX_RULESET_BYTES = 1_000_000
MAX_NESTING = 64
MAX_INTEGER_DIGITS = 100  # far above any legal value, far below Python's 4,300-digit limit on reading one

_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class LoadedYaml:
    """A YAML document as plain data, with the position of every value and every mapping key."""

    data: Any
    file: str
    text: str
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)
    styles: dict[Path_, str | None] = field(default_factory=dict)

    def mark(self, path: Path_, *, key: bool = False) -> Mark | None:
        """The position of ``path``, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while True:
            if probe in table:
                return table[probe]
            if key and probe in self.values:
                return self.values[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def problem(self, path: Path_, message: str, *, code: str, key: bool = False,
                hint: str | None = None, offset: int = 0) -> Problem:
        mark = self.mark(path, key=key)
        line = mark.line if mark else None
        column = (mark.column + offset) if mark else None
        return Problem(message=message, code=code, file=self.file, line=line, column=column,
                       path=dotted(path), hint=hint, source_line=self.source_line(line))

    def source_line(self, line: int | None) -> str | None:
        if line is None:
            return None
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else None


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _AliasError(yaml.MarkedYAMLError):
    """An anchor or alias (Y003): told apart by its class, not by the words of a message in any language."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (and so anchors' only use)."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise _AliasError(None, None, _("anchors and aliases (&name, *name) are not allowed in rulesets"),
                                       event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_text(text: str, file: str) -> LoadedYaml:
    """Parse ``text`` (the contents of ``file``) into a :class:`LoadedYaml` or raise YamlSyntaxError."""
    size = len(text.encode("utf-8"))
    if size > MAX_RULESET_BYTES:
        raise YamlSyntaxError([Problem(_too_big(size),
                                       code="Y005", file=file, line=1, column=1)])
    problems = _tab_problems(text, file)
    if problems:
        raise YamlSyntaxError(problems)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = exc.problem or str(exc)
        code = "Y003" if isinstance(exc, _AliasError) else "Y001"
        raise YamlSyntaxError([Problem(message, code=code, file=file, line=line, column=column,
                                       source_line=_line(text, line))]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks nearly every error
        raise YamlSyntaxError([Problem(str(exc), code="Y001", file=file)]) from None
    except RecursionError:
        raise YamlSyntaxError([Problem(_too_deep(), code="Y006", file=file,
                                       line=1, column=1)]) from None
    loaded = LoadedYaml(data=None, file=file, text=text)
    if root is None:
        raise YamlSyntaxError([Problem(_("the file is empty"), code="Y001", file=file, line=1, column=1)])
    problems = []
    loaded.data = _construct(root, (), loaded, problems, 0)
    if problems:
        raise YamlSyntaxError(problems)
    return loaded


def load_yaml_file(path: Path) -> LoadedYaml:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlSyntaxError([Problem(_("cannot read the file: {reason}").format(reason=exc.strerror), code="Y000",
                                       file=str(path))]) from None
    if len(raw) > MAX_RULESET_BYTES:
        raise YamlSyntaxError([Problem(_too_big(len(raw)),
                                       code="Y005", file=str(path), line=1, column=1)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError([Problem(_("not UTF-8 text (byte {offset})").format(offset=exc.start), code="Y000",
                                       file=str(path))]) from None
    return load_yaml_text(text, str(path))


def _line(text: str, line: int | None) -> str | None:
    if line is None:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def _tab_problems(text: str, file: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            problems.append(Problem(_("tab used for indentation; YAML indents with spaces"), code="Y002",
                                    file=file, line=number, column=line.index("\t") + 1,
                                    hint=_("replace the tab with spaces"), source_line=line))
    return problems


def _construct(node: Node, path: Path_, out: LoadedYaml, problems: list[Problem], depth: int) -> Any:
    out.values[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
    if depth > MAX_NESTING:
        problems.append(out.problem(path, _too_deep(), code="Y006"))
        return None
    if node.tag not in _ALLOWED_TAGS:
        problems.append(out.problem(path, _("tag {tag!r} is not allowed; rulesets use plain YAML values")
                                    .format(tag=node.tag),
                                    code="Y004"))
        return None
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                problems.append(out.problem(path, _("mapping keys must be plain text"), code="Y001"))
                continue
            key = str(key_node.value)
            key_mark = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first = out.keys[(*path, key)]
                out.keys[(*path, key)] = key_mark
                duplicate = _("duplicate key {key!r}: the first one is on line {line}; YAML would silently keep only "
                              "the last").format(key=key, line=first.line)
                problems.append(out.problem((*path, key), duplicate,
                                            code="Y007", key=True))
                continue
            out.keys[(*path, key)] = key_mark
            result[key] = _construct(value_node, (*path, key), out, problems, depth + 1)
        return result
    if isinstance(node, SequenceNode):
        return [_construct(item, (*path, index), out, problems, depth + 1)
                for index, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    out.styles[path] = node.style
    return _scalar(node, path, out, problems)




def _scalar(node: ScalarNode, path: Path_, out: LoadedYaml, problems: list[Problem]) -> Any:
    text = node.value
    tag = node.tag
    if tag == "tag:yaml.org,2002:str":
        return text
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() in ("true", "yes", "on")
    if tag == "tag:yaml.org,2002:int":
        digits = text.replace("_", "")
        if len(digits) > MAX_INTEGER_DIGITS:
            problems.append(out.problem(path, _("a whole number of {count} digits: at most {limit} are read").format(
                count=_i18n.number(len(digits)), limit=MAX_INTEGER_DIGITS), code="Y008"))
            return None
        try:
            return int(digits, 0)
        except ValueError:
            pass
        try:
            return int(digits)
        except ValueError:  # a form YAML 1.1 calls an integer and Python does not read, e.g. 1:30 (base 60)
            problems.append(out.problem(path, _("{text!r} is not a number regole reads: write it in decimal").format(
                text=text), code="Y008"))
            return None
    if tag == "tag:yaml.org,2002:float":
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            problems.append(out.problem(path, _("{text!r} is not a finite number").format(text=text), code="Y008"))
            return None
        return value
    if tag == "tag:yaml.org,2002:timestamp":
        if not _DATE_RE.match(text):
            problems.append(out.problem(path, _("{text!r}: write dates as YYYY-MM-DD").format(text=text), code="Y009"))
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            problems.append(out.problem(path, _("{text!r} is not a real date").format(text=text), code="Y009"))
            return None
    return text  # pragma: no cover - every allowed tag is handled above


def _too_big(size: int) -> str:
    return _("file is {size} bytes, over the limit of {limit}").format(size=size, limit=MAX_RULESET_BYTES)


def _too_deep() -> str:
    return _("nesting deeper than {limit} levels").format(limit=MAX_NESTING)

