"""Stage 6, explain: render a finished trace into Italian with sandboxed Jinja templates.

Templates live in ``explanations/it/<family>/`` (with optional per-version overrides in
``explanations/it/<family>/<version>/``): one per requirement (named after its id), ``importo.j2`` for the
computation and ``riepilogo.j2`` for the whole. They get the finished :class:`Result` only; they cannot
call the engine. ``StrictUndefined`` makes a misspelt name an error, and the sandbox refuses attribute
tricks such as ``''.__class__``. Money and dates are formatted by Babel.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import UserString
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from babel import Locale
from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol
from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from . import _i18n
from ._compile import Source
from ._i18n import gettext as _
from ._resources import explanations_dir
from ._trace import ComputedValue, NoteResult, ParameterUse, RequirementResult, Result, Values
from ._values import Unknown
from .errors import Problem, TemplateError

_LOCALE = Locale.parse("it_IT")
_CURRENCY = _LOCALE.currency_formats["standard"]
_NUMBER = _LOCALE.decimal_formats[None]
_PERCENT = _LOCALE.percent_formats[None]
_NBSP = "\u00a0"
_CENT = Decimal("0.01")
_GROUP = get_group_symbol(locale=_LOCALE)
_DECIMAL = get_decimal_symbol(locale=_LOCALE)
NOT_KNOWN = "non noto"


def euro(value: Any) -> str:
    """``687,50 €``: Babel's Italian currency format, with a plain space."""
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    return _euro(Decimal(value))


@lru_cache(maxsize=65536)
def _euro(value: Decimal) -> str:
    """Babel's Italian currency format, written directly with Babel's Italian separators and its rounding to
    the cent (``quantize`` in the current decimal context, as Babel does): the same text at a tenth of the
    cost (tests/test_explain.py compares the two over thousands of amounts)."""
    if value.is_finite():
        whole, _, cents = f"{value.quantize(_CENT):f}".partition(".")
        sign = "-" if whole.startswith("-") else ""
        grouped = f"{int(whole.lstrip('-')):,}".replace(",", _GROUP)
        return f"{sign}{grouped}{_DECIMAL}{cents} €"
    return _babel_euro(value)


def _babel_euro(value: Decimal) -> str:
    text: str = _CURRENCY.apply(value, _LOCALE, currency="EUR")
    return text.replace(_NBSP, " ")


def numero(value: Any) -> str:
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    text: str = _NUMBER.apply(value, _LOCALE)
    return text


@lru_cache(maxsize=1024)
def percentuale(value: Any) -> str:
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    text: str = _PERCENT.apply(Decimal(value), _LOCALE)
    return text.replace(_NBSP, " ")


@lru_cache(maxsize=4096)
def data(value: Any) -> str:
    """``11 settembre 2024``."""
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    if not isinstance(value, dt.date):
        return str(value)
    text: str = format_date(value, format="long", locale=_LOCALE)
    return "1°" + text[1:] if value.day == 1 else text  # "1° agosto 2024", as Italian writes it


def _with_article(value: Any, consonant: str, vowel: str) -> str:
    """``il 10 marzo``, ``l'11 marzo``, ``l'8 maggio`` (otto and undici start with a vowel)."""
    text = data(value)
    if isinstance(value, dt.date) and value.day in (8, 11):
        return vowel + text
    return f"{consonant} {text}"


def il(value: Any) -> str:
    return _with_article(value, "il", "l'")


def dal(value: Any) -> str:
    return _with_article(value, "dal", "dall'")


def al(value: Any) -> str:
    return _with_article(value, "al", "all'")


def sino(value: Any) -> str:
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    return "sì" if value else "no"


def noto(value: Any) -> bool:
    return not (isinstance(value, Unknown) or value is None)


def intestazione(r: RequirementResult) -> str:
    """``✓ Titolo:`` with the mark of the outcome (✓ soddisfatto, ✗ non soddisfatto, ? indeterminato)."""
    mark = {"soddisfatto": "✓", "non_soddisfatto": "✗"}.get(r.outcome, "?")
    return f"{mark} {r.title}:"


