r"""Bengio, Simard & Frasconi (1994)'s minimal latching experiment, its theory, and the random-guessing baseline.

The neuron (Bengio, Simard & Frasconi 1994, IEEE TNN 5(2):157-166, Sec. III and Fig. 2):

.. math::
    a_t = w \tanh(a_{t-1}) + h_t, \qquad a_0 = 0, \qquad x_T = \tanh(a_T),

with trainable inputs ``h_1..h_L`` (one set per class), zero-mean Gaussian noise of variance ``s`` for
``L < t <= T``, targets ``d = +-0.8`` and cost :math:`C = \tfrac12 \sum_p (x_T^p - d^p)^2`. For ``w > 1`` the map
``x -> tanh(w x)`` has two stable fixed points ``+-xbar`` and an unstable one at 0; a latched state keeps its sign
while the inputs stay below the saddle-node threshold ``h*(w)``, but there the gradient factor per step is
``w (1 - xbar^2) < 1``: robust latching and gradient flow exclude each other (the paper's dilemma).

Three parts:

* theory -- :func:`attractor`, :func:`multiplier`, :func:`noise_threshold`;
* the experiment -- :func:`train_latch` trains ``M`` independent trials (each its own ``w``, inputs and noise) by
  full-batch gradient descent in one float64 torch program; :func:`latch_accuracy` scores given parameters;
  :func:`mechanism` tells whether a trained trial ended in the robust-latching regime (``w > 1``, noise below ``h*``);
* random guessing (Hochreiter & Schmidhuber 1997, Sec. 5.3 and their 1996 note): :func:`guess_neuron` and
  :func:`guess_cell` draw all weights from U(-100, 100) and score thousands of guesses per call;
  :func:`mean_trials` turns a solved fraction into the geometric mean trials to success with a Wilson interval.

Choices where the paper is silent (those of :func:`train_latch`; the ``bengio94`` study,
:mod:`dynlatch.studies.bengio94`, states them in its ``summary.json``): ``h`` starts at 0 for both classes (no
information, symmetric start), each trial has a fixed training set of ``train_sequences`` sequences (half per class,
noise drawn once from the trial's seed), plain full-batch gradient descent on the paper's summed cost, and success is
judged on ``test_sequences`` fresh noisy sequences: the fraction with ``sign(x_T) = sign(d)`` must reach a threshold
(:meth:`LatchResult.success`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from scipy.optimize import brentq

from . import _checks
from ._stats import wilson_interval
from .cells import cell_class
from .cells._registry import CELL_CLASSES

__all__ = [
    "GUESS_RANGE", "TARGET", "LatchResult", "MeanTrials", "attractor", "check_latch_settings", "guess_cell",
    "guess_neuron", "latch_accuracy", "latch_cost", "latch_outputs", "mean_trials", "mechanism", "multiplier",
    "noise_threshold", "sequential_search_lengths", "train_latch", "trial_noise",
]

TARGET = 0.8
"""Bengio et al.'s targets d = +-0.8."""
GUESS_RANGE = 100.0
"""Hochreiter & Schmidhuber's guessing range: every weight uniform in [-100, 100]."""


# -- theory ----------------------------------------------------------------------------------------------------
def _check_w(w: Any) -> np.ndarray:
    arr = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 1.0):
        bad = arr[~(np.isfinite(arr) & (arr > 1.0))].ravel()[0]
        raise ValueError(f"w must be finite and > 1 (two attractors exist only for w > 1); got {bad}")
    return arr


