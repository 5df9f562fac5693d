"""Shards on a Dask cluster (dynlatch.sweep._executors, --scheduler): the oracle is always the local run of the same
settings. A cluster run (a real scheduler and workers, separate processes) gives the local run's runs.csv byte for
byte; a worker killed while training has its shard re-run on another worker, nothing lost or duplicated; a cluster run
resumes locally and a local run on the cluster; every sharded study gives its local bytes; a malformed or unreachable address is one line, exit 2, nothing
written."""

import csv
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from dynlatch._cli import main as cli
from dynlatch.scripting import parse_config
from dynlatch.studies import STUDIES
from dynlatch.studies.latching_sweep import SweepConfig, shard_keys
from dynlatch.sweep import (
    DaskShards, LocalShards, SchedulerError, open_shard_executor, read_shard, run_shards, shard_path,
)
from dynlatch.sweep._local_cluster import LocalDaskCluster

# tiny and on the torch backend (no numba compile): 2 cells x 2 lengths x 2 repeats, 100 sequences, 1 epoch
TINY = ["--cells", "srnn,lstm", "--lens", "3,5", "--repeats", "2", "--n", "100", "--epochs", "1", "--quiet",
        "--backend", "torch"]
TINY_CONFIG = SweepConfig(cells=("srnn", "lstm"), lengths=(3, 5), repeats=2, n=100, epochs=1, backend="torch")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The local run every cluster run is compared with."""
    out = tmp_path_factory.mktemp("local")
    assert cli(["run", "latching-sweep", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def threads_cluster():
    """A Dask scheduler and two one-thread workers inside this process, reached over tcp like a real cluster (no
    process start-up: for checking each sharded study's path cheaply)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def shard_files(out: Path) -> list[Path]:
    return sorted((out / "shards").glob("*.json"))


def assert_same_run(out: Path, reference: Path) -> None:
    assert (out / "runs.csv").read_bytes() == (reference / "runs.csv").read_bytes()
    with np.load(out / "weights.npz") as a, np.load(reference / "weights.npz") as b:
        assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
    rows = list(csv.DictReader(open(out / "runs.csv")))
    assert len({(r["cell"], r["T"], r["repeat"]) for r in rows}) == len(rows) == 2 * 2 * 2  # none lost, none twice
    expected = {shard_path(k, out_dir=out, settings=TINY_CONFIG.settings()) for k in shard_keys(TINY_CONFIG)}
    assert set(shard_files(out)) == expected  # one file per shard: nothing written twice under another name


def square(key):
    return [{"x": key["x"], "square": key["x"] ** 2}]


def test_run_shards_on_an_in_process_dask_cluster_writes_the_local_store(tmp_path):
    """The same store, byte for byte, whether the shards ran here or as Dask tasks (a cluster in this process)."""
    keys = [{"x": x} for x in range(6)]
    settings = {"power": 2}
    local = run_shards(keys, square, out_dir=tmp_path / "local", settings=settings, progress=False,
                       executor=LocalShards())
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        remote = run_shards(keys, square, out_dir=tmp_path / "dask", settings=settings, progress=False,
                            executor=DaskShards(client, cluster.scheduler_address))
    assert remote == local == [{"x": x, "square": x * x} for x in range(6)]
    for key in keys:
        a = read_shard(key, out_dir=tmp_path / "local", settings=settings)
        b = read_shard(key, out_dir=tmp_path / "dask", settings=settings)
        assert a["rows"] == b["rows"] and a["key"] == b["key"]


def lost_worker(key):
    from types import SimpleNamespace

    from distributed import KilledWorker

    last = SimpleNamespace(address="tcp://127.0.0.1:1")  # as the scheduler reports a task that took 3 workers down
    raise KilledWorker(f"dynlatch-shard-{key['x']}", last, 3)


def test_a_cluster_failing_mid_run_is_a_scheduler_error_and_keeps_the_finished_shards(tmp_path):
    """A task the cluster gave up on (KilledWorker) ends the run with SchedulerError, one line the command prints with
    exit 2, not a traceback."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        with pytest.raises(SchedulerError, match="failed mid-run .*KilledWorker.*run the same command again"):
            run_shards([{"x": 1}], lost_worker, out_dir=tmp_path / "dask", settings={}, progress=False,
                       executor=DaskShards(client, cluster.scheduler_address))


@pytest.mark.parametrize("address, says", [
    ("tcp://127.0.0.1", "tcp://HOST:PORT"), ("http://127.0.0.1:8786", "tcp://HOST:PORT"), ("tcp://:8786", "HOST"),
    ("tcp://127.0.0.1:0", "1..65535"), ("tcp://127.0.0.1:99999", "1..65535"), ("127.0.0.1:8786", "tcp://"),
])
def test_a_malformed_scheduler_is_one_line_and_exit_2_before_anything_is_written(address, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path / "out"), "--scheduler", address])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "--scheduler" in err[0] and says in err[0]
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line_and_exit_2_before_anything_is_written(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"  # a free port: nothing listens there
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path / "out"), "--scheduler", address])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "no Dask scheduler reachable" in err[0] and address in err[0]
    assert not (tmp_path / "out").exists()
    with pytest.raises(SchedulerError, match="no Dask scheduler reachable"):
        open_shard_executor(address)


def holds_a_task(address: str, worker_pid: int) -> bool:
    """Whether the worker process ``worker_pid`` has been given a task by the scheduler at ``address``."""
    with Client(address, timeout=30, set_as_default=False) as client:
        pids = client.run(os.getpid)  # worker address -> its process id
        return any(pids.get(worker) == worker_pid and keys for worker, keys in client.processing().items())


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_shard_rerun_and_the_result_is_the_local_run(local_run, tmp_path):
    """Worker A (no nanny, so nothing restarts it) is SIGKILLed by the fault point inside its first shard; worker B,
    started once A holds a task, re-runs what A held. The folder equals the local run's: nothing lost, nothing twice."""
    out = tmp_path / "cluster"
    with LocalDaskCluster() as cluster:
        doomed = cluster.add_worker(env={"DYNLATCH_KILL_AT": "train"}, nanny=False)
        cluster.wait_for_workers(1)
        codes = []
        client_run = threading.Thread(target=lambda: codes.append(
            cli(["run", "latching-sweep", *TINY, "--out", str(out), "--scheduler", cluster.address])))
        client_run.start()
        deadline = time.monotonic() + 120
        while not holds_a_task(cluster.address, doomed.pid) and doomed.poll() is None:
            assert time.monotonic() < deadline, "worker A was never given a shard"
            time.sleep(0.2)
        cluster.add_worker()
        assert doomed.wait(120) == -9  # killed by SIGKILL while it held a shard
        client_run.join(180)
        assert codes == [0]
    assert_same_run(out, local_run)


def test_a_cluster_run_resumes_locally_and_a_local_run_on_a_cluster(local_run, threads_cluster, tmp_path):
    out, local = tmp_path / "cluster", tmp_path / "local"
    assert cli(["run", "latching-sweep", *TINY, "--out", str(out), "--scheduler", threads_cluster]) == 0
    shutil.copytree(local_run, local)
    for files in (shard_files(out)[:2], shard_files(local)[1:3]):  # withdraw shards, and the finished runs
        for f in files:
            f.unlink()
    (out / "summary.json").unlink()
    (local / "summary.json").unlink()
    assert cli(["run", "latching-sweep", *TINY, "--out", str(out)]) == 0
    assert cli(["run", "latching-sweep", *TINY, "--out", str(local), "--scheduler", threads_cluster]) == 0
    assert_same_run(out, local_run)
    assert_same_run(local, local_run)
    assert json.loads((out / "summary.json").read_text())["models"] == 8


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_sharded_studies_take_scheduler_and_the_others_refuse_it(name, tmp_path, capsys):
    study = STUDIES[name]
    argv = ["--quick", "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:8786"]
    if study.sharded:
        _, args = parse_config(study.config, study.name, study.description, argv, sharded=True)
        assert args.scheduler == "tcp://127.0.0.1:8786"
    else:
        with pytest.raises(SystemExit) as e:
            parse_config(study.config, study.name, study.description, argv, sharded=False)
        assert e.value.code == 2 and "unrecognized arguments: --scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, argv", [
    ("latching-sweep", TINY),
    ("bit-relay", ["--setups", "keras2,edge", "--cells", "srnn,lstm", "--lens", "3,5", "--ranking-len", "5",
                   "--repeats", "2", "--epochs", "1", "--n", "40", "--units", "2"]),
    ("latching-landscape", ["--lens", "3,5", "--resolution", "8", "--n", "20", "--init-points", "4"]),
    ("lstm-failure", ["--lens", "5", "--repeats", "2", "--powered-repeats", "2", "--powered-lens", "5", "--n", "40",
                      "--epochs", "1", "--hypotheses", "forget_bias_3", "--predictor-cells", "lstm",
                      "--predictor-lens", "5", "--fit-seeds", "4", "--fresh-seeds", "4", "--trace-length", "5",
                      "--lambda-cells", "lstm", "--lambdas", "1.0", "--lambda-lens", "5", "--lambda-repeats", "1",
                      "--snr-batches", "2", "--bootstrap", "100", "--landscape-length", "5",
                      "--landscape-resolution", "3", "--latch-sigmas", "0.1"]),
])
def test_sharded_studies_give_the_local_bytes_on_a_cluster(name, argv, threads_cluster, tmp_path):
    """(The fixed-point census's shards are a latching sweep's, run by the same function.)"""
    for where, scheduler in (("local", "local"), ("cluster", threads_cluster)):
        assert cli(["run", name, *argv, "--quiet", "--out", str(tmp_path / where), "--scheduler", scheduler]) == 0
    for table in sorted((tmp_path / "local").glob("*.csv")):
        assert table.read_bytes() == (tmp_path / "cluster" / table.name).read_bytes(), table.name
    assert len(shard_files(tmp_path / "cluster")) == len(shard_files(tmp_path / "local")) > 0
    for npz in sorted((tmp_path / "local").glob("*.npz")):
        with np.load(npz) as a, np.load(tmp_path / "cluster" / npz.name) as b:
            assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)


