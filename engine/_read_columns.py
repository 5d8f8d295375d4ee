"""Reading population files by column: JSON Lines, CSV and Parquet into fact tables (the columnar layout of
:mod:`engine.backends._layout`), batch by batch, so memory is bounded by the batch and not by the file.

Every row is checked as :mod:`engine._dataset` checks it (the facts schema of each version: types, dates that
exist, money with at most two decimals and within the limits, years as ``YYYY``, no unknown field), but whole
columns at a time: one regular expression, cast or comparison per column and batch, never a Python loop over
the rows. The column check is *conservative*: it accepts a row only when every cell is in a form it can prove
good (plain ASCII text, the usual JSON types). Every other row (a bad one, or a good one in an unusual form:
money given as a JSON number, Unicode digits, a duplicated JSON key) goes through the reference per-row check
of :mod:`engine._dataset`, which either names its problems, with the same messages, row numbers and fields as
``regole impact`` always gave, or accepts it. So the two readers accept and reject exactly the same rows by
construction, and the per-row cost is paid only by rows that are odd (``tests/test_read_columns.py`` checks
both on good and hostile rows).

A block of text that the Arrow parsers refuse as a whole (a malformed line, a quoted line break, a blank
line, a JSON line nested deeper than facts nest, which could crash the parser) is split in two and each half
read again, down to a few lines, which are read row by row: one bad line never slows down the rest of the
file by more than a few bisections.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from ._compile import LawVersion
from ._dataset import FORMATS, FactTable, Row, RowProblem, csv_header, csv_rows, jsonl_row, not_utf8_file
from ._facts import unreadable_file
from ._i18n import gettext as _
from ._schema import load_schema
from ._types import ListType, Type
from .backends import facts_table
from .backends._layout import ROW, arrow_type, is_by_year, year_column
from .errors import FactsError, Problem

BATCH_ROWS = 1 << 19  # rows per batch: a backend's call has a fixed cost, so batches are large (~100 MB)
BLOCK_BYTES = 16 << 20  # bytes per block of JSON Lines or CSV text (blocks are joined into batches)
_SMALLEST_BLOCK = 64  # lines: below this a refused block is read row by row
_MAX_NESTING = 3  # a facts object, a by-year object or a list, a list's record

# The forms the column check accepts (ASCII only; anything else goes to the per-row check).
_MONEY = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
_INTEGER = r"^-?[0-9]{1,12}$"
_NUMBER = r"^-?[0-9]{1,12}(\.[0-9]{1,12})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_YEAR = re.compile(r"^(19|20)\d{2}$")
_PRINTABLE = r"^[\x20-\x7e\t]*$"
_SPACES = " \t"
_SCHEMA_KEYS = {"description", "type", "$ref", "format", "pattern", "enum", "minimum", "maximum", "items",
                "maxItems", "additionalProperties", "required", "properties", "propertyNames", "maxProperties"}


@dataclass
class FactBatch:
    """One batch of a population file: the good rows as a fact table, the problems of the bad ones."""

    facts: pa.Table
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0  # rows read (good and bad; blank lines are not rows)
    bad: int = 0


def count_rows(path: Path, fmt: str) -> int | None:
    """The number of rows, for a progress bar: exact for Parquet (its metadata), lines for text."""
    if fmt == "parquet":
        try:
            return int(pq.ParquetFile(str(path)).metadata.num_rows)
        except (OSError, ValueError, pa.ArrowException):
            return None
    from ._dataset import count_rows as count_lines

    return count_lines(path, fmt)


def read_fact_tables(path: Path, laws: list[LawVersion], fmt: str, *, batch_rows: int = BATCH_ROWS,
                     block_bytes: int = BLOCK_BYTES) -> Iterator[FactBatch]:
    """The rows of the population file at ``path`` as fact tables of the facts of ``laws`` (one family's
    versions), batch by batch; raise FactsError when the file as a whole cannot be read."""
    reader = _Reader(laws)
    if fmt == "parquet":
        return reader.parquet(path, batch_rows)
    if fmt == "csv":
        return _joined(reader.csv(path, block_bytes), batch_rows)
    if fmt == "jsonl":
        return _joined(reader.jsonl(path, block_bytes), batch_rows)
    raise FactsError([Problem(_("unknown dataset format {format!r}; use {formats}").format(
        format=fmt, formats=", ".join(FORMATS)), code="D003")])


def _joined(blocks: Iterator[FactBatch], batch_rows: int) -> Iterator[FactBatch]:
    """Blocks of text joined into batches of about ``batch_rows`` rows."""
    pending: FactBatch | None = None
    for block in blocks:
        pending = block if pending is None else _join(pending, block)
        if pending.rows >= batch_rows:
            yield pending
            pending = None
    if pending is not None:
        yield pending


# -- what the facts schema allows, per fact ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """The facts schema's constraints on one fact that the column check enforces; ``exotic`` when the schema
    says more than the column check knows (such a fact is always checked row by row)."""

    enum: tuple[Any, ...] | None = None
    minimum: Any = None
    maximum: Any = None
    max_items: int | None = None
    max_years: int | None = None
    required_fields: tuple[str, ...] = ()
    exotic: bool = False


def _resolve(spec: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = spec.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        merged = dict(defs.get(ref.removeprefix("#/$defs/"), {}))
        merged.update({k: v for k, v in spec.items() if k != "$ref"})
        return _resolve(merged, defs) if "$ref" in merged else merged
    return spec


def _rules(table: FactTable) -> tuple[dict[str, _Rule], tuple[str, ...], bool]:
    """Per fact its rule, the required facts, and whether the column check may run at all (one schema)."""
    if len(table.schema_names) != 1:
        return {}, (), False
    schema = load_schema(table.schema_names[0])
    defs = schema.get("$defs", {})
    rules: dict[str, _Rule] = {}
    for name in table.types:
        spec = _resolve(table.properties.get(name, {}), defs)
        exotic = bool(set(spec) - _SCHEMA_KEYS)
        items = _resolve(spec.get("items", {}), defs) if isinstance(spec.get("items"), dict) else {}
        for key, inner in items.get("properties", {}).items():
            exotic |= bool(set(_resolve(inner, defs)) - _SCHEMA_KEYS - {"minimum", "maximum", "enum"}) or key == ""
            exotic |= any(k in _resolve(inner, defs) for k in ("minimum", "maximum", "enum"))
        values = spec.get("additionalProperties")
        if isinstance(values, dict):
            exotic |= bool(set(_resolve(values, defs)) - _SCHEMA_KEYS)
        enum = spec.get("enum")
        rules[name] = _Rule(enum=tuple(enum) if isinstance(enum, list) else None,
                            minimum=spec.get("minimum") if "$ref" not in table.properties.get(name, {}) else None,
                            maximum=spec.get("maximum") if "$ref" not in table.properties.get(name, {}) else None,
                            max_items=spec.get("maxItems"), max_years=spec.get("maxProperties"),
                            required_fields=tuple(items.get("required", ())), exotic=exotic)
    required = tuple(schema.get("required", ()))
    return rules, required, all(name in table.types for name in required)


# -- the reader --------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, laws: list[LawVersion]) -> None:
        self.laws = laws
        self.table = FactTable(laws)
        self.types = self.table.types
        self.rules, self.required, self.fast = _rules(self.table)

    # -- assembling a batch from the rows the columns proved good and the rows checked one by one

    def _batch(self, numbers: pa.Array, columns: dict[str, pa.Array], good: np.ndarray,
               rows: list[Row]) -> FactBatch:
        """The fact table of the rows ``good`` (with ``numbers`` and their converted ``columns``) and of the
        rows the per-row check accepted among ``rows``; ``rows`` also carry the problems of the bad ones."""
        parts = []
        if good.any():
            mask = pa.array(good)
            fields = [pa.field(ROW, pa.int64(), nullable=False)]
            arrays = [pc.filter(numbers, mask)]
            for column, array in columns.items():
                fields.append(pa.field(column, array.type))
                arrays.append(pc.filter(array, mask))
            parts.append(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))
        accepted = [row for row in rows if row.facts is not None]
        if accepted:
            rescued = facts_table(self.laws, [row.facts for row in accepted if row.facts is not None])
            rescued = rescued.set_column(0, pa.field(ROW, pa.int64(), nullable=False),
                                         pa.array([row.number for row in accepted], pa.int64()))
            parts.append(rescued)
        facts = _concat(parts, self._empty_schema())
        if len(parts) > 1:
            facts = facts.take(pc.sort_indices(facts.column(ROW)))
        problems = [p for row in rows for p in row.problems]
        return FactBatch(facts, problems, int(good.sum()) + len(rows), len(rows) - len(accepted))

    def _empty_schema(self) -> pa.Schema:
        fields = [pa.field(ROW, pa.int64(), nullable=False)]
        fields += [pa.field(name, arrow_type(ftype)) for name, ftype in self.types.items() if not is_by_year(ftype)]
        return pa.schema(fields)

    # -- Parquet

    def parquet(self, path: Path, batch_rows: int) -> Iterator[FactBatch]:
        try:  # without pre-buffering: with it, pyarrow keeps what it read until the file is closed
            parquet = pq.ParquetFile(str(path), pre_buffer=False)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise FactsError([Problem(_("cannot read the Parquet file: {reason}").format(reason=exc), code="D004")],
                             source=str(path)) from None
        columns = [str(c) for c in parquet.schema_arrow.names]
        self.table.check_columns(columns, str(path))
        first = 1
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield self.flat(pa.Table.from_batches([batch]), first, skip_blank=False)
            first += batch.num_rows

    def parquet_part(self, path: str, row_groups: list[int], first: int) -> FactBatch:
        """The rows of some row groups of one Parquet file, numbered from ``first`` (a partition of a
        distributed run)."""
        parquet = pq.ParquetFile(path)
        self.table.check_columns([str(c) for c in parquet.schema_arrow.names], path)
        return self.flat(parquet.read_row_groups(row_groups), first, skip_blank=False)

    # -- CSV

    def csv(self, path: Path, block_bytes: int) -> Iterator[FactBatch]:
        with _open(path) as handle:
            header_line = handle.readline()
            try:
                header = next(csv.reader([header_line.decode("utf-8")]), None)
            except UnicodeDecodeError as exc:
                raise not_utf8_file(path, exc) from None
            if header is None:
                return
            columns = csv_header(header, self.table, str(path))
            for first, block in _blocks(handle, block_bytes, 2, quotes=True):
                yield self._text_block(path, first, block, columns)

    def _csv_fast(self, block: bytes, columns: list[str], first: int) -> FactBatch | None:
        lines = _line_count(block)
        if lines is None:
            return None
        options = pcsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False,
                                      quoted_strings_can_be_null=False)
        parsed = pcsv.read_csv(io.BytesIO(block), read_options=pcsv.ReadOptions(column_names=columns),
                               parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
                               convert_options=options)
        if parsed.num_rows != lines:
            return None
        return self.flat(parsed, first, skip_blank=True)

    def _csv_slow(self, path: Path, block: bytes, columns: list[str], first: int) -> FactBatch:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_utf8_file(path, exc) from None
        try:
            rows = list(csv_rows(csv.reader(io.StringIO(text, newline="")), columns, self.table, first - 1))
        except csv.Error as exc:
            raise FactsError([Problem(_("not valid CSV: {reason}").format(reason=exc), code="D004", path="$")],
                             source=str(path)) from None
        return self._batch(pa.array([], pa.int64()), {}, np.zeros(0, dtype=bool), rows)

    # -- JSON Lines

    def jsonl(self, path: Path, block_bytes: int) -> Iterator[FactBatch]:
        with _open(path) as handle:
            for first, block in _blocks(handle, block_bytes, 1, quotes=False):
                yield self._text_block(path, first, block, None)

    def _json_fast(self, block: bytes, first: int) -> FactBatch | None:
        lines = _line_count(block)
        if lines is None or not self.fast or not _plain_json_lines(block):
            return None
        explicit = []
        for name, ftype in self.types.items():
            if is_by_year(ftype):
                continue  # inferred: one child per year present
            if ftype == "number":
                if re.search(rb'"' + re.escape(name.encode()) + rb'"\s*:\s*"', block):
                    return None  # a number written as text: refused by the schema, checked row by row
                explicit.append(pa.field(name, pa.decimal128(38, 12)))
            else:
                explicit.append(pa.field(name, _json_type(ftype)))
        parsed = pjson.read_json(io.BytesIO(block), parse_options=pjson.ParseOptions(
            explicit_schema=pa.schema(explicit), unexpected_field_behavior="infer", newlines_in_values=False))
        if parsed.num_rows != lines:
            return None
        return self.json_columns(parsed, first, block)

    def _json_slow(self, path: Path, block: bytes, first: int) -> FactBatch:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_utf8_file(path, exc) from None
        rows = [row for number, line in enumerate(io.StringIO(text, newline=""), start=first)
                if (row := jsonl_row(number, line, self.table)) is not None]
        return self._batch(pa.array([], pa.int64()), {}, np.zeros(0, dtype=bool), rows)

    # -- a block of text: fast by columns, or split until the refused lines are few

    def _text_block(self, path: Path, first: int, block: bytes, columns: list[str] | None) -> FactBatch:
        try:
            batch = self._csv_fast(block, columns, first) if columns is not None else self._json_fast(block, first)
        except (pa.ArrowException, UnicodeDecodeError):
            batch = None
        if batch is not None:
            return batch
        lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        middle = _middle(block, quotes=columns is not None)
        if lines <= _SMALLEST_BLOCK or middle is None:
            return self._csv_slow(path, block, columns, first) if columns is not None \
                else self._json_slow(path, block, first)
        head, tail = block[:middle], block[middle:]
        a = self._text_block(path, first, head, columns)
        b = self._text_block(path, first + _lines_in(head), tail, columns)
        return _join(a, b)

    # -- checking and converting columns

    def flat(self, parsed: pa.Table, first: int, *, skip_blank: bool) -> FactBatch:
        """Check and convert flat columns (CSV text, Parquet typed cells) named as in docs/datasets.md; with
        ``skip_blank`` (CSV) a row whose every cell is empty is no row."""
        n = parsed.num_rows
        numbers = pa.array(np.arange(first, first + n, dtype=np.int64))
        good = np.ones(n, dtype=bool)
        present = np.zeros(n, dtype=bool)
        columns: dict[str, pa.Array] = {}
        lists: dict[str, dict[int, dict[str, pa.Array]]] = {}
        for column in parsed.column_names:
            cells = _combined(parsed.column(column))
            name, _, rest = column.partition(".")
            filled = _filled(cells)
            present |= filled
            if name not in self.types:  # a fact of the schema that no version compared reads: ignored
                continue
            ftype = self.types[name]
            rule = self.rules.get(name, _Rule(exotic=True))
            values, ok = self._cell_column(cells, ftype, rest)
            if values is None or ok is None or rule.exotic or not self.fast:
                good &= ~filled  # checked row by row
                continue
            good &= ok
            if isinstance(ftype, ListType):
                index, _, item_field = rest.partition(".")
                lists.setdefault(name, {}).setdefault(int(index), {})[item_field] = values
            elif rest:
                columns[year_column(name, int(rest))] = values
            else:
                columns[name] = self._limited(values, rule, good)
        for name, items in lists.items():
            ftype = self.types[name]
            assert isinstance(ftype, ListType)
            columns[name] = self._list_column(ftype, items, self.rules[name], good, n)
        self._by_year_limits(columns, good, n)
        self._required(columns, good, n)
        keep = present if skip_blank else np.ones(n, dtype=bool)
        slow = keep & ~good
        rows = []
        if slow.any():
            picked = pc.filter(numbers, pa.array(slow)).to_pylist()
            records = parsed.filter(pa.array(slow)).to_pylist()
            rows = [self.table.from_flat(number, record) for number, record in zip(picked, records, strict=True)
                    if not (skip_blank and all(_blank(cell) for cell in record.values()))]
        return self._batch(numbers, columns, keep & good, rows)

    def _by_year_limits(self, columns: dict[str, pa.Array], good: np.ndarray, n: int) -> None:
        for name, ftype in self.types.items():
            limit = self.rules[name].max_years if name in self.rules else None
            if is_by_year(ftype) and limit is not None:
                count = np.zeros(n, dtype=np.int64)
                for column, array in columns.items():
                    if column.startswith(name + ".") and column[len(name) + 1:].isdigit():
                        count += _not_null(array)
                good &= count <= int(limit)

    def _required(self, columns: dict[str, pa.Array], good: np.ndarray, n: int) -> None:
        for name in self.required:
            good &= _not_null(columns[name]) if name in columns else np.zeros(n, dtype=bool)

    def _cell_column(self, cells: pa.Array, ftype: Type, rest: str) -> tuple[pa.Array | None, np.ndarray | None]:
        """The cells of one flat column in the layout type and where they are good (a null cell is good);
        ``(None, None)`` when this column is always checked row by row."""
        if isinstance(ftype, ListType):
            if not rest:
                return None, None  # a nested Parquet list
            item_field = rest.partition(".")[2]
            field_type = ftype.field(item_field)
            return _scalar(cells, field_type, trim=True) if isinstance(field_type, str) else (None, None)
        if is_by_year(ftype):
            if not rest:
                return None, None  # a nested Parquet struct or map
            return _scalar(cells, "money" if ftype == "money_by_year" else "integer", trim=True)
        assert isinstance(ftype, str)
        return _scalar(cells, ftype, trim=True)

    def _limited(self, values: pa.Array, rule: _Rule, good: np.ndarray) -> pa.Array:
        """Enforce a fact's enum and limits on its column (in place on ``good``)."""
        if rule.enum is not None:
            good &= _is_null(values) | _mask(pc.is_in(values, value_set=pa.array(list(rule.enum), values.type)))
        if rule.minimum is not None:
            good &= _is_null(values) | _mask(pc.greater_equal(values, pa.scalar(rule.minimum).cast(values.type)))
        if rule.maximum is not None:
            good &= _is_null(values) | _mask(pc.less_equal(values, pa.scalar(rule.maximum).cast(values.type)))
        return values

    def _list_column(self, ftype: ListType, items: dict[int, dict[str, pa.Array]], rule: _Rule,
                     good: np.ndarray, n: int) -> pa.Array:
        """A list of records from its item columns (``name.N.field``): the items with some cell, in order."""
        order = sorted(items)
        structs = []
        here = np.zeros((n, len(order)), dtype=bool)
        struct_type = arrow_type(ftype).value_type
        for k, index in enumerate(order):
            cells = items[index]
            arrays = [cells.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in struct_type]
            some = np.zeros(n, dtype=bool)
            for array in arrays:
                some |= _not_null(array)
            for required in rule.required_fields:
                if required in cells:
                    good &= ~some | _not_null(cells[required])
                else:
                    good &= ~some
            here[:, k] = some
            structs.append(pa.StructArray.from_arrays(arrays, fields=list(struct_type)))
        counts = here.sum(axis=1)
        if rule.max_items is not None:
            good &= counts <= rule.max_items
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        row_index, item_index = np.nonzero(here)
        values = pa.concat_arrays(structs).take(pa.array(item_index * n + row_index)) if structs \
            else pa.array([], struct_type)
        return pa.ListArray.from_arrays(pa.array(offsets), values, type=arrow_type(ftype))

    def json_columns(self, parsed: pa.Table, first: int, block: bytes) -> FactBatch:
        """Check and convert the columns Arrow parsed from the JSON Lines of ``block`` (nested as facts are)."""
        n = parsed.num_rows
        numbers = pa.array(np.arange(first, first + n, dtype=np.int64))
        good = np.ones(n, dtype=bool)
        columns: dict[str, pa.Array] = {}
        for name in parsed.column_names:
            cells = _combined(parsed.column(name))
            ftype = self.types.get(name)
            rule = self.rules.get(name, _Rule(exotic=True))
            if ftype is None or rule.exotic:
                good &= _is_null(cells)
                continue
            if is_by_year(ftype):
                good &= self._json_by_year(name, ftype, cells, rule, columns)
                continue
            if isinstance(ftype, ListType):
                values, ok = _json_list(cells, ftype, rule)
            elif ftype in ("boolean", "integer", "number"):
                values, ok = cells, np.ones(n, dtype=bool)
            else:
                assert isinstance(ftype, str)
                converted, fine = _scalar(cells, ftype, trim=False)
                if converted is None or fine is None:
                    good &= _is_null(cells)
                    continue
                values, ok = converted, fine
            good &= ok
            columns[name] = self._limited(values.cast(arrow_type(ftype)), rule, good)
        self._by_year_limits(columns, good, n)
        self._required(columns, good, n)
        rows = []
        if not good.all():
            lines = block.split(b"\n")
            rows = [row for number in np.flatnonzero(~good).tolist()
                    if (row := jsonl_row(first + number, lines[number].decode("utf-8"), self.table)) is not None]
        return self._batch(numbers, columns, good, rows)

    def _json_by_year(self, name: str, ftype: Type, cells: pa.Array, rule: _Rule,
                      columns: dict[str, pa.Array]) -> np.ndarray:
        n = len(cells)
        ok = np.ones(n, dtype=bool)
        if not pa.types.is_struct(cells.type):
            return _is_null(cells)
        count = np.zeros(n, dtype=np.int64)
        for index, child in enumerate(cells.type):
            values = pc.struct_field(cells, [index])
            if not _YEAR.match(child.name) or child.name.isascii() is False:
                ok &= _is_null(values)
                continue
            wanted = "money" if ftype == "money_by_year" else "integer"
            if wanted == "money" and pa.types.is_string(values.type):
                converted, fine = _scalar(values, "money", trim=False)
            elif wanted == "integer" and pa.types.is_integer(values.type):
                converted, fine = values.cast(pa.int64()), np.ones(n, dtype=bool)
            else:
                ok &= _is_null(values)
                continue
            ok &= fine
            count += _not_null(converted)
            columns[year_column(name, int(child.name))] = converted
        if rule.max_years is not None:
            ok &= count <= rule.max_years
        return ok


