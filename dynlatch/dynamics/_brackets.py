"""Bracketing root finders: a bracket [a, b] around a sign change (or any change of a discrete label) shrunk by
moving the end that lies on the same side as the midpoint.

One rule, three drivers:

* :func:`bisect`, vectorised over many brackets (numpy arrays), for Python callables: the sampling root finder's
  torch functions (:mod:`dynlatch.dynamics._roots`) and the continuation's search for the parameter where a
  signature changes (:mod:`dynlatch.dynamics._continuation`). It stops after ``iterations`` halvings or once every
  bracket is at most ``tol`` wide;
* :func:`bisect_sign_change` and :func:`illinois`, compiled (numba), for compiled scalar functions ``f(x, *args)``
  inside the certified one-unit finder's kernel (:mod:`dynlatch.dynamics._one_unit`); inlined where they are
  called, so that ``f`` is a static call there (a function passed as a value would tie the compiled code to its
  address, which numba's on-disk cache refuses). Both stop at adjacent floats:
  no float lies strictly between a and b. Illinois (Dowell & Jarratt 1971) takes the regula falsi point with the
  retained end's value halved when the same end is kept twice, and a bisection every third step, so the bracket
  shrinks at least geometrically.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numba import njit

MAX_HALVINGS = 200  # caps of the compiled drivers (a bracket of width 2 is 1e-60 wide after 200 halvings)
MAX_ILLINOIS = 160


def bisect(side: Callable[[np.ndarray], np.ndarray], a: Any, b: Any, *, iterations: int | None = None,
           tol: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Shrink brackets [a, b] by bisection.

    Args:
        side: ``side(mid)``, elementwise: -1 where the midpoint is on a's side (a moves to it), +1 where it is on b's
            side (b moves), 0 where it is itself the root (the bracket collapses to it).
        a, b: the brackets' ends (arrays of one shape, or scalars), a <= b.
        iterations: at most this many halvings (default: until ``tol``).
        tol: brackets at most this wide stop moving; the loop ends when all have.

    Returns:
        The final ends (a, b), float64 arrays of the brackets' shape.

    Raises:
        ValueError: if neither ``iterations`` nor a positive ``tol`` bounds the loop.
    """
    if iterations is None and not tol > 0:
        raise ValueError("bisect needs iterations or a positive tol")
    a = np.array(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    done = 0
    while iterations is None or done < iterations:
        active = b - a > tol
        if not active.any():
            break
        mid = 0.5 * (a + b)
        s = np.asarray(side(mid))
        a = np.where(active & (s <= 0), mid, a)
        b = np.where(active & (s >= 0), mid, b)
        done += 1
    return a, b


@njit(cache=True, error_model="numpy", inline="always")
def bisect_sign_change(f, args, a: float, b: float, sign_a: int) -> float:
    """A sign change of ``f(x, *args)`` on [a, b], given the sign of f at a (b's is the other), by bisection to
    adjacent floats; a midpoint where f is exactly 0 is returned at once."""
    for _ in range(MAX_HALVINGS):
        mid = 0.5 * (a + b)
        if not (a < mid < b):
            break
        fm = f(mid, *args)
        if fm == 0.0:
            return mid
        if (fm > 0.0) == (sign_a > 0):
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


@njit(cache=True, error_model="numpy", inline="always")
def illinois(f, args, a: float, b: float, fa: float, fb: float) -> float:
    """The root of ``f(x, *args)`` on [a, b] (f(a), f(b) of opposite signs; f monotone there): Illinois steps with a
    bisection every third step, to adjacent floats; of the final two ends the one with the smaller |f|."""
    kept = 0
    for it in range(MAX_ILLINOIS):
        mid = 0.5 * (a + b)
        if not (a < mid < b):
            break
        x = mid
        if it % 3 != 2:
            den = fb - fa
            if den != 0.0:
                x = (a * fb - b * fa) / den
            if not (a < x < b):
                x = mid
        fx = f(x, *args)
        if fx == 0.0:
            return x
        if (fx > 0.0) == (fa > 0.0):
            a, fa = x, fx
            if kept == -1:
                fb *= 0.5
            kept = -1
        else:
            b, fb = x, fx
            if kept == 1:
                fa *= 0.5
            kept = 1
    return a if abs(fa) <= abs(fb) else b
