"""Why the one-unit LSTM latches worse than the SimpleRNN: learned latches against built-in ones, the edge of memory.

Every arm trains one-unit (and a few wider) cells on Bengio et al.'s latching task with :func:`dynlatch.train`
(numba, float64) and scores success as validation accuracy >= ``success_threshold`` on a correct split. Arms share
their model seeds at each T, so every comparison is paired: exact McNemar tests on the discordant seeds, Newcombe's
paired interval on the difference, Holm's correction over the whole family of comparisons.

The mechanism (``docs/explanation.md``). At the start state s = (h, c) = 0 with zero input the Jacobian of the
one-unit LSTM's autonomous map is, with i0, f0, o0 the gate values there and b_c = 0,

    J = [[o0 i0 U_c, o0 f0], [i0 U_c, f0]],   eigenvalues 0 and lambda = f0 + o0 i0 U_c,

so a perturbation of the start state is multiplied by lambda per step. Keras 2 starts the LSTM at f0 =
hard_sigmoid(1) = 0.7, i0 = o0 = 0.5, |U_c| <= 1: |lambda| <= 0.95, typically ~0.7, a contracting map; the SimpleRNN(1)
starts at U = +-1, on its pitchfork or flip bifurcation; the Keras-2 GRU at lambda = 0.5 + 0.25 U_h in [0.25, 0.75].

What the study separates:

* **Learned or built in.** Every arm has its read-out-only baseline: the same initial models with the cell frozen,
  only the read-out trained for the same budget (``readout_only``), and the best threshold on the untrained h_T
  (``best_threshold_acc``, an upper bound on any read-out of the untrained cell). ``learned_gain`` = success -
  read-out-only success. The edge-of-memory intervention (b_f = 3 and U_c -> |U_c|: lambda >= 1) is a latch built in
  before training; the critical start (:func:`~dynlatch.studies._lstm_failure_features.edge_parameters`, lambda = 1
  exactly, no positive feedback) is the mechanism's test, since any latch it ends with was learned.
* **The edge-of-memory curve**: success and read-out-only success against a controlled lambda0 per cell and T.
* **Why training destroys a built-in latch**: per epoch, lambda at the origin, the number of stable fixed points and
  the read-out's slope of traced arms, and whether the read-out's random initial sign agrees with the sign with which
  the untrained h_T carries the label (``readout_agrees``). The remedy it implies, a zero read-out, is an arm.
* **Confounds**: the logistic-sigmoid intervention and chrono (the hard sigmoid saturates with zero gradient), plain
  SGD (Adam rescales gradients), the gradient's signal-to-noise ratio at the start (``grad_snr``).
* **A predictor** of success from the initial dynamics, fitted on broadened populations and scored on fresh seeds,
  with bootstrap intervals, one-feature baselines and its score inside the default Keras-2 populations.

Writes ``runs.csv`` (one row per trained model of the arms), ``lambda_runs.csv`` (the edge-of-memory curve),
``traces.csv`` (per model and epoch of the traced arms), ``predictor_runs.csv``, ``handmade_latches.csv``,
``landscape_success.npz`` / ``landscape_failure.npz`` (:class:`dynlatch.landscape.Surface`), ``summary.json`` and the
figures ``success_vs_T``, ``learned_vs_builtin``, ``lambda_sweep``, ``training_traces``, ``predictor_feature`` and
``landscape_at_start``.

The arms and the edge-of-memory curve are trained as the shards of the store in ``OUT/shards`` (:mod:`dynlatch.sweep`,
one per (arm, T) training): an interrupted run resumes from its finished arms, and ``--scheduler tcp://HOST:PORT``
trains them on a Dask cluster.

Cost (numba, 2 cores): the default run (one-unit arms at 100 models for T in {50, 100, 200}, 30 elsewhere and for
the wider arms; the lambda curve at 30 models) is measured in ``docs/benchmarks.md``; ``--quick`` takes about a
minute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .. import _checks, dynamics
from .._checks import CheckError
from .._config import Config, option
from .._evaluate import evaluate
from .._model import Model
from .._stats import (
    bootstrap_auc_interval, holm, mcnemar_exact, paired_difference_interval, roc_auc, wilson_interval,
)
from .._train import train
from ..cells.handmade import score_latches
from ..landscape import parameter_surface
from ..sweep import ShardExecutor, read_shard, run_shards
from ..tasks import Dataset, latching
from ._lstm_failure_features import (
    BROADENED_POPULATIONS, LAMBDA_CELLS, LogisticFit, attractor_counts, best_threshold_accuracy, changed_cell,
    dynamical_features, edge_of_memory_changes, edge_parameters, final_hidden, fit_logistic, gradient_snr,
    origin_jacobian_eigenvalue, readout_agreement, readout_slope,
)
from ._lstm_failure_figures import (
    landscape_figure, lambda_figure, learned_figure, predictor_figure, success_figure, traces_figure,
)
from ._study import Result, RunContext, Study

CELLS: tuple[str, ...] = ("srnn", "gru", "lstm")
FRESH_SEED_LIMIT = 900_000_000
"""Fresh (held-out) seeds are drawn from [0, FRESH_SEED_LIMIT); fitting seeds are FRESH_SEED_LIMIT + k, so the two
sets are disjoint by construction."""

PREDICTOR_FEATURES: tuple[str, ...] = ("retention", "stable_fixed_points")
"""``retention`` = T log|lambda_max| at the origin (log of the predicted retention of the start state over T steps);
``stable_fixed_points`` = number of stable fixed points of the autonomous map (x = 0)."""

LAMBDA_VALUES: tuple[float, ...] = (0.5, 0.7, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5)
ALPHA = 0.05
"""Family-wise error rate of the Holm-corrected comparisons."""


# -- config ----------------------------------------------------------------------------------------------------
def _positive_ints(name: str, values: Any) -> tuple[int, ...]:
    values = tuple(values)
    if not values or any(int(v) != v or v < 1 for v in values):
        raise CheckError(name, f"must be a non-empty list of integers >= 1; got {values}")
    return _checks.distinct(name, values)


def _lengths(name: str, values: Any) -> tuple[int, ...]:
    values = _positive_ints(name, values)
    if min(values) < 2:
        raise CheckError(name, f"every T must be >= 2 (the chrono bias draws from [1, T - 1]); got {values}")
    return values


def _at_least(k: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        return _checks.integer(name, value, minimum=k)
    return check


def _sigmas(name: str, values: Any) -> tuple[float, ...]:
    values = tuple(_checks.number(name, v, at_least=0) for v in values)
    if not values:
        raise CheckError(name, "must be a non-empty list of noise levels >= 0")
    return values


def _unit_interval(name: str, value: Any) -> float:
    return _checks.number(name, value, above=0.0, at_most=1.0)


def _lambdas(name: str, values: Any) -> tuple[float, ...]:
    values = tuple(_checks.number(name, v, above=0) for v in values)
    if not values:
        raise CheckError(name, "must be a non-empty list of eigenvalues > 0")
    return _checks.distinct(name, values)


HYPOTHESES: tuple[str, ...] = (
    "split_bug", "lr_1e-2", "epochs_20", "batch_4", "batch_64", "beta1_0", "clip_1", "sigmoid_readout", "units_2",
    "units_4", "units_10", "units_100", "torch_init", "forget_bias_0", "forget_bias_2", "forget_bias_3", "chrono",
    "positive_feedback", "smooth_sigmoid", "srnn_U_0.5", "srnn_U_2",
)


@dataclass(frozen=True)
class LstmFailureConfig(Config):
    """Settings of ``dynlatch run lstm-failure``."""

    lengths: tuple[int, ...] = option((5, 20, 50, 100, 200), flag="--lens", help="sequence lengths T",
                                      check=_lengths, quick=(5, 50))
    repeats: int = option(30, help="models per (arm, T) outside --powered-lens, and for the wider arms",
                          check=_at_least(1), quick=4)
    powered_repeats: int = option(100, help="models per (one-unit arm, T) at --powered-lens", check=_at_least(1),
                                  quick=8)
    powered_lengths: tuple[int, ...] = option((50, 100, 200), flag="--powered-lens",
                                              help="T at which the one-unit arms train --powered-repeats models",
                                              check=_lengths, quick=(50,))
    n: int = option(10000, help="sequences per data set", check=_at_least(20), quick=2000)
    epochs: int = option(5, help="training epochs (the question: 5)", check=_at_least(1))
    lr: float = option(1e-3, help="Adam learning rate (the question: 1e-3)", check=_checks.number_in(above=0))
    sgd_lr: float = option(0.1, help="learning rate of the plain-SGD arms", check=_checks.number_in(above=0))
    success_threshold: float = option(0.9, help="a run succeeds when its validation accuracy reaches this",
                                      check=_unit_interval)
    hypotheses: tuple[str, ...] = option(HYPOTHESES, help="controlled experiments to run", choices=HYPOTHESES,
                                         quick=("split_bug", "forget_bias_3", "smooth_sigmoid", "srnn_U_2"))
    units_100_repeats: int = option(3, help="models per T of the 100-unit arm (and its 1-unit baseline)",
                                    check=_at_least(1), quick=1)
    units_100_n: int = option(2000, help="sequences per data set of the 100-unit arm and its 1-unit baseline",
                              check=_at_least(20), quick=200)
    units_100_lengths: tuple[int, ...] = option((20, 50), flag="--units-100-lens",
                                                help="T of the 100-unit arm (those also in --lens)", check=_lengths,
                                                quick=(5,))
    lambda_cells: tuple[str, ...] = option(LAMBDA_CELLS, help="cells of the edge-of-memory curve",
                                           choices=LAMBDA_CELLS, quick=("srnn", "lstm"))
    lambda_values: tuple[float, ...] = option(LAMBDA_VALUES, flag="--lambdas",
                                              help="eigenvalues lambda0 at the origin of the edge-of-memory curve",
                                              check=_lambdas, quick=(0.7, 1.0, 1.25))
    lambda_lengths: tuple[int, ...] = option((20, 50, 100, 200), flag="--lambda-lens",
                                             help="T of the edge-of-memory curve", check=_lengths, quick=(50,))
    lambda_repeats: int = option(30, help="models per (cell, lambda0, T) of the edge-of-memory curve",
                                 check=_at_least(1), quick=4)
    trace_length: int = option(50, help="T at which the traced arms record every epoch", check=_at_least(2))
    snr_batches: int = option(20, help="minibatches of the gradient's signal-to-noise ratio at the start",
                              check=_at_least(2), quick=4)
    predictor_cells: tuple[str, ...] = option(CELLS, help="cells the predictor is fitted and scored for",
                                              choices=CELLS, quick=("lstm",))
    predictor_lengths: tuple[int, ...] = option((50, 100, 200), flag="--predictor-lens",
                                                help="T at which the predictor is fitted and scored",
                                                check=_lengths, quick=(50,))
    fit_seeds: int = option(60, help="models per (cell, T) the predictor is fitted on", check=_at_least(4), quick=12)
    fresh_seeds: int = option(100, help="fresh models per (cell, T) the predictor is scored on (from --seed)",
                              check=_at_least(4), quick=12)
    min_class: int = option(10, help="AUC is reported only where each class has at least this many fresh runs",
                            check=_at_least(1))
    bootstrap: int = option(2000, help="bootstrap resamples of every AUC interval", check=_at_least(100), quick=200)
    intervention_bias: float = option(3.0, help="b_f (LSTM) / b_z (GRU) of the edge-of-memory initialisation",
                                      check=_checks.number)
    seed: int = option(0, help="base seed (every arm and the predictor's fresh seeds)", check=_checks.seed)
    latch_sigmas: tuple[float, ...] = option((0.1, 0.3, 0.5), help="input noise of the hand-built latches' test",
                                             check=_sigmas)
    landscape_length: int = option(50, help="T of the loss surfaces around a successful and a failed initial LSTM",
                                   check=_at_least(2), quick=5)
    landscape_resolution: int = option(41, help="grid points per axis of those surfaces", check=_at_least(3),
                                       quick=9)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)


# -- arms: how each experiment changes the set-up ---------------------------------------------------------------
@dataclass(frozen=True)
class Arm:
    """One training condition: a cell, its initialisation and the training set-up."""

    name: str
    cell: str
    init: str = "keras2"
    units: int = 1
    readout: str = "softmax"
    readout_init: str = "keras"
    """``"keras"`` (the scheme's read-out initialisation) or ``"zero"`` (W_out = b_out = 0: no initial sign)."""
    recurrent_activation: str | None = None
    split: str = "correct"
    optimizer: str = "adam"
    """``"adam"`` at the config's ``lr`` times ``lr_factor``, or ``"sgd"`` at the config's ``sgd_lr``."""
    lr_factor: float = 1.0
    epochs_factor: int = 1
    batch_size: int = 16
    beta1: float = 0.9
    clip_norm: float | None = None
    params: str | None = None
    """Named parameter changes, comma-separated (:func:`~dynlatch.studies._lstm_failure_features.changed_cell`):
    ``"b_f=3.0"``, ``"b_f=3.0,U_c=abs"`` (U_c -> |U_c|), ``"chrono"``, ``"U*0.5"``, ``"b_z=3.0"``, ``"broadened"``."""
    n: int | None = None
    """Sequences per data set, when not the config's ``n`` (the 100-unit arm and its baseline)."""


BASE_ARMS: dict[str, Arm] = {
    "srnn": Arm("srnn", "srnn"),
    "gru": Arm("gru", "gru"),
    "lstm": Arm("lstm", "lstm"),
}


def intervention_arms(bias: float = 3.0) -> dict[str, Arm]:
    """The edge-of-memory arms (:func:`~dynlatch.studies._lstm_failure_features.edge_of_memory`): LSTM b_f = ``bias``
    with U_c -> |U_c|, GRU b_z = ``bias`` (hard sigmoid, Keras-2 otherwise). Both start with a latch built in."""
    return {f"{cell}_intervention": Arm(f"{cell}_intervention", cell, params=edge_of_memory_changes(cell, bias))
            for cell in ("lstm", "gru")}


def headline_arms(config: LstmFailureConfig) -> dict[str, tuple[Arm, str, str]]:
    """Every arm beyond the three defaults and the hypotheses: ``{name: (arm, reference arm, what it tests)}``.

    * Critical starts (lambda0 = 1 exactly, :func:`edge_parameters`, no built-in latch): ``lstm_critical`` (hard
      sigmoid, b_f = 3, U_c = 0), ``lstm_critical_smooth`` (logistic gates, b_f = 3, U_c = 4 (1 - sigmoid(3))),
      ``gru_critical`` (U_h = 2).
    * The zero read-out (the remedy for a read-out whose random sign disagrees with the cell's):
      ``lstm_intervention_zero``, ``lstm_critical_zero``, ``srnn_zero``.
    * Confounds: ``lstm_intervention_smooth`` and ``chrono_smooth`` (logistic gates: no zero-gradient saturation),
      ``lstm_sgd`` and ``srnn_sgd`` (plain SGD at ``sgd_lr``: no per-parameter rescaling).
    """
    bias = config.intervention_bias
    smooth = "sigmoid"
    table = {
        "lstm_critical": (Arm("lstm_critical", "lstm", params=edge_parameters("lstm", 1.0)), "lstm",
                          "critical start: hard sigmoid, b_f = 3, U_c = 0 (lambda0 = 1, no built-in latch)"),
        "lstm_critical_smooth": (
            Arm("lstm_critical_smooth", "lstm", recurrent_activation=smooth,
                params=edge_parameters("lstm", 1.0, recurrent_activation=smooth)), "lstm",
            "critical start with logistic gates: b_f = 3, U_c = 4 (1 - sigmoid(3)) (lambda0 = 1)"),
        "gru_critical": (Arm("gru_critical", "gru", params=edge_parameters("gru", 1.0)), "gru",
                         "critical start: U_h = 2 (lambda0 = 1)"),
        "lstm_intervention_zero": (Arm("lstm_intervention_zero", "lstm", readout_init="zero",
                                       params=edge_of_memory_changes("lstm", bias)), "lstm_intervention",
                                   "the intervention with a zero read-out"),
        "lstm_critical_zero": (Arm("lstm_critical_zero", "lstm", readout_init="zero",
                                   params=edge_parameters("lstm", 1.0)), "lstm_critical",
                               "the critical start with a zero read-out"),
        "srnn_zero": (Arm("srnn_zero", "srnn", readout_init="zero"), "srnn", "SimpleRNN with a zero read-out"),
        "lstm_intervention_smooth": (
            Arm("lstm_intervention_smooth", "lstm", recurrent_activation=smooth,
                params=edge_of_memory_changes("lstm", bias)), "lstm_intervention",
            "the intervention with logistic gates (b_f = 3 no longer saturates the forget gate)"),
        "chrono_smooth": (Arm("chrono_smooth", "lstm", recurrent_activation=smooth, params="chrono"), "chrono",
                          "chrono init with logistic gates (no input gate shut with zero gradient)"),
        "lstm_sgd": (Arm("lstm_sgd", "lstm", optimizer="sgd"), "lstm",
                     f"plain SGD, lr {config.sgd_lr:g} (no Adam rescaling)"),
        "srnn_sgd": (Arm("srnn_sgd", "srnn", optimizer="sgd"), "srnn",
                     f"SimpleRNN, plain SGD, lr {config.sgd_lr:g}"),
    }
    table.update({name: (arm, arm.cell, f"edge of memory, built in: {arm.params}, hard sigmoid")
                  for name, arm in intervention_arms(bias).items()})
    return table


EXTRA_COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("lstm_intervention_vs_srnn", "lstm_intervention", "srnn"),
    ("lstm_critical_vs_srnn", "lstm_critical", "srnn"),
    ("lstm_critical_zero_vs_srnn_zero", "lstm_critical_zero", "srnn_zero"),
)
"""Comparisons beyond each arm against its reference: ``(key, arm, reference)``."""