def _json_type(ftype: Type) -> pa.DataType:
    """How a fact is parsed from JSON before it is checked: text stays text (money, dates), the rest is typed."""
    if isinstance(ftype, ListType):
        return pa.list_(pa.struct([(name, _json_type(field)) for name, field in ftype.fields]))
    return {"boolean": pa.bool_(), "integer": pa.int64()}.get(str(ftype), pa.string())


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _filled(cells: pa.Array) -> np.ndarray:
    """Cells that are not empty: not null and, for text, not only spaces (as the per-row reader sees them)."""
    if pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type):
        filled: np.ndarray = _mask(pc.invert(pc.utf8_is_space(cells))) & _mask(pc.not_equal(cells, ""))
        return filled
    return _not_null(cells)


def _json_list(cells: pa.Array, ftype: ListType, rule: _Rule) -> tuple[pa.Array, np.ndarray]:
    n = len(cells)
    ok = np.ones(n, dtype=bool)
    if not pa.types.is_list(cells.type):
        return pa.nulls(n, arrow_type(ftype)), _is_null(cells)
    flat = pc.list_flatten(cells)
    parents = pc.list_parent_indices(cells).to_numpy(zero_copy_only=False)
    item_ok = np.ones(len(flat), dtype=bool)
    arrays = []
    target = arrow_type(ftype).value_type
    declared = {f.name for f in target}
    for index, child in enumerate(flat.type):
        if child.name not in declared:
            item_ok &= _is_null(pc.struct_field(flat, [index]))
    for f in target:
        position = flat.type.get_field_index(f.name)
        if position < 0:
            arrays.append(pa.nulls(len(flat), f.type))
            if f.name in rule.required_fields:
                item_ok &= False
            continue
        raw = pc.struct_field(flat, [position])
        field_type = ftype.field(f.name) or "string"
        converted, fine = (raw, np.ones(len(flat), dtype=bool)) if field_type in ("boolean", "integer") \
            else _scalar(raw, str(field_type), trim=False)
        if converted is None or fine is None:  # a field only the per-row check reads
            converted, fine = pa.nulls(len(flat), f.type), _is_null(raw)
        values = converted
        item_ok &= fine
        if f.name in rule.required_fields:
            item_ok &= _not_null(values)
        arrays.append(values.cast(f.type))
    item_ok &= _not_null(flat) if len(flat) else item_ok
    bad_parents = np.unique(parents[~item_ok])
    ok[bad_parents] = False
    if rule.max_items is not None:
        lengths = pc.fill_null(pc.list_value_length(cells), 0).to_numpy(zero_copy_only=False)
        ok &= lengths <= rule.max_items
    values = pa.StructArray.from_arrays(arrays, fields=list(target)) if len(flat) else pa.array([], target)
    offsets = cells.offsets
    if cells.offset or cells.null_count:
        offsets = pa.array(np.concatenate([[0], np.cumsum(
            pc.fill_null(pc.list_value_length(cells), 0).to_numpy(zero_copy_only=False))]).astype(np.int32))
    rebuilt = pa.ListArray.from_arrays(offsets, values, type=arrow_type(ftype), mask=pc.is_null(cells))
    return rebuilt, ok