def attractor(w: Any) -> np.ndarray | float:
    r"""The positive stable fixed point ``xbar`` of ``x -> tanh(w x)`` (Bengio et al. 1994, Sec. III):

    .. math:: \bar x = \tanh(w \bar x), \quad \bar x > 0,

    i.e. the intersection of ``x = tanh(a)`` and ``x = a / w``; the latched pre-activation is ``a = w xbar``.
    Found by Brent's method on ``(0, 1]``.

    Args:
        w: recurrent weight(s), each > 1 (scalar or array).

    Returns:
        ``xbar`` of the same shape (a float for a scalar).

    Raises:
        ValueError: if any ``w <= 1`` (then 0 is the only fixed point) or is not finite.
    """
    arr = _check_w(w)
    out = np.array([brentq(lambda x, wi=wi: math.tanh(wi * x) - x, 1e-300 if wi > 1e6 else 1e-12, 1.0,
                           xtol=1e-15, rtol=4 * np.finfo(float).eps) for wi in arr.ravel()]).reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


def multiplier(w: Any) -> np.ndarray | float:
    r"""The gradient factor per step at the attractor, ``da_t/da_{t-1} = w (1 - xbar^2)`` (Bengio et al. 1994):
    below 1 for every ``w > 1``, so ``dx_T/dx_0`` decays like its ``T``-th power.

    Raises:
        ValueError: if any ``w <= 1``.
    """
    arr = _check_w(w)
    out = arr * (1.0 - np.asarray(attractor(arr)) ** 2)
    return float(out) if out.ndim == 0 else out


def noise_threshold(w: Any) -> np.ndarray | float:
    r"""The saddle-node threshold ``h*(w)`` (Bengio et al. 1994, Sec. III): a constant input of size ``|h| < h*``
    cannot push a state across to the other attractor of ``a -> w tanh(a) + h``; at ``|h| = h*`` the map is tangent
    to the identity (``w (1 - tanh^2 a) = 1``, ``a = w tanh(a) + h``), which gives

    .. math:: h^*(w) = \sqrt{w (w - 1)} - \operatorname{arccosh}\sqrt{w}.

    Raises:
        ValueError: if any ``w <= 1``.
    """
    arr = _check_w(w)
    out = np.sqrt(arr * (arr - 1.0)) - np.arccosh(np.sqrt(arr))
    return float(out) if out.ndim == 0 else out


# -- statistics ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanTrials:
    """Mean trials to the first success of a search with per-trial success probability ``p`` (geometric law,
    mean ``1/p``), estimated from ``solved`` successes in ``guesses`` independent guesses.

    Attributes:
        guesses, solved: the sample.
        solved_fraction: ``p_hat = solved / guesses``.
        mean: ``1 / p_hat`` (inf when nothing was solved).
        ci_low, ci_high: ``1 / p`` at the Wilson 95% interval's ends (``ci_high`` inf when nothing was solved).
    """

    guesses: int
    solved: int
    solved_fraction: float
    mean: float
    ci_low: float
    ci_high: float


def mean_trials(solved: Any) -> MeanTrials:
    """:class:`MeanTrials` of a boolean sample (one entry per guess).

    Raises:
        ValueError: for an empty sample.
    """
    s = np.asarray(solved, dtype=bool).ravel()
    if s.size == 0:
        raise ValueError("solved must hold at least one guess")
    k, n = int(s.sum()), int(s.size)
    lo, hi = wilson_interval(k, n)
    inv = lambda p: math.inf if p == 0 else 1.0 / p  # noqa: E731
    return MeanTrials(n, k, k / n, inv(k / n), inv(hi), inv(lo))


def sequential_search_lengths(solved: Any) -> np.ndarray:
    """Cut a stream of guesses into sequential searches: each search draws guesses until one is solved. Returns the
    number of guesses of every completed search (the unfinished tail is dropped)."""
    idx = np.flatnonzero(np.asarray(solved, dtype=bool).ravel())
    return np.diff(np.concatenate([[-1], idx]))


# -- the experiment --------------------------------------------------------------------------------------------
def _per_trial(value: Any, M: int, name: str, device: Any) -> torch.Tensor:
    t = torch.as_tensor(_checks.real_array(name, value, finite=False).astype(np.float64), device=device)
    if t.ndim == 0:
        t = t.expand(M)
    if t.shape != (M,) or not torch.isfinite(t).all():
        raise ValueError(f"{name} must be a finite number or {M} finite numbers (one per trial); got shape "
                         f"{tuple(t.shape)}")
    return t.clone()


