"""The initial dynamics of one-unit cells: the parameter changes that set them, the features that measure them, and
the logistic predictor of success fitted on those features (the lstm-failure study's tools).

:func:`changed_cell` applies named parameter changes (fixed values, |.|, scalings, the chrono initialisation, the
broadened populations); :func:`edge_of_memory` is the intervention that starts a model at the bifurcation. At the start
state s = 0 with zero input, the largest |eigenvalue| of the autonomous map's Jacobian says how much of a perturbation
of the start state survives each step; the number of stable fixed points (and of point attractors of the two-step
map) says whether the map can hold a bit at all. :func:`dynamical_features` gathers these per model;
:func:`fit_logistic` fits P(success) on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import torch
from scipy import optimize

from .. import dynamics
from .._evaluate import evaluate
from .._model import Model
from ..cells._init import model_rng

BROADENED_STREAM = 1201
"""Random stream (of each model's seed, :func:`dynlatch.cells._init.model_rng`) of the broadened parameters."""
CHRONO_STREAM = 1202
"""Random stream of the chrono forget-gate biases."""

BROADENED_POPULATIONS: dict[str, dict[str, tuple[float, float]]] = {
    "lstm": {"b_f": (-1.0, 4.0), "U_c": (-2.0, 2.0)},
    "gru": {"b_z": (-1.0, 4.0), "U_h": (-2.0, 2.0)},
    "srnn": {"U": (-2.0, 2.0)},
}
"""The broadened initial populations the predictor is scored on: the named parameters drawn uniformly on the stated
ranges (per model, from the model seed's :data:`BROADENED_STREAM`), everything else Keras-2 defaults."""


# -- initial parameters ----------------------------------------------------------------------------------------
def broadened_values(cell: str, seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """The broadened parameters of :data:`BROADENED_POPULATIONS` for each seed: U(lo, hi) draws, one per model."""
    if cell not in BROADENED_POPULATIONS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(BROADENED_POPULATIONS)}")
    out: dict[str, list[float]] = {k: [] for k in BROADENED_POPULATIONS[cell]}
    for s in seeds:
        rng = model_rng(int(s), BROADENED_STREAM)
        for name, (lo, hi) in BROADENED_POPULATIONS[cell].items():
            out[name].append(rng.uniform(lo, hi))
    return {k: np.asarray(v) for k, v in out.items()}


def chrono_biases(seeds: Sequence[int], length: int) -> np.ndarray:
    """Chrono initialisation (Tallec & Ollivier 2018): b_f = log u, u ~ U[1, T - 1] per model (one unit)."""
    if length < 2:
        raise ValueError(f"length must be >= 2 for the chrono initialisation; got {length}")
    return np.asarray([math.log(model_rng(int(s), CHRONO_STREAM).uniform(1.0, length - 1.0)) for s in seeds])


def changed_cell(cell: Any, changes: str, *, seeds: Sequence[int] = (), length: int = 2) -> Any:
    """``cell`` with comma-separated parameter changes applied in order: ``"b_f=3"`` (every entry set to 3; setting
    ``b_z`` also zeroes a GRU's ``br_z``), ``"U_c=abs"`` (U_c -> |U_c|), ``"U*0.5"`` (U scaled), ``"chrono"``
    (:func:`chrono_biases` for ``seeds`` at ``length``, b_i = -b_f), ``"broadened"`` (:func:`broadened_values` for
    ``seeds``).

    Raises:
        ValueError: for an unknown change.
    """
    M, n = cell.models, cell.units
    for change in changes.split(","):
        if change == "broadened":
            values = broadened_values(cell.kind, seeds)
            cell = cell.with_params(**{k: torch.as_tensor(v).reshape(M, *cell.block_shape(k))
                                       for k, v in values.items()})
        elif change == "chrono":
            bf = torch.as_tensor(chrono_biases(seeds, length)).reshape(M, 1).expand(M, n)
            cell = cell.with_params(b_f=bf, b_i=-bf)
        elif change.startswith("U*"):
            cell = cell.with_params(U=cell.named_params()["U"] * float(change[2:]))
        elif change.endswith("=abs"):
            name = change[:-4]
            cell = cell.with_params(**{name: cell.named_params()[name].abs()})
        elif "=" in change:
            name, value = change.split("=")
            values = {name: torch.full((M, *cell.block_shape(name)), float(value), dtype=torch.float64)}
            if name == "b_z" and "br_z" in cell.param_names():
                values["br_z"] = torch.zeros((M, n), dtype=torch.float64)
            cell = cell.with_params(**values)
        else:
            raise ValueError(f"unknown parameter change {change!r}")
    return cell


LAMBDA_CELLS: tuple[str, ...] = ("srnn", "lstm", "gru")
"""The cells of the edge-of-memory curve (:func:`edge_parameters`)."""
CRITICAL_FORGET_BIAS = 3.0
"""b_f of the LSTM's controlled starts: the hard forget gate is exactly 1 there (0.2 * 3 + 0.5 >= 1, clear of the kink
at 2.5), the logistic one sigmoid(3) = 0.953."""


def edge_parameters(cell: str, lambda0: float, *, recurrent_activation: str = "hard_sigmoid") -> str:
    """The :func:`changed_cell` changes that start a Keras-2 one-unit ``cell`` at the eigenvalue ``lambda0`` of the
    autonomous map's Jacobian at the origin (h = c = 0, x = 0), every other parameter left at its Keras-2 value.

    At the origin the gate pre-activations are their biases (0 under Keras 2, so every gate but the LSTM's forget
    gate sits at gate(0) = 1/2 for the hard, Keras-3 hard and logistic sigmoids alike), and only the candidate's
    recurrent weight enters the Jacobian, because the gates' recurrent weights multiply c = 0 or tanh(0) = 0:

    * SimpleRNN, h' = tanh(W x + U h + b): lambda0 = U tanh'(0) = U. Set ``U = lambda0``.
    * LSTM, J = [[o0 i0 U_c, o0 f0], [i0 U_c, f0]], eigenvalues 0 and f0 + o0 i0 U_c = f0 + U_c / 4: set
      b_f = :data:`CRITICAL_FORGET_BIAS` (f0 = 1 with a hard sigmoid, sigmoid(3) with the logistic one) and
      ``U_c = 4 (lambda0 - f0)``. lambda0 = 1 with the hard sigmoid is U_c = 0: the cell state integrates and the
      untrained cell has no positive feedback, hence no built-in latch.
    * GRU, h' = z h + (1 - z) tanh(W_h x + r (U_h h) + b_h): lambda0 = z0 + (1 - z0) r0 U_h = 1/2 + U_h / 4: set
      ``U_h = 4 (lambda0 - 1/2)`` (b_z = 0 is kept, so the input still enters with weight 1 - z0).

    ``recurrent_activation`` matters for the LSTM only (through f0).

    Raises:
        ValueError: for an unknown cell or a non-finite ``lambda0``.
    """
    if not math.isfinite(lambda0):
        raise ValueError(f"lambda0 must be finite; got {lambda0}")
    if cell == "srnn":
        return f"U={float(lambda0)!r}"
    if cell == "lstm":
        f0 = 1.0 if recurrent_activation.startswith("hard") else 1.0 / (1.0 + math.exp(-CRITICAL_FORGET_BIAS))
        return f"b_f={CRITICAL_FORGET_BIAS!r},U_c={4.0 * (lambda0 - f0)!r}"
    if cell == "gru":
        return f"U_h={4.0 * (lambda0 - 0.5)!r}"
    raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(LAMBDA_CELLS)}")


