"""The command-line side of comparing law versions: ``regole diff``, ``regole compare``, ``regole impact`` and
``regole population``. :func:`register` adds them to the ``regole`` parser; each sets ``handler`` to the
function that runs it with the parsed arguments, the library and the output streams.

``diff`` has its own exit codes, as diff(1): 0 the versions are the same, 1 they differ, 2 trouble (a
ruleset that cannot be read, an unknown version). The other commands use the exit codes of ``regole``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import _i18n
from ._compare import compare_case, render_comparison
from ._compile import LawVersion, load_ruleset
from ._dataset import FORMATS as DATA_FORMATS
from ._dataset import FactTable, count_rows, detect_format, read_rows, write_csv, write_jsonl, write_parquet
from ._diff import diff_versions
from ._diff_render import FORMATS as DIFF_FORMATS
from ._diff_render import render_diff
from ._facts import parse_facts_json, read_facts_file, unreadable_file
from ._i18n import gettext as _
from ._impact import Impact, measure_impact, render_impact
from ._impact_cli import add_impact_options, run_impact_tables
from ._impact_report import render_impact_html
from ._output import check_output_file, writing
from ._population import PopulationSpec, load_population, population_path
from ._resources import rulesets_dir
from ._run import Library
from .errors import Problem, RegoleError, RulesetError, VersionSelectionError

Handler = Callable[[argparse.Namespace, Library, TextIO, TextIO], int]

DIFF_SAME, DIFF_DIFFERENT, DIFF_TROUBLE = 0, 1, 2


def register(commands: Any) -> None:
    """Add the subcommands to ``commands`` (the result of ``ArgumentParser.add_subparsers``)."""
    diff = commands.add_parser(
        "diff", help=_("semantic diff of two law versions (parameters, requirements, formulas, sources, ...)"),
        description=_("Compare two law versions item by item, matched by id and name (not by text lines). "
                    "Exit status as diff(1): 0 same, 1 different, 2 trouble."))
    diff.add_argument("old", metavar="A", help=_("family@version (e.g. iscro@2021) or a ruleset file"))
    diff.add_argument("new", metavar="B", help=_("family@version (e.g. iscro@2024) or a ruleset file"))
    diff.add_argument("--format", choices=DIFF_FORMATS, default="text",
                      help=_("text (default; coloured on a terminal), markdown, html (a self-contained page) or "
                           "json (structure in docs/diff-format.md)"))
    diff.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help=_("colour the text format: auto (default) colours only a terminal, unless NO_COLOR is set"))
    diff.add_argument("--no-renames", action="store_true",
                      help=_("report renamed requirements and notes as removed + added instead of pairing them"))
    diff.set_defaults(handler=run_diff)

    compare = commands.add_parser(
        "compare", help=_("evaluate one case under two law versions and show what changes"),
        description=_("Evaluate the facts in FILE under two law versions, both on the case's own date (as if "
                    "each version governed it): decision, amounts and period, every requirement, and the "
                    "explanation lines that differ."))
    compare.add_argument("file", metavar="FILE", help=_("JSON facts of the case, or - for standard input"))
    compare.add_argument("--versions", required=True, metavar="A,B", type=_two_versions,
                         help=_("the two versions: 2021,2024 or iscro@2021,iscro@2024 or ruleset files"))
    compare.add_argument("--family", help=_("the measure (e.g. iscro); guessed when omitted"))
    compare.add_argument("--json", action="store_true", help=_("print the comparison as JSON (docs/compare.md)"))
    compare.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    compare.set_defaults(handler=run_compare)

    impact = commands.add_parser(
        "impact", help=_("evaluate a population of applications under two law versions and tally the changes"),
        description=_("Evaluate every application in DATA under two law versions: admitted under each, gains and "
                    "losses of eligibility, totals and averages of the amounts, the first failing requirement "
                    "of the refused. DATA is JSON Lines (one application per line), CSV (columns in "
                    "docs/datasets.md) or Parquet. A bad row is reported with its number and field and skipped."))
    impact.add_argument("data", metavar="DATA", help=_("the applications: FILE.jsonl, FILE.csv or FILE.parquet"))
    impact.add_argument("--versions", required=True, metavar="A,B", type=_two_versions,
                        help=_("the two versions: 2021,2024 or iscro@2021,iscro@2024 or ruleset files"))
    impact.add_argument("--family", help=_("the measure (e.g. iscro); needed when several families exist"))
    impact.add_argument("--format", dest="data_format", choices=DATA_FORMATS,
                        help=_("the format of DATA (default: from its extension; otherwise JSON Lines)"))
    impact.add_argument("--json", action="store_true", help=_("print the tallies as JSON (docs/impact.md)"))
    impact.add_argument("--report", metavar="FILE.html", type=Path,
                        help=_("also write a self-contained HTML report with charts"))
    impact.add_argument("--amount", metavar="OUTPUT",
                        help=_("the money output charted in the report (default: the first, e.g. importo_mensile)"))
    impact.add_argument("--full-trace", action="store_true",
                        help=_("evaluate row by row on the Rete kernel with the full trace of every evaluation, "
                               "as regole evaluate does (same figures, far slower)"))
    add_impact_options(impact)  # --engine, --set, --rows, --dask, --scheduler: the fact-table path
    impact.set_defaults(handler=run_impact)

    population = commands.add_parser(
        "population", help=_("draw a deterministic synthetic population of applications (illustrative data)"),
        description=_("Draw N synthetic applications from the family's population file "
                    "(rulesets/<family>/population/<name>.yaml). The same seed gives the same applications. "
                    "The distributions are illustrative, not INPS statistics (docs/population.md)."))
    population.add_argument("--family", required=True, help=_("the measure (e.g. iscro)"))
    population.add_argument("--n", type=_non_negative, default=1000, help=_("how many applications (default 1000)"))
    population.add_argument("--seed", type=_non_negative, default=1, help=_("the random seed (default 1)"))
    population.add_argument("--out", metavar="FILE", type=Path,
                            help=_("write to FILE.jsonl, FILE.csv or FILE.parquet instead of JSON Lines on standard "
                                   "output"))
    population.add_argument("--spec", default="default",
                            help=_("the population file: a name under rulesets/<family>/population/ or a path"))
    population.set_defaults(handler=run_population)


# -- shared -------------------------------------------------------------------------------------------------------


def resolve_version(spec: str, library: Library, family: str | None) -> LawVersion:
    """``family@version``, a bare version of ``family`` (or of the only family), or a ruleset file."""
    if _is_file(spec):
        return load_ruleset(Path(spec))
    return named_version(spec, library, family)


def named_version(spec: str, library: Library, family: str | None) -> LawVersion:
    """``family@version``, or a bare version of ``family`` (or of the only family); never a file."""
    if "@" in spec:
        name, _at, version = spec.partition("@")
        return library.get(name, version)
    if family is None:
        families = library.families()
        if spec in families:
            versions = [law.version for law in library.versions(spec)]
            raise VersionSelectionError(_("{spec!r} is a family: name one of its versions, e.g. {spec}@{version} "
                                          "(known: {versions})").format(spec=spec, version=versions[-1],
                                                                        versions=", ".join(versions)))
        if len(families) != 1:
            having = [f for f in families if spec in {law.version for law in library.versions(f)}] or families
            raise VersionSelectionError(_("{spec!r}: write family@version (e.g. {family}@{spec}) or pass --family")
                                        .format(spec=spec, family=having[0]))
        family = families[0]
    return library.get(family, spec)


def _two_versions(text: str) -> str:
    """argparse type of --versions: two names separated by a comma (a misuse exits 2)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(_("takes two versions separated by a comma, got {text!r}").format(text=text))
    return text