SUCCESS_ARMS: tuple[str, ...] = (
    "srnn", "gru", "lstm", "lstm_intervention", "gru_intervention", "lstm_critical", "lstm_critical_smooth",
    "gru_critical", "lstm_intervention_zero", "lstm_critical_zero", "srnn_zero", "lstm_intervention_smooth",
    "chrono_smooth", "lstm_sgd", "srnn_sgd",
)
"""The arms of ``summary["success"]`` (the defaults, the interventions, the critical starts, remedies, confounds)."""

TRACED_ARMS: tuple[str, ...] = ("srnn", "lstm", "lstm_critical", "lstm_intervention")
"""Arms whose every epoch is recorded at ``trace_length`` (lambda at the origin, stable fixed points, read-out)."""


def hypothesis_arm(name: str, *, small_n: int = 2000) -> tuple[Arm, Arm, str]:
    """(arm, baseline arm, what it tests) for a controlled experiment of :data:`HYPOTHESES`.

    The baseline is the Keras-2 arm of the same cell, except for ``units_100``, which trains on ``small_n`` sequences
    (it is 10^4 times the cost per step of one unit) against a one-unit LSTM on the same ``small_n``.
    """
    table = {
        "split_bug": (Arm(name, "lstm", split="keras-tail"), "the question's split bug (Keras validation_split tail)"),
        "lr_1e-2": (Arm(name, "lstm", lr_factor=10.0), "learning rate x10"),
        "epochs_20": (Arm(name, "lstm", epochs_factor=4), "4x the epochs"),
        "batch_4": (Arm(name, "lstm", batch_size=4), "batch size 4 (4x the updates, noisier)"),
        "batch_64": (Arm(name, "lstm", batch_size=64), "batch size 64 (fewer, smoother updates)"),
        "beta1_0": (Arm(name, "lstm", beta1=0.0), "optimiser without momentum (Adam beta1 = 0: RMSprop)"),
        "clip_1": (Arm(name, "lstm", clip_norm=1.0), "gradient-norm clipping at 1 (Pascanu et al. 2013)"),
        "sigmoid_readout": (Arm(name, "lstm", readout="sigmoid"), "Dense(1) + sigmoid + BCE read-out"),
        "units_2": (Arm(name, "lstm", units=2), "2 units"),
        "units_4": (Arm(name, "lstm", units=4), "4 units"),
        "units_10": (Arm(name, "lstm", units=10), "10 units"),
        "units_100": (Arm(name, "lstm", units=100, n=small_n),
                      f"100 units (n = {small_n}, against one unit on the same data)"),
        "torch_init": (Arm(name, "lstm", init="torch"), "PyTorch default initialisation (smooth sigmoid, b_f ~ U)"),
        "forget_bias_0": (Arm(name, "lstm", params="b_f=0"), "forget-gate bias 0"),
        "forget_bias_2": (Arm(name, "lstm", params="b_f=2"), "forget-gate bias 2"),
        "forget_bias_3": (Arm(name, "lstm", params="b_f=3"), "forget-gate bias 3 (hard f = 1: the integrator)"),
        "chrono": (Arm(name, "lstm", params="chrono"), "chrono init b_f ~ log U[1, T-1], b_i = -b_f"),
        "positive_feedback": (Arm(name, "lstm", params="U_c=abs"),
                              "U_c -> |U_c| alone (lambda = 0.7 + 0.25 |U_c| < 1: still contracting)"),
        "smooth_sigmoid": (Arm(name, "lstm", recurrent_activation="sigmoid"),
                           "Keras-2 init with the logistic sigmoid gates"),
        "srnn_U_0.5": (Arm(name, "srnn", params="U*0.5"), "SimpleRNN with U scaled to 0.5 (contracting)"),
        "srnn_U_2": (Arm(name, "srnn", params="U*2"), "SimpleRNN with U scaled to 2 (past the bifurcation)"),
    }
    if name not in table:
        raise ValueError(f"unknown hypothesis {name!r}; choose one of {', '.join(HYPOTHESES)}")
    arm, what = table[name]
    baseline = Arm(f"lstm_n{small_n}", "lstm", n=small_n) if arm.n is not None else BASE_ARMS[arm.cell]
    return arm, baseline, what



