"""The columnar backend (being built: evaluate_table(..., engine="columnar") is not available yet)."""

from __future__ import annotations

import pyarrow as pa

from .._compile import LawVersion


def evaluate_table(law: LawVersion, facts: pa.Table) -> pa.Table:
    raise NotImplementedError("the columnar backend is not built yet; use engine='rete'")
