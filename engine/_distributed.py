"""``regole impact`` and ``regole batch`` on a Dask cluster: the one module that imports Dask
(``pip install 'regole[dask]'``).

The population is a Parquet file (or a folder of them); each row group is one partition. A worker reads its
row groups with pyarrow, checks them by column and runs them through the same partition function as a local
run: :func:`engine._impact_table.tally_part` for the impact (it sends back only the tally: counts, sums of
cents, the first problems), :func:`engine._batch.evaluate_batch` for ``regole batch`` (it sends back the
partition's result table and its problems). The client takes the partitions back **in partition order**,
at most a few in flight per worker thread, and merges them (the impact's tallies, exactly: integers) or
writes them (the batch's rows, ``--rows``), one partition at a time: so the JSON is byte for byte the one a
local run prints, apart from ``seconds``, the results files hold the same rows in the same order, and the
client never holds more than one partition's results.

The partition functions are submitted as Dask futures over the list of row groups (what ``dask.dataframe``
would partition by): their results are Arrow tables and tallies, not pandas frames, and futures let the
client take them in order and release each before the next.

The workers compile the law versions themselves from the ruleset files (compiled versions hold functions
that do not travel), so the data and the rulesets must be readable at the same paths on every worker (a
shared disk, or the same image); messages are written in the client's language. ``--dask local`` starts a
LocalCluster on this machine; ``--scheduler ADDRESS`` connects to a running one (docs/batch.md,
docs/impact.md).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from . import _i18n
from ._batch import EvaluatedPart, OutputLayout, evaluate_batch
from ._compile import LawVersion, load_ruleset
from ._i18n import N_
from ._i18n import gettext as _
from ._impact_table import Comparison, PartTally, tally_part
from ._read_columns import FactBatch, _Reader
from .errors import ClusterError, FactsError, Problem, RegoleError

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler (and a LocalCluster's own comms)
IN_FLIGHT_PER_THREAD = 2  # partitions submitted ahead per worker thread: bounds what waits on the workers

LOCAL_HTTP = "127.0.0.1:0"  # a LocalCluster's scheduler always serves HTTP (by default on :8787, every interface)
Ruleset = tuple[str, str]  # a ruleset file's absolute path and SHA-256
_T = TypeVar("_T")

_MESSAGES = {  # what a person reads, in one place (English msgids; engine/locale/it has the Italian)
    "parquet_only": N_("--dask and --scheduler read Parquet only (one partition per row group): a .parquet file "
                       "or a folder of them; convert the data first (pyarrow, DuckDB, pandas)"),
    "no_parquet": N_("the folder has no .parquet file"),
    "unreadable": N_("cannot read the Parquet file: {reason}"),
    "worker_data": N_("a Dask worker cannot read it ({reason}): the data must be readable at the same path on "
                      "every worker (docs/batch.md)"),
    "worker_ruleset": N_("a Dask worker cannot read the ruleset {path} ({reason}): the rulesets must be readable "
                         "at the same path on every worker (docs/batch.md)"),
    "other_ruleset": N_("its content differs from the client's"),
    "worker_failed": N_("a Dask worker failed on {path}: {reason}"),
    "unreachable": N_("cannot reach the Dask scheduler at {address} within {seconds} seconds: {reason}"),
    "not_scheduler": N_("what answers there is not a Dask scheduler"),
    "cluster_lost": N_("the Dask cluster failed during the run: {reason}"),
}


def _say(key: str, **values: Any) -> str:
    return _(_MESSAGES[key]).format(**values)


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--dask local`` and ``--scheduler ADDRESS``, for the commands that run on Dask."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", choices=("local",), help=_("run on a local Dask cluster (Parquet data)"))
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help=_("run on the Dask cluster at ADDRESS, e.g. tcp://10.0.0.5:8786 (docs/impact.md)"))


# -- partitions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One partition: some row groups of one Parquet file, the first of its rows counted from ``first``."""

    path: str
    row_groups: tuple[int, ...]
    first: int
    rows: int = 0


