"""Recurrent cells: one module per kind, one explicit single-model step function each, batched over models.

``SRNN``, ``LSTM``, ``GRU`` and ``MGU`` share :class:`Cell`'s machinery and are registered by name (:data:`CELL_CLASSES`,
:func:`cell_class`). Build them by hand (the constructor), from Keras arrays (:meth:`Cell.from_keras`), from
``torch.nn`` modules (:func:`from_torch`), from weight files (:func:`load`), with an initialisation scheme
(:meth:`Cell.init`), or from another cell by parameter name (:meth:`Cell.with_params`). A new kind is one module
that subclasses :class:`Cell`, writes its step function and calls :func:`register`.
"""

from __future__ import annotations

from ._base import Cell, CellParams, State, StepFunction, affine, stack
from ._convert import from_torch, to_torch
from ._gru import GRU, gru_step
from ._init import INIT_SCHEMES
from ._io import WeightFileError, load, save
from ._lstm import LSTM, lstm_step
from ._mgu import MGU, mgu_step
from ._registry import CELL_CLASSES, cell_class, kinds, register, unregister
from ._srnn import SRNN, srnn_step

__all__ = [
    "CELL_CLASSES", "Cell", "CellParams", "GRU", "INIT_SCHEMES", "LSTM", "MGU", "SRNN", "State", "StepFunction",
    "WeightFileError", "affine", "cell_class", "from_torch", "gru_step", "kinds", "load", "lstm_step", "mgu_step",
    "register", "save", "srnn_step", "stack", "to_torch", "unregister",
]
