r"""What ``dynlatch explore`` shows, as plain functions of a one-unit cell (the web page in
:mod:`dynlatch._explore_app` only draws them).

For a one-unit cell with zero input:

* the *reduced map* :math:`\Phi(h)`, whose crossings with the diagonal are the fixed points' hidden values. For an
  SRNN or a GRU it is the map itself, :math:`h \mapsto F(h)`. For an LSTM the gates do not depend on ``c``, so at a
  fixed point :math:`c^*(h) = i(h) g(h) / (1 - f(h))` and :math:`\Phi(h) = o(h) \tanh c^*(h)`, the reduction
  :func:`dynlatch.dynamics.fixed_points` solves; here it is computed from the cell's own step function;
* every fixed point with its stability (:func:`dynlatch.dynamics.fixed_points`, certified complete);
* the bifurcation diagram in one parameter (the fixed points' ``h`` over a grid of that parameter, the others held);
* the Jacobian eigenvalue of largest modulus at the start state ``s = 0``;
* the gradient decay :math:`\log \|\partial s_T / \partial s_t\|` after a +1 pulse
  (:func:`dynlatch.dynamics.gradient_decay`);
* the latching success the lstm-failure study's predictor gives for these initial dynamics: a logistic regression on
  ``retention`` (:math:`T \log |\lambda_{max}|` at the start state) and the number of stable fixed points, with the
  coefficients a finished run wrote into its ``summary.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from . import dynamics
from .cells import Cell, WeightFileError, cell_class, load
from .studies._lstm_failure_features import LogisticFit
from .studies.lstm_failure import PREDICTOR_FEATURES

F64 = torch.float64
PUBLISHED_PREDICTOR = Path(__file__).resolve().parent.parent / "paper/results/full/lstm-failure/summary.json"
"""The full-scale lstm-failure summary committed with the repository (present in a checkout, not in a wheel)."""


@dataclass(frozen=True)
class FixedPointView:
    """One fixed point as the explorer shows it.

    Attributes:
        h: its hidden value (for a continuum, its midpoint).
        state: the whole state (LSTM ``[h, c]``).
        eigenvalue: the Jacobian eigenvalue of largest modulus there.
        stable: every eigenvalue inside the unit circle.
        kind: ``"point"`` or ``"continuum"``.
        multiplicity: 1, or 2 / 3 at a fold / pitchfork.
    """

    h: float
    state: tuple[float, ...]
    eigenvalue: complex
    stable: bool
    kind: str
    multiplicity: int


def one_unit_cell(kind: str, *, gate: str = "hard_sigmoid", params: Mapping[str, float] | None = None,
                  seed: int = 0, **options: Any) -> Cell:
    """A one-unit, one-input float64 cell of ``kind``: Keras-2 initialised from ``seed`` with ``gate`` as its gate
    function, then the named parameters in ``params`` set (Keras names, :meth:`~dynlatch.cells.Cell.param_names`).

    Raises:
        ValueError: for an unknown kind, gate, option or parameter name, or a non-finite value.
    """
    cell = cell_class(kind).init(seed=seed, recurrent_activation=gate, dtype=F64, **options)
    if not params:
        return cell
    return cell.with_params(**{name: np.full(cell.block_shape(name), float(v)) for name, v in params.items()})


def scalar_params(cell: Cell) -> dict[str, float]:
    """Every parameter of a one-unit, one-model cell by Keras name, as floats.

    Raises:
        ValueError: for a cell with more than one unit, input or model.
    """
    if cell.units != 1 or cell.input_dim != 1 or cell.models != 1:
        raise ValueError(f"the explorer takes one-unit, one-input, one-model cells; got {cell!r}")
    return {name: float(value.reshape(-1)[0]) for name, value in cell.named_params().items()}


def _states(cell: Cell, h: np.ndarray, c: np.ndarray | None) -> Any:
    ht = torch.as_tensor(np.asarray(h, dtype=float)[:, None], dtype=F64)
    if len(cell.state_names) == 1:
        return ht
    return ht, torch.as_tensor(np.asarray(c, dtype=float)[:, None], dtype=F64)


def reduced_map(cell: Cell, h: Sequence[float] | np.ndarray) -> np.ndarray:
    r"""The one-unit reduced map :math:`\Phi(h)` at zero input (see the module text) for every value in ``h``.

    SRNN and GRU: the hidden state after one step from ``h``. LSTM: :math:`o(h) \tanh c^*(h)` with
    :math:`c^*(h) = i(h) g(h) / (1 - f(h))`, read off the cell's step (``c' = f c + i g`` at ``c = 0`` and ``c = 1``);
    NaN where ``f(h) = 1`` (no finite ``c^*``).
    """
    h = np.asarray(h, dtype=float)
    x = torch.zeros(h.size, 1, dtype=F64)
    with torch.no_grad():
        if len(cell.state_names) == 1:
            return cell.step(_states(cell, h, None), x).numpy()[:, 0]
        written = cell.step(_states(cell, h, np.zeros_like(h)), x)[1].numpy()[:, 0]   # i g
        kept = cell.step(_states(cell, h, np.ones_like(h)), x)[1].numpy()[:, 0] - written  # f
        with np.errstate(divide="ignore", invalid="ignore"):
            c_star = np.where(kept < 1.0, written / (1.0 - kept), np.nan)
        finite = np.isfinite(c_star)
        out = np.full(h.shape, np.nan)
        if finite.any():
            out[finite] = cell.step(_states(cell, h[finite], c_star[finite]), x[: int(finite.sum())])[0].numpy()[:, 0]
        return out


def _dominant(eigenvalues: np.ndarray) -> complex:
    return complex(eigenvalues[int(np.argmax(np.abs(eigenvalues)))])


def fixed_point_views(cell: Cell) -> list[FixedPointView]:
    """Every fixed point (period 1, zero input) of a one-unit, one-model cell, by increasing ``h``."""
    points = dynamics.fixed_points(cell.to(F64), periods=(1,))
    views = [FixedPointView(float(p.state[0]), tuple(float(v) for v in p.state), _dominant(p.eigenvalues),
                            bool(p.stable), p.kind, int(p.multiplicity)) for p in points]
    return sorted(views, key=lambda v: v.h)


def stable_count(points: Sequence[FixedPointView]) -> int:
    """The number of stable fixed points (continua included), the predictor's second feature."""
    return sum(p.stable for p in points)


