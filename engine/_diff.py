"""Compare law versions, 1: the semantic diff of two compiled law versions.

Items are matched by what identifies them in the law, never by text lines: sources by key, facts,
parameters, derived values and computations by name, requirements and notes by id. Then, among the
requirements (and notes) left unmatched on both sides, a removed one and an added one are paired as a
*rename* when one of these rules holds (docs/diff-format.md):

* requirements: the same condition structure (names aside, e.g. ``not …``) and the same neighbours
  (the requirements just before or after are matched to each other), or the same structure and a title at
  least 80% similar;
* notes: the same neighbours and a text at least 60% similar, or a text at least 85% similar.

A pair that meets only part of a rule is left as removed + added, each with a note naming the other.

Parameters' dated values are aligned by date when the two versions govern overlapping periods (two edits of
one regime), and by position otherwise (the first value of each, the second of each, ...), since a regime
that governs other years has other dates by construction.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import _i18n
from ._compile import LawVersion, Node, Note, Parameter, ParameterValue, Source
from ._expr import Attr, Comprehension, Expr, Ref, children, render
from ._i18n import gettext as _
from ._trace import json_value

# The order of the report: what changes decisions first, the bibliography last.
SECTIONS = ("version", "parameters", "requirements", "derived", "computations", "facts", "notes", "outputs",
            "sources")
STATUSES = ("changed", "renamed", "removed", "added")
ASPECTS = ("value", "formula", "condition", "title", "text", "citation", "type", "label", "optional", "description",
           "kind", "date", "confidence", "url", "note", "period", "sources", "unconfirmed", "inputs")
FORMAT_VERSION = 1
TITLE_SIMILARITY = 0.8
NOTE_SIMILARITY_ANCHORED = 0.6
NOTE_SIMILARITY = 0.85


@dataclass(frozen=True)
class Facet:
    """One aspect of an item on both sides, as display lines (equal when unchanged)."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class Change:
    """One item added, removed, changed or renamed (then ``old_id`` and ``new_id`` differ)."""

    section: str
    status: str  # added | removed | changed | renamed
    old_id: str | None
    new_id: str | None
    label: str
    aspects: tuple[str, ...]  # what differs: value, sources, condition, title, formula, ...
    old: dict[str, Any] | None  # JSON-ready description of each side
    new: dict[str, Any] | None
    facets: tuple[Facet, ...] = ()
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.new_id or self.old_id or ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "id": self.id, "old_id": self.old_id, "new_id": self.new_id,
                "label": self.label, "aspects": list(self.aspects), "note": self.note, "old": self.old,
                "new": self.new, **self.extra}


@dataclass(frozen=True)
class VersionDiff:
    old: LawVersion
    new: LawVersion
    alignment: str  # "date" | "position"
    changes: tuple[Change, ...]

    @property
    def same(self) -> bool:
        return not self.changes

    def section(self, name: str) -> list[Change]:
        return [c for c in self.changes if c.section == name]

    def find(self, section: str, item: str) -> Change:
        """The change of ``item`` (its old or new id) in ``section``; KeyError when unchanged."""
        for c in self.section(section):
            if item in (c.old_id, c.new_id):
                return c
        raise KeyError(f"{section}: {item}")

    def counts(self, section: str) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.section(section):
            out[c.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "regole-diff",
            "format_version": FORMAT_VERSION,
            "old": _version_info(self.old),
            "new": _version_info(self.new),
            "same": self.same,
            "alignment": self.alignment,
            "summary": {s: self.counts(s) for s in SECTIONS},
            "changes": {s: [c.to_dict() for c in self.section(s)] for s in SECTIONS},
        }


def diff_versions(old: LawVersion, new: LawVersion, *, pair_renames: bool = True, lang: str | None = None
                  ) -> VersionDiff:
    """The semantic diff from ``old`` to ``new`` (its notes on renames in ``lang``, default Italian)."""
    with _i18n.language(lang):
        return _Differ(old, new, pair_renames).run()


# -- describing one side ------------------------------------------------------------------------------------------


