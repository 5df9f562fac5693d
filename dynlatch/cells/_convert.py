"""Conversions between dynlatch cells and Keras weight arrays or ``torch.nn`` recurrent modules."""

from __future__ import annotations

from typing import Any

import torch

from ._base import Cell, float_array

# PyTorch stores GRU gate blocks as r, z, n; Keras (and dynlatch) as z, r, h.
_TORCH_GRU_TO_KERAS = (1, 0, 2)


def _blocks(a: torch.Tensor, n_gates: int, order: tuple[int, ...], dim: int) -> torch.Tensor:
    parts = a.chunk(n_gates, dim=dim)
    return torch.cat([parts[i] for i in order], dim=dim)


def _cell_class(kind: str) -> type[Cell]:
    from . import cell_class

    return cell_class(kind)


def _torch_weights(module: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    suffix = "_l0" if hasattr(module, "weight_ih_l0") else ""
    if not hasattr(module, "weight_ih" + suffix):
        raise TypeError(f"expected torch.nn.RNN/LSTM/GRU or their Cell variants; got {type(module).__name__}")
    if getattr(module, "num_layers", 1) != 1 or getattr(module, "bidirectional", False):
        raise ValueError("only one-layer, unidirectional torch modules can be converted")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM with proj_size > 0 cannot be converted")
    get = lambda name: getattr(module, name + suffix, None)  # noqa: E731
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


def torch_module_kind(module: torch.nn.Module) -> str:
    if isinstance(module, (torch.nn.LSTM, torch.nn.LSTMCell)):
        return "lstm"
    if isinstance(module, (torch.nn.GRU, torch.nn.GRUCell)):
        return "gru"
    if isinstance(module, (torch.nn.RNN, torch.nn.RNNCell)):
        if module.nonlinearity != "tanh":
            raise ValueError("only torch.nn.RNN with nonlinearity='tanh' matches SRNN")
        return "srnn"
    raise TypeError(f"expected torch.nn.RNN/LSTM/GRU or their Cell variants; got {type(module).__name__}")


def from_torch_arrays(
    kind: str, weight_ih: Any, weight_hh: Any, bias_ih: Any = None, bias_hh: Any = None, *, dtype=None, device=None
) -> Cell:
    """A single cell from PyTorch-layout arrays (``weight_ih_l0`` (G*n, D), ``weight_hh_l0`` (G*n, n), biases (G*n,))."""
    cls = _cell_class(kind)
    W_ih = torch.as_tensor(float_array(weight_ih) if not isinstance(weight_ih, torch.Tensor) else weight_ih.detach())
    W_hh = torch.as_tensor(float_array(weight_hh) if not isinstance(weight_hh, torch.Tensor) else weight_hh.detach())
    if W_ih.ndim != 2 or W_hh.ndim != 2 or W_hh.shape[0] != cls.n_gates * W_hh.shape[1] or W_ih.shape[0] != W_hh.shape[0]:
        raise ValueError(
            f"torch {kind} needs weight_ih ({cls.n_gates}*units, input_dim) and weight_hh ({cls.n_gates}*units, units); "
            f"got {tuple(W_ih.shape)} and {tuple(W_hh.shape)}"
        )
    G = cls.n_gates
    zeros = torch.zeros(W_hh.shape[0], dtype=W_ih.dtype)
    b_ih = zeros if bias_ih is None else torch.as_tensor(bias_ih).detach().to(W_ih.dtype)
    b_hh = zeros if bias_hh is None else torch.as_tensor(bias_hh).detach().to(W_ih.dtype)
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b.shape != (W_hh.shape[0],):
            raise ValueError(f"torch {kind} {name} must have shape ({W_hh.shape[0]},); got {tuple(b.shape)}")
    kw: dict[str, Any] = {"dtype": dtype or W_ih.dtype, "device": device}
    if kind == "gru":
        order = _TORCH_GRU_TO_KERAS
        kernel = _blocks(W_ih, G, order, 0).T
        recurrent = _blocks(W_hh, G, order, 0).T
        bias = torch.stack([_blocks(b_ih, G, order, 0), _blocks(b_hh, G, order, 0)])
        return cls(kernel, recurrent, bias, reset_after=True, recurrent_activation="sigmoid", **kw)
    kw["recurrent_activation"] = "sigmoid"
    return cls(W_ih.T, W_hh.T, b_ih + b_hh, **kw)


def from_torch(module: torch.nn.Module, *, dtype=None, device=None) -> Cell:
    """A single cell with the weights of a one-layer ``torch.nn.RNN(tanh)/LSTM/GRU`` (or ``*Cell``)."""
    kind = torch_module_kind(module)
    return from_torch_arrays(kind, *_torch_weights(module), dtype=dtype, device=device)


def to_torch_arrays(cell: Cell) -> dict[str, torch.Tensor]:
    """PyTorch-layout weights ``weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0`` of a single cell."""
    if cell.batched:
        raise ValueError("to_torch needs a single cell; select one model with cell[m]")
    if cell.kind != "srnn" and cell.recurrent_activation != "sigmoid":
        raise ValueError(f"torch.nn gates are sigmoid; this cell uses {cell.recurrent_activation!r}")
    W, U, b = (t[0] for t in cell.params)
    if cell.kind == "gru":
        if not cell.reset_after:
            raise ValueError("torch.nn.GRU applies the reset after the matmul; this cell has reset_after=False")
        order = _TORCH_GRU_TO_KERAS  # the permutation is its own inverse
        return {
            "weight_ih_l0": _blocks(W.T, 3, order, 0),
            "weight_hh_l0": _blocks(U.T, 3, order, 0),
            "bias_ih_l0": _blocks(b[0], 3, order, 0),
            "bias_hh_l0": _blocks(b[1], 3, order, 0),
        }
    return {"weight_ih_l0": W.T, "weight_hh_l0": U.T, "bias_ih_l0": b[0], "bias_hh_l0": torch.zeros_like(b[0])}


def to_torch(cell: Cell) -> torch.nn.Module:
    """A ``torch.nn.RNN/LSTM/GRU`` (one layer, ``batch_first=True``) computing the same map as ``cell``."""
    arrays = to_torch_arrays(cell)
    module_cls = {"srnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell.kind]
    module = module_cls(cell.input_dim, cell.units, batch_first=True).to(dtype=cell.dtype, device=cell.device)
    with torch.no_grad():
        for name, value in arrays.items():
            getattr(module, name).copy_(value)
    return module
