r"""Derivations of a system s_t = F(s_{t-1}; \theta, x_t): map, Jacobians, BPTT adjoint, fixed points, bifurcations.

* state Jacobian :math:`J_t = \partial s_t / \partial s_{t-1}` (LSTM: the full 2n x 2n matrix in (h, c));
* parameter Jacobian :math:`\partial s_t / \partial \theta` (the one-step, explicit dependence);
* BPTT as a one-step adjoint (Werbos 1990): :math:`\lambda_{t-1} = J_t^\top \lambda_t`,
  :math:`\partial L / \partial \theta \mathrel{+}= (\partial s_t / \partial \theta)^\top \lambda_t`, started from
  :math:`\lambda_T = \partial L / \partial s_T`;
* product of Jacobians :math:`\partial s_T / \partial s_0 = J_T J_{T-1} \cdots J_1` (Bengio et al. 1994; Pascanu et
  al. 2013): its norm sets the gradient decay;
* fixed points :math:`F(s^*) - s^* = 0`; fold :math:`\det(J - I) = 0` and flip :math:`\det(J + I) = 0` together with
  the fixed-point equations (codimension one);
* border collisions for piecewise-linear gates: a gate pre-activation at the fixed point equals a kink value
  (:math:`\pm 1/(2\,\text{slope})`, i.e. 0.2 z + 0.5 in {0, 1} for Keras 2), together with the fixed-point equations.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .._checks import choice
from ._derivation import Derivation
from ._functions import gate_expr, hard_sigmoid_kinks
from ._systems import System

DERIVATIONS: tuple[str, ...] = ("map", "jacobian", "param-jacobian", "adjoint", "fixed-point", "fold", "flip",
                                "border-collision")
"""What :func:`derive` knows (``border-collision`` only for hard-sigmoid gates)."""


def _tex_next(system: System, s: sp.Symbol) -> str:
    return system.display[s].replace("t-1", "t")


def _args(system: System, *extra: tuple[str, tuple[sp.Symbol, ...]]) -> tuple[tuple[str, tuple[sp.Symbol, ...]], ...]:
    return (("theta", system.param_symbols), ("state", system.state), ("x", system.inputs), *extra)


def abbreviations(system: System) -> tuple[tuple[sp.Symbol, sp.Expr], ...]:
    """Display names for pre-activations (``z_f``) and gate values (``f_t``); the expressions are never changed."""
    out = [(sp.Symbol(f"zeta_{label}", real=True), e) for label, e in system.preactivations.items()]
    for label in system.gate_labels:
        out.append((sp.Symbol(f"gate_{label}", real=True), gate_expr(system.gate, system.preactivations[label])))
    return tuple(out)


def display_names(system: System) -> dict[sp.Symbol, str]:
    d = dict(system.display)
    for label in system.preactivations:
        g, _, j = label.partition("_")
        d[sp.Symbol(f"zeta_{label}", real=True)] = f"z_{{{g}{',' + j if j else ''}}}"
        d[sp.Symbol(f"gate_{label}", real=True)] = f"{g}_{{{j + ',' if j else ''}t}}"
    return d


def _make(system: System, name: str, title: str, expr: sp.Matrix, labels: list[str | None],
          arguments=None, notes: str = "", matrix: bool = False) -> Derivation:
    arguments = _args(system) if arguments is None else arguments
    shape = tuple(expr.shape) if matrix else (expr.shape[0],)
    return Derivation(name, system.label, title, expr, shape, arguments, tuple(labels), display_names(system),
                      abbreviations(system), notes)


def state_jacobian_matrix(system: System) -> sp.Matrix:
    """:math:`\\partial F / \\partial s` as a sympy Matrix (S x S)."""
    return system.update.jacobian(sp.Matrix(system.state))


@lru_cache(maxsize=None)
def derive(system: System, what: str) -> Derivation:
    """The derivation ``what`` (one of :data:`DERIVATIONS`) of ``system``.

    Raises:
        ValueError: unknown ``what``, or ``border-collision`` for a system without piecewise-linear gates.
        TypeError: ``system`` is not a :class:`System`.
    """
    if not isinstance(system, System):
        raise TypeError(f"system must be a dynlatch.symbolic.System (see build_system); got {type(system).__name__}")
    choice("what", what, DERIVATIONS)
    S = len(system.state)
    nxt = [_tex_next(system, s) for s in system.state]
    prev = [system.display[s] for s in system.state]
    pnames = [system.display[p] for p in system.param_symbols]
    residual = system.update - sp.Matrix(system.state)
    if what == "map":
        return _make(system, what, "One step of the map.", system.update, nxt)
    if what == "jacobian":
        J = state_jacobian_matrix(system)
        labels = [rf"\frac{{\partial {a}}}{{\partial {b}}}" for a in nxt for b in prev]
        return _make(system, what, "Jacobian of the step with respect to the state (state order h then c).", J, labels,
                     matrix=True)
    if what == "param-jacobian":
        Jp = system.update.jacobian(sp.Matrix(system.param_symbols))
        labels = [rf"\frac{{\partial {a}}}{{\partial {b}}}" for a in nxt for b in pnames]
        return _make(system, what, "Jacobian of the step with respect to the parameters (explicit dependence).", Jp,
                     labels, matrix=True)
    if what == "adjoint":
        lam = tuple(sp.Symbol(f"lambda_{s.name}", real=True) for s in system.state)
        J = state_jacobian_matrix(system)
        Jp = system.update.jacobian(sp.Matrix(system.param_symbols))
        lam_v = sp.Matrix(lam)
        expr = (J.T * lam_v).col_join(Jp.T * lam_v)
        lam_tex = {sym: rf"\lambda_{{{nm.split('_')[0]}{',' + nm.split('_')[1] if '_' in nm else ''},t}}"
                   for sym, nm in zip(lam, system.state_names)}
        labels = [t.replace(",t}", ",t-1}") for t in lam_tex.values()]
        labels += [rf"\Delta \frac{{\partial L}}{{\partial {p}}}" for p in pnames]
        d = _make(system, what, "One BPTT step: lambda_{t-1} = J_t^T lambda_t, dL/dtheta += (ds_t/dtheta)^T lambda_t.",
                  expr, labels, _args(system, ("lam", lam)),
                  notes=r"Started from $\lambda_T = \partial L/\partial s_T$ and run for $t = T, \dots, 1$; "
                        r"$\partial L/\partial s_0 = \lambda_0$.")
        d.display.update(lam_tex)
        return d
    if what == "fixed-point":
        notes = ""
        if system.kind == "lstm":
            notes = (r"The $c$ equations give $c^* = i\,g/(1 - f)$ with the gates evaluated at $(h^*, x)$ "
                     r"(see \texttt{lstm\_cell\_fixed\_point}).")
        return _make(system, what, "Fixed-point condition F(s*) - s* = 0.", residual, [None] * S, notes=notes)
    if what in ("fold", "flip"):
        J = state_jacobian_matrix(system)
        sign = -1 if what == "fold" else 1
        det = (J + sign * sp.eye(S)).det(method="berkowitz")
        expr = residual.col_join(sp.Matrix([det]))
        kind = "fold (saddle-node): det(J - I) = 0" if what == "fold" else "flip (period doubling): det(J + I) = 0"
        return _make(system, what, f"Codimension-one {kind}, with the fixed-point equations.", expr, [None] * (S + 1))
    if what == "border-collision":
        if system.gate not in ("hard_sigmoid", "hard_sigmoid_keras3") or not system.gate_labels:
            raise ValueError(f"border-collision needs hard-sigmoid gates; {system.label} has none")
        lo, hi = hard_sigmoid_kinks(system.gate)
        rows, labels = [], []
        for g in system.gate_labels:
            z = system.preactivations[g]
            for kink in (lo, hi):
                rows.append(z - kink)
                labels.append(None)
        notes = (rf"Each line, together with the fixed-point equations $F(s^*) = s^*$, is one border-collision "
                 rf"condition: a gate's pre-activation at the fixed point sits on a kink ($z = {sp.latex(lo)}$ or "
                 rf"${sp.latex(hi)}$, where the clip switches on). There $\det(J \mp I)$ jumps, so these bifurcations "
                 r"are not roots of the smooth fold/flip conditions.")
        d = _make(system, what, "Border collisions: a gate pre-activation at a fixed point equals a kink value.",
                  sp.Matrix(rows), labels, notes=notes)
        return Derivation(d.name, d.system, d.title, d.expr, d.shape, d.arguments, d.labels, d.display, (), d.notes)
    raise ValueError(f"unknown derivation {what!r}; choose one of {', '.join(DERIVATIONS)}")


def jacobian_product_latex(system: System) -> str:
    """LaTeX of the T-step Jacobian product and its recursion (the gradient-norm decay of Bengio et al. 1994)."""
    return (f"% {system.label}: jacobian-product\n"
            r"\begin{align*}" "\n"
            r"\frac{\partial s_T}{\partial s_0} &= \prod_{t=T}^{1} J_t = J_T J_{T-1} \cdots J_1, \qquad "
            r"J_t = \frac{\partial F}{\partial s}\Big|_{(s_{t-1}, x_t)} \\" "\n"
            r"P_0 &= I, \qquad P_t = J_t P_{t-1}, \qquad \Big\|\frac{\partial L}{\partial s_0}\Big\| \le "
            r"\Big\|\frac{\partial L}{\partial s_T}\Big\| \prod_{t=1}^{T} \|J_t\|" "\n"
            r"\end{align*}" "\n"
            rf"Evaluated along a trajectory by \texttt{{jacobian\_product\_along}}; $J_t$ is the "
            rf"{len(system.state)}\,$\times$\,{len(system.state)} Jacobian of the \texttt{{jacobian}} derivation.\n")