def version_to_dict(law: LawVersion) -> dict[str, Any]:
    """One compiled version as JSON, described as the diff describes each side: its period, sources,
    facts, parameters with their dated values, derived values, requirements, computations, outputs, notes."""
    return {**_version_info(law), "description": law.description,
            "sources": [_source(s) for s in law.sources.values()],
            "facts": [_fact(law, name) for name in law.facts],
            "parameters": [_parameter(law, p) for p in law.parameters.values()],
            "derived": [_node(law, n) for n in law.derived.values()],
            "requirements": [_requirement(law, n) for n in law.requirements],
            "computations": [_node(law, n) for n in law.computations.values()],
            "outputs": list(law.outputs), "notes": [_note(law, n) for n in law.notes]}


def _version_info(law: LawVersion) -> dict[str, Any]:
    return {"key": law.key, "family": law.family, "version": law.version, "title": law.title, "path": law.path,
            "sha256": law.sha256, "valid_from": law.valid_from.isoformat(),
            "valid_to": law.valid_to.isoformat() if law.valid_to else None, "selected_by": law.selected_by}


def period_text(start: dt.date | None, end: dt.date | None) -> str:
    return f"{start.isoformat() if start else '…'} – {end.isoformat() if end else '…'}"


def value_text(value: Any) -> str:
    if value is None:
        return "unknown (null)"
    if value is True or value is False:
        return "true" if value else "false"
    shown = json_value(value)
    return str(shown)


def _citations(law: LawVersion, keys: Iterable[str]) -> list[str]:
    return [law.sources[k].citation if k in law.sources else k for k in keys]


def _source(s: Source) -> dict[str, Any]:
    return {"key": s.key, "citation": s.citation, "kind": s.kind, "date": s.date.isoformat() if s.date else None,
            "confidence": s.confidence, "url": s.url, "note": s.note}


def _fact(law: LawVersion, name: str) -> dict[str, Any]:
    f = law.facts[name]
    return {"name": name, "type": str(f.type), "label": f.label, "optional": f.optional,
            "description": f.description}


def _dated(law: LawVersion, v: ParameterValue) -> dict[str, Any]:
    return {"from": v.valid_from.isoformat(), "to": v.valid_to.isoformat() if v.valid_to else None,
            "value": json_value(v.value), "sources": _citations(law, v.sources), "unconfirmed": v.unconfirmed}


def _parameter(law: LawVersion, p: Parameter) -> dict[str, Any]:
    return {"name": p.name, "type": p.type, "label": p.label, "description": p.description,
            "values": [_dated(law, v) for v in p.values]}


def _node(law: LawVersion, n: Node) -> dict[str, Any]:
    return {"name": n.name, "type": str(n.type), "label": n.label, "formula": render(n.expr),
            "sources": _citations(law, n.sources), "unconfirmed": n.unconfirmed}


def _requirement(law: LawVersion, n: Node) -> dict[str, Any]:
    position = next(i for i, r in enumerate(law.requirements, start=1) if r.name == n.name)
    return {"id": n.name, "title": n.label, "condition": render(n.expr), "sources": _citations(law, n.sources),
            "unconfirmed": n.unconfirmed, "position": position}


def _note(law: LawVersion, n: Note) -> dict[str, Any]:
    return {"id": n.id, "text": n.text, "sources": _citations(law, n.sources), "unconfirmed": n.unconfirmed}


def dated_line(v: dict[str, Any]) -> str:
    """``2021-01-01 – 2021-12-31  8145.00  [L. 178/2020, ...]`` for one dated parameter value."""
    start = dt.date.fromisoformat(v["from"])
    end = dt.date.fromisoformat(v["to"]) if v["to"] else None
    line = f"{period_text(start, end)}  {value_text(v['value'])}  [{'; '.join(v['sources'])}]"
    return line + (f"  (da verificare: {v['unconfirmed']})" if v["unconfirmed"] else "")


def skeleton(expr: Expr) -> str:
    """The shape of an expression, every name replaced by ``…``: ``not …``, ``… >= …``."""
    return render(_mask(expr))