def edge_of_memory_changes(cell: str, bias: float) -> str:
    """The :func:`changed_cell` changes of the edge-of-memory intervention (:func:`edge_of_memory`) for ``cell``."""
    return {"lstm": f"b_f={bias:g},U_c=abs", "gru": f"b_z={bias:g}"}[cell]


def edge_of_memory(model: Model, *, bias: float = 3.0) -> Model:
    """The intervention: start every model at or past the bifurcation that creates two attractors.

    LSTM: every forget-gate bias b_f = ``bias`` and U_c -> |U_c|. With the hard sigmoid and ``bias`` >= 2.5 the forget
    gate is exactly 1 while |preactivation - bias| <= bias - 2.5, so the cell state integrates (c_t = c_(t-1) + i g) and
    the eigenvalue at the origin is lambda = 1 + o0 i0 U_c (i0 = o0 = 0.5 for Keras 2): b_f alone centres lambda on 1
    (half the models still contract), the sign change of U_c puts every model at lambda >= 1 (positive feedback from h
    into the candidate), the one-unit analogue of a SimpleRNN at U >= 1. GRU: every update-gate input bias
    b_z = ``bias`` (and the recurrent one ``br_z`` = 0 for reset_after): z = 1, the state is held (h_t = h_(t-1), a
    segment of fixed points through the origin, lambda = 1 whatever U_h). Everything else is left as it is.

    Raises:
        ValueError: for a cell other than LSTM or GRU, or a non-finite bias.
    """
    if not math.isfinite(bias):
        raise ValueError(f"bias must be finite; got {bias}")
    kind = model.cell.kind
    if kind not in ("lstm", "gru"):
        raise ValueError(f"edge_of_memory needs an LSTM or GRU; got {kind!r}")
    return replace(model, cell=changed_cell(model.cell, edge_of_memory_changes(kind, bias)))


