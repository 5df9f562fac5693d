"""Bengio, Simard & Frasconi 1994, Fig. 2: latching success vs T and over (w0, s), with the theory overlaid.

Bengio's neuron ``a_t = w tanh(a_{t-1}) + h_t`` (:mod:`dynlatch.bengio`) trained by plain full-batch gradient descent,
many independent trials in one batched program: panel (b) is success frequency vs T (with Wilson 95% intervals and
the fraction of successes that ended in Bengio's robust-latching regime), panel (a) success over the (w0, s) plane at
one T, panel (c) the theory (the noise threshold ``h*(w)`` and the gradient factor ``w (1 - xbar^2)``). The paper does
not state L, the learning rate, the epochs, the number of trials or the success criterion; the ``sensitivity_*``
variants rerun panel (b) with each of our choices changed.

Writes ``runs.csv`` (one row per trial), ``success_vs_T.csv``, ``success_vs_w0_s.csv``, ``sensitivity.csv``,
``bengio94.pdf/.png`` and ``summary.json`` (the choices, success per T, the mechanism among successes, whether success
falls with T in every variant).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from .._checks import CheckError
from .._config import Config, option
from ..bengio import LatchResult, mechanism, multiplier, noise_threshold, train_latch, wilson_interval
from ._study import Result, RunContext, Study


def as_check_error(validate: Callable[[], None]) -> None:
    """Run a config's checks, reporting a failure (a ``ValueError`` or ``TypeError`` whose message starts with the
    setting's name) as a :class:`~dynlatch._checks.CheckError` under that setting."""
    try:
        validate()
    except CheckError:
        raise
    except (ValueError, TypeError) as e:
        name, _, problem = str(e).partition(" ")
        raise CheckError(name.rstrip(":"), problem) from None


MECHANISM_COVERAGES: tuple[float, ...] = (0.6827, 0.99)
"""``coverage`` values of :func:`dynlatch.bengio.mechanism` reported: the noise's sigma below ``h*``, and 99% of its
inputs."""


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
    seed: int = option(0, help="base seed; results are deterministic given it", check=_checks.seed)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)

    def check_together(self) -> None:
        as_check_error(self._validate)
        trials = max(self.trials, self.plane_trials, self.sensitivity_trials)
        _checks.fits_in_memory("lengths", 2 * trials * max(self.train_sequences, self.test_sequences)
                               * max(max(self.lengths), self.plane_length),
                               what=f"T = {max(self.lengths)} (trials x sequences x T values)")

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


def train_trials(config: Bengio94Config, *, lengths: Sequence[int], trials: int, w0: Any = None,
                 noise_variance: Any = None, inputs: int | None = None, lr: float | None = None) -> LatchResult:
    """``trials`` trials per length of ``lengths`` in one program, with the config's settings unless overridden."""
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


def train_panels(config: Bengio94Config) -> Bengio94Results:
    """Panel (b) (success vs T), panel (a) (the (w0, s) plane at ``plane_length``) and the sensitivity variants.
    Each panel is one batched program (trials of all T at once)."""
    t0 = time.perf_counter()
    lengths = [int(T) for T in config.lengths]
    main = train_trials(config, lengths=lengths, trials=config.trials)
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
    base = train_trials(config, **sub) if config.sensitivity_trials != config.trials else main
    for acc in config.sensitivity_accuracy:
        sens += [dict(variant=f"success_accuracy={acc:g}", **r) for r in success_by_length(base, threshold=acc)]
    for L in config.sensitivity_inputs:
        r = train_trials(config, **{**sub, "lengths": [T for T in lengths if T >= L]}, inputs=L)
        sens += [dict(variant=f"inputs={L}", **x) for x in success_by_length(r, threshold=config.success_accuracy)]
    for lr in config.sensitivity_lr:
        r = train_trials(config, **sub, lr=lr)
        sens += [dict(variant=f"lr={lr:g}", **x) for x in success_by_length(r, threshold=config.success_accuracy)]
    return Bengio94Results(runs, by_T, plane_rows, sens, time.perf_counter() - t0)


def falls_with_length(rows: Sequence[dict[str, Any]]) -> bool:
    """The qualitative claim: success at the longest T is below success at the shortest T, with the Wilson
    intervals apart (upper bound at the longest below the lower bound at the shortest)."""
    rows = sorted(rows, key=lambda r: r["T"])
    return rows[-1]["ci_high"] < rows[0]["ci_low"]