# -- one column of scalars ---------------------------------------------------------------------------------------


def _scalar(cells: pa.Array, ftype: str, trim: bool) -> tuple[pa.Array | None, np.ndarray | None]:
    """Cells (text, or typed Parquet values) as a column of the layout type of ``ftype`` and where they are
    good; ``(None, None)`` when such cells are always checked row by row."""
    n = len(cells)
    if pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type):
        text = cells.cast(pa.string())
        printable = _mask(pc.match_substring_regex(text, _PRINTABLE))
        if trim:
            text = pc.utf8_trim(text, characters=_SPACES)
            text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        ok = _is_null(text) | printable
        return _from_text(text, ftype, ok, trim)
    if ftype == "boolean" and pa.types.is_boolean(cells.type):
        return cells, np.ones(n, dtype=bool)
    if ftype == "integer" and pa.types.is_integer(cells.type):
        return cells.cast(pa.int64()), np.ones(n, dtype=bool)
    if ftype == "date" and (pa.types.is_date32(cells.type) or pa.types.is_date64(cells.type)):
        return cells.cast(pa.date32()), np.ones(n, dtype=bool)
    if ftype == "date" and pa.types.is_timestamp(cells.type) and cells.type.tz is None:
        days = cells.cast(pa.date32(), safe=False)  # a timestamp at midnight is its day; others row by row
        ok = _is_null(cells) | _mask(pc.equal(days.cast(cells.type), cells))
        return days, ok
    if ftype == "money" and pa.types.is_integer(cells.type):
        values = cells.cast(pa.int64())
        ok = _is_null(values) | _mask(pc.less_equal(pc.abs(values), 10**12))
        return pc.if_else(pa.array(ok), pc.multiply(values, 100), pa.scalar(None, pa.int64())), ok
    if ftype == "money" and pa.types.is_decimal(cells.type):
        return _decimal_cents(cells)
    if ftype == "number" and pa.types.is_integer(cells.type):
        return cells.cast(pa.decimal128(38, 12)), np.ones(n, dtype=bool)
    return None, None