# -- features of the initial dynamics --------------------------------------------------------------------------


def origin_jacobian_eigenvalue(model: Any) -> np.ndarray:
    """Largest |eigenvalue| (M,) of the autonomous map's Jacobian at the start state (h = c = 0, x = 0) of a
    :class:`Model`'s cell or of a cell."""
    cell = (model.cell if isinstance(model, Model) else model).to(torch.float64)
    J = dynamics.jacobian(cell, torch.zeros(cell.state_dim, dtype=torch.float64), torch.zeros(cell.input_dim))
    return torch.linalg.eigvals(J).abs().max(-1).values.numpy()


def gate_at_origin(model: Model) -> np.ndarray:
    """The memory gate at the origin (M,): LSTM forget gate f0, GRU update gate z0, SimpleRNN NaN (no gate)."""
    cell = model.cell.to(torch.float64)
    p = cell.named_params()
    if cell.kind == "lstm":
        pre = p["b_f"][:, 0]
    elif cell.kind == "gru":
        pre = p["b_z"][:, 0] + (p["br_z"][:, 0] if "br_z" in p else 0.0)
    else:
        return np.full(model.models, np.nan)
    return cell.gate(pre).numpy()


def attractor_counts(model: Model) -> np.ndarray:
    """Number of point attractors (M,) of each model's two-step autonomous map F o F (x = 0): stable fixed points
    of F plus two per stable 2-cycle of F (its two phases store a bit as well as two fixed points do), from
    :func:`dynlatch.dynamics.fixed_points`; NaN for a model with non-finite parameters. A latch needs >= 2 (Bengio
    et al. 1994)."""
    finite = np.asarray([all(bool(torch.isfinite(t[m]).all()) for t in model.parameters())
                         for m in range(model.models)])
    out = np.full(model.models, np.nan)
    idx = np.flatnonzero(finite)
    if idx.size:
        cell = model.cell[list(idx)].to(torch.float64)
        for k, pts in zip(idx, dynamics.fixed_points(cell, periods=(1, 2))):
            out[k] = (sum(bool(p.stable) for p in pts if p.period == 1)
                      + 2 * len({p.orbit for p in pts if p.period == 2 and p.stable}))
    return out