def require_parquet(path: Path, fmt: str) -> None:
    """Refuse data that a cluster cannot partition (anything but Parquet), before any work."""
    if fmt != "parquet" and not path.is_dir():
        raise FactsError([Problem(_say("parquet_only"), code="D006", path="$")], source=str(path))


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of the population at ``path``: the file itself, or a folder's ``*.parquet`` in name
    order (which is the order of their rows)."""
    if not path.is_dir():
        return [path]
    files = sorted(path.rglob("*.parquet"))
    if not files:
        raise FactsError([Problem(_say("no_parquet"), code="F000", path="$")], source=str(path))
    return files


def partitions(path: Path, laws: list[LawVersion] | None = None) -> list[Partition]:
    """One partition per row group of each Parquet file at ``path`` (a file, or a folder of ``*.parquet``);
    with ``laws``, every file's columns are checked against their facts here, before any work."""
    out = []
    first = 1
    reader = _Reader(laws) if laws is not None else None
    for file in parquet_files(path):
        try:
            parquet = pq.ParquetFile(str(file))
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise FactsError([Problem(_say("unreadable", reason=exc), code="D004")], source=str(file)) from None
        if reader is not None:
            reader.table.check_columns([str(c) for c in parquet.schema_arrow.names], str(file))
        metadata = parquet.metadata
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            out.append(Partition(str(file), (group,), first, rows))
            first += rows
    return out


# -- what runs on a worker ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a worker needs to tally a partition of an impact, all of it plain data."""

    a: Ruleset
    b: Ruleset
    overrides: tuple[tuple[str, str], ...]
    engine: str
    chart: str | None
    keep_amounts: bool
    lang: str = _i18n.DEFAULT_LANGUAGE
    rows: bool = False  # --rows: send back each row's decisions and amounts too


@dataclass(frozen=True)
class BatchPlan:
    """What a worker needs to evaluate a partition of ``regole batch``, all of it plain data."""

    rulesets: tuple[Ruleset, ...]  # the family's versions
    family: str
    forced: str | None  # --law-version
    engine: str
    lang: str = _i18n.DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Failure:
    """What went wrong on a worker, said in the client's language (exceptions do not travel well)."""

    message: str
    data: str | None = None  # the data file a worker could not read


@cache
def _law(ruleset: Ruleset) -> LawVersion:
    """The law version of a ruleset file, compiled once per worker; the file must be the client's (its
    SHA-256), or a long-lived worker would run an edited ruleset's old text, or another machine's."""
    path, sha256 = ruleset
    try:
        law = load_ruleset(Path(path))
    except OSError as exc:
        raise _WorkerError(Failure(_say("worker_ruleset", path=path, reason=exc.strerror or exc))) from None
    if law.sha256 != sha256:
        raise _WorkerError(Failure(_say("worker_ruleset", path=path, reason=_say("other_ruleset"))))
    return law


@cache
def _comparison(plan: Plan) -> Comparison:
    from ._impact_cli import parse_override, with_overrides

    a, b = _law(plan.a), _law(plan.b)
    b = with_overrides(b, {name: parse_override(b, name, text) for name, text in plan.overrides})
    return Comparison.of(a, b, chart=plan.chart, engine=plan.engine, keep_amounts=plan.keep_amounts)


def evaluate_partition(partition: Partition, plan: Plan) -> PartTally:
    """The impact's partition function: read, check and evaluate one partition, give its tally."""
    return _impact_part(partition, plan)[0]


def _impact_part(partition: Partition, plan: Plan) -> tuple[PartTally, pa.Table | None]:
    comparison = _comparison(plan)
    batch = _read(partition, [comparison.a, comparison.b])
    if not plan.rows:
        return tally_part(batch, comparison), None
    from ._impact_cli import rows_table

    tables: list[pa.Table] = []
    tally = tally_part(batch, comparison, lambda ra, rb: tables.append(rows_table(comparison, ra, rb)))
    return tally, pa.concat_tables(tables) if tables else None


def evaluate_batch_partition(partition: Partition, plan: BatchPlan) -> EvaluatedPart:
    """``regole batch``'s partition function: read, check and evaluate one partition under the version in
    force on each row's date (or the forced one), give its results and problems in row order."""
    from ._run import Library

    laws = [_law(ruleset) for ruleset in plan.rulesets]
    library = Library(versions=laws)
    forced = library.get(plan.family, plan.forced) if plan.forced else None
    layout = OutputLayout.of([forced] if forced is not None else laws)
    batch = _read(partition, laws)
    results, problems = evaluate_batch(batch, library.versions(plan.family), layout, library=library,
                                       family=plan.family, forced=forced, engine=plan.engine)
    return EvaluatedPart(results, problems, batch.rows)


