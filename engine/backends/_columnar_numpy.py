"""The columnar walker: every derived value, requirement, computation and the decision of a law version,
evaluated from the typed IR on whole numpy columns of a fact table (:mod:`._layout`), read from its Arrow
buffers (engine/backends/columnar.py turns what it gives into the result table). The only module that
computes with numpy.

How values are held, so that every row gets exactly what the Python evaluator (engine/_evaluate.py) gives:

* every value is a pair of arrays, the data and a ``known`` mask (or a scalar, for a literal or a parameter
  with one value on every row); a missing fact is ``known`` false. ``and``/``or``/``not`` and comparisons
  are Kleene's, as in the evaluator; every other function is strict, and ``se``, the list quantifiers and
  indexing by year follow the evaluator case by case. Where a boolean is unknown its data is false;
* a number (integer, money, number) is a **rational**: an integer array over a positive integer denominator
  known when compiling (money columns are cents over 100, ``70%`` is 7 over 10, ``media`` of two values
  doubles the denominator). Sums, products, comparisons and ``arrotonda`` (half up, by integer division) are
  exact integer arithmetic. Each value carries a bound on its magnitude, taken from the columns it reads;
  an operation whose result could leave 62 bits runs on Python integers (numpy object arrays) instead of
  int64, so nothing wraps. Division is by a number written in the rule only;
* dates are days since 1970-01-01 (int32 as Arrow holds them, or int64); years, months and ends of month by
  integer arithmetic, worked out once per distinct value where a column holds few (see :func:`tabulated`);
* a list of records is its Arrow offsets and one array per field over all the items: a quantifier's body is
  evaluated once over every item, and its answer per row comes from counts (or sums) over each row's items
  (an empty list gives the "none" answer, an unknown list an unknown);
* the missing facts of an undetermined row (``mancanti``) are, per fact name, a boolean over the rows, built
  by the same rules as the evaluator's ``Unknown.missing``, on the undetermined rows only;
* a row whose arithmetic fails in Python (a division by zero, a date that does not exist) is flagged:
  columnar.py evaluates those rows with the Rete kernel, which reports them as it does.

A construct the walker cannot hold (a division by a value that varies by row, ``arrotonda`` to a number of
places that is not written in the rule, a quantifier inside another) is a :class:`ColumnarError` naming the
rule and the construct, raised by columnar.check (a walk over an empty table) before any row is read.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._compile import LawVersion, Node
from .._expr import Arith, Attr, BoolOp, Call, Compare, Comprehension, Expr, Index, Lit, Neg, Not, Ref, children, render
from .._i18n import gettext
from .._types import MAP_TYPES, ListType
from ..errors import ColumnarError
from ._columnar_dates import CALENDAR_FUNCTIONS, DATE_FUNCTIONS, civil, epoch_days, make_date, stamp, tabulated
from ._layout import NUMBER_SCALE, split_year_column
from ._network import Conditions, topological

LIMIT = 2**62  # a bound past this: the operation runs on Python integers
DAY_ROWS = 8  # a table of at least this many rows a day (on average) works the values of its days out once a day
ADMITTED_SHARE = 0.5  # the computations of an admitted case run on the admitted rows alone when at most this share
_NUMBER_DEN = 10**NUMBER_SCALE
_UNIT = {"money": 100, "integer": 1, "number": _NUMBER_DEN}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


# -- values -----------------------------------------------------------------------------------------------

@dataclass
class Num:
    """A rational: ``data`` (integers) over ``den``, known where ``known``; ``bound`` caps ``abs(data)`` (for a
    column, worked out from its values when first asked: ``limit`` None until then)."""

    data: Any
    known: Any
    den: int
    limit: int | None

    @property
    def bound(self) -> int:
        if self.limit is None:
            self.limit = _bound(self.data)
        return self.limit


@dataclass
class Plain:
    """A boolean (false where unknown), a date (days), a string: ``data`` known where ``known``."""

    data: Any
    known: Any


@dataclass
class ByYear:
    """A by-year fact, read only through an index: its year columns present in the table."""

    name: str
    years: dict[int, Num]
    den: int


@dataclass
class Listed:
    """A list of records: each row's items from ``offsets[i]`` to ``offsets[i + 1]`` of each field's arrays."""

    offsets: np.ndarray
    known: Any
    fields: dict[str, Num | Plain]
    parent: np.ndarray  # the row of each item


Value = Num | Plain | ByYear | Listed
Missing = dict[str, Any]  # fact name -> where (a boolean per row of the space) it is missing


def _and(*masks: Any) -> Any:
    """The masks and-ed (a constant true one skipped, a constant false one the answer; arrays never altered)."""
    out: Any = True
    for mask in masks:
        if isinstance(mask, bool | np.bool_):
            if not mask:
                return False
            continue
        out = mask if out is True else np.logical_and(out, mask)
    return out


def _or(*masks: Any) -> Any:
    """The masks or-ed (a constant false one skipped, a constant true one the answer; arrays never altered)."""
    out: Any = False
    for mask in masks:
        if isinstance(mask, bool | np.bool_):
            if mask:
                return True
            continue
        out = mask if out is False else np.logical_or(out, mask)
    return out


def _wide(data: Any) -> Any:
    """``data`` as Python integers (an object array), where an int64 could overflow."""
    if isinstance(data, np.ndarray):
        return data if data.dtype == object else data.astype(object)
    return int(data)


def _fit(bound: int, *datas: Any) -> list[Any]:
    return [_wide(d) for d in datas] if bound > LIMIT else list(datas)


def _scaled(value: Num, den: int) -> tuple[Any, int]:
    factor = den // value.den
    if factor == 1:
        return value.data, value.bound
    bound = value.bound * factor
    (data,) = _fit(bound, value.data)
    return data * factor, bound


def _common(*values: Num) -> tuple[list[Any], int, int]:
    den = math.lcm(*(v.den for v in values))
    scaled = [_scaled(v, den) for v in values]
    bound = max(b for _, b in scaled)
    datas = [d for d, _ in scaled]
    if bound * len(values) > LIMIT:
        datas = [_wide(d) for d in datas]
    return datas, den, bound


def round_half_up(value: Num, places: int) -> Num:
    """``value`` rounded half up (away from zero at the half) to ``places`` decimals, as
    ``Decimal.quantize(..., ROUND_HALF_UP)``."""
    num, den = value.data, value.den
    if places >= 0:
        target = 10**places
        if target % den == 0:
            factor = target // den
            (num,) = _fit(value.bound * factor, num)
            return Num(num * factor if factor != 1 else num, value.known, target, value.bound * factor)
        bound = value.bound * 2 * target + den
        (num,) = _fit(bound, num)
        quotient = (np.abs(num) * (2 * target) + den) // (2 * den)
        return Num(np.where(num < 0, -quotient, quotient), value.known, target, value.bound * target // den + 1)
    unit = 10**-places
    divisor = den * unit
    (num,) = _fit(value.bound * 2 + divisor, num)
    quotient = (np.abs(num) * 2 + divisor) // (2 * divisor) * unit
    return Num(np.where(num < 0, -quotient, quotient), value.known, 1, value.bound // den + unit)


def _bound(data: Any) -> int:
    if not isinstance(data, np.ndarray):
        return abs(int(data))
    if not data.size:
        return 0
    return max(abs(int(data.min())), abs(int(data.max())))


def _count(per_item: Any, items: Listed) -> Any:
    """How many items of each row ``per_item`` (a boolean per item) holds."""
    if isinstance(per_item, bool | np.bool_) or not np.ndim(per_item):
        return np.diff(items.offsets) if per_item else 0
    return np.bincount(items.parent[per_item], minlength=len(items.offsets) - 1)


def _segments(per_item: Any, offsets: np.ndarray) -> Any:
    """The sum of ``per_item`` over each row's items (0 for an empty list)."""
    per_item = np.broadcast_to(per_item, (int(offsets[-1]),))
    total = np.concatenate([np.zeros(1, per_item.dtype if per_item.dtype == object else np.int64),
                            np.cumsum(per_item, dtype=None if per_item.dtype == object else np.int64)])
    return total[offsets[1:]] - total[offsets[:-1]]


