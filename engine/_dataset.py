"""Datasets of applications for the batch tools (``regole impact``, ``regole population``): read JSON Lines,
CSV or Parquet rows as facts, check each row against the facts the law versions declare, and write rows as
JSON Lines or CSV. The format is documented in docs/datasets.md.

CSV columns (and flat Parquet columns) map to facts like this:

* a plain fact is one column named after it: ``data_domanda``, ``regolarita_contributiva``;
* a by-year fact is one column per year: ``reddito_lavoro_autonomo.2023``;
* a list of records is one column per item and field, items counted from 1:
  ``prestazioni_iscro_precedenti.1.data_inizio``; an item whose cells are all empty is left out, so a row
  with every cell of the list empty has an empty list (none);
* an empty cell leaves the fact out (unknown); booleans are ``true``/``false``, dates ``YYYY-MM-DD``,
  money euros with a dot and at most two decimals (``6000.50``).

Every row is checked against the facts that the law versions declare (types, dates that exist, money with
at most two decimals, years as ``YYYY``) and the facts schema's field names and limits. This is the facts
schema's own rule set for those fields, done without the JSON Schema machinery, which would cost more than
evaluating the row twice; a row that fails, or that carries a field no version reads, goes through the full
schema check, whose messages are reported. A bad row is reported with its number and field; it never stops
the run.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from ._compile import LawVersion
from ._facts import (
    json_reason,
    json_type_name,
    load_json,
    not_a_date,
    not_a_real_date,
    not_utf8,
    too_many_decimals,
    unreadable_file,
    validate_facts,
)
from ._i18n import gettext as _
from ._schema import load_schema
from ._suggest import suggest
from ._types import MAP_TYPES, ListType, Type
from .errors import FactsError, Problem

FORMATS = ("jsonl", "csv", "parquet")
_MONEY = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")
_NUMBER = re.compile(r"^-?\d{1,12}(\.\d+)?$")
_INTEGER = re.compile(r"^-?\d{1,12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^(19|20)\d{2}$")
_ITEM = re.compile(r"^[1-9]\d{0,3}$")
_MONEY_LIMIT = Decimal(10) ** 12


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row: its number (the file line; for Parquet the row from 1) and field."""

    row: int
    field: str | None
    message: str

    def render(self) -> str:
        where = (_("row {row}, {field}") if self.field else _("row {row}")).format(row=self.row, field=self.field)
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Row:
    number: int
    facts: dict[str, Any] | None  # JSON-ready facts (money and dates as text), None when the row is bad
    problems: tuple[RowProblem, ...] = ()


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return "csv"
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    return "jsonl"


