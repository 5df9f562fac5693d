"""Symbolic one-step maps of the cells (SRNN, LSTM, GRU) and of the two scalar maps of the papers.

Parameter symbols carry the Keras names of the brief, so a derivation and a weight file speak the same language:

* SRNN ``W, U, b``; LSTM ``W_i, W_f, W_c, W_o, U_i, ..., b_o``; GRU ``W_z, W_r, W_h, U_z, ..., b_h`` and, for
  ``reset_after=True``, the recurrent-bias row ``br_z, br_r, br_h``.
* A block with a single element (one unit, and for kernels one input) is named by the bare name (``U_f``).
  Otherwise every element is named ``NAME_<row><col>`` for kernels (``W_c_01`` is input 0 -> unit 1, ``U_c_10`` is unit 1 -> unit 0,
  i.e. element [1, 0] of the (units, units) block) and ``NAME_<j>`` for biases (``b_f_1``).
* State symbols: ``h`` (and ``c``) for one unit, ``h_0, h_1, c_0, c_1`` for two; state order is always h then c.
  Inputs ``x`` (or ``x_0, x_1, ...``).

Maps (Keras conventions, see :mod:`dynlatch.cells`): SRNN h' = tanh(x W + h U + b) (Elman 1990); LSTM (Hochreiter &
Schmidhuber 1997, forget gate of Gers et al. 2000) c' = f c + i g, h' = o tanh(c'); GRU (Cho et al. 2014) in both
reset conventions; Bengio et al. 1994's neuron a' = w tanh(a) + h; Pascanu et al. 2013's x' = w sigmoid(x) + b.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from .._activations import GATE_ACTIVATIONS, check_gate_activation
from .._checks import choice
from ._functions import gate_expr, sigmoid
from ..cells import cell_class

SYSTEM_KINDS: tuple[str, ...] = ("srnn", "lstm", "gru", "mgu", "bengio", "pascanu")
MAX_UNITS = 2


@dataclass(frozen=True)
class ParamSpec:
    """Where a parameter symbol lives in the Keras arrays: ``array[row, col]`` (``array`` in kernel,
    recurrent_kernel, bias; for the bias ``row`` is 0, or 1 for GRU's recurrent-bias row). ``array`` is ``""`` for the
    scalar maps, which have no weight file."""

    symbol: sp.Symbol
    array: str = ""
    row: int = 0
    col: int = 0


@dataclass(frozen=True)
class System:
    """A symbolic discrete-time system s' = F(s; theta, x).

    Attributes:
        kind: ``srnn``, ``lstm``, ``gru``, ``mgu``, ``bengio`` or ``pascanu``.
        gate: gate nonlinearity (``None`` for the gate-free maps).
        reset_after: GRU convention (``None`` for other kinds).
        units, input_dim: sizes (1 and 1 or 0 for the scalar maps).
        state: state symbols, h then c.
        inputs: input symbols (empty for Pascanu's map).
        params: parameter specs in a fixed order (the order of every parameter axis).
        update: the next state F, a column Matrix in state order.
        preactivations: gate pre-activation expressions by label (``"i_0"``, ``"z"``, ...), for kink conditions.
        gate_labels: the gates whose nonlinearity is ``gate`` (kinks exist only there).
        display: LaTeX names of the symbols.
    """

    kind: str
    gate: str | None
    reset_after: bool | None
    units: int
    input_dim: int
    state: tuple[sp.Symbol, ...]
    inputs: tuple[sp.Symbol, ...]
    params: tuple[ParamSpec, ...]
    update: sp.Matrix
    preactivations: dict[str, sp.Expr] = field(default_factory=dict)
    gate_labels: tuple[str, ...] = ()
    display: dict[sp.Symbol, str] = field(default_factory=dict)

    @property
    def param_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(p.symbol for p in self.params)

    @property
    def param_names(self) -> list[str]:
        return [p.symbol.name for p in self.params]

    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.state]

    @property
    def label(self) -> str:
        """A file-name-safe label, e.g. ``gru-hard_sigmoid-after-n1``."""
        parts = [self.kind]
        if self.gate is not None:
            parts.append(self.gate)
        if self.reset_after is not None:
            parts.append("after" if self.reset_after else "before")
        if self.params and self.params[0].array:  # a cell (the scalar maps have no weight-file layout)
            parts.append(f"n{self.units}")
        return "-".join(parts)

    def __hash__(self) -> int:
        return hash((self.kind, self.gate, self.reset_after, self.units, self.input_dim))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, System) and hash(self) == hash(other)

    def param_vector(self, cell: Any) -> np.ndarray:
        """The parameters of a :class:`dynlatch.cells.Cell` (single or batched) in this system's order.

        Returns:
            float64 array (M, P) for a batched cell, (P,) for a single one.

        Raises:
            ValueError: if the cell's kind, gate, convention or sizes differ from the system's.
        """
        check_cell_matches(self, cell)
        arrays = {name: t.detach().cpu().double().numpy() for name, t in
                  zip(("kernel", "recurrent_kernel", "bias"), cell.params)}
        theta = np.stack([arrays[p.array][:, p.row, p.col] for p in self.params], axis=-1)
        return theta if cell.batched else theta[0]

    def flat_indices(self) -> np.ndarray:
        """Index of every parameter in :mod:`dynlatch._fastpath`'s flat vector (kernel, recurrent kernel, two bias
        rows; see ``dynlatch._fastpath.layout``)."""
        if not self.params or not self.params[0].array:
            raise ValueError(f"{self.kind} has no weight-file layout")
        K = cell_class(self.kind).n_gates * self.units
        D, n = self.input_dim, self.units
        base = {"kernel": 0, "recurrent_kernel": D * K, "bias": D * K + n * K}
        return np.array([base[p.array] + p.row * K + p.col for p in self.params])


def check_cell_matches(system: System, cell: Any) -> None:
    """Raise ``ValueError`` unless ``cell`` is the cell ``system`` describes."""
    want = (system.kind, system.units, system.input_dim)
    got = (cell.kind, cell.units, cell.input_dim)
    if want != got:
        raise ValueError(f"cell is {got[0]} with {got[1]} units and input_dim {got[2]}; the system is {want[0]} with "
                         f"{want[1]} units and input_dim {want[2]}")
    if system.gate is not None and cell.recurrent_activation != system.gate:
        raise ValueError(f"cell gate {cell.recurrent_activation!r} differs from the system's {system.gate!r}")
    if system.kind == "gru" and bool(cell.reset_after) != system.reset_after:
        raise ValueError(f"cell reset_after={cell.reset_after} differs from the system's {system.reset_after}")


def _block(name: str, array: str, rows: int, cols: int, col0: int, row: int | None = None,
           scalar: bool = False) -> tuple[list[list[sp.Symbol]], list[ParamSpec], dict[sp.Symbol, str]]:
    """Symbols of one Keras block; ``row`` set means a bias row (a vector of ``cols``)."""
    syms: list[list[sp.Symbol]] = []
    specs: list[ParamSpec] = []
    display: dict[sp.Symbol, str] = {}
    head, _, sub = name.partition("_")
    base = head.replace("br", r"b^{h}") if head == "br" else head
    for r in range(1 if row is not None else rows):
        line = []
        for c in range(cols):
            if scalar:
                sym_name, tex = name, (f"{base}_{{{sub}}}" if sub else base)
            elif row is not None:
                sym_name, tex = f"{name}_{c}", (f"{base}_{{{sub},{c}}}" if sub else f"{base}_{{{c}}}")
            else:
                sym_name, tex = f"{name}_{r}{c}", (f"{base}_{{{sub},{r}{c}}}" if sub else f"{base}_{{{r}{c}}}")
            s = sp.Symbol(sym_name, real=True)
            line.append(s)
            specs.append(ParamSpec(s, array, row if row is not None else r, col0 + c))
            display[s] = tex
        syms.append(line)
    return syms, specs, display


def _state_symbols(units: int, with_c: bool) -> tuple[list[sp.Symbol], list[sp.Symbol], dict[sp.Symbol, str]]:
    names = ["h"] if units == 1 else [f"h_{j}" for j in range(units)]
    h = [sp.Symbol(n, real=True) for n in names]
    c = [sp.Symbol(n.replace("h", "c"), real=True) for n in names] if with_c else []
    display = {s: (s.name[0] + r"_{t-1}" if units == 1 else f"{s.name[0]}_{{{s.name[2:]},t-1}}") for s in h + c}
    return h, c, display


def _input_symbols(input_dim: int) -> tuple[list[sp.Symbol], dict[sp.Symbol, str]]:
    x = [sp.Symbol("x" if input_dim == 1 else f"x_{d}", real=True) for d in range(input_dim)]
    return x, {s: ("x_t" if input_dim == 1 else f"x_{{{s.name[2:]},t}}") for s in x}


def _check_sizes(units: int, input_dim: int) -> None:
    if not isinstance(units, (int, np.integer)) or not 1 <= units <= MAX_UNITS:
        raise ValueError(f"units must be 1..{MAX_UNITS} for symbolic cells; got {units!r}")
    if not isinstance(input_dim, (int, np.integer)) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive integer; got {input_dim!r}")


def _gate_blocks(names: tuple[str, ...], units: int, input_dim: int, bias_rows: tuple[str, ...] = ()):
    """Symbols of every gate block in Keras order; returns (W, U, b, br, specs, display). A block with a single
    element gets the bare name."""
    W, U, b, br, specs, display = {}, {}, {}, {}, [], {}
    for g, gname in enumerate(names):
        suffix = f"_{gname}" if gname else ""
        for store, args, kw in ((W, (f"W{suffix}", "kernel", input_dim, units, g * units), {}),
                                (U, (f"U{suffix}", "recurrent_kernel", units, units, g * units), {}),
                                (b, (f"b{suffix}", "bias", 1, units, g * units), {"row": 0}),
                                (br, (f"br{suffix}", "bias", 1, units, g * units), {"row": 1})):
            if store is br and gname not in bias_rows:
                continue
            single = args[2] * args[3] == 1 if "row" not in kw else units == 1
            syms, sp_, dis = _block(*args, scalar=single, **kw)
            store[gname] = syms
            specs += sp_
            display.update(dis)
    return W, U, b, br, specs, display


def _affine(W, U, b, gname: str, x, h, j: int) -> sp.Expr:
    return (sum((x[d] * W[gname][d][j] for d in range(len(x))), sp.Integer(0))
            + sum((h[k] * U[gname][k][j] for k in range(len(h))), sp.Integer(0)) + b[gname][0][j])


def _reorder(specs: list[ParamSpec]) -> tuple[ParamSpec, ...]:
    """Keras order: kernel, recurrent kernel, bias row 0, bias row 1; columns in gate-block order."""
    rank = {"kernel": 0, "recurrent_kernel": 1, "bias": 2}
    return tuple(sorted(specs, key=lambda p: (rank[p.array], p.row, p.col)))


def _unit_label(name: str, units: int, j: int) -> str:
    return name if units == 1 else f"{name}_{j}"


@lru_cache(maxsize=None)
def srnn_system(*, units: int = 1, input_dim: int = 1) -> System:
    """The simple recurrent cell h' = tanh(x W + h U + b) (Elman 1990; Bengio et al. 1994's neuron in h-form)."""
    _check_sizes(units, input_dim)
    h, _, dstate = _state_symbols(units, False)
    x, dx = _input_symbols(input_dim)
    W, U, b, _, specs, display = _gate_blocks(("",), units, input_dim)
    pre = {_unit_label("h", units, j): _affine(W, U, b, "", x, h, j) for j in range(units)}
    update = sp.Matrix([sp.tanh(z) for z in pre.values()])
    return System("srnn", None, None, units, input_dim, tuple(h), tuple(x), _reorder(specs), update, pre, (),
                  {**display, **dstate, **dx})


@lru_cache(maxsize=None)
def lstm_system(*, gate: str = "sigmoid", units: int = 1, input_dim: int = 1) -> System:
    """The LSTM with forget gate, state (h, c): c' = f c + i g, h' = o tanh(c') (Hochreiter & Schmidhuber 1997;
    Gers et al. 2000), gates i, f, o through ``gate``, g = tanh."""
    check_gate_activation(gate)
    _check_sizes(units, input_dim)
    h, c, dstate = _state_symbols(units, True)
    x, dx = _input_symbols(input_dim)
    W, U, b, _, specs, display = _gate_blocks(("i", "f", "c", "o"), units, input_dim)
    pre = {_unit_label(g, units, j): _affine(W, U, b, g, x, h, j) for g in "ifco" for j in range(units)}
    act = {k: (sp.tanh(v) if k[0] == "c" else gate_expr(gate, v)) for k, v in pre.items()}
    lab = lambda g, j: _unit_label(g, units, j)  # noqa: E731
    c_new = [act[lab("f", j)] * c[j] + act[lab("i", j)] * act[lab("c", j)] for j in range(units)]
    h_new = [act[lab("o", j)] * sp.tanh(c_new[j]) for j in range(units)]
    gates = tuple(k for k in pre if k[0] in "ifo")
    return System("lstm", gate, None, units, input_dim, tuple(h + c), tuple(x), _reorder(specs),
                  sp.Matrix(h_new + c_new), pre, gates, {**display, **dstate, **dx})


@lru_cache(maxsize=None)
def gru_system(*, gate: str = "sigmoid", reset_after: bool = False, units: int = 1, input_dim: int = 1) -> System:
    """The GRU (Cho et al. 2014), h' = z h + (1 - z) tanh(candidate), with the reset applied before the recurrent
    matmul (``reset_after=False``, Keras 2) or after it (``True``, PyTorch; then the recurrent-bias row ``br_*``)."""
    check_gate_activation(gate)
    _check_sizes(units, input_dim)
    reset_after = bool(reset_after)
    h, _, dstate = _state_symbols(units, False)
    x, dx = _input_symbols(input_dim)
    rows = ("z", "r", "h") if reset_after else ()
    W, U, b, br, specs, display = _gate_blocks(("z", "r", "h"), units, input_dim, rows)
    lab = lambda g, j: _unit_label(g, units, j)  # noqa: E731
    pre: dict[str, sp.Expr] = {}
    for g in "zr":
        for j in range(units):
            pre[lab(g, j)] = _affine(W, U, b, g, x, h, j) + (br[g][0][j] if reset_after else 0)
    act = {k: gate_expr(gate, v) for k, v in pre.items()}
    r = [act[lab("r", j)] for j in range(units)]
    for j in range(units):
        xw = sum((x[d] * W["h"][d][j] for d in range(input_dim)), sp.Integer(0)) + b["h"][0][j]
        if reset_after:
            rec = sum((h[k] * U["h"][k][j] for k in range(units)), sp.Integer(0)) + br["h"][0][j]
            pre[lab("h", j)] = xw + r[j] * rec
        else:
            pre[lab("h", j)] = xw + sum((r[k] * h[k] * U["h"][k][j] for k in range(units)), sp.Integer(0))
    update = sp.Matrix([act[lab("z", j)] * h[j] + (1 - act[lab("z", j)]) * sp.tanh(pre[lab("h", j)])
                        for j in range(units)])
    gates = tuple(k for k in pre if k[0] in "zr")
    return System("gru", gate, reset_after, units, input_dim, tuple(h), tuple(x), _reorder(specs), update, pre,
                  gates, {**display, **dstate, **dx})


@lru_cache(maxsize=None)
def mgu_system(*, gate: str = "sigmoid", units: int = 1, input_dim: int = 1) -> System:
    """The minimal gated unit (Zhou et al. 2016): f = gate(x W_f + h U_f + b_f), h~ = tanh(x W_h + (f h) U_h + b_h),
    h' = (1 - f) h + f h~."""
    check_gate_activation(gate)
    _check_sizes(units, input_dim)
    h, _, dstate = _state_symbols(units, False)
    x, dx = _input_symbols(input_dim)
    W, U, b, _, specs, display = _gate_blocks(("f", "h"), units, input_dim)
    lab = lambda g, j: _unit_label(g, units, j)  # noqa: E731
    pre = {lab("f", j): _affine(W, U, b, "f", x, h, j) for j in range(units)}
    f = [gate_expr(gate, pre[lab("f", j)]) for j in range(units)]
    for j in range(units):
        xw = sum((x[d] * W["h"][d][j] for d in range(input_dim)), sp.Integer(0)) + b["h"][0][j]
        pre[lab("h", j)] = xw + sum((f[k] * h[k] * U["h"][k][j] for k in range(units)), sp.Integer(0))
    update = sp.Matrix([(1 - f[j]) * h[j] + f[j] * sp.tanh(pre[lab("h", j)]) for j in range(units)])
    gates = tuple(k for k in pre if k[0] == "f")
    return System("mgu", gate, None, units, input_dim, tuple(h), tuple(x), _reorder(specs), update, pre, gates,
                  {**display, **dstate, **dx})


