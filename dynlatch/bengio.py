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
* random guessing (Hochreiter & Schmidhuber 1997, Sec. 5.3 and their 1996 note): :func:`guess_neuron` and
  :func:`guess_cell` draw all weights from U(-100, 100) and score thousands of guesses per call;
  :func:`mean_trials` turns a solved fraction into the geometric mean trials to success with a Wilson interval.

Choices where the paper is silent (documented in :class:`Bengio94Config` and written to ``summary.json``):
``h`` starts at 0 for both classes (no information, symmetric start), each trial has a fixed training set of
``train_sequences`` sequences (half per class, noise drawn once from the trial's seed), plain full-batch gradient
descent on the paper's summed cost, and success is judged on ``test_sequences`` fresh noisy sequences: the
fraction with ``sign(x_T) = sign(d)`` must reach ``success_accuracy``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from scipy.optimize import brentq

from ._checks import CheckError
from ._config import Config, option
from .cells import cell_class
from .cells._registry import CELL_CLASSES

TARGET = 0.8
"""Bengio et al.'s targets d = +-0.8."""
GUESS_RANGE = 100.0
"""Hochreiter & Schmidhuber's guessing range: every weight uniform in [-100, 100]."""
Z95 = 1.959963984540054


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
def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default).

    Raises:
        ValueError: for ``n < 1`` or ``successes`` outside ``[0, n]``.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1; got successes={successes}, n={n}")
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == n else min(1.0, centre + half))


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
    t = torch.as_tensor(np.asarray(value, dtype=np.float64), device=device)
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
    arr = np.asarray(length)
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
        w: (M,) recurrent weights; h: (M, 2, L) class inputs.
        length: T (or one per trial); noise_variance: ``s`` (scalar or (M,)); sequences: test sequences per trial
            (half per class).
        seed, trials: the test noise of trial ``m`` is stream 1 of ``(seed, trials[m])`` (default ``range(M)``).
    """
    w = torch.as_tensor(w, dtype=torch.float64, device=device)
    h = torch.as_tensor(h, dtype=torch.float64, device=device)
    M = w.shape[0]
    lengths = _per_trial_lengths(length, M, h.shape[-1])
    trials = list(range(M)) if trials is None else list(trials)
    sigma = _per_trial(noise_variance, M, "noise_variance", device).sqrt()
    z = _noise(seed=seed, trials=trials, sequences=sequences, lengths=lengths, stream=1, device=device)
    with torch.no_grad():
        x = latch_outputs(w, h, sigma[:, None, None] * z, lengths=lengths)
    right = (x > 0) == (_labels(sequences, x.device) == 0)
    return right.to(torch.float64).mean(-1)


@dataclass
class LatchResult:
    """What :func:`train_latch` returns, one entry per trial (numpy, float64).

    Attributes:
        length, w0, noise_variance: the trial's sequence length, initial weight and noise variance.
        w: final recurrent weight; h: final class inputs (M, 2, L).
        cost0, cost: the training cost before and after training.
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
        lr, epochs: gradient-descent step size and number of steps.
        train_sequences, test_sequences: per trial, each even and >= 2.
        h0: initial value of every trained input.
        seed, first_trial: the data seed and the number of the first trial.
        device: torch device.

    Returns:
        A :class:`LatchResult`.

    Raises:
        ValueError: naming the first impossible setting.
    """
    check_latch_settings(trials=trials, inputs=inputs, lr=lr, epochs=epochs, train_sequences=train_sequences,
                         test_sequences=test_sequences)
    if not math.isfinite(h0):
        raise ValueError(f"h0 must be finite; got {h0}")
    M, L = int(trials), int(inputs)
    T = _per_trial_lengths(length, M, L)
    w = _per_trial(w0, M, "w0", device)
    s = _per_trial(noise_variance, M, "noise_variance", device)
    if (s < 0).any():
        raise ValueError("noise_variance must be >= 0")
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
    if inputs < 1:
        raise ValueError(f"inputs (L) must be >= 1; got {inputs}")
    if trials < 1:
        raise ValueError(f"trials must be >= 1; got {trials}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0; got {lr}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0; got {epochs}")
    for name, v in (("train_sequences", train_sequences), ("test_sequences", test_sequences)):
        if v < 2 or v % 2:
            raise ValueError(f"{name} must be even and >= 2 (half per class); got {v}")


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
        guesses: number of guesses; x: (B, T, 1) inputs; y: (B,) labels in {0, 1}.
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


# -- the analyses' settings and orchestration -----------------------------------------------------------------
def _as_check_error(validate) -> None:
    """Run a config's checks, reporting a failure as a :class:`CheckError` under the setting it names first."""
    try:
        validate()
    except CheckError:
        raise
    except (ValueError, TypeError) as e:
        name, _, problem = str(e).partition(" ")
        raise CheckError(name.rstrip(":"), problem) from None


