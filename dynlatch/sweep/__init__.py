"""Sweeps: the resumable, locked, validated shard store and the latching (success-frequency) sweep built on it."""

from ._store import (
    DamagedShardWarning, Row, SweepLockedError, SweepSettingsError, lock_folder, read_shard, run_shards, shard_path,
    shard_seconds,
)
from ._success import (
    DEFAULT_LENGTHS, QUESTION_LENGTHS, SweepConfig, derive_seed, plot_success, run_success_sweep, shard_keys,
    summarise_success, sweep_data, sweep_seconds, train_shard, warm_up,
)

__all__ = [
    "DEFAULT_LENGTHS", "DamagedShardWarning", "QUESTION_LENGTHS", "Row", "SweepConfig", "SweepLockedError",
    "SweepSettingsError", "derive_seed", "lock_folder", "plot_success", "read_shard", "run_shards",
    "run_success_sweep", "shard_keys", "shard_path", "shard_seconds", "summarise_success", "sweep_data",
    "sweep_seconds", "train_shard", "warm_up",
]
