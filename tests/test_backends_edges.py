"""The edges of the two table backends: fact tables without some columns, rows without their selecting date,
the columnar walk on Python integers, and an empty table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from backends_support import case_facts, differences, every_law, library
from conftest import reference_values

from engine import LawVersion
from engine._population import load_population, population_path
from engine._resources import rulesets_dir
from engine._trace import OUTCOME_NAMES
from engine._values import Unknown
from engine.backends import _columnar_numpy, columnar, evaluate_table, facts_table
from engine.backends._layout import ROW
from engine.errors import FactsError


def both(law: LawVersion, facts: object) -> None:
    found = differences(evaluate_table(law, facts, engine="rete"), evaluate_table(law, facts))  # type: ignore[arg-type]
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_a_table_without_some_facts_at_all(law: LawVersion) -> None:
    """A fact whose column is absent is unknown on every row (a by-year fact without a year column too)."""
    facts = facts_table(law, case_facts(law.family))
    keep = [name for index, name in enumerate(facts.column_names)
            if name in (ROW, law.selected_by) or index % 3 != 0]
    assert len(keep) < len(facts.column_names)
    both(law, facts.select(keep))


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_the_walk_on_python_integers_gives_the_same(law: LawVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every integer as a Python integer (the path an operation takes when its result could leave 62 bits)
    gives the same table as int64."""
    facts = facts_table(law, case_facts(law.family))
    narrow = evaluate_table(law, facts)
    monkeypatch.setattr(columnar, "WIDE", True)
    assert evaluate_table(law, facts).equals(narrow)


def test_amounts_past_64_bits_are_computed_on_python_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Incomes past what the facts schema allows (a fact table is not checked against it): their sum, in
    cents, leaves 64 bits. durable-rules refuses such numbers (the Rete row is an error), so the columnar
    outcomes are compared with the Python evaluator's."""
    law = library().get("iscro", "2024")
    row = dict(case_facts("iscro")[0])
    row["reddito_lavoro_autonomo"] = {"2021": "50000000000000000.00", "2022": "49999999999999999.99",
                                         "2023": "3000.00"}
    widened = []
    original = _columnar_numpy._wide

    def spy(data: object) -> object:
        widened.append(getattr(data, "dtype", None) == np.int64)
        return original(data)

    monkeypatch.setattr(_columnar_numpy, "_wide", spy)
    got = evaluate_table(law, facts_table(law, [row])).to_pylist()[0]
    assert True in widened  # some int64 column went over to Python integers
    values = reference_values(law, row)
    for node in law.requirements:
        value = values[node.name]
        assert got[node.name] == OUTCOME_NAMES[None if isinstance(value, Unknown) else value], node.name


@pytest.mark.parametrize("engine", ["rete", "columnar"])
def test_a_row_without_its_selecting_date_is_refused_with_its_number(engine: str) -> None:
    law = library().get("iscro", "2024")
    rows = [dict(case_facts("iscro")[0]), {k: v for k, v in case_facts("iscro")[0].items() if k != "data_domanda"}]
    with pytest.raises(FactsError, match="riga 8: manca il campo obbligatorio 'data_domanda'"):
        evaluate_table(law, facts_table(law, rows, first_row=7), engine=engine)


def test_an_empty_table() -> None:
    law = library().get("cig-covid", "2021-l178")
    facts = facts_table(law, [])
    assert evaluate_table(law, facts).equals(evaluate_table(law, facts, engine="rete"))
    assert evaluate_table(law, facts).num_rows == 0


@pytest.mark.parametrize("family", ["iscro", "cig-covid"])
def test_one_table_for_every_version_of_a_family(family: str) -> None:
    """A table with the facts of every version (as `regole impact` reads a population once): each version
    reads its own facts and leaves the others."""
    laws = library().versions(family)
    facts = facts_table(laws, case_facts(family))
    for law in laws:
        both(law, facts)


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_tables_of_one_day_read_parameters_as_constants(law: LawVersion) -> None:
    """A table whose rows share a parameter period gets the parameters as constants (and one with no value
    on its days, NULL): the same results as the Rete kernel, row by row."""
    for row in case_facts(law.family)[:12]:
        both(law, facts_table(law, [row]))