def _labels(n: int, device: Any) -> torch.Tensor:
    """Sequence classes: the first ``n // 2`` are class 0 (d = +0.8), the rest class 1 (d = -0.8)."""
    c = torch.ones(n, dtype=torch.long, device=device)
    c[: n // 2] = 0
    return c


def trial_noise(*, seed: int, trial: int, sequences: int, length: int, stream: int) -> np.ndarray:
    """Standard-normal noise (sequences, length) of one trial: ``default_rng([seed, trial, stream])`` (stream 0
    training, 1 test), so a trial's data do not depend on which other trials run beside it."""
    return np.random.default_rng([int(seed), int(trial), int(stream)]).standard_normal((sequences, length))


def _noise(*, seed: int, trials: Sequence[int], sequences: int, lengths: Sequence[int], stream: int,
           device: Any) -> torch.Tensor:
    """Every trial's standard-normal noise, left-padded with zeros to the longest length: (M, P, max T)."""
    Tmax = max(lengths)
    z = np.zeros((len(trials), sequences, Tmax))
    for i, (m, T) in enumerate(zip(trials, lengths)):
        z[i, :, Tmax - T:] = trial_noise(seed=seed, trial=m, sequences=sequences, length=T, stream=stream)
    return torch.as_tensor(z, device=device)


def _per_trial_lengths(length: Any, M: int, inputs: int) -> list[int]:
    arr = _checks.real_array("length", length)
    if arr.ndim == 0:
        arr = np.full(M, arr)
    if arr.shape != (M,) or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"length must be an integer or {M} integers (one per trial); got {length!r}")
    if arr.min() < inputs:
        raise ValueError(f"length T must be >= inputs L={inputs}; got {int(arr.min())}")
    return [int(v) for v in arr]


def latch_outputs(w: torch.Tensor, h: torch.Tensor, noise: torch.Tensor, *, lengths: Sequence[int]) -> torch.Tensor:
    r"""``x_T = tanh(a_T)`` of every trial and sequence, for trials of different lengths in one program.

    A trial of length ``T`` runs on the last ``T`` of the ``max T`` steps; before it starts its inputs are 0, so
    ``a`` stays exactly 0 (``w tanh(0) + 0 = 0``) and those steps change neither the output nor any gradient.

    Args:
        w: (M,) recurrent weights.
        h: (M, 2, L) trained inputs per class (class 0: d = +0.8, class 1: d = -0.8).
        noise: (M, P, max T) input noise scaled to its standard deviation, zero before each trial's start; the
            trial's first ``L`` steps are replaced by its class inputs. The first ``P // 2`` sequences are class 0.
        lengths: the M trial lengths T (each >= L).

    Returns:
        (M, P) outputs ``x_T``.
    """
    M, P, Tmax = noise.shape
    L = h.shape[-1]
    if len(lengths) != M or max(lengths) != Tmax or min(lengths) < L:
        raise ValueError(f"lengths must hold {M} values >= L={L} with maximum {Tmax}")
    cls = _labels(P, noise.device)
    start = Tmax - torch.as_tensor(list(lengths), device=noise.device)  # (M,)
    slot = torch.arange(Tmax, device=noise.device) - start[:, None]  # (M, Tmax): step index within the trial
    is_input = (slot >= 0) & (slot < L)
    hc = h[:, cls, :]  # (M, P, L)
    idx = slot.clamp(0, L - 1)[:, None, :].expand(M, P, Tmax)
    u = torch.where(is_input[:, None, :], torch.gather(hc, 2, idx), noise)
    a = torch.zeros(M, P, dtype=noise.dtype, device=noise.device)
    wc = w.unsqueeze(-1)
    # one contiguous (M, P) slab per step; unbind's backward is a single stack (indexing u[..., t] in the loop would
    # allocate a full-size gradient per step)
    for u_t in u.permute(2, 0, 1).contiguous().unbind(0):
        a = wc * torch.tanh(a) + u_t
    return torch.tanh(a)


