"""Dates for the columnar walker (engine/backends/_columnar_numpy.py), on whole arrays of days since
1970-01-01: (year, month, day) and back by integer arithmetic on the proleptic Gregorian calendar of Python's
``date`` (H. Hinnant's civil_from_days / days_from_civil), several times faster than numpy's datetime64
conversions, and a function of one column with few distinct values worked out once per value
(:func:`tabulated`): a population holds a few thousand distinct dates, not a million.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np

_EPOCH_YEAR = 1970
_EPOCH = dt.date(1970, 1, 1)


def _civil(days: Any) -> tuple[Any, Any, Any]:
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def stamp(days: Any) -> Any:
    year, month, day = _civil(days)
    return (year * 10_000 + month * 100 + day).astype(np.int32)


def _month_first_day(index: Any) -> Any:
    """The days of the first day of the month ``index`` (year × 12 + month - 1)."""
    year, month = index // 12, index % 12 + 1
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


_TABLE_SPAN = 1 << 20  # a range of values up to this: worked out once per value and looked up by row


def _span(values: np.ndarray) -> tuple[int, int] | None:
    if values.ndim == 0 or not values.size:
        return None
    low, high = int(values.min()), int(values.max())
    return (low, high) if high - low < min(_TABLE_SPAN, 4 * values.size) else None


def _position(values: np.ndarray, low: int) -> np.ndarray:
    """``values - low`` as indices (np.take is several times faster on intp than on narrower integers)."""
    position: np.ndarray = np.subtract(values, low, dtype=np.intp)
    return position


def civil(days: Any) -> tuple[Any, Any, Any]:
    """(year, month, day) of ``days``, int64: from a table over the range of the days (populations hold few
    distinct dates), else by arithmetic on every row."""
    days = np.asarray(days)
    span = _span(days)
    if span is None:
        return _civil(days)
    table = _civil(np.arange(span[0], span[1] + 1))
    position = _position(days, span[0])
    return np.take(table[0], position), np.take(table[1], position), np.take(table[2], position)


def month_days(index: Any) -> tuple[Any, Any]:
    """The first day (in days) and the length of each month ``index`` (year × 12 + month - 1)."""
    index = np.asarray(index, dtype=np.int64)
    span = _span(index)
    if span is None:
        first = _month_first_day(index)
        return first, _month_first_day(index + 1) - first
    starts = _month_first_day(np.arange(span[0], span[1] + 2))
    position = _position(index, span[0])
    first = np.take(starts, position)
    return first, np.take(starts[1:], position) - first


def _add_months(calendar: Any, days: Any, count: Any) -> Any:
    """``days`` plus ``count`` months, the day clamped to the month's end (31 January + 1 month = 28/29 Feb)."""
    year, month, day = calendar(days)
    first, length = month_days(year * 12 + month - 1 + np.asarray(count, dtype=np.int64))
    return first + np.minimum(day, length) - 1


def _month_end(calendar: Any, days: Any, more: int) -> Any:
    year, month, _ = calendar(days)
    first, length = month_days(year * 12 + month - 1 + more)
    return first + length - 1


DATE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "aggiungi_giorni": lambda _, d, n: d + n,
    "aggiungi_mesi": _add_months,
    "giorno_dopo": lambda _, d: d + 1,
    "giorno_prima": lambda _, d: d - 1,
    "fine_mese": lambda calendar, d: _month_end(calendar, d, 0),
    "fine_mese_successivo": lambda calendar, d: _month_end(calendar, d, 1),
    "inizio_mese": lambda calendar, d: d - calendar(d)[2] + 1,
}


CALENDAR_FUNCTIONS = ("anno", "mese", "data", "anni_compiuti", "giorni_tra", "settimane")
_CHEAP = ("aggiungi_giorni", "giorno_dopo", "giorno_prima", "giorni_tra")  # one operation: not worth a table


def tabulated(name: str, function: Callable[..., tuple[Any, Any]], args: list[Any]) -> tuple[Any, Any]:
    """``function(*args)``, worked out once per value of its only array argument when that takes few distinct
    values (a date or a year over a population: a table over their range, looked up by row)."""
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.ndim]
    if name in _CHEAP:
        return function(*args)
    if len(arrays) == 1 and args[arrays[0]].dtype.kind == "i":
        values = args[arrays[0]]
        span = _span(values)
        if span is not None and span[1] - span[0] < values.size // 8:
            domain = np.arange(span[0], span[1] + 1)
            result, exists = function(*(domain if i == arrays[0] else a for i, a in enumerate(args)))
            position = _position(values, span[0])
            return (np.take(np.broadcast_to(result, domain.shape), position),
                    None if exists is None else np.take(np.broadcast_to(exists, domain.shape), position))
    return function(*args)


def epoch_days(day: dt.date) -> int:
    return (day - _EPOCH).days


def make_date(year: Any, month: Any, day: Any) -> tuple[Any, Any]:
    """The days of the dates (``year``, ``month``, ``day``) and where they exist (as Python's ``date``)."""
    year, month, day = (np.asarray(v).astype(np.int64) for v in (year, month, day))
    exists = (year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12)
    first, length = month_days(np.where(exists, year * 12 + month - 1, 0))
    exists = exists & (day >= 1) & (day <= length)
    return np.where(exists, first + day - 1, 0), exists


__all__ = ["CALENDAR_FUNCTIONS", "DATE_FUNCTIONS", "civil", "epoch_days", "make_date", "month_days", "stamp",
           "tabulated"]