def _non_negative(text: str) -> int:
    """argparse type of --n and --seed (a misuse exits 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number").format(text=text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(_("must not be negative, got {value}").format(value=value))
    return value


def _pair(text: str, library: Library, family: str | None) -> tuple[LawVersion, LawVersion]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise VersionSelectionError(_("--versions takes two versions separated by a comma, got {text!r}")
                                     .format(text=text))
    bare = [p for p in parts if "@" not in p and not _is_file(p)]
    if family is None and bare:  # the one family that has every version named
        having = [f for f in library.families() if set(bare) <= {v.version for v in library.versions(f)}]
        if len(having) == 1:
            family = having[0]
    return resolve_version(parts[0], library, family), resolve_version(parts[1], library, family)


def _is_file(spec: str) -> bool:
    path = Path(spec)
    return path.suffix in (".yaml", ".yml") or path.is_file()


def _colour(choice: str, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_facts(file: str) -> tuple[dict[str, Any], str]:
    source = "<stdin>" if file == "-" else file
    return parse_facts_json(read_facts_file(file), source=source), source


# -- diff ---------------------------------------------------------------------------------------------------------


def run_diff(args: argparse.Namespace, library: Library, out: TextIO, err: TextIO) -> int:
    try:
        old = resolve_version(args.old, library, None)
        new = resolve_version(args.new, library, None)
    except RulesetError as exc:
        print(_("regole diff: ruleset error:\n{error}").format(error=exc), file=err)
        return DIFF_TROUBLE
    except RegoleError as exc:
        print(f"regole diff: {exc}", file=err)
        return DIFF_TROUBLE
    diff = diff_versions(old, new, pair_renames=not args.no_renames)
    out.write(render_diff(diff, args.format, color=args.format == "text" and _colour(args.color, out)))
    return DIFF_SAME if diff.same else DIFF_DIFFERENT


# -- compare ------------------------------------------------------------------------------------------------------


def run_compare(args: argparse.Namespace, library: Library, out: TextIO, err: TextIO) -> int:
    data, source = _read_facts(args.file)
    family = args.family
    if family is None and not all("@" in p or _is_file(p.strip()) for p in args.versions.split(",")):
        family = library.guess_family(data)
    a, b = _pair(args.versions, library, family)
    comparison = compare_case(data, a, b, source=source)
    if args.json:
        out.write(comparison.to_json())
    else:
        out.write(render_comparison(comparison, color=_colour(args.color, out), source=source))
    return 0


# -- impact -------------------------------------------------------------------------------------------------------


class _Progress:
    """``rows read / total (percent), rate`` on one terminal line, at most five times a second."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.2 and done != self.total:
            return
        self.last = now
        rate = done / (now - self.started) if now > self.started else 0.0
        of = f" / {_i18n.number(self.total)} ({_i18n.percent(done / self.total, digits=0)})" if self.total else ""
        self.stream.write("\r  " + _("{done}{of} rows, {rate} rows/s ").format(
            done=_i18n.number(done), of=of, rate=_i18n.number(round(rate))))
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * 60 + "\r")
        self.stream.flush()


