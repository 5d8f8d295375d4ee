"""Stage 3b, type-check: every expression is checked against the declared facts, parameters and derived
values before anything runs, so that money is never compared with a year and a boolean is never summed.

Types are plain strings for scalars (``boolean``, ``integer``, ``number``, ``money``, ``date``,
``string``), ``money_by_year`` for a mapping year → money, and :class:`ListType` for lists of records.
The function whitelist lives here too (its implementations are in ``_evaluate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._expr import Arith, Attr, BoolOp, Call, Compare, Comprehension, Expr, Index, Lit, Neg, Not, Pos, Ref
from ._i18n import N_
from ._i18n import gettext as _
from ._suggest import suggest

SCALAR_TYPES = ("boolean", "integer", "number", "money", "date", "string")
MAP_TYPES = {"money_by_year": "money", "integer_by_year": "integer"}
NUMERIC = ("integer", "number", "money")


@dataclass(frozen=True)
class ListType:
    """A list of records; ``fields`` are (name, scalar type) pairs."""

    fields: tuple[tuple[str, str], ...]

    def field(self, name: str) -> str | None:
        return dict(self.fields).get(name)

    def __str__(self) -> str:
        return "list of {" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"


@dataclass(frozen=True)
class RecordType:
    fields: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "record {" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"


Type = str | ListType | RecordType


class TypeCheckError(Exception):
    def __init__(self, message: str, pos: Pos, hint: str | None = None, code: str = "X002") -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint
        self.code = code


def _describe(t: Type) -> str:
    return str(t)


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]  # scalar type names, "numeric", "any", "comparable", "list", "bool-comp", ...
    result: str  # a type, or "same" (the type of the first argument), "numeric-join"
    variadic: bool = False
    doc: str = ""  # an English msgid (N_): read it through ``description``

    @property
    def description(self) -> str:
        """What the function does, in the language in force."""
        return _(self.doc) if self.doc else ""


FUNCTIONS: dict[str, Signature] = {
    "min": Signature(("comparable",), "join", variadic=True, doc=N_("the smallest of the values")),
    "max": Signature(("comparable",), "join", variadic=True, doc=N_("the largest of the values")),
    "media": Signature(("numeric",), "mean", variadic=True, doc=N_("the arithmetic mean of the values")),
    "arrotonda": Signature(("numeric", "integer"), "same",
                           doc=N_("rounds to N decimals, half up (ROUND_HALF_UP)")),
    "anno": Signature(("date",), "integer", doc=N_("the year of a date")),
    "mese": Signature(("date",), "integer", doc=N_("the month (1-12) of a date")),
    "data": Signature(("integer", "integer", "integer"), "date", doc=N_("the date of year, month, day")),
    "aggiungi_giorni": Signature(("date", "integer"), "date", doc=N_("the date N days later")),
    "aggiungi_mesi": Signature(("date", "integer"), "date",
                               doc=N_("the same day N months later (or the last of the month, if it lacks it)")),
    "giorno_dopo": Signature(("date",), "date", doc=N_("the next day")),
    "giorno_prima": Signature(("date",), "date", doc=N_("the day before")),
    "fine_mese": Signature(("date",), "date", doc=N_("the last day of the date's month")),
    "fine_mese_successivo": Signature(("date",), "date", doc=N_("the last day of the next month")),
    "anni_compiuti": Signature(("date", "date"), "integer",
                               doc=N_("the whole years completed between two dates "
                                      "(29 February: completed on 1 March)")),
    "giorni_tra": Signature(("date", "date"), "integer", doc=N_("the days from the first date to the second")),
    "inizio_mese": Signature(("date",), "date", doc=N_("the first day of the date's month")),
    "settimane": Signature(("date", "date"), "integer",
                           doc=N_("the weeks of the period from-to, both ends included: the days divided by 7 "
                                  "rounded up (blocks of 7 days counted from 'from'; a week begun counts whole); "
                                  "0 if 'to' is before 'from'")),
    "definito": Signature(("any",), "boolean",
                          doc=N_("true if an optional fact or a parameter has a value")),
    "se": Signature(("boolean", "any", "any"), "branch", doc=N_("se(condition, then, otherwise)")),
    "qualcuno": Signature(("predicate",), "boolean", doc=N_("true if at least one item meets the condition")),
    "nessuno": Signature(("predicate",), "boolean", doc=N_("true if no item meets the condition")),
    "tutti": Signature(("predicate",), "boolean", doc=N_("true if every item meets the condition")),
    "conta": Signature(("predicate",), "integer", doc=N_("how many items meet the condition")),
    "somma": Signature(("summand",), "integer",
                       doc=N_("the sum of a whole number computed for each item (0 for an empty list)")),
}


class TypeChecker:
    """Checks expressions against a table of names and types.

    ``optional`` names may be absent at run time without making anything unknown: they are the only
    ones ``definito`` accepts (parameters whose value may be unknown are optional too).
    """

    def __init__(self, names: Mapping[str, Type], *, optional: frozenset[str] = frozenset()) -> None:
        self._names = names
        self._optional = optional

    def check(self, expr: Expr, scope: Mapping[str, Type] | None = None) -> Type:
        return self._check(expr, dict(scope or {}))

    def _unknown_name(self, name: str, pos: Pos, scope: Mapping[str, Type]) -> TypeCheckError:
        hint = suggest(name, [*self._names, *scope])
        return TypeCheckError(_("unknown name {name!r}").format(name=name), pos, hint, code="X003")

    def _check(self, expr: Expr, scope: dict[str, Type]) -> Type:
        match expr:
            case Lit(kind="boolean"):
                return "boolean"
            case Lit(kind="string"):
                return "string"
            case Lit(kind="percent"):
                return "number"
            case Lit(value=v):
                return "integer" if isinstance(v, int) else "number"
            case Ref(name=name, pos=pos):
                if name in scope:
                    return scope[name]
                if name not in self._names:
                    raise self._unknown_name(name, pos, scope)
                return self._names[name]
            case Neg(operand=o, pos=pos):
                t = self._check(o, scope)
                if t not in NUMERIC:
                    raise TypeCheckError(_("cannot negate a {type}").format(type=_describe(t)), pos)
                return t
            case Not(operand=o, pos=pos):
                t = self._check(o, scope)
                if t != "boolean":
                    raise TypeCheckError(_("'not' needs a boolean, got {type}").format(type=_describe(t)), pos)
                return "boolean"
            case BoolOp(op=op, operands=ops):
                for operand in ops:
                    t = self._check(operand, scope)
                    if t != "boolean":
                        raise TypeCheckError(_("'{op}' needs booleans, got {type}").format(op=op, type=_describe(t)),
                                             _pos_of(operand), _("compare the value with something, e.g. x > 0"))
                return "boolean"
            case Arith():
                return self._arith(expr, scope)
            case Compare():
                return self._compare(expr, scope)
            case Index(target=target, index=index, pos=pos):
                t = self._check(target, scope)
                if not isinstance(t, str) or t not in MAP_TYPES:
                    raise TypeCheckError(_("only values by year can be indexed, not a {type}").format(
                        type=_describe(t)), pos)
                it = self._check(index, scope)
                if it != "integer":
                    raise TypeCheckError(_("the index of a value by year must be a year (integer), got {type}").format(
                        type=_describe(it)), _pos_of(index))
                return MAP_TYPES[t]
            case Attr(target=target, name=name, pos=pos):
                t = self._check(target, scope)
                if not isinstance(t, RecordType):
                    raise TypeCheckError(_("'.{name}' can only be read from a list element").format(name=name), pos)
                fields = dict(t.fields)
                if name not in fields:
                    raise TypeCheckError(_("list elements have no field {name!r}").format(name=name), pos,
                                         suggest(name, fields),
                                         code="X003")
                return fields[name]
            case Call():
                return self._call(expr, scope)
            case Comprehension(pos=pos):
                raise TypeCheckError(_("'x in list: ...' is only allowed as the argument of qualcuno, nessuno, "
                                       "tutti, conta or somma"), pos)
        raise AssertionError(expr)  # pragma: no cover

    def _arith(self, expr: Arith, scope: dict[str, Type]) -> Type:
        lt = self._check(expr.left, scope)
        rt = self._check(expr.right, scope)
        op = expr.op
        for t, side in ((lt, expr.left), (rt, expr.right)):
            if t == "boolean":
                raise TypeCheckError(_("a boolean used as a number"), _pos_of(side), code="X004")
            if t == "date":
                raise TypeCheckError(_("dates are not added or subtracted with + and -"), _pos_of(side),
                                     _("use aggiungi_giorni, aggiungi_mesi or giorni_tra"))
            if t not in NUMERIC:
                raise TypeCheckError(_("arithmetic on a {type}").format(type=_describe(t)), _pos_of(side))
        if op in "+-":
            if lt == rt:
                return lt
            if "money" in (lt, rt):
                other, other_expr = (rt, expr.right) if lt == "money" else (lt, expr.left)
                if _literal(other_expr):
                    return "money"
                raise TypeCheckError(_("money {op} {other}: add money only to money").format(op=op, other=other),
                                     expr.pos, code="X004")
            return "number"
        if op == "*":
            if lt == "money" and rt == "money":
                raise TypeCheckError(_("money multiplied by money"), expr.pos, code="X004")
            if "money" in (lt, rt):
                return "money"
            return "integer" if lt == rt == "integer" else "number"
        # division
        if rt == "money" and lt != "money":
            raise TypeCheckError(_("a number divided by money"), expr.pos, code="X004")
        if lt == "money":
            return "number" if rt == "money" else "money"
        return "number"

    def _compare(self, expr: Compare, scope: dict[str, Type]) -> Type:
        lt = self._check(expr.left, scope)
        rt = self._check(expr.right, scope)
        if not self._comparable(lt, rt, expr.left, expr.right):
            hint = None
            if {lt, rt} == {"money", "integer"}:
                hint = _("an integer is often a year or a count: compare money with money")
            raise TypeCheckError(_("cannot compare {left} with {right}").format(left=_describe(lt),
                                                                                 right=_describe(rt)),
                                 expr.pos, hint, code="X004")
        if expr.op not in ("==", "!=") and lt in ("boolean", "string"):
            raise TypeCheckError(_("'{op}' does not order {type} values; use == or !=").format(op=expr.op, type=lt),
                                 expr.pos, code="X004")
        return "boolean"

    @staticmethod
    def _comparable(lt: Type, rt: Type, left: Expr, right: Expr) -> bool:
        if lt == rt:
            return isinstance(lt, str)
        numeric = {lt, rt} <= set(NUMERIC)
        if not numeric:
            return False
        if "money" in (lt, rt):
            other = right if lt == "money" else left
            return _literal(other)  # 12000 (or -1) next to money is an amount in euros
        return True  # integer with number

    def _call(self, expr: Call, scope: dict[str, Type]) -> Type:
        name, args, pos = expr.function, expr.args, expr.pos
        if name not in FUNCTIONS:
            raise TypeCheckError(_("unknown function {name!r}").format(name=name), pos,
                                 suggest(name, FUNCTIONS) or _("see docs/language.md for the functions available"),
                                 code="X003")
        sig = FUNCTIONS[name]
        if sig.params in (("predicate",), ("summand",)):
            summand = sig.params == ("summand",)
            if len(args) != 1 or not isinstance(args[0], Comprehension):
                shape = "x in lista: valore" if summand else "x in lista: condizione"
                raise TypeCheckError(_("{name} takes one argument written '{shape}'").format(name=name, shape=shape),
                                     pos)
            comp = args[0]
            lt = self._check(comp.iterable, scope)
            if not isinstance(lt, ListType):
                raise TypeCheckError(_("{name} needs a list, got {type}").format(name=name, type=_describe(lt)),
                                     _pos_of(comp.iterable))
            inner = dict(scope)
            inner[comp.variable] = RecordType(lt.fields)
            bt = self._check(comp.body, inner)
            if summand and bt != "integer":
                raise TypeCheckError(_("{name} adds integers (weeks, days, counts), got {type}").format(
                    name=name, type=_describe(bt)), _pos_of(comp.body), code="X004")
            if not summand and bt != "boolean":
                raise TypeCheckError(_("the condition of {name} must be a boolean, got {type}").format(
                    name=name, type=_describe(bt)), _pos_of(comp.body))
            return sig.result
        if sig.variadic:
            if not args:
                raise TypeCheckError(_("{name} needs at least one argument").format(name=name), pos)
        elif len(args) != len(sig.params):
            raise TypeCheckError(_("{name} takes {count} argument(s), got {given}").format(
                name=name, count=len(sig.params), given=len(args)), pos)
        if name == "definito":
            arg = args[0]
            if not (isinstance(arg, Ref) and arg.name in self._optional):
                raise TypeCheckError(_("definito() takes the name of an optional fact or of a parameter whose "
                                       "value may be unknown"), _pos_of(arg))
            return "boolean"
        types = [self._check(a, scope) for a in args]
        if name == "se":
            if types[0] != "boolean":
                raise TypeCheckError(_("the condition of se() must be a boolean, got {type}").format(type=types[0]),
                                     _pos_of(args[0]))
            then_t, else_t = types[1], types[2]
            numeric_mix = {then_t, else_t} <= set(NUMERIC) and "money" not in {then_t, else_t}
            money_literal = "money" in (then_t, else_t) and (_literal(args[1]) or _literal(args[2]))
            if then_t != else_t and not numeric_mix and not money_literal:
                raise TypeCheckError(_("the two branches of se() differ: {then} and {otherwise}").format(
                    then=then_t, otherwise=else_t), pos, code="X004")
            return then_t if then_t in (else_t, "money") else else_t
        if sig.variadic:
            first = types[0]
            for t, arg in zip(types, args, strict=True):
                if t not in (*NUMERIC, "date"):
                    raise TypeCheckError(_("{name} compares numbers, money or dates, not {type}").format(
                        name=name, type=_describe(t)), _pos_of(arg))
                if not self._comparable(first, t, args[0], arg):
                    raise TypeCheckError(_("{name} mixes {first} and {second}").format(name=name, first=first,
                                                                                        second=t),
                                         _pos_of(arg), code="X004")
            if sig.result == "mean":
                if first == "date":
                    raise TypeCheckError(_("the mean of dates is not defined"), pos)
                return "money" if "money" in types else "number"
            if "money" in types:
                return "money"
            return "number" if "number" in types else first
        for t, want, arg in zip(types, sig.params, args, strict=True):
            ok = (t == want) or (want == "numeric" and t in NUMERIC) or want == "any"
            if not ok:
                raise TypeCheckError(_("{name} expects {want} here, got {type}").format(
                    name=name, want=want, type=_describe(t)), _pos_of(arg), code="X004")
        return types[0] if sig.result == "same" else sig.result


def _literal(expr: Expr) -> bool:
    """A number written in the rule (``12000``, ``-1``), which takes the unit of what it meets."""
    return isinstance(expr, Lit) or (isinstance(expr, Neg) and isinstance(expr.operand, Lit))


def _pos_of(expr: Expr) -> Pos:
    return expr.pos
