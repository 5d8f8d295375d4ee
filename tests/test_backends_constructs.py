"""The columnar backend on every function of the expression language and on the constructs the bundled law
versions do not use (a third that never ends, rounding to tens, a date that does not exist on some rows,
``se`` with an unknown condition), differentially against the Rete kernel; and the constructs it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from backends_support import case_facts, differences, library, row_strategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import LawVersion, load_ruleset
from engine._compile import load_ruleset_text
from engine._i18n import language
from engine._types import FUNCTIONS
from engine.backends import evaluate_table, facts_table
from engine.backends.columnar import check
from engine.errors import ColumnarError

EXTRA = {  # name: (type, formula)
    "c_min": ("money", "min(media_redditi, soglia_reddito, 5000)"),
    "c_max": ("money", "max(reddito_anno_riferimento, importo_minimo)"),
    "c_media3": ("money", "media(reddito_primo_anno_media, reddito_secondo_anno_media, reddito_anno_riferimento)"),
    "c_terzo": ("number", "percentuale_calo * 3 / 7"),
    "c_decine": ("money", "arrotonda(-media_redditi * 0.333, -1)"),
    "c_arrotonda": ("money", "arrotonda(media_redditi / 3, 2)"),
    "c_mese": ("integer", "mese(data_domanda)"),
    "c_data": ("date", "data(anno_domanda, mese(data_domanda), 31)"),
    "c_giorni": ("date", "aggiungi_giorni(data_domanda, 45)"),
    "c_mesi": ("date", "aggiungi_mesi(data_apertura_partita_iva, 13)"),
    "c_fine": ("date", "fine_mese(data_domanda)"),
    "c_fine_dopo": ("date", "fine_mese_successivo(data_apertura_partita_iva)"),
    "c_inizio": ("date", "inizio_mese(data_domanda)"),
    "c_dopo": ("date", "giorno_dopo(data_apertura_partita_iva)"),
    "c_prima": ("date", "giorno_prima(data_apertura_partita_iva)"),
    "c_anni": ("integer", "anni_compiuti(data_apertura_partita_iva, data_domanda)"),
    "c_giorni_tra": ("integer", "giorni_tra(data_apertura_partita_iva, data_domanda)"),
    "c_settimane": ("integer", "settimane(data_apertura_partita_iva, data_domanda)"),
    "c_settimane_vuote": ("integer", "settimane(data_domanda, data_apertura_partita_iva)"),
    "c_conta": ("integer", "conta(p in prestazioni_iscro_precedenti: mese(p.data_inizio) > 6)"),
    "c_somma": ("integer", "somma(p in prestazioni_iscro_precedenti: giorni_tra(p.data_inizio, data_domanda))"),
    "c_tutti": ("boolean", "tutti(p in prestazioni_iscro_precedenti: p.data_inizio < data_domanda)"),
    "c_qualcuno": ("boolean", "qualcuno(p in prestazioni_iscro_precedenti: p.data_inizio >= scadenza_domanda)"),
    "c_se": ("money", "se(regolarita_contributiva, media_redditi, 0)"),
    "c_se_uguali": ("integer", "se(regolarita_contributiva, 1, 1)"),
    "c_definito": ("boolean", "definito(titolare_assegno_ordinario_invalidita)"),
}
REQUIREMENTS = {
    "requisito.prova_se": "se(regolarita_contributiva, reddito_anno_riferimento, soglia_reddito) <= soglia_reddito",
    "requisito.prova_o": "(percettore_naspi and reddito_dichiarato_riferimento > 0) or mese(data_domanda) > 6",
}


def variant(every_case: bool) -> LawVersion:
    text = Path(library().get("iscro", "2024").path).read_text("utf-8")
    computations = "".join(f"  {name}:\n    type: {ftype}\n    label: {name}\n    formula: \"{formula}\"\n"
                           "    sources: [l213_c148]\n"
                      for name, (ftype, formula) in EXTRA.items())
    text = text.replace("computations:\n", "computations:\n" + computations, 1)
    requirements = "".join(f"  - id: {rid}\n    title: {rid}\n    condition: \"{condition}\"\n"
                           "    sources: [l213_c144_c]\n" for rid, condition in REQUIREMENTS.items())
    text = text.replace("requirements:\n", "requirements:\n" + requirements, 1)
    text = re.sub(r"outputs: \[", "outputs: [" + ", ".join(EXTRA) + ", ", text, count=1)
    if every_case:
        text = text.replace("  computations_for: admitted\n", "")
    return load_ruleset_text(text, "varianti.yaml")


def test_the_variant_calls_every_function() -> None:
    used = {name for name in FUNCTIONS if any(f"{name}(" in formula for _, formula in EXTRA.values())}
    used |= {name for name in FUNCTIONS if any(f"{name}(" in node.text for node in
                                               library().get("iscro", "2024").nodes())}
    assert used == set(FUNCTIONS)


@pytest.mark.parametrize("every_case", [False, True], ids=["admitted", "every_case"])
def test_every_function_as_the_rete_kernel(every_case: bool, walk: str) -> None:
    law = variant(every_case)
    rows = list(case_facts("iscro"))

    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(row_strategy(law), min_size=1, max_size=60))
    def check_rows(extra: list[dict]) -> None:
        facts = facts_table(law, rows + extra)
        rete = evaluate_table(law, facts, engine="rete")
        found = differences(rete, evaluate_table(law, facts, engine="columnar"))
        assert not found, "\n".join(found[:20])

    check_rows()


def test_a_row_whose_date_does_not_exist_is_reported_on_that_row_only(walk: str) -> None:
    law = variant(every_case=True)
    rows = [{**case_facts("iscro")[0], "data_domanda": day} for day in ("2024-09-10", "2024-10-10")]
    results = evaluate_table(law, facts_table(law, rows)).to_pylist()
    assert results[0]["errore"] is not None  # 31 September
    assert results[0]["decisione"] is None
    assert results[1]["errore"] is None
    assert results[1]["c_data"].isoformat() == "2024-10-31"


@pytest.mark.parametrize(("ftype", "formula", "construct"), [
    ("number", "reddito_anno_riferimento / media_redditi", "a division by a value that varies from row to row"),
    ("money", "arrotonda(media_redditi, anni_partita_iva)", "arrotonda to a number of places not written in the rule"),
])
def test_what_cannot_be_vectorized_is_refused_when_compiling(ftype: str, formula: str, construct: str) -> None:
    text = Path(library().get("iscro", "2024").path).read_text("utf-8")
    text = text.replace("derived:\n", f"derived:\n  strano:\n    type: {ftype}\n    label: strano\n"
                                      f"    formula: \"{formula}\"\n    sources: [l213_c148]\n", 1)
    law = load_ruleset_text(text, "strano.yaml")
    with language("en"), pytest.raises(ColumnarError, match=re.escape(construct)) as raised:
        check(law)
    assert raised.value.rule == "strano"
    assert "derived 'strano'" in str(raised.value)


def test_the_bundled_law_versions_compile() -> None:
    for family in library().families():
        for law in library().versions(family):
            check(law)
    assert load_ruleset  # the public loader gives the same LawVersion the backends take


def test_a_year_key_of_the_day_that_fails_sends_its_rows_to_the_rete_kernel(walk: str) -> None:
    """A key of indexing by year that reads the selecting date alone is worked out once a day (per-day walk): a
    day where it fails (a date that does not exist) still reports the failure on that day's rows, as on every
    row. Ten rows a day: the per-day walk of large tables, without the fixture too."""
    text = Path(library().get("iscro", "2024").path).read_text("utf-8")
    formula = "formula: reddito_lavoro_autonomo[anno_riferimento]\n"
    assert formula in text
    text = text.replace(formula, 'formula: "reddito_lavoro_autonomo[anno(data(anno_domanda, mese(data_domanda), 31))'
                                 ' - 1]"\n', 1)
    law = load_ruleset_text(text, "chiave.yaml")
    rows = [{**case_facts("iscro")[0], "data_domanda": day} for day in ("2024-09-10", "2024-10-10") for _ in range(10)]
    facts = facts_table(law, rows)
    columnar = evaluate_table(law, facts)
    found = differences(evaluate_table(law, facts, engine="rete"), columnar)
    assert not found, "\n".join(found[:20])
    assert [row["errore"] is not None for row in columnar.to_pylist()] == [True] * 10 + [False] * 10  # 31 September
