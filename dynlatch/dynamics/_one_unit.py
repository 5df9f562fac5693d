"""Elementwise forms of one-unit cells, h (M, P) -> (M, P), for the scalar fixed-point equations.

A one-unit cell's matmuls are products of scalars; evaluating them through the batched step function costs a tiny
batched matmul per model, so the grid scans of :mod:`dynlatch.dynamics._fixed_points` (10^5 models x 10^3 points)
use these broadcast forms instead. Parameters are read from ``cell.params`` (Keras layout, block j of gate g is
column j), gate functions are the cell's own (``cell.gate``), and ``tests/test_dynamics_one_unit.py`` checks every form
against ``cell.step_batched``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

Tensor = torch.Tensor


@dataclass
class Gate:
    """Pre-activation of one gate block as an affine function of h: a(h) = offset + slope * h, each (M, 1).

    For GRU with reset_after the candidate block's recurrent bias sits inside the reset product and is kept
    separately in ``recurrent_bias``.
    """

    offset: Tensor
    slope: Tensor
    recurrent_bias: Tensor | None = None

    def __call__(self, h: Tensor) -> Tensor:
        return self.offset + self.slope * h


def gates(cell: Any, x: Tensor) -> list[Gate]:
    """The affine pre-activations of every gate block of a one-unit cell at constant input ``x`` (M, 1, D)."""
    W, U, b = cell.params
    xw = torch.matmul(x[:, :1, :], W)[:, 0, :]  # (M, K)
    out = []
    for j in range(cell.n_gates):
        if cell.kind == "gru" and cell.reset_after and j == 2:
            out.append(Gate(xw[:, j : j + 1] + b[:, 0, j : j + 1], U[:, 0, j : j + 1], b[:, 1, j : j + 1]))
        else:
            out.append(Gate(xw[:, j : j + 1] + b[:, :, j].sum(1, keepdim=True), U[:, 0, j : j + 1]))
    return out


def next_h(cell: Any, x: Tensor) -> Callable[[Tensor], Tensor]:
    """F(h) of a one-unit SRNN or GRU (elementwise)."""
    g = gates(cell, x)
    gate = cell.gate
    if cell.kind == "srnn":
        return lambda h: torch.tanh(g[0](h))
    if cell.kind != "gru":
        raise ValueError(f"next_h is for SRNN and GRU, not {cell.kind}")
    zg, rg, hg = g

    def F(h: Tensor) -> Tensor:
        z = gate(zg(h))
        r = gate(rg(h))
        if cell.reset_after:
            cand = torch.tanh(hg.offset + r * (hg.slope * h + hg.recurrent_bias))
        else:
            cand = torch.tanh(hg.offset + hg.slope * (r * h))
        return z * h + (1 - z) * cand

    return F


def fixed_point_equation(cell: Any, x: Tensor) -> Callable[[Tensor], Tensor]:
    """g(h) whose roots in [-1, 1] are the h of every fixed point (see :mod:`dynlatch.dynamics._fixed_points`).

    SRNN: tanh(a(h)) - h. GRU: (1 - z)(h~ - h), with 1 - z = gate(-a_z) exactly 0 on a hard gate's flat piece (a
    continuum). LSTM: o tanh(c*) - h, c* = i g / (1 - f); where 1 - f = 0: 0 if i g = 0 and |h| < o (a line of fixed
    points), NaN (no fixed point) otherwise.
    """
    gate = cell.gate
    g = gates(cell, x)
    if cell.kind == "srnn":
        return lambda h: torch.tanh(g[0](h)) - h
    if cell.kind == "gru":
        zg, rg, hg = g

        def g_gru(h: Tensor) -> Tensor:
            r = gate(rg(h))
            if cell.reset_after:
                cand = torch.tanh(hg.offset + r * (hg.slope * h + hg.recurrent_bias))
            else:
                cand = torch.tanh(hg.offset + hg.slope * (r * h))
            return gate(-zg(h)) * (cand - h)

        return g_gru
    ig_, fg, cg, og = g

    def g_lstm(h: Tensor) -> Tensor:
        drive = gate(ig_(h)) * torch.tanh(cg(h))
        one_minus_f = gate(-fg(h))
        o = gate(og(h))
        safe = torch.where(one_minus_f > 0, one_minus_f, torch.ones_like(one_minus_f))
        out = o * torch.tanh(drive / safe) - h
        flat = one_minus_f == 0
        if bool(flat.any()):
            line = flat & (drive == 0) & (h.abs() < o)
            out = torch.where(flat, torch.full_like(out, float("nan")), out)
            out = torch.where(line, torch.zeros_like(out), out)
        return out

    return g_lstm


def lstm_cell_state(cell: Any, x: Tensor, h: Tensor) -> Tensor:
    """c at the LSTM fixed point with hidden value h: c* = i g / (1 - f), or artanh(h / o) on a line of fixed points."""
    ig_, fg, cg, og = gates(cell, x)
    gate = cell.gate
    drive = gate(ig_(h)) * torch.tanh(cg(h))
    one_minus_f = gate(-fg(h))
    safe = torch.where(one_minus_f > 0, one_minus_f, torch.ones_like(one_minus_f))
    return torch.where(one_minus_f > 0, drive / safe, torch.atanh(h / gate(og(h))))