MECHANISM_COVERAGES: tuple[float, ...] = (0.6827, 0.99)
"""``coverage`` values of :func:`mechanism` reported: the noise's sigma below ``h*``, and 99% of its inputs."""


@dataclass(frozen=True)
class Bengio94Config(Config):
    """Settings of ``dynlatch run bengio94`` (Fig. 2 of Bengio, Simard & Frasconi 1994). The paper does not state
    L, the learning rate, the epochs, the number of trials or the success criterion; these are our choices, and
    the ``sensitivity_*`` variants rerun the success-vs-T curve with each changed (one at a time).

    Attributes:
        lengths: T values of panel (b); w0, noise_variance: its initial weight and noise variance s.
        trials: trials per T; inputs: L; lr, epochs: plain full-batch gradient descent on the summed cost.
        train_sequences, test_sequences: per trial (fixed training set; fresh test set), half per class.
        success_accuracy: success = fraction of test outputs with the right sign >= this.
        plane_length, plane_w0, plane_noise_variance, plane_trials: panel (a), the (w0, s) plane at one T.
        sensitivity_inputs, sensitivity_lr, sensitivity_accuracy, sensitivity_trials: the variants.
        seed, device: determinism and placement.
    """

    lengths: tuple[int, ...] = option((2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100), flag="--lens", help="T values",
                                      quick=(2, 5, 10, 20))
    trials: int = option(200, help="trials per T", quick=24)
    w0: float = option(1.25, help="initial w of panel (b)")
    noise_variance: float = option(0.2, flag="--noise", help="noise variance s")
    inputs: int = option(1, help="L, trained inputs per class")
    lr: float = option(0.05, help="learning rate of plain full-batch gradient descent")
    epochs: int = option(200, help="gradient-descent steps", quick=60)
    train_sequences: int = option(20, help="fixed training sequences per trial", cli=False)
    test_sequences: int = option(200, help="fresh test sequences per trial", cli=False, quick=100)
    success_accuracy: float = option(0.9, flag="--threshold",
                                     help="success: fraction of test outputs with the right sign")
    plane_length: int = option(20, help="T of panel (a)", cli=False, quick=10)
    plane_w0: tuple[float, ...] = option((0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0), help="w0 of panel (a)",
                                         cli=False, quick=(0.5, 1.25, 2.0))
    plane_noise_variance: tuple[float, ...] = option((0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8), help="s of panel (a)",
                                                     cli=False, quick=(0.05, 0.2, 0.8))
    plane_trials: int = option(50, help="trials per (w0, s)", cli=False, quick=12)
    sensitivity_inputs: tuple[int, ...] = option((3,), help="L of the sensitivity variant", cli=False)
    sensitivity_lr: tuple[float, ...] = option((0.15,), help="lr of the sensitivity variant", cli=False)
    sensitivity_accuracy: tuple[float, ...] = option((0.99,), help="success threshold of the sensitivity variant",
                                                     cli=False)
    sensitivity_trials: int = option(100, help="trials per T of each sensitivity variant", cli=False, quick=16)
    seed: int = option(0, help="base seed; results are deterministic given it")
    device: str | None = option(None, help="torch device (none: the CPU)")

    def check_together(self) -> None:
        _as_check_error(self._validate)

    def _validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        positive_ints = dict(trials=self.trials, plane_trials=self.plane_trials, inputs=self.inputs,
                             sensitivity_trials=self.sensitivity_trials, plane_length=self.plane_length)
        for name, v in positive_ints.items():
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v}")
        if not self.lengths or any(int(T) != T or T < self.inputs for T in self.lengths):
            raise ValueError(f"lengths must be integers >= inputs L={self.inputs}; got {self.lengths}")
        if any(sum(T >= L for T in self.lengths) < 2 for L in self.sensitivity_inputs):
            raise ValueError("sensitivity_inputs: every L needs at least two lengths T >= L")
        if self.plane_length < self.inputs:
            raise ValueError(f"plane_length must be >= inputs; got {self.plane_length}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0; got {self.epochs}")
        for name, v in (("lr", self.lr), *(("sensitivity_lr", x) for x in self.sensitivity_lr)):
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be > 0; got {v}")
        for name, v in (("success_accuracy", self.success_accuracy),
                        *(("sensitivity_accuracy", x) for x in self.sensitivity_accuracy)):
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1]; got {v}")
        for name, v in (("noise_variance", self.noise_variance),
                        *(("plane_noise_variance", x) for x in self.plane_noise_variance)):
            if not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite variance >= 0; got {v}")
        if not self.plane_w0 or not self.plane_noise_variance or not all(math.isfinite(v) for v in self.plane_w0):
            raise ValueError("plane_w0 and plane_noise_variance must be non-empty lists of finite numbers")
        if not math.isfinite(self.w0):
            raise ValueError(f"w0 must be finite; got {self.w0}")
        if any(int(v) != v or v < 1 for v in self.sensitivity_inputs):
            raise ValueError(f"sensitivity_inputs must be integers >= 1; got {self.sensitivity_inputs}")
        for name, v in (("train_sequences", self.train_sequences), ("test_sequences", self.test_sequences)):
            if v < 2 or v % 2:
                raise ValueError(f"{name} must be even and >= 2; got {v}")


