"""Stage 4a, translate: the conditions of a law version as durable-rules expressions, and values as the
JSON that the network's facts carry. Nothing here runs durable-rules (engine/backends/_kernel.py does).

How a condition becomes two rules' expressions
----------------------------------------------
A requirement (or a boolean derived value) is two rules, unless the network can test no part of it (see
below): ``T`` with its condition and ``F`` with the negated condition (negation pushed down to the
comparisons).

* Each comparison is guarded by ``$ex`` on the attributes it reads, so a comparison with a missing value
  never matches (a ``$m`` reference to a missing attribute would). Hence ``T`` fires when the condition is
  true, ``F`` when it is false, and neither when Kleene logic says *unknown*.
* The guard on the compared attribute itself is redundant (durable-rules tests an attribute only when the
  fact has it) but is kept: the comparisons on one attribute then share its ``$ex`` node, which keeps
  durable-rules' alpha walk (it stacks every node a fact matches below the current one, at most 64)
  within bounds. tests/test_kernel.py evaluates 100 comparisons on two values, which fail without the
  guards.
* A boolean value is tested alone (``{a: true}``): it has two such nodes at most, of which a fact matches
  one, so a guard would add a node to every walk and spare the stack nothing.
* ``definito(x)`` is ``$ex`` / ``$nex`` on ``x``: a value is in a fact exactly when it is known.
* Parts of a condition that are not plain comparisons (calls, indexing, list quantifiers) become
  synthetic boolean values, computed exactly in Python at their level, and the condition reads them.
  When the network can test no part of a condition, the kernel decides a requirement in Python with one
  rule, and computes a boolean derived value or computation like any other value.

Every attribute of the network has a short alias (``a12``): facts and firing messages carry attribute
names, and long ones cost the C core about 7 µs a case (measured on ISCRO 2024).

Values enter the network as JSON: booleans, integers, dates as day ordinals, money as floats. Money
compared in the network is always a sum of cents or a product of cents with the law's percentages; a
double keeps the order of two such values below 10^12 €, so native comparisons agree with Decimal ones
(tests/test_kernel.py checks this property against the Python evaluator).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .._compile import Node
from .._evaluate import Evaluator, compile_expression
from .._expr import BoolOp, Call, Compare, Expr, Lit, Not, Ref, free_names

_INVERSE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_DURABLE_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_NATIVE_SCALARS = ("boolean", "integer", "number", "money", "date", "string")


def fragment(name: str, value: Any) -> str:
    """``"name":value`` as JSON, for a known value (names are plain identifiers, so need no escaping)."""
    if value is True:
        return f'"{name}":true'
    if value is False:
        return f'"{name}":false'
    if isinstance(value, int):
        return f'"{name}":{value}'
    if isinstance(value, Decimal):
        return f'"{name}":{float(value)!r}'
    if isinstance(value, dt.date):
        return f'"{name}":{value.toordinal()}'
    if isinstance(value, str):
        return f'"{name}":{json.dumps(value)}'
    return f'"{name}":true'  # maps and lists: only their presence is tested in the network


def encoder(name: str, vtype: Any) -> Callable[[Any], str]:
    """A function giving ``"name":value`` for a known value of ``name``, specialised to its declared type
    (the same text as :func:`fragment`, without testing the value's class on every case)."""
    prefix = f'"{name}":'
    if vtype == "boolean":  # a lookup, not a Python call: most facts are booleans
        return {True: prefix + "true", False: prefix + "false"}.__getitem__
    if vtype in ("money", "number"):
        return lambda value: prefix + repr(float(value))
    if vtype == "date":
        return lambda value: prefix + str(value.toordinal())
    if vtype in _NATIVE_SCALARS:
        return lambda value: fragment(name, value)
    presence = prefix + "true"  # maps and lists: only their presence is tested in the network
    return lambda value: presence


def encode(value: Any) -> Any:
    """A known value as durable-rules sees it (JSON scalars, ordered like the Python values)."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.toordinal()
    return True  # maps and lists: only their presence is tested in the network


@dataclass
class Synthetic:
    """A part of a condition that the network cannot test, computed in Python as a boolean value."""

    name: str
    expr: Expr
    evaluate: Evaluator
    reads: frozenset[str]


class Conditions:
    """Translates the conditions of one law version; remembers the aliases of the names it has met and the
    synthetic values it has made (the kernel reads both)."""

    def __init__(self, native_types: dict[str, Any]) -> None:
        self.native_types = native_types  # name -> declared type, for the names a condition may read
        self.aliases: dict[str, str] = {}  # name -> its attribute in the network (see alias)
        self.synthetic: dict[str, Synthetic] = {}

    def alias(self, name: str) -> str:
        """The short attribute that stands for ``name`` in the network: facts and firing messages carry
        attribute names, and long ones cost time in the C core (about 7 µs a case for ISCRO, measured)."""
        alias = self.aliases.get(name)
        if alias is None:
            alias = self.aliases[name] = f"a{len(self.aliases)}"
        return alias

    def exists(self, names: list[str]) -> list[dict[str, Any]]:
        return [{"$ex": {self.alias(name): 1}} for name in names]

    def synthetic_in(self, condition: Any) -> list[str]:
        text = json.dumps(condition)
        return [name for name in self.synthetic if f'"{self.alias(name)}"' in text]

    def boolean_rules(self, expr: Expr) -> tuple[Any, Any]:
        return self.native(expr, negate=False), self.native(expr, negate=True)

    def native(self, expr: Expr, *, negate: bool) -> Any:
        """The durable-rules expression that matches when ``expr`` is true (false, with ``negate``)."""
        match expr:
            case BoolOp(op=op, operands=ops):
                use_and = (op == "and") != negate
                parts = [self.native(o, negate=negate) for o in ops]
                return {"$and" if use_and else "$or": parts}
            case Not(operand=o):
                return self.native(o, negate=not negate)
            case Ref(name=name) if self.native_types.get(name) == "boolean":
                return {self.alias(name): not negate}
            case Call(function="definito", args=(Ref(name=name),)):
                # Known exactly when the fact carries it (an unknown value is never encoded), so never unknown.
                return {"$nex" if negate else "$ex": {self.alias(name): 1}}
            case Compare(op=op, left=left, right=right) if self.comparable(left, right):
                if isinstance(left, Lit):
                    left, right, op = right, left, _MIRROR[op]
                assert isinstance(left, Ref)
                if negate:
                    op = _INVERSE[op]
                reads = [left.name]
                if isinstance(right, Ref):
                    operand: Any = {"$m": self.alias(right.name)}
                    reads.append(right.name)
                else:
                    assert isinstance(right, Lit)
                    operand = encode(right.value)
                attribute = self.alias(left.name)
                atom = {attribute: operand} if op == "==" else {_DURABLE_OP[op]: {attribute: operand}}
                return {"$and": [*self.exists(reads), atom]}
        name = self.hoist(expr)
        return {"$and": [*self.exists([name]), {self.alias(name): not negate}]}

    def wholly_in_python(self, expr: Expr) -> bool:
        """Whether :meth:`native` would make the whole condition one synthetic value (``not`` aside)."""
        while isinstance(expr, Not):
            expr = expr.operand
        match expr:
            case BoolOp() | Call(function="definito", args=(Ref(),)):
                return False
            case Ref(name=name):
                return self.native_types.get(name) != "boolean"
            case Compare(left=left, right=right):
                return not self.comparable(left, right)
        return True

    def comparable(self, left: Expr, right: Expr) -> bool:
        def native(e: Expr) -> bool:
            return isinstance(e, Lit) or (isinstance(e, Ref) and self.native_types.get(e.name) in _NATIVE_SCALARS)

        return native(left) and native(right) and not (isinstance(left, Lit) and isinstance(right, Lit))

    def hoist(self, expr: Expr) -> str:
        for existing in self.synthetic.values():
            if existing.expr == expr:
                return existing.name
        name = f"#sy{len(self.synthetic)}"
        self.synthetic[name] = Synthetic(name, expr, compile_expression(expr), frozenset(free_names(expr)))
        return name


def transitive(name: str, reads: dict[str, frozenset[str]], computed: dict[str, Any]) -> list[str]:
    """``name`` and the computed values it reads, transitively, in the order they must be computed."""
    out: list[str] = []

    def visit(current: str) -> None:
        if current in out:
            return
        for read in sorted(reads.get(current, ())):
            if read in computed:
                visit(read)
        out.append(current)

    visit(name)
    return out


def topological(nodes: list[Node]) -> list[Node]:
    """``nodes`` in an order where each comes after the nodes it reads."""
    by_name = {n.name: n for n in nodes}
    done: set[str] = set()
    out: list[Node] = []

    def visit(node: Node) -> None:
        if node.name in done:
            return
        done.add(node.name)
        for read in sorted(node.reads):
            if read in by_name:
                visit(by_name[read])
        out.append(node)

    for node in nodes:
        visit(node)
    return out
