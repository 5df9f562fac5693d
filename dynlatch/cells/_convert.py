"""Conversions between dynlatch cells and ``torch.nn`` recurrent modules (or their PyTorch-layout arrays).

What differs between kinds is declared on the cell class: its ``torch_modules``, the ``torch_gate_order`` of its
blocks, ``torch_bias_rows`` (whether torch's two bias vectors stay two rows, as the GRU's, whose recurrent bias sits
inside the reset, or are merged into one, since they only ever enter as a sum) and ``torch_options()`` (the options
the torch module computes: GRU ``reset_after=True``).
"""

from __future__ import annotations

from typing import Any

import torch

from ._base import Cell, float_array
from ._registry import cell_class, class_for_torch_module


def _reorder(a: torch.Tensor, cls: type[Cell], dim: int) -> torch.Tensor:
    """Permute gate blocks between torch and Keras order (the permutations used here are their own inverses)."""
    if not cls.torch_gate_order:
        return a
    parts = a.chunk(cls.n_gates, dim=dim)
    return torch.cat([parts[i] for i in cls.torch_gate_order], dim=dim)


def _torch_weights(module: torch.nn.Module) -> tuple[Any, Any, Any, Any]:
    suffix = "_l0" if hasattr(module, "weight_ih_l0") else ""
    if getattr(module, "num_layers", 1) != 1 or getattr(module, "bidirectional", False):
        raise ValueError("only one-layer, unidirectional torch modules can be converted")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM with proj_size > 0 cannot be converted")
    if getattr(module, "nonlinearity", "tanh") != "tanh":
        raise ValueError("only torch.nn.RNN with nonlinearity='tanh' matches SRNN")
    get = lambda name: getattr(module, name + suffix, None)  # noqa: E731
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


def _tensor(a: Any) -> torch.Tensor:
    return a.detach() if isinstance(a, torch.Tensor) else torch.as_tensor(float_array(a))


def from_torch_arrays(
    kind: str, weight_ih: Any, weight_hh: Any, bias_ih: Any = None, bias_hh: Any = None, *, dtype=None, device=None
) -> Cell:
    """A single cell from PyTorch-layout arrays (``weight_ih_l0`` (G*n, D), ``weight_hh_l0`` (G*n, n), biases (G*n,)).

    Raises:
        ValueError: for an unknown kind or shapes that do not fit it.
    """
    cls = cell_class(kind)
    W_ih, W_hh = _tensor(weight_ih), _tensor(weight_hh)
    if W_ih.ndim != 2 or W_hh.ndim != 2 or W_hh.shape[0] != cls.n_gates * W_hh.shape[1] or W_ih.shape[0] != W_hh.shape[0]:
        raise ValueError(
            f"torch {kind} needs weight_ih ({cls.n_gates}*units, input_dim) and weight_hh ({cls.n_gates}*units, units); "
            f"got {tuple(W_ih.shape)} and {tuple(W_hh.shape)}"
        )
    zeros = torch.zeros(W_hh.shape[0], dtype=W_ih.dtype)
    b_ih = zeros if bias_ih is None else _tensor(bias_ih).to(W_ih.dtype)
    b_hh = zeros if bias_hh is None else _tensor(bias_hh).to(W_ih.dtype)
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b.shape != (W_hh.shape[0],):
            raise ValueError(f"torch {kind} {name} must have shape ({W_hh.shape[0]},); got {tuple(b.shape)}")
    kernel, recurrent = _reorder(W_ih, cls, 0).T, _reorder(W_hh, cls, 0).T
    kw: dict[str, Any] = {"dtype": dtype or W_ih.dtype, "device": device, "recurrent_activation": "sigmoid"}
    if cls.torch_bias_rows == 2:
        bias = torch.stack([_reorder(b_ih, cls, 0), _reorder(b_hh, cls, 0)])
    else:
        bias = _reorder(b_ih + b_hh, cls, 0)
    return cls(kernel, recurrent, bias, **cls.torch_options(), **kw)


def from_torch(module: torch.nn.Module, *, dtype=None, device=None) -> Cell:
    """A single cell with the weights of a one-layer ``torch.nn.RNN(tanh)/LSTM/GRU`` (or ``*Cell``).

    Raises:
        TypeError: for a module no registered cell converts from.
        ValueError: for multi-layer, bidirectional, projected or non-tanh modules.
    """
    cls = class_for_torch_module(module)
    return from_torch_arrays(cls.kind, *_torch_weights(module), dtype=dtype, device=device)


def to_torch_arrays(cell: Cell) -> dict[str, torch.Tensor]:
    """PyTorch-layout weights ``weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0`` of a single cell.

    Raises:
        ValueError: for a batched cell, hard-sigmoid gates, a kind without a torch module, or a GRU with
            ``reset_after=False``.
    """
    cls = type(cell)
    if cell.batched:
        raise ValueError("to_torch needs a single cell; select one model with cell[m]")
    if not cls.torch_modules:
        raise ValueError(f"{cell.kind} has no torch.nn counterpart")
    if cell.n_gates > 1 and cell.recurrent_activation != "sigmoid":
        raise ValueError(f"torch.nn gates are sigmoid; this cell uses {cell.recurrent_activation!r}")
    if cell.options() != {**cell.options(), **cls.torch_options()}:
        raise ValueError(f"torch.nn.{cls.torch_modules[0].__name__} computes {cls.torch_options()}; this cell has "
                         f"{ {k: cell.options()[k] for k in cls.torch_options()} }")
    W, U, b = (t[0] for t in cell.params)
    b_hh = b[1] if cell.bias_rows == 2 else torch.zeros_like(b[0])
    return {"weight_ih_l0": _reorder(W.T, cls, 0), "weight_hh_l0": _reorder(U.T, cls, 0),
            "bias_ih_l0": _reorder(b[0], cls, 0), "bias_hh_l0": _reorder(b_hh, cls, 0)}


def to_torch(cell: Cell) -> torch.nn.Module:
    """A ``torch.nn.RNN/LSTM/GRU`` (one layer, ``batch_first=True``) computing the same map as a single ``cell``.

    Raises:
        ValueError: as :func:`to_torch_arrays`.
    """
    arrays = to_torch_arrays(cell)
    module = type(cell).torch_modules[0](cell.input_dim, cell.units, batch_first=True)
    module = module.to(dtype=cell.dtype, device=cell.device)
    with torch.no_grad():
        for name, value in arrays.items():
            getattr(module, name).copy_(value)
    return module
