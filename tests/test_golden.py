"""Golden outputs: each command's text output (and an HTML report) in Italian and in English, stored in
tests/golden/<case>.<lang>.<ext>. A change of wording or format shows as a diff of those files.

    REGOLE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py   # rewrite them after an intended change

Beside the comparison, every Italian output is checked for English formats (``1,234``, ``€12``, ISO dates,
English report words) and every English one for Italian formats (``1.234,50 €``, ``1 gen 2021``): a report
that mixes the two fails even when its golden file was regenerated.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from engine._diff_render import SECTION_TITLES
from engine._resources import rulesets_dir
from engine.cli import main

GOLDEN = Path(__file__).parent / "golden"
ROOT = rulesets_dir().parent
EXAMPLES = Path(__file__).parent.parent / "examples"
UPDATE = os.environ.get("REGOLE_UPDATE_GOLDEN") == "1"
LANGS = ("it", "en")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def stdout_of(*argv: str) -> Callable[[Path], str]:
    def command(tmp: Path) -> str:
        _code, out, err = run(*argv)
        return out + (f"--- stderr\n{err}" if err else "")

    return command


def population(family: str, n: int) -> Callable[[Path], Path]:
    def draw(tmp: Path) -> Path:
        path = tmp / f"{family}.jsonl"
        if not path.exists():
            assert run("population", "--family", family, "--n", str(n), "--seed", "1", "--out", str(path))[0] == 0
        return path

    return draw


def impact(family: str, versions: str, *extra: str) -> Callable[[Path], str]:
    rows = population(family, 300)

    def command(tmp: Path) -> str:
        _code, out, err = run("impact", str(rows(tmp)), "--versions", versions, *extra)
        return out + (f"--- stderr\n{err}" if err else "")

    return command


def impact_report(family: str, versions: str) -> Callable[[Path], str]:
    rows = population(family, 300)

    def command(tmp: Path) -> str:
        report = tmp / f"{family}-report.html"
        assert run("impact", str(rows(tmp)), "--versions", versions, "--report", str(report))[0] == 0
        return report.read_text(encoding="utf-8")

    return command


def population_message(tmp: Path) -> str:
    return run("population", "--family", "iscro", "--n", "5", "--seed", "3", "--out", str(tmp / "p.csv"))[2]


def invalid(name: str) -> Path:
    return Path(__file__).parent / "invalid_rulesets" / name


CASES: dict[str, tuple[str, Callable[[Path], str]]] = {
    "help": ("txt", stdout_of("--help")),
    "help-diff": ("txt", stdout_of("diff", "--help")),
    "rulesets": ("txt", stdout_of("rulesets")),
    "diff": ("txt", stdout_of("diff", "iscro@2021", "iscro@2024")),
    "diff-cig-covid": ("txt", stdout_of("diff", "cig-covid@2021-l178", "cig-covid@2021-dl41")),
    "diff-markdown": ("md", stdout_of("diff", "iscro@2021", "iscro@2024", "--format", "markdown")),
    "diff-html": ("html", stdout_of("diff", "iscro@2021", "iscro@2024", "--format", "html")),
    "compare": ("txt", stdout_of("compare", str(EXAMPLES / "iscro-2024-ammessa.json"), "--versions", "2021,2024")),
    "compare-cig-covid": ("txt", stdout_of("compare", str(EXAMPLES / "cig-covid-circolare-28.json"),
                                           "--versions", "2021-l178,2021-dl41")),
    "impact": ("txt", impact("iscro", "2021,2024")),
    "impact-cig-covid": ("txt", impact("cig-covid", "2021-l178,2021-dl41")),
    "impact-report": ("html", impact_report("iscro", "2021,2024")),
    "impact-report-cig-covid": ("html", impact_report("cig-covid", "2021-l178,2021-dl41")),
    "population": ("txt", population_message),
    "check": ("txt", stdout_of("check")),
    "check-problem": ("txt", stdout_of("check", str(invalid("p003_percentage_written_as_70.yaml")))),
    "test": ("txt", stdout_of("test")),
    "facts-template": ("txt", stdout_of("facts-template", "--family", "cig-covid")),
}


def normalised(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp), "$TMP").replace(str(ROOT) + os.sep, "")
    # the only figures that change from run to run: the time the evaluations took and their rate
    text = re.sub(r"(\d[\d.,]*) s \((\d[\d.,]*) (righe|rows)/s", r"<s> s (<rate> \3/s", text)
    return text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lang: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                ) -> None:
    extension, command = CASES[case]
    tmp = tmp_path_factory.getbasetemp() / "golden"
    tmp.mkdir(exist_ok=True)
    monkeypatch.chdir(ROOT)  # ruleset paths are shown relative to the working directory
    monkeypatch.setenv("REGOLE_LANG", lang)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps --help to the terminal's width
    text = normalised(command(tmp), tmp)
    path = GOLDEN / f"{case}.{lang}.{extension}"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with REGOLE_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path.name} differs: if intended, run with REGOLE_UPDATE_GOLDEN=1 and review the diff"
    assert_one_language(text, lang, case)


# What gives an Italian report away as English, and the other way round. Legal content (titles, labels,
# explanations, citations) is Italian in both; the expression language and ids are the same in both.
ENGLISH_FORMATS = {
    "a thousands comma": re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])"),
    "a euro sign before the amount": re.compile(r"€\s?-?\d"),
    "an ISO date": re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])"),
    "an English month": re.compile(r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept|Oct|Nov|Dec)\b"),
    "an English report word": re.compile(r"\b(?:rows|differences|changed|removed|added|requirements?|"
                                         r"admitted|refused|undetermined|evaluated|version|passed|failed|usage|"
                                         r"options|show this help|total|average|change)\b"),
}
ITALIAN_FORMATS = {
    "a decimal comma before €": re.compile(r"\d,\d{2} €"),
    "an Italian thousands dot": re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d{3})+,\d+"),
    "an Italian month": re.compile(r"\b\d{1,2} (?:gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}\b"),
    "an ISO date": ENGLISH_FORMATS["an ISO date"],
    "an Italian report word": re.compile(r"\b(?:righe|differenze|modifiche|rimozioni|aggiunte|requisiti|"
                                         r"ammesse|respinte|valutate|superati|falliti|uso:|opzioni|totale|media"
                                         r"|variazione|decisione)\b"),
}


def prose(text: str, case_is_compare: bool) -> list[str]:
    """The lines a report writes in its own language: not the law's Italian content (explanation lines,
    titles, labels, citations), nor the expression language, ids, paths or JSON, which no language changes."""
    keep = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and re.fullmatch(r"\s*\^+\s*", lines[i + 1]):
            continue  # a source line quoted above its caret
        if re.search(r"(condition|formula|condizione|text|testo|description|descrizione|title|titolo|label|"
                     r"etichetta|citation|citazione|note|nota)\b:|^\s*[-+] [A-Z]|<br>|\.yaml|\bsha256\b|^\s*//|"
                     r"Esito|Domanda|Regole applicate|:\d+:\d+:|\bsuggerimento\b|^\s*\"", line):
            continue
        if case_is_compare and re.match(r"\s*[-+] ", line):
            continue  # a line of the explanations (Italian, as the law) that differ
        keep.append(re.sub(r"--[\w-]+", "", line))  # option names are the same in every language
    return keep


def assert_one_language(text: str, lang: str, case: str) -> None:
    if case.endswith("html") or case.startswith(("impact-report", "help", "facts-template")):
        text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", text, flags=re.DOTALL)
    forbidden = ENGLISH_FORMATS if lang == "it" else ITALIAN_FORMATS
    if case in ("diff", "diff-cig-covid", "diff-markdown", "diff-html", "compare", "compare-cig-covid"):
        forbidden = {k: v for k, v in forbidden.items() if "word" not in k}  # the law's own words abound
    if case.startswith("diff") and lang == "it":  # the law's words abound there, the headings are ours
        for title in SECTION_TITLES.values():
            heading = re.compile(rf"^(?:## |\s*){re.escape(title)}(?: \(|:)", flags=re.MULTILINE)
            assert heading.search(text) is None, f"{case} ({lang}) has the English heading {title!r}"
    for line in prose(text, case.startswith("compare")):
        for what, pattern in forbidden.items():
            found = pattern.search(line)
            assert found is None, f"{case} ({lang}) has {what} ({found.group()!r}) in: {line.strip()}"
