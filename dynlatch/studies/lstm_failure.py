"""Why the one-unit LSTM latches worse than the SimpleRNN: controlled experiments, a predictor, an intervention.

Controlled experiments with Wilson intervals (one change to the question's set-up at a time), a predictor of success
from the initial dynamics scored on fresh seeds, and the edge-of-memory intervention the mechanism suggests.

The mechanism (stated in ``docs/explanation.md``). At the start state s = (h, c) = 0 with zero input the Jacobian of
the one-unit LSTM's autonomous map is, with i0, f0, o0 the gate values there and b_c = 0,

    J = [[o0 i0 U_c, o0 f0], [i0 U_c, f0]],   eigenvalues 0 and lambda = f0 + o0 i0 U_c,

so a perturbation of the start state is multiplied by lambda per step and retained as lambda^T over T steps (Bengio et
al. 1994: latching needs the map near or past the bifurcation |lambda| = 1 that creates two attractors). Keras 2 starts
the LSTM at f0 = hard_sigmoid(b_f = 1) = 0.7, i0 = o0 = 0.5, |U_c| <= 1, so |lambda| <= 0.95, typically ~0.7: a
contracting map, far from the bifurcation. The Keras-2 SimpleRNN(1) starts with U = +-1 exactly (orthogonal 1 x 1),
i.e. exactly at the pitchfork (U = 1) or flip (U = -1) bifurcation. The Keras-2 GRU (reset before the matmul; b = 0) has
lambda = z0 + (1 - z0) r0 U_h = 0.5 + 0.25 U_h in [0.25, 0.75]: contracting as well. The intervention puts the LSTM at
the edge of memory: b_f = 3 makes the hard forget gate exactly 1 near the origin (0.2 * 3 + 0.5 >= 1), so the cell
state integrates (c_t = c_(t-1) + i g) and lambda = 1 + o0 i0 U_c = 1 + 0.25 U_c straddles 1 as the SimpleRNN's +-1
does; the GRU analogue is b_z = 3 (z0 = 1: h_t = h_(t-1) near 0, a segment of fixed points, lambda = 1).

Everything here trains with :func:`dynlatch.train` (numba backend, float64) and measures success as validation
accuracy >= ``success_threshold`` on a correct (shuffled, stratified) split.

Writes ``runs.csv`` (one row per trained model of the controlled experiments), ``predictor_runs.csv`` (the broadened
populations the predictor is fitted and scored on), ``handmade_latches.csv``, ``landscape_success.npz`` /
``landscape_failure.npz`` (:class:`dynlatch.landscape.Surface`), ``summary.json`` and the figures ``success_vs_T``,
``predictor_feature`` and ``landscape_at_start``.

Cost (numba backend, measured on 2 cores shared with other jobs): the medium run --repeats 30 --n 4000 with the
default T in {5, 20, 50, 100, 200}, 15 hypotheses and the predictor for 3 cells at T in {50, 100, 200} (60 fitting + 100
fresh models each) took 14 minutes; the default (n = 10000) scales with n, about 35 minutes there (less on free
cores). The 100-unit arm (3 models at T = 20 and 50 on n = 2000 sequences, with a one-unit baseline on the same data)
adds about 10 minutes. --quick (4 repeats, n = 2000, T in {5, 50}, 4 hypotheses, LSTM predictor at T = 50) takes
about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .. import _checks
from .._checks import CheckError
from .._config import Config, option
from .._evaluate import evaluate
from .._model import Model
from .._stats import difference_interval, roc_auc, wilson_interval
from .._train import train
from ..cells.handmade import score_latches
from ..landscape import parameter_surface
from ..tasks import latching
from ._lstm_failure_features import (
    BROADENED_POPULATIONS, LogisticFit, attractor_counts, changed_cell, dynamical_features, edge_of_memory_changes,
    fit_logistic, origin_jacobian_eigenvalue,
)
from ._study import Result, RunContext, Study

CELLS: tuple[str, ...] = ("srnn", "gru", "lstm")
FRESH_SEED_LIMIT = 900_000_000
"""Fresh (held-out) seeds are drawn from [0, FRESH_SEED_LIMIT); fitting seeds are FRESH_SEED_LIMIT + k, so the two
sets are disjoint by construction."""

PREDICTOR_FEATURES: tuple[str, ...] = ("retention", "stable_fixed_points")
"""``retention`` = T log|lambda_max| at the origin (log of the predicted retention of the start state over T steps);
``stable_fixed_points`` = number of stable fixed points of the autonomous map (x = 0)."""


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
    repeats: int = option(30, help="models per (arm, T) in the controlled experiments", check=_at_least(1), quick=4)
    n: int = option(10000, help="sequences per data set", check=_at_least(20), quick=2000)
    epochs: int = option(5, help="training epochs (the question: 5)", check=_at_least(1))
    lr: float = option(1e-3, help="Adam learning rate (the question: 1e-3)", check=_checks.number_in(above=0))
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
    intervention_bias: float = option(3.0, help="b_f (LSTM) / b_z (GRU) of the edge-of-memory initialisation",
                                      check=_checks.number)
    seed: int = option(0, help="base seed (controlled experiments and the predictor's fresh seeds)",
                       check=_checks.seed)
    latch_sigmas: tuple[float, ...] = option((0.1, 0.3, 0.5), help="input noise of the hand-built latches' test",
                                             check=_sigmas)
    landscape_length: int = option(50, help="T of the loss surfaces around a successful and a failed initial LSTM",
                                   check=_at_least(2), quick=5)
    landscape_resolution: int = option(41, help="grid points per axis of those surfaces", check=_at_least(3),
                                       quick=9)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)




# -- arms: how each controlled experiment changes the set-up --------------------------------------------------
@dataclass(frozen=True)
class Arm:
    """One training condition: a cell, its initialisation and the training set-up."""

    name: str
    cell: str
    init: str = "keras2"
    units: int = 1
    readout: str = "softmax"
    recurrent_activation: str | None = None
    split: str = "correct"
    lr_factor: float = 1.0
    epochs_factor: int = 1
    batch_size: int = 16
    beta1: float = 0.9
    clip_norm: float | None = None
    params: str | None = None
    """Named parameter changes, comma-separated (:func:`~dynlatch.studies._lstm_failure_features.changed_cell`):
    ``"b_f=3"``, ``"b_f=3,U_c=abs"`` (U_c -> |U_c|), ``"chrono"``, ``"U*0.5"``, ``"b_z=3"``, ``"broadened"``."""
    n: int | None = None
    """Sequences per data set, when not the config's ``n`` (the 100-unit arm and its baseline)."""