def dynamical_features(model: Model, *, length: int) -> dict[str, np.ndarray]:
    """Per-model features of the initial dynamics (one-unit cells).

    Returns:
        ``eig_origin`` |lambda_max| at the origin; ``retention`` T log|lambda_max| (log of the predicted retention of
        a start-state perturbation over T steps); ``gate_origin`` (:func:`gate_at_origin`); ``stable_fixed_points``
        the number of stable fixed points (and continua) of the autonomous map (:func:`dynlatch.dynamics.fixed_points`);
        ``decay_rate`` the measured per-step log rate of ||ds_T/ds_t|| after a +1 pulse (noiseless latching input) and
        ``attractor_log_rate`` the rate the Jacobian at the attractor it settles in predicts
        (:func:`dynlatch.dynamics.gradient_decay`).

    Raises:
        ValueError: for cells of more than one unit.
    """
    if model.cell.units != 1:
        raise ValueError(f"dynamical features are for one-unit cells; got {model.cell.units} units")
    eig = origin_jacobian_eigenvalue(model)
    cell = model.cell.to(torch.float64)
    points = dynamics.fixed_points(cell, periods=(1,))
    stable = np.asarray([sum(bool(p.stable) for p in pts) for pts in points], dtype=float)
    pulse = torch.zeros(length, 1, dtype=torch.float64)
    pulse[0, 0] = 1.0
    decay = dynamics.gradient_decay(cell, torch.zeros(cell.state_dim, dtype=torch.float64), inputs=pulse)
    return {"eig_origin": eig, "retention": length * np.log(np.maximum(eig, 1e-300)),
            "gate_origin": gate_at_origin(model), "stable_fixed_points": stable,
            "decay_rate": decay.fitted_log_rate, "attractor_log_rate": decay.predicted_log_rate}


def final_hidden(model: Model, x: Any) -> np.ndarray:
    """h_T (M, N, units) of every model's cell on the sequences ``x`` (N, T, D) from the zero state (float64, no
    stored trajectory)."""
    cell = model.cell.to(torch.float64)
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    state = None
    with torch.no_grad():
        for t in range(xt.shape[1]):
            state = cell.step(state, xt[:, t])
    h = state[0] if isinstance(state, tuple) else state
    return h.numpy()