def latch_cost(w: torch.Tensor, h: torch.Tensor, noise: torch.Tensor, *, lengths: Sequence[int]) -> torch.Tensor:
    r"""Bengio et al.'s cost per trial, :math:`C = \tfrac12 \sum_p (x_T^p - d^p)^2`, (M,)."""
    x = latch_outputs(w, h, noise, lengths=lengths)
    d = torch.full_like(x[0], TARGET)
    d[_labels(x.shape[-1], x.device) == 1] = -TARGET
    return 0.5 * ((x - d) ** 2).sum(-1)


def latch_accuracy(w: Any, h: Any, *, length: Any, noise_variance: Any, sequences: int, seed: int,
                   trials: Sequence[int] | None = None, device: Any = None) -> torch.Tensor:
    """Fraction of fresh noisy test sequences whose output has the class's sign, ``sign(x_T) = sign(d)``, (M,).

    Args:
        w: (M,) recurrent weights.
        h: (M, 2, L) class inputs.
        length: T (or one per trial).
        noise_variance: ``s`` (scalar or (M,)).
        sequences: test sequences per trial (half per class).
        seed: the test noise of trial ``m`` is stream 1 of ``(seed, trials[m])``.
        trials: the trials' numbers (default ``range(M)``).
    """
    w = torch.as_tensor(_checks.real_array("w", w).astype(np.float64), device=device)
    h = torch.as_tensor(_checks.real_array("h", h).astype(np.float64), device=device)
    if w.ndim != 1 or w.shape[0] < 1:
        raise _checks.CheckError("w", f"must be (M,), one weight per trial; got shape {tuple(w.shape)}")
    M = w.shape[0]
    if h.ndim != 3 or h.shape[:2] != (M, 2) or h.shape[2] < 1:
        raise _checks.CheckError("h", f"must be (M, 2, L) with M={M}, L >= 1; got shape {tuple(h.shape)}")
    lengths = _per_trial_lengths(length, M, h.shape[-1])
    _checks.integer("sequences", sequences, minimum=2)
    _checks.seed("seed", seed)
    trials = list(range(M)) if trials is None else list(_checks.seeds("trials", trials))
    if len(trials) != M:
        raise _checks.CheckError("trials", f"must number the {M} trials; got {len(trials)} numbers")
    _checks.fits_in_memory("sequences", float(M) * sequences * max(lengths), what="the test noise")
    variance = _per_trial(noise_variance, M, "noise_variance", device)
    if (variance < 0).any():
        raise _checks.CheckError("noise_variance", "must be >= 0")
    sigma = variance.sqrt()
    z = _noise(seed=seed, trials=trials, sequences=sequences, lengths=lengths, stream=1, device=device)
    with torch.no_grad():
        x = latch_outputs(w, h, sigma[:, None, None] * z, lengths=lengths)
    right = (x > 0) == (_labels(sequences, x.device) == 0)
    return right.to(torch.float64).mean(-1)


@dataclass
class LatchResult:
    """What :func:`train_latch` returns, one entry per trial (numpy, float64).

    Attributes:
        length: the trial's sequence length.
        w0: its initial weight.
        noise_variance: its noise variance.
        w: final recurrent weight.
        h: final class inputs (M, 2, L).
        cost0: the training cost before training.
        cost: the training cost after training.
        test_accuracy: fraction of test sequences on the right side (:func:`latch_accuracy`).
        diverged: cost or gradient became non-finite (the parameters are frozen there; never a success).
    """

    length: np.ndarray
    w0: np.ndarray
    noise_variance: np.ndarray
    w: np.ndarray
    h: np.ndarray
    cost0: np.ndarray
    cost: np.ndarray
    test_accuracy: np.ndarray
    diverged: np.ndarray
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def success(self, threshold: float) -> np.ndarray:
        """Trials whose test accuracy reaches ``threshold`` (and did not diverge)."""
        return (self.test_accuracy >= threshold) & ~self.diverged


