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
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ._compile import Source
from ._resources import explanations_dir
from ._trace import ComputedValue, NoteResult, ParameterUse, RequirementResult, Result
from ._values import Unknown
from .errors import Problem, TemplateError

_LOCALE = Locale.parse("it_IT")
_CURRENCY = _LOCALE.currency_formats["standard"]
_NUMBER = _LOCALE.decimal_formats[None]
_PERCENT = _LOCALE.percent_formats[None]
_NBSP = "\u00a0"
NOT_KNOWN = "non noto"


def euro(value: Any) -> str:
    """``687,50 €``: Babel's Italian currency format, with a plain space."""
    if isinstance(value, Unknown) or value is None:
        return NOT_KNOWN
    return _euro(Decimal(value))


@lru_cache(maxsize=65536)
def _euro(value: Decimal) -> str:
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


_TRACE_TYPES = (Result, RequirementResult, ParameterUse, ComputedValue, NoteResult, Source)


class _TraceSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a fast path for the engine's own frozen trace records: their public
    attributes are plain data (or pure methods such as ``Result.label``). Every other object, strings and
    containers included, goes through the full sandbox checks, so ``''.__class__`` stays refused."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if obj.__class__ in _TRACE_TYPES:
            return not attr.startswith("_")
        return bool(super().is_safe_attribute(obj, attr, value))


class Explainer:
    """Renders results of one family into Italian. Build one per template folder and reuse it."""

    def __init__(self, root: str | Path | None = None) -> None:
        self._root = Path(root) if root is not None else explanations_dir() / "it"
        self._environments: dict[tuple[str, str], _TraceSandbox] = {}
        self._lock = threading.Lock()

    def environment(self, family: str, version: str) -> _TraceSandbox:
        key = (family, version)
        with self._lock:
            if key not in self._environments:
                folders = [self._root / family / version, self._root / family]
                env = _TraceSandbox(
                    loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders if f.is_dir()]),
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
        values = {**result.facts, **{k: p.value for k, p in result.parameters.items()},
                  **{k: v.value for k, v in result.values.items()}}
        lines = []
        for requirement in result.requirements:
            text = self._render(env, requirement.template, result, r=requirement, v=values, p=result.parameters,
                                result=result)
            lines.append(text.strip())
        return self._render(env, "riepilogo.j2", result, result=result, righe=lines, v=values, p=result.parameters,
                            importo=self._render(env, "importo.j2", result, result=result, v=values,
                                                 p=result.parameters).strip()).strip() + "\n"

    def _render(self, env: ImmutableSandboxedEnvironment, name: str, of: Result, **context: Any) -> str:
        try:
            template = env.get_template(name)
            text: str = template.render(**context)
            return text
        except TemplateNotFound:
            raise TemplateError([Problem(f"template {name!r} not found for {of.family}@{of.version}",
                                         code="T001", file=name)]) from None
        except TemplateSyntaxError as exc:
            raise TemplateError([Problem(exc.message or "syntax error", code="T002", file=exc.filename or name,
                                         line=exc.lineno)]) from None
        except (UndefinedError, SecurityError, TypeError) as exc:  # TypeError: e.g. an unknown value used as true/false
            raise TemplateError([Problem(str(exc), code="T003", file=name)]) from None


_DEFAULT: Explainer | None = None
_DEFAULT_LOCK = threading.Lock()


def explain(result: Result) -> str:
    """The Italian explanation of ``result``, from the bundled templates."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Explainer()
    return _DEFAULT.explain(result)