def success_by_length(result: LatchResult, *, threshold: float) -> list[dict[str, Any]]:
    """Per T: trials, successes, success frequency with its Wilson 95% interval, and the mechanism fractions
    (among successes: ended with ``w > 1`` and noise coverage by ``h*(w)`` >= each of :data:`MECHANISM_COVERAGES`)."""
    ok = result.success(threshold)
    mech = {c: mechanism(result, coverage=c) for c in MECHANISM_COVERAGES}
    rows = []
    for T in sorted(set(result.length.tolist())):
        k = result.length == T
        n, s = int(k.sum()), int(ok[k].sum())
        lo, hi = wilson_interval(s, n)
        row = dict(T=int(T), success_frequency=s / n, ci_low=lo, ci_high=hi, trials=n, successes=s,
                   w_final_median=float(np.median(result.w[k])),
                   success_w_above_1=float(np.mean(result.w[k & ok] > 1)) if s else math.nan)
        for c, m in mech.items():
            row[f"success_mechanism_{c:g}"] = float(np.mean(m[k & ok])) if s else math.nan
        rows.append(row)
    return rows


def run_rows(result: LatchResult, *, threshold: float, part: str, **extra: Any) -> list[dict[str, Any]]:
    """One tidy row per trial."""
    mech = {c: mechanism(result, coverage=c) for c in MECHANISM_COVERAGES}
    rows = []
    for m in range(len(result.w)):
        w = float(result.w[m])
        rows.append(dict(part=part, **extra, trial=m, T=int(result.length[m]), w0=float(result.w0[m]),
                         noise_variance=float(result.noise_variance[m]), w=w,
                         h_star=float(noise_threshold(w)) if w > 1 else 0.0,
                         cost0=float(result.cost0[m]), cost=float(result.cost[m]),
                         test_accuracy=float(result.test_accuracy[m]), diverged=bool(result.diverged[m]),
                         success=bool(result.success(threshold)[m]),
                         **{f"mechanism_{c:g}": bool(v[m]) for c, v in mech.items()}))
    return rows


def _train(config: Bengio94Config, *, lengths: Sequence[int], trials: int, w0: Any = None, noise_variance: Any = None,
           inputs: int | None = None, lr: float | None = None) -> LatchResult:
    M = len(lengths) * trials
    return train_latch(length=np.repeat(lengths, trials), trials=M,
                       w0=config.w0 if w0 is None else w0,
                       noise_variance=config.noise_variance if noise_variance is None else noise_variance,
                       inputs=config.inputs if inputs is None else inputs, lr=config.lr if lr is None else lr,
                       epochs=config.epochs, train_sequences=config.train_sequences,
                       test_sequences=config.test_sequences, seed=config.seed, device=config.device)


