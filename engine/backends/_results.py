"""The columnar layout of results: what evaluating a table of facts (:mod:`._layout`) under one law version
gives, whichever backend evaluated it. The contract between the backends, ``regole batch`` and
``regole impact``, and the writers of result files (Parquet, CSV, JSON Lines).

One row per input row, in input order:

=========================  ===================  ==============================================================
column                     Arrow type           content
=========================  ===================  ==============================================================
``__row``                  ``int64``            the input row's ``ROW`` (its line or number in its source)
``versione``               ``string``           the law version applied, e.g. ``"2024"``
``decisione``              outcome (below)      ``ammesso`` | ``respinto`` | ``indeterminato``; null when the
                                                row could not be evaluated (see ``errore``)
``<requirement id>``       outcome (below)      one per requirement, in the ruleset's order (see
                                                :func:`requirement_column`): ``soddisfatto`` |
                                                ``non_soddisfatto`` | ``indeterminato``
``<output>``               as in the facts      one per output of the version (``law.outputs``): money in
                           layout               int64 cents, dates date32, integers int64, booleans bool,
                                                numbers decimal128(38, 12); null when unknown or not computed
``mancanti``               ``list<string>``     the missing facts that could change an undetermined decision
                                                (sorted), as the Rete ``Result.missing_facts``; empty otherwise
``errore``                 ``string``           null; the message when the row's arithmetic failed (a
                                                division by zero, a date out of range): that row only
=========================  ===================  ==============================================================

The decision and the outcomes are strings held as ``dictionary<int8, string>`` with a fixed dictionary
(:data:`DECISIONS`, :data:`OUTCOMES`): the same values row by row (``to_pylist`` gives the strings; Parquet
stores them dictionary-encoded anyway; pandas reads them as categoricals), without a string per cell, which
cost a million-row table more than computing the outcomes. ``pc.cast(column, pa.string())`` gives plain
strings where a writer needs them.

A money output is held in cents: a value with fractions of a cent (a rule that multiplies without
``arrotonda``) is rounded half up to the cent here, by both backends alike; a number output is rounded half
up to 12 decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from .._compile import LawVersion
from .._types import Type
from ._layout import NUMBER_SCALE, ROW, arrow_type

VERSION = "versione"
DECISION = "decisione"
MISSING = "mancanti"
ERROR = "errore"
DECISIONS = ("ammesso", "respinto", "indeterminato")
OUTCOMES = ("soddisfatto", "non_soddisfatto", "indeterminato")
_REQUIREMENT_PREFIX = "requisito."
_CENT = Decimal("0.01")
_NUMBER_QUANTUM = Decimal(1).scaleb(-NUMBER_SCALE)


def requirement_column(requirement_id: str) -> str:
    """The column of a requirement's outcome: its id when that already starts with ``requisito.`` (as every
    bundled one does: ``requisito.calo_reddito``), else ``requisito.<id>``."""
    if requirement_id.startswith(_REQUIREMENT_PREFIX):
        return requirement_id
    return _REQUIREMENT_PREFIX + requirement_id


def output_type(law: LawVersion, name: str) -> Type:
    """The type of an output of ``law`` (a computation, a derived value, a fact or a parameter)."""
    for node in law.nodes():
        if node.name == name:
            return node.type
    if name in law.facts:
        return law.facts[name].type
    return law.parameters[name].type


OUTCOME_TYPE = pa.dictionary(pa.int8(), pa.string())


def outcome_array(indices: Any, names: Sequence[str]) -> pa.DictionaryArray:
    """A decision or outcome column from the index of each row's value in ``names`` (DECISIONS or OUTCOMES);
    a null index is a null value. The indices are the callers' own, each in range: not checked again (on a
    column of 250,000 rows the check cost 100 µs, as much as the outcome itself)."""
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int8()) if not isinstance(indices, pa.Array)
                                          else indices, pa.array(names, pa.string()), safe=False)


def schema(law: LawVersion) -> pa.Schema:
    """The Arrow schema of the results of ``law``."""
    return pa.schema([
        pa.field(ROW, pa.int64(), nullable=False),
        pa.field(VERSION, pa.string(), nullable=False),
        pa.field(DECISION, OUTCOME_TYPE),
        *(pa.field(requirement_column(node.name), OUTCOME_TYPE) for node in law.requirements),
        *(pa.field(name, arrow_type(output_type(law, name))) for name in law.outputs),
        pa.field(MISSING, pa.list_(pa.string()), nullable=False),
        pa.field(ERROR, pa.string()),
    ])


def column_value(ftype: Type, value: Any) -> Any:
    """A known Python value of an output as its column holds it (money in cents, numbers at 12 decimals)."""
    if ftype == "money":
        return int(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))
    if ftype == "number":
        return Decimal(value).quantize(_NUMBER_QUANTUM, rounding=ROUND_HALF_UP)
    return value


def table(law: LawVersion, columns: Mapping[str, Any]) -> pa.Table:
    """The result table of ``law`` from its columns (Python lists or Arrow arrays), checked against the schema:
    every column present, each of its type."""
    target = schema(law)
    missing = [name for name in target.names if name not in columns]
    if missing:
        raise ValueError(f"result columns missing: {', '.join(missing)}")
    arrays = [columns[f.name].cast(f.type) if isinstance(columns[f.name], pa.Array | pa.ChunkedArray)
              else pa.array(columns[f.name], f.type) for f in target]
    return pa.Table.from_arrays(arrays, schema=target)


__all__ = ["DECISION", "DECISIONS", "ERROR", "MISSING", "OUTCOMES", "OUTCOME_TYPE", "VERSION", "column_value",
           "outcome_array", "output_type", "requirement_column", "schema", "table"]
