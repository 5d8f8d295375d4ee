"""The language of what a person reads: gettext catalogs and Babel's formats, at one boundary.

Italian is the default; English is on request (``--lang en``, the ``REGOLE_LANG`` environment variable, or
``lang=`` on the Python functions that render text). The source strings (msgids) are English, as the code
is; the Italian catalog ``engine/locale/it/LC_MESSAGES/regole.po`` translates every one of them (a test
fails otherwise) and the English catalog is the identity. ``make messages`` extracts, updates and compiles
the catalogs with Babel (``babel.cfg``); the compiled ``.mo`` files are committed and a test checks they
match the ``.po`` files.

The language in force is a context variable set by :func:`language` (``with language("en"): ...``), so the
renderers keep their signatures and two threads may render in two languages at once. Outside any
``language`` block it is ``REGOLE_LANG`` or Italian. Error codes, JSON keys, ids and the expression
language never change with the language; only the sentences and the number formats do.

Babel formats numbers, money, percentages and dates in the language in force: ``1.234,50 €`` and
``11 set 2024`` in Italian, ``€1,234.50`` and ``11 Sept 2024`` in English.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gettext as _gettext
import os
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

DOMAIN = "regole"
LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"
ENVIRONMENT_VARIABLE = "REGOLE_LANG"
LOCALE_DIR = Path(__file__).parent / "locale"
_BABEL_LOCALES = {"it": "it_IT", "en": "en_GB"}
_NBSP = "\u00a0"
_NNBSP = "\u202f"
_CENT = Decimal("0.01")
NO_VALUE = "—"

_language: ContextVar[str | None] = ContextVar("regole_language", default=None)


def resolve(lang: str | None = None) -> str:
    """``lang`` if given, else ``REGOLE_LANG``, else Italian; ``ValueError`` for a language regole lacks."""
    chosen = lang if lang is not None else (os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_LANGUAGE)
    code = chosen.strip().lower().replace("-", "_").split("_")[0]
    if code not in LANGUAGES:
        spoken = ", ".join(LANGUAGES)  # no language is known yet: Italian first, then English
        raise ValueError(f"lingua sconosciuta {chosen!r}: regole parla {spoken} "
                         f"(unknown language {chosen!r}: regole speaks {spoken})")
    return code


def current() -> str:
    """The language in force: the innermost :func:`language` block, else ``REGOLE_LANG``, else Italian."""
    return _language.get() or resolve(None)


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Render in ``lang`` inside the block (``None`` keeps the language in force)."""
    code = resolve(lang) if lang is not None else current()
    token = _language.set(code)
    try:
        yield code
    finally:
        _language.reset(token)


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (``engine/locale/<lang>/LC_MESSAGES/regole.mo``)."""
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


def gettext(message: str) -> str:
    """``message`` (an English msgid) in the language in force."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # the gettext convention: mark for extraction, translate later
    """Mark ``message`` for extraction without translating it (a table built once, translated when shown)."""
    return message


_ = gettext


# -- formats ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=len(LANGUAGES))
def babel_locale(lang: str) -> Locale:
    return Locale.parse(_BABEL_LOCALES[lang])


def _plain(text: str) -> str:
    return text.replace(_NBSP, " ").replace(_NNBSP, " ")


def number(value: Any, *, digits: int | None = None) -> str:
    """``1.234`` / ``1,234``; ``digits`` fixes the decimals (``1.234,5``)."""
    if value is None:
        return NO_VALUE
    locale = babel_locale(current())
    if digits is None:
        return _plain(format_decimal(value, locale=locale))
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _plain(format_decimal(value, format=pattern, locale=locale))


def signed_number(value: Any) -> str:
    return ("+" if value > 0 else "") + number(value)


def money(value: Any) -> str:
    """``1.234,50 €`` / ``€1,234.50``, rounded to the cent."""
    if value is None:
        return NO_VALUE
    amount = Decimal(value)
    if amount.is_finite():
        amount = amount.quantize(_CENT)
    return _plain(format_currency(amount, "EUR", locale=babel_locale(current())))


def signed_money(value: Any) -> str:
    return ("+" if value > 0 else "") + money(value)


def percent(fraction: Any, *, digits: int = 1) -> str:
    """``12,5%`` / ``12.5%`` of a fraction (0.125)."""
    if fraction is None:
        return NO_VALUE
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return _plain(format_percent(Decimal(str(fraction)), format=pattern, locale=babel_locale(current())))


def date(value: dt.date | None, *, style: str = "medium") -> str:
    """``11 set 2024`` / ``11 Sept 2024`` (``style`` as Babel's: short, medium, long)."""
    if value is None:
        return NO_VALUE
    return _plain(format_date(value, format=style, locale=babel_locale(current())))


# -- argparse -----------------------------------------------------------------------------------------------------

# argparse's own sentences ("usage:", "show this help message and exit", its error messages), as Python 3.11+
# writes them, marked here so that Babel extracts them into our catalog; tests/test_i18n.py fails when the
# installed argparse has one that is not listed.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("unrecognized arguments: %s"), N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"), N_("can't open '%(filename)s': %(error)s"),
    N_("argument \"-\" with mode %r"),
)
ARGPARSE_INTERNAL = (  # programming errors of a parser's author, never shown to a user of regole
    ".__call__() not defined", "conflicting subparser: %s", "conflicting subparser alias: %s",
    "cannot merge actions - two groups are named %r", "'required' is an invalid argument for positionals",
    "invalid option string %(option)r: ", "dest= is required for options like %r",
    "invalid conflict_resolution value: %r", "mutually exclusive arguments must be optional",
    "cannot have multiple subparser arguments", "%r is not callable",
    "conflicting option string: %s", "conflicting option strings: %s",
    "expected %s argument", "expected %s arguments",  # only for nargs=N > 1, which regole never uses
)


@contextlib.contextmanager
def argparse_language() -> Iterator[None]:
    """Inside the block argparse speaks the language in force. argparse reads its sentences through the
    module-level names ``_`` and ``ngettext`` it imported from :mod:`gettext`; they are pointed at our
    catalog for the block and restored after it (the command line is one thread; nothing changes at import)."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "N_", "current", "date", "gettext", "language", "money", "ngettext",
           "number", "percent", "resolve", "signed_money", "signed_number"]
