"""The differential test of the columnar backend: on every bundled law version it gives, on every row and in
every column (decision, each requirement's outcome, each output, the missing facts), what the Rete kernel
gives, row by row, through the Rete table adapter. Populations: the YAML test cases of each family, the
synthetic population generator, and Hypothesis rows that leave facts out and sit on the thresholds."""

from __future__ import annotations

import pytest
from backends_support import case_facts, differences, every_law, library, row_strategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import LawVersion
from engine._population import load_population, population_path
from engine._resources import rulesets_dir
from engine.backends import evaluate_table, facts_table

LAWS = every_law()


def same_results(law: LawVersion, rows: list[dict]) -> None:
    facts = facts_table(law, rows)
    rete = evaluate_table(law, facts, engine="rete")
    columnar = evaluate_table(law, facts, engine="columnar")
    found = differences(rete, columnar)
    assert not found, f"{law.key}: {len(found)} cells differ:\n" + "\n".join(found[:20])


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.key)
def test_the_yaml_cases_of_the_family(law: LawVersion, walk: str) -> None:
    same_results(law, list(case_facts(law.family)))


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.key)
def test_the_synthetic_population(law: LawVersion, walk: str) -> None:
    path = population_path(rulesets_dir(), law.family)
    same_results(law, list(load_population(path).applications(1500, seed=13)))


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.key)
def test_rows_on_the_thresholds_with_facts_left_out(law: LawVersion, walk: str) -> None:
    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(row_strategy(law), min_size=1, max_size=60))
    def check(rows: list[dict]) -> None:
        same_results(law, rows)

    check()


def test_every_family_is_covered() -> None:
    assert {law.family for law in LAWS} == set(library().families())
    assert len(LAWS) >= 4
