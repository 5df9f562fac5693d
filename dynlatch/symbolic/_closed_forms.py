r"""Closed forms derived by sympy from the fold conditions, and the LSTM's fixed cell state and origin eigenvalues.

* Bengio, Simard & Frasconi (1994): a' = w tanh(a) + h folds where w tanh'(a) = 1; eliminating a gives the latching
  threshold :math:`h^*(w) = \sqrt{w(w-1)} - \operatorname{arccosh}\sqrt{w}` (w > 1), the largest constant input the
  latch survives.
* Pascanu, Mikolov & Bengio (2013): x' = w sigma(x) + b folds where w sigma'(x) = 1; solving the two (linear) equations
  for (w, b) parametrises the fold curve by the fixed point x*: :math:`w = 4\cosh^2(x^*/2)`,
  :math:`b = x^* - 1 - e^{x^*}` (cusp at x* = 0: w = 4, b = -2).
* LSTM: the c equation of a fixed point, c = f c + i g, gives :math:`c^* = i g/(1 - f)`.
* One-unit LSTM at the origin (h = c = 0, x = 0): the 2 x 2 Jacobian and its eigenvalues
  :math:`\mu_\pm = (\operatorname{tr} \pm \sqrt{\operatorname{tr}^2 - 4\det})/2` as functions of the weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.optimize
import sympy as sp

from ._derivation import Derivation
from ._derive import abbreviations, display_names, state_jacobian_matrix
from ._functions import gate_expr, sigmoid
from ._systems import System, lstm_system

BENGIO_REFERENCE: dict[float, tuple[float, float, float]] = {
    1.25: (0.710, 0.619, 0.078), 1.5: (0.859, 0.394, 0.208), 2.0: (0.958, 0.166, 0.533), 3.0: (0.995, 0.031, 1.303)}
"""REFERENCES' table (Bengio et al. 1994): w -> (xbar, multiplier w(1 - xbar^2), h*), three printed decimals."""


@lru_cache(maxsize=None)
def bengio_fold_derivation() -> tuple[sp.Expr, sp.Expr, bool]:
    """Derive the fold of a = w tanh(a) + h by elimination.

    Returns:
        (h*(w) as derived, a*(w) the fold point's state, whether sympy proved it equal to REFERENCES' form
        sqrt(w(w-1)) - arccosh(sqrt(w)) for all w > 1).
    """
    w, t = sp.symbols("w t", real=True)
    roots = sp.solve(sp.Eq(w * (1 - t**2), 1), t)  # tanh'(a) w = 1 with t = tanh(a)
    t_neg = next(r for r in roots if r.could_extract_minus_sign())  # the fold that ends the positive latch
    a_star = sp.atanh(t_neg)
    h_star = a_star - w * t_neg
    u = sp.Symbol("u", positive=True)  # w = 1 + u^2 covers w > 1
    reference = sp.sqrt(w * (w - 1)) - sp.acosh(sp.sqrt(w))
    proved = sp.simplify(((h_star - reference).subs(w, 1 + u**2)).rewrite(sp.log)) == 0
    return h_star, a_star, bool(proved)


def bengio_fold_curve() -> Derivation:
    """h*(w) and the fold state a*(w) of Bengio's neuron, as a derivation of ``w``."""
    h_star, a_star, proved = bengio_fold_derivation()
    w = sp.Symbol("w", real=True)
    notes = ("Derived from $a = w\\tanh a + h$ and $w\\tanh'(a) = 1$: $\\tanh a = -\\sqrt{(w-1)/w}$. "
             + ("sympy proves this equals $\\sqrt{w(w-1)} - \\operatorname{arccosh}\\sqrt{w}$ for $w > 1$ "
                "(Bengio et al. 1994)." if proved else ""))
    return Derivation("bengio-fold-curve", "bengio", "Latching threshold h*(w): the fold of a = w tanh(a) + h.",
                      sp.Matrix([h_star, a_star]), (2,), (("w", (w,)),), ("h^*(w)", "a^*(w)"), {w: "w"}, (), notes)


def bengio_attractor(w: float) -> float:
    """The positive attractor xbar of x = tanh(w x) (w > 1), by bracketing.

    Raises:
        ValueError: for w <= 1 (no non-zero attractor).
    """
    if not w > 1:
        raise ValueError(f"w must be > 1 for a non-zero attractor; got {w}")
    return float(scipy.optimize.brentq(lambda x: np.tanh(w * x) - x, 1e-12 + np.sqrt(max(0.0, 1 - 1 / w)) / 2, 1.0,
                                       xtol=1e-15))


def bengio_table(ws=tuple(BENGIO_REFERENCE)) -> list[dict[str, float]]:
    """Rows (w, xbar, multiplier w (1 - xbar^2), h*(w) from the derived closed form)."""
    h_fn = bengio_fold_curve().lambdify("numpy")
    rows = []
    for w in ws:
        xbar = bengio_attractor(float(w))
        rows.append({"w": float(w), "xbar": xbar, "multiplier": float(w) * (1 - xbar**2),
                     "h_star": float(h_fn([float(w)])[0])})
    return rows