def _from_text(text: pa.Array, ftype: str, ok: np.ndarray, trim: bool) -> tuple[pa.Array | None, np.ndarray | None]:
    null = _is_null(text)
    if ftype == "string":
        return text, ok
    if ftype == "boolean" and trim:  # CSV: true or false, any case; JSON booleans are parsed by Arrow
        lowered = pc.ascii_lower(text)
        ok &= null | _mask(pc.is_in(lowered, value_set=pa.array(["true", "false"])))
        return pc.equal(lowered, "true"), ok
    if ftype == "integer" and trim:
        ok &= null | _mask(pc.match_substring_regex(text, _INTEGER))
        return pc.cast(_only(text, ok), pa.int64()), ok
    if ftype == "number" and trim:
        ok &= null | _mask(pc.match_substring_regex(text, _NUMBER))
        return pc.cast(_only(text, ok), pa.decimal128(38, 12)), ok
    if ftype == "money":
        ok &= null | _mask(pc.match_substring_regex(text, _MONEY))
        amounts = pc.cast(_only(text, ok), pa.decimal128(16, 2))
        return pc.cast(pc.multiply(amounts, pa.scalar(100, pa.decimal128(3, 0))), pa.int64()), ok
    if ftype == "date":
        ok &= null | _mask(pc.match_substring_regex(text, _DATE))
        candidate = _only(text, ok)
        ok &= null | _real_days(candidate)
        days = pc.cast(pc.strptime(_only(candidate, ok), format="%Y-%m-%d", unit="s", error_is_null=True),
                       pa.date32())
        return days, ok
    return None, None  # numbers as text, or a type no flat cell holds: row by row


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _real_days(text: pa.Array) -> np.ndarray:
    """Where ``YYYY-MM-DD`` text names a day that exists (year 1 to 9999, as Python's dates): Arrow's strptime
    would turn 2023-02-29 into 1 March."""
    def part(start: int, stop: int) -> np.ndarray:
        digits = pc.cast(pc.utf8_slice_codeunits(text, start, stop), pa.int64())
        return np.asarray(pc.fill_null(digits, 0).to_numpy(zero_copy_only=False), dtype=np.int64)

    year, month, day = part(0, 4), part(5, 7), part(8, 10)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    real: np.ndarray = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= length)
    return real


