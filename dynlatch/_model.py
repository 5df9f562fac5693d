"""A classifier: a (batched) recurrent cell read out at the last step by a dense layer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from . import _checks
from .cells import Cell, cell_class
from .cells._init import READOUT_STREAM, check_scheme, glorot_uniform, model_rng
from .cells._io import (
    WeightFileError, cell_from_record, cell_record, read_record, record_array, record_bool, record_string, write_record,
)

READOUTS: tuple[str, ...] = ("softmax", "sigmoid")
"""``"softmax"``: Dense(2) + softmax + cross-entropy, as in the question. ``"sigmoid"``: Dense(1) + sigmoid +
binary cross-entropy. The two are the same model family; they differ in parametrisation."""


def readout_classes(readout: str) -> int:
    if readout not in READOUTS:
        raise ValueError(f"unknown readout {readout!r}; choose one of {', '.join(READOUTS)}")
    return 2 if readout == "softmax" else 1


@dataclass
class Model:
    """``M`` independent classifiers: ``logits = h_T W_out + b_out`` on top of a batched cell.

    Attributes:
        cell: the batched recurrent cell (M models).
        weight: read-out weights (M, units, C), C = 2 for softmax and 1 for sigmoid.
        bias: read-out bias (M, C).
        seeds: the model seeds (they fix initialisation and data order, see :meth:`init`), or None for models built
            from weights: they can be evaluated and saved, but :func:`dynlatch.train` needs seeds.
        readout: ``"softmax"`` or ``"sigmoid"``.
    """

    cell: Cell
    weight: torch.Tensor
    bias: torch.Tensor
    seeds: tuple[int, ...] | None
    readout: str = "softmax"

    def __post_init__(self) -> None:
        C = readout_classes(self.readout)
        M, n = self.cell.models, self.cell.units
        if tuple(self.weight.shape) != (M, n, C) or tuple(self.bias.shape) != (M, C):
            raise ValueError(f"read-out must be weight ({M}, {n}, {C}) and bias ({M}, {C}); got "
                             f"{tuple(self.weight.shape)} and {tuple(self.bias.shape)}")
        if self.seeds is not None:
            self.seeds = tuple(int(s) for s in self.seeds)
            if len(self.seeds) != M:
                raise ValueError(f"{len(self.seeds)} seeds for {M} models")

    @property
    def models(self) -> int:
        return self.cell.models

    @classmethod
    def init(
        cls,
        cell: str,
        *,
        seeds: Sequence[int],
        units: int = 1,
        input_dim: int = 1,
        init: str = "keras2",
        recurrent_activation: str | None = None,
        reset_after: bool | None = None,
        readout: str = "softmax",
        dtype: torch.dtype = torch.float32,
        device: Any = None,
    ) -> "Model":
        """``len(seeds)`` freshly initialised models.

        Model ``m`` is a function of ``seeds[m]`` alone: its cell is ``cell_class(cell).init(seed=seeds[m])``, its
        read-out is drawn from the seed's read-out stream (Keras: glorot-uniform weight, zero bias; torch:
        U(-1/sqrt(units), 1/sqrt(units)) for both, as ``nn.Linear``).

        Raises:
            ValueError: unknown cell, scheme or read-out; seeds, units or input_dim that are not integers (>= 0,
                >= 1, >= 1).
        """
        check_scheme(init)
        seeds = _checks.seeds("seeds", seeds)
        units = _checks.integer("units", units, minimum=1)
        input_dim = _checks.integer("input_dim", input_dim, minimum=1)
        c = cell_class(cell).init(units=units, input_dim=input_dim, seed=list(seeds), scheme=init,
                                  recurrent_activation=recurrent_activation, reset_after=reset_after, dtype=dtype,
                                  device=device)
        C = readout_classes(readout)
        weights, biases = [], []
        for s in seeds:
            rng = model_rng(s, READOUT_STREAM)
            if init == "keras2":
                weights.append(glorot_uniform(rng, (units, C)))
                biases.append(np.zeros(C))
            else:
                k = 1.0 / np.sqrt(units)
                weights.append(rng.uniform(-k, k, size=(units, C)))
                biases.append(rng.uniform(-k, k, size=C))
        as_t = lambda a: torch.as_tensor(np.stack(a), dtype=dtype, device=device)  # noqa: E731
        return cls(c, as_t(weights), as_t(biases), seeds, readout)

    def select(self, index: Sequence[int]) -> "Model":
        """The sub-batch of models ``index``."""
        idx = list(index)
        seeds = None if self.seeds is None else tuple(self.seeds[i] for i in idx)
        return Model(self.cell[idx], self.weight[idx], self.bias[idx], seeds, self.readout)

    def to(self, dtype: torch.dtype | None = None, device: Any = None) -> "Model":
        cast = lambda t: t.to(dtype=dtype or t.dtype, device=device or t.device)  # noqa: E731
        return replace(self, cell=self.cell.to(dtype, device), weight=cast(self.weight), bias=cast(self.bias))

    def parameters(self) -> list[torch.Tensor]:
        """All trainable tensors, each with the model dimension first."""
        return [*self.cell.params, self.weight, self.bias]

    def logits(self, x: Any) -> torch.Tensor:
        """Read-out logits (M, batch, C) of inputs (batch, T, D) shared by all models, or (M, batch, T, D)."""
        h = self.cell.hidden(self.cell.run(torch.as_tensor(x), return_state=True)[1])
        if not self.cell.batched:
            h = h.unsqueeze(0)
        return torch.matmul(h, self.weight) + self.bias.unsqueeze(1)

    def losses(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-model mean loss (M,) and per-model number correct (M,) on ``(x, y)``; ``y`` is (batch,) or (M, batch)."""
        logits = self.logits(x)
        y = torch.as_tensor(y, device=logits.device).expand(logits.shape[:2])
        if self.readout == "softmax":
            logp = torch.log_softmax(logits, dim=-1)
            loss = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
            pred = logits.argmax(-1)
        else:
            z = logits.squeeze(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y.to(z.dtype), reduction="none")
            pred = (z > 0).long()
        return loss.mean(-1), (pred == y).sum(-1)

    # -- files -------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the whole model (cell, read-out, read-out kind, seeds when set) to ``.npz`` or ``.json``, atomically.

        The record holds the cell's Keras-layout keys (so :func:`dynlatch.cells.load` reads the cell from it too)
        plus ``format = "dynlatch.model"``, ``readout``, ``W_out`` (M, n, C), ``b_out`` (M, C), ``batched`` (whether
        the cell carries the model dimension), ``dtype`` and optional ``seeds`` (M,). ``.npz`` keeps every array's
        dtype; JSON stores float64 values exactly (shortest round-trip decimal) and the dtype by name.
        :meth:`load` gives back a model equal to this one bit for bit.

        Raises:
            ValueError: for a suffix other than ``.npz`` or ``.json``.
        """
        record = cell_record(self.cell)
        record.update(
            format=MODEL_FORMAT,
            readout=self.readout,
            W_out=self.weight.detach().cpu().numpy(),
            b_out=self.bias.detach().cpu().numpy(),
            batched=self.cell.batched,
            dtype=str(self.weight.dtype).removeprefix("torch."),
        )
        if self.seeds is not None:
            record["seeds"] = np.asarray(self.seeds, dtype=np.int64)
        return write_record(path, record)

    @classmethod
    def load(cls, path: str | Path, *, dtype: torch.dtype | None = None, device: Any = None) -> "Model":
        """Read a model written by :meth:`save`.

        Args:
            path: a ``.npz`` or ``.json`` file.
            dtype, device: where the parameters should live (default: the stored dtype, on the CPU).

        Raises:
            WeightFileError: (a ``ValueError``) for a file that is not a readable model, naming it and the problem.
            FileNotFoundError: if ``path`` does not exist.
        """
        path = Path(path)
        data = read_record(path)
        if record_string(path, data, "format") != MODEL_FORMAT:
            raise WeightFileError(f"{path}: not a dynlatch model file (format must be {MODEL_FORMAT!r})")
        stored = record_string(path, data, "dtype", "float64")
        if stored not in MODEL_DTYPES:
            raise WeightFileError(f"{path}: dtype must be one of {', '.join(MODEL_DTYPES)}; got {stored!r}")
        dtype = dtype or MODEL_DTYPES[stored]
        batched = record_bool(path, data, "batched", True)
        readout = record_string(path, data, "readout")
        if readout not in READOUTS:
            raise WeightFileError(f"{path}: readout must be one of {', '.join(READOUTS)}; got {readout!r}")
        cell = cell_from_record(path, data, dtype=dtype, device=device)
        if cell.batched != batched:
            if batched:  # one model stored with its model dimension: a batched cell of M = 1
                cell = cell[[0]]
            else:
                raise WeightFileError(f"{path}: batched=false but the cell arrays carry a model dimension")
        W_out, b_out = record_array(path, data, "W_out"), record_array(path, data, "b_out")
        seeds = None
        if "seeds" in data:
            s = data["seeds"]
            a = np.asarray(s) if isinstance(s, np.ndarray) else None
            if a is None:
                try:
                    a = np.asarray(s)
                except (ValueError, TypeError):
                    a = None
            if a is None or a.ndim != 1 or a.dtype.kind not in "iu":
                raise WeightFileError(f"{path}: seeds must be a list of integers")
            seeds = tuple(int(v) for v in a)
        as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        try:
            return cls(cell, as_t(W_out), as_t(b_out), seeds, readout)
        except ValueError as e:
            raise WeightFileError(f"{path}: {e}") from None


MODEL_FORMAT = "dynlatch.model"
MODEL_DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16}