BASE_ARMS: dict[str, Arm] = {
    "srnn": Arm("srnn", "srnn"),
    "gru": Arm("gru", "gru"),
    "lstm": Arm("lstm", "lstm"),
}


def intervention_arms(bias: float = 3.0) -> dict[str, Arm]:
    """The edge-of-memory arms (:func:`~dynlatch.studies._lstm_failure_features.edge_of_memory`): LSTM b_f = ``bias``
    with U_c -> |U_c|, GRU b_z = ``bias`` (hard sigmoid, Keras-2 otherwise)."""
    return {f"{cell}_intervention": Arm(f"{cell}_intervention", cell, params=edge_of_memory_changes(cell, bias))
            for cell in ("lstm", "gru")}


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
    if arm.params is None:
        return model
    return replace(model, cell=changed_cell(model.cell, arm.params, seeds=seeds, length=length))


# -- training --------------------------------------------------------------------------------------------------
def data_seed(seed: int, length: int) -> int:
    return 10_007 * int(seed) + int(length)


def model_seeds(seed: int, length: int, repeats: int) -> list[int]:
    """Seeds of the controlled experiments: shared by every arm at one T (paired comparisons)."""
    base = 1_000_003 * (int(seed) % 800) + 1009 * int(length)
    return [base + k for k in range(repeats)]




