"""Recurrent cells: one explicit step function per cell, batched over a leading model dimension.

``SRNN``, ``LSTM`` and ``GRU`` share :class:`Cell`'s machinery; build them by hand (the constructor), from Keras
arrays (:meth:`Cell.from_keras`), from ``torch.nn`` modules (:meth:`Cell.from_torch`), from weight files
(:func:`load`) or with an initialisation scheme (:meth:`Cell.init`).
"""

from __future__ import annotations

from typing import Sequence

import torch

from ._base import Cell, CellParams, State, affine
from ._convert import from_torch, to_torch
from ._gru import GRU, gru_step
from ._init import INIT_SCHEMES
from ._io import WeightFileError, load, save
from ._lstm import LSTM, lstm_step
from ._srnn import SRNN, srnn_step

CELL_CLASSES: dict[str, type[Cell]] = {"srnn": SRNN, "lstm": LSTM, "gru": GRU}
"""Cell classes by name, in the order the analyses use."""


def cell_class(kind: str) -> type[Cell]:
    """The cell class named ``kind`` (``"srnn"``, ``"lstm"`` or ``"gru"``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if kind not in CELL_CLASSES:
        raise ValueError(f"unknown cell {kind!r}; choose one of {', '.join(CELL_CLASSES)}")
    return CELL_CLASSES[kind]


def stack(cells: Sequence[Cell]) -> Cell:
    """A batched cell whose models are those of ``cells`` (all of one kind, size and gate options)."""
    if not cells:
        raise ValueError("stack needs at least one cell")
    first = cells[0]
    for c in cells[1:]:
        if type(c) is not type(first) or c._options() != first._options() or (c.units, c.input_dim) != (first.units, first.input_dim):
            raise ValueError("stack needs cells of one kind, size and gate options")
    params = CellParams(*(torch.cat(parts) for parts in zip(*(c.params for c in cells))))
    return type(first)(*params, batched=True, **first._options())


__all__ = [
    "CELL_CLASSES", "Cell", "CellParams", "GRU", "INIT_SCHEMES", "LSTM", "SRNN", "State", "WeightFileError",
    "affine", "cell_class", "from_torch", "gru_step", "load", "lstm_step", "save", "srnn_step", "stack", "to_torch",
]