@lru_cache(maxsize=None)
def pascanu_fold_derivation() -> tuple[sp.Expr, sp.Expr]:
    """Solve x = w sigma(x) + b and w sigma'(x) = 1 for (w, b): the fold curve parametrised by the fixed point x."""
    x, w, b = sp.symbols("x w b", real=True)
    sol = sp.solve([w * sigmoid(x) + b - x, w * sp.diff(sigmoid(x), x) - 1], [w, b], dict=True)[0]
    return tuple(sp.simplify(sp.sympify(sol[v]).rewrite(sp.exp)) for v in (w, b))  # type: ignore[return-value]


def pascanu_fold_curve() -> Derivation:
    """(w(x*), b(x*)) of the fold of Pascanu et al.'s map, as a derivation of the fixed point ``x*``."""
    w_of_x, b_of_x = pascanu_fold_derivation()
    x = sp.Symbol("x", real=True)
    notes = ("Solved from $x = w\\sigma(x) + b$ and $w\\sigma'(x) = 1$ with $\\sigma' = \\sigma(1-\\sigma)$. The two "
             "branches ($x^* < 0$, $x^* > 0$) meet in a cusp at $x^* = 0$, $(w, b) = (4, -2)$; between them the map "
             "has two attractors (Pascanu et al. 2013, Fig. 6; Doya 1993).")
    return Derivation("pascanu-fold-curve", "pascanu", "Fold curve of x = w sigmoid(x) + b in the (w, b) plane.",
                      sp.Matrix([w_of_x, b_of_x]), (2,), (("x*", (x,)),), ("w(x^*)", "b(x^*)"), {x: "x^*"}, (), notes)


def _lstm_gates(system: System) -> dict[str, sp.Expr]:
    return {k: (sp.tanh(v) if k[0] == "c" else gate_expr(system.gate, v)) for k, v in system.preactivations.items()}


def lstm_cell_fixed_point(*, gate: str = "sigmoid") -> Derivation:
    """c* = i g / (1 - f) for a one-unit LSTM, derived from c = f c + i g, as a function of (theta, h*, x)."""
    system = lstm_system(gate=gate)
    i, f, g, c = sp.symbols("i f g c", real=True)
    c_star = sp.solve(sp.Eq(c, f * c + i * g), c)[0]
    acts = _lstm_gates(system)
    expr = c_star.subs({i: acts["i"], f: acts["f"], g: acts["c"]})
    h = system.state[0]
    notes = f"Solved from $c = f c + i g$: $c^* = {sp.latex(c_star)}$, gates evaluated at $(h^*, x)$."
    return Derivation("lstm-cell-fixed-point", system.label, "Fixed cell state c* = i g / (1 - f).", sp.Matrix([expr]),
                      (1,), (("theta", system.param_symbols), ("h", (h,)), ("x", system.inputs)), ("c^*",),
                      display_names(system), abbreviations(system), notes)


def lstm_origin_eigenvalues(*, gate: str = "sigmoid") -> Derivation:
    """Eigenvalues of a one-unit LSTM's (h, c) Jacobian at h = c = 0, x = 0 as functions of its weights.

    Returns a derivation of ``theta`` with entries (mu_+, mu_-, trace, determinant). mu_pm = (tr +- sqrt(tr^2 - 4
    det)) / 2; a complex pair (tr^2 < 4 det) evaluates to NaN unless called with complex inputs (numpy).
    """
    system = lstm_system(gate=gate)
    zero = {s: 0 for s in (*system.state, *system.inputs)}
    J0 = state_jacobian_matrix(system).subs(zero)
    tr, det = J0.trace(), sp.expand(J0.det(method="berkowitz"))  # no simplify: it stalls on Piecewise gates
    disc = sp.sqrt(tr**2 - 4 * det)
    expr = sp.Matrix([(tr + disc) / 2, (tr - disc) / 2, tr, det])
    b_c = next(p for p in system.param_symbols if p.name == "b_c")
    det0, tr0 = sp.expand(det.subs(b_c, 0)), tr.subs(b_c, 0)
    short = {gate_expr(system.gate, b): sp.Symbol(rf"{g}_0") for g, b in
             ((p.name[-1], p) for p in system.param_symbols if p.name in ("b_i", "b_f", "b_o"))}
    notes = (rf"With $b_c = 0$ the candidate vanishes at the origin, $\det J = {sp.latex(det0)}$, and the eigenvalues "
             rf"are $0$ and $\operatorname{{tr}} J = {sp.latex(tr0.xreplace(short), symbol_names=system.display)}$, "
             r"where $g_0$ is the gate $g$ at pre-activation $b_g$.")
    return Derivation("lstm-origin-eigenvalues", system.label, "Eigenvalues of the (h, c) Jacobian at the origin.",
                      expr, (4,), (("theta", system.param_symbols),), (r"\mu_+", r"\mu_-", r"\operatorname{tr} J",
                                                                        r"\det J"), system.display, (), notes)
