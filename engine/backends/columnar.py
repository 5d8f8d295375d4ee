"""The columnar backend: a law version compiled (engine/backends/_columnar_sql.py) into one query that DuckDB
runs over a whole fact table (:mod:`._layout`), in process and multi-threaded, giving the result table
(:mod:`._results`). The only module that imports DuckDB; its errors become ours here.

Why DuckDB rather than Polars: docs/columnar.md (a measured spike, benchmarks/spike_columnar.py).
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .._compile import LawVersion
from ..errors import ColumnarError, FactsError, Problem
from ._columnar_sql import DECISION, ERROR, MISSING, Compiler, requirement_value, value_column
from ._layout import NUMBER_SCALE, ROW
from ._results import DECISION as DECISION_COLUMN
from ._results import ERROR as ERROR_COLUMN
from ._results import MISSING as MISSING_COLUMN
from ._results import VERSION, output_type, requirement_column, schema

_TABLE = "fatti"
_OUTCOMES = pa.array(["soddisfatto", "non_soddisfatto", "indeterminato"])
_DECISIONS = pa.array(["ammesso", "respinto", "indeterminato"])


class _Plans:
    """The compiled queries of one law version, by the fact table's columns and the integer width."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queries: dict[tuple[frozenset[str], bool], tuple[str, dict[str, int]]] = {}


def plan(law: LawVersion, columns: frozenset[str], *, wide: bool = False) -> tuple[str, dict[str, int]]:
    """The query of ``law`` for a fact table with ``columns`` (and the denominators of its numeric values);
    a :class:`ColumnarError` when a rule has a construct the backend cannot compile."""
    plans: _Plans = law.__dict__.setdefault("_columnar_plans", _Plans())
    key = (columns, wide)
    with plans.lock:
        found = plans.queries.get(key)
        if found is None:
            compiler = Compiler(law, columns, wide=wide)
            found = (compiler.query(_TABLE), compiler.dens)
            if len(plans.queries) > 64:
                plans.queries.clear()
            plans.queries[key] = found
        return found


def check(law: LawVersion) -> None:
    """Compile ``law`` for the columnar backend now (a :class:`ColumnarError` names what it cannot compile)."""
    plan(law, frozenset())


def evaluate_table(law: LawVersion, facts: pa.Table, *, threads: int | None = None) -> pa.Table:
    """The result table of every row of ``facts`` under ``law``, each row with the parameters in force on its own
    selecting date. Rows whose arithmetic fails (a division by zero, a date that does not exist) are
    evaluated by the Rete kernel, which reports the failure in ``errore`` for that row only."""
    if law.selected_by not in facts.column_names or facts.column(law.selected_by).null_count:
        numbers = facts.column(ROW).to_pylist() if law.selected_by in facts.column_names else [None]
        if law.selected_by in facts.column_names:
            nulls = pc.is_null(facts.column(law.selected_by)).to_pylist()
            numbers = [n for n, null in zip(numbers, nulls, strict=True) if null]
        if facts.num_rows:
            raise FactsError([Problem(f"row {numbers[0]}: required field {law.selected_by!r} is missing: it "
                                      "selects the parameters", code="F005", path=f"$.{law.selected_by}")])
    columns = frozenset(facts.column_names)
    try:
        raw = _run(plan(law, columns)[0], facts, threads)
    except duckdb.OutOfRangeException:  # an integer past 64 bits: the same plan on 128-bit integers
        try:
            raw = _run(plan(law, columns, wide=True)[0], facts, threads)
        except duckdb.Error as exc:
            raise ColumnarError(f"{law.key}: the columnar evaluation failed: {exc}") from exc
    except duckdb.Error as exc:
        raise ColumnarError(f"{law.key}: the columnar evaluation failed: {exc}") from exc
    results = _results(law, facts, raw)
    errors = raw.column(ERROR)
    if pc.any(errors).as_py():
        results = _with_rete_rows(law, facts, results, errors)
    return results


def _run(query: str, facts: pa.Table, threads: int | None) -> pa.Table:
    connection = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        connection.register(_TABLE, facts)
        table: pa.Table = connection.sql(query).to_arrow_table()
        return table
    finally:
        connection.close()


def _outcomes(values: Any, names: pa.Array) -> pa.Array:
    """true / false / null as the first, second, third of ``names``."""
    index = pc.fill_null(pc.if_else(values, 0, 1), 2)
    return names.take(index)


def _results(law: LawVersion, facts: pa.Table, raw: pa.Table) -> pa.Table:
    target = schema(law)
    n = facts.num_rows
    columns: dict[str, Any] = {
        ROW: facts.column(ROW),
        VERSION: pa.array([law.version] * n, pa.string()) if n < 1024 else
        pa.repeat(pa.scalar(law.version), n),
        DECISION_COLUMN: _outcomes(raw.column(DECISION), _DECISIONS),
        MISSING_COLUMN: raw.column(MISSING),
        ERROR_COLUMN: pa.nulls(n, pa.string()),
    }
    for node in law.requirements:
        columns[requirement_column(node.name)] = _outcomes(raw.column(requirement_value(node.name)), _OUTCOMES)
    for name in law.outputs:
        column = raw.column(value_column(name))
        if output_type(law, name) == "number":  # integers of 1e-12: the same digits as decimal128(38, 12)
            column = pc.cast(column, pa.decimal128(38, 0)).combine_chunks()
            column = pa.Array.from_buffers(pa.decimal128(38, NUMBER_SCALE), len(column), column.buffers())
        columns[name] = column
    arrays = [columns[f.name] if columns[f.name].type == f.type else pc.cast(columns[f.name], f.type) for f in target]
    return pa.Table.from_arrays(arrays, schema=target)


def _with_rete_rows(law: LawVersion, facts: pa.Table, results: pa.Table, errors: Any) -> pa.Table:
    """``results`` with the rows flagged in ``errors`` evaluated again by the Rete kernel (the reference)."""
    from .rete import evaluate_table as rete_table

    flagged = pc.fill_null(errors, False).combine_chunks() if isinstance(errors, pa.ChunkedArray) \
        else pc.fill_null(errors, False)
    rete = rete_table(law, facts.filter(flagged))
    positions = pa.array(range(facts.num_rows), pa.int64())
    kept = results.filter(pc.invert(flagged))
    order = pa.concat_arrays([positions.filter(pc.invert(flagged)), positions.filter(flagged)])
    merged = pa.concat_tables([kept, rete.cast(kept.schema)])
    return merged.take(pc.sort_indices(order))


__all__ = ["check", "evaluate_table", "plan"]
