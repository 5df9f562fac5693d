r"""Hand-built latches: one-unit cells whose weights are set by reasoning rather than training.

Each function returns a single float64 cell and documents why it latches. They answer the representability question
behind the seed puzzle -- can a one-unit cell of this kind hold the sign of the first input through T steps of noise at
all? -- and give the dynamics and landscape analyses known answers to find. :func:`latching_accuracy` scores any cell
on the information-latching task with a read-out set from where its two noiseless trajectories end up (its
attractors), so no read-out is trained; :func:`score_latches` scores several latches on a grid of T and noise.

The inputs are the question's: ``x_0 = +-1`` plus noise, then noise alone, every element ``N(0, sigma^2)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ._base import Cell
from ._gru import GRU
from ._lstm import LSTM
from ._srnn import SRNN

_F64 = torch.float64
HARD = "hard_sigmoid"  # Keras 2's clip(0.2 z + 0.5, 0, 1): exactly 0 below z = -2.5 and exactly 1 above z = 2.5
OPEN, SHUT = 5.0, -5.0  # gate biases well past the hard sigmoid's kinks (+-2.5): the gate is exactly 1 or 0


def _keras(cls: type[Cell], blocks: dict[str, float], *, recurrent_activation: str = HARD, **opts) -> Cell:
    """A one-unit, one-input cell from named scalar blocks (unnamed blocks are 0)."""
    base = cls.from_keras(np.zeros((1, cls.n_gates)), np.zeros((1, cls.n_gates)), None,
                          recurrent_activation=recurrent_activation, dtype=_F64, **opts)
    return base.with_params(**{k: torch.tensor(v, dtype=_F64).reshape(base.block_shape(k)) for k, v in blocks.items()})


def srnn_latch(*, w: float = 2.0, input_weight: float = 1.0) -> SRNN:
    r"""Bengio et al. (1994)'s latch: ``h' = tanh(x W + w h)`` with ``w > 1``.

    For ``w > 1`` the autonomous map ``h -> tanh(w h)`` has two stable fixed points ``+-xbar`` (``xbar = tanh(w
    xbar)``) and an unstable one at 0; the first input pushes the state into one basin, and an input ``W x_t`` keeps
    the basin while ``|W x_t| < h*(w) = sqrt(w(w - 1)) - arccosh(sqrt(w))`` (0.533 at w = 2). The price is the
    multiplier ``w (1 - xbar^2)`` (0.166 at w = 2) at the attractor: gradients through it vanish (REFERENCES).

    Raises:
        ValueError: for ``w <= 1`` (no bistability).
    """
    if not w > 1:
        raise ValueError(f"an SRNN latch needs w > 1; got w={w}")
    return _keras(SRNN, {"W": input_weight, "U": w})


def srnn_flip_latch(*, w: float = -2.0, input_weight: float = 1.0) -> SRNN:
    r"""A period-2 latch: ``h' = tanh(x W + w h)`` with ``w < -1``.

    For ``w < -1`` the map is odd and decreasing, its fixed point 0 is unstable (multiplier ``w``), and the
    second iterate ``h -> tanh(w tanh(w h))`` is Bengio's bistable map with gain ``w^2``: a stable 2-cycle
    ``(+xbar, -xbar)``, ``xbar = tanh(|w| xbar)``. The sign is kept modulo the parity of t, so the read-out must
    know T (as :func:`latching_accuracy`'s attractor read-out does).

    Raises:
        ValueError: for ``w >= -1``.
    """
    if not w < -1:
        raise ValueError(f"a period-2 SRNN latch needs w < -1; got w={w}")
    return _keras(SRNN, {"W": input_weight, "U": w})


def lstm_feedback_latch(*, gain: float = 4.0, input_weight: float = 2.0) -> LSTM:
    r"""A one-unit LSTM that latches by positive feedback from ``h`` into its candidate.

    Gates held by their biases past the hard sigmoid's kinks: ``f = 0``, ``i = o = 1`` exactly. Then
    ``c' = tanh(W_c x + U_c h)`` and ``h' = tanh(c')``: the map ``h -> tanh(tanh(U_c h))`` has slope ``U_c`` at 0,
    so ``U_c = gain > 1`` gives two stable fixed points and an unstable 0 -- Bengio's latch, one tanh deeper. The
    memory is in the recurrence through ``h``, not in ``c``; the forget gate is shut.
    """
    return _keras(LSTM, {"b_i": OPEN, "b_f": SHUT, "b_o": OPEN, "U_c": gain, "W_c": input_weight})


def lstm_integrator_latch(*, forget_bias: float = OPEN, threshold: float = 0.7, sharpness: float = 25.0) -> LSTM:
    r"""A one-unit LSTM that latches as a gated integrator: the forget gate at 1 keeps ``c``; the input gate opens
    only for a large positive input.

    ``f = hs(b_f)`` is exactly 1 for ``b_f >= 2.5`` (a perfect integrator: with ``i g = 0`` every ``c`` is a fixed
    point, a continuum). ``i = hs(s (x - threshold) + 2.5)`` (``W_i = s``, ``b_i = 2.5 - s threshold``) is 0 for ``x <=
    threshold - 2.5/s`` and 1 above ``threshold``: noise of s.d. 0.1 never opens it, the first input +1 does, -1 does
    not. So a positive sequence stores ``c = i tanh(W_c)`` and a negative one keeps ``c = 0``; ``o = 1``. The two
    classes end on two points of the line of fixed points (neither is an isolated attractor), as long as the noise
    never crosses the threshold: large noise writes spurious inputs, Bengio's trade-off in another guise.
    """
    return _keras(LSTM, {"W_i": sharpness, "b_i": 2.5 - sharpness * threshold, "b_f": forget_bias, "b_o": OPEN,
                         "W_c": 2.0})


def gru_latch(*, gain: float = 3.0, input_weight: float = 2.0) -> GRU:
    r"""A one-unit GRU (reset_after=False) that latches by feedback through its candidate.

    ``z = hs(0) = 0.5`` and ``r = 1`` (``b_r`` past the kink), so ``h' = 0.5 h + 0.5 tanh(W_h x + U_h h)``. Its slope
    at 0 is ``0.5 + 0.5 U_h``, above 1 for ``U_h = gain > 1``: fixed points ``h = tanh(U_h h)``, two stable
    (``+-0.995`` at gain 3) and 0 unstable. Half of the state is carried over each step, so it latches more gently
    than the SRNN; the update gate does the mixing that the LSTM's forget gate would.
    """
    return _keras(GRU, {"b_r": OPEN, "U_h": gain, "W_h": input_weight}, reset_after=False)


HANDMADE = {
    "srnn_latch": srnn_latch,
    "srnn_flip_latch": srnn_flip_latch,
    "lstm_feedback_latch": lstm_feedback_latch,
    "lstm_integrator_latch": lstm_integrator_latch,
    "gru_latch": gru_latch,
}
"""Every hand-built latch by name, with its default construction."""


def _latching_inputs(T: int, n: int, sigma: float, seed: Sequence[int]) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(list(seed))
    y = np.arange(n) % 2
    x = rng.normal(0.0, sigma, size=(n, T, 1))
    x[:, 0, 0] += np.where(y == 1, 1.0, -1.0)
    return torch.as_tensor(x, dtype=_F64), y


def attractor_readout(cell: Cell, T: int) -> tuple[float, float]:
    """(threshold, sign) of the read-out set from the cell's noiseless trajectories after ``T`` steps: class 1 is
    predicted when ``sign * (h_T - threshold) > 0``, the threshold halfway between the two classes' end points.

    Raises:
        ValueError: if the two noiseless trajectories end at the same ``h`` (the cell does not separate them).
    """
    x = torch.zeros(2, T, cell.input_dim, dtype=_F64)
    x[0, 0, 0], x[1, 0, 0] = -1.0, 1.0
    h = cell.to(_F64).run(x)[..., -1, 0].reshape(-1)
    lo, hi = float(h[0]), float(h[1])
    if not abs(hi - lo) > 1e-12:
        raise ValueError(f"the two noiseless trajectories end at the same h = {hi:.3g} after T = {T} steps")
    return (lo + hi) / 2, float(np.sign(hi - lo))


def latching_accuracy(cell: Cell, *, lengths: Sequence[int], sigmas: Sequence[float], n: int = 1000,
                      seed: int = 0) -> np.ndarray:
    """Accuracy (len(lengths), len(sigmas)) of a single cell on latching data with its attractor read-out.

    Args:
        cell: a single cell with one input.
        lengths: sequence lengths T (>= 1).
        sigmas: input noise standard deviations (>= 0).
        n: sequences per (T, sigma), half of each class.
        seed: data seed (the data of each (T, sigma) is drawn from ``[seed, T, index of sigma]``).

    Raises:
        ValueError: for a batched cell, a cell with more than one input, or bad lengths, sigmas or n.
    """
    if cell.batched or cell.input_dim != 1:
        raise ValueError("latching_accuracy needs a single cell with input_dim = 1")
    if not lengths or min(lengths) < 1 or not sigmas or min(sigmas) < 0 or not np.all(np.isfinite(sigmas)) or n < 2:
        raise ValueError("need lengths >= 1, finite sigmas >= 0 and n >= 2")
    acc = np.zeros((len(lengths), len(sigmas)))
    for i, T in enumerate(lengths):
        threshold, sign = attractor_readout(cell, int(T))
        for j, sigma in enumerate(sigmas):
            x, y = _latching_inputs(int(T), n, float(sigma), seed=(seed, int(T), j))
            h = cell.to(_F64).run(x)[:, -1, 0].numpy()
            acc[i, j] = np.mean((sign * (h - threshold) > 0) == (y == 1))
    return acc


def score_latches(latches: Sequence[str] = tuple(HANDMADE), *, lengths: Sequence[int], sigmas: Sequence[float],
                  n: int = 1000, seed: int = 0) -> list[dict]:
    """Tidy rows (latch, cell kind, T, sigma, accuracy) of every named hand-built latch (:data:`HANDMADE`, default
    construction) on every (T, sigma), scored by :func:`latching_accuracy` with its attractor read-out.

    Raises:
        KeyError: for a name not in :data:`HANDMADE`.
        ValueError: for bad lengths, sigmas or n (see :func:`latching_accuracy`).
    """
    rows = []
    for name in latches:
        cell = HANDMADE[name]()
        acc = latching_accuracy(cell, lengths=lengths, sigmas=sigmas, n=n, seed=seed)
        for i, T in enumerate(lengths):
            for j, sigma in enumerate(sigmas):
                rows.append({"latch": name, "cell": cell.kind, "T": int(T), "sigma": float(sigma),
                             "accuracy": float(acc[i, j])})
    return rows