def fonte(r: RequirementResult) -> str:
    """``(Fonte: …; da verificare: …)``: the requirement's citations and its unconfirmed flag."""
    flag = f"; da verificare: {r.unconfirmed}" if r.unconfirmed else ""
    return f"(Fonte: {r.citation}{flag})"


def mancanti(r: RequirementResult, result: Result) -> str:
    """``non verificabile, mancano i dati: …`` naming the missing facts by their Italian labels (the wording
    holds for one fact or several)."""
    return "non verificabile, mancano i dati: " + "; ".join(result.label(m) for m in r.missing)


def esito(r: RequirementResult, if_true: str, if_false: str) -> str:
    return if_true if r.outcome == "soddisfatto" else if_false


def da_verificare(parameter: ParameterUse) -> str:
    """`` (valore da verificare: …)`` for an unconfirmed parameter value, else nothing."""
    return f" (valore da verificare: {parameter.unconfirmed})" if parameter.unconfirmed else ""


_DICT_ATTRIBUTES = frozenset(dir(dict))  # what getattr finds on a dict instance (its class and object)
_HELPERS = frozenset({da_verificare, intestazione, fonte, mancanti, esito})
_TRACE_TYPES = (Result, RequirementResult, ParameterUse, ComputedValue, NoteResult, Source, Values)


class _TraceSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a fast path for the engine's own frozen trace records: their public
    attributes are plain data (or pure methods such as ``Result.label``). Every other object, strings and
    containers included, goes through the full sandbox checks, so ``''.__class__`` stays refused."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if obj.__class__ in _TRACE_TYPES:
            return not attr.startswith("_")
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """The sandbox's ``getattr``, answered early in the two cases templates use most, with the same
        result: ``v.name`` on a plain dict whose class has no such attribute is its item, as the sandbox
        finds after a failed attribute lookup; a public attribute of a trace record is returned as is (it is
        data or a pure method, never a ``str.format``)."""
        kind = obj.__class__
        if kind is dict:
            if attribute in obj and attribute not in _DICT_ATTRIBUTES:
                return obj[attribute]
        elif kind in _TRACE_TYPES and not attribute.startswith("_"):
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass
        return super().getattr(obj, attribute)

    intercepted_binops = frozenset(("*", "**", "+"))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``+`` bounded as ``range`` is: a text or a list of at most MAX_RANGE items, a whole
        number of at most MAX_BITS bits (``{{ 10 ** 10000000 }}`` or ``{{ 'x' * 1000000000 }}`` would take
        seconds and gigabytes)."""
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_size(_product_size(left, right))
        else:
            _check_size(_sum_size(left, right))
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """The sandbox's ``call``; the engine's own helpers (plain functions of their arguments, never
        context-aware) are called directly when Jinja passes no keywords."""
        if not kwargs and obj in _HELPERS:
            return obj(*args)
        return super().call(context, obj, *args, **kwargs)


def _is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; False for a name the system refuses (too long, say)."""
    try:
        return path.is_dir()
    except OSError:
        return False


MAX_BITS = 10_000  # the largest whole number an operator of a template may build (about 3,000 digits)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_power(base: Any, exponent: Any) -> None:
    if _whole(base) and _whole(exponent) and exponent > 0 and abs(base) > 1 \
            and base.bit_length() * exponent > MAX_BITS:
        raise SecurityError(_("the power {base} ** {exponent} is too large for a template (over {limit} bits)").format(
            base=base, exponent=exponent, limit=_i18n.number(MAX_BITS)))


def _product_size(left: Any, right: Any) -> tuple[int, str]:
    """How large ``left * right`` would be: (items, "items") for a repeated text or list, (bits, "bits") for
    whole numbers; (0, "") for anything else."""
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and _whole(times):
            return len(sequence) * max(times, 0), "items"
    if _whole(left) and _whole(right):
        return left.bit_length() + right.bit_length(), "bits"
    return 0, ""


def _sum_size(left: Any, right: Any) -> tuple[int, str]:
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        return len(left) + len(right), "items"
    return 0, ""


def _check_size(size: tuple[int, str]) -> None:
    amount, unit = size
    limit = MAX_RANGE if unit == "items" else MAX_BITS
    if amount > limit:
        message = (_("the result would be too large for a template ({amount} items, over {limit})") if unit == "items"
                   else _("the result would be too large for a template ({amount} bits, over {limit})"))
        raise SecurityError(message.format(amount=_i18n.number(amount), limit=_i18n.number(limit)))


