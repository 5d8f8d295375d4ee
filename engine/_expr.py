"""Stage 3a, parse: the rule expression language, parsed by Lark into a typed IR of plain frozen data.

The language (documented in docs/language.md) is small and side-effect free::

    reddito_anno_riferimento < soglia_calo and not titolare_pensione_diretta
    arrotonda(media(reddito[anno_riferimento - 2], reddito[anno_riferimento - 1]) / 2 * 25%, 2)
    nessuno(p in prestazioni_iscro_precedenti: anno(p.data_inizio) >= anno_domanda - 2)

Names start with a letter (so ``__class__`` cannot even be written), attribute access is allowed only on
the variable of a list quantifier, and calls are allowed only to the functions in ``_functions``. The text
is never given to ``eval``, ``exec`` or ``compile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ._i18n import N_
from ._i18n import gettext as _

MAX_EXPRESSION_LENGTH = 2_000
MAX_EXPRESSION_DEPTH = 40

_GRAMMAR = r"""
?start: expr
?expr: or_test
?or_test: and_test ("or" and_test)*        -> or_
?and_test: not_test ("and" not_test)*      -> and_
?not_test: "not" not_test                  -> not_
         | comparison
?comparison: sum (COMP_OP sum)?            -> compare
?sum: product (ADD_OP product)*            -> arith
?product: unary (MUL_OP unary)*            -> arith
?unary: "-" unary                          -> neg
      | postfix
?postfix: atom
        | postfix "[" expr "]"             -> index
        | postfix "." NAME                 -> attr
?atom: NUMBER "%"                          -> percent
     | NUMBER                              -> number
     | STRING                              -> string
     | "true"                              -> true
     | "false"                             -> false
     | NAME "(" [arguments] ")"            -> call
     | NAME                                -> ref
     | "(" expr ")"
arguments: argument ("," argument)*
?argument: NAME "in" expr ":" expr         -> comprehension
         | expr

