"""``regole batch``: every application of a population file evaluated under the law version in force on its own
date (or a forced one), one row of results per application, streamed batch by batch to Parquet, CSV or JSON
Lines, so memory is bounded by the batch and not by the file (docs/batch.md).

Each batch is read by column (:mod:`._read_columns`), split by the version that governs each row's selecting
date, evaluated by a backend (:func:`engine.backends.evaluate_table`, columnar by default), put back in input
order and written. A bad row, or one that no version governs, goes to the errors file with its row number and
field; it never stops the others.

Money in the files is euros: ``decimal(18, 2)`` in Parquet (exact, the number the CSV shows), text with a dot
and two decimals in CSV and JSON Lines (``687.50``). In CSV the missing facts are one cell, joined by ``;``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from . import _i18n
from ._compile import LawVersion
from ._dataset import FORMATS as DATA_FORMATS
from ._dataset import RowProblem, check_readable, detect_format, fact_names
from ._i18n import N_
from ._i18n import gettext as _
from ._read_columns import BATCH_ROWS, FactBatch, count_rows, read_fact_tables
from ._run import Library
from .backends import ENGINES, evaluate_table
from .backends._layout import ROW
from .backends._results import DECISION, ERROR, MISSING, OUTCOME_TYPE, VERSION, output_type, requirement_column
from .errors import FactsError, OutputPathError, Problem, VersionSelectionError

OUT_FORMATS = ("parquet", "csv", "jsonl")
EURO = pa.decimal128(18, 2)
MISSING_SEPARATOR = ";"

_MESSAGES = {  # what a person reads, in one place (English msgids; engine/locale/it has the Italian)
    "no_out_format": N_("{path}: the format of the results comes from the extension: .parquet, .csv or .jsonl"),
    "no_folder": N_("{path}: the folder {folder} does not exist"),
    "is_folder": N_("{path}: is a folder, not a file"),
    "same_file": N_("{path}: is the data file; choose another file for the results"),
    "same_out": N_("--out and --errors are the same file"),
    "not_writable": N_("{path}: cannot be written (permission denied)"),
    "no_data": N_("{path}: the file does not exist"),
    "done": N_("regole batch: {rows} applications read, {good} evaluated, {bad} rejected{errors}; results in {out}"),
    "errors_in": N_(" (rows and fields in {path})"),
    "first_bad": N_("regole batch: the first rejected row: {problem}"),
    "families": N_("several families of rules: name one with --family ({names})"),
}


def _say(key: str, **values: Any) -> str:
    return _(_MESSAGES[key]).format(**values)


# -- which version each row is evaluated under ------------------------------------------------------------------


def split_by_version(facts: pa.Table, laws: list[LawVersion], library: Library | None, family: str,
                     forced: LawVersion | None) -> tuple[list[tuple[LawVersion, pa.Table]], list[RowProblem]]:
    """The rows of ``facts`` grouped by the version that governs each row's selecting date (all under
    ``forced`` when given), and a problem for each row that no version governs."""
    if forced is not None:
        return [(forced, facts)], []
    groups = []
    assigned = np.zeros(facts.num_rows, dtype=bool)
    for law in laws:
        days = facts.column(law.selected_by) if law.selected_by in facts.column_names else None
        if days is None:
            continue
        after = pc.greater_equal(days, pa.scalar(law.valid_from, pa.date32()))
        within = after if law.valid_to is None else pc.and_(after, pc.less_equal(days, pa.scalar(law.valid_to,
                                                                                             pa.date32())))
        mask = np.asarray(pc.fill_null(within, False).to_numpy(zero_copy_only=False), dtype=bool) & ~assigned
        assigned |= mask
        if mask.any():
            groups.append((law, facts.filter(pa.array(mask))))
    problems = []
    if not assigned.all():
        orphans = facts.filter(pa.array(~assigned))
        selected_by = laws[0].selected_by
        numbers = orphans.column(ROW).to_pylist()
        days = orphans.column(selected_by).to_pylist() if selected_by in orphans.column_names else [None] * len(numbers)
        messages: dict[Any, str] = {}
        for number, day in zip(numbers, days, strict=True):
            if day not in messages:
                messages[day] = _selection_message(library, family, laws, day)
            problems.append(RowProblem(number, selected_by, messages[day]))
    return groups, problems


def _selection_message(library: Library | None, family: str, laws: list[LawVersion], day: dt.date | None) -> str:
    if day is None:
        return _("required field {name!r} is missing: it selects the law version").format(name=laws[0].selected_by)
    try:
        (library or Library(versions=laws)).select(family, day)
    except VersionSelectionError as exc:
        return str(exc)
    # select found none above; never reached
    return _("no version of {family} governs {day}").format(family=family, day=day.isoformat())  # pragma: no cover


# -- the result table written ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputLayout:
    """The columns of a results file for some law versions: the union of their requirements and outputs, in
    order of first appearance, so that every batch has the same columns whichever versions it used."""

    requirements: tuple[str, ...]
    outputs: tuple[tuple[str, pa.DataType, bool], ...]  # name, column type, is money

    @classmethod
    def of(cls, laws: Iterable[LawVersion]) -> OutputLayout:
        requirements: dict[str, None] = {}
        outputs: dict[str, tuple[pa.DataType, bool]] = {}
        for law in laws:
            for node in law.requirements:
                requirements.setdefault(requirement_column(node.name), None)
            for name in law.outputs:
                ftype = output_type(law, name)
                money = ftype == "money"
                if name not in outputs:
                    from .backends._layout import arrow_type

                    outputs[name] = (EURO if money else arrow_type(ftype), money)
        return cls(tuple(requirements), tuple((n, t, m) for n, (t, m) in outputs.items()))

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(ROW, pa.int64()), pa.field(VERSION, pa.string()), pa.field(DECISION, OUTCOME_TYPE),
                          *(pa.field(r, OUTCOME_TYPE) for r in self.requirements),
                          *(pa.field(name, kind) for name, kind, _ in self.outputs),
                          pa.field(MISSING, pa.list_(pa.string())), pa.field(ERROR, pa.string())])

    def conform(self, results: pa.Table) -> pa.Table:
        """A backend's result table in this layout: money in euros, absent columns null."""
        n = results.num_rows
        arrays = []
        for f in self.schema():
            if f.name not in results.column_names:
                arrays.append(pa.nulls(n, f.type))
                continue
            column = results.column(f.name)
            money = any(name == f.name and is_money for name, _, is_money in self.outputs)
            arrays.append(euros(column) if money else column if column.type == f.type else column.cast(f.type))
        return pa.Table.from_arrays(arrays, schema=self.schema())


