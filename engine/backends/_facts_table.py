"""Between Python facts and the columnar layout (:mod:`._layout`): :func:`facts_table` puts already-validated
facts (what ``validate_facts`` accepts: JSON values, money as strings or numbers, dates as ``YYYY-MM-DD``)
into a fact table, and :func:`row_facts` gives one row of a fact table back as such facts (what the Rete
table adapter runs through the kernel)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from .._compile import LawVersion
from .._i18n import gettext as _
from .._types import ListType, Type
from ._layout import CENTS_PER_EURO, ROW, is_by_year, schema, split_year_column, year_column


def fact_types(law_or_versions: LawVersion | Iterable[LawVersion]) -> dict[str, Type]:
    """The facts of one law version, or of several (a family's), by name; a fact two versions type
    differently is an error."""
    laws = [law_or_versions] if isinstance(law_or_versions, LawVersion) else list(law_or_versions)
    types: dict[str, Type] = {}
    for law in laws:
        for name, fact in law.facts.items():
            if types.setdefault(name, fact.type) != fact.type:
                raise ValueError(_("the fact {name!r} has two types across the law versions: {first} and {second}")
                                 .format(name=name, first=types[name], second=fact.type))
    return types


def _cents(value: Any) -> int:
    return int(Decimal(value if not isinstance(value, float) else repr(value)) * CENTS_PER_EURO)


def _number(value: Any) -> Decimal:
    return Decimal(value if not isinstance(value, float) else repr(value))


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _to_column(ftype: Type) -> Callable[[Any], Any]:
    """How a validated JSON value of a fact of ``ftype`` becomes its column's value."""
    if isinstance(ftype, ListType):
        fields = [(name, _to_column(field)) for name, field in ftype.fields]
        return lambda items: [{name: (None if item.get(name) is None else convert(item[name]))
                               for name, convert in fields} for item in items]
    if ftype in ("money", "money_by_year"):
        return _cents
    if ftype == "number":
        return _number
    if ftype == "date":
        return _date
    if ftype == "integer_by_year":
        return int
    return lambda value: value


def facts_table(law_or_versions: LawVersion | Iterable[LawVersion], rows: Iterable[Mapping[str, Any]], *,
                first_row: int = 1) -> pa.Table:
    """The fact table (the columnar layout) of already-validated facts, one row per mapping; ``ROW`` counts
    from ``first_row``. The facts are those of the law version(s) given; a by-year fact gets one column per
    year that some row carries."""
    types = fact_types(law_or_versions)
    rows = list(rows)
    columns: dict[str, list[Any]] = {}
    years: dict[str, Iterable[int]] = {}
    for name, ftype in types.items():
        convert = _to_column(ftype)
        if is_by_year(ftype):
            present = years[name] = {int(year) for row in rows for year in (row.get(name) or {})}
            for year in present:
                columns[year_column(name, year)] = [
                    None if (by_year := row.get(name)) is None or (value := by_year.get(str(year),
                                                                                        by_year.get(year))) is None
                    else convert(value) for row in rows]
        else:
            columns[name] = [None if (value := row.get(name)) is None else convert(value) for row in rows]
    columns[ROW] = list(range(first_row, first_row + len(rows)))
    target = schema(types.items(), years)
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in target], schema=target)


def _from_column(ftype: Type) -> Callable[[Any], Any]:
    """How a column's value becomes the validated JSON value of a fact of ``ftype`` (inverse of _to_column)."""
    if isinstance(ftype, ListType):
        fields = [(name, _from_column(field)) for name, field in ftype.fields]
        return lambda items: [{name: convert(item[name]) for name, convert in fields if item.get(name) is not None}
                              for item in items]
    if ftype in ("money", "money_by_year"):
        return lambda cents: Decimal(cents).scaleb(-2)
    if ftype == "date":
        return lambda day: day.isoformat()
    return lambda value: value


def row_facts(law: LawVersion, facts: pa.Table) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row of a fact table as ``(ROW, facts)``: the facts of ``law`` that the row knows, as
    ``validate_facts`` accepts them (a by-year fact as ``{"2023": amount, ...}``)."""
    readers: list[tuple[str, str | None, Callable[[Any], Any], Sequence[Any]]] = []
    for column in facts.column_names:
        if column == ROW:
            continue
        split = split_year_column(column)
        name, year = (split[0], str(split[1])) if split and split[0] in law.facts else (column, None)
        if name in law.facts and (year is None) != is_by_year(law.facts[name].type):
            readers.append((name, year, _from_column(law.facts[name].type), facts.column(column).to_pylist()))
    numbers = facts.column(ROW).to_pylist()
    for index, number in enumerate(numbers):
        data: dict[str, Any] = {}
        for name, year, convert, values in readers:
            value = values[index]
            if value is None:
                continue
            if year is None:
                data[name] = convert(value)
            else:
                data.setdefault(name, {})[year] = convert(value)
        yield number, data


__all__ = ["fact_types", "facts_table", "row_facts"]