def best_threshold_accuracy(h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per model, the accuracy of the best threshold rule on a one-unit final state, either orientation: the largest
    fraction of sequences that ``h > c -> class 1`` or ``h > c -> class 0`` classifies correctly over every cut c
    (including all-one-class). An upper bound on what any read-out of that unit can do on these sequences.

    Args:
        h: (M, N) final states; y: (N,) labels in {0, 1}.
    """
    h = np.asarray(h, dtype=float)
    y = np.asarray(y).astype(bool)
    N = y.size
    out = np.empty(h.shape[0])
    for m, row in enumerate(h):
        order = np.argsort(row, kind="stable")
        hs, ys = row[order], y[order]
        ones_below = np.concatenate([[0], np.cumsum(ys)])  # class-1 sequences among the k lowest
        k = np.arange(N + 1)
        cut_ok = np.concatenate([hs[1:] > hs[:-1], [True]])  # a cut after position k - 1 separates distinct values
        valid = np.concatenate([[True], cut_ok])
        above_ones = ones_below[-1] - ones_below  # class 1 above the cut
        correct = (k - ones_below) + above_ones  # below -> 0, above -> 1
        best = np.max(np.maximum(correct, N - correct)[valid])
        out[m] = best / N
    return out


def readout_slope(model: Model) -> np.ndarray:
    """The read-out's logit difference per unit of a one-unit h_T (M,): W_out[1] - W_out[0] (softmax) or W_out
    (sigmoid); its sign says which class a large h_T votes for."""
    W = model.weight.detach().to(torch.float64).numpy()[:, 0, :]
    return W[:, 1] - W[:, 0] if W.shape[1] == 2 else W[:, 0]


def readout_agreement(model: Model, h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per model (M,): 1.0 when the read-out's initial sign (:func:`readout_slope`) agrees with the sign of the
    correlation between the untrained one-unit h_T (``h``, (M, N)) and the label ``y``, 0.0 when it disagrees, NaN
    when either sign is 0 (h_T constant, or no read-out slope). A disagreeing model starts confidently wrong."""
    h = np.asarray(h, dtype=float)
    yc = np.asarray(y, dtype=float) - np.mean(y)
    cov = ((h - h.mean(1, keepdims=True)) * yc).mean(1)
    a = readout_slope(model)
    out = (np.sign(a) == np.sign(cov)).astype(float)
    out[(np.sign(a) == 0) | (np.sign(cov) == 0)] = np.nan
    return out


def gradient_snr(model: Model, x: Any, y: Any, *, batches: int, batch_size: int) -> np.ndarray:
    """The gradient's signal-to-noise ratio at the start, per model (M,): ||mean_b g_b|| / sqrt(mean_b ||g_b -
    mean g||^2) over ``batches`` consecutive minibatches of ``batch_size`` sequences of ``(x, y)``, g_b the gradient
    of the batch's mean loss with respect to every parameter. Adam divides each step by a running RMS of g, so a
    small gradient with a high SNR still moves the parameters; a low SNR means the steps are mostly noise."""
    xs, ys = np.asarray(x), np.asarray(y)
    if batches * batch_size > len(ys):
        raise ValueError(f"{batches} batches of {batch_size} need {batches * batch_size} sequences; got {len(ys)}")
    grads = []
    for b in range(batches):
        sl = slice(b * batch_size, (b + 1) * batch_size)
        g = evaluate(model, xs[sl], ys[sl], grad=True).grads
        grads.append(np.concatenate([np.asarray(v).reshape(model.models, -1) for v in g.values()], axis=1))
    G = np.stack(grads)  # (batches, M, P)
    mean = G.mean(0)
    noise = np.sqrt(((G - mean) ** 2).sum(2).mean(0))
    signal = np.sqrt((mean**2).sum(1))
    return np.divide(signal, noise, out=np.full_like(signal, np.inf), where=noise > 0)


# -- the predictor ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogisticFit:
    """A logistic regression P(success) = sigmoid(intercept + sum_k coef_k (x_k - mean_k) / scale_k)."""

    features: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def score(self, X: np.ndarray) -> np.ndarray:
        """The log-odds of success for feature rows ``X``."""
        Z = (np.asarray(X, dtype=float) - np.asarray(self.mean)) / np.asarray(self.scale)
        return self.intercept + Z @ np.asarray(self.coefficients)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LogisticFit":
        """The inverse of :meth:`as_dict` (e.g. from a stored ``summary.json``)."""
        features = tuple(d["feature_mean"])
        return cls(features, float(d["intercept"]), tuple(float(d[f]) for f in features),
                   tuple(float(d["feature_mean"][f]) for f in features),
                   tuple(float(d["feature_scale"][f]) for f in features))

    def probability(self, X: np.ndarray) -> np.ndarray:
        """P(success) for feature rows ``X``."""
        return 0.5 * (1.0 + np.tanh(0.5 * self.score(X)))

    def as_dict(self) -> dict[str, float]:
        """Coefficients per standardised feature, plus the intercept and the standardisation."""
        out = {f: c for f, c in zip(self.features, self.coefficients)}
        out["intercept"] = self.intercept
        out["feature_mean"] = dict(zip(self.features, self.mean))
        out["feature_scale"] = dict(zip(self.features, self.scale))
        return out


def fit_logistic(X: np.ndarray, y: np.ndarray, *, features: Sequence[str], l2: float = 1e-2) -> LogisticFit:
    """Maximum (L2-penalised, ``l2 ||coef||^2 / 2``) likelihood logistic regression on standardised features,
    by L-BFGS on the exact log-likelihood. A function of (X, y) only.

    Raises:
        ValueError: for shapes that disagree or non-finite features.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[1] != len(features):
        raise ValueError(f"X must be (runs, {len(features)}) and y (runs,); got {X.shape} and {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError("features must be finite")
    mean = X.mean(0)
    scale = np.where(X.std(0) > 0, X.std(0), 1.0)
    Z = (X - mean) / scale

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        eta = w[0] + Z @ w[1:]
        loss = np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * l2 * np.sum(w[1:] ** 2)
        p = 0.5 * (1.0 + np.tanh(0.5 * eta))
        g = np.concatenate([[np.sum(p - y)], Z.T @ (p - y) + l2 * w[1:]])
        return loss, g

    res = optimize.minimize(nll, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B")
    w = res.x
    return LogisticFit(tuple(features), float(w[0]), tuple(float(v) for v in w[1:]), tuple(mean.tolist()),
                       tuple(scale.tolist()))
