"""``regole impact`` on fact tables: the options the table path adds to the command (``--engine``, ``--set``,
``--rows``, ``--dask``, ``--scheduler``, ``--batch-rows``) and the run. The per-row path of :mod:`._impact`
stays behind ``--full-trace``.

``--set name=value`` changes a parameter of version B for this run only, on every date (a what-if: "and if
the ceiling were 10.000 €?"); the report and the JSON record it. ``--rows FILE`` writes each row's decision
and money outputs under both versions (``a.decisione``, ``b.decisione``, ``a.importo_mensile``, ...), so an
analyst can list who gains and who loses.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from . import _i18n
from ._batch import EURO, ResultWriter, check_out_paths, euros
from ._compile import LawVersion, ParameterValue
from ._dataset import detect_format
from ._i18n import N_
from ._i18n import gettext as _
from ._impact import Impact
from ._impact_table import Comparison, PartTally, impact_of, tally_part
from ._read_columns import BATCH_ROWS, count_rows, read_fact_tables
from .backends import ENGINES
from .backends._layout import ROW
from .backends._results import DECISION
from .errors import VersionSelectionError

_MESSAGES = {  # what a person reads, in one place (English msgids; engine/locale/it has the Italian)
    "set_form": N_("--set wants name=value, for example soglia_reddito=10000; got {text!r}"),
    "set_unknown": N_("--set {name}: {version} has no such parameter; its parameters: {known}"),
    "set_value": N_("--set {name}={value}: not a value of type {ptype} ({hint})"),
    "rows_written": N_("regole impact: row-by-row decisions and amounts written to {path}"),
}
_HINTS = {"money": N_("euros with a point and at most two decimals, e.g. 10000 or 10000.50"),
          "number": N_("a number with a point, e.g. 0.7, or a percentage, e.g. 70%"),
          "integer": N_("a whole number"), "boolean": N_("true or false"), "date": N_("a date YYYY-MM-DD")}


def _say(key: str, **values: Any) -> str:
    return _(_MESSAGES[key]).format(**values)


_MONEY = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


def add_impact_options(impact: argparse.ArgumentParser) -> None:
    impact.add_argument("--engine", choices=ENGINES, default="columnar",
                        help=_("columnar (default: whole columns at once) or rete (one case at a time, the reference)"))
    impact.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        type=_assignment, help=_("change a parameter of version B for this run, on every date "
                                                 "(repeatable): --set soglia_reddito=10000"))
    impact.add_argument("--rows", type=Path, metavar="FILE",
                        help=_("write each row's decision and amounts under both versions (.parquet, .csv, .jsonl)"))
    impact.add_argument("--batch-rows", type=int, default=BATCH_ROWS, metavar="N",
                        help=_("rows per batch (default {rows}); memory grows with it, not with the file").format(
                            rows=_i18n.number(BATCH_ROWS)))
    from ._distributed import add_cluster_options

    add_cluster_options(impact)


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(_say("set_form", text=text))
    return name.strip(), value.strip()


# -- --set ------------------------------------------------------------------------------------------------------


def parse_override(law: LawVersion, name: str, text: str) -> Any:
    """The value of ``text`` for the parameter ``name`` of ``law``, typed as the parameter is."""
    if name not in law.parameters:
        raise VersionSelectionError(_say("set_unknown", name=name, version=law.key,
                                                 known=", ".join(sorted(law.parameters))))
    ptype = law.parameters[name].type
    try:
        if ptype == "money" and _MONEY.match(text):
            return Decimal(text)
        if ptype == "number":
            return Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
        if ptype == "integer" and re.fullmatch(r"-?\d{1,12}", text):
            return int(text)
        if ptype == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if ptype == "date":
            return dt.date.fromisoformat(text)
    except (InvalidOperation, ValueError):
        pass
    hint = _(_HINTS[ptype]) if ptype in _HINTS else ptype
    raise VersionSelectionError(_say("set_value", name=name, value=text, ptype=ptype, hint=hint))


def with_overrides(law: LawVersion, overrides: dict[str, Any]) -> LawVersion:
    """A copy of ``law`` whose parameters in ``overrides`` have that value on every date."""
    if not overrides:
        return law
    parameters = dict(law.parameters)
    for name, value in overrides.items():
        parameter = parameters[name]
        parameters[name] = dataclasses.replace(parameter, values=(
            ParameterValue(dt.date.min, None, value, ()),))
    return dataclasses.replace(law, parameters=parameters, _kernel=None, _dependencies=None)


def shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- the run ----------------------------------------------------------------------------------------------------


def run_impact_tables(args: argparse.Namespace, a: LawVersion, b: LawVersion, path: Path, err: TextIO) -> Impact:
    """The impact of the population at ``path`` on fact tables (this machine, or a Dask cluster)."""
    import time

    from ._commands import _isatty, _Progress

    values = {name: parse_override(b, name, text) for name, text in args.overrides}
    b = with_overrides(b, values)
    fmt = detect_format(path, args.data_format)
    distributed = args.dask or args.scheduler
    if args.rows is not None:
        check_out_paths(path, args.rows, None)
    if args.amount and args.amount not in (*a.outputs, *b.outputs):
        raise VersionSelectionError(_("--amount {output}: not an output of {a} or {b}").format(
            output=args.amount, a=a.key, b=b.key))
    comparison = Comparison.of(a, b, chart=args.amount, engine=args.engine, keep_amounts=args.report is not None)
    started = time.perf_counter()
    if distributed:
        from ._distributed import distributed_tally, require_parquet

        require_parquet(path, fmt)
        fmt = "parquet"  # a file, or a folder of them
    rows = RowsWriter(args.rows, comparison) if args.rows is not None else None
    done = False
    try:
        if distributed:
            total = distributed_tally(path, comparison, overrides=dict(args.overrides), scheduler=args.scheduler,
                                      on_rows=rows.writer.write if rows is not None else None)
        else:
            progress = _Progress(err, count_rows(path, fmt)) if _isatty(err) else None
            total = PartTally()
            for batch in read_fact_tables(path, [a, b], fmt, batch_rows=max(args.batch_rows, 1)):
                total.merge(tally_part(batch, comparison, rows.write if rows is not None else None))
                if progress is not None:
                    progress(total.rows_read)
            if progress is not None:
                progress.finish()
        done = True
    finally:
        if rows is not None:
            rows.close(done=done)
    if args.rows is not None:
        print(_say("rows_written", path=args.rows), file=err)
    impact = impact_of(total, comparison, source=str(path), fmt=fmt, seconds=time.perf_counter() - started)
    impact.overrides = {name: shown(value) for name, value in values.items()}
    return impact


def rows_schema(comparison: Comparison) -> pa.Schema:
    """The columns of ``--rows``: the row, the decision under A and B, the money outputs under A and B."""
    fields = [pa.field(ROW, pa.int64()), pa.field("a.decisione", pa.string()), pa.field("b.decisione", pa.string())]
    for side in ("a", "b"):
        fields += [pa.field(f"{side}.{name}", EURO) for name in comparison.money]
    return pa.schema(fields)


def rows_table(comparison: Comparison, ra: pa.Table, rb: pa.Table) -> pa.Table:
    """The ``--rows`` of one part, from its results under A and B (euros)."""
    schema = rows_schema(comparison)
    columns: dict[str, Any] = {ROW: ra.column(ROW), "a.decisione": ra.column(DECISION).cast(pa.string()),
                               "b.decisione": rb.column(DECISION).cast(pa.string())}
    for side, table in (("a", ra), ("b", rb)):
        for name in comparison.money:
            columns[f"{side}.{name}"] = euros(table.column(name)) if name in table.column_names \
                else pa.nulls(table.num_rows, EURO)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


class RowsWriter:
    """``--rows``: per row, the decision and the money outputs under A and B (euros), part by part."""

    def __init__(self, path: Path, comparison: Comparison) -> None:
        self.comparison = comparison
        self.writer = ResultWriter(path, rows_schema(comparison))

    def write(self, ra: pa.Table, rb: pa.Table) -> None:
        self.writer.write(rows_table(self.comparison, ra, rb))

    def close(self, *, done: bool = True) -> None:
        self.writer.close(done=done)


__all__ = ["RowsWriter", "add_impact_options", "parse_override", "rows_schema", "rows_table", "run_impact_tables",
           "with_overrides"]
