"""The Rete backend on a table: each row of a fact table (:mod:`._layout`) run through the durable-rules kernel
(``run_case``, one case at a time, with its full trace), its results gathered into a result table
(:mod:`._results`). The reference the columnar backend is proven equal to, and ``--engine rete``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from .._compile import LawVersion
from .._i18n import gettext
from .._run import run_case
from .._trace import Result
from .._values import Unknown
from ..errors import FactsError, KernelError, Problem
from ._facts_table import row_facts
from ._layout import ROW
from ._results import (
    DECISION,
    DECISIONS,
    ERROR,
    MISSING,
    OUTCOMES,
    VERSION,
    column_value,
    outcome_array,
    output_type,
    requirement_column,
    table,
)

DECISION_INDEX = {name: index for index, name in enumerate(DECISIONS)}
OUTCOME_INDEX = {name: index for index, name in enumerate(OUTCOMES)}


def evaluate_table(law: LawVersion, facts: pa.Table) -> pa.Table:
    """The results of every row of ``facts`` under ``law``, each row with the parameters in force on its own
    selecting date (``law.selected_by``). A row whose evaluation fails (a division by zero, say) gets its
    message in ``errore`` and no decision; the other rows are not affected. A row without its selecting date
    is a :class:`FactsError` naming it (the readers of population files refuse such rows first)."""
    requirement_columns = [(node.name, requirement_column(node.name)) for node in law.requirements]
    outputs = [(name, output_type(law, name)) for name in law.outputs]
    columns: dict[str, list[Any]] = {ROW: [], VERSION: [], DECISION: [], MISSING: [], ERROR: []}
    for _, column in requirement_columns:
        columns[column] = []
    for name, _ in outputs:
        columns[name] = []
    for number, data in row_facts(law, facts):
        day = data.get(law.selected_by)
        if day is None:
            message = gettext("row {number}: required field {name!r} is missing: it selects the parameters")
            raise FactsError([Problem(message.format(number=number, name=law.selected_by), code="F005",
                                      path=f"$.{law.selected_by}")])
        columns[ROW].append(number)
        columns[VERSION].append(law.version)
        try:
            result: Result | None = run_case(law, data, dt.date.fromisoformat(day), forced=True)
            columns[ERROR].append(None)
        except KernelError as exc:
            result = None
            columns[ERROR].append(str(exc))
        if result is None:
            columns[DECISION].append(None)
            columns[MISSING].append([])
            for _, column in requirement_columns:
                columns[column].append(None)
            for name, _ in outputs:
                columns[name].append(None)
            continue
        columns[DECISION].append(DECISION_INDEX[result.decision])
        columns[MISSING].append(list(result.missing_facts))
        for requirement, (_, column) in zip(result.requirements, requirement_columns, strict=True):
            columns[column].append(OUTCOME_INDEX[requirement.outcome])
        for name, ftype in outputs:
            value = result.outputs[name]
            columns[name].append(None if isinstance(value, Unknown) else column_value(ftype, value))
    columns[DECISION] = outcome_array(columns[DECISION], DECISIONS)
    for _, column in requirement_columns:
        columns[column] = outcome_array(columns[column], OUTCOMES)
    return table(law, columns)


__all__ = ["evaluate_table"]