def fact_names(path: Path, fmt: str) -> dict[str, Any]:
    """What the start of a dataset says about its facts, to guess its family: the first JSON Lines row that is
    an object (its facts), or the facts a CSV header or Parquet schema names (each with the value None: a
    column says which fact it holds, not a value). Empty when the file tells nothing."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            columns = [str(c) for c in pq.ParquetFile(str(path)).schema_arrow.names]
        elif fmt == "csv":
            with _open_text(path) as handle:
                columns = next(csv.reader(handle), [])
        else:
            with _open_text(path) as handle:
                for line in handle:
                    if line.strip():
                        data = load_json(line)
                        return data if isinstance(data, dict) else {}
            return {}
    except (OSError, ValueError, RecursionError, csv.Error, UnicodeDecodeError):
        return {}  # the file's own reading reports what is wrong with it, at its row
    separator = other_separator(columns)
    if separator is not None:  # the family is guessed from the names all the same; reading says what is wrong
        columns = columns[0].split(separator)
    return {column.strip().split(".")[0]: None for column in columns}


def other_separator(columns: list[str]) -> str | None:
    """The separator of a CSV read as one column because it is not a comma (``;`` as spreadsheets in Italian
    write it, or a tab), or None."""
    if len(columns) != 1:
        return None
    return next((separator for separator in (";", "\t") if separator in columns[0]), None)


class FactTable:
    """The facts of one or more law versions of a family (which must agree on their types), the way a
    dataset row is checked and converted."""

    def __init__(self, laws: list[LawVersion]) -> None:
        self.types: dict[str, Type] = {}
        clashes = []
        for law in laws:
            for name, fact in law.facts.items():
                if name in self.types and self.types[name] != fact.type:
                    clashes.append(Problem(_("{name} is {type} in one version and {other} in {version}; rows cannot be "
                                             "read for both").format(name=name, type=self.types[name],
                                                                      other=fact.type, version=law.key),
                                           code="D001", path=f"$.{name}"))
                self.types.setdefault(name, fact.type)
        if clashes:
            raise FactsError(clashes)
        self.schema_names = tuple(dict.fromkeys(law.facts_schema for law in laws))
        self.properties: dict[str, Any] = {}
        for name in self.schema_names:  # a row must satisfy the facts schema of every version
            for key, spec in load_schema(name).get("properties", {}).items():
                self.properties.setdefault(key, spec)

    # -- checking JSON-like rows ------------------------------------------------------------------------------

    def check(self, number: int, data: Any) -> Row:
        """Check one row (as parsed from JSON) against the facts schema of every version: the same check as
        ``regole evaluate`` (compiled, fast for good rows; every problem listed for a bad one)."""
        if not isinstance(data, dict):
            return Row(number, None, (RowProblem(number, None, _("a row must be a JSON object, got {type}").format(
                type=json_type_name(data))),))
        try:
            for name in self.schema_names:
                validate_facts(data, name)
        except FactsError as exc:
            return Row(number, None, tuple(RowProblem(number, _field(p.path), p.message + (f" ({p.hint})" if p.hint
                                                                                         else ""))
                                           for p in exc.problems))
        return Row(number, data)

    # -- flat rows (CSV, Parquet) -------------------------------------------------------------------------------

    def check_columns(self, columns: list[str], source: str) -> None:
        """Raise FactsError when a column does not name a fact (the whole file would be misread)."""
        separator = other_separator(columns)
        if separator is not None:  # a spreadsheet's CSV in Italian: one column named by the whole header
            raise FactsError([Problem(
                _("the header is one column holding {separator!r}: the file seems separated by {separator!r} "
                  "(spreadsheets set to Italian save CSV with ';'), and regole reads CSV separated by commas").format(
                      separator=separator), code="D002", path="$",
                hint=_("save it as CSV UTF-8 separated by commas, with amounts written 6000.50, or as Parquet: "
                       "docs/datasets.md"))], source=source)
        problems = []
        for column in columns:
            name, _dot, rest = column.partition(".")
            ftype = self.types.get(name)
            known = name in self.properties
            if ftype is None and not known:
                hint = suggest(name, self.properties) or _("see docs/datasets.md for the column names")
                problems.append(Problem(_("column {column!r} is not a fact").format(column=column), code="D002",
                                        path=column, hint=hint))
            elif ftype is None:
                continue  # a fact of the schema that no version compared reads: ignored, as in JSON Lines
            elif not _column_fits(ftype, rest):
                problems.append(Problem(_("column {column!r} does not fit {name}, which is {type}").format(
                    column=column, name=name, type=ftype), code="D002", path=column, hint=_column_hint(name, ftype)))
        if problems:
            raise FactsError(problems, source=source)

    def from_flat(self, number: int, record: Mapping[str, Any]) -> Row:
        """A row from flat cells (text from CSV, or typed Parquet values); an empty cell leaves the fact out."""
        data: dict[str, Any] = {}
        problems: list[RowProblem] = []
        lists: dict[str, dict[int, dict[str, Any]]] = {}
        for column, cell in record.items():
            name, _dot, rest = column.partition(".")
            ftype = self.types.get(name)
            if ftype is None:  # a fact of the schema that no version compared reads (check_columns): ignored
                continue
            if isinstance(ftype, ListType) and rest:
                index, _dot, field = rest.partition(".")
                lists.setdefault(name, {})
                if _empty(cell):
                    continue
                value, problem = _parse_cell(cell, ftype.field(field) or "string")
                if problem:
                    problems.append(RowProblem(number, column, problem))
                    continue
                lists[name].setdefault(int(index), {})[field] = value
                continue
            if _empty(cell):
                continue
            if rest:  # by year
                value, problem = _parse_cell(cell, "money" if ftype == "money_by_year" else "integer")
                if problem:
                    problems.append(RowProblem(number, column, problem))
                else:
                    data.setdefault(name, {})[rest] = value
                continue
            if not isinstance(ftype, str) or ftype in ("money_by_year", "integer_by_year"):
                nested = _nested(cell)  # a nested Parquet column (struct, map or list)
                if nested is None:
                    problems.append(RowProblem(number, column, _("{value} should be {type}; see docs/datasets.md for "
                                                                 "the columns").format(value=_shown(cell), type=ftype)))
                else:
                    data[name] = nested
                continue
            value, problem = _parse_cell(cell, ftype)
            if problem:
                problems.append(RowProblem(number, column, problem))
            else:
                data[name] = value
        for name, items in lists.items():
            data[name] = [items[i] for i in sorted(items)]
        if problems:
            return Row(number, None, tuple(problems))
        row = self.check(number, data)
        if row.problems:  # name the CSV column rather than the JSON path
            return Row(number, None, tuple(RowProblem(p.row, _column(p.field), p.message) for p in row.problems))
        return row

    def columns(self, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """The CSV columns that hold every fact of ``rows``, in the order the facts are declared."""
        seen: dict[str, set[str]] = {}
        for row in rows:
            for column in flatten(row):
                name, _dot, rest = column.partition(".")
                seen.setdefault(name, set()).add(rest)
        order = [*self.types, *sorted(set(seen) - set(self.types))]
        out = []
        for name in order:
            for rest in sorted(seen.get(name, ()), key=_column_key):
                out.append(f"{name}.{rest}" if rest else name)
        return out


def flatten(row: Mapping[str, Any]) -> dict[str, str]:
    """A JSON-ready row as CSV cells (the inverse of :meth:`FactTable.from_flat`)."""
    cells: dict[str, str] = {}
    for name, value in row.items():
        if isinstance(value, dict):
            for key, inner in value.items():
                cells[f"{name}.{key}"] = _text(inner)
        elif isinstance(value, list):
            for i, item in enumerate(value, start=1):
                for key, inner in item.items():
                    cells[f"{name}.{i}.{key}"] = _text(inner)
        elif value is not None:
            cells[name] = _text(value)
    return cells


def write_parquet(rows: Iterable[Mapping[str, Any]], columns: list[str], table: FactTable, path: Path, *,
                  chunk: int = 65_536) -> int:
    """The rows as a Parquet file of flat columns (the CSV mapping), typed as each fact is: booleans, dates
    (``date32``), money (``decimal(18, 2)``), integers, text; a fact left out is null."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kinds = {column: _cell_kind(table.types[column.partition(".")[0]], column.partition(".")[2])
             for column in columns}
    types = {"boolean": pa.bool_(), "date": pa.date32(), "money": pa.decimal128(18, 2), "integer": pa.int64(),
             "number": pa.decimal128(38, 12)}
    schema = pa.schema([pa.field(column, types.get(kinds[column], pa.string())) for column in columns])

    def typed(texts: list[str | None], kind: str) -> Any:
        text = pa.array(texts, pa.string())
        if kind == "boolean":
            return pc.equal(pc.ascii_lower(text), "true")
        if kind == "date":
            return pc.strptime(text, format="%Y-%m-%d", unit="s").cast(pa.date32())
        return text.cast(types.get(kind, pa.string()))

    count = 0
    drawn = iter(rows)
    with pq.ParquetWriter(str(path), schema) as writer:
        while batch := [flatten(row) for row in itertools.islice(drawn, chunk)]:  # a chunk in memory at a time
            writer.write_table(pa.table({column: typed([cells.get(column) for cells in batch], kinds[column])
                                         for column in columns}, schema=schema))
            count += len(batch)
    return count


