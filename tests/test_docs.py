"""``regole docs``: Markdown and a self-contained HTML site from the compiled rulesets, one page per version
and an index per family, with requirements, parameters over time with their sources, the flags
"da verificare", the sources with links and the versions of the family."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import cli

from engine._resources import rulesets_dir


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    code, stdout, err = cli("docs", "--out", str(out))
    assert (code, err) == (0, "")
    assert stdout.startswith("scritti ")
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "href" and value:
                self.hrefs.append(value)


def parsed(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_one_page_per_version_and_an_index_per_family(site: Path) -> None:
    for family in (p.name for p in rulesets_dir().iterdir() if list(p.glob("*.yaml"))):
        for extension in ("html", "md"):
            assert (site / family / f"index.{extension}").is_file()
            for ruleset in (rulesets_dir() / family).glob("*.yaml"):
                assert (site / family / f"{ruleset.stem}.{extension}").is_file()
    assert (site / "index.html").is_file()
    assert (site / "index.md").is_file()


def test_html_is_self_contained_and_every_link_resolves(site: Path) -> None:
    for page in site.rglob("*.html"):
        links = parsed(page)
        assert "style" in links.tags
        assert not {"script", "link", "img", "iframe"} & links.tags, page
        for href in links.hrefs:
            if href.startswith(("http://", "https://")):
                continue
            target, _, anchor = href.partition("#")
            file = (page.parent / target).resolve() if target else page
            assert file.is_file(), f"{page}: {href}"
            if anchor:
                assert anchor in parsed(file).ids, f"{page}: {href}"


def test_version_page_shows_requirements_parameters_sources_and_versions(site: Path) -> None:
    page = (site / "iscro" / "2024.html").read_text(encoding="utf-8")
    assert "<h1>ISCRO strutturale (L. 213/2023)</h1>" in page
    assert "dal 1° gennaio 2024, senza scadenza" in page
    assert "reddito_anno_riferimento &lt; soglia_calo" in page  # the condition, readable and escaped
    assert "il 70% della media dei redditi" in page  # the label of a name the condition reads
    # a parameter over time, each value with its source; the 2026 ceiling is flagged
    row = re.search(r"<tr><td>1° gennaio 2026</td><td>–</td><td class=\"num\">12\.749,18 €</td>(.*?)</tr>", page)
    assert row, "the 2026 ceiling row"
    assert "Circ. INPS n. 4/2026" in row[1]
    assert "da verificare" in row[1]
    assert "12.000,00 €" in page
    assert "70%" in page  # a percentage shown as one
    assert "Da verificare (" in page  # the list of everything unconfirmed
    # the versions of the family with their periods
    assert "dal 1° gennaio 2021 al 31 dicembre 2023" in page
    assert '<a href="2021.html">2021</a>' in page


def test_markdown_has_the_same_content(site: Path) -> None:
    text = (site / "iscro" / "2024.md").read_text(encoding="utf-8")
    assert text.startswith("<!-- Generato da regole")
    assert "# ISCRO strutturale (L. 213/2023)" in text
    assert "| 1° gennaio 2026 | – | 12.749,18 € | [Circ. INPS n. 4/2026](#fonte-circ4_2026) | ⚠ da verificare:" in text
    assert "```\nreddito_anno_riferimento < soglia_calo\n```" in text
    assert "| [2021](2021.md) | ISCRO sperimentale (L. 178/2020) | dal 1° gennaio 2021 al 31 dicembre 2023 |" in text
    family = (site / "iscro" / "index.md").read_text(encoding="utf-8")
    assert "| [2024](2024.md) | ISCRO strutturale (L. 213/2023) | dal 1° gennaio 2024, senza scadenza |" in family


def test_source_links_are_kept_only_when_they_are_web_addresses(tmp_path: Path) -> None:
    rulesets = tmp_path / "rulesets" / "iscro"
    rulesets.mkdir(parents=True)
    for path in (rulesets_dir() / "iscro").glob("*.yaml"):
        shutil.copy(path, rulesets / path.name)
    text = (rulesets / "2024.yaml").read_text(encoding="utf-8")
    text = text.replace("    citation: Circ. INPS n. 84/2024\n",
                        "    citation: Circ. INPS n. 84/2024\n    url: https://www.inps.it/circolare-84-2024\n")
    text = text.replace("    citation: Circ. INPS n. 25/2025\n",
                        "    citation: Circ. INPS n. 25/2025\n    url: javascript:alert(1)\n")
    text = text.replace("title: ISCRO strutturale (L. 213/2023)", "title: ISCRO <b>strutturale</b>")
    (rulesets / "2024.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "site"
    code, _, err = cli("--rulesets", str(tmp_path / "rulesets"), "docs", "--out", str(out))
    assert (code, err) == (0, "")
    page = (out / "iscro" / "2024.html").read_text(encoding="utf-8")
    assert '<a href="https://www.inps.it/circolare-84-2024">Circ. INPS n. 84/2024</a>' in page
    assert "javascript:" not in page
    assert "<h1>ISCRO &lt;b&gt;strutturale&lt;/b&gt;</h1>" in page
    markdown = (out / "iscro" / "2024.md").read_text(encoding="utf-8")
    assert "[Circ. INPS n. 84/2024](https://www.inps.it/circolare-84-2024)" in markdown
    assert "# ISCRO &lt;b&gt;strutturale&lt;/b&gt;" in markdown


def test_a_broken_ruleset_is_reported_not_raised(tmp_path: Path) -> None:
    rulesets = tmp_path / "rulesets" / "demo"
    rulesets.mkdir(parents=True)
    (rulesets / "1.yaml").write_text("regole: 1\nfamily: [\n", encoding="utf-8")
    code, _, err = cli("--rulesets", str(tmp_path / "rulesets"), "docs", "--out", str(tmp_path / "site"))
    assert code == 1
    assert "regole check" in err
    assert "errore[Y001]" in err
    assert cli("--rulesets", str(tmp_path / "nowhere"), "docs")[0] == 2


# -- the language of the site: Italian by default, English with --lang en ----------------------------------------

# The site's own words (headings, labels, table headers, the kinds of sources and types), by language; the legal
# content of the rulesets (titles, descriptions, citations, flag reasons) stays Italian in both.
_SITE_WORDS = {
    "it": ('<h2 id="requisiti">Requisiti (', '<h2 id="fonti">Fonti (', "Fatti della domanda",
           "Obblighi e cessazione", "<th>affidabilità</th>", "Da verificare (",
           "i parametri si leggono alla stessa data", ", importo in euro</span>", "<td>circolare INPS</td>",
           "Generato da regole", " senza scadenza", '<html lang="it">'),
    "en": ('<h2 id="requisiti">Requirements (', '<h2 id="fonti">Sources (', "Facts of the application",
           "Obligations and termination", "<th>reliability</th>", "To be verified (",
           "the parameters are read on the same date", ", amount in euro</span>", "<td>INPS circular</td>",
           "Generated by regole", " with no end", '<html lang="en">'),
}


@pytest.fixture(scope="module")
def english_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-en")
    code, stdout, err = cli("docs", "--lang", "en", "--out", str(out))
    assert (code, err) == (0, "")
    assert stdout.startswith("wrote ")
    return out


def test_the_site_is_italian_by_default(site: Path) -> None:
    page = (site / "iscro" / "2024.html").read_text(encoding="utf-8")
    for words in _SITE_WORDS["it"]:
        assert words in page, words
    for words in _SITE_WORDS["en"]:
        assert words not in page, words
    assert "dal 1° gennaio 2024, senza scadenza" in page


def test_lang_en_gives_the_same_site_in_english(site: Path, english_site: Path) -> None:
    page = (english_site / "iscro" / "2024.html").read_text(encoding="utf-8")
    for words in _SITE_WORDS["en"]:
        assert words in page, words
    for words in _SITE_WORDS["it"]:
        assert words not in page, words
    assert "from 1 January 2024, with no end" in page  # dates in English formats
    markdown = (english_site / "iscro" / "2024.md").read_text(encoding="utf-8")
    assert "## Requirements (" in markdown
    assert "| citation | type | date | reliability |" in markdown
    assert "## Requisiti" not in markdown
    assert "affidabilità" not in markdown
    # the same pages, anchors and legal content: only the site's words change
    assert sorted(p.relative_to(english_site) for p in english_site.rglob("*")) == sorted(
        p.relative_to(site) for p in site.rglob("*"))
    italian = (site / "iscro" / "2024.html").read_text(encoding="utf-8")
    assert set(re.findall(r'id="([^"]+)"', page)) == set(re.findall(r'id="([^"]+)"', italian))
    assert "Iscrizione alla Gestione separata" in page


def test_write_docs_takes_lang(tmp_path: Path) -> None:
    from engine._docs import write_docs
    from engine._run import Library

    written = write_docs(tmp_path, Library(rulesets_dir()), lang="en")
    index = (written.out / "index.html").read_text(encoding="utf-8")
    assert "<h1>Rules</h1>" in index
    assert "Rules: families and versions" in index
    assert "Regole: famiglie e versioni" not in index
