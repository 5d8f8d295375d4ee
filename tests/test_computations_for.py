"""``decision.computations_for: admitted``: the computations (amount, period, tax treatment) are worked out
for an admitted case only. ISCRO declares it; CIG Covid keeps the default, ``every_case``, because its
explanation of a refused application shows the weeks it computes.

What must hold: an admitted case's computations are the Python evaluator's; a refused or undetermined case
reports every computation as not computed (``NotComputed``, an ``Unknown`` with no missing fact, ``null`` in
JSON), and none of their rules fires, since the facts of their levels are asserted only once the ``ammesso``
rule has fired. Computations reading computations, boolean ones and a decision on a level of its own keep
agreeing with the Python evaluator."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, RecordingDurable, case, cli, reference_values, run
from population import application

from engine import LawVersion, Library, explain
from engine._compile import load_ruleset_text
from engine._facts import selecting_date
from engine._run import prepare, run_case
from engine._values import NOT_COMPUTED, NotComputed, Unknown
from engine.backends._kernel import Kernel

ROOT = Path(__file__).resolve().parent.parent
ISCRO_2024 = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
MARK = "  computations_for: admitted\n"


def test_iscro_declares_it_and_cig_covid_does_not(library: Library) -> None:
    assert all(law.computations_for == "admitted" for law in library.versions("iscro"))
    assert not any(law.computations_for == "admitted" for law in library.versions("cig-covid"))
    assert MARK in ISCRO_2024


@pytest.mark.parametrize("version", ["2021", "2024"])
def test_only_an_admitted_case_has_its_computations(library: Library, version: str) -> None:
    law = library.get("iscro", version)
    first = int(version)
    rng = random.Random(31)
    seen: dict[str, int] = {}
    for _ in range(600):
        facts = application(rng, first_year=first, last_year=first + 2, missing_rate=0.05)
        result = run_case(law, facts, selecting_date(facts, "data_domanda"))
        expected = reference_values(law, facts)
        seen[result.decision] = seen.get(result.decision, 0) + 1
        for name in law.computations:
            value = result.value(name)
            if result.admitted:
                assert value == expected[name], name
                assert not isinstance(value, NotComputed)
            else:
                assert value is NOT_COMPUTED, name
                assert expected[name] is NOT_COMPUTED
        for name in law.derived:  # the decision's own values are there whatever the decision
            assert _same(result.value(name), expected[name]), name
    assert set(seen) == {"ammesso", "respinto", "indeterminato"}, seen


def _same(value: Any, expected: Any) -> bool:
    """The same value, or both unknown (the missing facts are checked where they are reported)."""
    if isinstance(expected, Unknown):
        return isinstance(value, Unknown) and not isinstance(value, NotComputed)
    return bool(value == expected)


def test_derived_values_after_the_decision_and_names_like_the_kernels_are_there_for_every_case() -> None:
    """Only computations wait for an admitted case: a derived value whose chain runs past the decision's
    level is worked out for every case, and ruleset names shaped like the kernel's own (``ammesso_``,
    ``rq0_``, ``sy0_``), read in the network by a computation, take nothing from an admitted case's
    computations."""
    derived = """  posizione_regolare:
    type: boolean
    label: la posizione è regolare
    formula: iscritto_gestione_separata and not titolare_pensione_diretta
    sources: [l213_c144_a]
  reddito_se_regolare:
    type: money
    label: il reddito di una posizione regolare
    formula: "se(posizione_regolare, reddito_anno_riferimento, 0)"
    sources: [l213_c144_a]
  reddito_alto:
    type: boolean
    label: il reddito supera 100 euro
    formula: reddito_se_regolare > 100
    sources: [l213_c144_a]
""" + "".join(f"""  {name}:
    type: boolean
    label: un nome come quelli del motore
    formula: not iscritto_gestione_separata
    sources: [l213_c144_a]
""" for name in ("ammesso_", "rq0_", "sy0_"))
    reading = """  controllo:
    type: boolean
    label: un controllo che legge quei nomi nella rete
    formula: ammesso_ or rq0_ or sy0_
    sources: [l213_c148]
