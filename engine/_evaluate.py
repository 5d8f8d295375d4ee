"""Stage 3c: turn a type-checked expression into a Python closure that evaluates it with three-valued logic.

The closures are built once per ruleset from the IR (no ``eval``): each node becomes a small function of
the environment (a dict from names to values). A missing fact is an :class:`Unknown`; it is never read as
0 or false. ``and``/``or``/``not`` follow Kleene: one false makes ``and`` false even when other operands
are unknown; one true makes ``or`` true.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import _values as V
from ._expr import Arith, Attr, BoolOp, Call, Compare, Comprehension, Expr, Index, Lit, Neg, Not, Ref
from ._i18n import gettext as _
from ._values import Unknown

Env = Mapping[str, Any]
Evaluator = Callable[[Env], Any]

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


class EvaluationError(Exception):
    """Arithmetic that the law cannot mean (a division by zero, a date out of range)."""


def _decimal(value: Any) -> Decimal:
    return value if value.__class__ is Decimal else Decimal(value)


def _divide(a: Any, b: Any) -> Any:
    if b == 0:
        raise EvaluationError(_("division by zero"))
    return _decimal(a) / _decimal(b)


def _strict(fn: Callable[..., Any]) -> Callable[..., Evaluator]:
    """Wrap a function of known values: any unknown argument makes the result unknown.

    One, two (the second perhaps a constant) and three arguments get their own closures: this is the
    engine's hot path."""

    def build(*args: Evaluator) -> Evaluator:
        if len(args) == 1:
            (first,) = args

            def run1(env: Env) -> Any:
                a = first(env)
                if a.__class__ is Unknown:
                    return a
                try:
                    return fn(a)
                except (ValueError, OverflowError, ArithmeticError) as exc:
                    raise EvaluationError(str(exc)) from exc

            return run1
        if len(args) == 2 and hasattr(args[1], "constant"):
            left, constant = args[0], args[1].constant

            def run2c(env: Env) -> Any:
                a = left(env)
                if a.__class__ is Unknown:
                    return a
                try:
                    return fn(a, constant)
                except (ValueError, OverflowError, ArithmeticError) as exc:
                    raise EvaluationError(str(exc)) from exc

            return run2c
        if len(args) == 2:
            left, right = args

            def run2(env: Env) -> Any:
                a = left(env)
                b = right(env)
                if a.__class__ is Unknown or b.__class__ is Unknown:
                    return V.unknown_of(a, b)
                try:
                    return fn(a, b)
                except (ValueError, OverflowError, ArithmeticError) as exc:
                    raise EvaluationError(str(exc)) from exc

            return run2

        if len(args) == 3:
            first, second, third = args

            def run3(env: Env) -> Any:
                a, b, c = first(env), second(env), third(env)
                if a.__class__ is Unknown or b.__class__ is Unknown or c.__class__ is Unknown:
                    return V.unknown_of(a, b, c)
                try:
                    return fn(a, b, c)
                except (ValueError, OverflowError, ArithmeticError) as exc:
                    raise EvaluationError(str(exc)) from exc

            return run3

        def run(env: Env) -> Any:
            values = [a(env) for a in args]
            unknown = V.unknown_of(*values)
            if unknown is not None:
                return unknown
            try:
                return fn(*values)
            except (ValueError, OverflowError, ArithmeticError) as exc:
                raise EvaluationError(str(exc)) from exc

        return run

    return build


def _mean(*values: Any) -> Decimal:
    return sum(map(_decimal, values[1:]), _decimal(values[0])) / len(values)


_STRICT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "media": _mean,
    "arrotonda": lambda value, places: V.round_half_up(_decimal(value), places),
    "anno": lambda d: d.year,
    "mese": lambda d: d.month,
    "data": V.make_date,
    "aggiungi_giorni": V.add_days,
    "aggiungi_mesi": V.add_months,
    "giorno_dopo": V.next_day,
    "giorno_prima": V.previous_day,
    "fine_mese": V.end_of_month,
    "fine_mese_successivo": lambda d: V.end_of_month(d, 1),
    "anni_compiuti": V.whole_years_between,
    "giorni_tra": V.days_between,
    "inizio_mese": V.start_of_month,
    "settimane": V.weeks_in_period,
}


