"""The durable-rules kernel: it agrees with a plain Python evaluation of the same IR (Kleene logic,
Decimal arithmetic), survives a stress run with flat memory, gives the sequential results from several
threads, and its way of using durable-rules does not hit the delete_state crash."""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import RecordingDurable, reference_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from population import application

from engine import LawVersion, Library, evaluate
from engine._facts import selecting_date
from engine._run import prepare, run_case
from engine._values import Unknown


def reference_outcomes(law: LawVersion, facts: dict[str, Any]) -> dict[str, Any]:
    values = reference_values(law, facts)
    return {node.name: None if isinstance(values[node.name], Unknown) else values[node.name]
            for node in law.requirements}


def kleene_decision(outcomes: dict[str, Any]) -> str:
    """Refused if some requirement is false, else undetermined if some is unknown, else admitted."""
    verdicts = set(outcomes.values())
    return "respinto" if False in verdicts else ("indeterminato" if None in verdicts else "ammesso")


ROOT = Path(__file__).resolve().parent.parent


def random_cases(seed: int, count: int, missing_rate: float, *, with_invalidity: bool = False) -> list[dict[str, Any]]:
    """Synthetic ISCRO 2024-2026 applications; ``with_invalidity`` gives half of them the optional fact the
    generator never gives (the assegno ordinario di invalidità)."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        facts = application(rng, first_year=2024, last_year=2026, missing_rate=missing_rate)
        if with_invalidity and rng.random() < 0.5:
            facts["titolare_assegno_ordinario_invalidita"] = rng.random() < 0.5
        cases.append(facts)
    return cases


def agree_with_the_python_evaluator(kernel: Any, law: LawVersion, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run each case on ``kernel``: every requirement's outcome and the decision are the Python evaluator's.
    Gives the evaluator's outcomes, case by case."""
    outcomes = []
    for facts in cases:
        values, _ = prepare(law, facts, selecting_date(facts, "data_domanda"))
        outcome = kernel.run(values)
        expected = reference_outcomes(law, facts)
        assert outcome.requirements == expected
        assert outcome.decision == kleene_decision(expected)
        outcomes.append(expected)
    return outcomes


NAMES = {True: "soddisfatto", False: "non_soddisfatto", None: "indeterminato"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), missing=st.sampled_from([0.0, 0.1, 0.4]))
def test_native_network_agrees_with_the_python_evaluator(library: Library, seed: int, missing: float) -> None:
    facts = application(random.Random(seed), missing_rate=missing)
    result = evaluate(facts, family="iscro", library=library)
    law = library.get("iscro", result.version)
    expected = reference_outcomes(law, facts)
    assert {r.id: r.outcome for r in result.requirements} == {k: NAMES[v] for k, v in expected.items()}
    assert result.decision == kleene_decision(expected)


def _rss_kib() -> int:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() // 1024


@pytest.mark.slow
def test_stress_100k_random_applications_memory_flat(laws: dict[str, LawVersion]) -> None:
    """100,000 evaluations in one process (the benchmark runs a million): no crash, memory flat."""
    rng = random.Random(20241)
    cases = [application(rng, first_year=2024, last_year=2026, missing_rate=0.05) for _ in range(2000)]
    law = laws["2024"]
    days = [selecting_date(c, "data_domanda") for c in cases]
    decisions: dict[str, int] = {}
    for i in range(10_000):  # warm up caches and allocator
        run_case(law, cases[i % 2000], days[i % 2000])
    before = _rss_kib()
    for i in range(100_000):
        result = run_case(law, cases[i % 2000], days[i % 2000])
        decisions[result.decision] = decisions.get(result.decision, 0) + 1
    growth = _rss_kib() - before
    assert set(decisions) == {"ammesso", "respinto", "indeterminato"}
    assert growth < 8 * 1024, f"resident memory grew by {growth} KiB over 100,000 evaluations"


def test_threads_give_the_sequential_results(library: Library) -> None:
    rng = random.Random(7)
    cases = [application(rng) for _ in range(400)]
    sequential = [evaluate(c, family="iscro", library=library).to_json() for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda c: evaluate(c, family="iscro", library=library).to_json(), cases))
    assert parallel == sequential


