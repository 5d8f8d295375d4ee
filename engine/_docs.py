"""``regole docs``: documentation of every ruleset, written from the compiled law versions as Markdown and as
a static, self-contained HTML site (one page per version, an index per family, an index of families).

Each version page shows the period and how the version is chosen, every requirement in readable form with
the names it reads and its sources, the derived values and computations with their formulas, every
parameter with its values over time and the source of each value, the facts, the decision's outputs and
notes, and the sources with their links. Everything the legal fact sheet leaves unconfirmed is flagged
"da verificare" ("to be verified"), and listed together at the top of the page.

The site speaks the language in force (Italian by default, English with ``--lang en`` or ``lang=``): the
templates' own words go through Jinja's i18n extension (``_()``, English msgids in the ``regole`` catalog), the
labels built here through ``_i18n``, dates in the language's formats. The legal content of the rulesets (titles,
descriptions, citations, the reasons of the flags) and the expressions are shown as written.

The pages are rendered by the Jinja templates in ``engine/_docs_templates`` (sandboxed, StrictUndefined,
HTML autoescaped); the data they get is built here, so the templates only lay it out.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from . import _i18n
from ._check import is_percentage
from ._compile import LawVersion, Node, Parameter, Source
from ._explain import data, euro, numero, percentuale
from ._expr import render
from ._i18n import N_
from ._i18n import gettext as _
from ._output import check_output_folder, writing
from ._resources import rulesets_dir
from ._run import Library
from ._version import __version__
from .errors import OutputPathError, RulesetError

_TEMPLATES = Path(__file__).resolve().parent / "_docs_templates"
# Labels shown on the pages, marked here (English msgids) and translated when a page is built, in the language
# in force (Italian by default, English with --lang en).
_KINDS = {"legge": N_("law"), "decreto_legge": N_("decree-law"), "decreto_ministeriale": N_("ministerial decree"),
          "circolare_inps": N_("INPS circular"), "messaggio_inps": N_("INPS message"), "prassi": N_("practice")}
_CONFIDENCE = {"confirmed-primary": N_("confirmed (primary source)"),
               "confirmed-secondary": N_("confirmed (secondary source)"), "unconfirmed": N_("not confirmed")}
_TYPES = {"boolean": N_("yes/no"), "integer": N_("whole number"), "number": N_("number"),
          "money": N_("amount in euro"), "date": N_("date"), "string": N_("text"),
          "money_by_year": N_("amounts in euro by year"), "integer_by_year": N_("whole numbers by year")}
_NAME_KINDS = {"fact": N_("input fact"), "parameter": N_("law parameter"), "derived": N_("derived value"),
               "computation": N_("computation")}
_PERCENT_DIGITS = 0  # as the Italian pattern of the explanations (_explain.percentuale)


def _label(table: dict[str, str], key: str) -> str:
    """``table[key]`` translated, or ``key`` itself when the table lacks it."""
    return _(table[key]) if key in table else key


def _day(value: dt.date) -> str:
    """``1° agosto 2024`` in Italian (as the explanations write it), ``1 August 2024`` in English."""
    return data(value) if _i18n.current() == "it" else _i18n.date(value, style="long")


# ---------------------------------------------------------------------------------------------------------------
# What a page shows, as plain data


@dataclass(frozen=True)
class SourceRef:
    key: str
    anchor: str
    citation: str
    url: str | None  # only http(s) links are kept

    @classmethod
    def of(cls, source: Source) -> SourceRef:
        return cls(source.key, _anchor("fonte", source.key), source.citation, _safe_url(source.url))


@dataclass(frozen=True)
class NameUse:
    """A name a rule reads, with what it is."""

    name: str
    kind: str  # fact | parameter | derived value | computation, translated
    label: str
    anchor: str


@dataclass(frozen=True)
class Rule:
    """A requirement, a derived value or a computation."""

    id: str
    anchor: str
    title: str
    expression: str
    type: str
    reads: tuple[NameUse, ...]
    sources: tuple[SourceRef, ...]
    unconfirmed: str | None


@dataclass(frozen=True)
class ParameterValueRow:
    valid_from: str
    valid_to: str
    value: str
    sources: tuple[SourceRef, ...]
    unconfirmed: str | None


@dataclass(frozen=True)
class ParameterDoc:
    name: str
    anchor: str
    label: str
    type: str
    description: str
    values: tuple[ParameterValueRow, ...]


@dataclass(frozen=True)
class FactDoc:
    name: str
    anchor: str
    label: str
    type: str
    optional: bool
    description: str


@dataclass(frozen=True)
class NoteDoc:
    id: str
    anchor: str
    text: str
    sources: tuple[SourceRef, ...]
    unconfirmed: str | None


@dataclass(frozen=True)
class SourceDoc:
    key: str
    anchor: str
    citation: str
    kind: str
    date: str
    confidence: str
    url: str | None
    note: str


@dataclass(frozen=True)
class Flag:
    """Something the legal fact sheet leaves unconfirmed, for the list at the top of the page."""

    where: str
    anchor: str
    reason: str


@dataclass(frozen=True)
class VersionSummary:
    family: str
    version: str
    title: str
    period: str
    selected_by: str
    requirements: int
    flags: int
    page: str  # file name without extension


@dataclass
class VersionPage:
    family: str
    version: str
    title: str
    description: str
    period: str
    selected_by: str
    selected_by_label: str
    path: str
    sha256: str
    requirements: list[Rule] = field(default_factory=list)
    derived: list[Rule] = field(default_factory=list)
    computations: list[Rule] = field(default_factory=list)
    parameters: list[ParameterDoc] = field(default_factory=list)
    facts: list[FactDoc] = field(default_factory=list)
    outputs: list[NameUse] = field(default_factory=list)
    computations_for: str = "every_case"
    notes: list[NoteDoc] = field(default_factory=list)
    sources: list[SourceDoc] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    versions: list[VersionSummary] = field(default_factory=list)


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url) else None


def _anchor(kind: str, name: str) -> str:
    """An HTML id: ``fatto-data_domanda``; requirement ids are their own (``requisito-calo_reddito``)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return slug if kind == "requisito" and slug.startswith("requisito-") else f"{kind}-{slug}"


