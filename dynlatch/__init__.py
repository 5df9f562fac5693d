"""dynlatch: the dynamics of small recurrent cells, and why a one-unit LSTM latches badly."""

from . import cells, tasks
from ._activations import GATE_ACTIVATIONS
from ._model import READOUTS, Model
from ._success_sweep import (
    DEFAULT_LENGTHS, QUESTION_LENGTHS, SweepConfig, plot_success, run_success_sweep, summarise_success,
)
from ._sweep import SweepSettingsError, run_shards
from ._train import BACKENDS, TrainResult, train
from .cells import GRU, LSTM, SRNN, Cell

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LENGTHS", "QUESTION_LENGTHS", "SweepConfig", "SweepSettingsError", "plot_success", "run_shards",
    "run_success_sweep", "summarise_success",
    "BACKENDS", "GATE_ACTIVATIONS", "GRU", "LSTM", "READOUTS", "SRNN", "Cell", "Model", "TrainResult", "cells", "tasks",
    "train",
]