class _Reads(NamedTuple):
    """What varies between cases that a requirement's template reads: its record's outcome and missing facts,
    the record's values when it reads them, and the values ``v.<name>`` and parameters ``p.<name>`` it
    names."""

    record_values: bool
    values: tuple[str, ...]
    parameters: tuple[str, ...]


class _Template:
    """A loaded template, the environment's globals copied once (each render starts from them) and, for a
    template whose reads are known (see :func:`template_reads`), its rendered lines by what they read."""

    __slots__ = ("base", "hits", "lines", "lookups", "reads", "template")

    def __init__(self, template: Template, reads: _Reads | None) -> None:
        self.template = template
        self.base = dict(template.globals)
        # Jinja keeps the template's globals as a ChainMap and makes a set of its keys for every context;
        # a plain dict of the same globals (they never change once the environment is built, and a render
        # copies them before adding its variables) is cheaper.
        template.globals = self.base
        self.reads = reads
        self.lines: dict[Hashable, str] = {}
        self.lookups = 0
        self.hits = 0


class _Deferred(UserString):
    """Text rendered the first time a template uses it: the summary shows the computation's explanation for
    some decisions only, so it is not worked out for the others. It behaves as the string it stands for
    (``|length``, slicing, ``|indent``, comparison, truth), since ``UserString`` reaches the text only
    through ``data``."""

    def __init__(self, seq: Callable[[], str] | str) -> None:  # UserString's methods build new ones from text
        self._render: Callable[[], str] | None = None if isinstance(seq, str) else seq
        self._text = seq if isinstance(seq, str) else ""

    @property
    def data(self) -> str:  # type: ignore[override]
        if self._render is not None:
            self._text, self._render = self._render(), None
        return self._text