def period_text(valid_from: dt.date, valid_to: dt.date | None) -> str:
    if valid_to:
        return _("from {start} to {end}").format(start=_day(valid_from), end=_day(valid_to))
    return _("from {start}, with no end").format(start=_day(valid_from))


def _value_text(value: Any, parameter: Parameter) -> str:
    italian = _i18n.current() == "it"
    if value is None:
        return _("not known")
    if parameter.type == "money":
        return euro(value) if italian else _i18n.money(value)
    if parameter.type == "date" and isinstance(value, dt.date):
        return _day(value)
    if parameter.type == "boolean":
        return _("yes") if value else _("no")
    if parameter.type == "number" and isinstance(value, Decimal):
        if is_percentage(parameter.name, parameter.label) and 0 <= value <= 1:
            return percentuale(value) if italian else _i18n.percent(value, digits=_PERCENT_DIGITS)
        return numero(value) if italian else _i18n.number(value)
    return str(value)


def summary(law: LawVersion) -> VersionSummary:
    return VersionSummary(law.family, law.version, law.title, period_text(law.valid_from, law.valid_to),
                          law.selected_by, len(law.requirements), len(version_page(law, []).flags),
                          page_name(law.version))


def page_name(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", version)


def version_page(law: LawVersion, versions: Sequence[LawVersion]) -> VersionPage:
    """Everything the page of ``law`` shows (``versions``: the whole family, for the list of versions)."""
    page = VersionPage(law.family, law.version, law.title, law.description.strip(),
                       period_text(law.valid_from, law.valid_to), law.selected_by,
                       law.facts[law.selected_by].label if law.selected_by in law.facts else law.selected_by,
                       Path(law.path).name, law.sha256)
    kinds: dict[str, tuple[str, str, str]] = {}
    for name, fact in law.facts.items():
        kinds[name] = (_(_NAME_KINDS["fact"]), fact.label, _anchor("fatto", name))
    for name, parameter in law.parameters.items():
        kinds[name] = (_(_NAME_KINDS["parameter"]), parameter.label, _anchor("parametro", name))
    for name, node in law.derived.items():
        kinds[name] = (_(_NAME_KINDS["derived"]), node.label, _anchor("valore", name))
    for name, node in law.computations.items():
        kinds[name] = (_(_NAME_KINDS["computation"]), node.label, _anchor("calcolo", name))

    def refs(keys: Sequence[str]) -> tuple[SourceRef, ...]:
        return tuple(SourceRef.of(law.sources[k]) for k in keys if k in law.sources)

    def rule(node: Node, anchor: str, title: str) -> Rule:
        reads = tuple(NameUse(n, *kinds[n]) for n in sorted(node.reads) if n in kinds)
        if node.unconfirmed:
            page.flags.append(Flag(title, anchor, node.unconfirmed))
        return Rule(node.name, anchor, title, render(node.expr), _label(_TYPES, str(node.type)), reads,
                    refs(node.sources), node.unconfirmed)

    page.requirements = [rule(n, _anchor("requisito", n.name), n.label) for n in law.requirements]
    page.derived = [rule(n, _anchor("valore", n.name), n.label) for n in law.derived.values()]
    page.computations = [rule(n, _anchor("calcolo", n.name), n.label) for n in law.computations.values()]
    for name, parameter in law.parameters.items():
        rows = []
        anchor = _anchor("parametro", name)
        for dated in parameter.values:
            rows.append(ParameterValueRow(_day(dated.valid_from), _day(dated.valid_to) if dated.valid_to else "",
                                          _value_text(dated.value, parameter), refs(dated.sources), dated.unconfirmed))
            if dated.unconfirmed:
                where = _("{label} (from {start})").format(label=parameter.label, start=_day(dated.valid_from))
                page.flags.append(Flag(where, anchor, dated.unconfirmed))
        page.parameters.append(ParameterDoc(name, anchor, parameter.label, _label(_TYPES, parameter.type),
                                            parameter.description, tuple(rows)))
    page.facts = [FactDoc(name, _anchor("fatto", name), fact.label,
                          _("list of entries") if not isinstance(fact.type, str) else _label(_TYPES, fact.type),
                          fact.optional, fact.description) for name, fact in law.facts.items()]
    page.outputs = [NameUse(n, *kinds[n]) for n in law.outputs if n in kinds]
    page.computations_for = law.computations_for
    for note in law.notes:
        page.notes.append(NoteDoc(note.id, _anchor("nota", note.id), note.text, refs(note.sources), note.unconfirmed))
        if note.unconfirmed:
            page.flags.append(Flag(note.text[:80] + ("…" if len(note.text) > 80 else ""), _anchor("nota", note.id),
                                   note.unconfirmed))
    page.sources = [SourceDoc(s.key, _anchor("fonte", s.key), s.citation, _label(_KINDS, s.kind),
                              _day(s.date) if s.date else "", _label(_CONFIDENCE, s.confidence),
                              _safe_url(s.url), (s.note or "").strip()) for s in law.sources.values()]
    for source in law.sources.values():
        if source.confidence == "unconfirmed":
            reason = source.note or _("source not confirmed")
            page.flags.append(Flag(source.citation, _anchor("fonte", source.key), reason))
    page.versions = [VersionSummary(v.family, v.version, v.title, period_text(v.valid_from, v.valid_to),
                                    v.selected_by, len(v.requirements), 0, page_name(v.version)) for v in versions]
    return page


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def _markdown(text: Any) -> str:
    """Text safe inside a Markdown table cell or paragraph."""
    value = " ".join(str(text).split())
    return html.escape(value, quote=False).replace("|", "\\|")


def _is_html(name: str | None) -> bool:
    """Autoescape the HTML templates (``version.html.j2``), not the Markdown ones (escaped by ``md``)."""
    return name is not None and ".html" in name


def environment() -> SandboxedEnvironment:
    """The sandboxed environment of the pages, with Jinja's i18n extension: ``_()`` in the templates (English
    msgids, extracted by Babel's jinja2 extractor, see babel.cfg) speaks the language in force when rendering."""
    env = SandboxedEnvironment(loader=FileSystemLoader(str(_TEMPLATES)), undefined=StrictUndefined,
                               autoescape=_is_html, extensions=["jinja2.ext.i18n"],
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.install_gettext_callables(_i18n.gettext, _i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["md"] = _markdown
    env.globals.update(engine_version=__version__, css=(_TEMPLATES / "style.css").read_text(encoding="utf-8"))
    return env


@dataclass(frozen=True)
class WrittenDocs:
    out: Path
    files: tuple[Path, ...]


def write_docs(out: Path, library: Library, lang: str | None = None) -> WrittenDocs:
    """Write the Markdown and HTML documentation of every family in ``library`` under ``out``, in ``lang``
    (default: the language in force, Italian unless asked otherwise)."""
    with _i18n.language(lang):
        return _write_docs(out, library)


def _write_docs(out: Path, library: Library) -> WrittenDocs:
    env = environment()
    lang = _i18n.current()
    written: list[Path] = []

    def write(path: Path, template: str, **context: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(lang=lang, **context), encoding="utf-8")
        written.append(path)

    families = []
    for family in library.families():
        laws = library.versions(family)
        summaries = [summary(law) for law in laws]
        families.append((family, summaries))
        for law in laws:
            page = version_page(law, laws)
            for extension in ("html", "md"):
                write(out / family / f"{page_name(law.version)}.{extension}", f"version.{extension}.j2", page=page)
        for extension in ("html", "md"):
            write(out / family / f"index.{extension}", f"family.{extension}.j2", family=family, versions=summaries)
    for extension in ("html", "md"):
        write(out / f"index.{extension}", f"index.{extension}.j2", families=families)
    return WrittenDocs(out, tuple(written))


# ---------------------------------------------------------------------------------------------------------------
# The command line: regole docs


def add_command(commands: Any) -> None:
    """Register ``regole docs`` on the CLI's subparsers."""
    docs = commands.add_parser(
        "docs", help=_("write the documentation of every ruleset (Markdown and HTML)"),
        description=_("Write the documentation of every ruleset (the bundled ones, or those under --rulesets) as "
                    "Markdown and as a static HTML site: one page per law version, an index per family. "
                    "Exit status: 0 written, 1 a ruleset does not load, 2 misuse."))
    docs.add_argument("--out", type=Path, default=Path("build/docs"), metavar="DIR",
                      help=_("the folder to write to (default: build/docs)"))
    docs.set_defaults(handler=run_command)


def run_command(args: Any, library: Any, out: Any, err: Any) -> int:
    root: Path = args.rulesets or rulesets_dir()
    if not root.is_dir():
        print(_("regole docs: no such folder: {path}").format(path=root), file=err)
        return 2
    try:
        check_output_folder(args.out)
        with writing(args.out):
            result = write_docs(args.out, Library(root))
    except RulesetError as exc:
        print(_("regole docs: a ruleset does not load (run `regole check`):\n{error}").format(error=exc), file=err)
        return 1
    except OutputPathError as exc:
        print(f"regole docs: {exc}", file=err)
        return 2
    pages = sum(1 for f in result.files if f.suffix == ".html")
    out.write(_("wrote {files} files ({pages} HTML pages and as many Markdown) to {path}").format(
        files=_i18n.number(len(result.files)), pages=_i18n.number(pages), path=result.out) + "\n")
    out.write(_("open {path}").format(path=result.out / "index.html") + "\n")
    return 0