def bifurcation_points(cell: Cell, name: str, values: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """The fixed points of ``cell`` with parameter ``name`` set to each of ``values`` (the others held).

    Returns:
        ``{"value", "h", "stable"}``: one entry per fixed point found, flattened over the grid.
    """
    values = np.asarray(values, dtype=float)
    grid = cell.with_params(**{name: torch.as_tensor(values, dtype=F64)})
    out: dict[str, list] = {"value": [], "h": [], "stable": []}
    for v, points in zip(values, dynamics.fixed_points(grid, periods=(1,))):
        for p in points:
            out["value"].append(float(v))
            out["h"].append(float(p.state[0]))
            out["stable"].append(bool(p.stable))
    return {"value": np.asarray(out["value"]), "h": np.asarray(out["h"]), "stable": np.asarray(out["stable"], bool)}


def start_eigenvalue(cell: Cell) -> complex:
    """The eigenvalue of largest modulus of the zero-input map's Jacobian at the start state ``s = 0``."""
    cell = cell.to(F64)
    J = dynamics.jacobian(cell, torch.zeros(cell.state_dim, dtype=F64), torch.zeros(cell.input_dim, dtype=F64))
    return _dominant(torch.linalg.eigvals(J.reshape(cell.state_dim, cell.state_dim)).numpy())


def pulse_gradient_decay(cell: Cell, length: int) -> dynamics.GradientDecay:
    """:func:`dynlatch.dynamics.gradient_decay` from ``s = 0`` driven by a +1 pulse at t = 0 and zeros after it
    (the noiseless latching input), ``length`` steps."""
    cell = cell.to(F64)
    pulse = torch.zeros(int(length), cell.input_dim, dtype=F64)
    pulse[0] = 1.0
    return dynamics.gradient_decay(cell, torch.zeros(cell.state_dim, dtype=F64), inputs=pulse)


def read_predictors(summary: str | Path) -> dict[str, dict[int, LogisticFit]]:
    """The fitted predictors of an lstm-failure ``summary.json``, by cell kind and T.

    Raises:
        ValueError: for a file that is not JSON or holds no predictor coefficients, or coefficients that are not
            fits; OSError for one that cannot be read.
    """
    text = Path(summary).read_bytes()
    try:
        data = json.loads(text)
    except ValueError as e:  # not JSON, or not UTF-8
        raise ValueError(f"{summary} is not JSON ({e})") from None
    coefficients = data.get("predictor", {}).get("coefficients") if isinstance(data, dict) else None
    if not isinstance(coefficients, dict):
        raise ValueError(f"{summary} holds no predictor coefficients (not an lstm-failure summary.json)")
    try:
        return {kind: {int(T): LogisticFit.from_dict(c) for T, c in by_length.items() if c}
                for kind, by_length in coefficients.items() if isinstance(by_length, dict)}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{summary}: a predictor's coefficients are damaged ({type(e).__name__}: {e})") from None


def read_one_unit_cell(path: str | Path) -> Cell:
    """The one-unit, one-input, one-model cell in a weight file (read by :func:`dynlatch.cells.load`).

    Raises:
        ValueError: for a file :func:`dynlatch.cells.load` refuses or cannot read, or a cell of another size.
    """
    try:
        cell = load(path)
    except (WeightFileError, OSError) as e:
        raise ValueError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
    scalar_params(cell)
    return cell


def predicted_success(fit: LogisticFit, *, eigenvalue: complex, stable_fixed_points: int, length: int) -> float:
    """P(success) of the predictor ``fit`` for initial dynamics with start-state eigenvalue ``eigenvalue`` and
    ``stable_fixed_points`` stable fixed points, trained at length ``length``: the features are those of
    :func:`dynlatch.studies._lstm_failure_features.dynamical_features`."""
    features = {"retention": length * math.log(max(abs(eigenvalue), 1e-300)),
                "stable_fixed_points": float(stable_fixed_points)}
    row = np.asarray([[features[f] for f in PREDICTOR_FEATURES]])
    return float(fit.probability(row)[0])


@dataclass(frozen=True)
class Snapshot:
    """Everything the explorer shows for one setting of the parameters.

    Attributes:
        h: the grid of hidden values the reduced map is drawn on; ``phi``: :func:`reduced_map` on it.
        points: :func:`fixed_point_views`.
        eigenvalue: :func:`start_eigenvalue`.
        log_norms: log ||ds_T/ds_t|| against T - t = 0, 1, ... (:func:`pulse_gradient_decay`).
        fitted_log_rate, predicted_log_rate: the decay's measured and predicted rates per step.
        success: the predictor's P(success) at ``length``, None without a predictor for this kind and length.
    """

    h: np.ndarray
    phi: np.ndarray
    points: list[FixedPointView]
    eigenvalue: complex
    log_norms: np.ndarray
    fitted_log_rate: float
    predicted_log_rate: float
    success: float | None
    length: int


def snapshot(cell: Cell, *, length: int, predictor: LogisticFit | None = None, grid: int = 401) -> Snapshot:
    """Compute everything the explorer shows for ``cell`` (one unit, one model) at training length ``length``."""
    h = np.linspace(-1.0, 1.0, grid)
    points = fixed_point_views(cell)
    eigenvalue = start_eigenvalue(cell)
    decay = pulse_gradient_decay(cell, length)
    success = (None if predictor is None else
               predicted_success(predictor, eigenvalue=eigenvalue, stable_fixed_points=stable_count(points),
                                 length=length))
    return Snapshot(h, reduced_map(cell, h), points, eigenvalue, decay.log_norms[0, ::-1].copy(),
                    float(decay.fitted_log_rate[0]), float(decay.predicted_log_rate[0]), success, int(length))


def bifurcation_parameter(cell: Cell) -> str:
    """The parameter whose bifurcation diagram is drawn first: the recurrent weight of the kind's tanh block (SRNN
    ``U``, LSTM ``U_c``, GRU and MGU ``U_h``), else its first recurrent weight."""
    names = cell.param_names()
    for name in ("U", *(f"U_{block}" for block in cell.tanh_blocks)):
        if name in names:
            return name
    return next((n for n in names if n.startswith("U")), names[0])