def bengio94_caption(config: Bengio94Config) -> str:
    """The choices the figure's caption states (the paper's settings are not recovered)."""
    return (f"Bengio et al. 1994 latch, our settings: L={config.inputs} trained inputs per class (init 0), "
            f"w0={config.w0:g}, plain full-batch GD lr={config.lr:g} on C = 1/2 sum_p (x_T - d)^2, "
            f"{config.epochs} epochs, {config.train_sequences} fixed training sequences; success = sign(x_T) right on "
            f">= {config.success_accuracy:.0%} of {config.test_sequences} fresh test sequences. "
            f"Bars: Wilson 95%. Sensitivity: L in {list(config.sensitivity_inputs)}, "
            f"lr in {list(config.sensitivity_lr)}, success >= {list(config.sensitivity_accuracy)}.")


def bengio94_figure(results: Bengio94Results, config: Bengio94Config) -> Figure:
    """Three panels: (a) success over (w0, s) at one T with the threshold curve s = h*(w0)^2; (b) success vs T with
    intervals, the sensitivity variants and the measured mechanism fraction; (c) the theory, h*(w) and the gradient
    factor w (1 - xbar^2), against the noise's sigma."""
    fig = Figure(figsize=(16, 4.8))
    axes = fig.subplots(1, 3)
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


def summarise(results: Bengio94Results, config: Bengio94Config) -> dict[str, Any]:
    """The summary: the choices the paper leaves open, success per T, the mechanism among successes, the (w0, s)
    plane, and whether success falls with T in every sensitivity variant."""
    variants = sorted({r["variant"] for r in results.sensitivity})
    falls = {v: falls_with_length([r for r in results.sensitivity if r["variant"] == v]) for v in variants}
    return {
        "caption": bengio94_caption(config),
        "choices": {"L": config.inputs, "h_init": 0.0, "optimiser": "plain full-batch gradient descent",
                    "lr": config.lr, "epochs": config.epochs, "training_set": f"{config.train_sequences} fixed "
                    "noisy sequences per trial", "success": f"sign(x_T) = sign(d) on >= {config.success_accuracy} "
                    f"of {config.test_sequences} fresh test sequences", "trials_per_T": config.trials,
                    "mechanism": "w_final > 1 and P(|noise| < h*(w_final)) >= coverage, coverages "
                    f"{list(MECHANISM_COVERAGES)} (0.6827: sigma < h*)"},
        "success_vs_T": {str(r["T"]): r["success_frequency"] for r in results.success_vs_T},
        "success_vs_T_rows": results.success_vs_T,
        "mechanism_among_successes": {str(r["T"]): {f"coverage_{c:g}": r[f"success_mechanism_{c:g}"]
                                                    for c in MECHANISM_COVERAGES} for r in results.success_vs_T},
        "success_vs_w0_s": results.success_vs_w0_s,
        "sensitivity": {"success_falls_with_T": falls, "rows": results.sensitivity},
        "seconds": results.seconds,
    }


def run(config: Bengio94Config, context: RunContext) -> Result:
    """Train the three panels' trials; the result carries their tables, the summary and the figure."""
    results = train_panels(config)
    summary = summarise(results, config)
    falls = summary["sensitivity"]["success_falls_with_T"]
    report = ["  ".join(f"T={r['T']}: {r['success_frequency']:.2f}" for r in results.success_vs_T),
              f"success falls with T in every variant: {all(falls.values())} ({falls})",
              f"{results.seconds:.0f} s"]
    return Result(summary=summary,
                  tables={"runs": results.runs, "success_vs_T": results.success_vs_T,
                          "success_vs_w0_s": results.success_vs_w0_s, "sensitivity": results.sensitivity},
                  figures={"bengio94": bengio94_figure(results, config)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "caption": "one sentence stating the settings the figure was made with",
    "choices": ("our choices for the settings Bengio et al. 1994 leave unstated (trained inputs L, initial state, "
                "optimiser, learning rate, epochs, training set, success criterion, trials)"),
    "success_vs_T": "success frequency of the latching neuron at each sequence length T",
    "success_vs_T_rows": ("the same per T with its Wilson 95% interval, trials, successes, the median final w and the "
                          "fraction of successes that latch by the attractor mechanism"),
    "mechanism_among_successes": ("per T, the fraction of successful trials whose final state lies beyond the theory's"
                                  " h*(w) at two coverage levels (the latch works by the attractor, not by chance)"),
    "success_vs_w0_s": ("success frequency with its interval over the grid of initial weight w0 and noise variance s "
                        "(Fig. 2's second panel)"),
    "sensitivity": ("whether success still falls with T when each unstated choice changes (more trained inputs, a "
                    "larger learning rate, a 99% criterion), with the rows behind it"),
    "seconds": "wall time of the computation",
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="bengio94", config=Bengio94Config, run=run, description=__doc__, summary_keys=SUMMARY_KEYS)
