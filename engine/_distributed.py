"""The impact on a Dask cluster: the one module that imports Dask (``pip install 'regole[dask]'``).

The population is a Parquet file (or a folder of them); each row group is one partition of a
``dask.dataframe`` built with ``from_map``. A worker reads its row groups with pyarrow, checks them by column
and runs them through the same partition function as a local run (:func:`engine._impact_table.tally_part`),
and sends back only the tally: counts, sums of cents, the first problems. The tallies are merged in partition
order, exactly (integers), so the JSON is byte for byte the one a local run prints, apart from ``seconds``.

The workers compile the law versions themselves from the ruleset files (compiled versions hold functions
that do not travel), so the data and the rulesets must be readable at the same paths on every worker (a
shared disk, or the same image). ``--dask local`` starts a LocalCluster on this machine; ``--scheduler
ADDRESS`` connects to a running one (docs/impact.md).
"""

from __future__ import annotations

import base64
import pickle
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ._compile import LawVersion, load_ruleset
from ._impact_table import Comparison, PartTally, tally_part
from ._read_columns import _Reader

TIMEOUT = "60s"


@dataclass(frozen=True)
class Partition:
    """One partition: some row groups of one Parquet file, the first of its rows counted from ``first``."""

    path: str
    row_groups: tuple[int, ...]
    first: int


@dataclass(frozen=True)
class Plan:
    """What a worker needs to evaluate a partition, all of it plain data."""

    a: str  # ruleset files
    b: str
    overrides: tuple[tuple[str, str], ...]
    engine: str
    chart: str | None
    keep_amounts: bool


def partitions(path: Path) -> list[Partition]:
    """One partition per row group of each Parquet file at ``path`` (a file, or a folder of ``*.parquet``)."""
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    out = []
    first = 1
    for file in files:
        metadata = pq.ParquetFile(str(file)).metadata
        for group in range(metadata.num_row_groups):
            out.append(Partition(str(file), (group,), first))
            first += metadata.row_group(group).num_rows
    return out


@cache
def _comparison(plan: Plan) -> Comparison:
    from ._impact_cli import parse_override, with_overrides

    a = load_ruleset(Path(plan.a))
    b = load_ruleset(Path(plan.b))
    b = with_overrides(b, {name: parse_override(b, name, text) for name, text in plan.overrides})
    return Comparison.of(a, b, chart=plan.chart, engine=plan.engine, keep_amounts=plan.keep_amounts)


def evaluate_partition(partition: Partition, plan: Plan) -> PartTally:
    """The partition function: read, check and evaluate one partition, give its tally."""
    comparison = _comparison(plan)
    batch = _Reader([comparison.a, comparison.b]).parquet_part(partition.path, list(partition.row_groups),
                                                             partition.first)
    return tally_part(batch, comparison)


def _partition_frame(partition: Partition, plan: Plan) -> Any:
    import pandas as pd

    blob = base64.b64encode(pickle.dumps(evaluate_partition(partition, plan))).decode("ascii")
    return pd.DataFrame({"tally": [blob]})  # text: Dask may turn object columns into strings


def distributed_tally(path: Path, comparison: Comparison, *, overrides: dict[str, str],
                      scheduler: str | None, processes: bool = True) -> PartTally:
    """Evaluate the Parquet population at ``path`` on Dask (``scheduler``: an address, or None for a local
    cluster) and merge the partitions' tallies in order."""
    import dask
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    plan = Plan(_ruleset(comparison.a), _ruleset(comparison.b), tuple(overrides.items()), comparison.engine,
                comparison.chart, comparison.keep_amounts)
    parts = partitions(path)
    total = PartTally()
    if not parts:
        return total
    with dask.config.set({"distributed.comm.timeouts.connect": TIMEOUT}):
        if scheduler is None:
            cluster: Any = LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                        dashboard_address=None)
            client = Client(cluster)
        else:
            cluster = None
            client = Client(scheduler, timeout=TIMEOUT)
        try:
            frame = dd.from_map(_partition_frame, parts, plan=plan,
                                meta=pd.DataFrame({"tally": pd.Series([], dtype=object)}), enforce_metadata=False)
            for blob in frame.compute()["tally"]:
                total.merge(pickle.loads(base64.b64decode(blob)))  # noqa: S301 - our own workers' tallies
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return total


def _ruleset(law: LawVersion) -> str:
    return str(Path(law.path).resolve())


__all__ = ["Partition", "Plan", "distributed_tally", "evaluate_partition", "partitions"]
