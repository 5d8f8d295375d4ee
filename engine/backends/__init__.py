"""The ways to run a compiled law version (:class:`engine.LawVersion`) over a table of facts.

Two backends walk the same typed IR:

* ``rete``: one case at a time on a durable-rules Rete network, with the full trace that explanations,
  ``compare`` and receipts need. It is the reference.
* ``columnar``: whole populations at once, each derived value, requirement, computation and the decision
  compiled into a vectorized plan over an Arrow-backed table of facts (the layout in :mod:`._layout`). A
  differential test proves it equal to the Rete kernel, row by row, on every bundled law version.

Both take a fact table (:mod:`._layout`) and give a result table (:mod:`._results`)::

    evaluate_table(law, facts, engine="columnar")  # or engine="rete"
    facts_table(law, rows)                          # already-validated Python facts -> a fact table
"""

from __future__ import annotations

import pyarrow as pa

from .._compile import LawVersion
from ._facts_table import facts_table

ENGINES = ("columnar", "rete")


def evaluate_table(law: LawVersion, facts: pa.Table, *, engine: str = "columnar", threads: int | None = None,
                   ) -> pa.Table:
    """The result table (:mod:`._results`) of every row of ``facts`` under ``law``, each row with the parameters
    in force on its own selecting date; ``engine`` is ``"columnar"`` (whole columns at once) or ``"rete"``
    (the reference: one case at a time through the durable-rules kernel). ``threads`` caps the columnar
    backend's threads (by default, one per core); the Rete kernel runs on one."""
    if engine == "rete":
        from .rete import evaluate_table as run_rete

        return run_rete(law, facts)
    if engine == "columnar":
        from .columnar import evaluate_table as run_columnar

        return run_columnar(law, facts, threads=threads)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "evaluate_table", "facts_table"]
