"""The plain-numpy floor of the issue's performance targets, copied from the shared peer models
(``../shared/peers/population.py``, the same code, seed 7) so that the benchmark runs it beside the columnar
backend in one run without reading anything outside the project.

It decides ISCRO 2024 on inputs already derived (the reference year's income, the two years before it, the
declared income, the whole years of the VAT number, five booleans), in floats, two-valued, with no missing
facts: the floor no engine can go under. regole derives every value from the raw facts, exactly (integer
cents, each row's year and parameters by its own date), with three-valued outcomes, every output and the
missing facts; say so next to any ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def make(n: int, seed: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    m1 = rng.gamma(2.0, 6000.0, n).round(2)
    m2 = rng.gamma(2.0, 6000.0, n).round(2)
    drop = rng.uniform(0.1, 1.3, n)
    rif = (((m1 + m2) / 2) * drop).round(2)
    return {
        "reddito_rif": rif,
        "reddito_m1": m1,
        "reddito_m2": m2,
        "reddito_dich": rif,
        "anni_piva": rng.integers(0, 12, n),
        "gestione_separata": rng.random(n) < 0.97,
        "pensione": rng.random(n) < 0.03,
        "altra_cassa": rng.random(n) < 0.03,
        "adi": rng.random(n) < 0.02,
        "regolare": rng.random(n) < 0.95,
    }


def reference(p: dict[str, Any]) -> tuple[Any, Any]:
    """Plain numpy statement of ISCRO 2024 (the peers' ground truth)."""
    media = (p["reddito_m1"] + p["reddito_m2"]) / 2
    ok = (p["gestione_separata"] & ~p["pensione"] & ~p["altra_cassa"] & ~p["adi"] & p["regolare"]
          & (p["reddito_rif"] < 0.70 * media) & (p["reddito_dich"] <= 12000.0) & (p["anni_piva"] >= 3))
    mensile = np.clip(media / 2 * 0.25, 250.0, 800.0)
    return ok, np.where(ok, mensile, 0.0)
