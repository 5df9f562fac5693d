"""dynlatch: the dynamics of small recurrent cells, and why a one-unit LSTM latches badly."""

from . import bengio, cells, scripting, tasks
from ._activations import GATE_ACTIVATIONS
from ._model import READOUTS, Model
from ._success_sweep import (
    DEFAULT_LENGTHS,
    QUESTION_LENGTHS,
    SweepConfig,
    plot_success,
    run_success_sweep,
    shard_keys,
    summarise_success,
    sweep_seconds,
    train_shard,
)
from ._sweep import SweepSettingsError, read_shard, run_shards, shard_seconds
from ._train import BACKENDS, TrainResult, train
from .cells import GRU, LSTM, SRNN, Cell

__version__ = "0.1.0"

__all__ = [
    "BACKENDS", "DEFAULT_LENGTHS", "bengio", "GATE_ACTIVATIONS", "GRU", "LSTM", "QUESTION_LENGTHS", "READOUTS", "SRNN", "Cell",
    "Model", "SweepConfig", "SweepSettingsError", "TrainResult", "cells", "plot_success", "read_shard", "run_shards",
    "run_success_sweep", "scripting", "shard_keys", "shard_seconds", "summarise_success", "sweep_seconds", "tasks",
    "train", "train_shard",
]