def _fraction(value: Decimal | int) -> tuple[int, int]:
    numerator, denominator = Decimal(value).as_integer_ratio()
    return numerator, denominator


def _pick_year(key: Num, columns: dict[int, Num], hits: Callable[[int], Any] | None = None) -> tuple[Any, Any, int]:
    """Per row, the value of the column of the year ``key`` (unknown for a year without a column): only the
    years the keys reach are looked at (a population's keys span a year or two). ``hits``, when given, says
    for a year where the key is that year and known (the rows' keys looked up from their days' keys)."""
    keys = np.asarray(key.data)
    reached = keys[np.asarray(key.known, dtype=bool)] if hits is not None and keys.ndim and key.known is not True \
        else keys
    if reached.ndim and reached.size:
        low, high = int(reached.min()), int(reached.max())
        columns = {year: column for year, column in columns.items() if low <= year <= high}
    elif reached.size:
        columns = {year: column for year, column in columns.items() if year == int(reached)}
    if not columns:
        return 0, False, 0
    given = hits is not None
    if hits is None:
        def hits(year: int) -> Any:
            return np.equal(keys, year)
    bound = max(column.bound for column in columns.values())
    ordered = sorted(columns.items())
    data = ordered[0][1].data  # the first year's column, then each other's where the key says so
    known = _and(hits(ordered[0][0]), ordered[0][1].known)
    for year, column in ordered[1:]:
        hit = hits(year)
        # data + hit × (column - data): arithmetic, where np.where would branch on a mask that follows no order
        width = 2 * max(bound, 1)
        step, base = _fit(width, column.data, data)
        data = base + hit * (step - base)
        known = _or(known, _and(hit, column.known))
    return data, known if given else _and(known, key.known), bound


# -- reading Arrow columns ----------------------------------------------------------------------------------