def _mask(expr: Expr) -> Expr:
    if isinstance(expr, Ref):
        return replace(expr, name="…")
    if isinstance(expr, Attr):
        return replace(expr, target=_mask(expr.target), name="…")
    if isinstance(expr, Comprehension):
        return replace(expr, variable="…", iterable=_mask(expr.iterable), body=_mask(expr.body))
    changes: dict[str, Any] = {}
    for f in fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, tuple):
            changes[f.name] = tuple(_mask(v) for v in value)
        elif f.name in ("operand", "left", "right", "target", "index"):
            changes[f.name] = _mask(value)
    return replace(expr, **changes)


def _substitutions(old: Expr, new: Expr) -> list[tuple[str, str]]:
    """The names that differ between two expressions of the same skeleton, in order."""
    if isinstance(old, Ref) and isinstance(new, Ref):
        return [(old.name, new.name)] if old.name != new.name else []
    out: list[tuple[str, str]] = []
    for a, b in zip(children(old), children(new), strict=False):
        out += _substitutions(a, b)
    return out


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# -- the differ ---------------------------------------------------------------------------------------------------


class _Differ:
    def __init__(self, old: LawVersion, new: LawVersion, pair_renames: bool) -> None:
        self.old = old
        self.new = new
        self.pair_renames = pair_renames
        self.alignment = "date" if _overlap(old, new) else "position"
        self.changes: list[Change] = []
        self.fact_notes: dict[str, str] = {}
        self._near_miss: dict[str, str] = {}

    def run(self) -> VersionDiff:
        self._version()
        self._sources()
        self._parameters()
        requirement_pairs = self._pairs_of_requirements()
        self._facts()  # after the requirement pairs, which explain replaced facts
        self._formulas("derived", self.old.derived, self.new.derived)
        self._requirements(requirement_pairs)
        self._formulas("computations", self.old.computations, self.new.computations)
        self._notes()
        self._outputs()
        self._dependencies()
        order = {s: i for i, s in enumerate(SECTIONS)}
        status_order = {s: i for i, s in enumerate(STATUSES)}
        changes = sorted(enumerate(self.changes), key=lambda p: (order[p[1].section], status_order[p[1].status],
                                                                 p[0]))
        return VersionDiff(self.old, self.new, self.alignment, tuple(c for _, c in changes))

    def _add(self, change: Change) -> None:
        self.changes.append(change)

    def _simple(self, section: str, ident: str, label: str, old: dict[str, Any] | None, new: dict[str, Any] | None,
                facets: list[Facet], note: str | None = None, old_id: str | None = None) -> None:
        """Record an added, removed or changed item; nothing when no facet differs."""
        if old is None:
            self._add(Change(section, "added", None, ident, label, (), None, new,
                             tuple(Facet(f.name, (), f.new) for f in facets), note))
        elif new is None:
            self._add(Change(section, "removed", ident, None, label, (), old, None,
                             tuple(Facet(f.name, f.old, ()) for f in facets), note))
        else:
            aspects = _ordered(f.name for f in facets if f.changed)
            renamed = old_id is not None and old_id != ident
            if aspects or renamed:
                self._add(Change(section, "renamed" if renamed else "changed", old_id or ident, ident, label,
                                 aspects, old, new, tuple(facets), note))

    # -- sections ---------------------------------------------------------------------------------------------

    def _version(self) -> None:
        o, n = self.old, self.new
        fields = [("family", o.family, n.family), ("title", o.title, n.title),
                  ("description", o.description.strip(), n.description.strip()),
                  ("period", period_text(o.valid_from, o.valid_to), period_text(n.valid_from, n.valid_to)),
                  ("selected_by", o.selected_by, n.selected_by), ("gap_after", str(o.gap_after), str(n.gap_after)),
                  ("facts_schema", o.facts_schema, n.facts_schema),
                  ("computations_for", o.computations_for, n.computations_for)]
        for name, a, b in fields:
            if a != b:
                self._add(Change("version", "changed", name, name, name, ("value",), {"value": a}, {"value": b},
                                 (Facet("value", (a,), (b,)),)))

    def _sources(self) -> None:
        o, n = self.old.sources, self.new.sources
        for key in _union(o, n):
            old = _source(o[key]) if key in o else None
            new = _source(n[key]) if key in n else None
            facets = [Facet(f, _lines(old, f), _lines(new, f)) for f in ("citation", "kind", "date", "confidence",
                                                                         "url", "note")]
            label = (new or old or {}).get("citation", "")
            self._simple("sources", key, label, old, new, [f for f in facets if f.old or f.new])

    def _facts(self) -> None:
        o, n = self.old.facts, self.new.facts
        for name in _union(o, n):
            old = _fact(self.old, name) if name in o else None
            new = _fact(self.new, name) if name in n else None
            facets = [Facet(f, _lines(old, f), _lines(new, f)) for f in ("type", "label", "optional", "description")]
            label = (new or old or {})["label"]
            self._simple("facts", name, label, old, new, [f for f in facets if f.old or f.new],
                         note=self.fact_notes.get(name))

    def _parameters(self) -> None:
        o, n = self.old.parameters, self.new.parameters
        for name in _union(o, n):
            old = _parameter(self.old, o[name]) if name in o else None
            new = _parameter(self.new, n[name]) if name in n else None
            label = (new or old or {})["label"]
            rows = self._align(o.get(name), n.get(name))
            facets = [Facet(f, _lines(old, f), _lines(new, f)) for f in ("type", "label", "description")]
            value_facet = Facet("values", tuple(dated_line(v) for v in (old or {}).get("values", [])),
                                tuple(dated_line(v) for v in (new or {}).get("values", [])))
            aspects_rows = self._row_aspects(rows)
            extra = {"rows": rows}
            if old is None or new is None:
                self._simple("parameters", name, label, old, new, [value_facet, *facets])
                self.changes[-1] = _with_extra(self.changes[-1], extra)
                continue
            changed = [f for f in facets if f.changed]
            aspects = _ordered([*aspects_rows, *(f.name for f in changed)])
            if aspects:
                self._add(Change("parameters", "changed", name, name, label, aspects, old, new,
                                 (value_facet, *changed), extra=extra))

    def _align(self, old: Parameter | None, new: Parameter | None) -> list[dict[str, Any]]:
        """Pairs of dated values, by position or by date (see the module docstring)."""
        a = list(old.values) if old else []
        b = list(new.values) if new else []
        pairs: list[tuple[ParameterValue | None, ParameterValue | None, dt.date | None, dt.date | None]] = []
        if self.alignment == "position" or not a or not b:
            for i in range(max(len(a), len(b))):
                x = a[i] if i < len(a) else None
                y = b[i] if i < len(b) else None
                pairs.append((x, y, None, None))
        else:
            cuts = sorted({v.valid_from for v in a + b} | {v.valid_to + dt.timedelta(days=1) for v in a + b
                                                           if v.valid_to})
            for i, start in enumerate(cuts):
                x = old.at(start) if old else None
                y = new.at(start) if new else None
                if x is None and y is None:
                    continue
                end = cuts[i + 1] - dt.timedelta(days=1) if i + 1 < len(cuts) else None
                if pairs and pairs[-1][0] is x and pairs[-1][1] is y:
                    pairs[-1] = (x, y, pairs[-1][2], end)
                else:
                    pairs.append((x, y, start, end))
        rows = []
        for x, y, first, last in pairs:
            ox = _dated(self.old, x) if x else None
            ny = _dated(self.new, y) if y else None
            aspects = []
            if ox is None or ny is None or ox["value"] != ny["value"]:
                aspects.append("value")
            if ox and ny and ox["sources"] != ny["sources"]:
                aspects.append("sources")
            if ox and ny and ox["unconfirmed"] != ny["unconfirmed"]:
                aspects.append("unconfirmed")
            if ox and ny and self.alignment == "date" and (ox["from"], ox["to"]) != (ny["from"], ny["to"]):
                aspects.append("period")
            rows.append({"from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
                         "old": ox, "new": ny, "aspects": aspects})
        return rows

    @staticmethod
    def _row_aspects(rows: list[dict[str, Any]]) -> list[str]:
        return list(dict.fromkeys(a for r in rows for a in r["aspects"]))

    def _formulas(self, section: str, o: dict[str, Node], n: dict[str, Node]) -> None:
        for name in _union(o, n):
            old = _node(self.old, o[name]) if name in o else None
            new = _node(self.new, n[name]) if name in n else None
            facets = [Facet(f, _lines(old, f), _lines(new, f))
                      for f in ("formula", "type", "label", "sources", "unconfirmed")]
            label = (new or old or {})["label"]
            self._simple(section, name, label, old, new, _keep_context(facets, ("formula",)))

    def _pairs_of_requirements(self) -> list[tuple[Node, Node, str]]:
        old = self.old.requirements
        new = self.new.requirements
        by_old = {n.name: n for n in old}
        by_new = {n.name: n for n in new}
        near: dict[str, tuple[str, str]] = {}  # id → (the other id, the part of a rule that held)

        def rule(a: int, b: int, anchored: bool) -> tuple[float, str] | None:
            x, y = old[a], new[b]
            same_shape = skeleton(x.expr) == skeleton(y.expr)
            title = _similarity(x.label, y.label)
            if same_shape and anchored:
                return 2 + title, _("same position and the same condition with other names: {shape}").format(
                    shape=skeleton(x.expr))
            if same_shape and title >= TITLE_SIMILARITY:
                return 1 + title, _("same condition structure and a similar title ({similarity})").format(
                    similarity=_i18n.percent(title, digits=0))
            if same_shape or anchored:
                why = _("same position") if anchored else _("the same condition with other names: {shape}").format(
                    shape=skeleton(x.expr))
                near.setdefault(x.name, (y.name, why))
                near.setdefault(y.name, (x.name, why))
            return None

        out = [(by_old[a], by_new[b], why) for a, b, why in _pair(list(by_old), list(by_new), rule)]
        paired = {x.name for x, _, _ in out} | {y.name for _, y, _ in out}
        for name, (other, why) in near.items():
            if name not in paired and other not in paired:
                self._near_miss[name] = _("not paired with {other} as a rename: {why} only").format(other=other,
                                                                                                     why=why)
        if not self.pair_renames:
            for x, y, why in out:
                off = _("with renames off; would be paired with {other} as renamed: {why}")
                self._near_miss[x.name] = off.format(other=y.name, why=why)
                self._near_miss[y.name] = off.format(other=x.name, why=why)
            return []
        for x, y, _why in out:
            if skeleton(x.expr) == skeleton(y.expr):
                for before, after in _substitutions(x.expr, y.expr):
                    if before in self.old.facts and before not in self.new.facts and after in self.new.facts \
                            and after not in self.old.facts:
                        self.fact_notes[before] = _("replaced by {new} in {rule} (was {old_rule})").format(
                            new=after, rule=y.name, old_rule=x.name)
                        self.fact_notes[after] = _("replaces {old} in {rule} (was {old_rule})").format(
                            old=before, rule=y.name, old_rule=x.name)
        return out

    def _requirements(self, pairs: list[tuple[Node, Node, str]]) -> None:
        o = {n.name: n for n in self.old.requirements}
        n = {r.name: r for r in self.new.requirements}
        renamed_old = {x.name: (y.name, why) for x, y, why in pairs}
        renamed_new = {y.name for _, y, _ in pairs}
        for name in _union(o, n):
            if name in renamed_new and name not in o:
                continue  # reported with its old id
            new_name = renamed_old[name][0] if name in renamed_old and name not in n else name
            old = _requirement(self.old, o[name]) if name in o else None
            new = _requirement(self.new, n[new_name]) if new_name in n else None
            facets = [Facet(f, _lines(old, f), _lines(new, f))
                      for f in ("title", "condition", "sources", "unconfirmed")]
            label = (new or old or {})["title"]
            note = (_("renamed: {why}").format(why=renamed_old[name][1]) if new_name != name
                    else self._near_miss.get(name))
            self._simple("requirements", new_name if new else name, label, old, new,
                         _keep_context(facets, ("condition", "sources")), note=note,
                         old_id=name if old is not None and new is not None else None)

    def _notes(self) -> None:
        old = {x.id: x for x in self.old.notes}
        new = {x.id: x for x in self.new.notes}

        def rule(a: int, b: int, anchored: bool) -> tuple[float, str] | None:
            x, y = self.old.notes[a], self.new.notes[b]
            text = _similarity(x.text, y.text)
            if anchored and text >= NOTE_SIMILARITY_ANCHORED:
                return 2 + text, _("same position and a similar text ({similarity})").format(
                    similarity=_i18n.percent(text, digits=0))
            if text >= NOTE_SIMILARITY:
                return 1 + text, _("a similar text ({similarity})").format(similarity=_i18n.percent(text, digits=0))
            return None

        pairs = _pair(list(old), list(new), rule) if self.pair_renames else []
        renamed = {a: (b, why) for a, b, why in pairs}
        renamed_new = {b for _, b, _ in pairs}
        for ident in _union(old, new):
            if ident in renamed_new and ident not in old:
                continue
            new_id = renamed[ident][0] if ident in renamed else ident
            a = _note(self.old, old[ident]) if ident in old else None
            b = _note(self.new, new[new_id]) if new_id in new else None
            facets = [Facet(f, _lines(a, f), _lines(b, f)) for f in ("text", "sources", "unconfirmed")]
            note = _("renamed: {why}").format(why=renamed[ident][1]) if ident in renamed else None
            self._simple("notes", new_id if b else ident, "", a, b,
                         _keep_context(facets, ("text",)), note=note,
                         old_id=ident if a is not None and b is not None else None)

    def _outputs(self) -> None:
        a, b = list(self.old.outputs), list(self.new.outputs)
        for name in _union(dict.fromkeys(a), dict.fromkeys(b)):
            if (name in a) != (name in b):
                side = {"name": name}
                self._simple("outputs", name, name, side if name in a else None, side if name in b else None, [])

    def _dependencies(self) -> None:
        """Mark matched formulas and requirements that read (transitively) a value whose meaning changed: a
        fact added, removed or retyped, a parameter value, a derived formula. Names read directly are left
        out when the item's own condition or formula changed (the change shows them already)."""
        meaningful = {"facts": {"type", "optional"}, "parameters": {"value", "type"},
                      "derived": {"formula", "type"}, "computations": {"formula", "type"}}
        changed: set[str] = set()
        for c in self.changes:
            if c.section in meaningful and (c.status != "changed" or meaningful[c.section] & set(c.aspects)):
                changed |= {x for x in (c.old_id, c.new_id) if x}
        matched: dict[tuple[str, str], Change] = {(c.section, c.id): c for c in self.changes}
        candidates: list[tuple[str, str, str]] = [("derived", x, x) for x in self.old.derived if x in self.new.derived]
        candidates += [("computations", x, x) for x in self.old.computations if x in self.new.computations]
        renamed = {c.old_id or "": c.new_id or "" for c in self.section_changes("requirements")
                   if c.status == "renamed"}
        candidates += [("requirements", r.name, renamed.get(r.name, r.name)) for r in self.old.requirements
                       if renamed.get(r.name, r.name) in {x.name for x in self.new.requirements}]
        for section, old_name, new_name in candidates:
            reads = self.old.dependencies(old_name) | self.new.dependencies(new_name)
            existing = matched.get((section, new_name))
            if existing is not None and {"condition", "formula"} & set(existing.aspects):
                reads -= _node_named(self.old, old_name).reads | _node_named(self.new, new_name).reads
            inputs = sorted(x for x in reads & changed if x not in (old_name, new_name))
            if not inputs:
                continue
            if existing is None:
                old = (_requirement(self.old, _named(self.old.requirements, old_name)) if section == "requirements"
                       else _node(self.old, getattr(self.old, section)[old_name]))
                new = (_requirement(self.new, _named(self.new.requirements, new_name)) if section == "requirements"
                       else _node(self.new, getattr(self.new, section)[new_name]))
                context = ("condition",) if section == "requirements" else ("formula",)
                facets = tuple(Facet(f, _lines(old, f), _lines(new, f)) for f in context)
                existing = Change(section, "changed", old_name, new_name, new.get("title") or new["label"], (),
                                  old, new, facets)
                self.changes.append(existing)
            index = self.changes.index(existing)
            self.changes[index] = _with_extra(Change(
                existing.section, existing.status, existing.old_id, existing.new_id, existing.label,
                _ordered([*existing.aspects, "inputs"]), existing.old, existing.new, existing.facets, existing.note,
                existing.extra), {"inputs_changed": inputs})

    def section_changes(self, section: str) -> list[Change]:
        return [c for c in self.changes if c.section == section]