def _cell_kind(ftype: Type, rest: str) -> str:
    """The type of the cells of a flat column: a by-year fact's year holds its item type, a list's
    ``N.field`` the field's."""
    if isinstance(ftype, ListType):
        return str(ftype.field(rest.partition(".")[2]))
    return MAP_TYPES.get(str(ftype), str(ftype))


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, default=_json_default, separators=(",", ":")) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[Mapping[str, Any]], columns: list[str], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(flatten(row))
        count += 1
    return count


# -- reading ------------------------------------------------------------------------------------------------------


def count_rows(path: Path, fmt: str) -> int | None:
    """The number of rows, cheaply, for a progress indicator (None when unknown)."""
    if fmt == "parquet":
        return None
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - (1 if fmt == "csv" else 0), 0)


def read_rows(path: Path, table: FactTable, fmt: str) -> Iterator[Row]:
    """The rows of the dataset at ``path``, each checked; raise FactsError when the file cannot be read."""
    if fmt == "jsonl":
        return _read_jsonl(path, table)
    if fmt == "csv":
        return _read_csv(path, table)
    if fmt == "parquet":
        return _read_parquet(path, table)
    raise FactsError([Problem(_("unknown dataset format {format!r}; use {formats}").format(
        format=fmt, formats=", ".join(FORMATS)), code="D003")])


def _open_text(path: Path) -> TextIO:
    try:  # utf-8-sig: a byte order mark at the start (Excel's "CSV UTF-8" writes one) is no part of the first cell
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise unreadable_file(str(path), exc) from None


