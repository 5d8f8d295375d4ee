"""Compare law versions, 4 bis: the impact of a population on fact tables, evaluated by a backend (columnar by
default, or the Rete reference), tallied as exact integers that merge.

:func:`tally_part` is the whole work for one part of a population (a batch of a file, a partition of a Dask
dataframe, a Spark Arrow batch): evaluate its fact table under versions A and B (each row on its own selecting
date, as ``regole impact`` always did) and count. A :class:`PartTally` holds only counts, sums of cents and
the first row where each key was seen, so parts merge exactly in any grouping (:meth:`PartTally.merge`, in
the parts' order) and :func:`impact_of` turns the merged tally into the same :class:`engine._impact.Impact`
that the per-row path fills: the same report and the same JSON, whichever engine or scheduler ran.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._compile import LawVersion
from ._dataset import RowProblem
from ._impact import DECISIONS, MAX_PROBLEMS_KEPT, Impact, Tally
from ._read_columns import FactBatch
from .backends import evaluate_table
from .backends._layout import ROW
from .backends._results import DECISION, ERROR, MISSING, OUTCOMES, requirement_column

FirstSeen = tuple[int, int]  # (row, position in the row's list): Counter.most_common breaks ties by first seen


@dataclass
class VersionTally:
    """What one version decided over a part: counts, sums of cents, first sightings (for the order of ties)."""

    decisions: dict[str, int] = field(default_factory=dict)
    cents: dict[str, int] = field(default_factory=dict)
    first_failure: dict[str, tuple[int, FirstSeen]] = field(default_factory=dict)  # id -> (count, first seen)
    missing_facts: dict[str, tuple[int, FirstSeen]] = field(default_factory=dict)
    amounts: list[np.ndarray] = field(default_factory=list)  # the chart output of the admitted, in cents

    def merge(self, other: VersionTally) -> None:
        for key, n in other.decisions.items():
            self.decisions[key] = self.decisions.get(key, 0) + n
        for key, n in other.cents.items():
            self.cents[key] = self.cents.get(key, 0) + n
        for mine, theirs in ((self.first_failure, other.first_failure), (self.missing_facts, other.missing_facts)):
            for key, (n, seen) in theirs.items():
                count, first = mine.get(key, (0, seen))
                mine[key] = (count + n, min(first, seen))
        self.amounts.extend(other.amounts)

    def tally(self) -> Tally:
        out = Tally()
        out.decisions = Counter({d: n for d, n in self.decisions.items() if n})
        out.totals = {name: Decimal(cents).scaleb(-2) for name, cents in self.cents.items()}
        out.first_failure = _ordered(self.first_failure)
        out.missing_facts = _ordered(self.missing_facts)
        out.amounts = [Decimal(int(c)).scaleb(-2) for part in self.amounts for c in part]
        return out


def _ordered(seen: Mapping[str, tuple[int, FirstSeen]]) -> Counter[str]:
    """A Counter whose insertion order is the order of first sighting, as the per-row tally builds it."""
    return Counter({key: n for key, (n, _) in sorted(seen.items(), key=lambda item: item[1][1])})


@dataclass
class PartTally:
    """The impact tallies of one part of a population (or of several, merged)."""

    a: VersionTally = field(default_factory=VersionTally)
    b: VersionTally = field(default_factory=VersionTally)
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)
    rows_read: int = 0
    evaluated: int = 0
    bad_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT, in row order

    def merge(self, other: PartTally) -> PartTally:
        """Add ``other``, a part that comes after this one in the population."""
        self.a.merge(other.a)
        self.b.merge(other.b)
        for key, n in other.transitions.items():
            self.transitions[key] = self.transitions.get(key, 0) + n
        self.rows_read += other.rows_read
        self.evaluated += other.evaluated
        self.bad_rows += other.bad_rows
        self.problems.extend(other.problems[:max(MAX_PROBLEMS_KEPT - len(self.problems), 0)])
        return self


@dataclass(frozen=True)
class Comparison:
    """The two versions compared, and what is counted of them."""

    a: LawVersion
    b: LawVersion
    money: tuple[str, ...]
    chart: str | None
    engine: str = "columnar"
    keep_amounts: bool = True

    @classmethod
    def of(cls, a: LawVersion, b: LawVersion, *, chart: str | None = None, engine: str = "columnar",
           keep_amounts: bool = True) -> Comparison:
        money = tuple(o for o in dict.fromkeys([*a.outputs, *b.outputs])
                      if _is_money(a, o) or _is_money(b, o))
        return cls(a, b, money, chart if chart is not None else (money[0] if money else None), engine, keep_amounts)


def _is_money(law: LawVersion, name: str) -> bool:
    """A money output, as the per-row tally counts them (a computation typed money)."""
    node = law.computations.get(name)
    return node is not None and str(node.type) == "money" and name in law.outputs


def tally_part(batch: FactBatch, comparison: Comparison,
               on_results: Callable[[pa.Table, pa.Table], None] | None = None) -> PartTally:
    """Evaluate a part under both versions and count (the partition function of a distributed run);
    ``on_results`` receives the two result tables (``--rows``)."""
    part = PartTally(rows_read=batch.rows, bad_rows=batch.bad, problems=list(batch.problems))
    facts = batch.facts
    if facts.num_rows == 0:
        return part
    ra = evaluate_table(comparison.a, facts, engine=comparison.engine)
    rb = evaluate_table(comparison.b, facts, engine=comparison.engine)
    if on_results is not None:
        on_results(ra, rb)
    error_a, error_b = ra.column(ERROR), rb.column(ERROR)
    failed = _mask(pc.or_(pc.is_valid(error_a), pc.is_valid(error_b)))
    if failed.any():  # the arithmetic of a row failed: that row is bad, with the first version's message
        numbers = ra.column(ROW).to_numpy()[failed]
        messages = pc.coalesce(error_a, error_b).to_numpy(zero_copy_only=False)[failed]
        evaluation = [RowProblem(int(n), None, str(m)) for n, m in zip(numbers, messages, strict=True)]
        part.problems = sorted([*part.problems, *evaluation], key=lambda p: p.row)
        part.bad_rows += len(evaluation)
        keep = pa.array(~failed)
        ra, rb = ra.filter(keep), rb.filter(keep)
    del part.problems[MAX_PROBLEMS_KEPT:]
    part.evaluated = ra.num_rows
    _count(part.a, ra, comparison.a, comparison)
    _count(part.b, rb, comparison.b, comparison)
    pairs = np.bincount(_codes(ra.column(DECISION), DECISIONS) * len(DECISIONS) + _codes(rb.column(DECISION),
                                                                                            DECISIONS),
                        minlength=len(DECISIONS) ** 2)
    for index in np.flatnonzero(pairs).tolist():
        key = (DECISIONS[index // len(DECISIONS)], DECISIONS[index % len(DECISIONS)])
        part.transitions[key] = part.transitions.get(key, 0) + int(pairs[index])
    return part


def _codes(column: pa.ChunkedArray | pa.Array, names: tuple[str, ...]) -> np.ndarray:
    """Each row's value as its index in ``names`` (the decision or outcome columns, strings or dictionary
    encoded); -1 for null (the rows whose evaluation failed are filtered out before)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        dictionary = array.dictionary.to_pylist()
        mapping = np.array([names.index(v) if v in names else -1 for v in dictionary] + [-1], dtype=np.int64)
        indices = pc.fill_null(array.indices.cast(pa.int64()), len(dictionary))
        codes: np.ndarray = mapping[np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
        return codes
    found = pc.fill_null(pc.index_in(array.cast(pa.string()), value_set=pa.array(names, pa.string())), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _count(tally: VersionTally, results: pa.Table, law: LawVersion, comparison: Comparison) -> None:
    decision = _codes(results.column(DECISION), DECISIONS)
    rows = results.column(ROW).to_numpy()
    for index, n in enumerate(np.bincount(decision[decision >= 0], minlength=len(DECISIONS)).tolist()):
        tally.decisions[DECISIONS[index]] = tally.decisions.get(DECISIONS[index], 0) + n
    admitted = decision == DECISIONS.index("ammesso")
    for name in comparison.money:
        if name in results.column_names and _is_money(law, name):
            total = int(pc.sum(pc.filter(results.column(name), pa.array(admitted))).as_py() or 0)
            tally.cents[name] = tally.cents.get(name, 0) + total
    if comparison.keep_amounts and comparison.chart in results.column_names and comparison.chart in law.outputs:
        chart = pc.filter(results.column(comparison.chart), pa.array(admitted))
        tally.amounts.append(np.asarray(pc.drop_null(chart).to_numpy(zero_copy_only=False), dtype=np.int64))
    refused = decision == DECISIONS.index("respinto")
    if refused.any():
        first = np.full(len(rows), -1, dtype=np.int64)
        names = [node.name for node in law.requirements]
        for index, name in enumerate(names):
            outcome = _codes(results.column(requirement_column(name)), OUTCOMES)
            failed = (outcome == OUTCOMES.index("non_soddisfatto")) & refused & (first < 0)
            first[failed] = index
        counts = np.bincount(first[first >= 0], minlength=len(names))
        for position in np.flatnonzero(counts).tolist():
            seen = int(rows[int(np.argmax(first == position))])
            _seen(tally.first_failure, names[position], int(counts[position]), (seen, 0))
    undetermined = decision == DECISIONS.index("indeterminato")
    if undetermined.any():
        lists = pc.filter(results.column(MISSING), pa.array(undetermined)).combine_chunks()
        parent = pc.list_parent_indices(lists).to_numpy()
        if len(parent) == 0:
            return
        codes = pc.dictionary_encode(pc.list_flatten(lists)).combine_chunks() \
            if isinstance(pc.list_flatten(lists), pa.ChunkedArray) else pc.dictionary_encode(pc.list_flatten(lists))
        keys = codes.dictionary.to_pylist()
        indices = codes.indices.to_numpy()
        counts = np.bincount(indices, minlength=len(keys))
        _, first_at = np.unique(indices, return_index=True)  # the flattened lists are in (row, position) order
        parents = rows[undetermined][parent]
        positions = np.arange(len(indices)) - lists.offsets.to_numpy()[parent]
        for code, at in zip(np.unique(indices).tolist(), first_at.tolist(), strict=True):
            _seen(tally.missing_facts, str(keys[code]), int(counts[code]), (int(parents[at]), int(positions[at])))


def _seen(counts: dict[str, tuple[int, FirstSeen]], key: str, n: int, seen: FirstSeen) -> None:
    count, first = counts.get(key, (0, seen))
    counts[key] = (count + n, min(first, seen))


def _mask(values: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def impact_of(part: PartTally, comparison: Comparison, *, source: str, fmt: str, seconds: float) -> Impact:
    """The :class:`Impact` (report, JSON, HTML) of a merged tally."""
    impact = Impact(comparison.a, comparison.b, source, fmt, comparison.money, comparison.chart)
    impact.a = part.a.tally()
    impact.b = part.b.tally()
    impact.transitions = Counter({key: n for key, n in part.transitions.items() if n})
    impact.rows_read, impact.evaluated, impact.bad_rows = part.rows_read, part.evaluated, part.bad_rows
    impact.problems = part.problems[:MAX_PROBLEMS_KEPT]
    impact.seconds = seconds
    return impact


def measure_impact_tables(batches: Iterable[FactBatch], comparison: Comparison, *, source: str, fmt: str,
                          progress: Any = None) -> Impact:
    """The impact of a population read as fact tables, part by part, on this machine."""
    started = time.perf_counter()
    total = PartTally()
    for batch in batches:
        total.merge(tally_part(batch, comparison))
        if progress is not None:
            progress(total.rows_read)
    return impact_of(total, comparison, source=source, fmt=fmt, seconds=time.perf_counter() - started)


__all__ = ["Comparison", "PartTally", "VersionTally", "impact_of", "measure_impact_tables", "tally_part"]