def test_adapter_path_survives_a_dirtied_heap(tmp_path: Any) -> None:
    """The DESIGN.md repro crashes in delete_state after dirtying the heap; the adapter never calls it.
    Run the adapter's own path, on a dirtied heap, on cases that match no rule and that every rule refuses."""
    script = textwrap.dedent("""
        junk = [bytearray(b"\\xab") * 1000 for _ in range(100)]
        del junk
        from engine import evaluate
        cases = [
            {"data_domanda": "2024-09-10"},
            {"data_domanda": "2024-09-10", "iscritto_gestione_separata": False, "titolare_pensione_diretta": True,
             "assicurato_altra_forma_obbligatoria": True, "percettore_assegno_inclusione": True,
             "percettore_naspi": True, "regolarita_contributiva": False,
             "data_apertura_partita_iva": "2024-01-01",
             "reddito_lavoro_autonomo": {"2021": "1.00", "2022": "1.00", "2023": "99999.00"},
             "reddito_dichiarato": {"2023": "99999.00"},
             "prestazioni_iscro_precedenti": [{"data_inizio": "2024-01-01"}]},
        ]
        for i in range(2000):
            junk = [bytearray(b"\\xcd") * (i % 97 + 1) for _ in range(20)]
            del junk
            assert evaluate(cases[i % 2], family="iscro").decision in ("indeterminato", "respinto")
        print("survived")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "survived"


def test_same_facts_give_byte_identical_json(library: Library) -> None:
    facts = application(random.Random(3))
    first = evaluate(facts, family="iscro", library=library).to_json()
    assert all(evaluate(facts, family="iscro", library=Library()).to_json() == first for _ in range(3))


def test_parameters_worked_out_once_per_day_match_a_fresh_computation(library: Library) -> None:
    """The kernel caches the parameters' JSON per selecting date and the trace plan their records: cases of
    many days, run in turn, decide as they do with nothing cached, and results own their parameter maps."""
    from engine.backends._kernel import Kernel

    rng = random.Random(11)
    cases = [application(rng, first_year=2024, last_year=2026) for _ in range(300)]
    law = library.get("iscro", "2024")
    fresh = Kernel(law)
    for facts in cases:
        day = selecting_date(facts, "data_domanda")
        result = run_case(law, facts, day)
        values, _ = prepare(law, facts, day)
        uncached = fresh.run(values)
        assert result.decision == uncached.decision
        assert {r.id: r.outcome for r in result.requirements} == {k: NAMES[v] for k, v in uncached.requirements.items()}
    first, second = (run_case(law, cases[0], selecting_date(cases[0], "data_domanda")) for _ in range(2))
    first.parameters.clear()
    assert second.parameters
    assert run_case(law, cases[0], selecting_date(cases[0], "data_domanda")).parameters


def test_a_decision_rule_too_long_for_durable_rules_gets_a_level_of_its_own(library: Library) -> None:
    """The decision reads the conditions of the requirements decided last; with many of them comparing two
    values the rule passes durable-rules' limit of 32 expressions, and the kernel falls back to reading
    every outcome one level later. Decisions agree with the Python evaluator either way."""
    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    extra = "".join(f"""  - id: requisito.extra_{i}
    title: Soglia aggiuntiva {i}
    condition: reddito_anno_riferimento {"<>"[i % 2]} soglia_calo
    sources: [l213_c144_c]
""" for i in range(12))
    text = text.replace("requirements:\n", "requirements:\n" + extra, 1)
    long_law = load_ruleset_text(text, "many.yaml")
    kernel = Kernel(long_law)
    assert kernel.decision_apart
    assert not Kernel(library.get("iscro", "2024")).decision_apart
    agree_with_the_python_evaluator(kernel, long_law, random_cases(8, 200, 0.1))


def test_a_value_whose_rule_fires_before_what_it_reads_computes_its_chain(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """durable-rules fires the rules of a level in the order they were declared, which the kernel makes the
    order of dependencies; declared the other way round, each value's action computes what it reads first,
    and decisions still agree with the Python evaluator."""
    import engine.backends._kernel as kernel_module
    from engine.backends._kernel import Kernel

    topological = kernel_module.topological
    monkeypatch.setattr(kernel_module, "topological", lambda nodes: list(reversed(topological(nodes))))
    law = library.get("iscro", "2024")
    reversed_kernel = Kernel(law)
    chains = [0]
    step = kernel_module._compute_step

    def counting(*args: Any) -> None:
        chains[0] += 1
        step(*args)

    monkeypatch.setattr(kernel_module, "_compute_step", counting)
    rng = random.Random(9)
    for _ in range(200):
        facts = application(rng, first_year=2024, last_year=2026, missing_rate=0.1)
        values, _ = prepare(law, facts, selecting_date(facts, "data_domanda"))
        assert reversed_kernel.run(values).requirements == reference_outcomes(law, facts)
    assert chains[0] > 0  # the on-demand path did run


def test_definito_is_decided_natively_and_agrees_with_the_python_evaluator(library: Library) -> None:
    """``definito(x)`` is a native test of the attribute's presence (``$ex`` / ``$nex``): a value is in a
    level's fact exactly when it is known. An optional fact given or not, and a parameter with or without a
    value for the year (the 2026 window opening has none), agree with the Python evaluator, negated or not,
    alone or inside a larger condition that can be unknown."""
    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    conditions = ["definito(titolare_assegno_ordinario_invalidita)", "not definito(apertura_finestra)",
                  "definito(apertura_finestra) and reddito_anno_riferimento < soglia_calo",
                  "not (definito(titolare_assegno_ordinario_invalidita) or titolare_pensione_diretta)"]
    extra = "".join(f"""  - id: requisito.definito_{i}
    title: Presenza {i}
    condition: "{condition}"
    sources: [l213_c144_c]
""" for i, condition in enumerate(conditions))
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    law = load_ruleset_text(text.replace("requirements:\n", "requirements:\n" + extra, 1), "definito.yaml")
    kernel = Kernel(law)
    assert not [s for s in kernel._synthetic.values() if "definito" in repr(s.expr)]  # none computed in Python
    seen: set[tuple[str, bool | None]] = set()
    for expected in agree_with_the_python_evaluator(kernel, law, random_cases(10, 400, 0.3, with_invalidity=True)):
        seen |= {(name, verdict) for name, verdict in expected.items() if "definito" in name}
    # every requirement both ways, and the last two also unknown (a missing income, a missing pension fact)
    assert len(seen) == 2 * len(conditions) + 2


_ATOMS = ["iscritto_gestione_separata", "titolare_pensione_diretta", "percettore_naspi",
          "definito(apertura_finestra)", "definito(titolare_assegno_ordinario_invalidita)",
          # parts durable-rules cannot test: alone, or under "not", a requirement is then decided in Python
          "nessuno(p in prestazioni_iscro_precedenti: anno(p.data_inizio) >= anno_domanda - 1)",
          "reddito_lavoro_autonomo[anno_riferimento - 1] < 5000.50"]
_COMPARED = [("reddito_anno_riferimento", "soglia_calo"), ("reddito_anno_riferimento", "5000.50"),
             ("5000.50", "reddito_dichiarato_riferimento"), ("anni_partita_iva_compiuti", "3"),
             ("anni_partita_iva_compiuti", "anni_partita_iva"), ("data_domanda", "scadenza_domanda"),
             ("data_domanda", "apertura_finestra")]
_EQUALS = [("titolare_assegno_ordinario_invalidita", "true"), ("false", "percettore_naspi"),
           ("titolare_pensione_diretta", "percettore_naspi")]


def _conditions() -> st.SearchStrategy[str]:
    comparison = st.builds(lambda pair, op: f"{pair[0]} {op} {pair[1]}", st.sampled_from(_COMPARED),
                           st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    equality = st.builds(lambda pair, op: f"{pair[0]} {op} {pair[1]}", st.sampled_from(_EQUALS),
                         st.sampled_from(["==", "!="]))
    atom = st.one_of(st.sampled_from(_ATOMS), comparison, equality)
    return st.recursive(atom, lambda inner: st.one_of(
        inner.map(lambda c: f"not ({c})"),
        st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["and", "or"]))),
        max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conditions=st.lists(_conditions(), min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_random_conditions_decided_by_the_network_agree_with_the_python_evaluator(
        conditions: list[str], seed: int) -> None:
    """Random conditions over booleans, money, integers and dates (a value against a value or a literal, on
    either side, with every operator), ``definito``, ``not``, ``and`` and ``or``, on cases with facts
    missing: each requirement's outcome from the network is the Python evaluator's, unknown included, and
    so is the decision."""
    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    extra = "".join(f"""  - id: requisito.casuale_{i}
    title: Condizione casuale {i}
    condition: "{condition}"
    sources: [l213_c144_c]
""" for i, condition in enumerate(conditions))
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    law = load_ruleset_text(text.replace("requirements:\n", "requirements:\n" + extra, 1), "casuale.yaml")
    kernel = Kernel(law)
    agree_with_the_python_evaluator(kernel, law, random_cases(seed, 30, 0.3, with_invalidity=True))


def test_a_level_whose_fact_carries_no_value_is_still_asserted(library: Library,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With every fact and parameter unknown, the first level's fact has its level and nothing else, and
    every fact asserted is well-formed JSON."""
    import engine.backends._kernel as kernel_module
    from engine.backends._kernel import Kernel

    law = library.get("iscro", "2024")
    kernel = Kernel(law)
    recording = RecordingDurable(kernel_module._durable)
    monkeypatch.setattr(kernel_module, "_durable", recording)
    values: dict[str, Any] = {name: Unknown(frozenset({name})) for name in [*law.facts, *law.parameters]}
    outcome = kernel.run(values)
    assert outcome.decision == "indeterminato"
    assert set(outcome.requirements.values()) == {None}
    assert len(recording.asserted) == kernel.admitted_level  # every level before the computations, parsed
    assert set(recording.asserted[0]) == {"id", "sid", "l"}


def test_many_comparisons_on_one_value_stay_within_durable_rules_alpha_stack(library: Library) -> None:
    """durable-rules walks its alpha network with a stack of at most 64 nodes, pushing every node a fact
    matches below the current one. Each comparison's ``$ex`` guard groups the comparisons on one value
    under one node, so 100 requirements comparing two values with literals evaluate."""
    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    pairs = [("reddito_anno_riferimento", "{i}.50"), ("anni_partita_iva_compiuti", "{i}")]
    extra = "".join(f"""  - id: requisito.soglia_{i}
    title: Soglia {i}
    condition: {pairs[i % 2][0]} > {pairs[i % 2][1].format(i=i)}
    sources: [l213_c144_c]
""" for i in range(100))
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    law = load_ruleset_text(text.replace("requirements:\n", "requirements:\n" + extra, 1), "soglie.yaml")
    kernel = Kernel(law)
    rng = random.Random(11)
    for _ in range(20):
        facts = application(rng, first_year=2024, last_year=2025, missing_rate=0.0)
        values, _ = prepare(law, facts, selecting_date(facts, "data_domanda"))
        assert kernel.run(values).requirements == reference_outcomes(law, facts)


def test_a_requirement_durable_rules_cannot_test_is_one_rule_deciding_in_python(library: Library) -> None:
    """A requirement whose condition has no part durable-rules can test (a list quantifier, a call) is one
    rule whose action evaluates it, three-valued. When it is decided on the last level, the decision reads
    its outcome one level later. It, and a computed value, may read a boolean the network decides, which
    is absent when unknown. Outcomes and decisions agree with the Python evaluator, unknown included."""
    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    kernel = Kernel(library.get("iscro", "2024"))
    deciding = [rule for rule, make in kernel._makers.items()
                if getattr(make, "func", None) == kernel._decide]
    assert len(deciding) == 1  # requisito.iscro_precedente, and no synthetic value for it
    assert not kernel._synthetic
    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    derived = """  posizione_regolare:
    type: boolean
    label: la posizione è regolare
    formula: iscritto_gestione_separata and not titolare_pensione_diretta
    sources: [l213_c144_a]
"""
    derived += """  reddito_se_regolare:
    type: money
    label: il reddito di una posizione regolare
    formula: "se(posizione_regolare, reddito_anno_riferimento, 0)"
    sources: [l213_c144_a]
"""
    requirement = """  - id: requisito.calo_se_regolare
    title: Calo del reddito, per una posizione regolare
    condition: "se(posizione_regolare, reddito_anno_riferimento < soglia_calo, false)"
    sources: [l213_c144_c]
  - id: requisito.reddito_se_regolare
    title: Reddito di una posizione regolare sotto la soglia
    condition: reddito_se_regolare < soglia_calo
    sources: [l213_c144_c]
"""
    text = text.replace("derived:\n", "derived:\n" + derived, 1)
    text = text.replace("requirements:\n", "requirements:\n" + requirement, 1)
    law = load_ruleset_text(text, "python.yaml")
    kernel = Kernel(law)
    decision_level = max(level for rule, level in kernel._rule_levels.items()
                         if getattr(kernel._makers[rule], "func", None) == kernel._admit)
    assert decision_level == 2  # posizione_regolare on level 0, the requirement on 1, the decision on 2
    seen = {(expected["requisito.calo_se_regolare"], expected["requisito.reddito_se_regolare"])
            for expected in agree_with_the_python_evaluator(kernel, law, random_cases(11, 300, 0.2))}
    assert {a for a, _ in seen} == {b for _, b in seen} == {True, False, None}


def test_kleene_logic_holds_inside_parts_computed_in_python() -> None:
    """A value or a part of a condition computed in Python is evaluated when its level comes, whatever is
    missing, with the language's three-valued rules: ``se`` with a known condition takes its branch even if
    the other branch reads a missing fact, and an ``or`` inside a quantifier is true on a true side."""
    from conftest import BASE_2024, case

    from engine._compile import load_ruleset_text
    from engine.backends._kernel import Kernel

    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    derived = """  reddito_scelto:
    type: money
    label: il reddito scelto
    formula: "se(iscritto_gestione_separata, reddito_anno_riferimento, reddito_dichiarato_riferimento)"
    sources: [l213_c144_a]
"""
    requirements = """  - id: requisito.reddito_scelto
    title: Reddito scelto sotto la soglia del calo
    condition: reddito_scelto < soglia_calo
    sources: [l213_c144_c]
  - id: requisito.prestazione_recente
    title: Prestazione recente o NASpI
    condition: "qualcuno(p in prestazioni_iscro_precedenti: anno(p.data_inizio) > 2020 or percettore_naspi)"
    sources: [l213_c144_c]
"""
    text = text.replace("derived:\n", "derived:\n" + derived, 1)
    law = load_ruleset_text(text.replace("requirements:\n", "requirements:\n" + requirements, 1), "kleene.yaml")
    facts = case(BASE_2024, reddito_dichiarato=None, percettore_naspi=None,
                 prestazioni_iscro_precedenti=[{"data_inizio": "2022-01-01"}])
    result = run_case(law, facts, selecting_date(facts, "data_domanda"))
    assert str(result.value("reddito_scelto")) == "3000.00"  # the other branch's income is missing
    assert result.requirement("requisito.reddito_scelto").outcome == "soddisfatto"
    assert result.requirement("requisito.prestazione_recente").outcome == "soddisfatto"  # NASpI is missing
    assert result.requirement("requisito.soglia_reddito").missing == ("reddito_dichiarato",)
    agree_with_the_python_evaluator(Kernel(law), law, random_cases(12, 300, 0.3))


def test_an_undecided_boolean_reports_the_same_missing_facts_whoever_reads_it() -> None:
    """A boolean the network leaves undecided is unknown with every fact its condition misses, a missing
    year read by a synthetic part included, whether or not a computed value reads it; and an absent
    optional fact is never among the missing facts."""
    from conftest import BASE_2024, case

    from engine._compile import load_ruleset_text

    text = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")
    derived = """  reddito_lontano_basso:
    type: boolean
    label: il reddito di cinque anni prima era basso
    formula: reddito_lavoro_autonomo[anno_riferimento - 5] < 5000 and iscritto_gestione_separata
    sources: [l213_c144_c]
"""
    read_by_money = """  importo_lontano:
    type: money
    label: un importo che dipende dal reddito lontano
    formula: "se(reddito_lontano_basso, importo_minimo, importo_massimo)"
    sources: [l213_c144_c]
"""
    requirements = """  - id: requisito.reddito_lontano
    title: Reddito lontano non basso
    condition: not reddito_lontano_basso
    sources: [l213_c144_c]
  - id: requisito.invalidita
    title: Assegno di invalidità e gestione separata
    condition: "se(titolare_assegno_ordinario_invalidita and iscritto_gestione_separata, anni_partita_iva < 90, false)"
    sources: [l213_c144_c]
"""
    facts = case(BASE_2024, iscritto_gestione_separata=None)  # the year 2018 and the optional fact are absent
    for extra in ("", read_by_money):
        variant = text.replace("derived:\n", "derived:\n" + derived + extra, 1)
        law = load_ruleset_text(variant.replace("requirements:\n", "requirements:\n" + requirements, 1), "gap.yaml")
        result = run_case(law, facts, selecting_date(facts, "data_domanda"))
        assert result.decision == "indeterminato"
        lontano = result.requirement("requisito.reddito_lontano")
        assert lontano.outcome == "indeterminato"
        assert lontano.missing == ("iscritto_gestione_separata", "reddito_lavoro_autonomo.2018")
        assert result.requirement("requisito.invalidita").missing == ("iscritto_gestione_separata",)
        assert "titolare_assegno_ordinario_invalidita" not in result.missing_facts