def jsonl_row(number: int, line: str, table: FactTable) -> Row | None:
    """One line of JSON Lines as a checked row; None for a blank line."""
    if not line.strip():
        return None
    try:
        data = load_json(line)
    except RecursionError:  # Python's own words ("maximum recursion depth exceeded ...") are not for the reader
        return Row(number, None, (RowProblem(number, None, _("the document is nested too deeply")),))
    except ValueError as exc:
        message = (_("not valid JSON: {reason}").format(reason=json_reason(exc.msg))
                   if isinstance(exc, json.JSONDecodeError) else str(exc))
        return Row(number, None, (RowProblem(number, None, message),))
    return table.check(number, data)


def not_utf8_file(path: Path, exc: UnicodeDecodeError) -> FactsError:
    return FactsError([Problem(not_utf8(exc.start), code="F008", path="$")], source=str(path))


def _read_jsonl(path: Path, table: FactTable) -> Iterator[Row]:
    with _open_text(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                row = jsonl_row(number, line, table)
                if row is not None:
                    yield row
        except UnicodeDecodeError as exc:
            raise not_utf8_file(path, exc) from None


def _read_csv(path: Path, table: FactTable) -> Iterator[Row]:
    with _open_text(path) as handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return
            columns = csv_header(header, table, str(path))
            yield from csv_rows(reader, columns, table, 0)
        except UnicodeDecodeError as exc:
            raise not_utf8_file(path, exc) from None
        except csv.Error as exc:
            raise FactsError([Problem(_not_csv(exc), code="D004", path="$")], source=str(path)) from None


def csv_header(header: list[str], table: FactTable, source: str) -> list[str]:
    """The columns of a CSV header, checked: raise FactsError when one repeats or names no fact."""
    columns = [c.strip() for c in header]
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise FactsError([Problem(_("column {column!r} appears more than once").format(column=c), code="D002",
                                  path=c) for c in duplicates], source=source)
    table.check_columns(columns, source)
    return columns


def csv_rows(reader: Any, columns: list[str], table: FactTable, offset: int) -> Iterator[Row]:
    """The rows of a ``csv.reader`` past the header, numbered by their first line plus ``offset``."""
    start = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # one malformed row (a cell over the size limit): the others are read
            yield Row(offset + start + 1, None, (RowProblem(offset + start + 1, None, _not_csv(exc)),))
            start = reader.line_num
            continue
        number = offset + start + 1
        start = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            yield Row(number, None, (RowProblem(number, None, _("{cells} cells for {columns} columns").format(
                cells=len(cells), columns=len(columns))),))
            continue
        yield table.from_flat(number, dict(zip(columns, cells, strict=True)))


def check_readable(path: Path, fmt: str) -> None:
    """Raise the FactsError of a file that cannot be read at all (not Parquet, not UTF-8 text), as reading it
    would: said before anything that only needed its first facts (the guess of its family)."""
    if fmt == "parquet":
        _parquet_file(path)
        return
    with path.open("rb") as handle:
        start = handle.read(1 << 16)
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 4:  # not a character cut by the end of the block
            raise not_utf8_file(path, exc) from None


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(str(path))
    except (OSError, ValueError) as exc:
        raise FactsError([Problem(_("cannot read the Parquet file: {reason}").format(reason=exc), code="D004")],
                         source=str(path)) from None


def _read_parquet(path: Path, table: FactTable) -> Iterator[Row]:
    parquet = _parquet_file(path)
    columns = [str(c) for c in parquet.schema_arrow.names]
    table.check_columns(columns, str(path))
    number = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for record in batch.to_pylist():
            number += 1
            yield table.from_flat(number, record)


# -- cells and values -------------------------------------------------------------------------------------------


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _parse_cell(cell: Any, ftype: str) -> tuple[Any, str | None]:
    """A flat cell as the JSON value of a ``ftype`` fact, or the problem."""
    if isinstance(cell, str):
        text = cell.strip()
        if ftype == "boolean":
            lowered = text.lower()
            if lowered in ("true", "false"):
                return lowered == "true", None
            return None, _("{value!r} is not a boolean: write true or false").format(value=text)
        if ftype == "integer":
            return (int(text), None) if _INTEGER.match(text) else (
                None, _("{value!r} is not a whole number").format(value=text))
        if ftype == "number" and _NUMBER.match(text):  # the schema wants a number, not the text of one
            return Decimal(text), None
        if ftype == "money":
            if _MONEY.match(text):
                return text, None
            return None, _("{value!r} is not an amount: write euros with a dot and at most two decimals, e.g. "
                           "6000.50 (not 6.000,50)").format(value=text)
        return text, _scalar_problem(text, ftype)
    if isinstance(cell, dt.date) and not isinstance(cell, dt.datetime) and ftype == "date":
        return cell.isoformat(), None
    if isinstance(cell, dt.datetime) and ftype == "date":  # a timestamp column (pandas writes dates so)
        if cell.tzinfo is None and cell.time() == dt.time(0):
            return cell.date().isoformat(), None
        return None, _("{value} is a date and time: a date is a day, written YYYY-MM-DD (a timestamp is taken "
                       "only at midnight, without a time zone)").format(value=_shown(str(cell)))
    if isinstance(cell, float) and ftype in ("money", "number"):
        cell = Decimal(repr(cell))
    return cell, _scalar_problem(cell, ftype)


def _scalar_problem(value: Any, ftype: str) -> str | None:
    """Why ``value`` (as JSON carries it) is not a valid ``ftype``, or None."""
    if ftype == "boolean":
        return None if isinstance(value, bool) else _("{value} should be true or false").format(value=_shown(value))
    if ftype == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            return not_a_date(_shown(value))
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return not_a_real_date(_shown(value))
        return None
    if ftype in ("money", "number"):
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            return _should_be_an_amount(value)
        if isinstance(value, str):
            pattern = _MONEY if ftype == "money" else _NUMBER
            return None if pattern.match(value) else _("{value} is not an amount: write euros with a dot and at most "
                                                       "two decimals, e.g. \"6000.50\"").format(value=_shown(value))
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - ints and Decimals always convert
            return _should_be_an_amount(value)
        if not number.is_finite() or abs(number) > _MONEY_LIMIT:
            return _("{value} is out of range").format(value=_shown(value))
        if ftype == "money" and number != number.quantize(Decimal("0.01")):
            return too_many_decimals(value)
        return None
    if ftype == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else _("{value} should be a whole number").format(value=_shown(value))
    if ftype == "string":
        return None if isinstance(value, str) else _("{value} should be text").format(value=_shown(value))
    return _("{value}: facts of type {type} cannot be read from a dataset").format(  # pragma: no cover
        value=_shown(value), type=ftype)


def _should_be_an_amount(value: Any) -> str:
    return _("{value} should be an amount").format(value=_shown(value))


def _not_csv(exc: Exception) -> str:
    return _("not valid CSV: {reason}").format(reason=exc)


def _nested(cell: Any) -> Any:
    """A nested Parquet value (struct → dict, map → list of pairs, list) as JSON-ready data, or None."""
    if isinstance(cell, list) and all(isinstance(p, tuple) and len(p) == 2 for p in cell) and cell:
        return {str(k): _plain(v) for k, v in cell}
    if isinstance(cell, dict | list):
        return _plain(cell)
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.datetime):  # a timestamp (pandas writes dates so): its day at midnight, else its text
        return value.date().isoformat() if value.tzinfo is None and value.time() == dt.time(0) else str(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _column_fits(ftype: Type, rest: str) -> bool:
    if isinstance(ftype, ListType):
        index, _dot, field = rest.partition(".")
        return rest == "" or (bool(_ITEM.match(index)) and ftype.field(field) is not None)  # "": nested Parquet
    if ftype in ("money_by_year", "integer_by_year"):
        return rest == "" or bool(_YEAR.match(rest))  # "" : a nested Parquet column
    return rest == ""


def _column_hint(name: str, ftype: Type) -> str:
    if isinstance(ftype, ListType):
        return _("write {first}, {second}, ...").format(first=f"{name}.1.{ftype.fields[0][0]}",
                                                         second=f"{name}.2.{ftype.fields[0][0]}")
    if ftype in ("money_by_year", "integer_by_year"):
        return _("write one column per year: {example}").format(example=f"{name}.2023")
    return _("write the column as {name}").format(name=name)


def _column_key(rest: str) -> tuple[int, str]:
    head, _dot, tail = rest.partition(".")
    return (int(head), tail) if head.isdigit() else (0, rest)


def _field(path: str | None) -> str | None:
    """``$.reddito.2023`` → ``reddito.2023``; ``$`` → None."""
    if not path or path == "$":
        return None
    return path[2:] if path.startswith("$.") else path


def _column(field: str | None) -> str | None:
    """A JSON field path as the CSV column: ``prestazioni[0].data_inizio`` → ``prestazioni.1.data_inizio``."""
    if field is None:
        return None
    return re.sub(r"\[(\d+)\]", lambda m: f".{int(m.group(1)) + 1}", field)


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _shown(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)[:80]


__all__ = ["FORMATS", "FactTable", "Row", "RowProblem", "check_readable", "count_rows", "csv_header", "csv_rows",
           "detect_format", "flatten", "jsonl_row", "not_utf8", "read_rows", "write_csv", "write_jsonl",
           "write_parquet"]
