"""The columnar layout of facts: how a population of applications is held as one Arrow table, the contract
between the readers of population files (JSON Lines, CSV, Parquet), the columnar backend and the writers of
results.

One row is one application. Its columns, named as in CSV files (docs/datasets.md):

=====================  =====================================  ===========================================
fact type              column(s)                              Arrow type
=====================  =====================================  ===========================================
``boolean``            ``name``                               ``bool``
``integer``            ``name``                               ``int64``
``number``             ``name``                               ``decimal128(38, 12)``
``money``              ``name``                               ``int64``: cents (euros × 100, exact)
``date``               ``name``                               ``date32``
``string``             ``name``                               ``string``
``money_by_year``      ``name.YYYY``, one per year present    ``int64``: cents
``integer_by_year``    ``name.YYYY``, one per year present    ``int64``
list of records        ``name``                               ``list<struct<field: type, ...>>``, each
                                                              field typed as above (money in cents)
=====================  =====================================  ===========================================

* A missing fact is null: ``null`` in its column, or the column absent from the table (every row unknown).
  A by-year fact has no column for a year that no row carries; an absent year column is null on every row.
  A null list is an unknown list; an empty list is a known "none".
* ``ROW`` (``int64``) carries each row's number in its source: the file line for JSON Lines and CSV, the
  row counted from 1 for Parquet. Results and errors keep it, so a bad row is reported where it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa

from .._types import ListType, Type

ROW = "__row"
NUMBER_SCALE = 12
CENTS_PER_EURO = 100

_SCALARS: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "number": pa.decimal128(38, NUMBER_SCALE),
    "money": pa.int64(),
    "date": pa.date32(),
    "string": pa.string(),
}
_BY_YEAR: dict[str, pa.DataType] = {"money_by_year": pa.int64(), "integer_by_year": pa.int64()}
_YEAR_COLUMN = re.compile(r"^(?P<fact>.+)\.(?P<year>\d{4})$")


def arrow_type(ftype: Type) -> pa.DataType:
    """The Arrow type of a fact's column (of each year's column, for a by-year fact)."""
    if isinstance(ftype, ListType):
        return pa.list_(pa.struct([(name, _SCALARS[field]) for name, field in ftype.fields]))
    if isinstance(ftype, str) and ftype in _BY_YEAR:
        return _BY_YEAR[ftype]
    if isinstance(ftype, str) and ftype in _SCALARS:
        return _SCALARS[ftype]
    raise TypeError(f"no columnar layout for the type {ftype}")


def year_column(fact: str, year: int) -> str:
    """The column holding ``fact`` for ``year``: ``reddito_lavoro_autonomo.2023``."""
    return f"{fact}.{year:04d}"


def split_year_column(column: str) -> tuple[str, int] | None:
    """``("reddito_lavoro_autonomo", 2023)`` for ``reddito_lavoro_autonomo.2023``; None for another column."""
    match = _YEAR_COLUMN.match(column)
    return (match["fact"], int(match["year"])) if match else None


def is_by_year(ftype: Type) -> bool:
    return isinstance(ftype, str) and ftype in _BY_YEAR


def schema(facts: Iterable[tuple[str, Type]], years: dict[str, Iterable[int]] | None = None) -> pa.Schema:
    """The Arrow schema of a fact table: ``ROW`` first, then each fact's column(s); ``years`` gives the years
    present for each by-year fact."""
    fields = [pa.field(ROW, pa.int64(), nullable=False)]
    for name, ftype in facts:
        if is_by_year(ftype):
            fields.extend(pa.field(year_column(name, year), arrow_type(ftype))
                          for year in sorted((years or {}).get(name, ())))
        else:
            fields.append(pa.field(name, arrow_type(ftype)))
    return pa.schema(fields)