COMP_OP: "<=" | ">=" | "==" | "!=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
NAME: /(?!(and|or|not|in|true|false)\b)[a-zA-Z][a-zA-Z0-9_]*/
NUMBER: /\d+(\.\d+)?/
STRING: /"[^"\\\n]{0,200}"/
%ignore /[ \t\r\n]+/
"""


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based, within the expression text
    column: int  # 1-based


@dataclass(frozen=True)
class Lit:
    value: Any  # bool | int | Decimal | str
    kind: str  # "boolean" | "number" | "percent" | "string"
    pos: Pos


@dataclass(frozen=True)
class Ref:
    name: str
    pos: Pos


@dataclass(frozen=True)
class Neg:
    operand: Expr
    pos: Pos


@dataclass(frozen=True)
class Not:
    operand: Expr
    pos: Pos


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]
    pos: Pos


@dataclass(frozen=True)
class Arith:
    op: str  # "+" | "-" | "*" | "/"
    left: Expr
    right: Expr
    pos: Pos


@dataclass(frozen=True)
class Compare:
    op: str  # "<" | "<=" | ">" | ">=" | "==" | "!="
    left: Expr
    right: Expr
    pos: Pos


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    pos: Pos


@dataclass(frozen=True)
class Index:
    target: Expr
    index: Expr
    pos: Pos


@dataclass(frozen=True)
class Attr:
    target: Expr
    name: str
    pos: Pos


@dataclass(frozen=True)
class Comprehension:
    """``x in lista: corpo`` as the argument of a list function such as ``qualcuno``."""

    variable: str
    iterable: Expr
    body: Expr
    pos: Pos


Expr = Lit | Ref | Neg | Not | BoolOp | Arith | Compare | Call | Index | Attr | Comprehension


class ParseError(Exception):
    """An expression does not parse; ``line``/``column`` are within the expression text."""

    def __init__(self, message: str, line: int, column: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint


def _pos(meta_or_token: Any) -> Pos:
    return Pos(getattr(meta_or_token, "line", 1) or 1, getattr(meta_or_token, "column", 1) or 1)


@v_args(meta=True)
class _ToIR(Transformer[Token, Expr]):
    def or_(self, meta: Any, items: list[Expr]) -> Expr:
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items), _pos(meta))

    def and_(self, meta: Any, items: list[Expr]) -> Expr:
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items), _pos(meta))

    def not_(self, meta: Any, items: list[Expr]) -> Expr:
        return Not(items[0], _pos(meta))

    def compare(self, meta: Any, items: list[Any]) -> Expr:
        if len(items) == 1:
            return items[0]  # type: ignore[no-any-return]
        left, op, right = items
        return Compare(str(op), left, right, _pos(meta))

    def arith(self, meta: Any, items: list[Any]) -> Expr:
        result: Expr = items[0]
        for op, operand in zip(items[1::2], items[2::2], strict=True):
            result = Arith(str(op), result, operand, _pos(meta))
        return result

    def neg(self, meta: Any, items: list[Expr]) -> Expr:
        return Neg(items[0], _pos(meta))

    def index(self, meta: Any, items: list[Expr]) -> Expr:
        return Index(items[0], items[1], _pos(meta))

    def attr(self, meta: Any, items: list[Any]) -> Expr:
        return Attr(items[0], str(items[1]), _pos(meta))

    def percent(self, meta: Any, items: list[Token]) -> Expr:
        return Lit(Decimal(str(items[0])) / 100, "percent", _pos(meta))

    def number(self, meta: Any, items: list[Token]) -> Expr:
        text = str(items[0])
        value: int | Decimal = Decimal(text) if "." in text else int(text)
        return Lit(value, "number", _pos(meta))

    def string(self, meta: Any, items: list[Token]) -> Expr:
        return Lit(str(items[0])[1:-1], "string", _pos(meta))

    def true(self, meta: Any, items: list[Any]) -> Expr:
        return Lit(True, "boolean", _pos(meta))

    def false(self, meta: Any, items: list[Any]) -> Expr:
        return Lit(False, "boolean", _pos(meta))

    def ref(self, meta: Any, items: list[Token]) -> Expr:
        return Ref(str(items[0]), _pos(items[0]))

    def call(self, meta: Any, items: list[Any]) -> Expr:
        name, arguments = items
        return Call(str(name), tuple(arguments or ()), _pos(name))

    def arguments(self, meta: Any, items: list[Expr]) -> tuple[Expr, ...]:
        return tuple(items)

    def comprehension(self, meta: Any, items: list[Any]) -> Expr:
        name, iterable, body = items
        return Comprehension(str(name), iterable, body, _pos(name))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


_TOKEN_NAMES = {
    "NAME": N_("a name"), "NUMBER": N_("a number"), "STRING": N_("a text in quotes"), "COMP_OP": N_("a comparison"),
    "ADD_OP": N_("+ or -"), "MUL_OP": N_("* or /"), "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]",
    "COMMA": ",", "COLON": ":", "DOT": ".", "PERCENT": "%", "AND": "and", "OR": "or", "NOT": "not",
    "IN": "in", "TRUE": "true", "FALSE": "false", "MINUS": "-", "$END": N_("the end of the expression"),
}


def parse_expression(text: str) -> Expr:
    """Parse ``text`` into the IR, or raise :class:`ParseError` with the position of the problem."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ParseError(_("expression is {length} characters long, over the limit of {limit}").format(
            length=len(text), limit=MAX_EXPRESSION_LENGTH), 1, 1)
    if not text.strip():
        raise ParseError(_("empty expression"), 1, 1)
    _check_nesting(text)
    try:
        tree = _parser().parse(text)
    except RecursionError:
        raise ParseError(_nested_too_deeply(), 1, 1) from None
    except UnexpectedCharacters as exc:
        offset = exc.pos_in_stream or 0
        char = text[offset] if offset < len(text) else ""
        hint = None
        if char == "_":
            hint = _("names start with a letter")
        elif char in "=&|!":
            hint = _("use ==, !=, and, or, not")
        elif char == ",":
            hint = _("write decimals with a dot: 0.70 or 70%")
        raise ParseError(_("unexpected character {char!r}").format(char=char), exc.line, exc.column, hint) from None
    except UnexpectedEOF as exc:
        expected = ", ".join(sorted(_token_name(t) for t in exc.expected))
        raise ParseError(_("the expression ends too early; expected {expected}").format(expected=expected),
                         *_end_position(text)) from None
    except UnexpectedToken as exc:
        got = _("end of the expression") if exc.token.type == "$END" else repr(str(exc.token))
        expected = ", ".join(sorted({_token_name(t) for t in exc.expected}))
        line, column = (exc.line, exc.column) if exc.line and exc.line > 0 else _end_position(text)
        raise ParseError(_("unexpected {got}; expected {expected}").format(got=got, expected=expected), line,
                         column) from None
    except UnexpectedInput as exc:  # pragma: no cover - the three subclasses above are exhaustive
        raise ParseError(_("syntax error"), getattr(exc, "line", 1), getattr(exc, "column", 1)) from None
    try:
        return _ToIR().transform(tree)
    except RecursionError:
        raise ParseError(_nested_too_deeply(), 1, 1) from None