def train_arm(arm: Arm, seeds: Sequence[int], *, length: int, config: LstmFailureConfig,
              model: Model | None = None, attractors: bool = False) -> list[dict[str, Any]]:
    """Train the models of ``arm`` at length ``length``; one tidy row per model.

    Success is validation accuracy >= ``config.success_threshold`` on a correct split. For the split-bug arm the models
    train on the question's keras-tail split and are scored on the correct split's validation set of the same data
    seed (``reported_val_acc`` keeps what the question would have seen). With ``attractors`` (one-unit cells) the rows
    also hold ``attractors_before`` / ``attractors_after`` (:func:`attractor_counts` of the initial / trained models).
    """
    model = model if model is not None else build_models(arm, seeds, length=length, device=config.device)
    count = attractors and model.cell.units == 1
    before = attractor_counts(model) if count else np.full(model.models, np.nan)
    n = arm.n or config.n
    data = latching(length=length, n=n, seed=data_seed(config.seed, length), split=arm.split)
    result = train(model, data, epochs=config.epochs * arm.epochs_factor, lr=config.lr * arm.lr_factor,
                   batch_size=arm.batch_size, betas=(arm.beta1, 0.999), clip_norm=arm.clip_norm)
    reported = result.final("val_acc")
    if arm.split == "correct":
        acc = reported
    else:
        clean = latching(length=length, n=n, seed=data_seed(config.seed, length), split="correct")
        acc = evaluate(result.model, clean.x_val, clean.y_val).accuracy
    acc = np.where(result.diverged, 0.0, np.nan_to_num(acc, nan=0.0))
    after = attractor_counts(result.model) if count else np.full(model.models, np.nan)
    return [{"arm": arm.name, "cell": arm.cell, "T": length, "seed": int(s), "val_acc": float(a),
             "reported_val_acc": float(r), "success": bool(a >= config.success_threshold),
             "diverged": bool(d), "attractors_before": float(b0), "attractors_after": float(b1)}
            for s, a, r, d, b0, b1 in zip(seeds, acc, reported, result.diverged, before, after)]


def success_rate(rows: Sequence[dict[str, Any]], arm: str, length: int) -> tuple[int, int]:
    """(successes, runs) of ``arm`` at ``length``."""
    sel = [r["success"] for r in rows if r["arm"] == arm and r["T"] == length]
    return int(sum(sel)), len(sel)



# -- predictor -------------------------------------------------------------------------------------------------
def fit_seeds(cell: str, length: int, count: int) -> list[int]:
    """The predictor's fitting seeds: fixed (independent of ``--seed``) and >= :data:`FRESH_SEED_LIMIT`."""
    base = FRESH_SEED_LIMIT + 1_000_000 * (CELLS.index(cell) + 1) + 1000 * length
    return [base + k for k in range(count)]


def fresh_seeds(seed: int, cell: str, length: int, count: int) -> list[int]:
    """Fresh seeds drawn from ``seed`` in [0, :data:`FRESH_SEED_LIMIT`): never among :func:`fit_seeds`."""
    rng = np.random.default_rng([int(seed), CELLS.index(cell), int(length)])
    return [int(s) for s in rng.choice(FRESH_SEED_LIMIT, size=count, replace=False)]


def population_rows(cell: str, seeds: Sequence[int], *, length: int, config: LstmFailureConfig,
                    role: str) -> list[dict[str, Any]]:
    """Train the broadened population of ``cell`` on ``seeds``; rows with the initial features and the outcome."""
    arm = Arm(f"{cell}_broadened", cell, params="broadened")
    model = build_models(arm, seeds, length=length, device=config.device)
    feats = dynamical_features(model, length=length)
    rows = train_arm(arm, seeds, length=length, config=config, model=model)
    for k, r in enumerate(rows):
        r["role"] = role
        r.update({f: float(v[k]) for f, v in feats.items()})
    return rows