def train_latch(
    *,
    length: Any,
    trials: int,
    w0: Any = 1.25,
    noise_variance: Any = 0.2,
    inputs: int = 1,
    lr: float = 0.05,
    epochs: int = 300,
    train_sequences: int = 20,
    test_sequences: int = 200,
    h0: float = 0.0,
    seed: int = 0,
    first_trial: int = 0,
    device: Any = None,
) -> LatchResult:
    r"""Train ``trials`` independent copies of Bengio et al.'s latch by full-batch gradient descent, in one program.

    Trial ``m`` (numbered ``first_trial + m``) starts from ``w = w0[m]`` and ``h = h0`` (all ``L`` inputs of both
    classes), has a fixed training set of ``train_sequences`` sequences (the first half class 0, ``d = +0.8``) whose
    noise is ``sqrt(s[m]) * trial_noise(seed, trial, stream=0)``, and takes ``epochs`` steps
    ``theta <- theta - lr * dC/dtheta`` on :math:`C = \tfrac12 \sum_p (\tanh a_T^p - d^p)^2` for
    ``theta = (w, h_{1..L}^{(0)}, h_{1..L}^{(1)})``. Gradients by torch autograd in float64; trials are independent,
    so a trial's result does not depend on which trials run beside it.

    Args:
        length: sequence length T (>= inputs), or one per trial: trials of different lengths run in one program
            (see :func:`latch_outputs`).
        trials: number of trials M.
        w0, noise_variance: scalars or (M,) arrays (one per trial).
        inputs: L, trained inputs per class.
        lr: gradient-descent step size.
        epochs: number of gradient-descent steps.
        train_sequences, test_sequences: per trial, each even and >= 2.
        h0: initial value of every trained input.
        seed: the data seed.
        first_trial: the number of the first trial.
        device: torch device.

    Returns:
        A :class:`LatchResult`.

    Raises:
        ValueError: naming the first impossible setting.
    """
    check_latch_settings(trials=trials, inputs=inputs, lr=lr, epochs=epochs, train_sequences=train_sequences,
                         test_sequences=test_sequences)
    _checks.number("h0", h0)
    _checks.seed("seed", seed)
    _checks.integer("first_trial", first_trial, minimum=0)
    longest = np.max(_checks.real_array("length", length), initial=1)
    _checks.fits_in_memory("trials", 2.0 * trials * max(train_sequences, test_sequences) * longest,
                           what="the noise (trials x sequences x T values)")
    M, L = int(trials), int(inputs)
    T = _per_trial_lengths(length, M, L)
    w = _per_trial(w0, M, "w0", device)
    s = _per_trial(noise_variance, M, "noise_variance", device)
    if (s < 0).any():
        raise _checks.CheckError("noise_variance", "must be >= 0")
    ids = list(range(first_trial, first_trial + M))
    t0 = time.perf_counter()
    noise = s.sqrt()[:, None, None] * _noise(seed=seed, trials=ids, sequences=train_sequences, lengths=T, stream=0,
                                             device=device)
    h = torch.full((M, 2, L), float(h0), dtype=torch.float64, device=device)
    w, h = w.requires_grad_(True), h.requires_grad_(True)
    active = torch.ones(M, dtype=torch.bool, device=device)
    cost0 = None
    for _ in range(epochs):
        cost = latch_cost(w, h, noise, lengths=T)
        if cost0 is None:
            cost0 = cost.detach().clone()
        gw, gh = torch.autograd.grad(cost.sum(), (w, h))
        with torch.no_grad():
            ok = torch.isfinite(cost) & torch.isfinite(gw) & torch.isfinite(gh).all(-1).all(-1)
            active &= ok
            step = active.to(w.dtype)
            w -= lr * step * torch.nan_to_num(gw)
            h -= lr * step[:, None, None] * torch.nan_to_num(gh)
    with torch.no_grad():
        cost = latch_cost(w, h, noise, lengths=T)
    w, h = w.detach(), h.detach()
    acc = latch_accuracy(w, h, length=T, noise_variance=s, sequences=test_sequences, seed=seed, trials=ids,
                         device=device)
    diverged = ~active | ~torch.isfinite(cost)
    as_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
    settings = dict(inputs=L, lr=lr, epochs=epochs, train_sequences=train_sequences,
                    test_sequences=test_sequences, h0=h0, seed=seed, first_trial=first_trial)
    return LatchResult(np.asarray(T), as_np(_per_trial(w0, M, "w0", device)), as_np(s), as_np(w), as_np(h), as_np(cost0),
                       as_np(cost), as_np(acc), as_np(diverged), time.perf_counter() - t0, settings)


