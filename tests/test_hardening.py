"""Hostile input: templates cannot reach Python internals, expressions cannot name them, a kernel failure
is isolated to the evaluation that hit it, and every result can be replayed from what it records."""

from __future__ import annotations

import copy
import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, case, run

import engine.backends._kernel as kernel_module
from engine import Explainer, FactsError, KernelError, Library, RulesetError, TemplateError, evaluate
from engine._compile import load_ruleset_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__ }}",
    "{{ r.__class__.__init__.__globals__ }}",
    "{{ result.__dict__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{% set x = [].append(1) %}",
    "{{ v.__class__.__subclasses__() }}",
])
def test_template_payloads_are_refused_not_run(tmp_path: Path, payload: str) -> None:
    folder = tmp_path / "it" / "iscro"
    folder.mkdir(parents=True)
    for template in (ROOT / "explanations" / "it" / "iscro").glob("*.j2"):
        (folder / template.name).write_text(template.read_text("utf-8"), "utf-8")
    (folder / "requisito.gestione_separata.j2").write_text(payload, "utf-8")
    with pytest.raises(TemplateError) as error:
        Explainer(tmp_path / "it").explain(run(BASE_2024))
    assert error.value.problems[0].code == "T003"


@pytest.mark.parametrize(("formula", "code"), [
    ("data_domanda.__class__", "X001"),      # names cannot start with an underscore
    ("__import__(\"os\")", "X001"),
    ("eval(\"1\")", "X003"),                 # only whitelisted functions exist
    ("data_domanda.year", "X002"),           # attributes only on list elements
    ("open(\"/etc/passwd\")", "X003"),
])
def test_expressions_cannot_reach_python(formula: str, code: str) -> None:
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    text = text.replace("formula: anno(data_domanda)", f"formula: '{formula}'", 1)
    with pytest.raises(RulesetError) as error:
        load_ruleset_text(text, "hostile.yaml")
    assert error.value.problems[0].code == code


def test_a_kernel_failure_is_isolated_to_one_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    library = Library()
    law = library.get("iscro", "2024")
    healthy = evaluate(BASE_2024, family="iscro", library=library).to_json()
    real_assert = kernel_module._durable.assert_fact
    calls = {"n": 0}

    def failing_once(handle: object, text: str) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise kernel_module._durable.error("injected failure")
        return real_assert(handle, text)

    monkeypatch.setattr(kernel_module._durable, "assert_fact", failing_once)
    with pytest.raises(KernelError, match="injected failure"):
        evaluate(BASE_2024, family="iscro", library=library)
    # the network was rebuilt: the next evaluations are exact, and nothing was left behind
    assert evaluate(BASE_2024, family="iscro", library=library).to_json() == healthy
    refused = evaluate(case(BASE_2024, titolare_pensione_diretta=True), family="iscro", library=library)
    assert refused.decision == "respinto"
    assert law._kernel is not None


def test_an_unexpected_error_in_an_action_leaves_a_clean_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error that is not the kernel's own (a bug in an action, an interrupt) is raised as it is; the
    network is rebuilt all the same, so the half-run evaluation leaves nothing behind."""
    library = Library()
    law = library.get("iscro", "2024")
    healthy = evaluate(BASE_2024, family="iscro", library=library).to_json()
    kernel = law._kernel
    assert kernel is not None
    name, action = next(iter(kernel._actions.items()))

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in an action")

    monkeypatch.setitem(kernel._actions, name, broken)
    with pytest.raises(RuntimeError, match="a bug in an action"):
        evaluate(BASE_2024, family="iscro", library=library)
    monkeypatch.setitem(kernel._actions, name, action)
    assert evaluate(BASE_2024, family="iscro", library=library).to_json() == healthy


def test_result_records_everything_needed_to_replay_it() -> None:
    result = run(BASE_2024).to_dict()
    provenance = result["provenance"]
    assert len(provenance["ruleset_sha256"]) == 64
    assert provenance["engine_version"]
    assert provenance["selecting_date"] == "2024-09-10"
    ceiling = result["parameters"]["soglia_reddito"]
    assert ceiling == {"name": "soglia_reddito", "value": "12000.00", "valid_from": "2024-01-01",
                       "valid_to": "2024-12-31", "sources": ["L. 213/2023, art. 1, c. 144, lett. d)"],
                       "unconfirmed": None}
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(("formula", "message"), [
    ("anno(data_domanda)" + "+0" * 600, "nested too deeply"),  # 600 chained operators, under 2,000 characters
    ("-" * 700 + "1", "nested too deeply"),
])
def test_very_deep_expressions_are_ruleset_errors_not_crashes(formula: str, message: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGOLE_LANG", "en")  # reads the English wording (the module-scoped fixture would leak)
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    text = text.replace("formula: anno(data_domanda)", f"formula: '{formula}'", 1)
    with pytest.raises(RulesetError, match=message) as error:
        load_ruleset_text(text, "deep.yaml")
    assert error.value.problems[0].code == "X001"


def test_yaml_nested_hundreds_of_levels_is_a_ruleset_error() -> None:
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8") + "\nx: " + "[" * 400 + "]" * 400 + "\n"
    with pytest.raises(RulesetError) as error:
        load_ruleset_text(text, "deep.yaml")
    assert error.value.problems[0].code == "Y006"


def test_trace_records_are_read_only_views_of_the_case() -> None:
    """A requirement's values, the facts and the outputs are read-only: they show exactly their names."""
    result = run(BASE_2024)
    record = result.requirement("requisito.calo_reddito")
    assert dict(record.values) == {name: result.value(name) for name in record.values}
    assert "titolare_pensione_diretta" not in record.values
    with pytest.raises(KeyError):
        record.values["titolare_pensione_diretta"]
    with pytest.raises(TypeError):
        result.facts["data_domanda"] = "2020-01-01"  # type: ignore[index]
    assert list(result.outputs) == ["importo_mensile", "importo_totale", "data_inizio", "data_fine",
                                    "imponibile_fiscale"]
    assert record.values == dict(record.values)


