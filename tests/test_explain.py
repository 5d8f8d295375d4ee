"""The explanation renderer: lines kept by what they read must be the lines a fresh render gives, the analysis
of what a template reads must be conservative, and the computation is rendered only when shown."""

from __future__ import annotations

import json
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, case, run
from hypothesis import given, settings
from hypothesis import strategies as st
from population import application

from engine import Explainer, Library, TemplateError, evaluate
from engine._explain import _babel_euro, _euro, template_reads

ROOT = Path(__file__).resolve().parent.parent
CIG_EXAMPLE = json.loads((ROOT / "examples" / "cig-covid-circolare-28.json").read_text("utf-8"))


def cig_variants(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        facts = dict(CIG_EXAMPLE)
        facts["tipo_trattamento"] = rng.choice(["CIGO", "ASO", "CIGD"])
        facts["media_dipendenti_semestre"] = rng.choice([3, 5, 6, 12, 60])
        facts["data_domanda"] = rng.choice(["2021-02-10", "2021-03-31", "2021-04-30", "2021-05-31"])
        if rng.random() < 0.3:
            facts.pop("data_domanda")
        if rng.random() < 0.3:
            facts["accordo_sindacale"] = rng.random() < 0.5
        out.append(facts)
    return out


def test_kept_lines_are_the_lines_a_fresh_render_gives(library: Library) -> None:
    """Across ISCRO 2021 and 2024 and CIG Covid, every explanation with the cache on equals the one rendered
    line by line with it off, byte for byte; most lines of yes/no requirements come from the cache."""
    rng = random.Random(5)
    results = [evaluate(application(rng, missing_rate=0.1), family="iscro", library=library) for _ in range(600)]
    results += [evaluate(f, family="cig-covid", library=library) for f in cig_variants(rng, 200)]
    cached, fresh = Explainer(), Explainer(cache=False)
    for result in results * 2:  # the second pass reads what the first kept
        assert cached.explain(result) == fresh.explain(result)
    entry = next(e for (_, name), e in cached._templates.items() if name == "requisito.gestione_separata.j2")
    assert entry.hits > 0.9 * entry.lookups


def test_money_formatting_distinguishes_equal_amounts_written_differently(library: Library) -> None:
    """1000 and 1000.00 are equal Decimals; a line keyed by them must still be the line of each."""
    explainer, fresh = Explainer(), Explainer(cache=False)
    one = explainer.explain(run(case(BASE_2024, reddito_dichiarato={"2023": "3000"})))
    two = explainer.explain(run(case(BASE_2024, reddito_dichiarato={"2023": "3000.00"})))
    assert one == fresh.explain(run(case(BASE_2024, reddito_dichiarato={"2023": "3000"})))
    assert two == fresh.explain(run(case(BASE_2024, reddito_dichiarato={"2023": "3000.00"})))


@pytest.mark.parametrize(("text", "expected"), [
    ('{{ intestazione(r) }} {{ esito(r, "sì", "no") }}. {{ fonte(r) }}', (False, (), ())),
    ("{{ mancanti(r, result) }}", (False, (), ())),
    ("{{ r.title }} {{ r.outcome }} {{ r.missing|join(', ') }}", (False, (), ())),
    ("{{ r.values.x }}", (True, (), ())),
    ("{{ r }}", (True, (), ())),
    ('{{ v.b }} {{ v["a"] }} {% if "c" in v %}{% endif %}{{ p.soglia.value|euro }}',
     (False, ("a", "b", "c"), ("soglia",))),
    ("{% set n = namespace(x=[]) %}{% for k in [1, 2] %}{% set n.x = n.x + [k] %}{% endfor %}{{ n.x }}",
     (False, (), ())),
    ("{{ v|length }}", None),                      # v used whole
    ("{{ result.decision }}", None),               # result read beyond mancanti
    ("{{ lipsum() }}", None),                      # random text
    ("{{ [1, 2]|random }}", None),
    ('{% include "other.j2" %}', None),
    ('{% import "other.j2" as o %}', None),
    ("{% set v = r.values %}{{ v.x }}", None),      # a context name set in the template
    ("{{ cycler(1, 2).next() }}", None),           # any name not known to be pure
    ('{{ v.get("a") }}', None),                      # a dict's own methods read v whole
    ("{% for k, x in v.items() %}{{ x }}{% endfor %}", None),
    ("{{ p.items()|list }}", None),
    ("{% macro fonte(q) %}{{ q.values.x }}{% endmacro %}{{ fonte(r) }}", None),  # a macro taking a helper's name
    ("{% set esito = 1 %}{{ esito }}", None),       # a helper's name set in the template
    ('{% call namespace() %}x{% endcall %}', None),
])
def test_what_a_template_reads_is_told_conservatively(tmp_path: Path, text: str, expected: Any) -> None:
    folder = tmp_path / "it" / "iscro"
    folder.mkdir(parents=True)
    (folder / "t.j2").write_text(text, "utf-8")
    (folder / "other.j2").write_text("", "utf-8")
    env = Explainer(tmp_path / "it").environment("iscro", "2024")
    reads = template_reads(env, "t.j2")
    assert (tuple(reads) if reads is not None else None) == expected


def test_the_computation_is_rendered_only_when_the_summary_shows_it(tmp_path: Path) -> None:
    """riepilogo.j2 shows importo.j2 for an admitted case only: a broken importo.j2 fails that case and no
    other."""
    folder = tmp_path / "it" / "iscro"
    shutil.copytree(ROOT / "explanations" / "it" / "iscro", folder)
    (folder / "importo.j2").write_text("{{ v.nome_che_non_esiste }}", "utf-8")
    explainer = Explainer(tmp_path / "it")
    refused = run(case(BASE_2024, iscritto_gestione_separata=False))
    assert "RESPINTA" in explainer.explain(refused)
    (folder / "importo.j2").write_text("riga uno\nriga due", "utf-8")
    (folder / "riepilogo.j2").write_text(
        "{{ importo|length }} {{ importo[:4] }} {{ importo == importo|string }} {{ importo|upper }}\n"
        "{{ importo|indent(2) }} {% if importo %}sì{% endif %}", "utf-8")
    assert Explainer(tmp_path / "it").explain(run(BASE_2024)) == (
        "17 riga True RIGA UNO\nRIGA DUE\nriga uno\n  riga due sì\n")  # it behaves as the text it stands for
    (folder / "importo.j2").write_text("{{ v.nome_che_non_esiste }}", "utf-8")
    (folder / "riepilogo.j2").write_text((ROOT / "explanations" / "it" / "iscro" / "riepilogo.j2").read_text("utf-8"),
                                         "utf-8")
    with pytest.raises(TemplateError) as error:
        explainer.explain(run(BASE_2024))
    assert error.value.problems[0].code == "T003"
    assert error.value.problems[0].file == "importo.j2"


def test_a_refused_summary_names_every_failed_requirement() -> None:
    result = run(case(BASE_2024, iscritto_gestione_separata=False, regolarita_contributiva=False))
    assert [r.id for r in result.failed] == [r.id for r in result.requirements if r.outcome == "non_soddisfatto"]
    assert len(result.failed) == 2
    text = Explainer().explain(result)
    assert all(r.title in text.split("Requisiti non soddisfatti:")[1].split("\n")[0] for r in result.failed)


@settings(max_examples=3000, deadline=None)
@given(units=st.integers(min_value=-10**16, max_value=10**16), places=st.integers(min_value=-2, max_value=6))
def test_amounts_are_written_as_babel_writes_them(units: int, places: int) -> None:
    """The direct writing of amounts gives Babel's Italian currency text exactly, its rounding of amounts with
    more than two decimals (a mean, a percentage of it) included."""
    value = Decimal(units).scaleb(-places)
    assert _euro.__wrapped__(value) == _babel_euro(value)


@pytest.mark.parametrize("text", ["0", "-0", "-0.00", "0.5", "-0.05", "999.99", "1000", "1E+3", "1234567.8", "-1E+6",
                                  "0.005", "0.015", "-0.005", "3850.005", "2.675", "1234.5649999"])
def test_edge_amounts_are_written_as_babel_writes_them(text: str) -> None:
    assert _euro.__wrapped__(Decimal(text)) == _babel_euro(Decimal(text))


def test_threads_explaining_at_once_give_the_sequential_texts(library: Library) -> None:
    """One Explainer shared by 8 threads (its kept lines and templates are shared too) gives the texts a
    single thread gives."""
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(12)
    results = [evaluate(application(rng, missing_rate=0.05), family="iscro", library=library) for _ in range(400)]
    fresh = Explainer(cache=False)
    expected = [fresh.explain(r) for r in results]
    shared = Explainer()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(shared.explain, results * 3)) == expected * 3
