"""Compare law versions, 5: the impact as a self-contained HTML page with inline SVG charts (drawn here, no
JavaScript): decisions under both versions, the transition matrix, the distribution of the amount under
both versions, and the first failing requirements. The page renders a finished :class:`Impact`; it
queries nothing."""

from __future__ import annotations

import html
from decimal import Decimal

from . import _i18n
from ._i18n import gettext as _
from ._impact import DECISIONS, Impact, Tally, decision_label

A_COLOUR = "#d9822b"  # version A
B_COLOUR = "#2b6cb0"  # version B
BINS = 24

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1d1d1f}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f7}.note{color:#555;font-size:.9em}
.a{color:#d9822b;font-weight:600}.b{color:#2b6cb0;font-weight:600}svg{font:12px system-ui,sans-serif}
code{font:13px ui-monospace,monospace}
"""


euro, numero = _i18n.money, _i18n.number  # in the language in force


def _e(text: object) -> str:
    return html.escape(str(text))


def _h2(text: str) -> str:
    return f"<h2>{_e(text)}</h2>"


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def render_impact_html(impact: Impact, *, lang: str | None = None) -> str:
    """The impact as a self-contained page in ``lang`` (default: ``REGOLE_LANG`` or Italian)."""
    with _i18n.language(lang):
        return _render(impact)


def _render(impact: Impact) -> str:
    ka, kb = impact.a_law.key, impact.b_law.key
    title = _("Impact of {a} → {b}").format(a=ka, b=kb)
    about = _("Applications: {source} ({format}), {read} rows read, {evaluated} evaluated under both versions, {bad} "
              "bad rows skipped. Version A: {a} ({a_title}, sha256 {a_sha}); version B: {b} ({b_title}, sha256 "
              "{b_sha}). Each application is evaluated on its own date under both versions.").format(
        source=f"<code>{_e(impact.source)}</code>", format=_e(impact.fmt), read=numero(impact.rows_read),
        evaluated=numero(impact.evaluated), bad=numero(impact.bad_rows), a=f'<span class="a">{_e(ka)}</span>',
        a_title=_e(impact.a_law.title), a_sha=impact.a_law.sha256[:12], b=f'<span class="b">{_e(kb)}</span>',
        b_title=_e(impact.b_law.title), b_sha=impact.b_law.sha256[:12])
    parts = ["<!DOCTYPE html>", f'<html lang="{_i18n.current()}"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h1>{_e(title)}</h1>", f"<p>{about}</p>"]
    parts += _summary(impact)
    parts += [_h2(_("Decisions")), _decision_bars(impact)]
    transitions = _("Rows: the decision under {a}; columns: under {b}. Gains (admitted under B only): {gains}; "
                    "losses (admitted under A only): {losses}.").format(
        a=_e(ka), b=_e(kb), gains=numero(impact.gains), losses=numero(impact.losses))
    parts += [_h2(_("Transitions between decisions")), f'<p class="note">{transitions}</p>',
              _transition_matrix(impact)]
    if impact.chart_output:
        heading = _("Distribution of {output} among the admitted").format(
            output=f"<code>{_e(impact.chart_output)}</code>")
        parts += [f"<h2>{heading}</h2>", _histogram(impact)]
    parts += [_h2(_("First failing requirement of the refused applications")), _failure_bars(impact)]
    if impact.problems:
        parts.append(_h2(_("Bad rows ({count})").format(count=numero(impact.bad_rows))) + "<table><tr>"
                     + "".join(f"<th>{_e(h)}</th>" for h in (_("row"), _("field"), _("problem"))) + "</tr>")
        parts += [f"<tr><td>{p.row}</td><td>{_e(p.field or '')}</td><td>{_e(p.message)}</td></tr>"
                  for p in impact.problems[:200]]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary(impact: Impact) -> list[str]:
    ka, kb = impact.a_law.key, impact.b_law.key
    change = _("change")
    out = [f'<table><tr><th></th><th class="a">{_e(ka)}</th><th class="b">{_e(kb)}</th>'
           f"<th>{_e(change)}</th></tr>"]
    for d in DECISIONS:
        x, y = impact.a.decisions[d], impact.b.decisions[d]
        out.append(f"<tr><td>{_e(decision_label(d))}</td><td>{numero(x)}</td><td>{numero(y)}</td>"
                   f"<td>{_signed(y - x)}</td></tr>")
    for o in impact.money_outputs:
        ta, tb = impact.a.totals.get(o, Decimal(0)), impact.b.totals.get(o, Decimal(0))
        total, average = _("{output}, total").format(output=o), _("{output}, average of the admitted").format(output=o)
        out.append(f"<tr><td>{_e(total)}</td><td>{euro(ta)}</td><td>{euro(tb)}</td>"
                   f"<td>{_signed_euro(tb - ta)}</td></tr>")
        aa, ab = impact.a.average(o), impact.b.average(o)
        difference = _signed_euro(ab - aa) if aa is not None and ab is not None else "—"
        out.append(f"<tr><td>{_e(average)}</td><td>{_euro(aa)}</td><td>{_euro(ab)}</td><td>{difference}</td></tr>")
    out.append("</table>")
    return out


def _signed(n: int) -> str:
    return _i18n.signed_number(n)


def _signed_euro(value: Decimal) -> str:
    return _i18n.signed_money(value)


def _euro(value: Decimal | None) -> str:
    return "—" if value is None else euro(value)


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">' + "".join(body) + "</svg>")


def _legend(x: int, y: int, impact: Impact) -> list[str]:
    second = x + max(130, 18 + 7 * len(impact.a_law.key) + 20)  # after the first key, however long
    return [f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{A_COLOUR}"/>',
            f'<text x="{x + 18}" y="{y}">{_e(impact.a_law.key)}</text>',
            f'<rect x="{second}" y="{y - 10}" width="12" height="12" fill="{B_COLOUR}"/>',
            f'<text x="{second + 18}" y="{y}">{_e(impact.b_law.key)}</text>']


def _grouped_bars(groups: list[tuple[str, int, int]], impact: Impact, label: str, *, label_width: int = 110
                  ) -> str:
    """Horizontal bars, one pair (A, B) per group."""
    bar, gap, width = 14, 12, 720
    plot = width - label_width - 70
    top = 24
    height = top + len(groups) * (2 * bar + gap) + 10
    peak = max([1, *(max(a, b) for _name, a, b in groups)])
    body = _legend(label_width, 14, impact)
    for i, (name, a, b) in enumerate(groups):
        y = top + i * (2 * bar + gap)
        body.append(f'<text x="{label_width - 6}" y="{y + bar + 4}" text-anchor="end">{_e(name)}</text>')
        for j, (value, colour) in enumerate(((a, A_COLOUR), (b, B_COLOUR))):
            w = plot * value / peak
            body.append(f'<rect x="{label_width}" y="{y + j * bar}" width="{w:.1f}" height="{bar - 2}" '
                        f'fill="{colour}"><title>{_e(name)}: {numero(value)}</title></rect>')
            body.append(f'<text x="{label_width + w + 4:.1f}" y="{y + j * bar + bar - 4}">{numero(value)}</text>')
    return _svg(width, height, body, label)


def _decision_bars(impact: Impact) -> str:
    groups = [(decision_label(d), impact.a.decisions[d], impact.b.decisions[d]) for d in DECISIONS]
    return _grouped_bars(groups, impact, _("decisions under both versions"))


def _failure_bars(impact: Impact) -> str:
    groups = [(ident, a, b) for ident, a, b in impact.requirement_rows() if a or b]
    if not groups:
        return _p(_("No refused applications."))
    longest = max(len(g[0]) for g in groups)
    return _grouped_bars(groups, impact, _("first failing requirement"), label_width=min(60 + 7 * longest, 330))


def _transition_matrix(impact: Impact) -> str:
    cell_w, cell_h, left, top = 130, 56, 130, 50
    peak = max([1, *impact.transitions.values()])
    total = max(1, impact.evaluated)
    body = [f'<text x="{left + 1.5 * cell_w}" y="14" text-anchor="middle">{_e(impact.b_law.key)}</text>',
            f'<text x="14" y="{top + 1.5 * cell_h}" text-anchor="middle" '
            f'transform="rotate(-90 14 {top + 1.5 * cell_h})">{_e(impact.a_law.key)}</text>']
    for j, d in enumerate(DECISIONS):
        body.append(f'<text x="{left + j * cell_w + cell_w / 2}" y="{top - 8}" text-anchor="middle">'
                    f"{_e(decision_label(d))}</text>")
    for i, a in enumerate(DECISIONS):
        body.append(f'<text x="{left - 8}" y="{top + i * cell_h + cell_h / 2 + 4}" text-anchor="end">'
                    f"{_e(decision_label(a))}</text>")
        for j, b in enumerate(DECISIONS):
            n = impact.transitions[(a, b)]
            shade = 0.08 + 0.85 * (n / peak) ** 0.5 if n else 0.0
            colour = "#1d1d1f" if shade < 0.55 else "#ffffff"
            x, y = left + j * cell_w, top + i * cell_h
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{B_COLOUR}" '
                        f'fill-opacity="{shade:.3f}" stroke="#ccc"><title>{_e(decision_label(a))} → '
                        f"{_e(decision_label(b))}: {numero(n)}</title></rect>")
            body.append(f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2}" text-anchor="middle" fill="{colour}">'
                        f"{numero(n)}</text>")
            body.append(f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 15}" text-anchor="middle" '
                        f'fill="{colour}" font-size="10">{_i18n.percent(n / total)}</text>')
    return _svg(left + 3 * cell_w + 10, top + 3 * cell_h + 10, body, _("transition matrix of decisions"))


def _bins(a: Tally, b: Tally) -> tuple[Decimal, Decimal, list[int], list[int]]:
    values = a.amounts + b.amounts
    low, high = min(values), max(values)
    span = high - low or Decimal(1)
    counts_a, counts_b = [0] * BINS, [0] * BINS
    for amounts, counts in ((a.amounts, counts_a), (b.amounts, counts_b)):
        for v in amounts:
            counts[min(int((v - low) / span * BINS), BINS - 1)] += 1
    return low, high, counts_a, counts_b


def _histogram(impact: Impact) -> str:
    if not impact.a.amounts and not impact.b.amounts:
        return _p(_("No admitted applications."))
    low, high, counts_a, counts_b = _bins(impact.a, impact.b)
    width, height, left, bottom, top = 720, 300, 60, 40, 30
    plot_w, plot_h = width - left - 50, height - top - bottom
    peak = max([1, *counts_a, *counts_b])
    step = plot_w / BINS
    body = _legend(left, 16, impact)
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>')
    for k in range(5):  # y axis: counts
        value = peak * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{numero(round(value))}</text>')
    for i in range(BINS):
        x = left + i * step
        for j, (counts, colour) in enumerate(((counts_a, A_COLOUR), (counts_b, B_COLOUR))):
            h = plot_h * counts[i] / peak
            start = low + (high - low) * i / BINS
            end = low + (high - low) * (i + 1) / BINS
            body.append(f'<rect x="{x + 1 + j * (step - 2) / 2:.1f}" y="{top + plot_h - h:.1f}" '
                        f'width="{(step - 2) / 2:.1f}" height="{h:.1f}" fill="{colour}"><title>'
                        f"{_e(euro(start))} – {_e(euro(end))}: {numero(counts[i])}</title></rect>")
    for k in range(5):  # x axis: amounts
        tick = low + (high - low) * k / 4
        x = left + plot_w * k / 4
        body.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_e(euro(tick))}</text>')
    note = _("{count_a} admitted under {a}, {count_b} under {b}; {bins} equal bins from {low} to {high}.").format(
        count_a=numero(len(impact.a.amounts)), a=_e(impact.a_law.key), count_b=numero(len(impact.b.amounts)),
        b=_e(impact.b_law.key), bins=BINS, low=_e(euro(low)), high=_e(euro(high)))
    label = _("distribution of {output}").format(output=impact.chart_output)
    return _svg(width, height, body, label) + f'<p class="note">{note}</p>'


__all__ = ["render_impact_html"]