def predictor(rows_fit: Sequence[dict[str, Any]], rows_fresh: Sequence[dict[str, Any]], *,
              min_class: int) -> dict[str, Any]:
    """Fit on ``rows_fit`` only, score on ``rows_fresh``: coefficients and held-out AUC (None unless each fresh class
    has at least ``min_class`` runs, and where the fitting set holds a single class the fit is skipped)."""
    X = np.asarray([[r[f] for f in PREDICTOR_FEATURES] for r in rows_fit])
    y = np.asarray([r["success"] for r in rows_fit], dtype=bool)
    Xf = np.asarray([[r[f] for f in PREDICTOR_FEATURES] for r in rows_fresh])
    yf = np.asarray([r["success"] for r in rows_fresh], dtype=bool)
    out: dict[str, Any] = {"fit_runs": int(len(y)), "fit_successes": int(y.sum()), "fresh_runs": int(len(yf)),
                           "fresh_successes": int(yf.sum()), "coefficients": None, "auc_heldout": None}
    if y.all() or not y.any():
        out["note"] = "the fitting set holds one class only"
        return out
    fit = fit_logistic(X, y, features=PREDICTOR_FEATURES)
    out["coefficients"] = fit.as_dict()
    if yf.sum() >= min_class and (~yf).sum() >= min_class:
        out["auc_heldout"] = roc_auc(fit.score(Xf), yf)
    else:
        out["note"] = f"AUC not reported: fewer than {min_class} fresh runs in a class"
    out["auc_heldout_any"] = roc_auc(fit.score(Xf), yf) if 0 < yf.sum() < len(yf) else None
    return out


def predicted_rate(coefficients: dict[str, Any], arm: Arm, rows: Sequence[dict[str, Any]], *, length: int,
                   config: LstmFailureConfig) -> dict[str, float]:
    """The predictor (fitted on the broadened population) applied to the initial models of ``arm``'s controlled
    experiment at ``length``: mean predicted P(success) against the observed success rate of those runs. Tests
    whether the initial dynamics explain the ordering of the default cells (and the interventions)."""
    seeds = model_seeds(config.seed, length, config.repeats)
    model = build_models(arm, seeds, length=length, device=config.device)
    feats = dynamical_features(model, length=length)
    X = np.column_stack([feats[f] for f in PREDICTOR_FEATURES])
    k, n = success_rate(rows, arm.name, length)
    return {"predicted": float(LogisticFit.from_dict(coefficients).probability(X).mean()),
            "observed": k / n if n else None}


# -- the whole analysis ----------------------------------------------------------------------------------------
def verdict(effects: dict[str, dict[str, Any]]) -> str:
    """A one-line verdict from per-T effects (difference with Newcombe interval)."""
    up = [t for t, e in effects.items() if e["ci"][0] > 0]
    down = [t for t, e in effects.items() if e["ci"][1] < 0]
    if up and not down:
        return f"raises success significantly at T = {', '.join(up)}"
    if down and not up:
        return f"lowers success significantly at T = {', '.join(down)}"
    if up and down:
        return f"raises success at T = {', '.join(up)}, lowers it at T = {', '.join(down)}"
    return "no significant effect at any T"