def check_latch_settings(*, trials: int, inputs: int, lr: float, epochs: int, train_sequences: int,
                         test_sequences: int) -> None:
    """Raise ValueError naming the first impossible setting of the experiment (lengths: see ``train_latch``)."""
    _checks.integer("inputs", inputs, minimum=1)
    _checks.integer("trials", trials, minimum=1)
    _checks.number("lr", lr, above=0)
    _checks.integer("epochs", epochs, minimum=0)
    for name, v in (("train_sequences", train_sequences), ("test_sequences", test_sequences)):
        if _checks.integer(name, v, minimum=2) % 2:
            raise _checks.CheckError(name, f"must be even and >= 2 (half per class); got {v}")


def mechanism(result: LatchResult, *, coverage: float) -> np.ndarray:
    r"""Per trial: did it end in Bengio's robust-latching regime? ``w > 1`` and a fraction ``>= coverage`` of the
    Gaussian noise inputs below the threshold, :math:`P(|h| < h^*(w)) = \operatorname{erf}(h^* / \sqrt{2 s}) \ge`
    ``coverage`` (``coverage = 0.6827``: the noise's standard deviation is below ``h*``; ``0.99``: 2.58 sigma)."""
    w, s = result.w, result.noise_variance
    ok = w > 1.0
    hstar = np.zeros_like(w)
    hstar[ok] = np.asarray(noise_threshold(w[ok]))
    with np.errstate(divide="ignore"):
        cover = np.where(s > 0, np.vectorize(math.erf)(hstar / np.sqrt(2.0 * np.maximum(s, 1e-300))), 1.0)
    return ok & (cover >= coverage)


# -- random guessing -------------------------------------------------------------------------------------------
def guess_neuron(*, guesses: int, length: int, inputs: int, noise_variance: float, sequences: int, seed: int,
                 threshold: float, chunk: int = 8192, device: Any = None) -> np.ndarray:
    """Random guessing on Bengio's neuron (Hochreiter & Schmidhuber 1997): ``w`` and the ``2 L`` class inputs drawn
    from U(-100, 100); a guess solves the task when its :func:`latch_accuracy`-style score on one fixed set of
    ``sequences`` noisy test sequences (shared by all guesses, from ``seed``) reaches ``threshold``.

    Returns:
        (guesses,) booleans, solved or not, in draw order (guess ``g`` is a function of ``seed`` and ``g`` only
        through the chunked generator ``default_rng([seed, 7, chunk index])`` with a fixed chunk size).

    Raises:
        ValueError: for impossible settings.
    """
    check_latch_settings(trials=guesses, inputs=inputs, lr=1.0, epochs=0, train_sequences=2,
                         test_sequences=sequences)
    _per_trial_lengths(length, 1, inputs)
    if not 0 < threshold <= 1 or noise_variance < 0 or chunk < 1:
        raise ValueError("need 0 < threshold <= 1, noise_variance >= 0 and chunk >= 1")
    z = math.sqrt(noise_variance) * torch.as_tensor(
        trial_noise(seed=seed, trial=0, sequences=sequences, length=length, stream=2), device=device)
    out = []
    for c, start in enumerate(range(0, guesses, chunk)):
        m = min(chunk, guesses - start)
        theta = np.random.default_rng([int(seed), 7, c]).uniform(-GUESS_RANGE, GUESS_RANGE, size=(m, 1 + 2 * inputs))
        theta = torch.as_tensor(theta, device=device)
        w, h = theta[:, 0], theta[:, 1:].reshape(m, 2, inputs)
        with torch.no_grad():
            x = latch_outputs(w, h, z.expand(m, *z.shape), lengths=[length] * m)
        acc = ((x > 0) == (_labels(sequences, x.device) == 0)).to(torch.float64).mean(-1)
        out.append((acc >= threshold).cpu().numpy())
    return np.concatenate(out)