def run_impact(args: argparse.Namespace, library: Library, out: TextIO, err: TextIO) -> int:
    if args.report:
        check_output_file(args.report)
    a, b = _pair(args.versions, library, args.family)
    if a.family != b.family:
        raise VersionSelectionError(_("{a} and {b} are versions of different families").format(a=a.key, b=b.key))
    path = Path(args.data)
    if not path.is_file() and not ((args.dask or args.scheduler) and path.is_dir()):  # Dask: a Parquet folder too
        raise unreadable_file(str(path))
    fmt = detect_format(path, args.data_format)
    if not args.full_trace:  # by column (columnar or Rete engine, here or on Dask); below, row by row
        impact = run_impact_tables(args, a, b, path, err)
        return _impact_out(impact, args, out, err)
    if args.overrides or args.rows or args.dask or args.scheduler:
        print("regole impact: " + _("--full-trace runs row by row here; --set, --rows, --dask and --scheduler "
                                    "need the default path"), file=err)
        return 2
    if args.amount and args.amount not in (*a.outputs, *b.outputs):
        raise VersionSelectionError(_("--amount {output}: not an output of {a} or {b}")
                                     .format(output=args.amount, a=a.key, b=b.key))
    table = FactTable([a, b])
    progress = _Progress(err, count_rows(path, fmt)) if _isatty(err) else None
    impact = measure_impact(read_rows(path, table, fmt), a, b, source=str(path), fmt=fmt,
                            chart_output=args.amount, progress=progress, full_trace=args.full_trace)
    if progress is not None:
        progress.finish()
    return _impact_out(impact, args, out, err)