def compile_expression(expr: Expr) -> Evaluator:
    """Build the evaluator of a type-checked expression."""
    match expr:
        case Lit(value=value):
            def constant(env: Env) -> Any:
                return value

            constant.constant = value  # type: ignore[attr-defined]  # lets a call with it skip calling it
            return constant
        case Ref(name=name):
            return operator.itemgetter(name)
        case Neg(operand=o):
            inner = compile_expression(o)

            def neg(env: Env) -> Any:
                v = inner(env)
                return v if isinstance(v, Unknown) else -v

            return neg
        case Not(operand=o):
            inner = compile_expression(o)

            def not_(env: Env) -> Any:
                v = inner(env)
                return v if isinstance(v, Unknown) else not v

            return not_
        case BoolOp(op="and", operands=ops):
            parts = [compile_expression(o) for o in ops]

            def and_(env: Env) -> Any:
                unknown: frozenset[str] | None = None
                for part in parts:
                    v = part(env)
                    if isinstance(v, Unknown):
                        unknown = (unknown or frozenset()) | v.missing
                    elif not v:
                        return False
                return True if unknown is None else Unknown(unknown)

            return and_
        case BoolOp(operands=ops):
            parts = [compile_expression(o) for o in ops]

            def or_(env: Env) -> Any:
                unknown: frozenset[str] | None = None
                for part in parts:
                    v = part(env)
                    if isinstance(v, Unknown):
                        unknown = (unknown or frozenset()) | v.missing
                    elif v:
                        return True
                return False if unknown is None else Unknown(unknown)

            return or_
        case Arith(op="/", left=a, right=b):
            return _strict(_divide)(compile_expression(a), compile_expression(b))
        case Arith(op=op, left=a, right=b):
            return _strict(_ARITH[op])(compile_expression(a), compile_expression(b))
        case Compare(op=op, left=a, right=b):
            return _strict(_COMPARE[op])(compile_expression(a), compile_expression(b))
        case Index(target=t, index=i):
            target, index = compile_expression(t), compile_expression(i)
            name = t.name if isinstance(t, Ref) else "?"

            def index_(env: Env) -> Any:
                mapping, key = target(env), index(env)
                if mapping.__class__ is Unknown or key.__class__ is Unknown:
                    return V.unknown_of(mapping, key)
                if key in mapping:
                    return mapping[key]
                return Unknown(frozenset((f"{name}.{key}",)))

            return index_
        case Attr(target=t, name=field):
            record = compile_expression(t)
            return lambda env: record(env)[field]
        case Call(function="definito", args=(Ref(name=name),)):
            return lambda env: not isinstance(env[name], Unknown)
        case Call(function="se", args=(c, a, b)):
            cond, then, other = compile_expression(c), compile_expression(a), compile_expression(b)

            def if_(env: Env) -> Any:
                v = cond(env)
                if isinstance(v, Unknown):
                    x, y = then(env), other(env)
                    return x if not isinstance(x, Unknown) and x == y else v
                return then(env) if v else other(env)

            return if_
        case Call(function=fn, args=(Comprehension(variable=var, iterable=it, body=body),)):
            return _quantifier(fn, var, compile_expression(it), compile_expression(body))
        case Call(function=fn, args=args):
            return _strict(_STRICT_FUNCTIONS[fn])(*(compile_expression(a) for a in args))
    raise AssertionError(f"cannot compile {expr!r}")  # pragma: no cover - the type checker refuses it


class _Scope(dict[str, Any]):
    """The environment of a quantifier's body: its variable, and every other name read from the case."""

    __slots__ = ("outer",)

    def __init__(self, outer: Env, variable: str, item: Any) -> None:
        super().__init__(((variable, item),))
        self.outer = outer

    def __missing__(self, name: str) -> Any:
        return self.outer[name]


# What each quantifier gives from its body's known values and the union of the unknown ones (None when every
# value is known; tested against None because an Unknown has no truth value).
_QUANTIFIERS: dict[str, Callable[[list[Any], Unknown | None], Any]] = {
    "qualcuno": lambda known, unknown: True if any(known) else (False if unknown is None else unknown),
    "nessuno": lambda known, unknown: False if any(known) else (True if unknown is None else unknown),
    "tutti": lambda known, unknown: False if not all(known) else (True if unknown is None else unknown),
    "somma": lambda known, unknown: sum(known) if unknown is None else unknown,
    "conta": lambda known, unknown: sum(1 for r in known if r) if unknown is None else unknown,
}


def _quantifier(fn: str, var: str, iterable: Evaluator, body: Evaluator) -> Evaluator:
    decide = _QUANTIFIERS[fn]
    empty = decide([], None)  # what it gives for an empty list (the usual case: no earlier benefits, say)

    def run(env: Env) -> Any:
        items = iterable(env)
        if items.__class__ is Unknown:
            return items
        if not items:
            return empty
        found = [body(_Scope(env, var, item)) for item in items]
        return decide([r for r in found if r.__class__ is not Unknown], V.unknown_of(*found))

    return run
