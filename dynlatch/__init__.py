"""dynlatch: the dynamics of small recurrent cells, and why a one-unit LSTM latches badly."""

from ._version import __version__
from . import _jit  # noqa: E402

_jit.install()  # before any kernel module is imported: compiled kernels are cached by the source they depend on

from . import bengio, cells, dynamics, landscape, scripting, sweep, tasks  # noqa: E402
from ._activations import GATE_ACTIVATIONS  # noqa: E402
from ._evaluate import LOSSES, EvalResult, evaluate  # noqa: E402
from ._model import READOUTS, Model  # noqa: E402
from ._train import BACKENDS, TrainResult, train  # noqa: E402
from .cells import GRU, LSTM, MGU, SRNN, Cell  # noqa: E402
from .sweep import read_sweep  # noqa: E402

__all__ = [
    "BACKENDS", "GATE_ACTIVATIONS", "GRU", "LOSSES", "LSTM", "MGU", "READOUTS", "SRNN", "Cell", "EvalResult", "Model",
    "TrainResult", "bengio", "cells", "dynamics", "evaluate", "landscape", "read_sweep", "scripting", "studies", "sweep",
    "symbolic", "tasks", "train",
]


def __getattr__(name: str):
    """``dynlatch.symbolic`` (sympy takes a second to load) and ``dynlatch.studies`` (every study, the symbolic
    derivations among them) are imported on first use."""
    if name in ("symbolic", "studies"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
