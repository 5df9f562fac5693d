"""The derivation object: a sympy matrix with its arguments, printable as LaTeX/text and compilable to numpy/torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
import torch

from ._functions import BACKENDS, lambdify_entries


@dataclass(frozen=True, eq=False)
class Derivation:
    r"""One derived expression (a map, a Jacobian, a condition, a closed form).

    Attributes:
        name: what it is (``"jacobian"``, ``"fold"``, ``"bengio-fold-curve"``, ...).
        system: label of the system it belongs to (``"lstm-sigmoid-n1"``).
        title: one line of prose.
        expr: the entries, a sympy Matrix; the numeric value has shape ``shape`` (a vector when ``shape`` has one axis).
        shape: numeric output shape.
        arguments: argument groups ``(name, symbols)`` in call order, e.g. ``("theta", (W_i, ...))``, ``("state",
            (h, c))``, ``("x", (x,))``.
        labels: a LaTeX left-hand side for every entry (row-major); ``None`` entries are conditions ``expr = 0``.
        display: LaTeX names of symbols.
        abbreviations: ``(symbol, expression)`` pairs shown as "where" lines and substituted back before compiling.
        notes: LaTeX prose appended after the equations.
    """

    name: str
    system: str
    title: str
    expr: sp.Matrix
    shape: tuple[int, ...]
    arguments: tuple[tuple[str, tuple[sp.Symbol, ...]], ...]
    labels: tuple[str | None, ...]
    display: dict[sp.Symbol, str] = field(default_factory=dict)
    abbreviations: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    notes: str = ""
    _compiled: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    # -- printing -----------------------------------------------------------------------------------------------
    def _tex(self, e: sp.Expr) -> str:
        return sp.latex(e, symbol_names=self.display)

    def _short(self, e: sp.Expr, skip: sp.Symbol | None = None) -> sp.Expr:
        """``e`` with pre-activations and gates written as their abbreviation symbols (display only)."""
        return e.xreplace({v: k for k, v in self.abbreviations if k != skip})

    def to_latex(self) -> str:
        """A LaTeX fragment (``align*`` of amsmath), one line per non-trivial entry, then the abbreviations."""
        lines = [f"% {self.system}: {self.name}. {self.title}", r"\begin{align*}"]
        body = []
        for label, e in zip(self.labels, self.expr):
            if label is not None and e == 0 and len(self.labels) > 4:
                continue
            rhs = self._tex(self._short(e))
            body.append(f"{label} &= {rhs}" if label is not None else f"{rhs} &= 0")
        if self.abbreviations:
            where = [f"{self._tex(k)} &= {self._tex(self._short(v, skip=k))}" for k, v in self.abbreviations]
            body += [r"\text{where}\quad " + where[0], *where[1:]]
        lines.append(" \\\\\n".join(body))
        lines.append(r"\end{align*}")
        if self.notes:
            lines.append(self.notes)
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """Plain text: one ``label = expression`` line per entry (sympy's ``str`` syntax)."""
        out = [f"{self.system}: {self.name}. {self.title}"]
        for i, e in enumerate(self.expr):
            label = self.entry_names[i]
            out.append(f"{label} = {sp.sstr(e)}" if not label.startswith("0") else f"0 = {sp.sstr(e)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    @property
    def entry_names(self) -> list[str]:
        """Plain-text names of the entries (LaTeX labels with markup removed; ``0[k]`` for conditions)."""
        names = []
        for k, label in enumerate(self.labels):
            if label is None:
                names.append(f"0[{k}]")
            else:
                t = label
                for a, b in ((r"\frac{\partial ", "d"), ("}{\\partial ", "/d"), (r"\lambda", "lambda"),
                             (r"\Delta", "+="), ("{", ""), ("}", ""), ("\\", ""), (" ", "")):
                    t = t.replace(a, b)
                names.append(t)
        return names

    def to_json(self) -> dict[str, Any]:
        """A JSON-able record: name, system, title, shape, arguments (symbol names), entries (text), LaTeX."""
        return {"name": self.name, "system": self.system, "title": self.title, "shape": list(self.shape),
                "arguments": {g: [s.name for s in syms] for g, syms in self.arguments},
                "entries": [sp.sstr(e) for e in self.expr], "entry_names": self.entry_names,
                "latex": self.to_latex()}

    # -- compiling ----------------------------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for _, syms in self.arguments for s in syms)

    def lambdify(self, backend: str = "numpy") -> Callable[..., Any]:
        """A numerical function of the argument groups, vectorised over leading axes.

        The returned ``f(*groups)`` takes one array per argument group (in :attr:`arguments` order), group ``g`` of
        shape ``(..., len(symbols of g))``; leading axes broadcast against each other (e.g. a batch of parameter sets
        against one state). It returns an array (numpy) or tensor (torch, float64 unless the inputs say otherwise) of
        shape ``(..., *shape)``. Common subexpressions are eliminated (``sympy.lambdify(cse=True)``) and the sigmoid
        is evaluated stably.

        Raises:
            ValueError: unknown backend; on call, groups of the wrong length.
        """
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if backend not in self._compiled:
            fn = lambdify_entries(self.symbols, list(self.expr), backend)
            self._compiled[backend] = _vectorise(fn, self.arguments, self.shape, backend, self.name)
        return self._compiled[backend]


def _vectorise(fn: Callable[..., list], arguments: Sequence[tuple[str, Sequence[sp.Symbol]]], shape: tuple[int, ...],
               backend: str, name: str) -> Callable[..., Any]:
    sizes = [len(s) for _, s in arguments]

    if backend == "numpy":
        def call(*groups: Any) -> np.ndarray:
            arrays = _check_groups(groups, arguments, sizes, name, lambda g: np.asarray(g, dtype=np.float64))
            lead = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
            flat = [a[..., i] for a, k in zip(arrays, sizes) for i in range(k)]
            out = [np.broadcast_to(np.asarray(e, dtype=np.result_type(e, np.float64)), lead) for e in fn(*flat)]
            return np.stack(out, axis=-1).reshape(*lead, *shape) if out else np.zeros((*lead, *shape))
        return call

    def call_torch(*groups: Any) -> "torch.Tensor":
        def as_t(g: Any) -> torch.Tensor:
            return g if isinstance(g, torch.Tensor) else torch.as_tensor(np.asarray(g, dtype=np.float64))
        arrays = _check_groups(groups, arguments, sizes, name, as_t)
        like = arrays[0] if arrays else torch.zeros(())
        lead = torch.broadcast_shapes(*(a.shape[:-1] for a in arrays))
        flat = [a[..., i] for a, k in zip(arrays, sizes) for i in range(k)]
        out = [torch.broadcast_to(torch.as_tensor(e, dtype=like.dtype, device=like.device), lead) for e in fn(*flat)]
        return torch.stack(out, dim=-1).reshape(*lead, *shape)
    return call_torch


def _check_groups(groups: Sequence[Any], arguments, sizes: list[int], name: str, convert) -> list:
    if len(groups) != len(arguments):
        raise ValueError(f"{name} takes {len(arguments)} argument groups ({', '.join(g for g, _ in arguments)}); "
                         f"got {len(groups)}")
    arrays = []
    for g, (gname, _), k in zip(groups, arguments, sizes):
        a = convert(np.zeros(0) if g is None else g)
        if a.ndim == 0 or a.shape[-1] != k:
            raise ValueError(f"{name}: argument {gname} must have last axis {k}; got shape {tuple(a.shape)}")
        arrays.append(a)
    return arrays