def lstm_failure(config: LstmFailureConfig, *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the controlled experiments, the predictor and the intervention.

    Returns:
        ``{"runs": rows, "predictor_runs": rows, "latch_runs": rows, "surfaces": {...}, "summary": {...}}``
        (surfaces: :func:`initial_landscapes`); the summary holds the contract keys ``hypotheses``, ``predictor``,
        ``success``.
    """
    say = progress or (lambda _msg: None)
    arms = {**BASE_ARMS, **intervention_arms(config.intervention_bias)}
    hyp = {h: hypothesis_arm(h, small_n=config.units_100_n) for h in config.hypotheses}
    plan = [*arms.values()]
    for arm, base, _ in hyp.values():
        plan += [a for a in (base, arm) if a.name not in {p.name for p in plan}]
    rows: list[dict[str, Any]] = []
    for T in config.lengths:
        done: dict[tuple, list[dict[str, Any]]] = {}
        for arm in plan:
            small = arm.n is not None
            if small and T not in config.units_100_lengths:
                continue
            seeds = model_seeds(config.seed, T, config.units_100_repeats if small else config.repeats)
            key = replace(arm, name="").__repr__()
            if key in done:  # the same set-up under another name (e.g. forget_bias_3 = lstm_intervention)
                rows.extend({**r, "arm": arm.name} for r in done[key])
                continue
            say(f"T={T} {arm.name}")
            done[key] = train_arm(arm, seeds, length=T, config=config, attractors=arm.name in arms)
            rows.extend(done[key])

    def rate(arm: str, T: int) -> dict[str, Any]:
        k, n = success_rate(rows, arm, T)
        lo, hi = wilson_interval(k, n)
        return {"successes": k, "runs": n, "rate": k / n, "ci": [lo, hi]}

    success = {name: {str(T): rate(name, T)["rate"] for T in config.lengths}
               for name in ("srnn", "gru", "lstm", "lstm_intervention", "gru_intervention")}
    success_intervals = {name: {str(T): rate(name, T) for T in config.lengths}
                         for name in ("srnn", "gru", "lstm", "lstm_intervention", "gru_intervention")}
    hypotheses = {}
    for h, (arm, base_arm, what) in hyp.items():
        effects = {}
        base = base_arm.name
        for T in config.lengths:
            k1, n1 = success_rate(rows, h, T)
            k0, n0 = success_rate(rows, base, T)
            if n1 == 0 or n0 == 0:  # an arm run at some T only (units_100)
                continue
            d, lo, hi = difference_interval(k1, n1, k0, n0)
            effects[str(T)] = {"baseline": k0 / n0, "arm": k1 / n1, "effect": d, "ci": [lo, hi]}
        hypotheses[h] = {"cell": arm.cell, "change": what, "effect": effects, "verdict": verdict(effects)}
    for name in ("lstm_intervention", "gru_intervention"):
        base = arms[name].cell
        effects = {}
        for T in config.lengths:
            k1, n1 = success_rate(rows, name, T)
            k0, n0 = success_rate(rows, base, T)
            ks, ns = success_rate(rows, "srnn", T)
            d, lo, hi = difference_interval(k1, n1, k0, n0)
            ds, los, his = difference_interval(k1, n1, ks, ns)
            effects[str(T)] = {"baseline": k0 / n0, "arm": k1 / n1, "effect": d, "ci": [lo, hi],
                               "vs_srnn": ds, "vs_srnn_ci": [los, his]}
        hypotheses[name] = {"cell": base, "change": f"edge of memory: {arms[name].params}, hard sigmoid",
                            "effect": effects, "verdict": verdict(effects)}

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

    attractors_after = {name: {str(T): bistable(name, T) for T in config.lengths} for name in arms}
    pred_rows: list[dict[str, Any]] = []
    auc: dict[str, dict[str, Any]] = {}
    coefs: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, Any]] = {}
    for cell in config.predictor_cells:
        auc[cell], coefs[cell], details[cell] = {}, {}, {}
        for T in config.predictor_lengths:
            say(f"predictor {cell} T={T}")
            fit_s = fit_seeds(cell, T, config.fit_seeds)
            fresh_s = fresh_seeds(config.seed, cell, T, config.fresh_seeds)
            assert not set(fit_s) & set(fresh_s)
            fit_rows = population_rows(cell, fit_s, length=T, config=config, role="fit")
            fresh_rows = population_rows(cell, fresh_s, length=T, config=config, role="fresh")
            pred_rows.extend(fit_rows + fresh_rows)
            p = predictor(fit_rows, fresh_rows, min_class=config.min_class)
            auc[cell][str(T)] = p["auc_heldout"]
            coefs[cell][str(T)] = p["coefficients"]
            details[cell][str(T)] = {k: v for k, v in p.items() if k not in ("coefficients", "auc_heldout")}
    predicted = {}
    for cell in config.predictor_cells:
        for name in (cell, f"{cell}_intervention"):
            if name not in arms:
                continue
            predicted[name] = {str(T): predicted_rate(coefs[cell][str(T)], arms[name], rows, length=T, config=config)
                               for T in config.predictor_lengths
                               if T in config.lengths and coefs[cell].get(str(T)) is not None}
    population = {cell: {"parameters": {k: {"uniform": list(v)} for k, v in BROADENED_POPULATIONS[cell].items()},
                         "rest": "Keras-2 defaults (hard sigmoid)"} for cell in config.predictor_cells}
    summary = {
        "hypotheses": hypotheses,
        "predictor": {"features": list(PREDICTOR_FEATURES), "coefficients": coefs, "auc_heldout": auc,
                      "population": population, "details": details, "predicted_vs_observed": predicted},
        "success": success,
        "success_intervals": success_intervals,
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
    return {"runs": rows, "predictor_runs": pred_rows, "latch_runs": latch_rows, "surfaces": surfaces,
            "summary": summary}


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
            "verdict": (f"rejected: a one-unit LSTM can latch (best hand-built latch >= {worst:.2f} accuracy at every "
                        f"T up to {max(config.lengths)}, sigma = {sigma:g})") if latches else
                       f"not rejected: the best hand-built LSTM latch falls to {worst:.2f} accuracy"}


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


# -- figures, report and the study -----------------------------------------------------------------------------
COLOURS = {"srnn": "tab:blue", "gru": "tab:green", "lstm": "tab:red", "lstm_intervention": "darkred",
           "gru_intervention": "darkgreen"}


def success_figure(summary: dict[str, Any], config: LstmFailureConfig) -> Figure:
    """Success rate (with its Wilson 95% interval) against T for the default cells and the interventions."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    Ts = list(config.lengths)
    for k, (name, per_T) in enumerate(summary["success_intervals"].items()):
        rate = np.array([per_T[str(T)]["rate"] for T in Ts])
        lo = np.array([per_T[str(T)]["ci"][0] for T in Ts])
        hi = np.array([per_T[str(T)]["ci"][1] for T in Ts])
        x = np.array(Ts) * (1 + 0.03 * (k - 2))
        style = "--" if "intervention" in name else "-"
        labels = {"lstm_intervention": f"LSTM, b_f = {config.intervention_bias:g}, U_c -> |U_c| (edge of memory)",
                  "gru_intervention": f"GRU, b_z = {config.intervention_bias:g} (edge of memory)"}
        label = labels.get(name, name.upper())
        ax.errorbar(x, rate, yerr=[rate - lo, hi - rate], fmt="o" + style, color=COLOURS[name], capsize=3,
                    label=label)
    ax.set_xscale("log")
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(T) for T in Ts])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="sequence length T", ylabel=f"success rate (val acc >= {config.success_threshold:g}), 95% Wilson",
           ylim=(-0.03, 1.03),
           title=f"one-unit cells, Keras-2 init, {config.repeats} models, n = {config.n}, {config.epochs} epochs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def predictor_figure(pred_rows: Sequence[dict[str, Any]], summary: dict[str, Any],
                     config: LstmFailureConfig) -> Figure:
    """Success (jittered) against |lambda_max| at the origin for the broadened populations, per (cell, T)."""
    cells = list(config.predictor_cells)
    Ts = list(config.predictor_lengths)
    fig = Figure(figsize=(3.6 * len(Ts), 2.8 * len(cells)))
    axes = fig.subplots(len(cells), len(Ts), squeeze=False)
    rng = np.random.default_rng(0)
    for i, cell in enumerate(cells):
        for j, T in enumerate(Ts):
            ax = axes[i, j]
            rows = [r for r in pred_rows if r["cell"] == cell and r["T"] == T]
            for role, marker in (("fit", "o"), ("fresh", "x")):
                sel = [r for r in rows if r["role"] == role]
                e = np.array([r["eig_origin"] for r in sel])
                s = np.array([r["success"] for r in sel], dtype=float)
                ax.scatter(e, s + rng.uniform(-0.08, 0.08, s.size), marker=marker, s=14, alpha=0.6,
                           label=f"{role} seeds")
            ax.axvline(1.0, color="k", lw=0.8, ls=":")
            auc = summary["predictor"]["auc_heldout"][cell][str(T)]
            ax.set(title=f"{cell.upper()} T={T}: held-out AUC " + ("n/a" if auc is None else f"{auc:.2f}"),
                   xlabel="|lambda_max| of the Jacobian at the origin", ylabel="succeeded (jittered)",
                   yticks=[0, 1], yticklabels=["no", "yes"])
            ax.grid(alpha=0.3)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    fig.suptitle("broadened initial populations: success against the distance to the bifurcation |lambda| = 1",
                 fontsize=9)
    fig.tight_layout()
    return fig