@dataclass
class Bengio94Results:
    """Everything ``dynlatch run bengio94`` writes: ``runs`` (one row per trial), ``success_vs_T``,
    ``success_vs_w0_s`` and ``sensitivity`` (rows per variant and T)."""

    runs: list[dict[str, Any]]
    success_vs_T: list[dict[str, Any]]
    success_vs_w0_s: list[dict[str, Any]]
    sensitivity: list[dict[str, Any]]
    seconds: float


def run_bengio94(config: Bengio94Config) -> Bengio94Results:
    """Panel (b) (success vs T), panel (a) (the (w0, s) plane at ``plane_length``) and the sensitivity variants.
    Each panel is one batched program (trials of all T at once)."""
    config.check()
    t0 = time.perf_counter()
    lengths = [int(T) for T in config.lengths]
    main = _train(config, lengths=lengths, trials=config.trials)
    runs = run_rows(main, threshold=config.success_accuracy, part="success_vs_T")
    by_T = success_by_length(main, threshold=config.success_accuracy)

    grid_w0, grid_s = np.meshgrid(config.plane_w0, config.plane_noise_variance, indexing="ij")
    w0 = np.repeat(grid_w0.ravel(), config.plane_trials)
    s = np.repeat(grid_s.ravel(), config.plane_trials)
    plane = train_latch(length=config.plane_length, trials=len(w0), w0=w0, noise_variance=s, inputs=config.inputs,
                        lr=config.lr, epochs=config.epochs, train_sequences=config.train_sequences,
                        test_sequences=config.test_sequences, seed=config.seed, device=config.device)
    runs += run_rows(plane, threshold=config.success_accuracy, part="success_vs_w0_s")
    ok = plane.success(config.success_accuracy)
    plane_rows = []
    for a in config.plane_w0:
        for v in config.plane_noise_variance:
            k = (plane.w0 == a) & (plane.noise_variance == v)
            n, c = int(k.sum()), int(ok[k].sum())
            lo, hi = wilson_interval(c, n)
            plane_rows.append(dict(T=config.plane_length, w0=float(a), noise_variance=float(v),
                                   success_frequency=c / n, ci_low=lo, ci_high=hi, trials=n))

    sens = [dict(variant="chosen", **r) for r in by_T]
    sub = dict(lengths=lengths, trials=config.sensitivity_trials)
    base = _train(config, **sub) if config.sensitivity_trials != config.trials else main
    for acc in config.sensitivity_accuracy:
        sens += [dict(variant=f"success_accuracy={acc:g}", **r) for r in success_by_length(base, threshold=acc)]
    for L in config.sensitivity_inputs:
        r = _train(config, **{**sub, "lengths": [T for T in lengths if T >= L]}, inputs=L)
        sens += [dict(variant=f"inputs={L}", **x) for x in success_by_length(r, threshold=config.success_accuracy)]
    for lr in config.sensitivity_lr:
        r = _train(config, **sub, lr=lr)
        sens += [dict(variant=f"lr={lr:g}", **x) for x in success_by_length(r, threshold=config.success_accuracy)]
    return Bengio94Results(runs, by_T, plane_rows, sens, time.perf_counter() - t0)


def falls_with_length(rows: Sequence[dict[str, Any]]) -> bool:
    """The qualitative claim: success at the longest T is below success at the shortest T, with the Wilson
    intervals apart (upper bound at the longest below the lower bound at the shortest)."""
    rows = sorted(rows, key=lambda r: r["T"])
    return rows[-1]["ci_high"] < rows[0]["ci_low"]


def bengio94_caption(config: Bengio94Config) -> str:
    """The choices the figure's caption states (the paper's settings are not recovered)."""
    return (f"Bengio et al. 1994 latch, our settings: L={config.inputs} trained inputs per class (init 0), w0={config.w0:g}, "
            f"plain full-batch GD lr={config.lr:g} on C = 1/2 sum_p (x_T - d)^2, {config.epochs} epochs, "
            f"{config.train_sequences} fixed training sequences; success = sign(x_T) right on "
            f">= {config.success_accuracy:.0%} of {config.test_sequences} fresh test sequences. "
            f"Bars: Wilson 95%. Sensitivity: L in {list(config.sensitivity_inputs)}, lr in {list(config.sensitivity_lr)}, "
            f"success >= {list(config.sensitivity_accuracy)}.")