def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """A bitmap of Arrow (validity, booleans) as a numpy boolean array."""
    first = offset // 8
    raw = np.frombuffer(buffer, dtype=np.uint8)[first:(offset + length + 7) // 8 + 1]
    return np.unpackbits(raw, bitorder="little")[offset - 8 * first:offset - 8 * first + length].view(bool)


def _valid(array: pa.Array) -> Any:
    if not array.null_count:
        return True
    if array.buffers()[0] is None:  # pragma: no cover - an array of nulls only
        return np.zeros(len(array), bool)
    return _bits(array.buffers()[0], array.offset, len(array))


def _fixed(array: pa.Array, dtype: str) -> np.ndarray:
    """The values of a fixed-width array, without copying (null slots hold whatever the buffer holds)."""
    buffer = array.buffers()[1]
    if buffer is None:
        return np.zeros(len(array), dtype)
    return np.frombuffer(buffer, dtype=dtype)[array.offset:array.offset + len(array)]


def _decimal(array: pa.Array) -> np.ndarray:
    """The unscaled integers of a decimal128 array: int64 when every one fits, Python integers otherwise."""
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[2 * array.offset:2 * (array.offset + len(array))]
    low, high = words[0::2], words[1::2]
    if np.array_equal(high, low >> 63):
        return low
    wide: np.ndarray = high.astype(object) * 2**64 + (low.astype(object) % 2**64)
    return wide


def read_column(array: pa.Array, ftype: str) -> Num | Plain:
    """One column of the layout as a value of the walker."""
    known = _valid(array)
    if ftype in ("money", "integer", "money_by_year", "integer_by_year"):
        data = _fixed(array, "<i8")
        return Num(data, known, 100 if ftype.startswith("money") else 1, None)
    if ftype == "number":
        return Num(_decimal(array), known, _NUMBER_DEN, None)
    if ftype == "date":
        return Plain(_fixed(array, "<i4"), known)  # days, int32, not copied
    if ftype == "boolean":
        data = _bits(array.buffers()[1], array.offset, len(array))
        return Plain(data & known if known is not True else data, known)
    return Plain(np.asarray(pc.fill_null(array, "").to_numpy(zero_copy_only=False), dtype=object), known)


def _read_list(array: pa.ListArray, ltype: ListType) -> Listed:
    buffer = array.buffers()[1]
    width = np.int64 if pa.types.is_large_list(array.type) else np.int32  # large_list: 64-bit offsets
    offsets = np.frombuffer(buffer, dtype=width)[array.offset:array.offset + len(array) + 1] if buffer \
        else np.zeros(len(array) + 1, width)
    first, last = int(offsets[0]), int(offsets[-1])
    items = array.values.slice(first, last - first)
    if first:
        offsets = offsets - first
    counts = np.diff(offsets)
    filled = np.flatnonzero(counts > 0)  # the rows with items: few, where np.repeat over every row holds the GIL
    parent = np.repeat(filled, counts[filled])
    fields: dict[str, Num | Plain] = {}
    struct_known = _valid(items)
    for (name, ftype), child in zip(ltype.fields, items.flatten(), strict=True):
        value = read_column(child, str(ftype))
        value.known = _and(value.known, struct_known)
        fields[name] = value
    return Listed(offsets, _valid(array), fields, parent)


# -- the walker -----------------------------------------------------------------------------------------------

class _Values(dict[str, Value]):
    """The walker's values by name. A value of the days of the selecting date (``days``, each row's day at
    ``position`` among them) is looked up by row the first time it is read, and one computed later
    (``deferred``) when first read: one that is never read costs nothing. The values of a walker of some
    ``rows`` of another (``parent``) are the parent's at those rows, taken when read."""

    def __init__(self, parent: _Values | None = None, rows: np.ndarray | None = None) -> None:
        super().__init__()
        self.deferred: dict[str, Callable[[], Value]] = {}
        self.parent = parent
        self.rows = rows
        self.days: dict[str, Value] = parent.days if parent is not None else {}
        self.position: np.ndarray | None = None
        if parent is not None and parent.position is not None and rows is not None:
            self.position = parent.position[rows]

    def __missing__(self, name: str) -> Value:
        if name in self.days and self.position is not None:
            value = _looked_up(self.days[name], self.position)
        elif name in self.deferred:
            value = self.deferred.pop(name)()
        elif self.parent is not None and self.rows is not None and name in self.parent:
            value = _taken(self.parent[name], self.rows)
        else:
            raise KeyError(name)
        self[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self.deferred or (name in self.days and self.position
                                                                          is not None) or (
            self.parent is not None and name in self.parent)


def _taken(value: Value, rows: np.ndarray) -> Value:
    """``value`` at ``rows`` only (indices of the rows)."""
    if isinstance(value, ByYear):
        return ByYear(value.name, {year: Num(_at(column.data, rows), _at(column.known, rows), column.den,
                                             column.limit) for year, column in value.years.items()}, value.den)
    if isinstance(value, Listed):
        counts = np.diff(value.offsets)[rows] if len(rows) else np.zeros(0, np.int64)
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        items = np.repeat(value.offsets[:-1][rows] - offsets[:-1], counts) + np.arange(offsets[-1])
        fields = {name: _looked_up(field, items) for name, field in value.fields.items()}
        return Listed(offsets, _at(value.known, rows), fields, np.repeat(np.arange(len(rows)), counts))  # type: ignore[arg-type]
    return _looked_up(value, rows)


def _spread_out(value: Value, rows: np.ndarray, n: int) -> Value:
    """A value of the ``rows`` (indices) of a table of ``n`` rows, on every row: unknown on the others."""
    assert isinstance(value, Num | Plain)
    known = np.zeros(n, bool)
    known[rows] = value.known
    data = value.data
    if isinstance(data, np.ndarray) and data.ndim:
        full = np.zeros(n, data.dtype) if data.dtype != object else np.full(n, "" if isinstance(value, Plain) else 0,
                                                                            dtype=object)
        full[rows] = data
        data = full
    if isinstance(value, Num):
        return Num(data, known, value.den, value.limit)
    return Plain(data & known if isinstance(data, np.ndarray) and data.dtype == bool else data, known)


def by_date_only(law: LawVersion) -> frozenset[str]:
    """The derived values, computations and requirements of ``law`` that read, directly or through each other,
    nothing but the selecting date and the parameters (which the selecting date selects): functions of the day,
    worked out once per day when a table holds many rows a day (ISCRO's year of the application, its deadline,
    the window; its end date)."""
    allowed = {law.selected_by, *law.parameters}
    found: set[str] = set()
    for node in topological(list(law.derived.values()) + list(law.computations.values())):
        if node.reads <= allowed | found:
            found.add(node.name)
    found.update(node.name for node in law.requirements if node.reads <= allowed | found)
    return frozenset(found)


def _looked_up(value: Value, position: np.ndarray) -> Value:
    """A value of the days, per row: each row's day is ``position`` in the days."""
    if isinstance(value, Num):
        return Num(_at(value.data, position), _at(value.known, position), value.den, value.bound)
    assert isinstance(value, Plain)
    return Plain(_at(value.data, position), _at(value.known, position))


def _at(data: Any, position: np.ndarray) -> Any:
    return np.take(data, position) if isinstance(data, np.ndarray) and data.ndim else data


@dataclass
class _Days:
    """What a walk of a range of days gives: the parameters and the values of the selecting date alone, the
    requirements among them, and where (which days) each failing value fails (true: a gated computation)."""

    values: dict[str, Value]
    requirements: dict[str, Plain]
    failures: list[tuple[np.ndarray, bool]]
    keys: dict[int, Num] = field(default_factory=dict)  # by id: the keys of year indexing that are day values


_DAY_WALKS: dict[tuple[int, int, int, bool], tuple[LawVersion, _Days]] = {}  # the latest, by law and range of days
_DAY_LOCK = threading.Lock()


def _day_values(law: LawVersion, days: np.ndarray, wide: bool) -> _Days:
    """The walk of one row per day of ``days`` (only the selecting date known), kept for the next slice of the
    same table (slices of one population span the same days)."""
    key = (id(law), int(days[0]), int(days[-1]), wide)
    with _DAY_LOCK:
        found = _DAY_WALKS.get(key)
    if found is not None and found[0] is law:
        return found[1]
    table = pa.table({law.selected_by: pa.Array.from_buffers(pa.date32(), len(days), [None, pa.py_buffer(days)])})
    walker = Walker(law, table, wide=wide, domain_of=True)
    walker._facts()
    walker._parameters()
    names = by_date_only(law)
    result = _Days({}, {}, [])
    for node in topological(list(law.derived.values()) + list(law.computations.values())):
        if node.name in names:
            walker.node = node
            local: list[Any] = []
            walker.values[node.name] = walker._value(node.expr, _ROWS, local)
            if local:
                result.failures.append((np.broadcast_to(_or(*local), (len(days),)), node.name in walker.gated))
    for node in law.requirements:
        if node.name in names:
            walker.node = node
            local = []
            value = walker._value(node.expr, _ROWS, local)
            assert isinstance(value, Plain)
            result.requirements[node.name] = value
            if local:
                result.failures.append((np.broadcast_to(_or(*local), (len(days),)), False))
    result.values = {name: walker.values[name] for name in [*law.parameters, *names] if name in walker.values}
    day_names = names | set(law.parameters) | {law.selected_by}
    for node in law.nodes():
        for index in _indexes(node.expr):
            if _reads(index.index) <= day_names and not _has_comprehension(index.index):
                walker.node = node
                local = []
                result.keys[id(index.index)] = walker._num(index.index, _ROWS, local)
                if local:  # the indexing reads this key, not its own: the days where the key fails fail its node
                    result.failures.append((np.broadcast_to(_or(*local), (len(days),)), node.name in walker.gated))
    walker.node = None
    with _DAY_LOCK:  # slices on several threads: one at a time here
        while len(_DAY_WALKS) >= 8:
            _DAY_WALKS.pop(next(iter(_DAY_WALKS)))
        _DAY_WALKS[key] = (law, result)
    return result


def _indexes(expr: Expr) -> list[Index]:
    """The indexings by year in ``expr`` (outside list quantifiers, whose keys vary by item)."""
    if isinstance(expr, Comprehension):
        return []
    found = [expr] if isinstance(expr, Index) else []
    for child in children(expr):
        found += _indexes(child)
    return found


def _reads(expr: Expr) -> set[str]:
    return {expr.name} if isinstance(expr, Ref) else set().union(*(_reads(c) for c in children(expr)))


def _has_comprehension(expr: Expr) -> bool:
    return isinstance(expr, Comprehension) or any(_has_comprehension(c) for c in children(expr))


@dataclass
class _Scope:
    """The variable of the list quantifier around an expression, and the list it runs over (None: the rows)."""

    variable: str | None = None
    items: Listed | None = None


_ROWS = _Scope()


class Walker:
    """Evaluates one law version on one fact table (``facts``; None to check the law only, on no rows)."""

    def __init__(self, law: LawVersion, facts: pa.Table | None, *, wide: bool = False,
                 domain_of: object = None) -> None:
        self.law = law
        self.domain_of = domain_of  # set for a walker of the days of the selecting dates, or of some rows
        self.facts = facts
        self.n = facts.num_rows if facts is not None else 0
        self.wide = wide
        self.columns = frozenset(facts.column_names) if facts is not None else frozenset()
        self.types: dict[str, Any] = {name: fact.type for name, fact in law.facts.items()}
        self.types.update({name: p.type for name, p in law.parameters.items()})
        self.types.update({node.name: node.type for node in law.nodes() if node.kind != "requirement"})
        self.nodes = {node.name: node for node in law.nodes() if node.kind != "requirement"}
        self.values = _Values()
        self.node: Node | None = None
        self.gated = frozenset(law.computations) if law.computations_for == "admitted" else frozenset()
        conditions = Conditions({n: t for n, t in self.types.items() if isinstance(t, str)})
        self.network_reads: dict[str, tuple[Expr, ...]] = {}
        for node in law.nodes():
            if node.kind != "requirement" and node.type == "boolean" and not conditions.wholly_in_python(node.expr):
                true_rule, _ = conditions.boolean_rules(node.expr)
                self.network_reads[node.name] = tuple(conditions.synthetic[s].expr
                                                      for s in conditions.synthetic_in(true_rule))
        self.requirements: dict[str, Plain] = {}
        self.decision: Plain = Plain(True, True)
        self.errors: list[Any] = []
        self._gated_errors: list[Any] = []
        self._days_found: _Days | None = None
        self._selecting: Any = None  # the selecting dates of the rows, when worked out by day
        self._day_range: np.ndarray = np.zeros(0, np.int32)
        self._position: np.ndarray = np.zeros(0, np.intp)
        self._hits: dict[bytes, Any] = {}
        self._calendar: dict[int, tuple[Any, tuple[Any, Any, Any]]] = {}
        self._stamps: dict[int, tuple[Any, Any]] = {}
        self._periods: dict[tuple[tuple[int, int | None], ...], tuple[Any, Any]] = {}

    def stamp(self, days: Any) -> Any:
        """Each day as the integer YYYYMMDD (int32), once per array (the selecting dates: once a day)."""
        found = self._stamps.get(id(days))
        if found is None or found[0] is not days:
            if days is self._selecting:
                found = (days, np.take(stamp(self._day_range), self._position))
            else:
                found = (days, tabulated("stamp", lambda d: (stamp(d), None), [days])[0])
            self._stamps[id(days)] = found
        return found[1]

    def calendar(self, days: Any) -> tuple[Any, Any, Any]:
        """(year, month, day) of ``days``, worked out once per array (a date column is read by many rules; the
        selecting dates: once a day)."""
        found = self._calendar.get(id(days))
        if found is None or found[0] is not days:
            if days is self._selecting:
                year, month, day = civil(self._day_range)
                found = (days, (np.take(year, self._position), np.take(month, self._position),
                                np.take(day, self._position)))
            else:
                found = (days, civil(days))
            self._calendar[id(days)] = found
        return found[1]

    # -- errors -------------------------------------------------------------------------------------------
    def refuse(self, construct: str, expr: Expr) -> ColumnarError:
        where = f"{self.node.kind} {self.node.name!r}" if self.node else gettext("an expression")
        return ColumnarError(gettext("{file}: {where}: {construct} cannot be compiled for the columnar backend "
                               "(in {expr!r}, line {line} column {column}); use --engine rete").format(
                                   file=self.law.path, where=where, construct=construct, expr=render(expr),
                                   line=expr.pos.line, column=expr.pos.column),
                             rule=self.node.name if self.node else None)

    # -- the whole law version ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Every node, requirement and the decision; ``errors`` the rows whose arithmetic fails."""
        self._facts()
        days = self._days()
        if days is not None:  # the values of the selecting date alone: once per day, looked up by row
            self._by_days(*days)
        else:
            self._parameters()
        gated_errors: list[Any] = []
        for node in topological(list(self.law.derived.values()) + list(self.law.computations.values())):
            if node.name in self.values or node.name in self.gated:
                continue
            self.node = node
            local: list[Any] = []
            self.values[node.name] = self._value(node.expr, _ROWS, local)
            (gated_errors if node.name in self.gated else self.errors).extend(local)
        for node in self.law.requirements:
            if node.name in self.requirements:
                continue
            self.node = node
            value = self._value(node.expr, _ROWS, self.errors)
            assert isinstance(value, Plain)
            self.requirements[node.name] = value
        self.node = None
        self.requirements = {node.name: self.requirements[node.name] for node in self.law.requirements}
        self.decision = self._boolop("and", list(self.requirements.values())) if self.requirements \
            else Plain(True, True)
        self._computations(gated_errors)
        gated_errors.extend(self._gated_errors)
        if gated_errors:
            self.errors.append(_and(_or(*gated_errors), self.decision.data))

    def _computations(self, errors: list[Any]) -> None:
        """The computations worked out only for an admitted case (``gated``): on the admitted rows alone when they
        are at most ADMITTED_SHARE of the table (each value they read taken at those rows, each result spread
        back, unknown elsewhere), else on every row."""
        todo = [node for node in topological(list(self.law.computations.values())) if node.name not in self.values
                and node.name in self.gated]
        if not todo:
            return
        rows = np.flatnonzero(np.broadcast_to(self.decision.data, (self.n,)))
        walker = self if len(rows) > ADMITTED_SHARE * self.n else self.subset(rows, outcomes=False)
        day_values = self._days_found.values if self._days_found else {}
        for node in todo:
            if node.name in day_values:  # a value of the day: looked up at the rows
                value = day_values[node.name]
                assert isinstance(value, Num | Plain)
                walker.values[node.name] = _looked_up(value, self._position if walker is self else self._position[rows])
                continue
            walker.node = node
            local: list[Any] = []
            walker.values[node.name] = walker._value(node.expr, _ROWS, local)
            if local and walker is self:
                errors.extend(local)
            elif local:
                flagged = np.zeros(self.n, bool)
                flagged[rows] = np.broadcast_to(_or(*local), (len(rows),))
                errors.append(flagged)
        walker.node = None
        if walker is not self:
            for node in todo:
                self.values.deferred[node.name] = partial(_spread_out, walker.values[node.name], rows, self.n)

    def subset(self, rows: np.ndarray, *, outcomes: bool = True) -> Walker:
        """A walker of some ``rows`` (indices) of this one's table, after its run: each value taken at those rows
        when read, and each requirement's outcome and the decision when ``outcomes`` (to work out what only
        those rows need)."""
        walker = Walker(self.law, None, wide=self.wide, domain_of=self)
        walker.n = len(rows)
        walker.values = _Values(self.values, rows)
        if outcomes:
            walker.requirements = {name: Plain(_at(value.data, rows), _at(value.known, rows))
                                   for name, value in self.requirements.items()}
            walker.decision = Plain(_at(self.decision.data, rows), _at(self.decision.known, rows))
        walker._days_found = self._days_found
        walker._position = self._position[rows] if self._days_found is not None else self._position
        return walker

    def _day_hits(self, key: Num) -> Callable[[int], Any]:
        """For a key of the day, a function giving the rows where it is a year and known (one lookup a year,
        shared by the keys hitting the same days)."""

        def hits(year: int) -> Any:
            on_days = _and(np.equal(key.data, year), key.known)
            if not isinstance(on_days, np.ndarray) or not on_days.ndim:
                return bool(on_days)
            found = self._hits.get(on_days.tobytes())
            if found is None:
                found = self._hits[on_days.tobytes()] = np.take(on_days, self._position)
            return found

        return hits

    def _days(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The days from the first to the last selecting date of the table, and each row's position among them,
        when the table holds at least DAY_ROWS rows a day on average (else None: each row works its values out)."""
        day = self.values[self.law.selected_by]
        if self.domain_of is not None or not isinstance(day, Plain) or not isinstance(day.data, np.ndarray) \
                or day.known is not True or not day.data.size:
            return None
        low, high = int(day.data.min()), int(day.data.max())
        if (high - low + 1) * DAY_ROWS > self.n:
            return None
        self._selecting, self._day_range = day.data, np.arange(low, high + 1, dtype=np.int32)
        return self._day_range, np.subtract(day.data, low, dtype=np.intp)

    def _by_days(self, days: np.ndarray, position: np.ndarray) -> None:
        """The parameters and the values of the selecting date alone (:func:`by_date_only`) from the walk of
        ``days`` (:func:`_day_values`), each looked up by row when first read; the rows whose day makes one fail,
        flagged."""
        found = self._days_found = _day_values(self.law, days, self.wide)
        self._position = self.values.position = position
        # the gated computations are looked up at the admitted rows only (_computations)
        self.values.days.update((name, value) for name, value in found.values.items() if name not in self.gated)
        for name, value in found.requirements.items():
            self.requirements[name] = Plain(_at(value.data, position), _at(value.known, position))
        for failed, gated in found.failures:
            (self._gated_errors if gated else self.errors).append(_at(failed, position))

    def error_rows(self) -> Any:
        return _or(False, *self.errors)

    def _facts(self) -> None:
        years: dict[str, list[int]] = {}
        for column in self.columns:
            split = split_year_column(column)
            if split and split[0] in self.law.facts:
                years.setdefault(split[0], []).append(split[1])
        for name, fact in self.law.facts.items():
            ftype = fact.type
            if isinstance(ftype, str) and ftype in MAP_TYPES:
                found: dict[int, Num] = {}
                for year in sorted(years.get(name, ())):
                    column = self._widened(read_column(self._column(f"{name}.{year}"), ftype))
                    assert isinstance(column, Num)
                    found[year] = column
                self.values[name] = ByYear(name, found, 100 if ftype == "money_by_year" else 1)
            elif isinstance(ftype, ListType):
                self.values[name] = (_read_list(self._column(name), ftype) if name in self.columns
                                     else Listed(np.zeros(self.n + 1, np.int64), False, {}, np.zeros(0, np.int64)))
            elif name in self.columns:
                value = read_column(self._column(name), str(ftype))
                self.values[name] = self._widened(value) if isinstance(value, Num) else value
            elif ftype in _UNIT:
                self.values[name] = Num(0, False, _UNIT[str(ftype)], 0)
            else:
                self.values[name] = Plain(0 if ftype == "date" else "" if ftype == "string" else False, False)

    def _column(self, name: str) -> pa.Array:
        assert self.facts is not None
        column = self.facts.column(name)
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()

    def _widened(self, value: Num | Plain) -> Num | Plain:
        if self.wide and isinstance(value, Num):
            value.data = _wide(value.data)
        return value

    def _parameters(self) -> None:
        """Each parameter's value on each row's own selecting date: a constant when one value is in force on
        every row's date, unknown where the version has none."""
        day = self.values[self.law.selected_by]
        assert isinstance(day, Plain)
        days = np.asarray(day.data)
        first, last = (int(days.min()), int(days.max())) if days.size else (0, -1)
        for name, parameter in self.law.parameters.items():
            known = []
            for v in parameter.values:
                if v.value is None:
                    continue
                start = epoch_days(v.valid_from)
                end = epoch_days(v.valid_to) if v.valid_to else None
                if start <= last and (end is None or first <= end):
                    known.append((start, end, v.value))
            numeric = parameter.type in _UNIT
            den = math.lcm(1, *(_fraction(v)[1] for _, _, v in known)) if numeric else 1

            def literal(value: Any, den: int = den, numeric: bool = numeric, date: bool = parameter.type == "date",
                        ) -> Any:
                if numeric:
                    numerator, denominator = _fraction(value)
                    return numerator * (den // denominator)
                return epoch_days(value) if date else value

            if len(known) == 1 and known[0][0] <= first and (known[0][1] is None or last <= known[0][1]):
                data: Any = literal(known[0][2])
                mask: Any = True
            elif not known:
                data, mask = literal(0) if numeric else False, False
            else:
                values = [literal(v) for _, _, v in known]
                wide = numeric and max(abs(v) for v in values) > LIMIT
                table = np.array(values, dtype=object if wide or parameter.type == "string" else None)
                period, mask = self._period(days, tuple((start, end) for start, end, _ in known))
                data = np.take(table, period)
            if numeric:
                self.values[name] = Num(_wide(data) if self.wide else data, mask, den, _bound(data))
            else:
                self.values[name] = Plain(data, mask)

    def _period(self, days: np.ndarray, periods: tuple[tuple[int, int | None], ...]) -> tuple[Any, Any]:
        """Per row, the index of the first of ``periods`` (first day, last day or None) holding its day, and
        whether one does (the parameters that change on the same days share the work)."""
        found = self._periods.get(periods)
        if found is not None:
            return found
        ordered = all(end is not None and end < periods[i + 1][0] for i, (_, end) in enumerate(periods[:-1]))
        if ordered:  # one pass per period: the index of the last period begun by the day
            begun: Any = np.zeros(len(days), np.intp)
            for start, _ in periods[1:]:
                begun += days >= start
            last = periods[-1][1]
            mask: Any = (days >= periods[0][0]) & (days <= last if last is not None else True)
            for index, (_, end) in enumerate(periods[:-1]):
                mask &= (begun != index) | (days <= end)
        else:
            where = [(days >= s) & (days <= e) if e is not None else days >= s for s, e in periods]
            begun = np.select(where, list(range(len(periods))), default=0).astype(np.intp)
            mask = _or(*where)
        if np.all(mask):
            mask = True
        self._periods[periods] = (begun, mask)
        return begun, mask

    # -- values -------------------------------------------------------------------------------------------
    def _value(self, expr: Expr, scope: _Scope, errors: list[Any]) -> Value:
        match expr:
            case Lit(kind="boolean", value=v):
                return Plain(bool(v), True)
            case Lit(kind="string", value=v):
                return Plain(v, True)
            case Lit(value=v):
                numerator, denominator = _fraction(v)
                return Num(_wide(numerator) if self.wide else numerator, True, denominator, abs(numerator))
            case Ref(name=name) if name == scope.variable:
                raise self.refuse(gettext("a list record used whole"), expr)
            case Ref(name=name):
                return self._gather(self._ref(name), scope, expr)
            case Neg(operand=o):
                number = self._num(o, scope, errors)
                return Num(-number.data, number.known, number.den, number.bound)
            case Not(operand=o):
                inner = self._bool(o, scope, errors)
                return Plain(_and(np.logical_not(inner.data), inner.known), inner.known)
            case BoolOp(op=op, operands=ops):
                return self._boolop(op, [self._bool(o, scope, errors) for o in ops])
            case Arith():
                return self._arith(expr, scope, errors)
            case Compare(op=op, left=a, right=b):
                left, right = self._value(a, scope, errors), self._value(b, scope, errors)
                known = _and(left.known, right.known)  # type: ignore[union-attr]
                if isinstance(left, Num) and isinstance(right, Num):
                    (ls, rs), _, _ = _common(left, right)
                    return Plain(_and(_COMPARE[op](ls, rs), known), known)
                assert isinstance(left, Plain)
                assert isinstance(right, Plain)
                return Plain(_and(_COMPARE[op](left.data, right.data), known), known)
            case Index(target=t, index=i):
                target = self._value(t, scope, errors)
                if not isinstance(target, ByYear):
                    raise self.refuse(gettext("indexing something that is not a fact by year"), expr)
                day_key = self._days_found.keys.get(id(i)) if self._days_found and scope.items is None else None
                if day_key is not None:  # a key of the day: where each year is hit, looked up by row
                    data, known, bound = _pick_year(day_key, target.years, self._day_hits(day_key))
                    return Num(data, known, target.den, bound)
                key = self._num(i, scope, errors)
                columns = {year: self._gather(column, scope, expr) for year, column in target.years.items()}
                data, known, bound = _pick_year(key, columns)  # type: ignore[arg-type]
                return Num(data, known, target.den, bound)
            case Attr(target=Ref(name=variable), name=name) if variable == scope.variable:
                assert scope.items is not None
                found = scope.items.fields.get(name)
                if found is None:  # a list absent from the table: no items at all
                    ftype = str(self._list_type(expr).field(name))
                    return Num(np.zeros(0, np.int64), np.zeros(0, bool), _UNIT[ftype], 0) if ftype in _UNIT \
                        else Plain(np.zeros(0, np.int64), np.zeros(0, bool))
                return self._widened(found) if isinstance(found, Num) else found
            case Call():
                return self._call(expr, scope, errors)
        raise self.refuse(type(expr).__name__, expr)

    def _list_type(self, expr: Expr) -> ListType:
        for name, ftype in self.types.items():
            if isinstance(ftype, ListType) and name in self.law.facts and isinstance(expr, Attr) \
                    and expr.name in dict(ftype.fields):
                return ftype
        raise self.refuse(gettext("a field of no list"), expr)  # pragma: no cover - the type checker prevents it

    def _ref(self, name: str) -> Value:
        if name not in self.values:  # pragma: no cover - the compiler orders the nodes
            raise ColumnarError(gettext("{version}: {name!r} read before it is computed").format(
                version=self.law.key, name=name))
        return self.values[name]

    def _gather(self, value: Value, scope: _Scope, expr: Expr) -> Value:
        """A value of the rows, read inside a quantifier: the value of each item's row."""
        if scope.items is None or isinstance(value, ByYear):
            return value
        if isinstance(value, Listed):
            raise self.refuse(gettext("a list quantifier inside another"), expr)
        parent = scope.items.parent
        data = value.data[parent] if isinstance(value.data, np.ndarray) else value.data
        known = value.known[parent] if isinstance(value.known, np.ndarray) else value.known
        if isinstance(value, Num):
            return Num(data, known, value.den, value.bound)
        return Plain(data, known)

    def _bool(self, expr: Expr, scope: _Scope, errors: list[Any]) -> Plain:
        value = self._value(expr, scope, errors)
        assert isinstance(value, Plain)
        return value

    def _num(self, expr: Expr, scope: _Scope, errors: list[Any]) -> Num:
        value = self._value(expr, scope, errors)
        if not isinstance(value, Num):  # pragma: no cover - the type checker allows numbers only here
            raise self.refuse(gettext("a number expected"), expr)
        return value

    @staticmethod
    def _boolop(op: str, values: list[Plain]) -> Plain:
        """Kleene's ``and``/``or``: false (true) when one operand is, else unknown when one is."""
        if op == "and":
            data = _and(*(v.data for v in values))
            decided = _or(*(_and(v.known, np.logical_not(v.data)) for v in values))
        else:
            data = _or(*(v.data for v in values))
            decided = _or(*(v.data for v in values))
        known = _or(_and(*(v.known for v in values)), decided)
        return Plain(data, known)

    def _arith(self, expr: Arith, scope: _Scope, errors: list[Any]) -> Num:
        left, right = self._num(expr.left, scope, errors), self._num(expr.right, scope, errors)
        known = _and(left.known, right.known)
        if expr.op in "+-":
            (ls, rs), den, bound = _common(left, right)
            return Num(ls + rs if expr.op == "+" else ls - rs, known, den, 2 * bound)
        if expr.op == "*":
            bound = left.bound * right.bound
            ls, rs = _fit(bound, left.data, right.data)
            return Num(ls * rs, known, left.den * right.den, bound)
        # a / (rn / rd) = a * rd / rn: a divisor written in the rule keeps the denominator known when compiling
        constant = self._constant(expr.right)
        if constant is None:
            raise self.refuse(gettext("a division by a value that varies from row to row"), expr)
        numerator, denominator = _fraction(constant)
        if numerator == 0:
            errors.append(left.known)
            return Num(0, False, 1, 0)
        sign = -1 if numerator < 0 else 1
        bound = left.bound * denominator
        (ls,) = _fit(bound, left.data)
        return Num(ls * (sign * denominator), left.known, left.den * abs(numerator), bound)

    def _constant(self, expr: Expr) -> Decimal | int | None:
        """The value of a number written in the rule (``2``, ``-1``, ``25%``); None for anything else."""
        if isinstance(expr, Lit) and isinstance(expr.value, int | Decimal) and not isinstance(expr.value, bool):
            return expr.value
        if isinstance(expr, Neg):
            inner = self._constant(expr.operand)
            return None if inner is None else -inner
        return None

    def _call(self, expr: Call, scope: _Scope, errors: list[Any]) -> Value:
        name, args = expr.function, expr.args
        if name == "definito":
            (arg,) = args
            return Plain(np.logical_not(self._is_null(self._value(arg, scope, errors))), True)
        if name == "se":
            return self._if(expr, scope, errors)
        if args and isinstance(args[0], Comprehension):
            return self._quantifier(name, args[0], scope, errors)
        if name in ("min", "max", "media"):
            values = [self._value(a, scope, errors) for a in args]
            known = _and(*(v.known for v in values))  # type: ignore[union-attr]
            if all(isinstance(v, Num) for v in values):
                nums = [v for v in values if isinstance(v, Num)]
                scaled, den, bound = _common(*nums)
                if name == "media":
                    return Num(sum(scaled[1:], scaled[0]), known, den * len(nums), bound * len(nums))
                pick = np.minimum if name == "min" else np.maximum
                out = scaled[0]
                for data in scaled[1:]:
                    out = pick(out, data)
                return Num(out, known, den, bound)
            pick = np.minimum if name == "min" else np.maximum
            plain = [v.data for v in values if isinstance(v, Plain)]
            out = plain[0]
            for data in plain[1:]:
                out = pick(out, data)
            return Plain(out, known)
        if name == "arrotonda":
            value = self._num(args[0], scope, errors)
            places = self._constant(args[1])
            if not isinstance(places, int):
                raise self.refuse(gettext("arrotonda to a number of places not written in the rule"), expr)
            return round_half_up(value, places)
        values = [self._value(a, scope, errors) for a in args]
        known = _and(*(v.known for v in values))  # type: ignore[union-attr]
        data = [v.data for v in values]  # type: ignore[union-attr]
        if name not in DATE_FUNCTIONS and name not in CALENDAR_FUNCTIONS:
            raise self.refuse(gettext("the function {name}").format(name=name), expr)
        result, exists = tabulated(name, lambda *a: self._date_function(name, *a), data)
        if exists is not None:  # data(): a date that does not exist is an error of that row
            errors.append(_and(known, np.logical_not(exists)))
            known = _and(known, exists)
        if name in DATE_FUNCTIONS or name == "data":
            return Plain(result, known)
        return Num(result, known, 1, 2**33)

    def _date_function(self, name: str, *data: Any) -> tuple[Any, Any]:
        """A function of dates on arrays: its result, and where it exists (None: everywhere)."""
        if name in DATE_FUNCTIONS:
            return DATE_FUNCTIONS[name](self.calendar, *data), None
        match name:
            case "anno":
                return self.calendar(data[0])[0], None
            case "mese":
                return self.calendar(data[0])[1], None
            case "data":
                return make_date(*data)
            case "anni_compiuti":  # YYYYMMDD of the end less that of the start, in whole 10,000s
                start, end = data
                return ((self.stamp(end) - self.stamp(start)) // 10_000).astype(np.int64), None
            case "giorni_tra":
                return np.asarray(data[1] - data[0], dtype=np.int64), None
        start, end = data  # settimane
        return np.where(end < start, 0, (end - start + 7) // 7).astype(np.int64), None

    def _is_null(self, value: Value) -> Any:
        if isinstance(value, ByYear):
            return np.logical_not(_or(False, *(column.known for column in value.years.values())))
        return np.logical_not(value.known)

    def _if(self, expr: Call, scope: _Scope, errors: list[Any]) -> Value:
        condition = self._bool(expr.args[0], scope, errors)
        then, other = self._value(expr.args[1], scope, errors), self._value(expr.args[2], scope, errors)
        yes = _and(condition.known, condition.data)
        no = _and(condition.known, np.logical_not(condition.data))
        if isinstance(then, Num) and isinstance(other, Num):
            (ts, os_), den, bound = _common(then, other)
        elif isinstance(then, Plain) and isinstance(other, Plain):
            (ts, os_), den, bound = (then.data, other.data), 0, 0
        else:
            raise self.refuse(gettext("se() whose branches are of different kinds"), expr)
        agree = _and(np.logical_not(condition.known), then.known, other.known, np.equal(ts, os_))
        known = _or(_and(yes, then.known), _and(no, other.known), agree)
        data = np.where(yes, ts, np.where(no, os_, ts))
        if isinstance(then, Num):
            return Num(data, known, den, bound)
        if data.dtype == bool:  # a boolean: false where unknown
            data = _and(data, known)
        return Plain(data, known)

    def _items(self, comprehension: Comprehension, scope: _Scope) -> tuple[Listed, _Scope]:
        iterable = comprehension.iterable
        if not isinstance(iterable, Ref) or not isinstance(self.types.get(iterable.name), ListType):
            raise self.refuse(gettext("a list quantifier over something other than a list fact"), comprehension)
        if scope.items is not None:
            raise self.refuse(gettext("a list quantifier inside another"), comprehension)
        items = self._ref(iterable.name)
        assert isinstance(items, Listed)
        return items, _Scope(comprehension.variable, items)

    def _quantifier(self, name: str, comprehension: Comprehension, scope: _Scope, errors: list[Any]) -> Value:
        items, inner = self._items(comprehension, scope)
        body_errors: list[Any] = []
        body = self._value(comprehension.body, inner, body_errors)
        offsets = items.offsets
        if body_errors:
            errors.append(_and(items.known, _count(_or(*body_errors), items) > 0))
        unknown_items = _count(np.logical_not(body.known), items) if isinstance(body, Num | Plain) else 0
        if name in ("qualcuno", "nessuno", "tutti"):
            assert isinstance(body, Plain)
            test = body.data if name != "tutti" else _and(np.logical_not(body.data), body.known)
            found = _count(test, items) > 0
            known = _and(items.known, _or(found, unknown_items == 0))
            answer = found if name == "qualcuno" else np.logical_not(found)
            return Plain(_and(answer, known), known)
        longest = int(np.diff(offsets).max(initial=0))
        if name == "conta":
            assert isinstance(body, Plain)
            known = _and(items.known, unknown_items == 0)
            return Num(np.asarray(_count(body.data, items), dtype=np.int64), known, 1, longest)
        if name == "somma":
            assert isinstance(body, Num)
            known = _and(items.known, unknown_items == 0)
            bound = body.bound * max(1, longest)
            (data,) = _fit(bound, np.where(body.known, body.data, 0))
            return Num(_segments(data, offsets), known, body.den, bound)
        raise self.refuse(gettext("the list function {name}").format(name=name), comprehension)

    # -- the missing facts ----------------------------------------------------------------------------------
    def missing(self) -> pa.ListArray:
        """Per row, the sorted missing facts of an undetermined decision (an empty list otherwise): for each
        undetermined requirement, the missing facts of each name it reads (an optional fact never counts),
        as the Rete Result gives them. A list array of strings."""
        memo: dict[str, Missing] = {}
        every: Missing = {}
        for node in self.law.requirements:
            reads = [self._missing_of_name(name, memo) for name in sorted(node.reads)]
            outcome = self.requirements[node.name]
            every = _union(every, _where(np.logical_not(outcome.known), _union(*reads), {}, self.n))
        for name, fact in self.law.facts.items():
            if fact.optional:
                every.pop(name, None)
        names = sorted(every)
        if not names:
            return pa.ListArray.from_arrays(pa.array(np.zeros(self.n + 1, np.int32)), pa.array([], pa.string()))
        matrix = np.stack([np.broadcast_to(np.asarray(every[name], dtype=bool), (self.n,)) for name in names],
                          axis=1)
        rows, columns = np.nonzero(matrix)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=self.n))]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, pa.string()).take(pa.array(columns)))

    def _missing_of_name(self, name: str, memo: dict[str, Missing]) -> Missing:
        """The missing facts behind a named value (none where it is known)."""
        if name in memo:
            return memo[name]
        if name in self.law.facts:
            result = {name: self._is_null(self.values[name])}
        elif name in self.law.parameters:
            result = {}  # a parameter without a value on the date: no fact would give it one
        else:
            node = self.nodes[name]
            self.node = node
            if name in self.network_reads:
                # a boolean the Rete network decides: when undecided, the missing facts of all it reads
                parts = [self._missing_of_name(read, memo) for read in sorted(node.reads)]
                parts += [self._missing(e, _ROWS, memo) for e in self.network_reads[name]]
                inner = _union(*parts)
            else:
                inner = self._missing(node.expr, _ROWS, memo, unknown=True)
            self.node = None
            value = self.values[name]
            result = _where(self._is_null(value), inner, {}, self.n)
        memo[name] = result
        return result

    def _missing(self, expr: Expr, scope: _Scope, memo: dict[str, Missing], *, unknown: bool = False) -> Missing:
        """The missing facts behind ``expr`` as the evaluator's ``Unknown.missing`` (none where it is known);
        ``unknown`` when the caller knows the value is unknown (a node's own expression)."""
        unused: list[Any] = []
        size = self.n if scope.items is None else len(scope.items.parent)

        def unknown_here() -> Any:
            return True if unknown else self._is_null(self._value(expr, scope, unused))

        match expr:
            case Lit() | Call(function="definito"):
                return {}
            case Ref(name=name) if name == scope.variable:
                return {}
            case Ref(name=name):
                return self._gathered(self._missing_of_name(name, memo), scope)
            case Call(function="se", args=(c, a, b)):
                condition = self._bool(c, scope, unused)
                undecided = np.logical_not(condition.known)
                chosen = _where(undecided, self._missing(c, scope, memo),
                                _where(condition.data, self._missing(a, scope, memo), self._missing(b, scope, memo),
                                       size), size)
                return _where(unknown_here(), chosen, {}, size)
            case Call(args=(Comprehension() as comprehension,)):
                items, inner = self._items(comprehension, scope)
                body = self._missing(comprehension.body, inner, memo)
                per_row = {name: _count(where, items) > 0
                           for name, where in body.items()}
                absent = np.logical_not(items.known)
                return _where(absent, self._missing(comprehension.iterable, scope, memo),
                              _where(unknown_here(), per_row, {}, size), size)
            case Index(target=t, index=i):
                target = self._value(t, scope, unused)
                key = self._num(i, scope, unused)
                name = t.name if isinstance(t, Ref) else "?"
                given = _union(self._missing(t, scope, memo), self._missing(i, scope, memo))
                untold = _or(self._is_null(target), np.logical_not(key.known))
                year: Missing = {}
                asked = _and(unknown_here(), np.logical_not(untold))
                keys = np.broadcast_to(np.asarray(key.data), (size,))
                reached = keys[np.broadcast_to(asked, (size,))]
                low, high = (int(reached.min()), int(reached.max())) if reached.size else (0, -1)
                # a pass a year over the few years a population's keys span, rather than a sort of the keys
                for found in range(low, high + 1) if high - low < 64 else np.unique(reached).tolist():
                    where = _and(asked, keys == found)
                    if np.any(where):
                        year[f"{name}.{found}"] = where
                return _union(_where(_and(unknown_here(), untold), given, {}, size), year)
        # the operands whose missing facts an unknown value unites (strict functions, arithmetic, comparisons,
        # and/or/not: an ``and`` with a false operand is known, so it unites nothing); a record's field, none
        parts = [self._missing(child, scope, memo) for child in (() if isinstance(expr, Attr) else children(expr))]
        parts = [p for p in parts if p]
        if not parts:
            return {}
        return _where(unknown_here(), _union(*parts), {}, size)

    @staticmethod
    def _gathered(missing: Missing, scope: _Scope) -> Missing:
        if scope.items is None:
            return missing
        parent = scope.items.parent
        return {name: where[parent] if isinstance(where, np.ndarray) else where for name, where in missing.items()}


def _union(*parts: Missing) -> Missing:
    out: Missing = {}
    for part in parts:
        for name, where in part.items():
            out[name] = _or(out[name], where) if name in out else where
    return out


def _where(condition: Any, yes: Missing, no: Missing, size: int) -> Missing:
    """Per row: the missing facts of ``yes`` where ``condition``, those of ``no`` elsewhere."""
    if condition is True:
        return yes
    if condition is False:
        return no
    out: Missing = {}
    for name in set(yes) | set(no):
        out[name] = np.where(condition, yes.get(name, False), no.get(name, False))
    return {name: where for name, where in out.items() if np.any(where)}


__all__ = ["LIMIT", "Walker", "read_column", "round_half_up"]