def landscape_figure(surfaces: dict[str, Any], config: LstmFailureConfig) -> Figure:
    """The loss over (b_f, U_c) around the typical successful and failed initial LSTM, with |lambda| = 1 marked."""
    fig = Figure(figsize=(5.4 * len(surfaces), 4.4))
    axes = fig.subplots(1, len(surfaces), squeeze=False)
    for ax, (label, entry) in zip(axes[0], surfaces.items()):
        s, p = entry["surface"], entry["point"]
        loss = np.where(np.isfinite(s.loss), s.loss, np.nan)
        cs = ax.contourf(s.x, s.y, loss, levels=30, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="validation loss (cross-entropy)")
        ax.contour(s.x, s.y, entry["eig_origin"], levels=[1.0], colors="w", linewidths=1.5, linestyles="--")
        ax.plot([], [], "w--", label="|lambda| = 1 at the origin")
        ax.plot(p["b_f"], p["U_c"], "r*", ms=14, mec="k", label=f"initial point ({p['arm']})")
        ax.set(xlabel="forget-gate bias b_f", ylabel="U_c",
               title=f"typical {label}: val acc {p['val_acc']:.2f}, |lambda| = {p['eig_origin']:.2f},\n"
                     f"|grad| at start {p['grad_norm']:.2g}")
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"one-unit LSTM at T = {config.landscape_length}: loss over (b_f, U_c), other parameters at their "
                 "initial values", fontsize=9)
    fig.tight_layout()
    return fig