def _read(partition: Partition, laws: list[LawVersion]) -> FactBatch:
    try:
        return _Reader(laws).parquet_part(partition.path, list(partition.row_groups), partition.first)
    except (OSError, pa.ArrowException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise _WorkerError(Failure(_say("worker_data", reason=reason), data=partition.path)) from None


class _WorkerError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _on_worker(function: Callable[[Partition, Any], _T], partition: Partition, plan: Any) -> _T | Failure:
    """Run a partition function in the client's language; a failure comes back as a :class:`Failure`."""
    with _i18n.language(plan.lang):
        try:
            return function(partition, plan)
        except _WorkerError as exc:
            return exc.failure
        except RegoleError as exc:
            return Failure(_say("worker_failed", path=partition.path, reason=exc))


# -- the client ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _client(scheduler: str | None, processes: bool) -> Iterator[Any]:
    """A Dask client: of a LocalCluster started here (``scheduler`` None), or of the scheduler at an address."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT}s"}):
        cluster: Any = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,  # on 127.0.0.1 only
                                   host="127.0.0.1" if processes else None, dashboard_address=LOCAL_HTTP)
            client = Client(cluster)
        else:
            _reachable(scheduler)
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except Exception as exc:  # whatever answers there, it is not a scheduler: say so, with no traceback
                reason = exc if isinstance(exc, OSError | ValueError) else _say("not_scheduler")
                raise ClusterError(_say("unreachable", address=scheduler, seconds=_i18n.number(CONNECT_TIMEOUT),
                                        reason=reason)) from None
        try:
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _reachable(address: str) -> None:
    """A TCP scheduler address answers (probed with a plain socket: a Dask client that fails to connect
    leaves a half-built object whose clean-up prints a traceback)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return  # other transports are left to Dask
        host, port = parse_host_port(location, default_port=8786)
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ClusterError(_say("unreachable", address=address, seconds=_i18n.number(CONNECT_TIMEOUT),
                                reason=reason)) from None


def _in_order(client: Any, function: Callable[[Partition, Any], _T], parts: Iterable[Partition],
              plan: Any) -> Iterator[_T]:
    """``function(part, plan)`` on the workers for every part, the results in the parts' order, with at most
    a few parts in flight per worker thread; each result is released on the cluster once taken."""
    from distributed import CancelledError, KilledWorker

    window = max(IN_FLIGHT_PER_THREAD * sum(client.nthreads().values()), 2)
    pending = iter(parts)
    running: deque[Any] = deque()  # futures, in the parts' order

    def submit() -> None:
        part = next(pending, None)
        if part is not None:
            running.append(client.submit(_on_worker, function, part, plan, pure=False))

    for _step in range(window):
        submit()
    while running:
        future = running.popleft()
        submit()
        try:
            result = future.result()
        except (KilledWorker, CancelledError, OSError) as exc:
            raise ClusterError(_say("cluster_lost", reason=exc)) from None
        future.release()
        if isinstance(result, Failure):
            if result.data is not None:
                raise FactsError([Problem(result.message, code="F000", path="$")], source=result.data)
            raise ClusterError(result.message)
        yield result


def distributed_tally(path: Path, comparison: Comparison, *, overrides: dict[str, str],
                      scheduler: str | None, processes: bool = True,
                      on_rows: Callable[[pa.Table], None] | None = None) -> PartTally:
    """Evaluate the Parquet population at ``path`` on Dask (``scheduler``: an address, or None for a local
    cluster) and merge the partitions' tallies in order; ``on_rows`` receives each partition's ``--rows``
    table, in order."""
    plan = Plan(_ruleset(comparison.a), _ruleset(comparison.b), tuple(overrides.items()), comparison.engine,
                comparison.chart, comparison.keep_amounts, _i18n.current(), on_rows is not None)
    parts = partitions(path, [comparison.a, comparison.b])
    total = PartTally()
    if not parts:
        return total
    with _client(scheduler, processes) as client:
        for tally, rows in _in_order(client, _impact_part, parts, plan):
            total.merge(tally)
            if on_rows is not None and rows is not None:
                on_rows(rows)
    return total


def batch_plan(laws: list[LawVersion], family: str, forced: LawVersion | None, engine: str) -> BatchPlan:
    return BatchPlan(tuple(_ruleset(law) for law in laws), family, forced.version if forced is not None else None,
                     engine, _i18n.current())


def distributed_batch(parts: list[Partition], plan: BatchPlan, *, scheduler: str | None,
                      processes: bool = True) -> Iterator[EvaluatedPart]:
    """``regole batch`` of some partitions on Dask: each partition's results and problems, in order."""
    if not parts:
        return
    with _client(scheduler, processes) as client:
        yield from _in_order(client, evaluate_batch_partition, parts, plan)


def _ruleset(law: LawVersion) -> Ruleset:
    return str(Path(law.path).resolve()), law.sha256


__all__ = ["BatchPlan", "Failure", "Partition", "Plan", "add_cluster_options", "batch_plan", "distributed_batch",
           "distributed_tally", "evaluate_batch_partition", "evaluate_partition", "parquet_files", "partitions",
           "require_parquet"]
