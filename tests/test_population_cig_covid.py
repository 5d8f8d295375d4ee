"""The second family in the population tools: a documented synthetic population for CIG Covid 2021
(employers with their workers, suspension periods, Decreto Ristori periods), drawn by the same generic code,
and ``regole impact`` comparing 2021-l178 and 2021-dl41 with a report, in Italian by default."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from engine import Library
from engine._facts import validate_facts
from engine._population import PopulationSpec, load_population
from engine._resources import rulesets_dir
from engine._run import default_library
from engine.cli import main

SPEC_PATH = rulesets_dir() / "cig-covid" / "population" / "default.yaml"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def spec() -> PopulationSpec:
    return load_population(SPEC_PATH)


@pytest.fixture(scope="module")
def library() -> Library:
    return default_library()


def test_every_application_follows_the_facts_schema(spec: PopulationSpec, library: Library) -> None:
    schema = library.versions("cig-covid")[0].facts_schema
    for application in spec.applications(400, 3):
        validate_facts(application, schema)


def test_the_file_covers_every_fact_of_both_versions(spec: PopulationSpec, library: Library) -> None:
    laws = library.versions("cig-covid")
    assert spec.check_against(laws) == []
    assert spec.uncovered(laws) == []


def test_periods_end_after_their_own_start_and_workers_vary(spec: PopulationSpec) -> None:
    """A list field may be relative to an earlier field of the same item (``fine`` to ``inizio``)."""
    periods = workers = 0
    for application in spec.applications(500, 1):
        for key in ("periodi_ristori", "periodi_autorizzati"):
            for period in application.get(key, []):
                start, end = dt.date.fromisoformat(period["inizio"]), dt.date.fromisoformat(period["fine"])
                assert 6 <= (end - start).days <= 62, period
                periods += 1
        workers += len(application.get("lavoratori", []))
    assert periods > 100
    assert workers > 500


def test_impact_compares_the_two_versions_with_a_report(tmp_path: Path) -> None:
    data = tmp_path / "cig.jsonl"
    assert cli("population", "--family", "cig-covid", "--n", "600", "--seed", "2", "--out", str(data))[0] == 0
    report = tmp_path / "impatto.html"
    code, out, err = cli("impact", str(data), "--versions", "2021-l178,2021-dl41", "--report", str(report))
    assert code == 0, err
    assert out.startswith(f"regole impact {data}: cig-covid@2021-l178 → cig-covid@2021-dl41\n")
    assert "valutate con entrambe le versioni 600, errate 0" in out  # every synthetic row is valid
    code, out, _ = cli("impact", str(data), "--versions", "2021-l178,2021-dl41", "--json")
    tallies = json.loads(out)
    for side in ("a", "b"):
        decisions = tallies[side]["decisions"]
        assert all(decisions[d] > 0 for d in ("ammesso", "respinto", "indeterminato")), decisions
    assert tallies["a"]["decisions"] != tallies["b"]["decisions"]  # the reform moves cases
    page = report.read_text(encoding="utf-8")
    assert '<html lang="it">' in page
    assert "Impatto di cig-covid@2021-l178 → cig-covid@2021-dl41" in page
    assert page.count("<svg") == 3  # decisions, transitions, first failing requirement (no money output)
