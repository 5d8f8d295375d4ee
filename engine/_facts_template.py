"""``regole facts-template``: a facts document to fill in, generated from a family's facts schema.

Every field of the schema is written with a placeholder of its type and, on the comment line above it, what
it is: the Italian label the rulesets give the fact (the schema's own English description with ``--lang
en``), its type, and whether it selects the law version. The placeholders are meant to be replaced or
removed: a date reads ``AAAA-MM-GG`` (``YYYY-MM-DD`` in English) and a year ``AAAA``, which the facts
check refuses with the field's path if one is left. Nothing here knows a family: the walk reads the JSON
Schema (``type``, ``enum``, ``$ref`` to ``$defs``, ``items``, ``properties``, ``propertyNames``).

The document is JSON with ``//`` comment lines; ``--json`` (``comments=False``) prints plain JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from . import _i18n
from ._compile import LawVersion
from ._i18n import gettext as _
from ._schema import load_schema

_INDENT = "  "


def facts_template(laws: Sequence[LawVersion], *, comments: bool = True, lang: str | None = None) -> str:
    """The facts document of the family of ``laws`` (its versions; the newest label of a fact wins)."""
    if not laws:
        raise ValueError("facts_template needs the law versions of one family")
    with _i18n.language(lang):
        return _Template(laws).render(comments=comments)


class _Template:
    def __init__(self, laws: Sequence[LawVersion]) -> None:
        self.laws = sorted(laws, key=lambda law: law.valid_from)
        newest = self.laws[-1]
        self.schema = load_schema(newest.facts_schema)
        self.selecting = {law.selected_by for law in self.laws}
        self.labels: dict[str, str] = {}
        for law in self.laws:
            self.labels.update({name: fact.label for name, fact in law.facts.items() if fact.label})

    def render(self, *, comments: bool) -> str:
        properties: dict[str, Any] = self.schema.get("properties", {})
        lines: list[str] = []
        if comments:
            lines += [f"// {line}" for line in self._header()]
        lines.append("{")
        names = sorted(properties, key=lambda n: (n not in self.selecting, list(properties).index(n)))
        for i, name in enumerate(names):
            node = properties[name]
            if comments:
                lines.append(f"{_INDENT}// {self._about(name, node)}")
            value = json.dumps(self._placeholder(node), ensure_ascii=False, indent=2)
            value = value.replace("\n", "\n" + _INDENT)
            lines.append(f"{_INDENT}{json.dumps(name)}: {value}{',' if i < len(names) - 1 else ''}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _header(self) -> list[str]:
        family = self.laws[0].family
        title = str(self.schema.get("title", family))
        versions = ", ".join(law.version for law in self.laws)
        return [_("{title}: the facts of one application of {family} (versions {versions}).").format(
                    title=title, family=family, versions=versions),
                _("Fill in what you know, delete the fields you do not know (a missing fact leaves the "
                  "requirements that read it undetermined) and these comment lines, then run: regole evaluate "
                  "FILE")]

    def _about(self, name: str, node: dict[str, Any]) -> str:
        described = self.labels.get(name) if _i18n.current() == "it" else None
        description = described or str(node.get("description", "")).strip()
        kind = self._kind(node)
        parts = [f"{name}: {description}" if description else name, kind]
        if name in self.selecting:
            parts.append(_("required: it selects the law version"))
        return " — ".join(parts)

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref = str(node["$ref"])
            if not ref.startswith("#/$defs/"):
                break
            node = {**self.schema["$defs"][ref.removeprefix("#/$defs/")],
                    **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def _kind(self, node: dict[str, Any]) -> str:
        node = self._resolve(node)
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if "enum" in node:
            return _("one of: {choices}").format(choices=", ".join(map(str, node["enum"])))
        if node.get("format") == "date":
            return _("date (YYYY-MM-DD)")
        if set(types) == {"number", "string"} and "pattern" in node:
            return _("amount in euros (\"6000.50\")")
        if "boolean" in types:
            return _("true or false")
        if "integer" in types:
            return _("whole number")
        if "number" in types:
            return _("number")
        if "array" in types:
            return _("list of: {kind}").format(kind=self._kind(node.get("items", {})))
        if "object" in types and "properties" not in node:
            by = _("by year: {kind}") if self._by_year(node) else _("by key: {kind}")
            return by.format(kind=self._kind(node.get("additionalProperties", {})))
        if "object" in types:
            return _("record")
        return _("text")

    def _placeholder(self, node: dict[str, Any]) -> Any:
        node = self._resolve(node)
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if "enum" in node:
            return " | ".join(map(str, node["enum"]))
        if node.get("format") == "date":
            return _("YYYY-MM-DD")
        if set(types) == {"number", "string"}:  # money: a decimal string
            return "0.00"
        if "boolean" in types:
            return False
        if "integer" in types or "number" in types:
            return 0
        if "array" in types:
            return [self._placeholder(node.get("items", {}))]
        if "object" in types and "properties" in node:
            return {k: self._placeholder(v) for k, v in node["properties"].items()}
        if "object" in types:
            key = _("YYYY") if self._by_year(node) else _("key")
            return {key: self._placeholder(node.get("additionalProperties", {}))}
        return ""

    @staticmethod
    def _by_year(node: dict[str, Any]) -> bool:
        """A map whose keys are years (its ``propertyNames`` pattern accepts ``2024``)."""
        pattern = node.get("propertyNames", {}).get("pattern")
        return bool(pattern) and re.fullmatch(str(pattern).strip("^$"), "2024") is not None


def add_command(commands: Any) -> None:
    template = commands.add_parser(
        "facts-template", help=_("print a facts document to fill in, with every field of a family"),
        description=_("Print the facts of one application of FAMILY as a document to fill in: every field of "
                      "its facts schema with a placeholder of its type and, on the comment line above, what it "
                      "is. Fill in what you know, delete the rest and the comment lines, then run regole "
                      "evaluate."))
    template.add_argument("--family", required=True, help=_("the measure (e.g. iscro)"))
    template.add_argument("--json", action="store_true", help=_("plain JSON, without the comment lines"))
    template.set_defaults(handler=run_command)


def run_command(args: Any, library: Any, out: Any, err: Any) -> int:
    out.write(facts_template(library.versions(args.family), comments=not args.json))
    return 0


__all__ = ["facts_template"]