def _ordered(aspects: Iterable[str]) -> tuple[str, ...]:
    present = set(aspects)
    return tuple(a for a in ASPECTS if a in present) + tuple(sorted(present - set(ASPECTS)))


def _node_named(law: LawVersion, name: str) -> Node:
    return next(n for n in law.nodes() if n.name == name)


def _named(nodes: list[Node], name: str) -> Node:
    return next(n for n in nodes if n.name == name)


def _with_extra(change: Change, extra: dict[str, Any]) -> Change:
    return Change(change.section, change.status, change.old_id, change.new_id, change.label, change.aspects,
                  change.old, change.new, change.facets, change.note, {**change.extra, **extra})


def _keep_context(facets: list[Facet], context: tuple[str, ...]) -> list[Facet]:
    """The facets that changed, and the context ones (shown even when equal), in their order."""
    return [f for f in facets if f.changed or (f.name in context and (f.old or f.new))]


def _lines(side: dict[str, Any] | None, name: str) -> tuple[str, ...]:
    if side is None:
        return ()
    value = side.get(name)
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    return (str(value).strip(),)


def _union(a: Iterable[str], b: Iterable[str]) -> list[str]:
    """Names of both sides: the new order, with old-only names after the name they followed."""
    new = list(b)
    out = list(new)
    old = list(a)
    for i, name in enumerate(old):
        if name in out:
            continue
        previous = next((old[j] for j in range(i - 1, -1, -1) if old[j] in out), None)
        out.insert(out.index(previous) + 1 if previous is not None else 0, name)
    return out