@pytest.mark.parametrize(("facts", "decision"), [
    (BASE_2024, "ammesso"), (case(BASE_2024, titolare_pensione_diretta=True), "respinto"),
    (case(BASE_2024, reddito_lavoro_autonomo={"2021": "9000.00"}), "indeterminato")])
def test_records_made_on_first_reading_are_the_records_of_an_eager_trace(facts: dict[str, Any],
                                                                         decision: str) -> None:
    """A result's requirement and value records are made when first read. Read, copied, pickled or compared
    before or after that, and from several threads at once, they are the same records."""
    first, second = run(facts), run(facts)
    assert "_records" in first.__dict__  # not made yet
    assert first == second  # comparing reads them
    assert "_records" not in first.__dict__
    assert "requirements" in first.__dict__
    third = run(facts)
    assert pickle.loads(pickle.dumps(third)) == first  # noqa: S301  # its own bytes; pickled with its records
    assert copy.deepcopy(run(facts)).to_json() == first.to_json()
    fourth = run(facts)
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: (fourth.requirements, fourth.values), range(8)))
    assert all(requirements is seen[0][0] and values is seen[0][1] for requirements, values in seen)
    assert seen[0] == (first.requirements, first.values)
    assert first.decision == decision
    assert bool(first.failed) == (decision == "respinto")
    assert bool(first.missing_facts) == (decision == "indeterminato")
    with pytest.raises(AttributeError, match="no attribute 'requisiti'"):
        first.requisiti  # noqa: B018
    # A thread whose lookup failed before another made the records finds the other's records.
    fifth = run(facts)
    made = fifth.values
    assert fifth.__getattr__("requirements") is fifth.requirements
    assert fifth.__getattr__("values") is made


def test_records_agree_with_the_python_evaluator() -> None:
    """The records made on first reading hold what an independent evaluation gives: each requirement's
    outcome and the values it shows, no missing facts for a decided requirement even when one of its
    inputs is missing, and every derived value."""
    from conftest import reference_values

    from engine import Library

    facts = case(BASE_2024, percettore_naspi=True, percettore_dis_coll=None)  # refused whatever DIS-COLL is
    result = run(facts)
    law = Library().get("iscro", "2024")
    expected = reference_values(law, facts)
    names = {True: "soddisfatto", False: "non_soddisfatto"}
    for record in result.requirements:
        assert record.outcome == names[expected[record.id]]
        assert record.missing == ()
        assert dict(record.values) == {name: expected[name] for name in record.values}
    assert {name: record.value for name, record in result.values.items()} == {
        name: expected[name] for name in result.values}
    assert result.requirement("requisito.incompatibilita").outcome == "non_soddisfatto"
    assert "percettore_dis_coll" in result.requirement("requisito.incompatibilita").values


def test_python_facts_with_nan_or_infinity_name_every_place() -> None:
    """Facts given as Python objects: each NaN or infinity is reported at its JSON path, and nothing else."""
    facts = case(BASE_2024, reddito_lavoro_autonomo={"2023": float("nan"), "2022": 5000.5},
                 prestazioni_iscro_precedenti=[{"data_inizio": "2022-01-01", "extra": [1.0, float("-inf")]}])
    with pytest.raises(FactsError) as error:
        evaluate(facts, family="iscro")
    assert [(p.code, p.path) for p in error.value.problems] == [
        ("F002", "$.reddito_lavoro_autonomo.2023"), ("F002", "$.prestazioni_iscro_precedenti[0].extra[1]")]
