"""Sweeps: the resumable, locked, validated shard store and the latching (success-frequency) sweep built on it."""

from ._store import (
    DamagedShardWarning, Row, SweepLockedError, SweepSettingsError, lock_folder, read_shard, run_shards, shard_path,
    shard_seconds,
)
from ._success import (
    DEFAULT_LENGTHS, PARAM_NAMES, QUESTION_LENGTHS, SweepConfig, derive_seed, model_arrays, plot_success,
    run_success_sweep, shard_keys, summarise_success, sweep_data, sweep_seconds, train_shard, warm_up,
)
from ._weights import WEIGHTS_FILE, SweepResults, read_sweep, sweep_arrays, write_weights

__all__ = [
    "DEFAULT_LENGTHS", "DamagedShardWarning", "PARAM_NAMES", "QUESTION_LENGTHS", "Row", "SweepConfig",
    "SweepLockedError", "SweepResults", "SweepSettingsError", "WEIGHTS_FILE", "derive_seed", "lock_folder",
    "model_arrays", "plot_success", "read_shard", "read_sweep", "run_shards", "run_success_sweep", "shard_keys",
    "shard_path", "shard_seconds", "summarise_success", "sweep_arrays", "sweep_data", "sweep_seconds", "train_shard",
    "warm_up", "write_weights",
]