def _decimal_cents(cells: pa.Array) -> tuple[pa.Array | None, np.ndarray | None]:
    """Parquet decimals as cents: good when a whole number of cents within ±10^12 euros."""
    scale = cells.type.scale
    if cells.type.precision <= 18 and 0 <= scale <= 2:  # the unscaled integers fit in 64 bits: read them
        words = np.frombuffer(cells.buffers()[1], dtype=np.int64)[2 * cells.offset:2 * (cells.offset + len(cells))]
        cents = words[::2] * 10 ** (2 - scale)
        valid = _not_null(cells)
        ok = ~valid | (np.abs(cents) <= 10**14)
        return pa.array(np.where(ok & valid, cents, 0), mask=~(ok & valid)), ok
    if cells.type.precision - scale + max(scale, 2) > 30:
        return None, None  # wider than any amount: row by row
    wide = cells.cast(pa.decimal128(30, max(scale, 2)))
    cents = pc.multiply(wide, pa.scalar(100, pa.decimal128(3, 0)))
    whole = pc.cast(pc.floor(cents), cents.type) if scale > 2 else cents
    ok = _is_null(cells) | (_mask(pc.equal(whole, cents)) & _mask(pc.less_equal(pc.abs(wide), pa.scalar(
        10**12, pa.decimal128(13, 0)).cast(wide.type))))
    kept = pc.if_else(pa.array(ok), whole, pa.scalar(None, whole.type))
    return pc.cast(kept, pa.int64()), ok


