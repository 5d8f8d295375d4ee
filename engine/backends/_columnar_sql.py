"""The columnar compiler: every derived value, requirement, computation and the decision of a law version,
compiled from the typed IR into one SQL query over a fact table (:mod:`._layout`) that DuckDB runs on whole
columns (engine/backends/columnar.py runs it). Nothing here imports DuckDB: this is text, built from the IR,
never from rule text.

How values are held, so that every row gets exactly what the Python evaluator (engine/_evaluate.py) gives:

* a number (integer, money, number) is a **rational**: an integer SQL expression over a positive integer
  denominator known when compiling (money columns are cents over 100, ``70%`` is 7 over 10, ``media`` of two
  values divides the denominator by 2). Sums, products, comparisons and ``arrotonda`` (half up, by integer
  division) are exact integer arithmetic; DuckDB refuses an integer overflow, and the query is then run again
  on 128-bit integers (``wide``). Division is exact where Python's Decimal keeps 28 significant digits: the two
  agree unless a quotient has more than 28 significant digits *and* lies within 10⁻²⁸ of a rounding boundary;
* a missing fact is NULL, and SQL's ``AND``/``OR``/``NOT`` and comparisons are Kleene's, as in the evaluator;
  every other function is strict (any unknown argument makes it unknown), and ``se``, the list quantifiers and
  indexing by year follow the evaluator case by case;
* the missing facts of an undetermined row (``mancanti``) are lists of names built by the same rules as the
  evaluator's ``Unknown.missing``, worked out only for the undetermined rows;
* a row whose arithmetic fails in Python (a division by zero, a date that does not exist) is flagged
  (``#errore``): columnar.py evaluates those rows with the Rete kernel, which reports them as it does.

A construct the plan cannot hold (a division by a value that varies by row, ``arrotonda`` to a number of
places that is not written in the rule) is a :class:`ColumnarError` naming the rule and the construct.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._compile import LawVersion, Node
from .._expr import Arith, Attr, BoolOp, Call, Compare, Comprehension, Expr, Index, Lit, Neg, Not, Ref, render
from .._types import MAP_TYPES, ListType, Type
from ..errors import ColumnarError
from ._layout import NUMBER_SCALE, ROW, split_year_column
from ._network import Conditions, topological

DECISION = "#decisione"
ERROR = "#errore"
MISSING = "#mancanti"
_NO_MISSING = "CAST([] AS VARCHAR[])"
_UNKNOWN_ITEM = 2**32
_DATES = {  # the functions giving a date, as SQL of their arguments
    "aggiungi_giorni": "({0} + CAST({1} AS INTEGER))",
    "aggiungi_mesi": "CAST({0} + to_months(CAST({1} AS INTEGER)) AS DATE)",  # 31 Jan + 1 month = 28/29 Feb
    "giorno_dopo": "({0} + 1)",
    "giorno_prima": "({0} - 1)",
    "fine_mese": "last_day({0})",
    "fine_mese_successivo": "last_day(CAST(date_trunc('month', {0}) + INTERVAL 1 MONTH AS DATE))",
    "inizio_mese": "CAST(date_trunc('month', {0}) AS DATE)",
}
_SQL_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def value_column(name: str) -> str:
    return f"v:{name}"


def requirement_value(name: str) -> str:
    return f"r:{name}"


@dataclass(frozen=True)
class Num:
    """A rational number: ``num`` (SQL, an integer) over ``den`` (a positive integer known when compiling)."""

    num: str
    den: int


@dataclass(frozen=True)
class Plain:
    """Any other value: boolean, date, string, list of records (SQL of that type)."""

    sql: str


@dataclass(frozen=True)
class ByYear:
    """A by-year fact, read only through an index: its year columns present in the table."""

    name: str
    years: tuple[int, ...]
    value_den: int


Value = Num | Plain | ByYear


def _is_null(value: Value) -> str:
    if isinstance(value, Num):
        return f"({value.num}) IS NULL"
    if isinstance(value, Plain):
        return f"({value.sql}) IS NULL"
    return f"NOT {_given(value)}"


def _given(value: ByYear) -> str:
    """A by-year fact is given when the row holds one of its years (what the Rete table adapter passes on)."""
    if not value.years:
        return "false"
    return "(" + " OR ".join(f"{quote(f'{value.name}.{year}')} IS NOT NULL" for year in value.years) + ")"


def _scaled(value: Num, den: int) -> str:
    factor = den // value.den
    return value.num if factor == 1 else f"({value.num} * {factor})"


def _common(*values: Num) -> tuple[list[str], int]:
    den = math.lcm(*(v.den for v in values))
    return [_scaled(v, den) for v in values], den


def _round_half_up(num: str, den: int, places: int) -> Num:
    """``num / den`` rounded half up (away from zero at the half) to ``places`` decimals, as
    ``Decimal.quantize(..., ROUND_HALF_UP)``."""
    if places >= 0:
        target = 10**places
        if target % den == 0:
            return Num(num if target == den else f"({num} * {target // den})", target)
        divisor = den  # the result, in 1/target units: num * target / den
        scaled = f"abs({num}) * {2 * target}"
        return Num(f"(sign({num}) * (({scaled} + {divisor}) // {2 * divisor}))", target)
    unit = 10**-places
    divisor = den * unit
    return Num(f"(sign({num}) * ((abs({num}) * 2 + {divisor}) // {2 * divisor}) * {unit})", 1)


@dataclass
class _Scope:
    """The variables of the list quantifiers around an expression: name -> (SQL lambda variable, record type)."""

    variables: dict[str, tuple[str, ListType]] = field(default_factory=dict)

    def bind(self, name: str, ltype: ListType) -> tuple[_Scope, str]:
        variable = f"_x{len(self.variables)}"
        return _Scope({**self.variables, name: (variable, ltype)}), variable


def _fraction(value: Decimal | int) -> tuple[int, int]:
    numerator, denominator = Decimal(value).as_integer_ratio()
    return numerator, denominator


def parameter_periods(law: LawVersion, first: dt.date, last: dt.date) -> dict[str, tuple[tuple[int, ...], bool]]:
    """For rows dated from ``first`` to ``last``: each parameter's known dated values in force on some of those
    days (their indices), and whether a single one is in force on all of them."""
    out = {}
    for name, parameter in law.parameters.items():
        indices = tuple(index for index, v in enumerate(parameter.values) if v.value is not None
                        and v.valid_from <= last and (v.valid_to is None or first <= v.valid_to))
        only = parameter.values[indices[0]] if len(indices) == 1 else None
        covers = only is not None and only.valid_from <= first and (only.valid_to is None or last <= only.valid_to)
        out[name] = (indices, covers)
    return out


class Compiler:
    """Compiles one law version for one fact table's columns (``columns``: the names present) and, when given,
    the parameters' values in force on the table's dates (``periods``, see :func:`parameter_periods`)."""

    def __init__(self, law: LawVersion, columns: frozenset[str], *, wide: bool = False,
                 periods: Mapping[str, tuple[tuple[int, ...], bool]] | None = None) -> None:
        self.law = law
        self.periods = periods  # per parameter: its dated values in force on some row, and whether one covers all
        self.columns = columns
        self.integer = "HUGEINT" if wide else "BIGINT"
        self.types: dict[str, Type] = {name: fact.type for name, fact in law.facts.items()}
        self.types.update({name: p.type for name, p in law.parameters.items()})
        self.types.update({node.name: node.type for node in law.nodes() if node.kind != "requirement"})
        self.nodes = {node.name: node for node in law.nodes() if node.kind != "requirement"}
        self.years: dict[str, tuple[int, ...]] = {}
        for column in columns:
            split = split_year_column(column)
            if split and split[0] in law.facts:
                self.years[split[0]] = (*self.years.get(split[0], ()), split[1])
        self.missing_columns: dict[str, str] = {}  # node -> the SQL of its missing facts (see _missing_of_name)
        self.dens: dict[str, int] = {}  # the denominator of each numeric named value (facts, parameters, nodes)
        self.node: Node | None = None  # the rule being compiled, for error messages
        self.gated = frozenset(law.computations) if law.computations_for == "admitted" else frozenset()
        conditions = Conditions({n: t for n, t in self.types.items() if isinstance(t, str)})
        self.network_reads: dict[str, tuple[Expr, ...]] = {}
        for node in law.nodes():
            if node.kind != "requirement" and node.type == "boolean" and not conditions.wholly_in_python(node.expr):
                true_rule, _ = conditions.boolean_rules(node.expr)
                self.network_reads[node.name] = tuple(conditions.synthetic[s].expr
                                                      for s in conditions.synthetic_in(true_rule))

    # -- errors -----------------------------------------------------------------------------------------
    def refuse(self, construct: str, expr: Expr) -> ColumnarError:
        where = f"{self.node.kind} {self.node.name!r}" if self.node else "an expression"
        return ColumnarError(f"{self.law.path}: {where}: {construct} cannot be compiled for the columnar backend "
                             f"(in {render(expr)!r}, line {expr.pos.line} column {expr.pos.column}); "
                             "use --engine rete", rule=self.node.name if self.node else None)

    # -- the query ----------------------------------------------------------------------------------------
    def query(self, table: str, *, missing: bool = False) -> str:
        """One SELECT giving, for each row: the decision and each requirement's outcome (0 true, 1 false,
        2 unknown), the value of every output and the error mark; or, with ``missing``, only the missing facts
        of each row (run on the undetermined rows alone)."""
        layers: list[list[tuple[str, str]]] = [self._base()]
        errors: list[str] = []
        order = topological(list(self.law.derived.values()) + list(self.law.computations.values()))
        level: dict[str, int] = {}
        for node in order:
            depth = 1 + max((level.get(read, 0) for read in node.reads), default=0)
            level[node.name] = depth
            while len(layers) <= depth:
                layers.append([])
            layers[depth].extend(self._node_columns(node, errors))
        requirement_layer: list[tuple[str, str]] = []
        for node in self.law.requirements:
            self.node = node
            local: list[str] = []
            requirement_layer.append((requirement_value(node.name), self._bool(node.expr, _Scope(), local)))
            if local:
                requirement_layer.append((f"e:{node.name}", _any_error(local)))
                errors.append(quote(f"e:{node.name}"))
        self.node = None
        layers.append(requirement_layer)
        outcomes = [quote(requirement_value(node.name)) for node in self.law.requirements]
        decision = " AND ".join(outcomes) if outcomes else "true"
        layers.append([(DECISION, f"({decision})")])
        if missing:
            every = self._missing_of_decision()
            for depth in sorted({level[name] for name in self.missing_columns}):
                layers.append([(f"m:{name}", sql) for name, sql in self.missing_columns.items()
                               if level[name] == depth])
            final = [(ROW, quote(ROW)), (MISSING, every)]
        else:
            error = f"({' OR '.join(errors) or 'false'})"
            final = [(ROW, quote(ROW)), (DECISION, _index(quote(DECISION))), (ERROR, error),
                     *self._output_columns(),
                     *((requirement_value(n.name), _index(quote(requirement_value(n.name))))
                       for n in self.law.requirements)]
        # Every name is quoted by quote() and every string by _text() (each doubles its quote character); the
        # rest is SQL this module writes from the IR: no text of a rule or of a fact reaches the query unquoted.
        sql = f"SELECT * FROM {quote(table)}"  # noqa: S608
        for layer in layers:
            if layer:
                columns = ", ".join(f"{expr} AS {quote(name)}" for name, expr in layer)
                sql = f"SELECT *, {columns} FROM ({sql})"  # noqa: S608
        columns = ", ".join(f"{expr} AS {quote(name)}" for name, expr in final)
        return f"SELECT {columns} FROM ({sql})"  # noqa: S608

    def _base(self) -> list[tuple[str, str]]:
        """The facts as the plan reads them (integers widened, absent columns NULL) and each parameter's value
        on the row's own selecting date."""
        out: list[tuple[str, str]] = []
        for name, fact in self.law.facts.items():
            ftype = fact.type
            if isinstance(ftype, str) and ftype in MAP_TYPES:
                self.dens[name] = 100 if ftype == "money_by_year" else 1
                for year in self.years.get(name, ()):
                    column = f"{name}.{year}"
                    out.append((value_column(column), f"CAST({quote(column)} AS {self.integer})"))
                continue
            present = name in self.columns
            if ftype in ("money", "integer"):
                self.dens[name] = 100 if ftype == "money" else 1
                sql = f"CAST({quote(name)} AS {self.integer})" if present else f"CAST(NULL AS {self.integer})"
            elif ftype == "number":
                self.dens[name] = 10**NUMBER_SCALE
                sql = (f"CAST({quote(name)} * {10**NUMBER_SCALE} AS HUGEINT)" if present
                       else "CAST(NULL AS HUGEINT)")
            else:
                sql = quote(name) if present else f"CAST(NULL AS {_sql_type(ftype)})"
            out.append((value_column(name), sql))
        day = quote(value_column(self.law.selected_by))
        for name, parameter in self.law.parameters.items():
            known = [v for v in parameter.values if v.value is not None]
            alone = False
            if self.periods is not None:  # only the values in force on some row's date
                indices, alone = self.periods[name]
                known = [parameter.values[index] for index in indices]
            if parameter.type in ("money", "number", "integer"):
                den = math.lcm(1, *(_fraction(v.value)[1] for v in known))
                self.dens[name] = den
                literal = {id(v): str(_fraction(v.value)[0] * (den // _fraction(v.value)[1])) for v in known}
                sql_type = self.integer
            else:
                literal = {id(v): _literal_sql(parameter.type, v.value) for v in known}
                sql_type = _sql_type(parameter.type)
            if alone:  # one value on every row's date: a constant, which DuckDB folds into what reads it
                out.append((value_column(name), f"CAST({literal[id(known[0])]} AS {sql_type})"))
                continue
            branches = " ".join(
                f"WHEN {day} >= DATE '{v.valid_from.isoformat()}'"
                + (f" AND {day} <= DATE '{v.valid_to.isoformat()}'" if v.valid_to else "")
                + f" THEN CAST({literal[id(v)]} AS {sql_type})" for v in known)
            out.append((value_column(name), f"CASE {branches} END" if branches else f"CAST(NULL AS {sql_type})"))
        return out

    def _node_columns(self, node: Node, errors: list[str]) -> list[tuple[str, str]]:
        """The column of a node's value and, when its arithmetic can fail, the column of its error mark (beside
        it, so that DuckDB computes what the two share once)."""
        self.node = node
        local: list[str] = []
        value = self._value(node.expr, _Scope(), local)
        self.node = None
        if isinstance(value, ByYear):  # pragma: no cover - the type checker gives a node a scalar type
            raise self.refuse("a value by year as a result", node.expr)
        if isinstance(value, Num):
            self.dens[node.name] = value.den
        columns = [(value_column(node.name), value.num if isinstance(value, Num) else value.sql)]
        if local:
            columns.append((f"e:{node.name}", _any_error(local)))
            # an error of a computation worked out for an admitted case only counts for admitted rows
            gate = f" AND coalesce({quote(DECISION)}, false)" if node.name in self.gated else ""
            errors.append(f"({quote(f'e:{node.name}')}{gate})")
        return columns

    def _output_columns(self) -> list[tuple[str, str]]:
        out = []
        for name in self.law.outputs:
            ftype = self.types[name]
            column = quote(value_column(name))
            if ftype in ("money", "number", "integer"):
                den = self.dens[name]
                places = {"money": 2, "integer": 0}.get(str(ftype), NUMBER_SCALE)
                rounded = _round_half_up(column, den, places)
                sql = rounded.num if ftype != "integer" else f"CAST({rounded.num} AS BIGINT)"
                if ftype == "number":
                    sql = f"CAST({sql} AS HUGEINT)"
                elif ftype == "money":
                    sql = f"CAST({sql} AS BIGINT)"
            else:
                sql = column
            if name in self.gated:
                sql = f"CASE WHEN {quote(DECISION)} THEN {sql} END"
            out.append((value_column(name), sql))
        return out

    # -- values -----------------------------------------------------------------------------------------
    def _bool(self, expr: Expr, scope: _Scope, errors: list[str]) -> str:
        value = self._value(expr, scope, errors)
        assert isinstance(value, Plain)
        return value.sql

    def _num(self, expr: Expr, scope: _Scope, errors: list[str]) -> Num:
        value = self._value(expr, scope, errors)
        if not isinstance(value, Num):  # pragma: no cover - the type checker allows numbers only here
            raise self.refuse("a number expected", expr)
        return value

    def _value(self, expr: Expr, scope: _Scope, errors: list[str]) -> Value:
        match expr:
            case Lit(kind="boolean", value=v):
                return Plain("true" if v else "false")
            case Lit(kind="string", value=v):
                return Plain(_text(v))
            case Lit(value=v):
                numerator, denominator = _fraction(v)
                return Num(f"CAST({numerator} AS {self.integer})", denominator)
            case Ref(name=name) if name in scope.variables:
                return Plain(scope.variables[name][0])
            case Ref(name=name):
                return self._ref(name)
            case Neg(operand=o):
                inner = self._num(o, scope, errors)
                return Num(f"(-{inner.num})", inner.den)
            case Not(operand=o):
                return Plain(f"(NOT {self._bool(o, scope, errors)})")
            case BoolOp(op=op, operands=ops):
                return Plain("(" + f" {op.upper()} ".join(self._bool(o, scope, errors) for o in ops) + ")")
            case Arith():
                return self._arith(expr, scope, errors)
            case Compare(op=op, left=a, right=b):
                left, right = self._value(a, scope, errors), self._value(b, scope, errors)
                if isinstance(left, Num) and isinstance(right, Num):
                    (ls, rs), _ = _common(left, right)
                    return Plain(f"({ls} {_SQL_OPERATORS[op]} {rs})")
                assert isinstance(left, Plain)
                assert isinstance(right, Plain)
                return Plain(f"({left.sql} {_SQL_OPERATORS[op]} {right.sql})")
            case Index(target=t, index=i):
                target = self._value(t, scope, errors)
                if not isinstance(target, ByYear):
                    raise self.refuse("indexing something that is not a fact by year", expr)
                key = self._num(i, scope, errors)
                branches = " ".join(f"WHEN {year} THEN {quote(value_column(f'{target.name}.{year}'))}"
                                    for year in target.years)
                sql = f"(CASE {key.num} {branches} END)" if branches else f"CAST(NULL AS {self.integer})"
                return Num(sql, target.value_den)
            case Attr(target=Ref(name=variable), name=name) if variable in scope.variables:
                sql_variable, ltype = scope.variables[variable]
                ftype = ltype.field(name)
                sql = f"{sql_variable}.{quote(name)}"
                if ftype in ("money", "integer", "number"):
                    den = {"money": 100, "integer": 1}.get(str(ftype), 10**NUMBER_SCALE)
                    cast = "HUGEINT" if ftype == "number" else self.integer
                    scaled = f"{sql} * {10**NUMBER_SCALE}" if ftype == "number" else sql
                    return Num(f"CAST({scaled} AS {cast})", den)
                return Plain(sql)
            case Call():
                return self._call(expr, scope, errors)
        raise self.refuse(type(expr).__name__, expr)

    def _ref(self, name: str) -> Value:
        ftype = self.types[name]
        if name in self.law.facts and isinstance(ftype, str) and ftype in MAP_TYPES:
            return ByYear(name, tuple(sorted(self.years.get(name, ()))), 100 if ftype == "money_by_year" else 1)
        column = quote(value_column(name))
        if ftype in ("money", "number", "integer"):
            return Num(column, self.dens[name])
        return Plain(column)

    def _arith(self, expr: Arith, scope: _Scope, errors: list[str]) -> Num:
        left, right = self._num(expr.left, scope, errors), self._num(expr.right, scope, errors)
        if expr.op in "+-":
            (ls, rs), den = _common(left, right)
            return Num(f"({ls} {expr.op} {rs})", den)
        if expr.op == "*":
            return Num(f"({left.num} * {right.num})", left.den * right.den)
        # a / (rn / rd) = a * rd / rn: a divisor written in the rule keeps the denominator known when compiling
        constant = self._constant(expr.right)
        if constant is None:
            raise self.refuse("a division by a value that varies from row to row", expr)
        numerator, denominator = _fraction(constant)
        if numerator == 0:
            errors.append(f"({left.num}) IS NOT NULL")
            return Num(f"CAST(NULL AS {self.integer})", 1)
        sign = -1 if numerator < 0 else 1
        return Num(f"({left.num} * {sign * denominator})", left.den * abs(numerator))

    def _constant(self, expr: Expr) -> Decimal | int | None:
        """The value of a number written in the rule (``2``, ``-1``, ``25%``); None for anything else."""
        if isinstance(expr, Lit) and isinstance(expr.value, int | Decimal) and not isinstance(expr.value, bool):
            return expr.value
        if isinstance(expr, Neg):
            inner = self._constant(expr.operand)
            return None if inner is None else -inner
        return None

    def _call(self, expr: Call, scope: _Scope, errors: list[str]) -> Value:
        name, args = expr.function, expr.args
        if name == "definito":
            (arg,) = args
            return Plain(f"(NOT {_is_null(self._value(arg, scope, errors))})")
        if name == "se":
            return self._if(expr, scope, errors)
        if args and isinstance(args[0], Comprehension):
            return self._quantifier(name, args[0], scope, errors)
        if name in ("min", "max", "media"):
            values = [self._value(a, scope, errors) for a in args]
            nulls = " OR ".join(_is_null(v) for v in values)
            if all(isinstance(v, Num) for v in values):
                nums = [v for v in values if isinstance(v, Num)]
                scaled, den = _common(*nums)
                if name == "media":
                    return Num(f"({' + '.join(scaled)})", den * len(nums))
                function = "least" if name == "min" else "greatest"
                # SQL's least() skips NULL; adding 0 × (the sum of the arguments) makes it strict, cheaply
                return Num(f"({function}({', '.join(scaled)}) + 0 * ({' + '.join(scaled)}))", den)
            function = "least" if name == "min" else "greatest"
            plain = [v.sql for v in values if isinstance(v, Plain)]
            return Plain(f"(CASE WHEN {nulls} THEN NULL ELSE {function}({', '.join(plain)}) END)")
        if name == "arrotonda":
            value = self._num(args[0], scope, errors)
            places = self._constant(args[1])
            if not isinstance(places, int):
                raise self.refuse("arrotonda to a number of places not written in the rule", expr)
            return _round_half_up(value.num, value.den, places)
        sql = [self._value(a, scope, errors) for a in args]
        text = [v.num if isinstance(v, Num) else v.sql if isinstance(v, Plain) else "" for v in sql]
        if name in _DATES:
            return Plain(_DATES[name].format(*text))
        match name:
            case "anno":
                return Num(f"CAST(year({text[0]}) AS {self.integer})", 1)
            case "mese":
                return Num(f"CAST(month({text[0]}) AS {self.integer})", 1)
            case "data":
                parts = ", ".join(f"CAST({t} AS BIGINT)" for t in text)
                made = f"try(make_date({parts}))"
                errors.append(f"({made} IS NULL AND NOT ({' OR '.join(_is_null(v) for v in sql)}))")
                return Plain(made)
            case "anni_compiuti":
                start, end = text
                return Num(f"CAST(year({end}) - year({start}) - CASE WHEN month({end}) * 100 + day({end}) < "
                           f"month({start}) * 100 + day({start}) THEN 1 ELSE 0 END AS {self.integer})", 1)
            case "giorni_tra":
                return Num(f"CAST(({text[1]} - {text[0]}) AS {self.integer})", 1)
            case "settimane":
                start, end = text
                return Num(f"CAST(CASE WHEN {end} < {start} THEN 0 ELSE (({end} - {start}) + 7) // 7 END "
                           f"AS {self.integer})", 1)
        raise self.refuse(f"the function {name}", expr)

    def _if(self, expr: Call, scope: _Scope, errors: list[str]) -> Value:
        condition = self._bool(expr.args[0], scope, errors)
        then, other = self._value(expr.args[1], scope, errors), self._value(expr.args[2], scope, errors)
        if isinstance(then, Num) and isinstance(other, Num):
            (ts, os_), den = _common(then, other)
            return Num(f"(CASE WHEN {condition} THEN {ts} WHEN NOT {condition} THEN {os_} "
                       f"WHEN {ts} = {os_} THEN {ts} END)", den)
        if isinstance(then, Plain) and isinstance(other, Plain):
            return Plain(f"(CASE WHEN {condition} THEN {then.sql} WHEN NOT {condition} THEN {other.sql} "
                         f"WHEN {then.sql} = {other.sql} THEN {then.sql} END)")
        raise self.refuse("se() whose branches are of different kinds", expr)

    def _list(self, comprehension: Comprehension, scope: _Scope, errors: list[str]) -> tuple[str, _Scope, str]:
        iterable = comprehension.iterable
        if not isinstance(iterable, Ref) or not isinstance(self.types.get(iterable.name), ListType):
            raise self.refuse("a list quantifier over something other than a list fact", comprehension)
        ltype = self.types[iterable.name]
        assert isinstance(ltype, ListType)
        inner, variable = scope.bind(comprehension.variable, ltype)
        return quote(value_column(iterable.name)), inner, variable

    def _quantifier(self, name: str, comprehension: Comprehension, scope: _Scope, errors: list[str]) -> Value:
        items, inner, variable = self._list(comprehension, scope, errors)
        body_errors: list[str] = []
        body = self._value(comprehension.body, inner, body_errors)
        if body_errors:
            errors.append(f"list_bool_or(list_transform({items}, lambda {variable}: "
                          f"{' OR '.join(f'coalesce({e}, false)' for e in body_errors)}))")
        if name in ("qualcuno", "nessuno", "tutti"):
            # one pass: each item's body as 2 (true), 0 (false) or 1 (unknown); the largest decides, as Kleene's
            # "any": some true, else some unknown, else false (an empty list: false)
            assert isinstance(body, Plain)
            test = f"(NOT {body.sql})" if name == "tutti" else body.sql
            largest = f"list_max(list_transform({items}, lambda {variable}: coalesce(CAST({test} AS TINYINT) * 2, 1)))"
            any_true = (f"(CASE WHEN {items} IS NULL THEN NULL WHEN len({items}) = 0 THEN false ELSE "
                        f"(CASE {largest} WHEN 2 THEN true WHEN 0 THEN false END) END)")
            return Plain(any_true if name == "qualcuno" else f"(NOT {any_true})")
        if name == "conta":
            # one pass: an unknown body counts 2^32, more than a list can hold, so that the sum tells it
            assert isinstance(body, Plain)
            counted = f"coalesce(CAST({body.sql} AS BIGINT), {_UNKNOWN_ITEM})"
            total = f"coalesce(list_sum(list_transform({items}, lambda {variable}: {counted})), 0)"
            return Num(f"(CASE WHEN {items} IS NULL THEN NULL WHEN len({items}) = 0 THEN CAST(0 AS {self.integer}) "
                       f"WHEN {total} >= {_UNKNOWN_ITEM} THEN NULL ELSE CAST({total} AS {self.integer}) END)", 1)
        if name == "somma":
            assert isinstance(body, Num)
            found = f"list_transform({items}, lambda {variable}: {body.num})"
            return Num(f"(CASE WHEN {items} IS NULL THEN NULL WHEN len({items}) = 0 THEN CAST(0 AS {self.integer}) "
                       f"WHEN list_count({found}) < len({found}) THEN NULL "
                       f"ELSE CAST(list_sum({found}) AS {self.integer}) END)", body.den)
        raise self.refuse(f"the list function {name}", comprehension)

    # -- the missing facts ----------------------------------------------------------------------------------
    def _missing_of_decision(self) -> str:
        """The sorted missing facts of an undetermined row: for each undetermined requirement, the missing
        facts of each name it reads (an optional fact never counts), as the Rete Result gives them."""
        memo: dict[str, str] = {}
        parts = []
        for node in self.law.requirements:
            reads = [self._missing_of_name(name, memo) for name in sorted(node.reads)]
            reads = [r for r in reads if r != _NO_MISSING]
            if reads:
                parts.append(f"CASE WHEN {quote(requirement_value(node.name))} IS NULL "
                             f"THEN flatten([{', '.join(reads)}]) ELSE {_NO_MISSING} END")
        if not parts:
            return _NO_MISSING
        optional = [name for name, fact in self.law.facts.items() if fact.optional]
        every = f"list_distinct(flatten([{', '.join(parts)}]))"
        if optional:
            names = ", ".join(_text(name) for name in optional)
            every = f"list_filter({every}, lambda _m: NOT list_contains([{names}], _m))"
        return f"list_sort({every})"

    def _missing_of_name(self, name: str, memo: dict[str, str]) -> str:
        """The missing facts behind a named value (empty when it is known)."""
        if name in memo:
            return memo[name]
        if name in self.law.facts:
            value = self._ref(name)
            result = f"CASE WHEN {_is_null(value)} THEN [{_text(name)}] ELSE {_NO_MISSING} END"
        elif name in self.law.parameters:
            result = _NO_MISSING  # a parameter without a value on the date: no fact would give it one
        else:
            node = self.nodes[name]
            self.node = node
            column = quote(value_column(name))
            if name in self.network_reads:
                # a boolean the Rete network decides: when undecided, the missing facts of all it reads
                parts = [self._missing_of_name(read, memo) for read in sorted(node.reads)]
                parts += [self._missing(e, _Scope(), memo) for e in self.network_reads[name]]
                inner = f"flatten([{', '.join(parts)}])" if parts else _NO_MISSING
            else:
                inner = self._missing(node.expr, _Scope(), memo, unknown=True)
            self.node = None
            # a column of its own (layered by query()), so that what reads it does not repeat it
            self.missing_columns[name] = f"CASE WHEN {column} IS NULL THEN {inner} ELSE {_NO_MISSING} END"
            result = quote(f"m:{name}")
        memo[name] = result
        return result

    def _missing(self, expr: Expr, scope: _Scope, memo: dict[str, str], *, unknown: bool = False) -> str:
        """The missing facts behind ``expr`` as the evaluator's ``Unknown.missing`` (empty when known);
        ``unknown`` when the caller knows the value is unknown (a node's own expression), which spares
        recomputing it."""
        unused: list[str] = []

        def known() -> str:
            return "false" if unknown else f"NOT {_is_null(self._value(expr, scope, unused))}"

        match expr:
            case Lit():
                return _NO_MISSING
            case Ref(name=name) if name in scope.variables:
                return _NO_MISSING
            case Ref(name=name):
                return self._missing_of_name(name, memo)
            case Call(function="definito"):
                return _NO_MISSING
            case Call(function="se", args=(c, a, b)):
                condition = self._bool(c, scope, unused)
                return (f"(CASE WHEN {known()} THEN {_NO_MISSING} WHEN ({condition}) IS NULL "
                        f"THEN {self._missing(c, scope, memo)} WHEN {condition} THEN {self._missing(a, scope, memo)} "
                        f"ELSE {self._missing(b, scope, memo)} END)")
            case Call(args=(Comprehension() as comprehension,)):
                items, inner, variable = self._list(comprehension, scope, unused)
                body = self._missing(comprehension.body, inner, memo)
                return (f"(CASE WHEN {items} IS NULL THEN {self._missing(comprehension.iterable, scope, memo)} "
                        f"WHEN {known()} THEN {_NO_MISSING} "
                        f"ELSE flatten(list_transform({items}, lambda {variable}: {body})) END)")
            case Index(target=t, index=i):
                target = self._value(t, scope, unused)
                key = self._num(i, scope, unused)
                name = t.name if isinstance(t, Ref) else "?"
                given = f"flatten([{self._missing(t, scope, memo)}, {self._missing(i, scope, memo)}])"
                year = f"[{_text(name + '.')} || CAST({key.num} AS VARCHAR)]"
                return (f"(CASE WHEN {known()} THEN {_NO_MISSING} "
                        f"WHEN {_is_null(target)} OR ({key.num}) IS NULL THEN {given} ELSE {year} END)")
        parts = [self._missing(child, scope, memo) for child in _operands(expr)]
        parts = [p for p in parts if p != _NO_MISSING]
        if not parts:
            return _NO_MISSING
        if unknown:
            return f"flatten([{', '.join(parts)}])"
        return f"(CASE WHEN {known()} THEN {_NO_MISSING} ELSE flatten([{', '.join(parts)}]) END)"


def _any_error(errors: list[str]) -> str:
    return "(" + " OR ".join(f"coalesce({e}, false)" for e in errors) + ")"


def _index(boolean: str) -> str:
    """0 for true, 1 for false, 2 for unknown: the index of an outcome or a decision in its dictionary."""
    return f"CAST(CASE WHEN {boolean} THEN 0 WHEN NOT {boolean} THEN 1 ELSE 2 END AS TINYINT)"


def _operands(expr: Expr) -> tuple[Expr, ...]:
    """The operands whose missing facts an unknown value of ``expr`` unites (strict functions, arithmetic,
    comparisons, and/or/not: an ``and`` with a false operand is known, so it unites nothing)."""
    match expr:
        case Neg(operand=o) | Not(operand=o):
            return (o,)
        case BoolOp(operands=ops):
            return ops
        case Arith(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Call(args=args):
            return args
        case Attr():
            return ()
    return ()


def _sql_type(ftype: Type) -> str:
    if isinstance(ftype, ListType):
        fields = ", ".join(f"{quote(name)} {_sql_type(t)}" for name, t in ftype.fields)
        return f"STRUCT({fields})[]"
    return {"boolean": "BOOLEAN", "date": "DATE", "string": "VARCHAR", "integer": "BIGINT", "money": "BIGINT",
            "number": "DECIMAL(38, 12)"}[str(ftype)]


def _literal_sql(ftype: str, value: Any) -> str:
    if ftype == "boolean":
        return "true" if value else "false"
    if ftype == "date":
        assert isinstance(value, dt.date)
        return f"DATE '{value.isoformat()}'"
    return _text(str(value))


__all__ = ["DECISION", "ERROR", "MISSING", "Compiler", "parameter_periods", "quote", "requirement_value",
           "value_column"]