def _impact_out(impact: Impact, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(impact.to_json() if args.json else render_impact(impact))
    if args.report:
        with writing(args.report):
            args.report.write_text(render_impact_html(impact), encoding="utf-8")
        print(_("regole impact: report written to {file}").format(file=args.report), file=err)
    if impact.bad_rows:
        print(_("regole impact: {count} bad rows skipped; the first: {problem}").format(
            count=_i18n.number(impact.bad_rows), problem=impact.problems[0].render()), file=err)
    return 0


# -- population ---------------------------------------------------------------------------------------------------


def _population_spec(args: argparse.Namespace) -> PopulationSpec:
    candidate = Path(args.spec)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        path = candidate
    else:
        root = Path(args.rulesets) if getattr(args, "rulesets", None) else rulesets_dir()
        path = population_path(root, args.family, args.spec)
        if not path.is_file():
            raise VersionSelectionError(_("{family} has no population file {name!r} ({path})")
                                         .format(family=args.family, name=args.spec, path=path))
    spec = load_population(path)
    if spec.family != args.family:
        raise RulesetError([Problem(_("the file describes {found}, not {family}").format(found=spec.family,
                                                                                    family=args.family), code="G012",
                                    file=str(path))])
    return spec


def run_population(args: argparse.Namespace, library: Library, out: TextIO, err: TextIO) -> int:
    if args.out is not None:
        check_output_file(args.out)
    laws = library.versions(args.family)  # an unknown family is named as such, before its population file
    spec = _population_spec(args)
    problems = spec.check_against(laws)
    if problems:
        raise RulesetError(problems)
    if args.out is None:
        try:
            write_jsonl(spec.applications(args.n, args.seed), out)
            out.flush()
        except BrokenPipeError:  # `regole population ... | head`: the reader has gone, which is fine
            _silence_stdout(out)
        return 0
    fmt = detect_format(args.out)
    if fmt == "parquet":  # two passes over the same draw, as for CSV: the columns first, then the rows
        table = FactTable(laws)
        with writing(args.out):
            count = write_parquet(spec.applications(args.n, args.seed),
                                  table.columns(spec.applications(args.n, args.seed)), table, args.out)
    else:
        with writing(args.out), args.out.open("w", encoding="utf-8", newline="") as handle:
            if fmt == "csv":
                columns = FactTable(laws).columns(spec.applications(args.n, args.seed))
                count = write_csv(spec.applications(args.n, args.seed), columns, handle)
            else:
                count = write_jsonl(spec.applications(args.n, args.seed), handle)
    print(_("regole population: {count} applications of {family} (seed {seed}) written to {file}; illustrative "
            "data, not INPS statistics").format(count=_i18n.number(count), family=args.family, seed=args.seed,
                                                file=args.out), file=err)
    return 0


def _silence_stdout(out: TextIO) -> None:
    """Point standard output at /dev/null so that Python's final flush does not fail again."""
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


__all__ = ["DIFF_DIFFERENT", "DIFF_SAME", "DIFF_TROUBLE", "named_version", "register", "resolve_version"]
