"""Runtime values: the three-valued ``Unknown``, money rounding, and the date arithmetic of the law.

Money is ``Decimal`` everywhere; rounding happens only where a rule calls ``arrotonda`` and is always
ROUND_HALF_UP. Dates are ``datetime.date``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known because facts are missing; ``missing`` names them (JSON-path style)."""

    missing: frozenset[str]

    def __bool__(self) -> bool:  # pragma: no cover - guard against accidental truthiness
        raise TypeError("Unknown has no truth value; use three-valued helpers")


@dataclass(frozen=True)
class NotComputed(Unknown):
    """A computation of a case the law version does not admit, when its computations are worked out for an
    admitted case only (``decision.computations_for: admitted``): unknown, and no fact would make it known."""

    missing: frozenset[str] = frozenset()


NOT_COMPUTED = NotComputed()


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def unknown_of(*values: Any) -> Unknown | None:
    """The union of the missing facts of the unknown ``values``, or None when all are known."""
    missing: frozenset[str] = frozenset()
    found = False
    for value in values:
        if isinstance(value, Unknown):
            found = True
            missing |= value.missing
    return Unknown(missing) if found else None


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(10)}


def round_half_up(value: Decimal, places: int) -> Decimal:
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


ONE_DAY = dt.timedelta(1)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days)


def next_day(day: dt.date) -> dt.date:
    return day + ONE_DAY


def previous_day(day: dt.date) -> dt.date:
    return day - ONE_DAY


def month_length(year: int, month: int) -> int:
    """The days of ``month`` (1-12) of ``year``."""
    if month == 2 and calendar.isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; a day that does not exist becomes the month's last (31 Jan + 1 = 28/29 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    if day.day <= 28:
        return dt.date(year, month, day.day)
    return dt.date(year, month, min(day.day, month_length(year, month)))


def end_of_month(day: dt.date, months_after: int = 0) -> dt.date:
    """The last day of the month ``months_after`` months after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months_after
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, month_length(year, month + 1))


def whole_years_between(start: dt.date, end: dt.date) -> int:
    """Completed years from ``start`` to ``end``; someone starting on 29 February completes a year on 1 March
    in common years."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def days_between(start: dt.date, end: dt.date) -> int:
    return (end - start).days


def start_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def weeks_in_period(start: dt.date, end: dt.date) -> int:
    """The weeks of the period ``start``–``end``, both days included: its days divided by 7, rounded up (a
    week begun counts whole), so the weeks are 7-day blocks counted from ``start``; 0 when ``end`` is
    before ``start`` (an empty period).

    Circ. INPS 28/2021 counts the Decreto Ristori weeks falling in 2021 this way: for 21.12.2020–30.1.2021
    (6 weeks) the blocks begun in 2020 (21-27 December and 28 December-3 January) stay in 2020 and the
    other 4 count, i.e. ``settimane(inizio, fine) - settimane(inizio, 31.12.2020)`` = 6 - 2 = 4.
    """
    if end < start:
        return 0
    return ((end - start).days + 7) // 7


def make_date(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)
