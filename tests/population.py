"""Random ISCRO applications for stress tests, property tests and benchmarks (illustrative, not INPS data).

Incomes have a long tail and frequent falls; some facts are left out so that every outcome occurs:
admitted, refused by one or several requirements, undetermined.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

FLAGS = ["iscritto_gestione_separata", "titolare_pensione_diretta", "assicurato_altra_forma_obbligatoria",
         "percettore_assegno_inclusione", "percettore_reddito_cittadinanza", "percettore_naspi",
         "percettore_dis_coll", "percettore_alas", "percettore_idis", "titolare_ape_sociale",
         "carica_elettiva_con_emolumenti", "regolarita_contributiva"]
_USUALLY_TRUE = {"iscritto_gestione_separata", "regolarita_contributiva"}


def money(rng: random.Random, scale: float) -> str:
    value = rng.lognormvariate(0, 0.8) * scale
    return f"{value:.2f}"


def application(rng: random.Random, *, first_year: int = 2021, last_year: int = 2026,
                missing_rate: float = 0.03) -> dict[str, Any]:
    year = rng.randint(first_year, last_year)
    day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    facts: dict[str, Any] = {"data_domanda": day.isoformat()}
    for flag in FLAGS:
        if rng.random() < missing_rate:
            continue
        likely = 0.93 if flag in _USUALLY_TRUE else 0.04
        facts[flag] = rng.random() < likely
    base = rng.choice([4000, 8000, 15000, 30000])
    incomes = {}
    for y in range(year - 5, year):
        if rng.random() < missing_rate:
            continue
        incomes[str(y)] = money(rng, base)
    if str(year - 1) in incomes and rng.random() < 0.5:  # a fall in the reference year
        incomes[str(year - 1)] = money(rng, base * 0.3)
    facts["reddito_lavoro_autonomo"] = incomes
    if str(year - 1) in incomes:
        facts["reddito_dichiarato"] = {str(year - 1): incomes[str(year - 1)]}
    opened = day - dt.timedelta(days=rng.randint(0, 365 * 12))
    facts["data_apertura_partita_iva"] = opened.isoformat()
    previous = []
    if rng.random() < 0.1:
        previous.append({"data_inizio": (day - dt.timedelta(days=rng.randint(30, 1500))).isoformat()})
    facts["prestazioni_iscro_precedenti"] = previous
    if rng.random() < 0.2:
        facts["ultimo_reddito_certificato"] = money(rng, base)
    return facts