def _overlap(a: LawVersion, b: LawVersion) -> bool:
    a_end = a.valid_to or dt.date.max
    b_end = b.valid_to or dt.date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def _pair(old: list[str], new: list[str], rule: Callable[[int, int, bool], tuple[float, str] | None]
          ) -> list[tuple[str, str, str]]:
    """Pair unmatched old and new ids (greedy on the rule's score); matched ids are equal on both sides."""
    new_index = {name: j for j, name in enumerate(new)}
    old_only = [i for i, name in enumerate(old) if name not in new_index]
    new_only = [j for j, name in enumerate(new) if name not in set(old)]

    def matched(i: int, j: int) -> bool:
        return 0 <= i < len(old) and 0 <= j < len(new) and old[i] == new[j]

    def anchored(i: int, j: int) -> bool:
        before = matched(i - 1, j - 1) or (i == 0 and j == 0)
        after = matched(i + 1, j + 1) or (i == len(old) - 1 and j == len(new) - 1)
        return before or after

    scored = []
    for i in old_only:
        for j in new_only:
            verdict = rule(i, j, anchored(i, j))
            if verdict:
                scored.append((-verdict[0], i, j, verdict[1]))
    taken_old: set[int] = set()
    taken_new: set[int] = set()
    pairs = []
    for _score, i, j, why in sorted(scored):
        if i in taken_old or j in taken_new:
            continue
        taken_old.add(i)
        taken_new.add(j)
        pairs.append((old[i], new[j], why))
    return pairs


__all__ = ["SECTIONS", "Change", "Facet", "VersionDiff", "diff_versions", "skeleton", "version_to_dict"]