@pytest.mark.parametrize("law", every_law(), ids=lambda law: law.key)
def test_a_large_table_of_few_dates_gives_what_its_rows_give_alone(law: LawVersion,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """On a table whose dates and years take few values for its size, the columnar backend works the
    calendar out once per value and looks it up by row (and slices the table, between threads or in turn): the results
    are those of the same rows evaluated by the Rete kernel, repeated."""
    path = population_path(rulesets_dir(), law.family)
    base = facts_table(law, list(load_population(path).applications(300, seed=5)))
    copies = 40
    big = pa.concat_tables([base] * copies)
    big = big.set_column(big.schema.get_field_index(ROW), ROW, pa.array(range(1, big.num_rows + 1), pa.int64()))
    reference = pa.concat_tables([evaluate_table(law, base, engine="rete")] * copies)
    reference = reference.set_column(0, reference.schema.field(0), big.column(ROW))
    monkeypatch.setattr(columnar, "SHARED_ROWS", 1_000)
    for threads, rows in ((1, 10**6), (2, 2_500), (2, 10**6), (1, 5_000)):  # whole; two at once; in turn
        monkeypatch.setattr(columnar, "SLICE_ROWS", rows)
        found = differences(reference, evaluate_table(law, big, threads=threads))
        assert not found, "\n".join(found[:20])


def test_number_columns_past_64_bits_are_read_as_python_integers() -> None:
    """A decimal128(38, 12) column is read as its unscaled integers: int64 when every one fits, else Python
    integers (a slice of the column keeps its offset)."""
    from decimal import Decimal

    column = pa.array([Decimal("12345678901.123456789012"), None, Decimal("-0.000000000001"),
                       Decimal("-98765432109.5")], pa.decimal128(38, 12))
    value = _columnar_numpy.read_column(column, "number")
    assert isinstance(value, _columnar_numpy.Num)
    assert value.den == 10**12
    assert [v for v, known in zip(value.data.tolist(), value.known.tolist(), strict=True) if known] == [
        12345678901123456789012, -1, -98765432109500000000000]
    small = _columnar_numpy.read_column(column.slice(2, 1), "number")
    assert small.data.dtype == np.int64
    assert small.data.tolist() == [-1]


def test_the_values_of_the_selecting_date_are_worked_out_once_a_day() -> None:
    """On a table of many rows a day, the values that read only the selecting date and the parameters are
    walked over the days and looked up by row when read; the computations of an admitted case run on the
    admitted rows only; the results are those of the per-row walk (checked against Rete elsewhere)."""
    law = library().get("iscro", "2024")
    assert _columnar_numpy.by_date_only(law) == {
        "anno_domanda", "anno_riferimento", "scadenza_domanda", "data_inizio", "data_fine", "imponibile_fiscale",
        "requisito.finestra_domanda"}
    rows = list(load_population(population_path(rulesets_dir(), "iscro")).applications(400, seed=3))
    facts = facts_table(law, [{**row, "data_domanda": "2024-09-10"} for row in rows])
    walker = _columnar_numpy.Walker(law, facts)
    walker.run()
    assert walker._days_found is not None
    assert len(walker._day_range) == 1
    deadline = "scadenza_domanda"  # read only by the window, itself a value of the day: never looked up by row
    assert deadline in walker.values
    assert not dict.__contains__(walker.values, deadline)
    assert np.asarray(walker.values[deadline].data).tolist() == [20027] * facts.num_rows  # type: ignore[union-attr]
    admitted = int(np.sum(np.broadcast_to(walker.decision.data, (facts.num_rows,))))
    assert 0 < admitted <= facts.num_rows // 2
    amounts = walker.values["importo_mensile"]
    assert isinstance(amounts, _columnar_numpy.Num)
    assert int(np.sum(np.broadcast_to(amounts.known, (facts.num_rows,)))) <= admitted  # spread back from those rows
    both(law, facts)


def test_a_list_column_with_64_bit_offsets_and_sliced() -> None:
    """A list fact given as Arrow's large_list (64-bit offsets, as Polars writes lists), or as a slice of a longer
    column: each row's items are its own."""
    law = library().get("iscro", "2024")
    rows = [{**case_facts("iscro")[0], "prestazioni_iscro_precedenti": [
        {"data_inizio": f"{2020 + i % 5}-0{1 + i % 9}-01"}] * (i % 3)} for i in range(30)]
    facts = facts_table(law, rows)
    index = facts.schema.get_field_index("prestazioni_iscro_precedenti")
    large = pa.large_list(facts.schema.field(index).type.value_type)
    both(law, facts.set_column(index, pa.field("prestazioni_iscro_precedenti", large), facts.column(index).cast(large)))
    both(law, facts.slice(7, 20))
