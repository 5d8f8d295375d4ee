"""The columnar backend: a law version evaluated by the numpy walker (engine/backends/_columnar_numpy.py) on
whole columns of a fact table (:mod:`._layout`), giving the result table (:mod:`._results`). A table of many
rows is cut into slices run on a pool of threads (numpy releases the GIL in the loops that take the time).

Why numpy, after a spike between Polars and DuckDB and a first version on DuckDB: docs/columnar.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._compile import LawVersion
from .._i18n import gettext as _
from ..errors import ColumnarError, FactsError, Problem
from ._columnar_numpy import Num, Plain, Walker, round_half_up
from ._layout import NUMBER_SCALE, ROW
from ._results import DECISION as DECISION_COLUMN
from ._results import DECISIONS, OUTCOMES, VERSION, outcome_array, output_type, requirement_column, schema
from ._results import ERROR as ERROR_COLUMN
from ._results import MISSING as MISSING_COLUMN

T = TypeVar("T")

SLICE_ROWS = 500_000  # rows per slice at most: memory grows with the slice, not the table
SHARED_ROWS = 100_000  # rows per slice at least, when a table is shared between threads (at 50,000 two threads lost)
WIDE = False  # True: every integer as a Python integer (the path taken past 62 bits), for the tests


def check(law: LawVersion) -> None:
    """Walk ``law`` on an empty table now (a :class:`ColumnarError` names what the backend cannot evaluate)."""
    from ._facts_table import facts_table

    walker = Walker(law, facts_table(law, []))
    walker.run()
    walker.missing()


def evaluate_table(law: LawVersion, facts: pa.Table, *, threads: int | None = None) -> pa.Table:
    """The result table of every row of ``facts`` under ``law``, each row with the parameters in force on its own
    selecting date. Rows whose arithmetic fails (a division by zero, a date that does not exist) are
    evaluated by the Rete kernel, which reports the failure in ``errore`` for that row only.

    The table is walked in slices of at most SLICE_ROWS rows, ``threads`` at a time (by default one per core):
    memory grows with the slice, not the table."""
    _check_selecting_dates(law, facts)
    workers = max(1, int(threads or os.cpu_count() or 1))
    decided = _sliced(lambda part: _decide(law, part), facts, workers)
    return pa.concat_tables(decided) if len(decided) > 1 else decided[0]


def _sliced(work: Callable[[pa.Table], T], facts: pa.Table, workers: int) -> list[T]:
    """``work`` on each slice of ``facts``, in order, ``workers`` slices at a time: slices of at most SLICE_ROWS
    rows, as many as a multiple of ``workers`` (each of the same size) when the table is large enough to share."""
    n = facts.num_rows
    count = -(-n // SLICE_ROWS)
    if workers > 1 and n >= 2 * SHARED_ROWS:
        count = -(-max(count, 2) // workers) * workers
    if count <= 1:
        return [work(facts)]
    size = -(-n // count)
    slices = [facts.slice(start, size) for start in range(0, n, size)]
    if workers == 1:
        return [work(part) for part in slices]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, slices))


def _decide(law: LawVersion, facts: pa.Table) -> pa.Table:
    """The results of one slice; the missing facts of its undetermined rows from the values of those rows (not
    counting the rows handed to the Rete kernel, whose results are whole)."""
    walker = _walk(law, facts)
    decision = _index(walker.decision, facts.num_rows)
    undetermined = decision == 2
    errors = np.broadcast_to(walker.error_rows(), (facts.num_rows,))
    if np.any(errors):
        undetermined &= np.logical_not(errors)
    missing = _spread(walker.subset(np.flatnonzero(undetermined)).missing(), undetermined) \
        if np.any(undetermined) else None
    results = _results(law, facts, walker, decision, missing)
    if np.any(errors):
        results = _with_rete_rows(law, facts, results, pa.array(errors))
    return results


def _walk(law: LawVersion, facts: pa.Table) -> Walker:
    walker = Walker(law, facts, wide=WIDE)
    try:
        walker.run()
    except (OverflowError, ArithmeticError) as exc:  # pragma: no cover - the bounds send such values to Python ints
        raise ColumnarError(_("{version}: the columnar evaluation failed: {reason}").format(
            version=law.key, reason=exc)) from exc
    return walker


def _index(value: Plain, n: int) -> np.ndarray:
    """0 for true, 1 for false, 2 for unknown: the index of an outcome or a decision in its dictionary."""
    index = np.empty(n, np.int8)  # a boolean is false where unknown: 1 for not true, plus 1 for unknown
    np.logical_not(np.broadcast_to(value.data, (n,)), out=index.view(bool))
    index += np.logical_not(np.broadcast_to(value.known, (n,))).view(np.int8)
    return index


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
    raise FactsError([Problem(_("row {number}: required field {name!r} is missing: it selects the parameters").format(
        number=number, name=law.selected_by), code="F005", path=f"$.{law.selected_by}")])


def _spread(lists: pa.ListArray | None, where: np.ndarray) -> pa.ListArray:
    """A list column with ``lists`` at the rows where ``where`` is true, in order, and an empty list elsewhere."""
    offsets = np.zeros(len(where) + 1, np.int32)
    if lists is None:
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array([], pa.string()))
    lengths = np.zeros(len(where), np.int32)
    lengths[where] = np.diff(np.asarray(lists.offsets))
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), lists.flatten())


def _results(law: LawVersion, facts: pa.Table, walker: Walker, decision: np.ndarray,
             missing: pa.ListArray | None) -> pa.Table:
    target = schema(law)
    n = facts.num_rows
    admitted = decision == 0
    columns: dict[str, Any] = {
        ROW: facts.column(ROW),
        VERSION: _repeated(law.version, n),
        DECISION_COLUMN: outcome_array(pa.array(decision), DECISIONS),
        MISSING_COLUMN: missing if missing is not None else _spread(None, np.zeros(n, bool)),
        ERROR_COLUMN: pa.nulls(n, pa.string()),
    }
    for node in law.requirements:
        columns[requirement_column(node.name)] = outcome_array(pa.array(_index(walker.requirements[node.name], n)),
                                                               OUTCOMES)
    for name in law.outputs:
        value = walker.values[name]
        assert isinstance(value, Num | Plain)
        known = np.broadcast_to(value.known, (n,))
        if name in walker.gated:
            known = known & admitted
        columns[name] = _output(value, output_type(law, name), n, known)
    arrays = [columns[f.name] if columns[f.name].type == f.type else pc.cast(columns[f.name], f.type) for f in target]
    return pa.Table.from_arrays(arrays, schema=target)


def _repeated(text: str, n: int) -> pa.Array:
    """``text`` on each of ``n`` rows: a slice of one array kept per text (pa.repeat cost 1.4 ns a row, a new
    array from its buffers 0.8)."""
    found = _REPEATED.get(text)
    if found is None or len(found) < n:
        if len(_REPEATED) > 64:  # versions edited in a service: a few at a time
            _REPEATED.clear()
        data = text.encode()
        offsets = np.arange(0, len(data) * (n + 1), len(data)) if data else np.zeros(n + 1)
        found = _REPEATED[text] = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                                           pa.py_buffer(data * n)])
    return found.slice(0, n)


_REPEATED: dict[str, pa.Array] = {}  # the version's name on every row of a slice, by name


def _output(value: Num | Plain, ftype: Any, n: int, known: np.ndarray) -> pa.Array:
    """An output column as the result layout types it: money in cents, numbers at 12 decimals (half up)."""
    if isinstance(value, Num):
        places = {"money": 2, "integer": 0}.get(str(ftype), NUMBER_SCALE)
        data = np.broadcast_to(round_half_up(value, places).data, (n,))
        if data.dtype == object:  # Python integers: those that fit 64 bits, or an error
            data = np.where(known, data, 0)
            if ftype == "number":
                return _decimals(data, np.logical_not(known))
            try:
                data = data.astype(np.int64)
            except OverflowError as exc:
                raise ColumnarError(_("an output leaves 64 bits: {reason}").format(reason=exc)) from exc
        if ftype == "number":
            return _decimals(np.asarray(data, dtype=np.int64), np.logical_not(known))
        return _arrow(pa.int64(), np.asarray(data, dtype=np.int64), known)
    data = np.broadcast_to(value.data, (n,))
    if ftype == "date":
        return _arrow(pa.date32(), np.asarray(data, dtype=np.int32), known)
    if ftype == "boolean":
        return _arrow(pa.bool_(), np.packbits(np.asarray(data, dtype=bool), bitorder="little"), known)
    return pa.array(np.asarray(data, dtype=object), pa.string(), mask=np.logical_not(known))


def _arrow(atype: pa.DataType, data: np.ndarray, known: np.ndarray) -> pa.Array:
    """An Arrow array over the buffer of ``data`` (not copied), null where not ``known``."""
    validity = None if known.all() else pa.py_buffer(np.packbits(known, bitorder="little"))
    return pa.Array.from_buffers(atype, len(known), [validity, pa.py_buffer(np.ascontiguousarray(data))])


def _decimals(data: np.ndarray, mask: np.ndarray) -> pa.Array:
    """decimal128(38, 12) from integers of 1e-12."""
    from decimal import Decimal

    if data.dtype == object:
        values = [None if m else Decimal(int(v)).scaleb(-NUMBER_SCALE) for v, m in
                  zip(data.tolist(), mask.tolist(), strict=True)]
        return pa.array(values, pa.decimal128(38, NUMBER_SCALE))
    words = np.empty((len(data), 2), dtype="<i8")
    words[:, 0] = data
    words[:, 1] = data >> 63
    valid = pa.array(np.logical_not(mask)).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(pa.decimal128(38, NUMBER_SCALE), len(data), [valid, pa.py_buffer(words.tobytes())])


def _with_rete_rows(law: LawVersion, facts: pa.Table, results: pa.Table, flagged: pa.BooleanArray) -> pa.Table:
    """``results`` with the rows ``flagged`` evaluated again by the Rete kernel (the reference)."""
    from .rete import evaluate_table as rete_table

    rete = rete_table(law, facts.filter(flagged))
    positions = pa.array(range(facts.num_rows), pa.int64())
    kept = results.filter(pc.invert(flagged))
    order = pa.concat_arrays([positions.filter(pc.invert(flagged)), positions.filter(flagged)])
    merged = pa.concat_tables([kept, rete.cast(kept.schema)])
    return merged.take(pc.sort_indices(order))


__all__ = ["SHARED_ROWS", "SLICE_ROWS", "WIDE", "check", "evaluate_table"]