def guess_cell(*, cell: str, guesses: int, x: Any, y: Any, threshold: float, seed: int, chunk: int = 2048,
               scheme_options: str = "keras2", device: Any = None) -> np.ndarray:
    """Random guessing on a one-unit cell with a Dense(2)+softmax read-out (the question's set-up): every cell
    weight (kernel, recurrent kernel, bias) and both read-out arrays drawn from U(-100, 100); a guess solves the task
    when its accuracy (argmax of the read-out of ``h_T``) on the fixed data ``(x, y)`` reaches ``threshold``.

    Args:
        cell: a registered kind (``srnn``, ``lstm``, ``gru``).
        guesses: number of guesses.
        x: (B, T, 1) inputs.
        y: (B,) labels in {0, 1}.
        threshold: accuracy counted as solved.
        seed: guesses of chunk ``c`` come from ``default_rng([seed, 11, c])`` (fixed chunk size).
        scheme_options: the gate conventions (``"keras2"``: hard-sigmoid gates, GRU reset_after=False, as the
            question; ``"torch"``: sigmoid gates, reset_after=True).
        device: torch device.

    Returns:
        (guesses,) booleans in draw order.

    Raises:
        ValueError: unknown cell, bad shapes or settings.
    """
    if cell not in CELL_CLASSES:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELL_CLASSES)}")
    if guesses < 1 or chunk < 1 or not 0 < threshold <= 1:
        raise ValueError("need guesses >= 1, chunk >= 1 and 0 < threshold <= 1")
    cls = cell_class(cell)
    opts = cls.scheme_options(scheme_options)
    x = torch.as_tensor(np.asarray(x, dtype=np.float64), device=device)
    y = torch.as_tensor(np.asarray(y), device=device)
    if x.ndim != 3 or x.shape[-1] != 1 or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (batch, T, 1) and y (batch,); got {tuple(x.shape)} and {tuple(y.shape)}")
    K, nb = cls.n_gates, cls.rows_for(opts)
    out = []
    for c, start in enumerate(range(0, guesses, chunk)):
        m = min(chunk, guesses - start)
        rng = np.random.default_rng([int(seed), 11, c])
        draw = lambda *shape: torch.as_tensor(rng.uniform(-GUESS_RANGE, GUESS_RANGE, size=(m, *shape)),  # noqa
                                              device=device)
        model = cls(draw(1, K), draw(1, K), draw(nb, K), batched=True, dtype=torch.float64, device=device, **opts)
        w_out, b_out = draw(1, 2), draw(2)
        with torch.no_grad():
            state = model.zero_state(x.shape[0])
            for t in range(x.shape[1]):
                state = model.step_batched(state, x[:, t, :])
            logits = model.hidden(state) @ w_out + b_out[:, None, :]
            acc = (logits.argmax(-1) == y).to(torch.float64).mean(-1)
        out.append((acc >= threshold).cpu().numpy())
    return np.concatenate(out)