def _token_name(token: str) -> str:
    """What a parser token is called in a message, in the language in force."""
    return _(_TOKEN_NAMES[token]) if token in _TOKEN_NAMES else token


def _nested_too_deeply() -> str:
    return _("the expression is nested too deeply (over {limit} levels)").format(limit=MAX_EXPRESSION_DEPTH)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _check_nesting(text: str) -> None:
    depth = 0
    line, column = 1, 0
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif char in "([":
            depth += 1
            if depth > MAX_EXPRESSION_DEPTH:
                raise ParseError(_("brackets nested deeper than {limit}").format(limit=MAX_EXPRESSION_DEPTH), line,
                                 column)
        elif char in ")]":
            depth -= 1


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``."""
    match expr:
        case Lit() | Ref():
            return ()
        case Neg(operand=o) | Not(operand=o):
            return (o,)
        case BoolOp(operands=ops):
            return ops
        case Arith(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Call(args=args):
            return args
        case Index(target=t, index=i):
            return (t, i)
        case Attr(target=t):
            return (t,)
        case Comprehension(iterable=it, body=body):
            return (it, body)
    raise AssertionError(expr)  # pragma: no cover


def free_names(expr: Expr, bound: frozenset[str] = frozenset()) -> set[str]:
    """The names an expression reads from facts, parameters and derived values (not bound variables)."""
    match expr:
        case Ref(name=name):
            return set() if name in bound else {name}
        case Comprehension(variable=var, iterable=it, body=body):
            return free_names(it, bound) | free_names(body, bound | {var})
    names: set[str] = set()
    for child in children(expr):
        names |= free_names(child, bound)
    return names


def render(expr: Expr) -> str:
    """The expression as readable text (used by documentation, diffs and explanations)."""
    match expr:
        case Lit(value=v, kind="percent"):
            return f"{(v * 100).normalize():f}%"
        case Lit(value=v, kind="boolean"):
            return "true" if v else "false"
        case Lit(value=v, kind="string"):
            return f'"{v}"'
        case Lit(value=v):
            return str(v)
        case Ref(name=name):
            return name
        case Neg(operand=o):
            return f"-{_paren(o)}"
        case Not(operand=o):
            return f"not {_paren(o)}"
        case BoolOp(op=op, operands=ops):
            return f" {op} ".join(_paren(o) for o in ops)
        case Arith(op=op, left=a, right=b) | Compare(op=op, left=a, right=b):
            return f"{_paren(a)} {op} {_paren(b)}"
        case Call(function=f, args=args):
            return f"{f}({', '.join(render(a) for a in args)})"
        case Index(target=t, index=i):
            return f"{render(t)}[{render(i)}]"
        case Attr(target=t, name=name):
            return f"{render(t)}.{name}"
        case Comprehension(variable=var, iterable=it, body=body):
            return f"{var} in {render(it)}: {render(body)}"
    raise AssertionError(expr)  # pragma: no cover


def _paren(expr: Expr) -> str:
    text = render(expr)
    return f"({text})" if isinstance(expr, BoolOp | Arith | Compare) else text