def plot_bengio94(results: Bengio94Results, config: Bengio94Config) -> Any:
    """Three panels: (a) success over (w0, s) at one T with the threshold curve s = h*(w0)^2; (b) success vs T with
    intervals, the sensitivity variants and the measured mechanism fraction; (c) the theory, h*(w) and the gradient
    factor w (1 - xbar^2), against the noise's sigma."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    w0s, ss = list(config.plane_w0), list(config.plane_noise_variance)
    grid = np.array([[next(r["success_frequency"] for r in results.success_vs_w0_s
                           if r["w0"] == a and r["noise_variance"] == v) for a in w0s] for v in ss])
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                   extent=(-0.5, len(w0s) - 0.5, -0.5, len(ss) - 0.5))
    ax.set_xticks(range(len(w0s)), [f"{a:g}" for a in w0s])
    ax.set_yticks(range(len(ss)), [f"{v:g}" for v in ss])
    wf = np.linspace(1.0001, max(w0s), 200)
    # the threshold curve s = h*(w0)^2 drawn in index coordinates (piecewise-linear interpolation of both axes)
    xi = np.interp(wf, w0s, range(len(w0s)))
    yi = np.interp(np.asarray(noise_threshold(wf)) ** 2, ss, range(len(ss)), left=np.nan, right=np.nan)
    ax.plot(xi, yi, "w--", lw=2, label="s = h*(w0)^2 (sigma at threshold)")
    ax.set_xlabel("initial weight w0")
    ax.set_ylabel("noise variance s")
    ax.set_title(f"(a) success frequency at T = {config.plane_length}")
    ax.legend(loc="upper left", fontsize=8)
    fig.colorbar(im, ax=ax, label="success frequency")

    ax = axes[1]
    Ts = [r["T"] for r in results.success_vs_T]
    f = np.array([r["success_frequency"] for r in results.success_vs_T])
    lo = np.array([r["ci_low"] for r in results.success_vs_T])
    hi = np.array([r["ci_high"] for r in results.success_vs_T])
    ax.errorbar(Ts, f, yerr=[np.clip(f - lo, 0, None), np.clip(hi - f, 0, None)], fmt="o-", color="k", lw=2, capsize=3,
                label=f"GD, s={config.noise_variance:g}, w0={config.w0:g} ({config.trials} trials per T)")
    variants = sorted({r["variant"] for r in results.sensitivity} - {"chosen"})
    for v in variants:
        rows = [r for r in results.sensitivity if r["variant"] == v]
        ax.plot([r["T"] for r in rows], [r["success_frequency"] for r in rows], ".-", lw=1, alpha=0.8,
                label=f"sensitivity: {v}")
    c = MECHANISM_COVERAGES[0]
    frac = [r[f"success_mechanism_{c:g}"] for r in results.success_vs_T]
    ax.plot(Ts, frac, "s:", color="tab:red", label="of successes: w > 1 and sigma < h*(w)")
    ax.set_xscale("log")
    ax.set_xticks(Ts, [str(T) for T in Ts], fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("frequency")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("(b) success vs T")
    ax.legend(fontsize=7)

    ax = axes[2]
    w = np.linspace(1.001, 4.0, 400)
    ax.plot(w, noise_threshold(w), "b-", label="noise threshold h*(w)")
    ax.plot(w, multiplier(w), "r-", label="gradient factor w (1 - xbar^2)")
    sigma = math.sqrt(config.noise_variance)
    ax.axhline(sigma, color="gray", ls="--", label=f"noise sigma = sqrt({config.noise_variance:g})")
    ok = np.array([r["success"] for r in results.runs if r["part"] == "success_vs_T"])
    wfin = np.array([r["w"] for r in results.runs if r["part"] == "success_vs_T"])
    ax.plot(wfin[ok], np.full(ok.sum(), -0.05), "|", color="k", alpha=0.3, label="final w of successful trials")
    ax.set_xlim(0.9, 4.0)
    ax.set_ylim(-0.1, 2.0)
    ax.set_xlabel("recurrent weight w")
    ax.set_ylabel("h* / gradient factor per step")
    ax.set_title("(c) theory: latching robustness vs gradient flow")
    ax.legend(fontsize=8)
    fig.text(0.5, -0.04, bengio94_caption(config), ha="center", va="top", fontsize=8, wrap=True)
    fig.tight_layout()
    return fig


# -- random guessing vs gradient descent -----------------------------------------------------------------------
@dataclass(frozen=True)
class RandomGuessingConfig(Config):
    """Settings of ``dynlatch run random-guessing`` (Hochreiter & Schmidhuber 1997's baseline).

    Attributes:
        lengths: T values of the guessing runs; guesses: guesses per (model, T).
        cells: one-unit cells of the question's set-up (Dense(2)+softmax read-out, all weights guessed).
        neuron_inputs, noise_variance, neuron_sequences: Bengio's neuron (L, s, fixed test sequences).
        cell_sequences, cell_noise, scheme: the question's latching data (``tasks.latching``: +-1 then N(0, noise^2)
            added everywhere), all ``cell_sequences`` used to score a guess; gate conventions of ``scheme``.
        threshold: solved / success = accuracy >= this (guessing and gradient descent alike).
        gd_lengths: T values of the gradient-descent comparison; gd_trials: Bengio-neuron GD trials per T
            (settings of :class:`Bengio94Config`); gd_repeats, gd_epochs, gd_n: one-unit cells trained with
            :func:`dynlatch.train` (Adam lr 1e-3, batch 16, Keras-2 init, as the question) on ``gd_n`` sequences;
            gd_backend: its backend (``"torch"`` avoids the numba compile in short runs).
        seed, device.
    """

    lengths: tuple[int, ...] = option((5, 10, 20, 50, 100), flag="--lens", help="T values", quick=(5, 20))
    guesses: int = option(10000, help="guesses per model and T", quick=1000)
    cells: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="one-unit cells of the question's set-up")
    neuron_inputs: int = option(1, help="L of Bengio's neuron", cli=False)
    noise_variance: float = option(0.2, help="noise variance of Bengio's task", cli=False)
    neuron_sequences: int = option(200, help="test sequences of Bengio's task", cli=False, quick=100)
    cell_sequences: int = option(200, help="latching sequences scoring a guessed cell", cli=False, quick=100)
    cell_noise: float = option(0.1, help="noise s.d. of the latching data", cli=False)
    scheme: str = option("keras2", help="gate conventions of the guessed cells", cli=False)
    threshold: float = option(0.9, help="accuracy counted as solved")
    gd_lengths: tuple[int, ...] = option((5, 20, 50), flag="--gd-lens",
                                         help="T values of the gradient-descent comparison", quick=(5,))
    gd_trials: int = option(200, help="Bengio-neuron GD trials per T", cli=False, quick=24)
    gd_repeats: int = option(16, help="one-unit cells trained per T", cli=False, quick=4)
    gd_epochs: int = option(5, help="epochs of the one-unit cells", cli=False, quick=2)
    gd_n: int = option(2000, help="sequences of the one-unit cells' data", cli=False, quick=400)
    gd_backend: str = option("auto", help="training backend of the comparison", cli=False, quick="torch")
    seed: int = option(0, help="base seed; results are deterministic given it")
    device: str | None = option(None, help="torch device (none: the CPU)")

    def check_together(self) -> None:
        _as_check_error(self._validate)

    def _validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        for name, v in (("guesses", self.guesses), ("gd_trials", self.gd_trials), ("gd_repeats", self.gd_repeats),
                        ("gd_epochs", self.gd_epochs), ("neuron_inputs", self.neuron_inputs)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v}")
        for name, ls in (("lengths", self.lengths), ("gd_lengths", self.gd_lengths)):
            if not ls or any(int(T) != T or T < max(2, self.neuron_inputs) for T in ls):
                raise ValueError(f"{name} must be integers >= max(2, neuron_inputs); got {ls}")
        bad = [c for c in self.cells if c not in CELL_CLASSES]
        if bad:
            raise ValueError(f"cells: unknown {', '.join(bad)}; choose from {', '.join(CELL_CLASSES)}")
        for name, v in (("neuron_sequences", self.neuron_sequences), ("cell_sequences", self.cell_sequences)):
            if v < 4 or v % 2:
                raise ValueError(f"{name} must be even and >= 4; got {v}")
        if self.gd_n < 10:
            raise ValueError(f"gd_n must be >= 10; got {self.gd_n}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1]; got {self.threshold}")
        if not (self.noise_variance >= 0 and math.isfinite(self.noise_variance)):
            raise ValueError(f"noise_variance must be >= 0; got {self.noise_variance}")
        if not (self.cell_noise >= 0 and math.isfinite(self.cell_noise)):
            raise ValueError(f"cell_noise must be >= 0; got {self.cell_noise}")
        if self.gd_backend not in ("auto", "numba", "torch"):
            raise ValueError(f"gd_backend must be auto, numba or torch; got {self.gd_backend!r}")
        if self.scheme not in ("keras2", "torch"):
            raise ValueError(f"scheme must be keras2 or torch; got {self.scheme!r}")


def _guess_row(model: str, T: int, solved: np.ndarray, seconds: float, steps_per_guess: float) -> dict[str, Any]:
    mt = mean_trials(solved)
    return dict(method="random_guessing", model=model, T=T, guesses=mt.guesses, solved=mt.solved,
                solved_fraction=mt.solved_fraction, mean_trials=mt.mean, ci_low=mt.ci_low, ci_high=mt.ci_high,
                seconds_per_success=seconds / mt.guesses * mt.mean,
                sequence_steps_per_success=steps_per_guess * mt.mean)


def _gd_row(model: str, T: int, success: np.ndarray, seconds: float, steps_per_trial: float) -> dict[str, Any]:
    n, k = int(success.size), int(success.sum())
    lo, hi = wilson_interval(k, n)
    p = k / n
    inv = lambda q: math.inf if q == 0 else 1.0 / q  # noqa: E731
    return dict(method="gradient_descent", model=model, T=T, guesses=n, solved=k, solved_fraction=p,
                mean_trials=inv(p), ci_low=inv(hi), ci_high=inv(lo), seconds_per_success=seconds / n * inv(p),
                sequence_steps_per_success=steps_per_trial * inv(p))


def run_random_guessing(config: RandomGuessingConfig) -> list[dict[str, Any]]:
    """Mean trials to success of random guessing (per model and T) and of gradient descent (per model and T in
    ``gd_lengths``), with wall seconds and sequence-steps (forward steps of one sequence; a training step's backward
    pass is not counted) per success. One row per (method, model, T)."""
    from . import tasks
    from ._model import Model
    from ._train import train

    config.check()
    rows = []
    for T in config.lengths:
        t0 = time.perf_counter()
        solved = guess_neuron(guesses=config.guesses, length=T, inputs=config.neuron_inputs,
                              noise_variance=config.noise_variance, sequences=config.neuron_sequences,
                              seed=config.seed, threshold=config.threshold, device=config.device)
        rows.append(_guess_row("bengio_neuron", T, solved, time.perf_counter() - t0, config.neuron_sequences * T))
        data = tasks.latching(length=T, n=config.cell_sequences, noise=config.cell_noise, seed=config.seed)
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        for cell in config.cells:
            t0 = time.perf_counter()
            solved = guess_cell(cell=cell, guesses=config.guesses, x=x, y=y, threshold=config.threshold,
                                seed=config.seed, scheme_options=config.scheme, device=config.device)
            rows.append(_guess_row(cell, T, solved, time.perf_counter() - t0, len(y) * T))
    b = Bengio94Config()
    for T in config.gd_lengths:
        res = train_latch(length=T, trials=config.gd_trials, w0=b.w0, noise_variance=config.noise_variance,
                          inputs=config.neuron_inputs, lr=b.lr, epochs=b.epochs, train_sequences=b.train_sequences,
                          test_sequences=config.neuron_sequences, seed=config.seed, device=config.device)
        rows.append(_gd_row("bengio_neuron", T, res.success(config.threshold), res.seconds,
                            b.epochs * b.train_sequences * T))
        data = tasks.latching(length=T, n=config.gd_n, noise=config.cell_noise, seed=config.seed)
        for cell in config.cells:
            model = Model.init(cell, seeds=range(config.gd_repeats), init=config.scheme, dtype=torch.float64)
            backend = "torch" if config.device not in (None, "cpu") else config.gd_backend
            warm = tasks.latching(length=2, n=20, noise=config.cell_noise, seed=config.seed)
            train(model.select([0]), warm, epochs=1, backend=backend, device=config.device)  # compile outside the clock
            t0 = time.perf_counter()
            r = train(model, data, epochs=config.gd_epochs, backend=backend, device=config.device)
            seconds = time.perf_counter() - t0
            acc = np.nan_to_num(r.final("val_acc"), nan=-1.0)
            rows.append(_gd_row(cell, T, acc >= config.threshold, seconds,
                                config.gd_epochs * len(data.y_train) * T))
    return rows


def plot_random_guessing(rows: Sequence[dict[str, Any]], config: RandomGuessingConfig) -> Any:
    """Two panels: mean trials to success vs T (guessing: lines with Wilson intervals; gradient descent: open
    markers, ``1 / success frequency``; a triangle where nothing was solved, at the interval's lower end), and wall
    seconds per success. ``rows`` as :func:`run_random_guessing` returns them (or read back from ``runs.csv``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    models = ["bengio_neuron", *config.cells]
    colors = dict(zip(models, ["k", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]))
    cap = 10 * config.guesses
    axes[0].plot([], [], "^", color="gray", mfc="none", label="none solved: lower end of the 95% interval")
    for model in models:
        for method, style in (("random_guessing", "o-"), ("gradient_descent", "s--")):
            rs = sorted((r for r in rows if r["model"] == model and r["method"] == method), key=lambda r: float(r["T"]))
            if not rs:
                continue
            T = np.array([float(r["T"]) for r in rs])
            m = np.array([float(r["mean_trials"]) for r in rs])
            lo = np.array([float(r["ci_low"]) for r in rs])
            hi = np.array([min(float(r["ci_high"]), cap) for r in rs])
            fin = np.isfinite(m)
            label = f"{model}, {'guessing' if method == 'random_guessing' else 'GD (1/success freq.)'}"
            kw = dict(color=colors[model], mfc="none" if method == "gradient_descent" else colors[model])
            axes[0].errorbar(T[fin], m[fin], yerr=[m[fin] - lo[fin], hi[fin] - m[fin]], fmt=style, capsize=3,
                             label=label, **kw)
            # nothing solved: the mean is unbounded; mark the interval's lower end with an upward triangle
            axes[0].plot(T[~fin], lo[~fin], "^", ms=9, **kw)
            sec = np.array([float(r["seconds_per_success"]) for r in rs])
            axes[1].plot(T[fin], sec[fin], style, label=label, **kw)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_xticks(sorted({*config.lengths, *config.gd_lengths}),
                      [str(t) for t in sorted({*config.lengths, *config.gd_lengths})])
        ax.minorticks_off()
    axes[0].axhline(6, color="gray", ls=":", label="H&S 1997: ~6 trials")
    axes[0].set_ylabel("mean trials to success")
    axes[0].set_title("(a) random guessing in [-100, 100] vs gradient descent")
    axes[1].set_ylabel("wall seconds per success (this machine)")
    axes[1].set_title("(b) compute per success")
    axes[0].legend(fontsize=7, ncol=2)
    fig.text(0.5, -0.03, f"Solved/success: accuracy >= {config.threshold:g}. Neuron: L={config.neuron_inputs}, "
             f"s={config.noise_variance:g}, {config.neuron_sequences} fixed test sequences; GD as bengio94 "
             f"({config.gd_trials} trials). Cells: one unit + Dense(2) softmax, {config.scheme} gates, latching data "
             f"noise {config.cell_noise:g}, {config.cell_sequences} sequences; GD: Adam 1e-3, batch 16, "
             f"{config.gd_epochs} epochs, n={config.gd_n}, {config.gd_repeats} repeats. Bars: Wilson 95% on 1/p.",
             ha="center", va="top", fontsize=8, wrap=True)
    fig.tight_layout()
    return fig
