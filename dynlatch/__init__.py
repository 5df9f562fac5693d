"""dynlatch: the dynamics of small recurrent cells, and why a one-unit LSTM latches badly."""

__version__ = "0.1.0"

from . import cells, scripting, sweep, tasks  # noqa: E402
from ._activations import GATE_ACTIVATIONS  # noqa: E402
from ._evaluate import LOSSES, EvalResult, evaluate  # noqa: E402
from ._model import READOUTS, Model  # noqa: E402
from ._train import BACKENDS, TrainResult, train  # noqa: E402
from .cells import GRU, LSTM, SRNN, Cell  # noqa: E402
from .sweep import read_sweep  # noqa: E402

__all__ = [
    "BACKENDS", "GATE_ACTIVATIONS", "GRU", "LSTM", "READOUTS", "SRNN", "Cell", "EvalResult", "LOSSES", "Model", "TrainResult", "cells",
    "read_sweep", "scripting", "sweep", "tasks", "train", "evaluate",
]
