"""``regole batch`` and ``regole impact --rows`` on Dask give the same files as a local run: the same results
(Parquet, CSV, JSON Lines) in the same order, the same errors file, under both families, on a Parquet
population of several row groups with bad rows and rows no version governs; messages in the client's
language. Hostile cases: data that is not Parquet, a missing file, a worker that cannot read the data or has
another ruleset, a scheduler that cannot be reached or is not a scheduler: one clear line, no traceback.

Most runs go through the command line against one in-process LocalCluster (``--scheduler ADDRESS``, cheap);
one runs ``--dask local``, the LocalCluster of worker processes the command starts itself."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import cli

from engine._dataset import FactTable, flatten
from engine._population import load_population
from engine._resources import rulesets_dir
from engine._run import default_library
from engine.errors import ClusterError, FactsError

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

FAMILIES = {"iscro": "2021,2024", "cig-covid": "2021-l178,2021-dl41"}


def parquet_population(family: str, n: int, path: Path, *, row_groups: int = 6) -> Path:
    """``n`` synthetic applications of ``family`` as flat text columns, in several row groups; some rows are
    bad (a date that does not exist) and some fall where no version governs."""
    spec = load_population(rulesets_dir() / family / "population" / "default.yaml")
    rows = list(spec.applications(n, 3))
    laws = default_library().versions(family)
    cells = [flatten(row) for row in rows]
    selected_by = laws[0].selected_by
    for i, cell in enumerate(cells):
        if i % 17 == 5:
            cell[selected_by] = "2019-05-05"  # no version governs it
        if i % 23 == 7:
            cell[selected_by] = "2021-02-30"  # not a date
    columns = FactTable(laws).columns(rows)
    table = pa.table({c: pa.array([cell.get(c) for cell in cells], pa.string()) for c in columns})
    pq.write_table(table, str(path), row_group_size=-(-n // row_groups))
    assert pq.ParquetFile(str(path)).metadata.num_row_groups >= row_groups
    return path


@pytest.fixture(scope="module")
def populations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dask")
    return {family: parquet_population(family, 240, folder / f"{family}.parquet") for family in FAMILIES}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A running cluster (worker threads in this process), reached by its address as ``--scheduler`` does."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster:
        yield cluster.scheduler_address


def same_results(local: Path, remote: Path) -> None:
    """Parquet: the same schema and rows (row groups may differ); text: the same bytes."""
    if local.suffix == ".parquet":
        a, b = pq.read_table(str(local)), pq.read_table(str(remote))
        assert a.schema.equals(b.schema, check_metadata=True)
        assert a.equals(b)
        assert a.num_rows > 0
    else:
        assert local.read_bytes() == remote.read_bytes()
        assert local.stat().st_size > 0


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_batch_on_dask_writes_what_a_local_run_writes(populations: dict[str, Path], scheduler: str,
                                                      tmp_path: Path, family: str, suffix: str) -> None:
    data = populations[family]
    runs = {}
    for where, extra in (("local", ()), ("dask", ("--scheduler", scheduler))):
        out, errors = tmp_path / f"{where}{suffix}", tmp_path / f"{where}.errors.jsonl"
        code, _, err = cli("batch", str(data), "--out", str(out), "--errors", str(errors), *extra)
        assert code == 0, err
        runs[where] = (out, errors, err.replace(str(tmp_path / where), "WHERE"))
    same_results(runs["local"][0], runs["dask"][0])
    local_errors = runs["local"][1].read_text(encoding="utf-8")
    assert "not a real date" in local_errors
    assert f"no version of {family} governs" in local_errors
    assert runs["dask"][1].read_text(encoding="utf-8") == local_errors
    assert runs["dask"][2] == runs["local"][2]  # the same counts and first problem
    assert "240 applications read" in runs["dask"][2]


def test_batch_on_dask_forced_version_rete_engine_and_the_client_s_language(
        populations: dict[str, Path], scheduler: str, tmp_path: Path) -> None:
    """Italian asked on the command line, English in the environment the workers share: the rows' messages
    are the client's Italian; --law-version and --engine rete travel too."""
    data = populations["iscro"]
    for where, extra in (("local", ()), ("dask", ("--scheduler", scheduler))):
        code, _, err = cli("batch", str(data), "--out", str(tmp_path / f"{where}.jsonl"), "--errors",
                           str(tmp_path / f"{where}.e.jsonl"), "--law-version", "2024", "--engine", "rete",
                           "--lang", "it", *extra)
        assert code == 0, err
    same_results(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")
    errors = (tmp_path / "dask.e.jsonl").read_text(encoding="utf-8")
    assert errors == (tmp_path / "local.e.jsonl").read_text(encoding="utf-8")
    assert "non è una data esistente" in errors
    assert '"versione":"2024"' in (tmp_path / "dask.jsonl").read_text(encoding="utf-8")


def test_batch_dask_local_with_worker_processes(populations: dict[str, Path], tmp_path: Path) -> None:
    """``--dask local``: the LocalCluster of two worker processes the command starts and stops itself."""
    data = populations["cig-covid"]
    code, _, err = cli("batch", str(data), "--out", str(tmp_path / "local.csv"), "--errors",
                       str(tmp_path / "local.e.jsonl"))
    assert code == 0, err
    code, _, err = cli("batch", str(data), "--out", str(tmp_path / "dask.csv"), "--errors",
                       str(tmp_path / "dask.e.jsonl"), "--dask", "local")
    assert code == 0, err
    same_results(tmp_path / "local.csv", tmp_path / "dask.csv")
    assert (tmp_path / "dask.e.jsonl").read_bytes() == (tmp_path / "local.e.jsonl").read_bytes()


def test_batch_on_dask_reads_a_folder_of_parquet_files_in_name_order(populations: dict[str, Path], scheduler: str,
                                                                     tmp_path: Path) -> None:
    folder = tmp_path / "popolazione"
    folder.mkdir()
    table = pq.read_table(str(populations["iscro"]))
    pq.write_table(table.slice(0, 100), str(folder / "b.parquet"), row_group_size=40)
    pq.write_table(table.slice(100), str(folder / "a.parquet"), row_group_size=40)
    pq.write_table(pa.concat_tables([table.slice(100), table.slice(0, 100)]), str(tmp_path / "whole.parquet"),
                   row_group_size=70)
    code, _, err = cli("batch", str(tmp_path / "whole.parquet"), "--out", str(tmp_path / "local.jsonl"))
    assert code == 0, err
    code, _, err = cli("batch", str(folder), "--out", str(tmp_path / "dask.jsonl"), "--scheduler", scheduler)
    assert code == 0, err
    same_results(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")
    code, _, err = cli("batch", str(folder), "--out", str(tmp_path / "x.jsonl"))  # a folder is for Dask only
    assert code == 3
    assert "does not exist" in err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_impact_rows_on_dask_are_the_local_rows(populations: dict[str, Path], scheduler: str, tmp_path: Path,
                                                suffix: str) -> None:
    data = populations["iscro"]
    outputs = {}
    for where, extra in (("local", ()), ("dask", ("--scheduler", scheduler))):
        code, out, err = cli("impact", str(data), "--versions", FAMILIES["iscro"], "--json", "--rows",
                             str(tmp_path / f"{where}{suffix}"), *extra)
        assert code == 0, err
        assert "row-by-row decisions and amounts written" in err
        outputs[where] = [line for line in out.splitlines() if '"seconds"' not in line]
    assert outputs["dask"] == outputs["local"]
    same_results(tmp_path / f"local{suffix}", tmp_path / f"dask{suffix}")


def test_impact_on_dask_reads_a_folder(populations: dict[str, Path], scheduler: str, tmp_path: Path) -> None:
    folder = tmp_path / "popolazione"
    folder.mkdir()
    pq.write_table(pq.read_table(str(populations["cig-covid"])), str(folder / "a.parquet"), row_group_size=50)
    code, local, err = cli("impact", str(populations["cig-covid"]), "--versions", FAMILIES["cig-covid"], "--json")
    assert code == 0, err
    code, remote, err = cli("impact", str(folder), "--versions", FAMILIES["cig-covid"], "--json", "--scheduler",
                            scheduler)
    assert code == 0, err
    assert [line for line in remote.splitlines() if '"seconds"' not in line and '"path"' not in line] == \
        [line for line in local.splitlines() if '"seconds"' not in line and '"path"' not in line]


# -- hostile -----------------------------------------------------------------------------------------------------


def test_data_that_is_not_parquet_is_refused_before_any_work(tmp_path: Path) -> None:
    data = tmp_path / "domande.jsonl"
    data.write_text('{"data_domanda": "2024-09-10"}\n', encoding="utf-8")
    for command in (("batch", str(data), "--out", str(tmp_path / "r.csv")),
                    ("impact", str(data), "--versions", "2021,2024")):
        code, _, err = cli(*command, "--dask", "local")
        assert code == 3
        assert "read Parquet only" in err
        assert "Traceback" not in err
    empty = tmp_path / "vuota"
    empty.mkdir()
    code, _, err = cli("batch", str(empty), "--out", str(tmp_path / "r.csv"), "--dask", "local")
    assert code == 3
    assert "the folder has no .parquet file" in err


def test_a_missing_file_or_a_bad_output_stops_before_any_cluster(populations: dict[str, Path],
                                                                 tmp_path: Path) -> None:
    code, _, err = cli("batch", str(tmp_path / "nessuno.parquet"), "--out", str(tmp_path / "r.csv"), "--dask",
                       "local")
    assert code == 3
    assert "does not exist" in err
    code, _, err = cli("batch", str(populations["iscro"]), "--out", str(tmp_path / "no" / "r.csv"), "--dask",
                       "local")
    assert code == 2
    assert "does not exist" in err
    code, _, err = cli("impact", str(tmp_path / "nessuno.parquet"), "--versions", "2021,2024", "--dask", "local")
    assert code == 3
    assert "does not exist" in err


def test_a_parquet_file_with_an_unknown_column_is_refused_on_the_client(tmp_path: Path, scheduler: str) -> None:
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"data_domanda": ["2024-09-10"], "sconosciuto": ["1"]}), str(data))
    code, _, err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "r.csv"), "--scheduler",
                       scheduler)
    local_code, _, local_err = cli("batch", str(data), "--family", "iscro", "--out", str(tmp_path / "l.csv"))
    assert (code, err) == (local_code, local_err)
    assert code == 3
    assert "sconosciuto" in err