def euros(cents: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Cents (int64) as exact euros (decimal(18, 2)): the same integers, read with two decimals."""
    array = cents.combine_chunks() if isinstance(cents, pa.ChunkedArray) else cents
    values = np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    wide = np.empty((len(values), 2), dtype=np.int64)
    wide[:, 0] = values
    wide[:, 1] = np.where(values < 0, -1, 0)  # two's complement: the high word of a 128-bit integer
    validity = array.buffers()[0] if array.null_count else None
    if validity is not None and array.offset:
        validity = pc.is_valid(array).buffers()[1]
    return pa.Array.from_buffers(EURO, len(values), [validity, pa.py_buffer(wide.tobytes())],
                                 null_count=array.null_count)


def _partial(path: Path) -> Path:
    """Where the output ``path`` is written until the run ends well (then renamed over ``path``): a run that
    fails leaves a previous file at ``path`` as it was, and no half-written one."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


class ResultWriter:
    """Writes tables of one schema to Parquet, CSV or JSON Lines, batch by batch, into a partial file that
    :meth:`close` renames over ``path`` (``done=False``: removes)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.fmt = out_format(path)
        self.rows = 0
        self._parquet: Any = None
        self._csv: Any = None
        self._text: TextIO | None = None
        self._partial = _partial(path)
        if self.fmt == "parquet":
            self._parquet = pq.ParquetWriter(str(self._partial), schema)
        elif self.fmt == "csv":
            self._csv = pcsv.CSVWriter(str(self._partial), _csv_schema(schema))
        else:
            self._text = self._partial.open("w", encoding="utf-8")

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self._parquet is not None:
            self._parquet.write_table(table)
        elif self._csv is not None:
            self._csv.write_table(_csv_table(table))
        elif self._text is not None:
            write_jsonl_table(table, self._text)

    def close(self, *, done: bool = True) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._text is not None:
            self._text.close()
        _finish(self._partial, self.path, done)


class ProblemsWriter:
    """``--errors``: one JSON line per problem, into a partial file renamed over ``path`` when the run ends well."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = _partial(path)
        self._text = self._partial.open("w", encoding="utf-8")

    def write(self, problem: RowProblem) -> None:
        self._text.write(json.dumps(problem.to_dict(), ensure_ascii=False) + "\n")

    def close(self, *, done: bool = True) -> None:
        self._text.close()
        _finish(self._partial, self.path, done)


def _finish(partial: Path, path: Path, done: bool) -> None:
    if done:
        os.replace(partial, path)
    else:
        partial.unlink(missing_ok=True)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) if pa.types.is_list(f.type) or pa.types.is_dictionary(f.type)
                      else f for f in schema])