def report(summary: dict[str, Any]) -> list[str]:
    """The headline in words: success per cell and T, each hypothesis' verdict, the predictor's held-out AUC."""
    lines = [f"{name:18s} " + "  ".join(f"T={T}: {v:.2f}" for T, v in per_T.items())
             for name, per_T in summary["success"].items()]
    lines += [f"{h:18s} {v['verdict']}" for h, v in summary["hypotheses"].items()]
    lines.append("held-out AUC: " + "; ".join(f"{c} " + ", ".join(f"T={T}: {'n/a' if a is None else f'{a:.2f}'}"
                                                                  for T, a in per_T.items())
                                              for c, per_T in summary["predictor"]["auc_heldout"].items()))
    return lines


def run(config: LstmFailureConfig, context: RunContext) -> Result:
    """Run the study (:func:`lstm_failure`); the result carries its rows, surfaces, summary, figures and report."""
    result = lstm_failure(config, progress=context.say)
    summary, surfaces = result["summary"], result["surfaces"]
    figures = {"success_vs_T": success_figure(summary, config)}
    if surfaces:
        figures["landscape_at_start"] = landscape_figure(surfaces, config)
    if result["predictor_runs"]:
        figures["predictor_feature"] = predictor_figure(result["predictor_runs"], summary, config)
    return Result(summary=summary,
                  tables={"runs": result["runs"], "predictor_runs": result["predictor_runs"],
                          "handmade_latches": result["latch_runs"]},
                  files={f"landscape_{label}.npz": entry["surface"].save
                         for label, entry in surfaces.items()},
                  figures=figures, report=report(summary))


STUDY = Study(name="lstm-failure", config=LstmFailureConfig, run=run, description=__doc__)
