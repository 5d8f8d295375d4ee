"""The columnar backend: a law version compiled (engine/backends/_columnar_sql.py) into one query that DuckDB
runs over a whole fact table (:mod:`._layout`), in process and multi-threaded, giving the result table
(:mod:`._results`). The only module that imports DuckDB; its errors become ours here.

Why DuckDB rather than Polars: docs/columnar.md (a measured spike, benchmarks/spike_columnar.py).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .._compile import LawVersion
from ..errors import ColumnarError, FactsError, Problem
from ._columnar_sql import DECISION, ERROR, MISSING, Compiler, parameter_periods, requirement_value, value_column
from ._layout import NUMBER_SCALE, ROW
from ._results import DECISION as DECISION_COLUMN
from ._results import DECISIONS, OUTCOMES, VERSION, outcome_array, output_type, requirement_column, schema
from ._results import ERROR as ERROR_COLUMN
from ._results import MISSING as MISSING_COLUMN

_TABLE = "fatti"


class _Plans:
    """The compiled queries of one law version, by the fact table's columns, the integer width and the part
    (results, or the missing facts of undetermined rows)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queries: dict[tuple[Any, ...], str] = {}
        self.database: Any = None  # one in-memory DuckDB per law version, opened on first use (about 50 ms)

    def cursor(self) -> Any:
        """A connection of its own for one evaluation (DuckDB connections are not shared between threads)."""
        with self.lock:
            if self.database is None:
                self.database = duckdb.connect()
            return self.database.cursor()


def _plans(law: LawVersion) -> _Plans:
    plans: _Plans = law.__dict__.setdefault("_columnar_plans", _Plans())
    return plans


def plan(law: LawVersion, columns: frozenset[str], *, wide: bool = False, missing: bool = False,
         days: tuple[dt.date, dt.date] | None = None) -> str:
    """The query of ``law`` for a fact table with ``columns`` whose selecting dates run over ``days`` (first,
    last; None for any); a :class:`ColumnarError` when a rule has a construct the backend cannot compile."""
    plans = _plans(law)
    periods = parameter_periods(law, *days) if days else None
    key = (columns, wide, missing, tuple(sorted(periods.items())) if periods else None)
    with plans.lock:
        found = plans.queries.get(key)
        if found is None:
            found = Compiler(law, columns, wide=wide, periods=periods).query(_TABLE, missing=missing)
            if len(plans.queries) > 64:
                plans.queries.clear()
            plans.queries[key] = found
        return found


def check(law: LawVersion) -> None:
    """Compile ``law`` for the columnar backend now (a :class:`ColumnarError` names what it cannot compile)."""
    plan(law, frozenset())
    plan(law, frozenset(), missing=True)


def evaluate_table(law: LawVersion, facts: pa.Table, *, threads: int | None = None) -> pa.Table:
    """The result table of every row of ``facts`` under ``law``, each row with the parameters in force on its own
    selecting date. Rows whose arithmetic fails (a division by zero, a date that does not exist) are
    evaluated by the Rete kernel, which reports the failure in ``errore`` for that row only."""
    _check_selecting_dates(law, facts)
    columns = frozenset(facts.column_names)
    days = None
    if facts.num_rows:
        span = pc.min_max(facts.column(law.selected_by))
        days = (span["min"].as_py(), span["max"].as_py())
    raw = _query(law, facts, columns, threads, missing=False, days=days)
    _same_rows(law, raw, facts)
    decisions = raw.column(DECISION).combine_chunks()
    undetermined = pc.equal(decisions, 2)
    missing = None
    if pc.any(undetermined).as_py():
        subset = facts.filter(undetermined)
        found = _query(law, subset, columns, threads, missing=True, days=days)
        _same_rows(law, found, subset)
        missing = _spread(found.column(MISSING).combine_chunks(), undetermined)
    results = _results(law, facts, raw, decisions, missing)
    errors = raw.column(ERROR).combine_chunks()
    if pc.any(errors).as_py():
        results = _with_rete_rows(law, facts, results, pc.fill_null(errors, False))
    return results


def _same_rows(law: LawVersion, got: pa.Table, facts: pa.Table) -> None:
    """DuckDB keeps the order of the rows of a projection (``preserve_insertion_order``, on by default); checked,
    since every column of the results is put beside the input's row numbers."""
    if not got.column(ROW).equals(facts.column(ROW)):  # pragma: no cover - a change in DuckDB would do this
        raise ColumnarError(f"{law.key}: DuckDB returned the rows in another order; the results are not written")


