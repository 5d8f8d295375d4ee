"""The gettext catalogs (engine/locale): complete, compiled, in the wheel's package; the language switch; Babel's
formats per language; argparse speaking the language."""

from __future__ import annotations

import argparse
import ast
import gettext
import inspect
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import engine
from engine import _i18n
from engine.cli import main

ENGINE = Path(engine.__file__).parent
LOCALE = ENGINE / "locale"
TEMPLATES = ENGINE / "_docs_templates"
MARKERS = {"_", "gettext", "N_"}
PLURAL_MARKERS = {"ngettext"}


def catalog(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "regole.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def marked_in_source() -> set[str | tuple[str, str]]:
    """Every message marked in engine/ (``_("...")``, ``N_``, ``ngettext``), read with ``ast``: unlike a
    tokenizer it also sees the calls inside f-strings, which Babel's extractor misses on Python 3.11."""
    found: set[str | tuple[str, str]] = set()
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name in MARKERS and len(strings) == 1 == len(node.args):
                found.add(strings[0])
            elif name in PLURAL_MARKERS and len(strings) == 2:
                found.add((strings[0], strings[1]))
    return found | in_templates()


def in_templates() -> set[str | tuple[str, str]]:
    """The messages of the docs site's Jinja templates (``_()`` of jinja2.ext.i18n), as babel.cfg extracts them."""
    out: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(TEMPLATES), method_map=[("**.j2", "jinja2")], options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}}):
        out.add(message if isinstance(message, str) else (message[0], message[1]))
    return out


def extracted_by_babel() -> set[str | tuple[str, str]]:
    out: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ENGINE), method_map=[("**.py", "python")]):
        out.add(message if isinstance(message, str) else (message[0], message[1]))
    return out


def key(message_id: str | tuple[str, ...] | list[str]) -> str | tuple[str, str]:
    return message_id if isinstance(message_id, str) else (message_id[0], message_id[1])


def test_every_marked_message_is_extracted_by_babel() -> None:
    """A ``_()`` inside an f-string is invisible to ``pybabel extract``: write it outside the f-string."""
    missing = marked_in_source() - extracted_by_babel() - in_templates()
    assert not missing, f"marked but not extracted (move them out of f-strings): {sorted(map(str, missing))}"


@pytest.mark.parametrize("lang", _i18n.LANGUAGES)
def test_the_catalog_has_every_message_and_nothing_stale(lang: str) -> None:
    ids = {key(m.id) for m in catalog(lang) if m.id}
    marked = marked_in_source()
    assert not marked - ids, f"run `make messages`: not in the {lang} catalog: {sorted(map(str, marked - ids))}"
    assert not ids - marked, f"run `make messages`: stale in the {lang} catalog: {sorted(map(str, ids - marked))}"


def test_the_italian_catalog_translates_everything_with_the_same_placeholders() -> None:
    for message in catalog("it"):
        if not message.id:
            continue
        assert "fuzzy" not in message.flags, message.id
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"untranslated: {message.id!r}"
        wanted = set(re.findall(r"\{\w*[^}]*\}|%\(\w+\)\w|%\w", ids[-1]))
        for text in strings:
            found = set(re.findall(r"\{\w*[^}]*\}|%\(\w+\)\w|%\w", text))
            assert found <= wanted, (message.id, text)  # a singular form may say "un altro" instead of {n}
        assert set(re.findall(r"\{\w*[^}]*\}|%\(\w+\)\w|%\w", strings[-1])) == wanted, (message.id, strings)


@pytest.mark.parametrize("lang", _i18n.LANGUAGES)
def test_the_compiled_catalog_is_the_po_file_compiled(lang: str) -> None:
    """The .mo files are committed (a fresh clone and an editable install need them): they must be current."""
    expected = io.BytesIO()
    write_mo(expected, catalog(lang))
    compiled = LOCALE / lang / "LC_MESSAGES" / "regole.mo"
    fresh = gettext.GNUTranslations(io.BytesIO(expected.getvalue()))
    with compiled.open("rb") as handle:
        current = gettext.GNUTranslations(handle)
    messages = {k: v for k, v in current._catalog.items() if k != ""}  # type: ignore[attr-defined]
    expected_messages = {k: v for k, v in fresh._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert messages == expected_messages, f"run `make messages`: {compiled} is older than its .po"  # (not the header)


def test_argparse_messages_are_all_known() -> None:
    """Every sentence the installed argparse translates is in our list (a new Python may add some)."""
    source = inspect.getsource(argparse)
    found = set(re.findall(r"""\b_\((['"])((?:\\.|(?!\1).)*)\1\)""", source))
    known = set(_i18n.ARGPARSE_MESSAGES) | set(_i18n.ARGPARSE_INTERNAL)
    missing = {ast.literal_eval(quote + text + quote) for quote, text in found} - known
    assert not missing, missing


def test_language_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_i18n.ENVIRONMENT_VARIABLE, raising=False)
    assert _i18n.current() == "it"
    monkeypatch.setenv(_i18n.ENVIRONMENT_VARIABLE, "en_GB.UTF-8")
    assert _i18n.current() == "en"
    with _i18n.language("it"):
        assert _i18n.current() == "it"
        assert _i18n.gettext("No differences.") == "Nessuna differenza."
    assert _i18n.gettext("No differences.") == "No differences."
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        _i18n.resolve("fr")