def test_a_worker_that_cannot_read_the_data_names_the_path(populations: dict[str, Path], scheduler: str,
                                                            tmp_path: Path) -> None:
    from engine._distributed import Partition, batch_plan, distributed_batch

    laws = default_library().versions("iscro")
    plan = batch_plan(laws, "iscro", None, "columnar")
    missing = str(tmp_path / "only-on-the-client.parquet")  # as a path that is not shared with the workers
    with pytest.raises(FactsError) as caught:
        list(distributed_batch([Partition(missing, (0,), 1, 10)], plan, scheduler=scheduler))
    assert missing in str(caught.value)
    assert "same path on every worker" in str(caught.value)
    assert caught.value.problems[0].code == "F000"
    other = dataclasses.replace(plan, rulesets=((plan.rulesets[0][0], "0" * 64), *plan.rulesets[1:]))
    part = Partition(str(populations["iscro"]), (0,), 1, 40)
    with pytest.raises(ClusterError, match="differs from the client's"):
        list(distributed_batch([part], other, scheduler=scheduler))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def not_a_scheduler() -> Iterator[str]:
    """An address where something else answers (a web server, say): it replies with text, not Dask."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:  # a timeout: look at stop again
                continue
            with connection:
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" * 8)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_an_unreachable_scheduler_is_one_clear_line(populations: dict[str, Path], tmp_path: Path,
                                                    not_a_scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine._distributed

    monkeypatch.setattr(engine._distributed, "CONNECT_TIMEOUT", 2.0)
    data = str(populations["iscro"])
    refused = f"tcp://127.0.0.1:{_free_port()}"
    for address in (refused, not_a_scheduler, "tcp://[::1"):
        for command in (("batch", data, "--out", str(tmp_path / "r.csv")), ("impact", data, "--versions", "2021,2024")):
            code, out, err = cli(*command, "--scheduler", address)
            assert code == 2, err
            assert err.startswith(f"regole: cannot reach the Dask scheduler at {address} within 2 seconds")
            assert err.count("\n") == 1
            assert "Traceback" not in err
            assert out == ""
    code, _, err = cli("batch", data, "--out", str(tmp_path / "r.csv"), "--scheduler", not_a_scheduler)
    assert "is not a Dask scheduler" in err
