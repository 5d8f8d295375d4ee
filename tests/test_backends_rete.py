"""The fact table (engine/backends/_layout.py) made from Python facts and read back, and the Rete table
adapter: every row of a table gives what ``run_case`` gives for that case alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from backends_support import case_facts, every_law, library

from engine import LawVersion
from engine._facts import to_values, validate_facts
from engine._run import run_case
from engine._values import Unknown
from engine.backends import evaluate_table, facts_table
from engine.backends._facts_table import row_facts
from engine.backends._layout import ROW
from engine.backends._results import column_value, output_type, requirement_column, schema


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_facts_survive_the_table(law: LawVersion) -> None:
    rows = case_facts(law.family)
    assert rows
    table = facts_table(law, rows, first_row=5)
    assert table.column(ROW).to_pylist() == list(range(5, 5 + len(rows)))
    back = list(row_facts(law, table))
    for original, (_, data) in zip(rows, back, strict=True):
        validate_facts(data, law.facts_schema)
        assert to_values(data, law) == to_values(original, law)


def test_the_layout_of_a_table() -> None:
    law = library().get("iscro", "2024")
    table = facts_table(law, [{"data_domanda": "2024-09-10", "reddito_lavoro_autonomo": {"2023": "3000.05"},
                               "prestazioni_iscro_precedenti": [{"data_inizio": "2022-01-01"}]},
                              {"data_domanda": "2024-09-11", "reddito_lavoro_autonomo": {"2021": 12.5}}])
    assert table.column("reddito_lavoro_autonomo.2023").to_pylist() == [300005, None]
    assert table.column("reddito_lavoro_autonomo.2021").to_pylist() == [None, 1250]
    assert table.schema.field("data_domanda").type == pa.date32()
    assert table.column("prestazioni_iscro_precedenti").to_pylist() == [[{"data_inizio": dt.date(2022, 1, 1)}], None]
    assert table.column("regolarita_contributiva").null_count == 2


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_the_rete_table_gives_what_each_case_gives(law: LawVersion) -> None:
    rows = case_facts(law.family)
    results = evaluate_table(law, facts_table(law, rows), engine="rete")
    assert results.schema == schema(law)
    assert results.num_rows == len(rows)
    decisions = set()
    for index, (facts, got) in enumerate(zip(rows, results.to_pylist(), strict=True)):
        day = dt.date.fromisoformat(str(facts[law.selected_by]))
        expected = run_case(law, facts, day, forced=True)
        assert got["__row"] == index + 1
        assert got["versione"] == law.version
        assert got["decisione"] == expected.decision
        decisions.add(expected.decision)
        assert got["errore"] is None
        assert got["mancanti"] == list(expected.missing_facts)
        for requirement in expected.requirements:
            assert got[requirement_column(requirement.id)] == requirement.outcome
        for name in law.outputs:
            value = expected.outputs[name]
            want = None if isinstance(value, Unknown) else column_value(output_type(law, name), value)
            assert got[name] == want, name
    assert len(decisions) > 1  # the population is not all one decision


def test_results_round_money_to_the_cent_half_up() -> None:
    assert column_value("money", Decimal("687.505")) == 68751
    assert column_value("money", Decimal("-0.005")) == -1
    assert column_value("number", Decimal(1) / 3) == Decimal("0.333333333333")


def test_requirement_columns() -> None:
    assert requirement_column("requisito.calo_reddito") == "requisito.calo_reddito"
    assert requirement_column("calo") == "requisito.calo"


def test_an_unknown_engine_is_refused() -> None:
    law = library().get("iscro", "2024")
    with pytest.raises(ValueError, match="unknown engine"):
        evaluate_table(law, facts_table(law, []), engine="spark")