@pytest.mark.parametrize(("lang", "number", "money", "percent", "date"), [
    ("it", "1.234.567", "1.234,50 €", "12,5%", "11 set 2024"),
    ("en", "1,234,567", "€1,234.50", "12.5%", "11 Sept 2024"),
])
def test_formats_follow_the_language(lang: str, number: str, money: str, percent: str, date: str) -> None:
    import datetime as dt
    from decimal import Decimal

    with _i18n.language(lang):
        assert _i18n.number(1234567) == number
        assert _i18n.money(Decimal("1234.5")) == money
        assert _i18n.percent(0.125) == percent
        assert _i18n.date(dt.date(2024, 9, 11)) == date


def test_batch_on_a_bad_output_path_speaks_italian_by_default_and_english_on_request(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(_i18n.ENVIRONMENT_VARIABLE, raising=False)
    data = tmp_path / "domande.jsonl"
    data.write_text('{"data_domanda": "2024-09-10"}\n', encoding="utf-8")
    out = tmp_path / "manca" / "r.parquet"

    def run(*argv: str) -> tuple[int, str]:
        err = io.StringIO()
        return main(["batch", str(data), "--family", "iscro", "--out", str(out), *argv],
                    stdout=io.StringIO(), stderr=err), err.getvalue()

    code, italian = run()
    assert code == 2
    assert f"{out}: la cartella {out.parent} non esiste" in italian
    assert "does not exist" not in italian
    code, english = run("--lang", "en")
    assert code == 2
    assert f"{out}: the folder {out.parent} does not exist" in english
    assert "non esiste" not in english
    code, italian = run("--out", str(tmp_path / "r.xlsx"))
    assert code == 2
    assert "il formato dei risultati si sceglie dall'estensione: .parquet, .csv o .jsonl" in italian
    assert not out.parent.exists()
    assert not (tmp_path / "r.xlsx").exists()


def test_cli_language_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_i18n.ENVIRONMENT_VARIABLE, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()

    assert "mostra questo aiuto ed esce" in run("--help")[1]
    assert run("--help")[1].startswith("uso: regole")
    assert "show this help message and exit" in run("--lang", "en", "--help")[1]
    assert run("diff", "--help", "--lang=en")[1].startswith("usage: regole diff")
    monkeypatch.setenv(_i18n.ENVIRONMENT_VARIABLE, "en")
    assert run("--help")[1].startswith("usage: regole")
    assert run("--lang", "it", "--help")[1].startswith("uso: regole")
    code, _, err = run("--lang", "fr", "rulesets")
    assert code == 2
    assert "invalid choice: 'fr'" in err
    monkeypatch.setenv(_i18n.ENVIRONMENT_VARIABLE, "fr")
    code, _, err = run("rulesets")
    assert (code, err) == (2, "regole: REGOLE_LANG: lingua sconosciuta 'fr': regole parla it, en "
                              "(unknown language 'fr': regole speaks it, en)\n")


def test_argparse_is_left_as_it_was() -> None:
    before = argparse._  # type: ignore[attr-defined]
    main(["--lang", "it", "rulesets"], stdout=io.StringIO(), stderr=io.StringIO())
    assert argparse._ is before  # type: ignore[attr-defined]


@pytest.mark.parametrize(("lang", "weeks", "mean"), [
    ("it", "le settimane del periodo da-a, estremi inclusi", "la media aritmetica dei valori"),
    ("en", "the weeks of the period from-to, both ends included", "the arithmetic mean of the values"),
])
def test_function_descriptions_follow_the_language(lang: str, weeks: str, mean: str) -> None:
    from engine._types import FUNCTIONS

    with _i18n.language(lang):
        assert FUNCTIONS["settimane"].description.startswith(weeks)
        assert FUNCTIONS["media"].description == mean
        assert all(signature.description for signature in FUNCTIONS.values())


@pytest.mark.parametrize(("lang", "message"), [
    ("it", "'from' non deve essere successivo a 'to'"), ("en", "'from' must not be after 'to'")])
def test_a_reversed_span_of_years_is_reported_in_the_language(tmp_path: Path, lang: str, message: str) -> None:
    from engine._population import load_population
    from engine.errors import RulesetError

    path = tmp_path / "pop.yaml"
    path.write_text("population: 1\nfamily: iscro\nfacts:\n  data_domanda: {kind: date, ranges: [{from: 2024-01-01, "
                    "to: 2024-12-31}]}\n  reddito_lavoro_autonomo:\n    kind: money_by_year\n"
                    "    years: {relative_to: data_domanda, from: -1, to: -5}\n"
                    "    level: {lognormal: {median: 13000, sigma: 0.8}}\n", encoding="utf-8")
    with _i18n.language(lang), pytest.raises(RulesetError) as caught:
        load_population(path)
    assert [(p.code, p.message) for p in caught.value.problems] == [("G003", message)]