def _only(text: pa.Array, ok: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))


def _mask(values: Any) -> np.ndarray:
    """A boolean Arrow result as a numpy mask, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _is_null(values: pa.Array) -> np.ndarray:
    return _mask(pc.is_null(values))


def _not_null(values: pa.Array) -> np.ndarray:
    return _mask(pc.is_valid(values))


def _combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _concat(parts: list[pa.Table], empty: pa.Schema) -> pa.Table:
    if not parts:
        return empty.empty_table()
    if len(parts) == 1:
        return parts[0]
    return pa.concat_tables(parts, promote_options="permissive")


def _join(a: FactBatch, b: FactBatch) -> FactBatch:
    facts = _concat([a.facts, b.facts], a.facts.schema)
    return FactBatch(facts, a.problems + b.problems, a.rows + b.rows, a.bad + b.bad)


def _open(path: Path) -> BinaryIO:
    """``path`` for reading bytes, past a UTF-8 byte order mark (Excel's "CSV UTF-8" starts with one)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise unreadable_file(str(path), exc) from None
    if handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
        handle.seek(0)
    return handle


# -- blocks of text ----------------------------------------------------------------------------------------------


def _blocks(handle: Any, size: int, first: int, *, quotes: bool) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines (for CSV: never ending inside a quoted cell) and the number of their first line."""
    rest = b""
    line = first
    while True:
        chunk = handle.read(size)
        data = rest + chunk
        if not chunk:
            if data:
                yield line, data
            return
        cut = data.rfind(b"\n") + 1
        while quotes and cut and data[:cut].count(b'"') % 2:
            cut = data.rfind(b"\n", 0, cut - 1) + 1
        if not cut:
            rest = data
            continue
        block, rest = data[:cut], data[cut:]
        yield line, block
        line += _lines_in(block)


def _middle(block: bytes, *, quotes: bool) -> int | None:
    """Where to split a block in two halves of whole lines, or None when it cannot be split."""
    cut = block.find(b"\n", len(block) // 2) + 1
    while quotes and cut and block[:cut].count(b'"') % 2:
        cut = block.find(b"\n", cut) + 1
    if cut <= 0 or cut >= len(block):
        cut = block.rfind(b"\n", 0, len(block) - 1) + 1
        if cut <= 0 or (quotes and block[:cut].count(b'"') % 2):
            return None
    return cut


def _lines_in(block: bytes) -> int:
    """Line breaks as Python's universal newlines count them (\\n, \\r\\n and a lone \\r), as the per-row reader."""
    breaks = block.count(b"\n")
    if b"\r" in block:
        breaks += block.count(b"\r") - block.count(b"\r\n")
    return breaks


_BRACKETS = bytes(range(256)).translate(None, b"{}[]")


def _line_count(block: bytes) -> int | None:
    """The lines of a block, when no lone carriage return makes the per-row reader count them otherwise."""
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _plain_json_lines(block: bytes) -> bool:
    """Every line an object (no blank line), no null, nested no deeper than facts nest: deeper nesting can
    crash the Arrow parser, so it is left to the per-row reader."""
    if not block.startswith(b"{") or b"null" in block:
        return False
    codes = np.frombuffer(block, dtype=np.uint8)
    starts = np.flatnonzero(codes[:-1] == 10) + 1  # the first byte of every line after the first
    if not bool((codes[starts] == 123).all()):
        return False
    brackets = np.frombuffer(block.translate(None, _BRACKETS), dtype=np.uint8)
    steps = np.where((brackets == 123) | (brackets == 91), 1, -1).astype(np.int32)
    depth = np.cumsum(steps)
    return bool(len(depth) == 0 or (depth.min() >= 0 and depth.max() <= _MAX_NESTING))


__all__ = ["BATCH_ROWS", "BLOCK_BYTES", "FactBatch", "count_rows", "read_fact_tables"]
