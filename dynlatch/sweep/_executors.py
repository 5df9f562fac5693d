"""Where a sweep's shards are computed: in this process (``local``) or as tasks on a Dask ``distributed`` cluster.

:func:`run_shards <dynlatch.sweep.run_shards>` hands the shards it has not found in the store to a
:class:`ShardExecutor` and writes each result into the store as it arrives, so the store never depends on where a
shard was computed: a cluster run resumes locally and the other way round, and the output is the same bytes.

* :class:`LocalShards` runs them one after the other in this process, in shard order (the default, ``local``).
* :class:`DaskShards` submits each as a task to the Dask scheduler at ``tcp://HOST:PORT`` (``dask scheduler`` and
  ``dask worker`` processes started by the user). The workers compute and send the result back; only this process
  writes files, so workers need no shared folder, only the same dynlatch and dependencies. A worker that dies takes
  its running shards with it and the scheduler re-runs them on another worker (Dask's ``allowed-failures``, 3 by
  default); a shard is written once, when its result reaches this process.

:func:`open_shard_executor` checks the address and contacts the scheduler before anything runs: a malformed or
unreachable address raises :class:`SchedulerError` (the command line reports it as one line, exit code 2).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterator, Protocol, Sequence

from .. import _checks

ShardKey = dict[str, Any]
ShardOutcome = dict[str, Any]
"""What computing one shard gives: ``{"rows", "extra", "seconds", "compile_seconds"}``."""

CONNECT_TIMEOUT_S = 10.0
_one_shard_at_a_time = threading.Lock()


class SchedulerError(RuntimeError):
    """The ``--scheduler`` address is malformed, or no Dask scheduler answers there."""


def compute_shard(compute: Callable[[ShardKey], Any], warm: Callable[[ShardKey], Any] | None,
                  key: ShardKey) -> ShardOutcome:
    """Compute one shard wherever this runs: ``warm(key)`` (timed as ``compile_seconds``), then ``compute(key)``.

    One shard at a time per process: a Dask worker with several threads would otherwise launch numba's parallel
    kernels from two threads at once, which its default threading layer does not support; the kernels themselves use
    every core of the process.
    """
    with _one_shard_at_a_time:
        t0 = time.perf_counter()
        if warm is not None:
            warm(key)
        t1 = time.perf_counter()
        result = compute(key)
        seconds = time.perf_counter() - t1
    rows, extra = result if isinstance(result, tuple) else (result, None)
    return {"rows": rows, "extra": extra, "seconds": seconds, "compile_seconds": t1 - t0}


class ShardExecutor(Protocol):
    """Runs shards somewhere and hands back their outcomes as they finish."""

    where: str
    """``local`` or the scheduler's address (for messages)."""

    def outcomes(self, job: Callable[[ShardKey], ShardOutcome],
                 keys: Sequence[ShardKey]) -> Iterator[tuple[int, ShardOutcome]]:
        """``(i, job(keys[i]))`` for every key, in the order they finish. ``job`` must be picklable for a cluster (a
        module-level function or a :func:`functools.partial` of one)."""
        ...

    def close(self) -> None:
        """Release what the executor holds (the cluster connection)."""
        ...


class LocalShards:
    """Every shard in this process, in shard order: what a sweep has always done."""

    where = _checks.SCHEDULER_LOCAL

    def outcomes(self, job: Callable[[ShardKey], ShardOutcome],
                 keys: Sequence[ShardKey]) -> Iterator[tuple[int, ShardOutcome]]:
        for i, key in enumerate(keys):
            yield i, job(key)

    def close(self) -> None:
        pass


class DaskShards:
    """Every shard as a task of the Dask scheduler a connected ``distributed.Client`` talks to."""

    def __init__(self, client: Any, address: str):
        self.client = client
        self.where = address

    def outcomes(self, job: Callable[[ShardKey], ShardOutcome],
                 keys: Sequence[ShardKey]) -> Iterator[tuple[int, ShardOutcome]]:
        from distributed import KilledWorker, as_completed  # lazy: distributed is only needed with a cluster

        run = uuid.uuid4().hex[:12]
        futures = {self.client.submit(job, key, key=f"dynlatch-shard-{run}-{i}", pure=False): i
                   for i, key in enumerate(keys)}
        try:
            for future in as_completed(list(futures), loop=self.client.loop):
                yield futures[future], future.result()
        except (KilledWorker, OSError, TimeoutError) as e:  # the cluster failed, not the shard's code
            raise SchedulerError(f"--scheduler: the Dask cluster at {self.where} failed mid-run ({type(e).__name__}: "
                                 f"{_checks.one_line(str(e)) or 'no detail'}); the finished shards are kept, run the "
                                 "same command again to resume") from None
        finally:  # an error, Ctrl-C or an abandoned generator: withdraw what has not finished
            with contextlib.suppress(Exception):  # a lost scheduler cannot be told; nothing is left to withdraw
                self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address[len("tcp://"):].rpartition(":")
    return host.strip("[]"), int(port)


def open_shard_executor(scheduler: str, *, timeout: float = CONNECT_TIMEOUT_S) -> ShardExecutor:
    """The executor for ``--scheduler``: :class:`LocalShards` for ``local``, else a :class:`DaskShards` connected to
    the scheduler at ``tcp://HOST:PORT``.

    Raises:
        SchedulerError: the address is malformed, nothing listens there, or it is not a Dask scheduler that answers
            within ``timeout`` seconds.
    """
    try:
        address = _checks.scheduler("--scheduler", scheduler)
    except _checks.CheckError as e:
        raise SchedulerError(str(e)) from None
    if address == _checks.SCHEDULER_LOCAL:
        return LocalShards()
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise SchedulerError(f"--scheduler: no Dask scheduler reachable at {address} ({e.strerror or e}); start one "
                             "with `dask scheduler` or use --scheduler local") from None
    from distributed import Client  # lazy: importing distributed costs about a second, and only clusters need it

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise SchedulerError(f"--scheduler: {address} does not answer as a Dask scheduler within {timeout:g} s "
                             f"({type(e).__name__})") from None
    return DaskShards(client, address)


@contextlib.contextmanager
def shard_executor(scheduler: str) -> Iterator[ShardExecutor]:
    """:func:`open_shard_executor` as a context manager (the connection is closed on leaving)."""
    executor = open_shard_executor(scheduler)
    try:
        yield executor
    finally:
        executor.close()