"""
    text = ISCRO_2024.replace("derived:\n", "derived:\n" + derived, 1)
    law = load_ruleset_text(text.replace("computations:\n", "computations:\n" + reading, 1), "deep.yaml")
    kernel = Kernel(law)
    assert kernel.admitted_level is not None
    assert max(level for rule, level in kernel._rule_levels.items()
               if getattr(kernel._makers[rule], "func", None) is not None
               and kernel._makers[rule].args[0] == "reddito_alto") < kernel.admitted_level
    rng = random.Random(34)
    decisions = set()
    for _ in range(300):
        facts = application(rng, first_year=2024, last_year=2026, missing_rate=0.05)
        result = run_case(law, facts, selecting_date(facts, "data_domanda"))
        expected = reference_values(law, facts)
        decisions.add(result.decision)
        for name in law.derived:
            assert _same(result.value(name), expected[name]), name
        for name in law.computations:
            assert _same(result.value(name), expected[name]) if result.admitted else result.value(name) is NOT_COMPUTED
    assert decisions == {"ammesso", "respinto", "indeterminato"}


def test_a_refused_case_reports_its_computations_as_not_computed() -> None:
    refused = run(case(BASE_2024, titolare_pensione_diretta=True))
    assert refused.decision == "respinto"
    data = json.loads(refused.to_json())
    assert data["outputs"] is None
    assert data["values"]["importo_calcolato"]["value"] is None
    assert data["values"]["importo_calcolato"]["computed"] is False  # not merely unknown
    assert "computed" not in data["values"]["media_redditi"]
    assert data["values"]["media_redditi"]["value"] == "5500.00"  # a derived value: computed all the same
    record = refused.values["importo_mensile"]
    assert isinstance(record.value, Unknown)
    assert record.value.missing == frozenset()
    assert refused.missing_facts == ()
    text = explain(refused)
    assert "RESPINTA" in text
    assert "Calcolo dell'importo" not in text
    undetermined = run(case(BASE_2024, regolarita_contributiva=None))
    assert undetermined.decision == "indeterminato"
    assert undetermined.missing_facts == ("regolarita_contributiva",)  # not the computations' inputs
    assert undetermined.value("importo_mensile") is NOT_COMPUTED
    admitted = run(BASE_2024)
    assert str(admitted.outputs["importo_mensile"]) == "687.50"


def test_the_rules_of_the_computations_fire_for_an_admitted_case_only(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.backends._kernel as kernel_module

    law = library.get("iscro", "2024")
    kernel = Kernel(law)
    assert kernel.admitted_level is not None
    waiting = {rule for rule, level in kernel._rule_levels.items() if level >= kernel.admitted_level}
    assert len(waiting) == 7  # five computations, and the boolean one's two rules
    recording = RecordingDurable(kernel_module._durable)
    monkeypatch.setattr(kernel_module, "_durable", recording)
    rng = random.Random(32)
    decisions = set()
    for _ in range(300):
        facts = application(rng, first_year=2024, last_year=2026, missing_rate=0.05)
        values, _ = prepare(law, facts, selecting_date(facts, "data_domanda"))
        recording.asserted.clear()
        recording.fired.clear()
        outcome = kernel.run(values)
        decisions.add(outcome.decision)
        levels = [fact["l"] for fact in recording.asserted]
        if outcome.decision == "ammesso":
            assert levels == list(range(kernel.levels))
            assert len(waiting & set(recording.fired)) == 6  # one of imponibile_fiscale's two rules
        else:
            assert levels == list(range(kernel.admitted_level))
            assert not waiting & set(recording.fired)
            assert not set(law.computations) & values.keys()
    assert decisions == {"ammesso", "respinto", "indeterminato"}


def _variant(text: str, *, extra_requirements: int = 0) -> LawVersion:
    """ISCRO 2024 with two more computations (a boolean one comparing two computations, and one reading it),
    and optionally requirements enough to push the decision to a level of its own."""
    extra = """  al_massimo:
    type: boolean
    label: l'importo è al massimo
    formula: importo_mensile >= importo_massimo
    sources: [l213_c148]
  margine:
    type: money
    label: il margine sotto il massimo
    formula: "se(al_massimo, 0, importo_massimo - importo_mensile)"
    sources: [l213_c148]
"""
    text = text.replace("computations:\n", "computations:\n" + extra, 1)
    requirements = "".join(f"""  - id: requisito.extra_{i}
    title: Soglia aggiuntiva {i}
    condition: reddito_anno_riferimento {"<>"[i % 2]}= reddito_anno_riferimento
    sources: [l213_c144_c]
""" for i in range(extra_requirements))
    return load_ruleset_text(text.replace("requirements:\n", "requirements:\n" + requirements, 1), "variant.yaml")


@pytest.mark.parametrize("extra_requirements", [0, 12])
def test_computations_beyond_the_first_waiting_level_agree_with_the_python_evaluator(extra_requirements: int) -> None:
    law = _variant(ISCRO_2024, extra_requirements=extra_requirements)
    kernel = Kernel(law)
    assert kernel.decision_apart == bool(extra_requirements)
    # the amounts, then al_massimo (it compares two of them in the network), then margine (it reads al_massimo)
    assert kernel.admitted_level is not None
    assert kernel.levels == kernel.admitted_level + 3
    rng = random.Random(33)
    admitted = 0
    for _ in range(300):
        facts = application(rng, first_year=2024, last_year=2026, missing_rate=0.05)
        values, _ = prepare(law, facts, selecting_date(facts, "data_domanda"))
        outcome = kernel.run(values)
        expected = reference_values(law, facts)
        assert outcome.requirements == {r.name: None if isinstance(expected[r.name], Unknown) else expected[r.name]
                                        for r in law.requirements}
        if outcome.decision == "ammesso":
            admitted += 1
            assert {name: values[name] for name in law.computations} == {
                name: expected[name] for name in law.computations}
    assert admitted > 10


def test_every_case_is_the_default() -> None:
    refused = case(BASE_2024, titolare_pensione_diretta=True)
    for text in (ISCRO_2024.replace(MARK, ""), ISCRO_2024.replace(MARK, "  computations_for: every_case\n")):
        law = load_ruleset_text(text, "every.yaml")
        assert law.computations_for == "every_case"
        result = run_case(law, refused, selecting_date(refused, "data_domanda"))
        assert result.decision == "respinto"
        assert str(result.outputs["importo_mensile"]) == "687.50"


def test_the_documentation_and_the_diff_say_which_cases_get_computations(tmp_path: Path) -> None:
    code, out, err = cli("docs", "--out", str(tmp_path / "site"))
    assert (code, err) == (0, "")
    iscro = (tmp_path / "site" / "iscro" / "2024.md").read_text("utf-8")
    cig = (tmp_path / "site" / "cig-covid" / "2021-l178.md").read_text("utf-8")
    assert "Questi valori sono calcolati solo per una domanda ammessa" in iscro
    assert "Questi valori sono calcolati per ogni domanda, qualunque sia l'esito." in cig
    before = tmp_path / "2024.yaml"
    before.write_text(ISCRO_2024.replace(MARK, ""), "utf-8")
    code, out, err = cli("diff", str(before), str(ROOT / "rulesets" / "iscro" / "2024.yaml"))
    assert "      - computations_for: every_case\n      + computations_for: admitted" in out
