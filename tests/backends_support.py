"""Populations for the backends' tests: the valid facts of every YAML test case of a family (the cases kept
beside the rulesets), by family."""

from __future__ import annotations

from functools import cache
from typing import Any

from engine import LawVersion, Library
from engine._casetests import load_case_file
from engine._facts import validate_facts
from engine._resources import rulesets_dir
from engine.errors import FactsError


@cache
def library() -> Library:
    return Library()


def every_law() -> list[LawVersion]:
    return [law for family in library().families() for law in library().versions(family)]


@cache
def case_facts(family: str) -> tuple[dict[str, Any], ...]:
    """The facts of each YAML test case of ``family`` that the facts schema accepts (the others test the
    errors of bad facts, which never reach a fact table)."""
    schema = library().versions(family)[0].facts_schema
    rows = []
    for path in sorted((rulesets_dir() / family / "tests").glob("*.yaml")):
        for case in load_case_file(path).cases:
            try:
                validate_facts(case.facts, schema)
            except FactsError:
                continue
            if library().versions(family)[0].selected_by in case.facts:
                rows.append(case.facts)
    return tuple(rows)