class Explainer:
    """Renders results of one family into Italian. Build one per template folder and reuse it.

    A requirement's template whose reads can be told from its text (:func:`template_reads`) gives the same
    line for the same outcome, missing facts and values read, under the same ruleset (by SHA-256); those
    lines are kept in a bounded cache per template, since most requirements are yes/no checks whose lines
    repeat. A template whose lines seldom repeat (amounts, dates) stops being cached after 1,000 lines.
    ``cache=False`` renders every line."""

    cache_size = 4096

    def __init__(self, root: str | Path | None = None, *, cache: bool = True) -> None:
        self._root = Path(root) if root is not None else explanations_dir() / "it"
        self._cache = cache
        self._environments: dict[tuple[str, str], _TraceSandbox] = {}
        self._templates: dict[tuple[int, str], _Template] = {}
        self._lock = threading.Lock()

    def environment(self, family: str, version: str) -> _TraceSandbox:
        key = (family, version)
        with self._lock:
            if key not in self._environments:
                folders = [self._root / family / version, self._root / family]
                env = _TraceSandbox(
                    loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders if _is_folder(f)]),
                    undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                    keep_trailing_newline=False, auto_reload=False)
                env.filters.update(euro=euro, numero=numero, percentuale=percentuale, data=data, sino=sino,
                                   il=il, dal=dal, al=al)
                env.tests["noto"] = noto
                env.globals.update(da_verificare=da_verificare, intestazione=intestazione, fonte=fonte,
                                   mancanti=mancanti, esito=esito)
                self._environments[key] = env
            return self._environments[key]

    def explain(self, result: Result) -> str:
        env = self.environment(result.family, result.version)
        values = result.facts.to_dict() if isinstance(result.facts, Values) else dict(result.facts)
        values.update({k: p.value for k, p in result.parameters.items()})
        values.update({k: v.value for k, v in result.values.items()})
        parameters = result.parameters
        lines = [self._requirement_line(env, r, result, values) for r in result.requirements]
        importo = _Deferred(lambda: self._render(env, "importo.j2", result, result=result, v=values,
                                                 p=parameters).strip())
        return self._render(env, "riepilogo.j2", result, result=result, righe=lines, v=values, p=parameters,
                            importo=importo).strip() + "\n"

    def _requirement_line(self, env: _TraceSandbox, r: RequirementResult, result: Result,
                          values: dict[str, Any]) -> str:
        entry = self._template(env, r.template, result)
        reads = entry.reads  # read once: another thread may stop the caching of this template meanwhile
        key = _line_key(reads, result, r, values) if reads is not None and self._cache else None
        if key is not None:
            entry.lookups += 1
            text = entry.lines.get(key)
            if text is not None:
                entry.hits += 1
                return text
        text = self._render(env, r.template, result, r=r, v=values, p=result.parameters, result=result).strip()
        if key is not None:
            if len(entry.lines) >= self.cache_size:
                entry.lines.clear()
            entry.lines[key] = text
            if entry.lookups >= 1000 and entry.hits * 5 < entry.lookups:
                entry.reads, entry.lines = None, {}  # its lines seldom repeat (amounts, dates): stop keeping them
        return text

    def _template(self, env: _TraceSandbox, name: str, of: Result) -> _Template:
        found = self._templates.get((id(env), name))
        if found is None:
            try:
                template = env.get_template(name)
            except TemplateNotFound:
                raise TemplateError([Problem(_("template {name!r} not found for {key}").format(
                    name=name, key=f"{of.family}@{of.version}"),
                                             code="T001", file=name)]) from None
            except TemplateSyntaxError as exc:
                raise _syntax_error(exc, name) from None
            found = _Template(template, template_reads(env, name))
            self._templates[(id(env), name)] = found
        return found

    def _render(self, env: ImmutableSandboxedEnvironment, name: str, of: Result, **context: Any) -> str:
        assert isinstance(env, _TraceSandbox)
        entry = self._template(env, name, of)
        variables = entry.base.copy()
        variables.update(context)
        try:
            try:
                # Template.render, less its copy of the globals on every call (Jinja's low-level API).
                return "".join(entry.template.root_render_func(entry.template.new_context(variables, shared=True)))
            except Exception:
                env.handle_exception()  # re-raises with the traceback pointing at the template's lines
                raise  # pragma: no cover - handle_exception always raises
        except TemplateSyntaxError as exc:  # an imported template that does not parse
            raise _syntax_error(exc, name) from None
        except (UndefinedError, SecurityError, TypeError, ArithmeticError, ValueError) as exc:  # TypeError: e.g. an
            # unknown value used as true/false; ArithmeticError, ValueError: e.g. a division by zero
            raise TemplateError([Problem(str(exc), code="T003", file=name)]) from None


def _syntax_error(exc: TemplateSyntaxError, name: str) -> TemplateError:
    """A template (``name``, or one it imports) that does not parse."""
    return TemplateError([Problem(exc.message or _("syntax error"), code="T002", file=exc.filename or name,
                                  line=exc.lineno)])


# Names a template may use freely while its reads stay known: the pure helpers of the environment.
_PURE_GLOBALS = frozenset({"intestazione", "fonte", "esito", "da_verificare", "namespace", "range", "dict", "loop",
                           "caller", "varargs", "kwargs"})
_CONTEXT = frozenset({"r", "v", "p", "result", "righe", "importo", "mancanti"})
# The helpers that read of a record only its outcome, missing facts and what the ruleset fixes, and the
# record's attributes that the ruleset fixes (with the requirement) or the key holds.
_RECORD_HELPERS = frozenset({"intestazione", "fonte", "esito", "mancanti"})
_RECORD_FIXED = frozenset({"id", "title", "outcome", "condition", "sources", "missing", "unconfirmed", "template",
                           "citation"})