def _csv_table(table: pa.Table) -> pa.Table:
    """Lists (the missing facts) as one cell each, joined by ``;``; outcomes as plain text."""
    for index, f in enumerate(table.schema):
        if pa.types.is_list(f.type):
            joined = pc.binary_join(table.column(index), MISSING_SEPARATOR)
            table = table.set_column(index, pa.field(f.name, pa.string()), joined)
        elif pa.types.is_dictionary(f.type):
            table = table.set_column(index, pa.field(f.name, pa.string()), table.column(index).cast(pa.string()))
    return table


def write_jsonl_table(table: pa.Table, out: TextIO) -> None:
    """One JSON object per row: money and numbers as text (exact), dates ``YYYY-MM-DD``, nulls left out."""
    for row in table.to_pylist():
        out.write(json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False,
                             default=_json_value, separators=(",", ":")) + "\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return f"{value:f}"  # Decimal


def out_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".jsonl"):
        return suffix[1:]
    raise FactsError([Problem(_say("no_out_format", path=path), code="D006", path="$")])


def check_out_paths(data: Path, out: Path, errors: Path | None, *, fmt_needed: bool = True) -> None:
    """Refuse, before any work, an output that could not be written or would overwrite the data."""
    problems = []
    paths = [p for p in (out, errors) if p is not None]
    if errors is not None and out.resolve() == errors.resolve():
        problems.append(Problem(_say("same_out"), code="D006", path="$"))
    for index, path in enumerate(paths):
        folder = path.parent if str(path.parent) else Path(".")
        if index == 0 and fmt_needed:
            try:
                out_format(path)
            except FactsError as exc:
                problems += exc.problems
        if not folder.is_dir():
            problems.append(Problem(_say("no_folder", path=path, folder=folder), code="D006", path="$"))
        elif path.is_dir():
            problems.append(Problem(_say("is_folder", path=path), code="D006", path="$"))
        elif data.exists() and path.exists() and path.resolve() == data.resolve():
            problems.append(Problem(_say("same_file", path=path), code="D006", path="$"))
        elif not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            problems.append(Problem(_say("not_writable", path=path), code="D006", path="$"))
    if problems:  # an output path, as for impact --report and docs --out: OutputPathError (exit 2)
        raise OutputPathError("\n".join(problem.message for problem in problems))


# -- the run -----------------------------------------------------------------------------------------------------


@dataclass
class BatchRun:
    rows: int = 0
    evaluated: int = 0
    bad: int = 0
    first_problem: RowProblem | None = None
    seconds: float = 0.0
    versions: dict[str, int] = field(default_factory=dict)


