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

from ._batch import EURO, ResultWriter, check_out_paths, euros
from ._compile import LawVersion, ParameterValue
from ._dataset import detect_format
from ._impact import Impact
from ._impact_table import Comparison, PartTally, impact_of, tally_part
from ._read_columns import BATCH_ROWS, count_rows, read_fact_tables
from .backends import ENGINES
from .backends._layout import ROW
from .backends._results import DECISION
from .errors import FactsError, Problem, VersionSelectionError

_MESSAGES = {  # what a person reads (Italian), in one place
    "set_form": "--set vuole nome=valore, per esempio soglia_reddito=10000; ricevuto {text!r}",
    "set_unknown": "--set {name}: {version} non ha questo parametro; i suoi parametri: {known}",
    "set_value": "--set {name}={value}: non è un valore di tipo {ptype} ({hint})",
    "dask_parquet": "--dask e --scheduler leggono solo Parquet (una partizione per gruppo di righe); "
                    "converti i dati con regole batch o pyarrow",
    "dask_rows": "--rows non è disponibile con --dask o --scheduler: scrivi le righe con una corsa locale",
    "rows_written": "regole impact: decisioni e importi riga per riga scritti in {path}",
}
_HINTS = {"money": "euro con il punto e al più due decimali, es. 10000 o 10000.50",
          "number": "un numero con il punto, es. 0.7, oppure una percentuale, es. 70%",
          "integer": "un numero intero", "boolean": "true o false", "date": "una data AAAA-MM-GG"}
_MONEY = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


def add_impact_options(impact: argparse.ArgumentParser) -> None:
    impact.add_argument("--engine", choices=ENGINES, default="columnar",
                        help="columnar (default: whole columns at once) or rete (one case at a time, the reference)")
    impact.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        type=_assignment, help="change a parameter of version B for this run, on every date "
                                               "(repeatable): --set soglia_reddito=10000")
    impact.add_argument("--rows", type=Path, metavar="FILE",
                        help="write each row's decision and amounts under both versions (.parquet, .csv, .jsonl)")
    impact.add_argument("--batch-rows", type=int, default=BATCH_ROWS, metavar="N",
                        help=f"rows per batch (default {BATCH_ROWS:,}); memory grows with it, not with the file")
    where = impact.add_mutually_exclusive_group()
    where.add_argument("--dask", choices=("local",), help="run on a local Dask cluster (Parquet data)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster at ADDRESS, e.g. tcp://10.0.0.5:8786 (docs/impact.md)")


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(_MESSAGES["set_form"].format(text=text))
    return name.strip(), value.strip()


# -- --set ------------------------------------------------------------------------------------------------------


def parse_override(law: LawVersion, name: str, text: str) -> Any:
    """The value of ``text`` for the parameter ``name`` of ``law``, typed as the parameter is."""
    if name not in law.parameters:
        raise VersionSelectionError(_MESSAGES["set_unknown"].format(name=name, version=law.key,
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
    raise VersionSelectionError(_MESSAGES["set_value"].format(name=name, value=text, ptype=ptype,
                                                              hint=_HINTS.get(ptype, ptype)))


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
        if distributed:
            raise FactsError([Problem(_MESSAGES["dask_rows"], code="D006", path="$")])
        check_out_paths(path, args.rows, None)
    if args.amount and args.amount not in (*a.outputs, *b.outputs):
        raise VersionSelectionError(f"--amount {args.amount}: not an output of {a.key} or {b.key}")
    comparison = Comparison.of(a, b, chart=args.amount, engine=args.engine, keep_amounts=args.report is not None)
    started = time.perf_counter()
    if distributed:
        if fmt != "parquet":
            raise FactsError([Problem(_MESSAGES["dask_parquet"], code="D006", path="$")], source=str(path))
        from ._distributed import distributed_tally

        total = distributed_tally(path, comparison, overrides=dict(args.overrides), scheduler=args.scheduler)
    else:
        progress = _Progress(err, count_rows(path, fmt)) if _isatty(err) else None
        rows = RowsWriter(args.rows, comparison) if args.rows is not None else None
        total = PartTally()
        try:
            for batch in read_fact_tables(path, [a, b], fmt, batch_rows=max(args.batch_rows, 1)):
                total.merge(tally_part(batch, comparison, rows.write if rows is not None else None))
                if progress is not None:
                    progress(total.rows_read)
        finally:
            if rows is not None:
                rows.close()
        if progress is not None:
            progress.finish()
        if args.rows is not None:
            print(_MESSAGES["rows_written"].format(path=args.rows), file=err)
    impact = impact_of(total, comparison, source=str(path), fmt=fmt, seconds=time.perf_counter() - started)
    impact.overrides = {name: shown(value) for name, value in values.items()}
    return impact


class RowsWriter:
    """``--rows``: per row, the decision and the money outputs under A and B (euros)."""

    def __init__(self, path: Path, comparison: Comparison) -> None:
        self.comparison = comparison
        fields = [pa.field(ROW, pa.int64()), pa.field("a.decisione", pa.string()), pa.field("b.decisione", pa.string())]
        for side in ("a", "b"):
            fields += [pa.field(f"{side}.{name}", EURO) for name in comparison.money]
        self.schema = pa.schema(fields)
        self.writer = ResultWriter(path, self.schema)

    def write(self, ra: pa.Table, rb: pa.Table) -> None:
        columns: dict[str, Any] = {ROW: ra.column(ROW), "a.decisione": ra.column(DECISION).cast(pa.string()),
                                   "b.decisione": rb.column(DECISION).cast(pa.string())}
        for side, table in (("a", ra), ("b", rb)):
            for name in self.comparison.money:
                columns[f"{side}.{name}"] = euros(table.column(name)) if name in table.column_names \
                    else pa.nulls(table.num_rows, EURO)
        self.writer.write(pa.Table.from_arrays([columns[f.name] for f in self.schema], schema=self.schema))

    def close(self) -> None:
        self.writer.close()


__all__ = ["RowsWriter", "add_impact_options", "parse_override", "run_impact_tables", "with_overrides"]