def template_reads(env: ImmutableSandboxedEnvironment, name: str) -> _Reads | None:
    """What the template ``name`` reads of what varies between cases, when that can be told from its text:
    its record ``r``; ``v.x``, ``v["x"]`` and ``"x" in v``; ``p.x``; and ``result`` only as the second
    argument of ``mancanti`` (which reads the ruleset's labels). None otherwise: any other use of ``v``,
    ``p`` or ``result``, an include, import or extends, the ``random`` filter or ``lipsum``, or a name
    of the context (or of a helper) set inside the template, a macro, or ``v.items()``-style calls of a
    dict's own methods."""
    try:
        source = env.loader.get_source(env, name)[0] if env.loader is not None else None
        if source is None:
            return None
        tree = env.parse(source)
    except (TemplateNotFound, TemplateSyntaxError):
        return None
    if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends,
                                         nodes.Macro, nodes.CallBlock))):
        return None  # other templates, and macros (which could take a helper's name), are not followed
    if any(f.name == "random" for f in tree.find_all(nodes.Filter)):
        return None
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    if local & (_CONTEXT | _PURE_GLOBALS | _RECORD_HELPERS):  # which one a read sees is not static
        return None
    known: dict[int, tuple[str, str]] = {}  # id of a Name node of v or p -> (which, the name read through it)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node if isinstance(node, nodes.Getattr | nodes.Getitem) else None
        if isinstance(target, nodes.Name) and target.name in ("v", "p"):
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(getattr(node, "arg", None), "value", None)
            if isinstance(key, str) and key not in _DICT_ATTRIBUTES:  # v.get(...), v.items(): v used whole
                known[id(target)] = (target.name, key)
    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr, *(o.expr for o in compare.ops)]
        for left, op, right in zip(operands, compare.ops, operands[1:], strict=False):
            if (op.op in ("in", "notin") and isinstance(right, nodes.Name) and right.name == "v"
                    and isinstance(left, nodes.Const) and isinstance(left.value, str)):
                known[id(right)] = ("v", left.value)
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in _RECORD_HELPERS:
            for arg in call.args:
                if isinstance(arg, nodes.Name) and arg.name == "r":
                    known[id(arg)] = ("r", "")
            if (call.node.name == "mancanti" and len(call.args) == 2 and isinstance(call.args[1], nodes.Name)
                    and call.args[1].name == "result"):
                known[id(call.args[1])] = ("result", "")
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "r" and node.attr in _RECORD_FIXED:
            known[id(node.node)] = ("r", "")
    record_values = False
    values: set[str] = set()
    parameters: set[str] = set()
    for used in tree.find_all(nodes.Name):
        if used.ctx != "load" or used.name in local or used.name in _PURE_GLOBALS or used.name == "mancanti":
            continue
        which, key = known.get(id(used), ("", ""))
        if which == "v":
            values.add(key)
        elif which == "p":
            parameters.add(key)
        elif used.name == "r" and which != "r":
            record_values = True  # r.values, or r used whole
        elif which not in ("r", "result"):
            return None
    return _Reads(record_values, tuple(sorted(values)), tuple(sorted(parameters)))


_ABSENT = object()


def _line_key(reads: _Reads, result: Result, r: RequirementResult, values: dict[str, Any]) -> Hashable | None:
    """All a line depends on: the ruleset (its SHA-256 fixes the record's title, condition and sources, the
    labels and the parameter records), the requirement, its outcome and missing facts, and every value it
    reads. None when a value cannot be a key (a map or a list). Money is keyed by its exact digits, so
    ``1.0`` and ``1.00`` stay apart."""
    key: tuple[Any, ...] = (result.ruleset_sha256, r.id, r.outcome, r.missing)
    if reads.record_values:
        own = _values_key(r.values.items())
        if own is None:
            return None
        key += own
    if reads.values:
        named = _values_key((name, values.get(name, _ABSENT)) for name in reads.values)
        if named is None:
            return None
        key += named
    if reads.parameters:  # under one ruleset, the dated value in force is told by its period
        parameters = result.parameters
        key += tuple((use.valid_from, use.valid_to) if use is not None else None
                     for use in (parameters.get(name) for name in reads.parameters))
    return key


def _values_key(items: Iterable[tuple[str, Any]]) -> tuple[Any, ...] | None:
    parts = []
    for name, value in items:
        kind = value.__class__
        if kind is Decimal or kind is Unknown:
            parts.append((name, kind, str(value)))
        elif kind in _KEYED or value is _ABSENT:
            parts.append((name, kind, value))
        else:
            return None
    return tuple(parts)


_KEYED = frozenset({bool, int, str, dt.date})


_DEFAULT: Explainer | None = None
_DEFAULT_LOCK = threading.Lock()


def explain(result: Result) -> str:
    """The Italian explanation of ``result``, from the bundled templates."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Explainer()
    return _DEFAULT.explain(result)