def evaluate_batch(batch: FactBatch, laws: list[LawVersion], layout: OutputLayout, *, library: Library | None,
                   family: str, forced: LawVersion | None, engine: str) -> tuple[pa.Table, list[RowProblem]]:
    """The results of one batch in the layout (input order) and the problems of its rows, by row."""
    groups, orphans = split_by_version(batch.facts, laws, library, family, forced)
    parts = [layout.conform(evaluate_table(law, facts, engine=engine)) for law, facts in groups if facts.num_rows]
    results = pa.concat_tables(parts) if parts else layout.schema().empty_table()
    if len(parts) > 1:
        results = results.take(pc.sort_indices(results.column(ROW)))
    failed = results.filter(pc.is_valid(results.column(ERROR)))
    evaluation = [RowProblem(n, None, m) for n, m in zip(failed.column(ROW).to_pylist(),
                                                          failed.column(ERROR).to_pylist(), strict=True)]
    problems = sorted([*batch.problems, *orphans, *evaluation], key=lambda p: p.row)
    return results, problems


def run_batch(data: Path, fmt: str, laws: list[LawVersion], out: Path, errors: Path | None, *,
              library: Library | None, family: str, forced: LawVersion | None = None, engine: str = "columnar",
              batch_rows: int = BATCH_ROWS, progress: Callable[[int], None] | None = None) -> BatchRun:
    """Evaluate every row of ``data`` and stream the results to ``out`` and the problems to ``errors``."""
    layout = OutputLayout.of([forced] if forced is not None else laws)

    def evaluated() -> Iterator[EvaluatedPart]:
        for batch in read_fact_tables(data, laws if forced is None else [*laws], fmt, batch_rows=batch_rows):
            results, problems = evaluate_batch(batch, laws, layout, library=library, family=family, forced=forced,
                                               engine=engine)
            yield EvaluatedPart(results, problems, batch.rows)

    return write_parts(evaluated(), layout, out, errors, progress=progress)


@dataclass
class EvaluatedPart:
    """The results of one part of a population (a batch here, a partition on a cluster), in input order."""

    results: pa.Table
    problems: list[RowProblem]
    rows: int  # rows read, good and bad


def write_parts(parts: Iterable[EvaluatedPart], layout: OutputLayout, out: Path, errors: Path | None, *,
                progress: Callable[[int], None] | None = None) -> BatchRun:
    """Write evaluated parts, in the order given, to ``out`` and their problems to ``errors``; count."""
    import time

    started = time.perf_counter()
    run = BatchRun()
    writer = ResultWriter(out, layout.schema())
    problems_out = ProblemsWriter(errors) if errors is not None else None
    done = False
    try:
        for part in parts:
            results, problems = part.results, part.problems
            writer.write(results)
            run.rows += part.rows
            failed = len({p.row for p in problems})
            run.bad += failed
            run.evaluated += part.rows - failed
            if problems and run.first_problem is None:
                run.first_problem = problems[0]
            if problems_out is not None:
                for problem in problems:
                    problems_out.write(problem)
            counts = pc.value_counts(results.column(VERSION))
            for version, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                                      strict=True):
                run.versions[str(version)] = run.versions.get(str(version), 0) + int(count)
            if progress is not None:
                progress(run.rows)
        done = True
    finally:
        writer.close(done=done)
        if problems_out is not None:
            problems_out.close(done=done)
    run.seconds = time.perf_counter() - started
    return run


# -- the command -------------------------------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    batch = commands.add_parser(
        "batch", help=_("evaluate every application of a population file; one row of results per application"),
        description=_("Evaluate every application in DATA (JSON Lines, CSV or Parquet; docs/datasets.md) under the "
                    "law version in force on its own date, or under --law-version, and write one row per "
                    "application to --out (.parquet, .csv or .jsonl): the decision, every requirement, every "
                    "output, the missing facts of the undetermined (docs/batch.md). A bad row goes to --errors "
                    "with its row number and field and never stops the others."))
    batch.add_argument("data", metavar="DATA", help=_("the applications: FILE.jsonl, FILE.csv or FILE.parquet"))
    batch.add_argument("--out", required=True, type=Path, metavar="FILE",
                       help=_("the results: FILE.parquet, FILE.csv or FILE.jsonl"))
    batch.add_argument("--errors", type=Path, metavar="FILE.jsonl",
                       help=_("write each bad row's number, field and problem here (JSON Lines)"))
    batch.add_argument("--family", help=_("the measure (e.g. iscro); guessed from the facts when omitted"))
    batch.add_argument("--law-version", metavar="VERSION", help=_("apply this version to every row, whatever its date"))
    batch.add_argument("--format", dest="data_format", choices=DATA_FORMATS,
                       help=_("the format of DATA (default: from its extension; otherwise JSON Lines)"))
    batch.add_argument("--engine", choices=ENGINES, default="columnar",
                       help=_("columnar (default: whole columns at once) or rete (one case at a time, the reference)"))
    batch.add_argument("--batch-rows", type=int, default=BATCH_ROWS, metavar="N",
                       help=_("rows per batch (default {rows}); memory grows with it, not with the file").format(
                           rows=_i18n.number(BATCH_ROWS)))
    from ._distributed import add_cluster_options

    add_cluster_options(batch)  # --dask local, --scheduler ADDRESS (Parquet data; docs/batch.md)
    batch.set_defaults(handler=run_batch_command)


