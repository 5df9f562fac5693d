"""The shard store every sharded study runs on (resumable, locked, validated, named by its settings), where its shards
run (this process or a Dask cluster), seed streams,
and :func:`read_sweep` for the trained models of a finished sweep folder."""

from ._executors import (
    DaskShards, LocalShards, SchedulerError, ShardExecutor, open_shard_executor, shard_executor,
)
from ._models import DATA_STREAM, PARAM_NAMES, derive_seed, model_arrays
from ._results import STAGES, WEIGHTS_FILE, SweepResults, read_sweep
from ._store import (
    DamagedShardWarning, Row, SweepLockedError, SweepSettingsError, clear_shards, lock_folder, read_shard, run_shards,
    shard_path, shard_seconds,
)

__all__ = [
    "DATA_STREAM", "DamagedShardWarning", "DaskShards", "LocalShards", "SchedulerError", "ShardExecutor",
    "open_shard_executor", "shard_executor", "PARAM_NAMES", "Row", "STAGES", "SweepLockedError", "SweepResults",
    "SweepSettingsError", "WEIGHTS_FILE", "clear_shards", "derive_seed", "lock_folder", "model_arrays", "read_shard", "read_sweep",
    "run_shards", "shard_path", "shard_seconds",
]
