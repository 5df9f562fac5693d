"""Which compiled path runs a model, as a type numba compiles against: the one-unit kernels or the generic ones.

The training and evaluation entry points of :mod:`dynlatch._fastpath` take a path token (:data:`UNIT` or
:data:`GENERIC`, chosen by :func:`dynlatch._fastpath.path_for`) as their first argument. Its numba type,
:class:`PathType`, carries the choice, so every compiled function is specialised per path and the functions that
pick a kernel (``@overload``) return only that path's implementation while numba types them: a run on one path
compiles none of the other's kernels. A plain flag could not do this: a runtime bool compiles both branches, and a
literal one loses its value at the boundary of a ``prange`` loop, where numba types the loop body's arguments
afresh; a type keeps it.
"""

from __future__ import annotations

from numba.core import types
from numba.extending import NativeValue, models, register_model, typeof_impl, unbox

__all__ = ["GENERIC", "UNIT", "Path", "PathType"]


class PathType(types.Dummy):
    """The numba type of a :class:`Path`: ``unit`` True for the one-unit kernels."""

    def __init__(self, unit: bool) -> None:
        self.unit = bool(unit)
        super().__init__(name=f"KernelPath(unit={self.unit})")


class Path:
    """A compiled path token (no data: its type is the choice)."""

    def __init__(self, unit: bool) -> None:
        self.unit = bool(unit)

    def __repr__(self) -> str:
        return "UNIT" if self.unit else "GENERIC"


UNIT = Path(True)
"""The one-unit kernels (n = D = 1: ``unit_forward``, ``unit_backward`` of each kind)."""
GENERIC = Path(False)
"""The generic kernels (any number of units and inputs: ``forward``, ``backward`` of each kind)."""


@typeof_impl.register(Path)
def _typeof_path(value: Path, context) -> PathType:
    return PathType(value.unit)


register_model(PathType)(models.OpaqueModel)


@unbox(PathType)
def _unbox_path(typ, obj, c) -> NativeValue:
    return NativeValue(c.context.get_dummy_value())