def build_models(arm: Arm, seeds: Sequence[int], *, length: int, device: Any = None) -> Model:
    """The initial models of ``arm`` for ``seeds`` (one per seed) at sequence length ``length``."""
    model = Model.init(arm.cell, seeds=seeds, units=arm.units, init=arm.init, readout=arm.readout,
                       recurrent_activation=arm.recurrent_activation, dtype=torch.float64, device=device)
    if arm.params is not None:
        model = replace(model, cell=changed_cell(model.cell, arm.params, seeds=seeds, length=length))
    if arm.readout_init == "zero":
        model = replace(model, weight=torch.zeros_like(model.weight), bias=torch.zeros_like(model.bias))
    elif arm.readout_init != "keras":
        raise ValueError(f"unknown readout_init {arm.readout_init!r}; choose 'keras' or 'zero'")
    return model


# -- training --------------------------------------------------------------------------------------------------
def data_seed(seed: int, length: int) -> int:
    return 10_007 * int(seed) + int(length)


def model_seeds(seed: int, length: int, repeats: int) -> list[int]:
    """Seeds of the arms at one T: shared by every arm (paired comparisons); the first k of a longer list are the
    seeds of a shorter one, so arms of different sizes pair on their common seeds."""
    base = 1_000_003 * (int(seed) % 800) + 1009 * int(length)
    return [base + k for k in range(repeats)]


def arm_repeats(arm: Arm, length: int, config: LstmFailureConfig) -> int:
    """Models of ``arm`` at ``length``: ``powered_repeats`` for one-unit arms at ``powered_lengths``,
    ``units_100_repeats`` for the small-data arms, ``repeats`` otherwise (the wider arms cost ~units^2 per model)."""
    if arm.n is not None:
        return config.units_100_repeats
    if arm.units == 1 and length in config.powered_lengths:
        return config.powered_repeats
    return config.repeats


def _datasets(arm: Arm, length: int, config: LstmFailureConfig) -> tuple[Dataset, Dataset]:
    """(training data, the correct split scored on) of ``arm`` at ``length``."""
    n = arm.n or config.n
    clean = latching(length=length, n=n, seed=data_seed(config.seed, length))
    data = clean if arm.split == "correct" else latching(length=length, n=n, seed=data_seed(config.seed, length),
                                                         split=arm.split)
    return data, clean