@lru_cache(maxsize=None)
def bengio_system() -> System:
    """Bengio, Simard & Frasconi (1994)'s latching neuron a_t = w tanh(a_{t-1}) + h_t; input h_t, parameter w."""
    a, w, hin = sp.symbols("a w h", real=True)
    display = {a: "a_{t-1}", w: "w", hin: "h_t"}
    return System("bengio", None, None, 1, 1, (a,), (hin,), (ParamSpec(w),), sp.Matrix([w * sp.tanh(a) + hin]),
                  {}, (), display)


@lru_cache(maxsize=None)
def pascanu_system() -> System:
    """Pascanu, Mikolov & Bengio (2013, Fig. 6)'s one-unit map x_t = w sigmoid(x_{t-1}) + b, no input."""
    xs, w, b = sp.symbols("x w b", real=True)
    display = {xs: "x_{t-1}", w: "w", b: "b"}
    return System("pascanu", None, None, 1, 0, (xs,), (), (ParamSpec(w), ParamSpec(b)),
                  sp.Matrix([w * sigmoid(xs) + b]), {}, (), display)


def build_system(kind: str, *, gate: str = "sigmoid", reset_after: bool = False, units: int = 1,
                 input_dim: int = 1) -> System:
    """The system ``kind`` (one of :data:`SYSTEM_KINDS`) with the given variant options.

    ``gate`` is ignored by ``srnn``, ``bengio`` and ``pascanu``; ``reset_after`` applies to ``gru`` only; the scalar
    maps have one unit.

    Raises:
        ValueError: unknown kind or gate, or sizes out of range.
    """
    choice("kind", kind, SYSTEM_KINDS)
    if kind in ("lstm", "gru", "mgu"):
        choice("gate", gate, GATE_ACTIVATIONS)
    if kind == "srnn":
        return srnn_system(units=units, input_dim=input_dim)
    if kind == "lstm":
        return lstm_system(gate=gate, units=units, input_dim=input_dim)
    if kind == "gru":
        return gru_system(gate=gate, reset_after=reset_after, units=units, input_dim=input_dim)
    if kind == "mgu":
        return mgu_system(gate=gate, units=units, input_dim=input_dim)
    if kind in ("bengio", "pascanu"):
        if units != 1:
            raise ValueError(f"{kind} is a one-unit map; got units={units}")
        return bengio_system() if kind == "bengio" else pascanu_system()
    raise ValueError(f"unknown system {kind!r}; choose one of {', '.join(SYSTEM_KINDS)}")


def system_for_cell(cell: Any) -> System:
    """The system of a :class:`dynlatch.cells.Cell` (kind, gate, convention and sizes read from it).

    Raises:
        TypeError: if ``cell`` is not a cell (for a kind's name, use :func:`build_system`).
    """
    if not all(hasattr(cell, a) for a in ("kind", "recurrent_activation", "units", "input_dim")):
        raise TypeError(f"cell: expected a dynlatch cell (build_system takes a kind's name); got {cell!r}")
    return build_system(cell.kind, gate=cell.recurrent_activation, reset_after=bool(getattr(cell, "reset_after", False)),
                        units=cell.units, input_dim=cell.input_dim)