RELAY = ["--setups", "keras2", "--cells", "srnn", "--lens", "3", "--ranking-len", "3", "--repeats", "2", "--epochs",
         "1", "--n", "40", "--units", "2", "--quiet"]


def test_force_replaces_a_sharded_run_made_with_other_settings_and_keeps_shards_that_still_serve(tmp_path, capsys):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert cli(["run", "bit-relay", *RELAY, "--out", str(out)]) == 0
    with pytest.raises(SystemExit) as e:
        cli(["run", "bit-relay", *RELAY, "--seed", "1", "--out", str(out)])
    assert e.value.code == 2 and "--force" in capsys.readouterr().err
    assert cli(["run", "bit-relay", *RELAY, "--seed", "1", "--force", "--out", str(out)]) == 0
    assert cli(["run", "bit-relay", *RELAY, "--seed", "1", "--out", str(fresh)]) == 0
    assert (out / "runs.csv").read_bytes() == (fresh / "runs.csv").read_bytes()
    assert [f.name for f in shard_files(out)] == [f.name for f in shard_files(fresh)]  # the old shards are gone

    sweep = tmp_path / "sweep"
    assert cli(["run", "latching-sweep", *TINY, "--out", str(sweep)]) == 0
    before = {f.name: f.stat().st_mtime_ns for f in shard_files(sweep)}
    assert cli(["run", "latching-sweep", *TINY, "--threshold", "0.7", "--force", "--out", str(sweep)]) == 0
    assert {f.name: f.stat().st_mtime_ns for f in shard_files(sweep)} == before  # summary-only change: reused
    assert json.loads((sweep / "summary.json").read_text())["threshold"] == 0.7
