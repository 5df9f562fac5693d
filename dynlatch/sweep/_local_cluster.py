"""A Dask cluster on this machine, as separate processes: one ``dask scheduler`` and ``dask worker`` processes, all
on 127.0.0.1 with ports the system picks. For the cluster demo, the cluster benchmark and the tests; on a real
cluster the same two commands run on other machines (``docs/scaling.md``).

The processes are started with this interpreter (``python -m dask scheduler`` / ``python -m dask worker``), so they run
the same dynlatch and dependencies as the caller; :meth:`LocalDaskCluster.close` (also on leaving a ``with`` block,
whatever happened inside it) stops every process it started, by its id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


class ClusterStartError(RuntimeError):
    """A scheduler or worker of the local cluster did not come up."""


class LocalDaskCluster:
    """A scheduler and workers on 127.0.0.1 (separate processes); ``address`` is the scheduler's ``tcp://`` address.

    Example::

        with LocalDaskCluster(workers=2) as cluster:
            dynlatch.cli(["run", "latching-sweep", "--quick", "--scheduler", cluster.address])
    """

    def __init__(self, *, workers: int = 0, worker_env: Mapping[str, str] | None = None):
        self._folder = tempfile.TemporaryDirectory(prefix="dynlatch-cluster-")
        self.logs = Path(self._folder.name)
        self.workers: list[subprocess.Popen] = []
        self.scheduler: subprocess.Popen | None = None
        self.address = ""
        try:
            self._start_scheduler()
            for _ in range(workers):
                self.add_worker(env=worker_env)
            if workers:
                self.wait_for_workers(workers)
        except BaseException:
            self.close()
            raise

    def _spawn(self, args: list[str], log_name: str, env: Mapping[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / log_name, "wb")
        try:
            return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        finally:
            log.close()

    def _start_scheduler(self) -> None:
        info = self.logs / "scheduler.json"
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(info)], "scheduler.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise ClusterStartError(f"dask scheduler exited with code {self.scheduler.returncode}: "
                                        f"{self.log('scheduler')[-500:]}")
            try:
                self.address = json.loads(info.read_text())["address"]
                return
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                time.sleep(0.1)
        raise ClusterStartError(f"dask scheduler did not start within {START_TIMEOUT_S:g} s")

    def add_worker(self, *, env: Mapping[str, str] | None = None, nanny: bool = True) -> subprocess.Popen:
        """Start one more worker process (one thread; ``nanny=False``: no nanny restarts it if it dies)."""
        args = ["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                "--nanny" if nanny else "--no-nanny"]
        worker = self._spawn(args, f"worker-{len(self.workers)}.log", env)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, *, timeout: float = START_TIMEOUT_S) -> None:
        """Block until ``count`` workers are connected to the scheduler."""
        from distributed import Client  # lazy: distributed is only needed with a cluster

        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout)

    def log(self, name: str) -> str:
        """The output of ``scheduler`` or ``worker-K`` so far."""
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        """Stop the workers, then the scheduler (SIGTERM, then SIGKILL after a grace period); remove the logs."""
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._folder.cleanup()

    def __enter__(self) -> "LocalDaskCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