def run_batch_command(args: argparse.Namespace, library: Library, out: TextIO, err: TextIO) -> int:
    from ._commands import _isatty, _Progress

    path = Path(args.data)
    distributed = args.dask or args.scheduler
    if not (path.is_file() or (distributed and path.is_dir())):  # on Dask, a folder of Parquet files too
        raise FactsError([Problem(_say("no_data", path=path), code="F000", path="$")], source=str(path))
    check_out_paths(path, args.out, args.errors)
    fmt = detect_format(path, args.data_format)
    first_file = path
    if distributed:
        from ._distributed import parquet_files, require_parquet

        require_parquet(path, fmt)
        fmt, first_file = "parquet", parquet_files(path)[0]
    family = args.family
    if family is None:
        families = library.families()
        if len(families) != 1:  # as `regole evaluate` does, from the facts the file starts with
            try:
                family = library.guess_family(fact_names(first_file, fmt))
            except VersionSelectionError:
                check_readable(first_file, fmt)  # a file that cannot be read says so, not "give --family"
                raise VersionSelectionError(_say("families", names=", ".join(families))) from None
        else:
            family = families[0]
    laws = library.versions(family)
    forced = library.get(family, args.law_version) if args.law_version else None
    if distributed:
        run = _run_distributed(path, laws, args, family=family, forced=forced, err=err)
    else:
        progress = _Progress(err, count_rows(path, fmt)) if _isatty(err) else None
        run = run_batch(path, fmt, laws, args.out, args.errors, library=library, family=family, forced=forced,
                        engine=args.engine, batch_rows=max(args.batch_rows, 1), progress=progress)
        if progress is not None:
            progress.finish()
    errors = _say("errors_in", path=args.errors) if args.errors and run.bad else ""
    print(_say("done", rows=_i18n.number(run.rows), good=_i18n.number(run.evaluated), bad=_i18n.number(run.bad),
               errors=errors, out=args.out), file=err)
    if run.first_problem is not None:
        print(_say("first_bad", problem=run.first_problem.render()), file=err)
    return 0


def _run_distributed(path: Path, laws: list[LawVersion], args: argparse.Namespace, *, family: str,
                     forced: LawVersion | None, err: TextIO) -> BatchRun:
    """``regole batch --dask local | --scheduler ADDRESS``: the partitions (row groups) evaluated on Dask,
    written here in their order, one at a time."""
    from ._commands import _isatty, _Progress
    from ._distributed import batch_plan, distributed_batch, partitions

    parts = partitions(path, laws)  # the columns of every file checked here, before any work
    progress = _Progress(err, sum(part.rows for part in parts)) if _isatty(err) else None
    layout = OutputLayout.of([forced] if forced is not None else laws)
    plan = batch_plan(laws, family, forced, args.engine)
    run = write_parts(distributed_batch(parts, plan, scheduler=args.scheduler), layout, args.out, args.errors,
                      progress=progress)
    if progress is not None:
        progress.finish()
    return run


__all__ = ["EURO", "OUT_FORMATS", "BatchRun", "EvaluatedPart", "OutputLayout", "ProblemsWriter", "ResultWriter",
           "add_command", "check_out_paths", "euros", "evaluate_batch", "out_format", "run_batch", "split_by_version",
           "write_jsonl_table", "write_parts"]

