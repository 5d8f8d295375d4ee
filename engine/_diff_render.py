"""Compare law versions, 2: the semantic diff as terminal text (coloured on a terminal), Markdown, a
self-contained HTML page, or JSON (the structure documented in docs/diff-format.md)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._diff import SECTIONS, STATUSES, Change, VersionDiff, dated_line, period_text

FORMATS = ("text", "markdown", "html", "json")
SECTION_TITLES = {"version": "Version", "sources": "Sources", "facts": "Facts", "parameters": "Parameters",
                  "derived": "Derived values", "requirements": "Requirements", "computations": "Computations",
                  "notes": "Notes (obligations, cessation, tax)", "outputs": "Decision outputs"}
_MARKERS = {"changed": "~", "renamed": "~", "removed": "-", "added": "+"}
_ANSI = {"-": "\033[31m", "+": "\033[32m", "~": "\033[33m", "=": "\033[2m", "!": "\033[36m", "#": "\033[1m"}
_RESET = "\033[0m"


def render_diff(diff: VersionDiff, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(diff.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(diff)
    if fmt == "html":
        return _html(diff)
    return _text(diff, color=color)


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


def _heading(change: Change) -> str:
    if change.status == "renamed":
        return f"{change.old_id} → {change.new_id}"
    return change.id


def _remarks(change: Change) -> list[str]:
    out = []
    if change.note:
        out.append(change.note)
    if change.status in ("changed", "renamed") and change.aspects and change.section != "version":
        out.append("changed: " + ", ".join(change.aspects))
    inputs = change.extra.get("inputs_changed")
    if inputs:
        out.append("reads values that changed: " + ", ".join(inputs))
    return out


def _pairs(change: Change) -> list[_Pair]:
    if change.section == "version":
        return [_Pair(change.id, f.old, f.new) for f in change.facets]
    if change.section == "sources" and change.status != "changed":
        return []  # the citation is the label
    pairs = []
    if change.section == "parameters":
        rows = change.extra.get("rows", [])
        pairs = [_Pair("value", (dated_line(r["old"]),) if r["old"] else (),
                       (dated_line(r["new"]),) if r["new"] else ()) for r in rows]
    for f in change.facets:
        if f.name == "values" or not (f.old or f.new):
            continue
        if change.status in ("added", "removed") and (f.name in ("label", "title") or (f.name == "optional"
                                                                              and "false" in f.old + f.new)):
            continue  # the label is in the heading; "not optional" is the rule
        pairs.append(_Pair(f.name, f.old, f.new))
    return pairs


def _summary(diff: VersionDiff) -> str:
    parts = []
    for section in SECTIONS:
        counts = diff.counts(section)
        done = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        if done:
            parts.append(f"{section} {', '.join(done)}")
    return "; ".join(parts)


def _alignment(diff: VersionDiff) -> str:
    if diff.alignment == "position":
        return ("Dated parameter values are paired by position (first with first, ...): the two versions govern "
                "different periods.")
    return "Dated parameter values are paired by date: the two versions govern overlapping periods."


def _side(diff: VersionDiff) -> Iterator[tuple[str, str, str]]:
    for mark, law in (("-", diff.old), ("+", diff.new)):
        yield mark, law.key, f"{law.title}, {period_text(law.valid_from, law.valid_to)} ({_shown_path(law.path)})"


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
        emit("", "No differences.", 2)
        return "\n".join(lines) + "\n"
    emit("", _alignment(diff), 2)
    emit("", f"{len(diff.changes)} differences: {_summary(diff)}", 2)
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        lines.append("")
        emit("#", f"{SECTION_TITLES[section]}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]))
        for change in changes:
            mark = _MARKERS[change.status]
            head = _heading(change)
            emit(mark, f"{head}  {change.label}" if change.label and change.label != head else head, 2)
            for remark in _remarks(change):
                emit("!" if remark.startswith("reads") else "", remark, 6)
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
    out = [f"# Semantic diff: {diff.old.key} → {diff.new.key}", "", "| | version | title, period, file |",
           "|---|---|---|"]
    for mark, key, about in _side(diff):
        out.append(f"| {'old' if mark == '-' else 'new'} | `{key}` | {_md(about)} |")
    out.append("")
    if diff.same:
        out.append("No differences.")
        return "\n".join(out) + "\n"
    out += [_alignment(diff), "", f"{len(diff.changes)} differences: {_md(_summary(diff))}."]
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        out += ["", f"## {SECTION_TITLES[section]} ({', '.join(f'{counts[s]} {s}' for s in STATUSES if counts[s])})",
                "", "| | item | notes | old | new |", "|---|---|---|---|---|"]
        for change in changes:
            pairs = _pairs(change)
            label = f"<br>{_md(change.label)}" if change.label and change.label != change.id else ""
            out.append(f"| {change.status} | `{_md(_heading(change))}`{label} | "
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
    title = f"Semantic diff: {diff.old.key} → {diff.new.key}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{e(title)}</title>",
           f"<style>{_STYLE}</style></head><body>", f"<h1>{e(title)}</h1>",
           "<table><tr><th></th><th>version</th><th>title, period, file</th></tr>"]
    for mark, key, about in _side(diff):
        out.append(f"<tr><td>{'old' if mark == '-' else 'new'}</td><td><code>{e(key)}</code></td>"
                   f"<td>{e(about)}</td></tr>")
    out.append("</table>")
    if diff.same:
        out.append("<p>No differences.</p></body></html>")
        return "\n".join(out) + "\n"
    out.append(f"<p>{e(_alignment(diff))}</p><p>{len(diff.changes)} differences: {e(_summary(diff))}.</p>")
    for section in SECTIONS:
        changes = diff.section(section)
        if not changes:
            continue
        counts = diff.counts(section)
        out.append(f'<h2 id="{section}">{e(SECTION_TITLES[section])} '
                   f"({e(', '.join(f'{counts[s]} {s}' for s in STATUSES if counts[s]))})</h2>")
        out.append("<table><tr><th></th><th>item</th><th>old</th><th>new</th></tr>")
        for change in changes:
            pairs = _pairs(change)
            remarks = "".join(f'<div class="note">{e(r)}</div>' for r in _remarks(change))
            label = f"<div>{e(change.label)}</div>" if change.label and change.label != change.id else ""
            out.append(f'<tr><td class="status {change.status}">{change.status}</td>'
                       f"<td><code>{e(_heading(change))}</code>{label}{remarks}</td>"
                       f'<td class="old">{_html_cell(pairs, "old")}</td><td class="new">{_html_cell(pairs, "new")}</td>'
                       "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
