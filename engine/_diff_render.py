"""Compare law versions, 2: the semantic diff as terminal text (coloured on a terminal), Markdown, a
self-contained HTML page, or JSON (the structure documented in docs/diff-format.md)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import _i18n
from ._diff import SECTIONS, STATUSES, Change, VersionDiff, value_text
from ._i18n import N_
from ._i18n import gettext as _

FORMATS = ("text", "markdown", "html", "json")
SECTION_TITLES = {"version": N_("Version"), "sources": N_("Sources"), "facts": N_("Facts"),
                  "parameters": N_("Parameters"), "derived": N_("Derived values"), "requirements": N_("Requirements"),
                  "computations": N_("Computations"), "notes": N_("Notes (obligations, cessation, tax)"),
                  "outputs": N_("Decision outputs")}
STATUS_LABELS = {"changed": N_("changed"), "renamed": N_("renamed"), "removed": N_("removed"), "added": N_("added")}
ASPECT_LABELS = {  # the aspects of an item (facets) as a reader sees them; the JSON keeps the names
    "citation": N_("citation"), "condition": N_("condition"), "confidence": N_("confidence"), "date": N_("date"),
    "description": N_("description"), "formula": N_("formula"), "kind": N_("kind"), "label": N_("label"),
    "note": N_("note"), "optional": N_("optional"), "sources": N_("sources"), "text": N_("text"),
    "title": N_("title"), "type": N_("type"), "unconfirmed": N_("unconfirmed"), "value": N_("value"),
    "values": N_("values"), "inputs": N_("inputs"), "period": N_("period"), "valid_from": N_("valid from"),
    "valid_to": N_("valid to"), "selected_by": N_("selected by"), "family": N_("family"), "version": N_("version"),
}
_MARKERS = {"changed": "~", "renamed": "~", "removed": "-", "added": "+"}
_ANSI = {"-": "\033[31m", "+": "\033[32m", "~": "\033[33m", "=": "\033[2m", "!": "\033[36m", "#": "\033[1m"}
_RESET = "\033[0m"
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def render_diff(diff: VersionDiff, fmt: str, *, color: bool = False, lang: str | None = None) -> str:
    """``diff`` as ``fmt``, in ``lang`` (default: ``REGOLE_LANG`` or Italian; the JSON's keys never change)."""
    with _i18n.language(lang):
        if fmt == "json":
            return json.dumps(diff.to_dict(), ensure_ascii=False, indent=2) + "\n"
        if fmt == "markdown":
            return _markdown(diff)
        if fmt == "html":
            return _html(diff)
        return _text(diff, color=color)


def _status(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def _aspect(name: str) -> str:
    return _(ASPECT_LABELS[name]) if name in ASPECT_LABELS else name


def _counts(counts: dict[str, int]) -> str:
    """``2 changed, 1 added`` in the language in force."""
    forms = {"changed": lambda n: _i18n.ngettext("{n} changed", "{n} changed", n),
             "renamed": lambda n: _i18n.ngettext("{n} renamed", "{n} renamed", n),
             "removed": lambda n: _i18n.ngettext("{n} removed", "{n} removed", n),
             "added": lambda n: _i18n.ngettext("{n} added", "{n} added", n)}
    return ", ".join(forms[s](counts[s]).format(n=_i18n.number(counts[s])) for s in STATUSES if counts[s])


def _differences(diff: VersionDiff) -> str:
    n = len(diff.changes)
    return _i18n.ngettext("{n} difference", "{n} differences", n).format(n=_i18n.number(n))


def _side_name(mark: str) -> str:
    return _("old") if mark == "-" else _("new")


# -- a display model shared by the formats ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
    """One aspect shown on both sides: ``equal`` ones are context (a condition that did not change)."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return self.old == self.new


def _title(diff: VersionDiff) -> str:
    return _("Semantic diff: {old} → {new}").format(old=diff.old.key, new=diff.new.key)


def _heading(change: Change) -> str:
    if change.status == "renamed":
        return f"{change.old_id} → {change.new_id}"
    return _aspect(change.id) if change.section == "version" else change.id


def _remarks(change: Change) -> list[str]:
    out = []
    if change.note:
        out.append(change.note)
    if change.status in ("changed", "renamed") and change.aspects and change.section != "version":
        out.append(_("changed: {aspects}").format(aspects=", ".join(_aspect(a) for a in change.aspects)))
    inputs = change.extra.get("inputs_changed")
    if inputs:
        out.append(_("reads values that changed: {names}").format(names=", ".join(inputs)))
    return out


def _pairs(change: Change) -> list[_Pair]:
    if change.section == "version":
        return [_Pair(_aspect(change.id), _dates(f.old), _dates(f.new)) for f in change.facets]
    if change.section == "sources" and change.status != "changed":
        return []  # the citation is the label
    pairs = []
    if change.section == "parameters":
        rows = change.extra.get("rows", [])
        pairs = [_Pair(_aspect("value"), (_dated_line(r["old"]),) if r["old"] else (),
                       (_dated_line(r["new"]),) if r["new"] else ()) for r in rows]
    for f in change.facets:
        if f.name == "values" or not (f.old or f.new):
            continue
        if change.status in ("added", "removed") and (f.name in ("label", "title") or (f.name == "optional"
                                                                              and "false" in f.old + f.new)):
            continue  # the label is in the heading; "not optional" is the rule
        shown = _dates if f.name in ("date", "valid_from", "valid_to") else tuple
        pairs.append(_Pair(_aspect(f.name), shown(f.old), shown(f.new)))
    return pairs


def _dated_line(v: dict[str, Any]) -> str:
    """``1 gen 2021 – …  0,50  [L. 178/2020, ...]``: one dated value, its dates and number in the language in
    force (the JSON keeps ISO dates and the value as written)."""
    start = dt.date.fromisoformat(v["from"]) if v["from"] else None
    end = dt.date.fromisoformat(v["to"]) if v["to"] else None
    line = f"{_period(start, end)}  {_value(v['value'])}  [{'; '.join(v['sources'])}]"
    return line + ("  " + _("(to be verified: {reason})").format(reason=v["unconfirmed"]) if v["unconfirmed"] else "")


def _dates(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The ISO dates of a version's own facets (its period) in the language in force."""
    return tuple(_ISO_DATE.sub(lambda m: _i18n.date(dt.date.fromisoformat(m.group())), line) for line in lines)


def _period(start: dt.date | None, end: dt.date | None) -> str:
    return f"{_i18n.date(start) if start else '…'} – {_i18n.date(end) if end else '…'}"


def _value(value: Any) -> str:
    """A decimal written in the law (``"0.50"``) with the decimal mark of the language; anything else as is."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return _i18n.date(dt.date.fromisoformat(value))
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        if number.is_finite():
            exponent = number.as_tuple().exponent
            return _i18n.number(number, digits=-exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return value_text(value)


def _summary(diff: VersionDiff) -> str:
    parts = []
    for section in SECTIONS:
        counts = diff.counts(section)
        if any(counts[s] for s in STATUSES):
            parts.append(f"{_(SECTION_TITLES[section]).lower()} {_counts(counts)}")
    return "; ".join(parts)


def _alignment(diff: VersionDiff) -> str:
    if diff.alignment == "position":
        return _("Dated parameter values are paired by position (first with first, ...): the two versions govern "
                 "different periods.")
    return _("Dated parameter values are paired by date: the two versions govern overlapping periods.")


def _side(diff: VersionDiff) -> Iterator[tuple[str, str, str]]:
    for mark, law in (("-", diff.old), ("+", diff.new)):
        yield mark, law.key, f"{law.title}, {_period(law.valid_from, law.valid_to)} ({_shown_path(law.path)})"


def _shown_path(path: str) -> str:
    """The ruleset's path relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


# -- text ---------------------------------------------------------------------------------------------------------


def _text(diff: VersionDiff, *, color: bool) -> str:
    lines: list[str] = []

    def emit(mark: str, text: str, indent: int = 0) -> None:
        line = " " * indent + (f"{mark} " if mark not in ("#", "") else "") + text
        lines.append(f"{_ANSI[mark]}{line}{_RESET}" if color and mark in _ANSI else line)

    emit("#", f"regole diff {diff.old.key} → {diff.new.key}")
    for mark, key, about in _side(diff):
        emit(mark, f"{key}  {about}", 2)
    if diff.same:
        emit("", _("No differences."), 2)
        return "\n".join(lines) + "\n"
    emit("", _alignment(diff), 2)
    emit("", f"{_differences(diff)}: {_summary(diff)}", 2)
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        lines.append("")
        emit("#", f"{_(SECTION_TITLES[section])}: {_counts(counts)}")
        for change in changes:
            mark = _MARKERS[change.status]
            inputs = change.extra.get("inputs_changed")
            inputs_remark = _remarks(change)[-1:] if inputs else []
            head = _heading(change)
            emit(mark, f"{head}  {change.label}" if change.label and change.label not in (head, change.id) else head, 2)
            for remark in _remarks(change):
                emit("!" if remark in inputs_remark else "", remark, 6)
            for pair in _pairs(change):
                if pair.equal:
                    emit("=", f"{pair.name}: {'; '.join(pair.old)}", 6)
                    continue
                if pair.old:
                    emit("-", f"{pair.name}: {'; '.join(pair.old)}", 6)
                if pair.new:
                    emit("+", f"{pair.name}: {'; '.join(pair.new)}", 6)
    return "\n".join(lines) + "\n"


# -- Markdown -----------------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_cell(pairs: list[_Pair], side: str) -> str:
    out = []
    for pair in pairs:
        lines = pair.old if side == "old" else pair.new
        if not lines:
            continue
        text = "; ".join(lines)
        out.append(f"{'' if pair.equal else '**'}{pair.name}{'' if pair.equal else '**'}: {_md(text)}")
    return "<br>".join(out)


def _markdown(diff: VersionDiff) -> str:
    out = [f"# {_title(diff)}", "", _md_row(["", _("version"), _("title, period, file")]), "|---|---|---|"]
    for mark, key, about in _side(diff):
        out.append(f"| {_side_name(mark)} | `{key}` | {_md(about)} |")
    out.append("")
    if diff.same:
        out.append(_("No differences."))
        return "\n".join(out) + "\n"
    out += [_alignment(diff), "", f"{_differences(diff)}: {_md(_summary(diff))}."]
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        out += ["", f"## {_(SECTION_TITLES[section])} ({_counts(counts)})",
                "", _md_row(["", _("item"), _("notes"), _("old"), _("new")]), "|---|---|---|---|---|"]
        for change in changes:
            pairs = _pairs(change)
            label = f"<br>{_md(change.label)}" if change.label and change.label != change.id else ""
            out.append(f"| {_status(change.status)} | `{_md(_heading(change))}`{label} | "
                       f"{'<br>'.join(_md(r) for r in _remarks(change))} | {_md_cell(pairs, 'old')} | "
                       f"{_md_cell(pairs, 'new')} |")
    return "\n".join(out) + "\n"


# -- HTML ---------------------------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;
color:#1d1d1f}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.35rem .5rem;
vertical-align:top;text-align:left}th{background:#f5f5f7}code{font:13px/1.4 ui-monospace,monospace}
td.old{background:#fff1f0}td.new{background:#effaf0}.equal{color:#777}.status{font-weight:600;white-space:nowrap}
.added{color:#1a7f37}.removed{color:#cf222e}.changed,.renamed{color:#9a6700}.note{color:#555;font-size:.9em}
"""


def _html_cell(pairs: list[_Pair], side: str) -> str:
    out = []
    for pair in pairs:
        lines = pair.old if side == "old" else pair.new
        if not lines:
            continue
        body = "<br>".join(html.escape(line) for line in lines)
        css = ' class="equal"' if pair.equal else ""
        out.append(f"<div{css}><b>{html.escape(pair.name)}</b>: {body}</div>")
    return "".join(out)


def _html(diff: VersionDiff) -> str:
    e = html.escape
    title = _title(diff)
    out = ["<!DOCTYPE html>", f'<html lang="{_i18n.current()}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{e(title)}</title>",
           f"<style>{_STYLE}</style></head><body>", f"<h1>{e(title)}</h1>",
           f"<table><tr><th></th><th>{e(_('version'))}</th><th>{e(_('title, period, file'))}</th></tr>"]
    for mark, key, about in _side(diff):
        out.append(f"<tr><td>{e(_side_name(mark))}</td><td><code>{e(key)}</code></td>"
                   f"<td>{e(about)}</td></tr>")
    out.append("</table>")
    if diff.same:
        out.append(f"<p>{e(_('No differences.'))}</p></body></html>")
        return "\n".join(out) + "\n"
    out.append(f"<p>{e(_alignment(diff))}</p><p>{e(_differences(diff))}: {e(_summary(diff))}.</p>")
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        out.append(f'<h2 id="{section}">{e(_(SECTION_TITLES[section]))} '
                   f"({e(_counts(counts))})</h2>")
        out.append(f"<table><tr><th></th><th>{e(_('item'))}</th><th>{e(_('old'))}</th><th>{e(_('new'))}</th></tr>")
        for change in changes:
            pairs = _pairs(change)
            remarks = "".join(f'<div class="note">{e(r)}</div>' for r in _remarks(change))
            label = f"<div>{e(change.label)}</div>" if change.label and change.label != change.id else ""
            out.append(f'<tr><td class="status {change.status}">{e(_status(change.status))}</td>'
                       f"<td><code>{e(_heading(change))}</code>{label}{remarks}</td>"
                       f'<td class="old">{_html_cell(pairs, "old")}</td><td class="new">{_html_cell(pairs, "new")}</td>'
                       "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
