"""Symbolic gate nonlinearities and the code printers that turn them into stable numpy / torch code.

* ``sigmoid``: a sympy function whose derivative is written in terms of itself, sigma' = sigma (1 - sigma), so that a
  derivative evaluated at a large negative pre-activation never forms ``exp(710) / (1 + exp(710))**2`` (which
  overflows to NaN in float64). numpy evaluates it with ``scipy.special.expit``, torch with ``torch.sigmoid``; both are
  stable for any finite argument.
* the hard sigmoids of Keras 2 (``clip(0.2 z + 0.5, 0, 1)``) and Keras 3 (``clip(z / 6 + 0.5, 0, 1)``) as
  ``Piecewise`` expressions with exact rational slopes.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence


import scipy.special
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pytorch import TorchPrinter

from .._activations import GATE_ACTIVATIONS, check_gate_activation

HARD_SLOPES: dict[str, sp.Rational] = {"hard_sigmoid": sp.Rational(1, 5), "hard_sigmoid_keras3": sp.Rational(1, 6)}
"""Exact slopes of the piecewise-linear gates clip(slope * z + 1/2, 0, 1)."""


class sigmoid(sp.Function):  # noqa: N801  (sympy functions are lower-case)
    r"""The logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, with :math:`\sigma' = \sigma (1 - \sigma)`."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _latex(self, printer: Any, exp: Any = None) -> str:
        text = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return text if exp is None else r"%s^{%s}" % (text, printer._print(exp))


def hard_sigmoid_kinks(gate: str) -> tuple[sp.Rational, sp.Rational]:
    """Pre-activations where a hard sigmoid's clip switches on: ``(-1/(2 slope), +1/(2 slope))``.

    Raises:
        ValueError: for ``"sigmoid"`` (no kinks) or an unknown name.
    """
    check_gate_activation(gate)
    if gate not in HARD_SLOPES:
        raise ValueError(f"gate {gate!r} has no kinks; only {', '.join(HARD_SLOPES)} do")
    edge = 1 / (2 * HARD_SLOPES[gate])
    return -edge, edge


def gate_expr(gate: str, z: sp.Expr) -> sp.Expr:
    """The gate nonlinearity ``gate`` (one of :data:`dynlatch.GATE_ACTIVATIONS`) applied to the expression ``z``.

    Raises:
        ValueError: for an unknown gate name.
    """
    check_gate_activation(gate)
    if gate == "sigmoid":
        return sigmoid(z)
    lo, hi = hard_sigmoid_kinks(gate)
    return sp.Piecewise((0, z < lo), (1, z > hi), (HARD_SLOPES[gate] * z + sp.Rational(1, 2), True))


class _NumpyPrinter(NumPyPrinter):
    def _print_sigmoid(self, expr: sp.Expr) -> str:
        return "expit(%s)" % self._print(expr.args[0])


class _TorchPrinter(TorchPrinter):
    def _print_sigmoid(self, expr: sp.Expr) -> str:
        return "torch.sigmoid(%s)" % self._print(expr.args[0])

    def _branch(self, e: sp.Expr) -> str:
        # torch.where of two Python scalars is float32 (the default dtype): make constants float64 0-d tensors
        return "torch.tensor(%s, dtype=torch.float64)" % self._print(e) if e.is_Number else self._print(e)

    def _print_Piecewise(self, expr: sp.Expr) -> str:
        (e, cond), rest = expr.args[0].args, expr.args[1:]
        other = self._branch(sp.Piecewise(*rest) if rest else sp.Integer(0))
        if rest and len(rest) == 1 and rest[0].cond == sp.true:
            other = self._branch(rest[0].expr)
        return "torch.where(%s, %s, %s)" % (self._print(cond), self._branch(e), other)


BACKENDS: tuple[str, ...] = ("numpy", "torch")


def lambdify_entries(symbols: Sequence[sp.Symbol], entries: Sequence[sp.Expr], backend: str) -> Callable[..., list]:
    """``sympy.lambdify`` of a list of scalar expressions, common subexpressions eliminated, stable sigmoid.

    Raises:
        ValueError: for an unknown backend.
    """
    if backend == "numpy":
        return sp.lambdify(list(symbols), list(entries), modules=[{"expit": scipy.special.expit}, "numpy"],
                           printer=_NumpyPrinter, cse=True)
    if backend == "torch":
        return sp.lambdify(list(symbols), list(entries), modules=["torch"], printer=_TorchPrinter, cse=True)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "GATE_ACTIVATIONS", "HARD_SLOPES", "gate_expr", "hard_sigmoid_kinks", "lambdify_entries",
           "sigmoid"]