def _scored(result: Any, arm: Arm, clean: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy on the correct split's validation set, the accuracy the run itself reported) per model; a diverged
    model scores 0."""
    reported = result.final("val_acc")
    acc = reported if arm.split == "correct" else evaluate(result.model, clean.x_val, clean.y_val).accuracy
    return np.where(result.diverged, 0.0, np.nan_to_num(acc, nan=0.0)), reported


def train_arm(arm: Arm, seeds: Sequence[int], *, length: int, config: LstmFailureConfig,
              model: Model | None = None, attractors: bool = False,
              traces: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Train the models of ``arm`` at ``length``, and their read-out alone; one tidy row per model.

    Success is validation accuracy >= ``config.success_threshold`` on a correct split (the split-bug arm trains on
    the question's keras-tail split; ``reported_val_acc`` keeps what the question would have seen). The read-out-only
    baseline trains the same initial models with the cell frozen and the same budget (``readout_only_acc``). One-unit
    rows also hold the untrained cell's features: ``eig_origin`` (|lambda| at the origin), ``best_threshold_acc``
    (the best threshold on the untrained h_T) and ``readout_agrees``; every row has ``grad_snr``. With ``attractors``
    the rows hold the point-attractor counts before and after training; with ``traces`` every epoch's models are
    summarised into it (:func:`trace_rows`).
    """
    model = model if model is not None else build_models(arm, seeds, length=length, device=config.device)
    one_unit = model.cell.units == 1
    nan = np.full(model.models, np.nan)
    before = attractor_counts(model) if attractors and one_unit else nan
    data, clean = _datasets(arm, length, config)
    lr = config.sgd_lr if arm.optimizer == "sgd" else config.lr * arm.lr_factor
    settings = dict(epochs=config.epochs * arm.epochs_factor, lr=lr, batch_size=arm.batch_size,
                    betas=(arm.beta1, 0.999), clip_norm=arm.clip_norm, optimizer=arm.optimizer, device=config.device)
    result = train(model, data, record_epochs=traces is not None, **settings)
    acc, reported = _scored(result, arm, clean)
    alone, _ = _scored(train(model, data, trainable=("readout",), **settings), arm, clean)
    after = attractor_counts(result.model) if attractors and one_unit else nan
    snr = gradient_snr(model, data.x_train, data.y_train, batches=config.snr_batches, batch_size=arm.batch_size)
    if one_unit:
        h = final_hidden(model, clean.x_val)[:, :, 0]
        best, agrees, eig = (best_threshold_accuracy(h, clean.y_val), readout_agreement(model, h, clean.y_val),
                             origin_jacobian_eigenvalue(model))
    else:
        best = agrees = eig = nan
    if traces is not None:
        traces.extend(trace_rows(arm, seeds, length, [model, *result.epoch_models],
                                 [np.nan, *result.history["val_loss"].T], acc >= config.success_threshold))
    threshold = config.success_threshold
    return [{"arm": arm.name, "cell": arm.cell, "T": length, "seed": int(s), "val_acc": float(a),
             "reported_val_acc": float(r), "success": bool(a >= threshold), "diverged": bool(d),
             "readout_only_acc": float(o), "readout_only_success": bool(o >= threshold),
             "best_threshold_acc": float(b), "readout_agrees": float(g), "eig_origin": float(e),
             "grad_snr": float(q), "attractors_before": float(b0), "attractors_after": float(b1)}
            for s, a, r, d, o, b, g, e, q, b0, b1 in zip(seeds, acc, reported, result.diverged, alone, best, agrees,
                                                          eig, snr, before, after)]


def trace_rows(arm: Arm, seeds: Sequence[int], length: int, models: Sequence[Model], val_loss: Sequence[Any],
               success: np.ndarray) -> list[dict[str, Any]]:
    """One row per (model, epoch) of a training run, epoch 0 the initial model: |lambda| at the origin, the number
    of stable fixed points of the autonomous map, the read-out slope (:func:`readout_slope`), the validation loss and
    whether the run ends a success. One-unit cells."""
    rows = []
    for epoch, (model, loss) in enumerate(zip(models, val_loss)):
        eig = origin_jacobian_eigenvalue(model)
        points = dynamics.fixed_points(model.cell.to(torch.float64), periods=(1,))
        stable = [sum(bool(p.stable) for p in pts) for pts in points]
        slope = readout_slope(model)
        loss = np.broadcast_to(np.asarray(loss, dtype=float), (model.models,))
        rows += [{"arm": arm.name, "T": length, "seed": int(s), "epoch": epoch, "eig_origin": float(e),
                  "stable_fixed_points": int(k), "readout_slope": float(a), "val_loss": float(v),
                  "success": bool(ok)} for s, e, k, a, v, ok in zip(seeds, eig, stable, slope, loss, success)]
    return rows


class ArmRuns:
    """Trained rows of every arm, each (set-up, T, seed) trained once: an arm asked for again under another name
    (``forget_bias_3`` and a lambda0 arm, say) or for fewer seeds reuses the rows (a model trains alone as in any
    batch, so its row is the same)."""

    def __init__(self, config: LstmFailureConfig, say: Callable[[str], None]):
        self.config, self.say = config, say
        self.cache: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
        self.traces: list[dict[str, Any]] = []

    def rows(self, arm: Arm, length: int, seeds: Sequence[int], *, attractors: bool = False,
             traced: bool = False) -> list[dict[str, Any]]:
        key = (repr(replace(arm, name="")), length)
        done = self.cache.setdefault(key, {})
        missing = [s for s in seeds if s not in done]
        if missing:
            self.say(f"T={length} {arm.name} x{len(missing)}")
            for r in train_arm(arm, missing, length=length, config=self.config, attractors=attractors,
                               traces=self.traces if traced else None):
                done[r["seed"]] = r
        return [{**done[s], "arm": arm.name} for s in seeds]


def arm_calls(config: LstmFailureConfig) -> list[tuple[dict[str, Any], Arm, int, list[int], bool, bool]]:
    """Every ``ArmRuns.rows`` call of the study's arms and of the edge-of-memory curve, in the study's order:
    ``(which, arm, T, seeds, attractors, traced)``, ``which`` naming the arm (``{"arm": name}``, or
    ``{"cell", "lambda0"}`` for a point of the curve)."""
    calls = []
    for T in config.lengths:
        for name, (arm, _, _) in plan_arms(config).items():
            if arm.n is not None and T not in config.units_100_lengths:
                continue
            calls.append(({"arm": name}, replace(arm, name=name), T,
                          model_seeds(config.seed, T, arm_repeats(arm, T, config)), name in ATTRACTOR_ARMS,
                          name in TRACED_ARMS and T == config.trace_length))
    for cell in config.lambda_cells:
        for T in config.lambda_lengths:
            for lam in config.lambda_values:
                calls.append(({"cell": cell, "lambda0": lam}, lambda_arm(cell, lam), T,
                              model_seeds(config.seed, T, config.lambda_repeats), False, False))
    return calls


def arm_shards(config: LstmFailureConfig) -> list[dict[str, Any]]:
    """The trainings :class:`ArmRuns` does for :func:`arm_calls`, one shard each, in its order: what a call finds
    in the cache (an arm of the same content at the same T, under any name) is not trained again. A shard is
    ``{**which, "T", "seeds", "attractors", "traced"}`` (``which`` as in :func:`arm_calls`)."""
    trained: dict[tuple[str, int], set[int]] = {}
    shards = []
    for which, arm, T, seeds, attractors, traced in arm_calls(config):
        done = trained.setdefault((repr(replace(arm, name="")), T), set())
        missing = [s for s in seeds if s not in done]
        if missing:
            done.update(missing)
            shards.append({**which, "T": T, "seeds": missing, "attractors": attractors, "traced": traced})
    return shards


def shard_arm(config: LstmFailureConfig, key: dict[str, Any]) -> Arm:
    """The arm a shard of :func:`arm_shards` trains."""
    if "arm" in key:
        return replace(plan_arms(config)[key["arm"]][0], name=key["arm"])
    return lambda_arm(key["cell"], key["lambda0"])


def compute_arm_shard(config: LstmFailureConfig, key: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """The rows of the shard ``key`` and, for a traced one, its trace rows: what a process or a cluster worker
    computes."""
    traces: list[dict[str, Any]] | None = [] if key["traced"] else None
    rows = train_arm(shard_arm(config, key), key["seeds"], length=key["T"], config=config,
                     attractors=key["attractors"], traces=traces)
    return rows, traces


def train_arm_shards(config: LstmFailureConfig, runs: ArmRuns, out_dir: str | Path, *, progress: bool = True,
                     executor: ShardExecutor | None = None) -> None:
    """Train every shard of :func:`arm_shards` through the store under ``out_dir`` (resumable; computed by
    ``executor``, default this process) and put the rows and traces into ``runs``' cache, as if it had trained them
    itself in the same order."""
    keys = arm_shards(config)
    rows = run_shards(keys, functools.partial(compute_arm_shard, config), out_dir=out_dir,
                      settings=config.as_dict(), progress=progress, desc="lstm-failure arms", executor=executor)
    start = 0
    for key in keys:
        arm = shard_arm(config, key)
        done = runs.cache.setdefault((repr(replace(arm, name="")), key["T"]), {})
        for row in rows[start:start + len(key["seeds"])]:
            done[row["seed"]] = row
        start += len(key["seeds"])
        if key["traced"]:
            runs.traces.extend(read_shard(key, out_dir=out_dir, settings=config.as_dict())["extra"])


def success_rate(rows: Sequence[dict[str, Any]], arm: str, length: int, *, key: str = "success") -> tuple[int, int]:
    """(successes, runs) of ``arm`` at ``length`` (``key="readout_only_success"``: of its read-out-only baseline)."""
    sel = [r[key] for r in rows if r["arm"] == arm and r["T"] == length]
    return int(sum(sel)), len(sel)


# -- paired statistics -----------------------------------------------------------------------------------------
def paired_test(rows: Sequence[dict[str, Any]], arm: str, reference: str, length: int, *,
                key: str = "success", reference_key: str = "success") -> dict[str, Any] | None:
    """``arm`` against ``reference`` at ``length`` on their shared seeds: the difference of success rates with
    Newcombe's paired 95% interval, the discordant counts (``gained``: the arm succeeds where the reference fails;
    ``lost``: the reverse) and the exact McNemar p-value (uncorrected; :func:`holm_family` adds ``p_holm``). None
    when the two share no seed at ``length``."""
    a = {r["seed"]: r[key] for r in rows if r["arm"] == arm and r["T"] == length}
    b = {r["seed"]: r[reference_key] for r in rows if r["arm"] == reference and r["T"] == length}
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    both = sum(a[s] and b[s] for s in shared)
    gained = sum(a[s] and not b[s] for s in shared)
    lost = sum(b[s] and not a[s] for s in shared)
    neither = len(shared) - both - gained - lost
    d, lo, hi = paired_difference_interval(both, gained, lost, neither)
    return {"reference": reference, "pairs": len(shared), "arm_rate": (both + gained) / len(shared),
            "reference_rate": (both + lost) / len(shared), "diff": d, "ci": [lo, hi], "gained": gained,
            "lost": lost, "p": mcnemar_exact(gained, lost)}


def holm_family(tests: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Add ``p_holm`` to every test of ``tests[name][T]``: Holm's step-down correction over the whole family."""
    entries = [e for per_T in tests.values() for e in per_T.values()]
    for e, p in zip(entries, holm([e["p"] for e in entries])):
        e["p_holm"] = float(p)


def describe(effects: dict[str, dict[str, Any]]) -> str:
    """One line per comparison, in words a referee accepts: where the Holm-corrected test rejects equal success, the
    direction and the interval; elsewhere the interval itself (the effects it leaves possible), never "no effect"."""
    parts = []
    for T, e in effects.items():
        lo, hi = e["ci"]
        interval = f"{e['diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        if e["p_holm"] < ALPHA:
            word = "raises" if e["diff"] > 0 else "lowers"
            parts.append(f"T={T}: {word} success, {interval} (Holm p = {e['p_holm']:.2g})")
        else:
            parts.append(f"T={T}: difference {interval}, not significant (Holm p = {e['p_holm']:.2g})")
    return "; ".join(parts) if parts else "no shared runs"


def readout_only_summary(rows: Sequence[dict[str, Any]], arms: Sequence[str],
                         lengths: Sequence[int]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Per arm and T: the read-out-only success rate, the learned gain (success - read-out-only success, with the
    paired interval of the two on the same models) and the best-threshold bound on the untrained h_T."""
    only: dict[str, dict[str, float]] = {}
    gain: dict[str, dict[str, float]] = {}
    detail: dict[str, dict[str, Any]] = {}
    for arm in arms:
        only[arm], gain[arm], detail[arm] = {}, {}, {}
        for T in lengths:
            sel = [r for r in rows if r["arm"] == arm and r["T"] == T]
            if not sel:
                continue
            k_only = sum(r["readout_only_success"] for r in sel)
            k = sum(r["success"] for r in sel)
            only[arm][str(T)] = k_only / len(sel)
            gain[arm][str(T)] = (k - k_only) / len(sel)
            both = sum(r["success"] and r["readout_only_success"] for r in sel)
            learned = sum(r["success"] and not r["readout_only_success"] for r in sel)
            lost = sum(r["readout_only_success"] and not r["success"] for r in sel)
            _, lo, hi = paired_difference_interval(both, learned, lost, len(sel) - both - learned - lost)
            best = [r["best_threshold_acc"] for r in sel if np.isfinite(r["best_threshold_acc"])]
            detail[arm][str(T)] = {"runs": len(sel), "learned": learned, "lost_built_in": lost,
                                   "readout_only_ci": list(wilson_interval(k_only, len(sel))),
                                   "learned_gain_ci": [lo, hi],
                                   "best_threshold_separable": (float(np.mean([b >= 0.9 for b in best]))
                                                                if best else None)}
    return only, gain, detail


def sign_agreement(rows: Sequence[dict[str, Any]], arms: Sequence[str], lengths: Sequence[int]) -> dict[str, Any]:
    """Success split by whether the read-out's initial sign agrees with the untrained cell's (``readout_agrees``),
    per arm and T, with Wilson intervals."""
    out: dict[str, Any] = {}
    for arm in arms:
        out[arm] = {}
        for T in lengths:
            sel = [r for r in rows if r["arm"] == arm and r["T"] == T and np.isfinite(r["readout_agrees"])]
            if not sel:
                continue
            entry = {}
            for label, flag in (("agree", 1.0), ("disagree", 0.0)):
                group = [r["success"] for r in sel if r["readout_agrees"] == flag]
                k, n = int(sum(group)), len(group)
                entry[label] = {"successes": k, "runs": n, "rate": k / n if n else None,
                                "ci": list(wilson_interval(k, n))}
            out[arm][str(T)] = entry
    return out


# -- predictor -------------------------------------------------------------------------------------------------
MEMORY_BIAS = {"lstm": "b_f", "gru": "b_z"}
"""The memory gate's bias of each gated cell (a one-feature baseline of the predictor)."""


def fit_seeds(cell: str, length: int, count: int) -> list[int]:
    """The predictor's fitting seeds: fixed (independent of ``--seed``) and >= :data:`FRESH_SEED_LIMIT`."""
    base = FRESH_SEED_LIMIT + 1_000_000 * (CELLS.index(cell) + 1) + 1000 * length
    return [base + k for k in range(count)]


def fresh_seeds(seed: int, cell: str, length: int, count: int) -> list[int]:
    """Fresh seeds drawn from ``seed`` in [0, :data:`FRESH_SEED_LIMIT`): never among :func:`fit_seeds`."""
    rng = np.random.default_rng([int(seed), CELLS.index(cell), int(length)])
    return [int(s) for s in rng.choice(FRESH_SEED_LIMIT, size=count, replace=False)]


def initial_features(model: Model, *, length: int) -> dict[str, np.ndarray]:
    """:func:`dynamical_features` plus the memory gate's bias (``memory_bias``; NaN for the SimpleRNN)."""
    feats = dynamical_features(model, length=length)
    name = MEMORY_BIAS.get(model.cell.kind)
    feats["memory_bias"] = (model.cell.named_params()[name][:, 0].numpy().astype(float) if name
                            else np.full(model.models, np.nan))
    return feats


def population_rows(cell: str, seeds: Sequence[int], *, length: int, config: LstmFailureConfig,
                    role: str) -> list[dict[str, Any]]:
    """Train the broadened population of ``cell`` on ``seeds``; rows with the initial features and the outcome."""
    arm = Arm(f"{cell}_broadened", cell, params="broadened")
    model = build_models(arm, seeds, length=length, device=config.device)
    feats = initial_features(model, length=length)
    rows = train_arm(arm, seeds, length=length, config=config, model=model)
    for k, r in enumerate(rows):
        r["role"] = role
        r.update({f: float(v[k]) for f, v in feats.items()})
    return rows


BASELINE_FEATURES: dict[str, str] = {"lambda0": "eig_origin", "f0": "gate_origin", "b_f": "memory_bias"}
"""The predictor's one-feature baselines: |lambda| at the origin, the memory gate's value there (LSTM f0, GRU z0) and
its bias (LSTM b_f, GRU b_z); the SimpleRNN has only the first."""


def _auc_with_interval(scores: np.ndarray, labels: np.ndarray, *, min_class: int, resamples: int,
                       seed: int) -> dict[str, Any]:
    """AUC and its stratified bootstrap 95% interval, or None for both unless each class has ``min_class`` runs."""
    labels = np.asarray(labels, dtype=bool)
    if labels.sum() < min_class or (~labels).sum() < min_class:
        return {"auc": None, "ci": None}
    return {"auc": roc_auc(scores, labels),
            "ci": list(bootstrap_auc_interval(scores, labels, resamples=resamples, seed=seed))}


def predictor(rows_fit: Sequence[dict[str, Any]], rows_fresh: Sequence[dict[str, Any]], *, min_class: int,
              resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Fit on ``rows_fit`` only, score on ``rows_fresh``: coefficients, held-out AUC with its bootstrap interval, and
    the one-feature baselines (:data:`BASELINE_FEATURES`, each oriented on the fitting rows) scored the same way.
    AUCs are None unless each fresh class has at least ``min_class`` runs; with a single class in the fitting set the
    fit is skipped."""
    X = np.asarray([[r[f] for f in PREDICTOR_FEATURES] for r in rows_fit])
    y = np.asarray([r["success"] for r in rows_fit], dtype=bool)
    Xf = np.asarray([[r[f] for f in PREDICTOR_FEATURES] for r in rows_fresh])
    yf = np.asarray([r["success"] for r in rows_fresh], dtype=bool)
    out: dict[str, Any] = {"fit_runs": int(len(y)), "fit_successes": int(y.sum()), "fresh_runs": int(len(yf)),
                           "fresh_successes": int(yf.sum()), "coefficients": None, "auc_heldout": None,
                           "auc_ci": None, "baselines": {}}
    if y.all() or not y.any():
        out["note"] = "the fitting set holds one class only"
        return out
    fit = fit_logistic(X, y, features=PREDICTOR_FEATURES)
    out["coefficients"] = fit.as_dict()
    scored = _auc_with_interval(fit.score(Xf), yf, min_class=min_class, resamples=resamples, seed=seed)
    out["auc_heldout"], out["auc_ci"] = scored["auc"], scored["ci"]
    if scored["auc"] is None:
        out["note"] = f"AUC not reported: fewer than {min_class} fresh runs in a class"
    out["auc_heldout_any"] = roc_auc(fit.score(Xf), yf) if 0 < yf.sum() < len(yf) else None
    for name, feature in BASELINE_FEATURES.items():
        if not all(feature in r for r in (*rows_fit, *rows_fresh)):
            continue
        v = np.asarray([r[feature] for r in rows_fit], dtype=float)
        vf = np.asarray([r[feature] for r in rows_fresh], dtype=float)
        if not (np.isfinite(v).all() and np.isfinite(vf).all()) or np.ptp(v) == 0:
            continue
        sign = 1.0 if roc_auc(v, y) >= 0.5 else -1.0
        out["baselines"][name] = _auc_with_interval(sign * vf, yf, min_class=min_class, resamples=resamples,
                                                    seed=seed)
    return out


def default_population_score(coefficients: dict[str, Any] | None, arm: Arm, rows: Sequence[dict[str, Any]], *,
                             length: int, config: LstmFailureConfig) -> dict[str, Any]:
    """The predictor (fitted on the broadened population) applied to the initial models of ``arm`` at ``length``:
    mean predicted P(success) against the observed rate, and the AUC of its score inside that population (with its
    bootstrap interval; None unless each class has ``min_class`` runs). Tests whether the initial dynamics explain
    the ordering of the default cells, and the outcomes within a default Keras-2 population."""
    sel = {r["seed"]: r["success"] for r in rows if r["arm"] == arm.name and r["T"] == length}
    seeds = sorted(sel)
    if coefficients is None or not seeds:
        return {"predicted": None, "observed": None, "auc": None, "auc_ci": None}
    model = build_models(arm, seeds, length=length, device=config.device)
    feats = dynamical_features(model, length=length)
    X = np.column_stack([feats[f] for f in PREDICTOR_FEATURES])
    fit = LogisticFit.from_dict(coefficients)
    labels = np.asarray([sel[s] for s in seeds])
    scored = _auc_with_interval(fit.score(X), labels, min_class=config.min_class, resamples=config.bootstrap,
                                seed=config.seed)
    return {"predicted": float(fit.probability(X).mean()), "observed": float(labels.mean()),
            "auc": scored["auc"], "auc_ci": scored["ci"]}


# -- the edge-of-memory curve and the training traces ----------------------------------------------------------
def lambda_arm(cell: str, lambda0: float) -> Arm:
    """The arm that starts ``cell`` at ``lambda0`` (:func:`edge_parameters`), Keras 2 otherwise."""
    return Arm(f"{cell}_lambda_{lambda0:g}", cell, params=edge_parameters(cell, lambda0))


def lambda_sweep(runs: ArmRuns, config: LstmFailureConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train every (cell, lambda0, T) of the edge-of-memory curve: rows and ``{cell: {T: {"lambda0", "success",
    "readout_only", "learned_gain"}}}``."""
    rows: list[dict[str, Any]] = []
    curve: dict[str, Any] = {}
    for cell in config.lambda_cells:
        curve[cell] = {}
        for T in config.lambda_lengths:
            seeds = model_seeds(config.seed, T, config.lambda_repeats)
            entry: dict[str, list[float]] = {"lambda0": [], "success": [], "readout_only": [], "learned_gain": []}
            for lam in config.lambda_values:
                got = [{**r, "lambda0": lam} for r in runs.rows(lambda_arm(cell, lam), T, seeds)]
                rows += got
                ok = np.mean([r["success"] for r in got])
                alone = np.mean([r["readout_only_success"] for r in got])
                entry["lambda0"].append(lam)
                entry["success"].append(float(ok))
                entry["readout_only"].append(float(alone))
                entry["learned_gain"].append(float(ok - alone))
            curve[cell][str(T)] = entry
    return rows, curve


def trace_summary(traces: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per traced arm and epoch, for the runs that end in success and in failure: the median |lambda| at the origin,
    the mean number of stable fixed points, the median |read-out slope| and the median validation loss."""
    out: dict[str, Any] = {}
    for arm in dict.fromkeys(r["arm"] for r in traces):
        sel = [r for r in traces if r["arm"] == arm]
        epochs = sorted({r["epoch"] for r in sel})
        out[arm] = {"T": sel[0]["T"], "epoch": epochs}
        for label, ok in (("success", True), ("failure", False)):
            group = [r for r in sel if r["success"] == ok]
            per = [[r for r in group if r["epoch"] == e] for e in epochs]
            out[arm][label] = {
                "runs": len(per[0]) if per else 0,
                "median_eig_origin": [float(np.median([r["eig_origin"] for r in p])) if p else None for p in per],
                "mean_stable_fixed_points": [float(np.mean([r["stable_fixed_points"] for r in p])) if p else None
                                             for p in per],
                "median_abs_readout_slope": [float(np.median([abs(r["readout_slope"]) for r in p])) if p else None
                                             for p in per],
                "median_val_loss": [float(np.nanmedian([r["val_loss"] for r in p])) if p and e else None
                                    for p, e in zip(per, epochs)],
            }
    return out


def lost_latches(rows: Sequence[dict[str, Any]], arms: Sequence[str], lengths: Sequence[int]) -> dict[str, Any]:
    """Per arm and T, the runs whose read-out alone succeeds (a latch built in) but whose full training fails, and
    how many of them started with a read-out sign that disagrees with the cell's (``readout_agrees`` = 0)."""
    out: dict[str, Any] = {}
    for arm in arms:
        out[arm] = {}
        for T in lengths:
            sel = [r for r in rows if r["arm"] == arm and r["T"] == T]
            if not sel:
                continue
            lost = [r for r in sel if r["readout_only_success"] and not r["success"]]
            out[arm][str(T)] = {"built_in": sum(r["readout_only_success"] for r in sel), "lost": len(lost),
                                "lost_with_disagreeing_readout": sum(r["readout_agrees"] == 0.0 for r in lost)}
    return out


# -- the whole analysis ----------------------------------------------------------------------------------------
ATTRACTOR_ARMS: tuple[str, ...] = ("srnn", "gru", "lstm", "lstm_intervention", "gru_intervention", "lstm_critical",
                                   "gru_critical")
"""Arms whose point attractors are counted before and after training."""
AGREEMENT_ARMS: tuple[str, ...] = ("srnn", "gru", "lstm", "lstm_intervention", "gru_intervention", "lstm_critical",
                                   "lstm_critical_smooth", "gru_critical")
"""Arms (with the Keras read-out) whose success is split by the read-out's initial sign agreement."""


def plan_arms(config: LstmFailureConfig) -> dict[str, tuple[Arm, str | None, str]]:
    """Every arm the run trains: ``{name: (arm, reference name or None, what it tests)}``, the defaults first (the
    traced arms record their epochs the first time they train)."""
    plan: dict[str, tuple[Arm, str | None, str]] = {name: (arm, None, "Keras-2 default")
                                                    for name, arm in BASE_ARMS.items()}
    plan.update({name: entry for name, entry in headline_arms(config).items()})
    for h in config.hypotheses:
        arm, base, what = hypothesis_arm(h, small_n=config.units_100_n)
        plan.setdefault(base.name, (base, None, "baseline of the 100-unit arm"))
        plan[h] = (arm, base.name, what)
    return {name: (arm, ref if ref is None or ref in plan else arm.cell, what)
            for name, (arm, ref, what) in plan.items()}


def lstm_failure(config: LstmFailureConfig, out_dir: str | Path, *, progress: Callable[[str], None] | None = None,
                 progress_bar: bool = False, executor: ShardExecutor | None = None) -> dict[str, Any]:
    """Run every arm, its read-out-only baseline, the edge-of-memory curve, the traces and the predictor.

    The arms and the curve are trained first, as the shards of the store under ``out_dir`` (:func:`arm_shards`;
    resumable, computed by ``executor``, default this process); the predictor's populations, the hand-built latches
    and the landscapes after them, in this process.

    Returns:
        ``{"runs", "lambda_runs", "traces", "predictor_runs", "latch_runs": rows, "surfaces": {...}, "summary":
        {...}}`` (surfaces: :func:`initial_landscapes`). The summary holds the contract keys ``success``,
        ``readout_only``, ``learned_gain``, ``tests``, ``lambda_sweep``, ``hypotheses`` and ``predictor`` (with
        ``auc_heldout`` and ``auc_ci``).
    """
    say = progress or (lambda _msg: None)
    plan = plan_arms(config)
    runs = ArmRuns(config, say)
    train_arm_shards(config, runs, out_dir, progress=progress_bar, executor=executor)
    rows: list[dict[str, Any]] = []
    for T in config.lengths:
        for name, (arm, _, _) in plan.items():
            if arm.n is not None and T not in config.units_100_lengths:
                continue
            seeds = model_seeds(config.seed, T, arm_repeats(arm, T, config))
            rows += runs.rows(replace(arm, name=name), T, seeds, attractors=name in ATTRACTOR_ARMS,
                              traced=name in TRACED_ARMS and T == config.trace_length)
    lambda_rows, curve = lambda_sweep(runs, config)

    tests: dict[str, dict[str, Any]] = {}
    comparisons = [(name, name, ref) for name, (_, ref, _) in plan.items() if ref is not None]
    comparisons += [(key, a, b) for key, a, b in EXTRA_COMPARISONS if a in plan and b in plan]
    for key, a, b in comparisons:
        per_T = {str(T): paired_test(rows, a, b, T) for T in config.lengths}
        tests[key] = {T: t for T, t in per_T.items() if t is not None}
    holm_family(tests)

    def rate(arm: str, T: int) -> dict[str, Any]:
        k, n = success_rate(rows, arm, T)
        return {"successes": k, "runs": n, "rate": k / n if n else None, "ci": list(wilson_interval(k, n))}

    shown = [a for a in SUCCESS_ARMS if a in plan]
    success = {a: {str(T): rate(a, T)["rate"] for T in config.lengths} for a in shown}
    success_intervals = {a: {str(T): rate(a, T) for T in config.lengths} for a in shown}
    readout_only, learned_gain, learned_detail = readout_only_summary(rows, list(plan), config.lengths)
    hypotheses = {}
    for name, (arm, ref, what) in plan.items():
        if ref is None:
            continue
        effects = {}
        for T, t in tests[name].items():
            effects[T] = {"baseline": t["reference_rate"], "arm": t["arm_rate"], "effect": t["diff"], "ci": t["ci"],
                          "p_holm": t["p_holm"]}
            vs = tests.get(f"{name}_vs_srnn", {}).get(T)
            if vs is not None:
                effects[T].update({"vs_srnn": vs["diff"], "vs_srnn_ci": vs["ci"], "vs_srnn_p_holm": vs["p_holm"]})
        hypotheses[name] = {"cell": arm.cell, "change": what, "reference": ref, "effect": effects,
                            "verdict": describe(tests[name])}

    def bistable(arm: str, T: int) -> dict[str, Any]:
        sel = [r for r in rows if r["arm"] == arm and r["T"] == T and np.isfinite(r["attractors_after"])]
        out: dict[str, Any] = {}
        for label, group in (("success", [r for r in sel if r["success"]]),
                             ("failure", [r for r in sel if not r["success"]])):
            k = sum(r["attractors_after"] >= 2 for r in group)
            out[f"bistable_after_given_{label}"] = k / len(group) if group else None
            out[f"{label}_runs"] = len(group)
        out["bistable_before"] = float(np.mean([r["attractors_before"] >= 2 for r in sel])) if sel else None
        return out

    attractors_after = {name: {str(T): bistable(name, T) for T in config.lengths}
                        for name in ATTRACTOR_ARMS if name in plan}
    predictor_summary, pred_rows = predictor_study(rows, plan, config, say)
    summary = {
        "success": success,
        "success_intervals": success_intervals,
        "readout_only": readout_only,
        "learned_gain": learned_gain,
        "learned": learned_detail,
        "tests": tests,
        "alpha": ALPHA,
        "lambda_sweep": curve,
        "sign_agreement": sign_agreement(rows, [a for a in AGREEMENT_ARMS if a in plan], config.lengths),
        "lost_latches": lost_latches(rows, [a for a in ("lstm_intervention", "gru_intervention", "lstm_critical")
                                            if a in plan], config.lengths),
        "traces": trace_summary(runs.traces),
        "gradient_snr": {a: {str(T): float(np.median([r["grad_snr"] for r in rows if r["arm"] == a and r["T"] == T]))
                             for T in config.lengths if any(r["arm"] == a and r["T"] == T for r in rows)}
                         for a in shown},
        "hypotheses": hypotheses,
        "predictor": predictor_summary,
        "attractors_after_training": attractors_after,
    }
    say("representability: hand-built latches")
    latch_rows = handmade_robustness(config)
    hypotheses["representability"] = representability(latch_rows, config)
    surfaces: dict[str, Any] = {}
    if config.landscape_length in config.lengths:
        say(f"landscape around initial points, T={config.landscape_length}")
        surfaces = initial_landscapes(rows, config)
        summary["landscape"] = {k: v["point"] for k, v in surfaces.items()}
        summary["landscape"]["T"] = config.landscape_length
    return {"runs": rows, "lambda_runs": lambda_rows, "traces": runs.traces, "predictor_runs": pred_rows,
            "latch_runs": latch_rows, "surfaces": surfaces, "summary": summary}


def predictor_study(rows: Sequence[dict[str, Any]], plan: dict[str, tuple[Arm, str | None, str]],
                    config: LstmFailureConfig, say: Callable[[str], None]) -> tuple[dict[str, Any], list[dict]]:
    """Fit the predictor per (cell, T) on the broadened population, score it on fresh seeds and inside the arms'
    populations: the summary's ``predictor`` entry and the population rows."""
    pred_rows: list[dict[str, Any]] = []
    auc: dict[str, dict[str, Any]] = {}
    auc_ci: dict[str, dict[str, Any]] = {}
    baselines: dict[str, dict[str, Any]] = {}
    coefs: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, Any]] = {}
    for cell in config.predictor_cells:
        auc[cell], auc_ci[cell], baselines[cell], coefs[cell], details[cell] = {}, {}, {}, {}, {}
        for T in config.predictor_lengths:
            say(f"predictor {cell} T={T}")
            fit_s = fit_seeds(cell, T, config.fit_seeds)
            fresh_s = fresh_seeds(config.seed, cell, T, config.fresh_seeds)
            if set(fit_s) & set(fresh_s):
                raise RuntimeError("fitting and fresh seeds overlap")
            fit_rows = population_rows(cell, fit_s, length=T, config=config, role="fit")
            fresh_rows = population_rows(cell, fresh_s, length=T, config=config, role="fresh")
            pred_rows.extend(fit_rows + fresh_rows)
            p = predictor(fit_rows, fresh_rows, min_class=config.min_class, resamples=config.bootstrap,
                          seed=config.seed)
            auc[cell][str(T)], auc_ci[cell][str(T)] = p["auc_heldout"], p["auc_ci"]
            baselines[cell][str(T)] = p["baselines"]
            coefs[cell][str(T)] = p["coefficients"]
            details[cell][str(T)] = {k: v for k, v in p.items()
                                     if k not in ("coefficients", "auc_heldout", "auc_ci", "baselines")}
    in_arms: dict[str, dict[str, Any]] = {}
    for cell in config.predictor_cells:
        for name in (cell, f"{cell}_intervention", f"{cell}_critical"):
            if name not in plan:
                continue
            in_arms[name] = {str(T): default_population_score(coefs[cell][str(T)], replace(plan[name][0], name=name),
                                                              rows, length=T, config=config)
                             for T in config.predictor_lengths if T in config.lengths}
    population = {cell: {"parameters": {k: {"uniform": list(v)} for k, v in BROADENED_POPULATIONS[cell].items()},
                         "rest": "Keras-2 defaults (hard sigmoid)"} for cell in config.predictor_cells}
    summary = {"features": list(PREDICTOR_FEATURES), "coefficients": coefs, "auc_heldout": auc, "auc_ci": auc_ci,
               "baselines": baselines, "population": population, "details": details,
               "predicted_vs_observed": in_arms,
               "auc_in_default": {cell: {T: v["auc"] for T, v in in_arms[cell].items()}
                                  for cell in config.predictor_cells if cell in in_arms}}
    return summary, pred_rows


# -- representability and the landscape at the start -----------------------------------------------------------
def handmade_robustness(config: LstmFailureConfig) -> list[dict[str, Any]]:
    """Accuracy of every hand-built latch (:data:`dynlatch.cells.handmade.HANDMADE`) on latching data at the config's
    T and ``latch_sigmas``, with the read-out set from its attractors: tidy rows (latch, cell, T, sigma, accuracy)."""
    return score_latches(lengths=config.lengths, sigmas=config.latch_sigmas, n=1000, seed=config.seed)


def representability(latch_rows: Sequence[dict[str, Any]], config: LstmFailureConfig) -> dict[str, Any]:
    """The representability hypothesis ("a one-unit LSTM cannot latch"): per T, the accuracy at the question's
    noise (the smallest ``latch_sigmas``) of the best hand-built one-unit LSTM latch and of the SimpleRNN latch, and
    the largest noise each LSTM latch tolerates at accuracy >= ``success_threshold`` (Bengio's trade-off: the
    stronger the noise, the shorter the latch lasts)."""
    sigma = min(config.latch_sigmas)
    lstm = sorted({r["latch"] for r in latch_rows if r["cell"] == "lstm"})
    effects: dict[str, dict[str, Any]] = {}
    for T in config.lengths:
        at = [r for r in latch_rows if r["T"] == T]
        acc = {r["latch"]: r["accuracy"] for r in at if r["sigma"] == sigma}
        tolerated = {name: max([r["sigma"] for r in at if r["latch"] == name
                                and r["accuracy"] >= config.success_threshold], default=None) for name in lstm}
        effects[str(T)] = {"sigma": sigma, "best_lstm_latch_accuracy": max(acc[k] for k in lstm),
                           "srnn_latch_accuracy": acc.get("srnn_latch"), "accuracy": acc,
                           "largest_sigma_at_threshold": tolerated}
    worst = min(e["best_lstm_latch_accuracy"] for e in effects.values())
    latches = worst >= config.success_threshold
    return {"cell": "lstm", "change": "hand-built one-unit LSTM latches (dynlatch.cells.handmade)",
            "effect": effects,
            "verdict": (f"a one-unit LSTM can latch: a hand-built latch reaches >= {worst:.2f} accuracy at every T "
                        f"up to {max(config.lengths)}, sigma = {sigma:g}") if latches else
                       f"the best hand-built LSTM latch falls to {worst:.2f} accuracy"}


def _typical(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The run of median validation accuracy among ``rows`` (None for none)."""
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: (r["val_acc"], r["seed"]))
    return ordered[len(ordered) // 2]


def initial_landscapes(rows: Sequence[dict[str, Any]], config: LstmFailureConfig) -> dict[str, Any]:
    """Loss surfaces over (b_f, U_c), every other parameter at its initial value, around a typical successful and a
    typical failed one-unit LSTM at T = ``landscape_length`` (from the Keras-2 and intervention arms), on 1000
    validation sequences. Returns ``{"success" | "failure": {"surface": Surface, "eig_origin": (H, G) array,
    "point": {...}}}``; a class without runs is left out."""
    T = config.landscape_length
    arms = {**BASE_ARMS, **intervention_arms(config.intervention_bias)}
    pool = [r for r in rows if r["T"] == T and r["arm"] in ("lstm", "lstm_intervention")]
    data = latching(length=T, n=config.n, seed=data_seed(config.seed, T))
    x, y = data.x_val[:1000], data.y_val[:1000]
    G = config.landscape_resolution
    b_f, u_c = np.linspace(-1.0, 5.0, G), np.linspace(-3.0, 3.0, G)
    out: dict[str, Any] = {}
    for label, ok in (("success", True), ("failure", False)):
        run = _typical([r for r in pool if r["success"] == ok])
        if run is None:
            continue
        model = build_models(arms[run["arm"]], [run["seed"]], length=T, device=config.device)
        surface = parameter_surface(model, x, y, axes=(("b_f", b_f), ("U_c", u_c)))
        grid = model.cell.to(torch.float64)[[0] * G * G]
        B, U = np.meshgrid(b_f, u_c)
        grid = grid.with_params(b_f=torch.as_tensor(B).reshape(-1, *grid.block_shape("b_f")),
                                U_c=torch.as_tensor(U).reshape(-1, *grid.block_shape("U_c")))
        eig = origin_jacobian_eigenvalue(grid).reshape(B.shape)
        p = model.cell.named_params()
        b0, u0 = float(p["b_f"][0, 0]), float(p["U_c"][0, 0])
        at = evaluate(model, x, y, grad=True)
        point = {"arm": run["arm"], "seed": run["seed"], "val_acc": run["val_acc"], "b_f": b0, "U_c": u0,
                 "eig_origin": float(origin_jacobian_eigenvalue(model)[0]), "loss": float(at.loss[0]),
                 "grad_norm": float(np.sqrt(sum(np.square(g).sum() for g in at.grads.values()))),
                 "grad_norm_median_on_surface": float(np.nanmedian(surface.grad_norm)),
                 "loss_range_on_surface": [float(np.nanmin(surface.loss)), float(np.nanmax(surface.loss))]}
        out[label] = {"surface": surface, "eig_origin": eig, "point": point}
    return out



# -- report and the study --------------------------------------------------------------------------------------
def report(summary: dict[str, Any]) -> list[str]:
    """The headline in words: success and read-out-only success per arm and T, the paired tests, the predictor."""
    lines = [f"{name:24s} " + "  ".join(f"T={T}: {v:.2f} (read-out only {summary['readout_only'][name][T]:.2f})"
                                         for T, v in per_T.items() if v is not None)
             for name, per_T in summary["success"].items()]
    lines += [f"{h:24s} {v['verdict']}" for h, v in summary["hypotheses"].items()]
    lines.append("held-out AUC: " + "; ".join(
        f"{c} " + ", ".join(f"T={T}: " + ("n/a" if a is None else
                                          f"{a:.2f} [{summary['predictor']['auc_ci'][c][T][0]:.2f}, "
                                          f"{summary['predictor']['auc_ci'][c][T][1]:.2f}]")
                            for T, a in per_T.items())
        for c, per_T in summary["predictor"]["auc_heldout"].items()))
    return lines


def run(config: LstmFailureConfig, context: RunContext) -> Result:
    """Run the study (:func:`lstm_failure`); the result carries its rows, surfaces, summary, figures and report."""
    result = lstm_failure(config, context.out, progress=context.say, progress_bar=context.progress,
                          executor=context.shards)
    summary, surfaces = result["summary"], result["surfaces"]
    figures = {"success_vs_T": success_figure(summary, config),
               "learned_vs_builtin": learned_figure(summary, config),
               "lambda_sweep": lambda_figure(summary, config)}
    if result["traces"]:
        figures["training_traces"] = traces_figure(result["traces"])
    if surfaces:
        figures["landscape_at_start"] = landscape_figure(surfaces, config)
    if result["predictor_runs"]:
        figures["predictor_feature"] = predictor_figure(result["predictor_runs"], summary, config)
    return Result(summary=summary,
                  tables={"runs": result["runs"], "lambda_runs": result["lambda_runs"], "traces": result["traces"],
                          "predictor_runs": result["predictor_runs"], "handmade_latches": result["latch_runs"]},
                  files={f"landscape_{label}.npz": entry["surface"].save
                         for label, entry in surfaces.items()},
                  figures=figures, report=report(summary))


SUMMARY_KEYS: dict[str, str] = {
    "success": "per arm and T: success frequency (validation accuracy at or above the threshold)",
    "success_intervals": "the same with successes, runs and the Wilson 95% interval",
    "readout_only": ("per arm and T: success frequency of the same initial models with the cell frozen, only the "
                     "read-out trained (a latch built in before training)"),
    "learned_gain": "success minus read-out-only success: what training the cell adds",
    "learned": ("per arm and T: runs, latches learned, built-in latches lost, the intervals of read-out-only success "
                "and learned gain, and the best-threshold separability of the untrained h_T"),
    "tests": ("paired comparisons of arms against their references: rates, difference with Newcombe's interval, "
              "discordant pairs, exact McNemar p and Holm-corrected p"),
    "alpha": "family-wise error rate of the Holm correction",
    "lambda_sweep": ("the edge-of-memory curve: per cell and T, success, read-out-only success and learned gain "
                     "against the controlled start eigenvalue lambda0"),
    "sign_agreement": ("success when the read-out's initial sign agrees or disagrees with how the untrained h_T "
                       "carries the label, with intervals"),
    "lost_latches": ("per arm with a built-in latch: how many were lost in training, and how many of those started "
                     "with a disagreeing read-out"),
    "traces": ("per traced arm, split by outcome: per epoch the median lambda at the origin, the mean number of stable"
               " fixed points and the read-out's slope"),
    "gradient_snr": "per arm and T: the median signal-to-noise ratio of the gradient at the start",
    "hypotheses": ("per hypothesis arm: the change it makes, its reference, the effect on success at each T with its "
                   "interval and the verdict"),
    "predictor": ("the logistic predictor of success from the initial dynamics (retention T log|lambda0| and the "
                  "number of stable fixed points): coefficients per cell and T, held-out AUC with bootstrap interval, "
                  "one-feature baselines, and its predictions inside the default populations (the explorer reads its "
                  "coefficients)"),
    "attractors_after_training": ("per cell and T: the fraction of models bistable after training among successes and "
                                  "failures, and before training"),
    "landscape": ("the loss surface around a typical successful and a typical failed initial model: its parameters, "
                  "lambda at the origin, loss and gradient norms"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="lstm-failure", config=LstmFailureConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS,
              sharded=True)