def _check_selecting_dates(law: LawVersion, facts: pa.Table) -> None:
    """Each row's parameters come from its selecting date: a row without it is refused (as the Rete adapter
    does; the readers of population files refuse such rows first)."""
    if not facts.num_rows:
        return
    if law.selected_by not in facts.column_names:
        number = facts.column(ROW)[0].as_py()
    elif facts.column(law.selected_by).null_count:
        number = facts.column(ROW).filter(pc.is_null(facts.column(law.selected_by)))[0].as_py()
    else:
        return
    raise FactsError([Problem(f"row {number}: required field {law.selected_by!r} is missing: it selects the "
                              "parameters", code="F005", path=f"$.{law.selected_by}")])


def _query(law: LawVersion, facts: pa.Table, columns: frozenset[str], threads: int | None, *,
           missing: bool, days: tuple[dt.date, dt.date] | None) -> pa.Table:
    plans = _plans(law)
    try:
        return _run(plans, plan(law, columns, missing=missing, days=days), facts, threads)
    except duckdb.OutOfRangeException:  # an integer past 64 bits: the same plan on 128-bit integers
        try:
            return _run(plans, plan(law, columns, wide=True, missing=missing, days=days), facts, threads)
        except duckdb.Error as exc:
            raise ColumnarError(f"{law.key}: the columnar evaluation failed: {exc}") from exc
    except duckdb.Error as exc:
        raise ColumnarError(f"{law.key}: the columnar evaluation failed: {exc}") from exc


def _run(plans: _Plans, query: str, facts: pa.Table, threads: int | None) -> pa.Table:
    connection = plans.cursor()
    try:
        connection.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")  # the database's setting
        connection.register(_TABLE, facts)
        table: pa.Table = connection.sql(query).to_arrow_table()
        return table
    finally:
        connection.close()


def _spread(lists: pa.ListArray, where: pa.BooleanArray) -> pa.ListArray:
    """A list column with ``lists`` at the rows where ``where`` is true, in order, and an empty list elsewhere."""
    lengths = pc.replace_with_mask(pa.nulls(len(where), pa.int32()).fill_null(0), where,
                                   pc.list_value_length(lists).cast(pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(lengths)])
    return pa.ListArray.from_arrays(offsets, lists.flatten())


def _results(law: LawVersion, facts: pa.Table, raw: pa.Table, decisions: pa.Array,
             missing: pa.ListArray | None) -> pa.Table:
    target = schema(law)
    n = facts.num_rows
    columns: dict[str, Any] = {
        ROW: facts.column(ROW),
        VERSION: pa.repeat(pa.scalar(law.version), n),
        DECISION_COLUMN: outcome_array(decisions, DECISIONS),
        MISSING_COLUMN: missing if missing is not None else _spread(pa.array([], pa.list_(pa.string())),
                                                                   pa.repeat(pa.scalar(False), n)),
        ERROR_COLUMN: pa.nulls(n, pa.string()),
    }
    for node in law.requirements:
        indices = raw.column(requirement_value(node.name)).combine_chunks()
        columns[requirement_column(node.name)] = outcome_array(indices, OUTCOMES)
    for name in law.outputs:
        column = raw.column(value_column(name))
        if output_type(law, name) == "number":  # integers of 1e-12: the same digits as decimal128(38, 12)
            column = pc.cast(column, pa.decimal128(38, 0)).combine_chunks()
            column = pa.Array.from_buffers(pa.decimal128(38, NUMBER_SCALE), len(column), column.buffers())
        columns[name] = column
    arrays = [columns[f.name] if columns[f.name].type == f.type else pc.cast(columns[f.name], f.type) for f in target]
    return pa.Table.from_arrays(arrays, schema=target)


def _with_rete_rows(law: LawVersion, facts: pa.Table, results: pa.Table, flagged: pa.BooleanArray) -> pa.Table:
    """``results`` with the rows ``flagged`` evaluated again by the Rete kernel (the reference)."""
    from .rete import evaluate_table as rete_table

    rete = rete_table(law, facts.filter(flagged))
    positions = pa.array(range(facts.num_rows), pa.int64())
    kept = results.filter(pc.invert(flagged))
    order = pa.concat_arrays([positions.filter(pc.invert(flagged)), positions.filter(flagged)])
    merged = pa.concat_tables([kept, rete.cast(kept.schema)])
    return merged.take(pc.sort_indices(order))


__all__ = ["check", "evaluate_table", "plan"]
