"""The registry of cell kinds: name -> cell class. It imports nothing from dynlatch, so every module can use it.

Each cell kind lives in one module (``_srnn.py``, ``_lstm.py``, ``_gru.py``) that defines its step function and its
class -- parameter layout and names, state parts, torch classes, kernel code, initialisation defaults -- and registers
the class here with :func:`register`. A new kind is one new module (plus, optionally, a fast-path kernel).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

_KINDS: dict[str, Any] = {}

CELL_CLASSES: Mapping[str, Any] = MappingProxyType(_KINDS)
"""Read-only live view of the registered cell classes by name, in registration order (srnn, lstm, gru)."""


def register(cls: Any) -> Any:
    """Register a cell class under ``cls.kind`` (usable as a class decorator).

    Raises:
        ValueError: if ``cls.kind`` is empty or already registered to another class.
    """
    name = getattr(cls, "kind", "")
    if not name:
        raise ValueError(f"{cls.__name__} needs a non-empty class attribute 'kind' to be registered")
    if name in _KINDS and _KINDS[name] is not cls:
        raise ValueError(f"cell kind {name!r} is already registered to {_KINDS[name].__name__}")
    _KINDS[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a registered kind (for tests and experiments with temporary cells)."""
    _KINDS.pop(name, None)


def cell_class(kind: str) -> Any:
    """The cell class registered as ``kind`` (``"srnn"``, ``"lstm"``, ``"gru"``, ...).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"unknown cell {kind!r}; choose one of {', '.join(_KINDS)}")
    return _KINDS[kind]


def kinds() -> tuple[str, ...]:
    """Names of the registered cell kinds."""
    return tuple(_KINDS)


def classes_with_gates(n_gates: int) -> list[Any]:
    """Registered classes with ``n_gates`` gate blocks (how weight files without a cell name are recognised)."""
    return [cls for cls in _KINDS.values() if cls.n_gates == n_gates]


def class_for_torch_module(module: Any) -> Any:
    """The registered class whose ``torch_modules`` include the type of ``module``.

    Raises:
        TypeError: if no registered cell converts from this module type.
    """
    for cls in _KINDS.values():
        if isinstance(module, tuple(cls.torch_modules)):
            return cls
    raise TypeError(f"expected one of {', '.join(t.__name__ for c in _KINDS.values() for t in c.torch_modules)}; "
                    f"got {type(module).__name__}")
