"""The shared machinery of every cell: parameters with a leading model dimension, names, running, indexing.

A cell kind is a small explicit single-step function of (parameters, state, input) for ONE model, with axes counted
from the end (see the ``*_step`` functions in the sibling modules), wrapped by a class that owns the parameters of
``M`` models. Because the step only ever indexes from the end, ``torch.func.vmap`` (over models, batches or states)
and ``torch.func.jacrev``/``jacfwd`` compose with it directly; :meth:`Cell.step_batched` calls the same function with
the model dimension in front (matmul maps over it; the bias gets a broadcast axis, see :meth:`Cell.batched_params`).

Parameters always carry a leading *model* dimension ``M``: ``M`` independent models advance in one tensor program.
A *single* cell (built from Keras or PyTorch weights, or with one integer seed) is the ``M = 1`` case; its ``run``
and ``step`` accept and return tensors without the model dimension.

Parameter layout (Keras layout with a model dimension; ``K = n_gates * units``)::

    kernel            (M, input_dim, K)   input weights, gate blocks in Keras order
    recurrent_kernel  (M, units, K)       recurrent weights
    bias              (M, 1, K)           bias, or (M, 2, K) = (input bias, recurrent bias) for GRU reset_after

Names (Keras's): gate block ``g`` of the kernel is ``W_g``, of the recurrent kernel ``U_g``, of bias row 0 ``b_g``
and of bias row 1 ``br_g`` (``W``, ``U``, ``b`` for a cell with one block, the SRNN). See :meth:`Cell.param_names`.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar, NamedTuple, Sequence, Union

import numpy as np
import torch

from .. import _checks
from .._activations import check_gate_activation, gate_function
from ._init import INIT_STREAM, check_scheme, glorot_uniform, model_rng, orthogonal

Tensor = torch.Tensor
State = Union[Tensor, tuple[Tensor, ...]]
StepFunction = Callable[["CellParams", State, Tensor], State]


class CellParams(NamedTuple):
    """The parameters of one model (kernel (D, K), recurrent_kernel (n, K), bias (nb, K)) or, with a leading model
    dimension, of a batch of models (see the module docstring)."""

    kernel: Tensor
    recurrent_kernel: Tensor
    bias: Tensor


def affine(params: CellParams, x: Tensor, h: Tensor) -> Tensor:
    """Pre-activations ``x W + h U + b`` of all gate blocks, (..., K), for ``x`` (..., D) and ``h`` (..., n).

    Both bias rows are added, which is right for every cell except GRU with reset_after (it handles its candidate
    block itself).
    """
    W, U, b = params
    return torch.matmul(x, W) + torch.matmul(h, U) + b.sum(-2)


def float_array(value: Any) -> np.ndarray:
    """``value`` as a numpy array: a floating array keeps its dtype, anything else (lists, integers) is float64."""
    a = np.asarray(value)
    return a if a.dtype.kind == "f" else np.asarray(value, dtype=np.float64)


def _as_param(value: Any, name: str, dtype: torch.dtype | None, device: Any) -> Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        t = torch.as_tensor(_checks.real_array(name, value, finite=False))
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if device is not None:
        t = t.to(device)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t.clone()


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(np.shape(a.detach().cpu() if isinstance(a, torch.Tensor) else a))


class Cell:
    """Base class of every cell kind; not instantiated directly.

    Args:
        kernel: input weights, (M, input_dim, K) if ``batched`` else (input_dim, K).
        recurrent_kernel: recurrent weights, (M, units, K) or (units, K).
        bias: (M, nb, K), (M, K), (nb, K) or (K,); ``nb`` is 2 only for GRU with ``reset_after=True``.
        recurrent_activation: gate nonlinearity, one of :data:`dynlatch.GATE_ACTIVATIONS` (ignored by SRNN).
        batched: whether the arrays carry a leading model dimension.
        dtype, device: where the parameters live (default: the arrays' own dtype, float64 for lists).

    Raises:
        ValueError: wrong shapes, an unknown gate nonlinearity, or NaN/inf weights, with the offending name.

    A subclass (one per kind, registered with :func:`dynlatch.cells.register`) sets the class attributes below and
    implements :meth:`step_function`.
    """

    kind: ClassVar[str] = ""
    gate_names: ClassVar[tuple[str, ...]] = ()
    """Keras letters of the gate blocks, in weight order (LSTM i, f, c, o; GRU z, r, h)."""
    n_gates: ClassVar[int] = 0
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    """Parts of the state; the first is the hidden output (LSTM: ("h", "c"))."""
    torch_modules: ClassVar[tuple[type, ...]] = ()
    """``torch.nn`` classes with the same map (layer first, then the ``*Cell`` variant); empty if none."""
    torch_gate_order: ClassVar[tuple[int, ...]] = ()
    """Keras block index of each torch block (empty: the same order)."""
    keras_layer: ClassVar[str] = ""
    """The Keras layer class with the same map (``"SimpleRNN"``, ``"LSTM"``, ``"GRU"``); empty if none."""
    torch_bias_rows: ClassVar[int] = 1
    """1: torch's ``bias_ih + bias_hh`` merged into one row; 2: kept as (input, recurrent) rows."""
    gated: ClassVar[bool] = True
    """Whether the cell has gates computed with ``recurrent_activation`` (False: the SRNN)."""
    tanh_blocks: ClassVar[tuple[str, ...]] = ("h",)
    """The blocks whose nonlinearity is tanh (LSTM ``c``, GRU and MGU ``h``); the others are gates."""
    one_unit_family: ClassVar[str | None] = None
    """The scalar equations of this kind's one-unit map at constant input (:meth:`one_unit_params`), which the
    certified fixed-point finder solves (:mod:`dynlatch.dynamics._one_unit`): ``"srnn"`` (h' = tanh(a + u h)),
    ``"gru"`` (h' = z h + (1 - z) h~ with h~ = tanh(a_h + u_h r h), or reset after the product) or ``"lstm"``;
    None if the kind has none (its fixed points then come from the optimisation finder)."""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.n_gates = len(cls.gate_names)

    def __init__(
        self,
        kernel: Any,
        recurrent_kernel: Any,
        bias: Any,
        *,
        recurrent_activation: str = "sigmoid",
        batched: bool = False,
        dtype: torch.dtype | None = None,
        device: Any = None,
    ) -> None:
        self.recurrent_activation = check_gate_activation(recurrent_activation)
        device = _checks.device("device", device) if device is not None else None
        W = _as_param(kernel, "kernel", dtype, device)
        U = _as_param(recurrent_kernel, "recurrent_kernel", W.dtype, W.device)
        b = _as_param(bias, "bias", W.dtype, W.device)
        if not batched:
            W, U, b = W.unsqueeze(0), U.unsqueeze(0), b.unsqueeze(0)
        if W.ndim != 3 or U.ndim != 3:
            lead = "(M, " if batched else "("
            raise ValueError(
                f"{self.kind} kernel and recurrent_kernel must be {lead}input_dim, K) and {lead}units, K); "
                f"got {_shape(kernel)} and {_shape(recurrent_kernel)}"
            )
        M, D, K = W.shape
        n = U.shape[1]
        if K != self.n_gates * n or U.shape != (M, n, K) or n == 0 or D == 0 or M == 0:
            raise ValueError(
                f"{self.kind} with {n} units needs kernel (input_dim, {self.n_gates * n}) and recurrent_kernel "
                f"({n}, {self.n_gates * n}), all non-empty; got {tuple(W.shape[1:])} and {tuple(U.shape[1:])}"
            )
        if b.ndim == 2:
            b = b.unsqueeze(1)
        nb = self.bias_rows
        if b.shape != (M, nb, K):
            want = f"({K},)" if nb == 1 else f"({nb}, {K})"
            raise ValueError(f"{self.kind} bias must have shape {want}; got {tuple(b.shape[1:])}")
        self.params = CellParams(W, U, b)
        self.batched = bool(batched)

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_keras(
        cls,
        kernel: Any,
        recurrent_kernel: Any,
        bias: Any = None,
        *,
        recurrent_activation: str = "sigmoid",
        dtype: torch.dtype | None = None,
        device: Any = None,
        **options: Any,
    ) -> "Cell":
        """A single cell from Keras weight arrays.

        Args:
            kernel: (input_dim, G*units), gate blocks in Keras order (LSTM i, f, c, o; GRU z, r, h).
            recurrent_kernel: (units, G*units).
            bias: (G*units,), or (2, G*units) for GRU with ``reset_after=True``; default zeros.
            recurrent_activation: gate nonlinearity; default ``"sigmoid"`` (Keras >= 2.3). Models from Keras < 2.3
                used ``"hard_sigmoid"``.
            dtype, device: where the parameters live.
            options: the kind's own options (GRU: ``reset_after``, inferred from the bias shape, checked if given).

        Raises:
            ValueError: for shapes that do not fit the cell, or options it does not take.
        """
        shape_U = np.shape(recurrent_kernel)
        if len(shape_U) != 2:
            raise ValueError(f"Keras recurrent_kernel must be 2-D (units, {cls.n_gates}*units); got shape {shape_U}")
        opts = cls.keras_options(bias, shape_U[1], **options)
        if bias is None:
            bias = np.zeros((cls.rows_for(opts), shape_U[1]))
        return cls(kernel, recurrent_kernel, bias, batched=False, recurrent_activation=recurrent_activation,
                   dtype=dtype, device=device, **opts)

    @classmethod
    def keras_options(cls, bias: Any, K: int, **options: Any) -> dict[str, Any]:
        """The kind's options implied by a Keras bias array (``None``: not given) and explicit ``options``."""
        if options:
            raise ValueError(f"{cls.kind} takes no option {', '.join(map(repr, options))}")
        return {}

    def one_unit_params(self, xw: Tensor) -> tuple[bool, Tensor]:
        """This one-unit cell's map at constant input as the scalar equations of :attr:`one_unit_family`.

        Every pre-activation is affine in h, ``a_j(h) = offset_j + slope_j h``. Args: ``xw`` (M, K) = x W at the
        input. Returns ``(reset_after, params)``: the GRU family's convention (False otherwise) and (M, P) with
        (offset, slope) per block of the family, in its block order (this default: the kind's own blocks, offset
        x W + the bias rows' sum, slope U)."""
        W, U, b = self.params
        cols = []
        for j in range(self.n_gates):
            cols += [xw[:, j] + b[:, :, j].sum(1), U[:, 0, j]]
        return False, torch.stack(cols, dim=1)

    @classmethod
    def variants(cls) -> tuple[dict[str, Any], ...]:
        """The constructor options that give different equations (GRU: reset before and after the recurrent
        product), one dict each; ``({},)`` for a kind with one form. Tests and tables iterate over them."""
        return ({},)

    @classmethod
    def torch_options(cls) -> dict[str, Any]:
        """Constructor options of the map the ``torch.nn`` module computes (GRU: ``reset_after=True``)."""
        return {}

    @classmethod
    def rows_for(cls, options: dict[str, Any]) -> int:
        """Bias rows of a cell with constructor ``options`` (2 only for GRU reset_after)."""
        return 1

    @classmethod
    def scheme_options(cls, scheme: str) -> dict[str, Any]:
        """Constructor options that go with an initialisation scheme (gate function; GRU convention)."""
        check_scheme(scheme)
        return {"recurrent_activation": "hard_sigmoid" if scheme == "keras2" else "sigmoid"}

    @classmethod
    def keras2_bias(cls, rows: int, units: int) -> np.ndarray:
        """The Keras-2 initial bias (zeros; the LSTM sets its forget block to 1)."""
        return np.zeros((rows, cls.n_gates * units))

    @classmethod
    def initial_arrays(cls, *, units: int, input_dim: int, scheme: str, rows: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kernel, recurrent_kernel, bias) of one model in Keras layout, drawn from ``rng``.

        ``"keras2"``: glorot-uniform kernel, orthogonal recurrent kernel, :meth:`keras2_bias`. ``"torch"``: every
        weight and both bias vectors U(-1/sqrt(units), 1/sqrt(units)), the two biases merged unless ``rows == 2``.
        """
        K = cls.n_gates * units
        if scheme == "keras2":
            return glorot_uniform(rng, (input_dim, K)), orthogonal(rng, (units, K)), cls.keras2_bias(rows, units)
        k = 1.0 / np.sqrt(units)
        kernel = rng.uniform(-k, k, size=(input_dim, K))
        recurrent = rng.uniform(-k, k, size=(units, K))
        b = rng.uniform(-k, k, size=(2, K))
        return kernel, recurrent, b if rows == 2 else b.sum(0, keepdims=True)

    @classmethod
    def init(
        cls,
        *,
        units: int = 1,
        input_dim: int = 1,
        seed: int | Sequence[int] = 0,
        scheme: str = "keras2",
        recurrent_activation: str | None = None,
        dtype: torch.dtype = torch.float32,
        device: Any = None,
        **options: Any,
    ) -> "Cell":
        """A cell drawn from an initialisation scheme.

        Args:
            units: hidden size.
            input_dim: input size.
            seed: an integer gives a single cell; a sequence of integers a batched one, model ``m`` drawn from
                ``seed[m]`` exactly as it would be alone.
            scheme: ``"keras2"`` or ``"torch"`` (see :data:`dynlatch.cells.INIT_SCHEMES`).
            recurrent_activation: override the scheme's gate function.
            dtype, device: where the parameters live.
            options: override the kind's scheme options (GRU: ``reset_after``).

        Raises:
            ValueError: for an unknown scheme or option, sizes < 1 or an empty seed list.
        """
        check_scheme(scheme)
        units = _checks.integer("units", units, minimum=1)
        input_dim = _checks.integer("input_dim", input_dim, minimum=1)
        opts = cls.scheme_options(scheme)
        if recurrent_activation is not None:
            opts["recurrent_activation"] = recurrent_activation
        for key, value in options.items():
            if value is None:
                continue
            if key not in opts:
                raise ValueError(f"{cls.kind} takes no option {key!r}")
            opts[key] = type(opts[key])(value)
        batched = not isinstance(seed, (int, np.integer))
        seeds = list(_checks.seeds("seed", seed)) if batched else [_checks.seed("seed", seed)]
        rows = cls.rows_for(opts)
        arrays = [cls.initial_arrays(units=int(units), input_dim=int(input_dim), scheme=scheme, rows=rows,
                                     rng=model_rng(s, INIT_STREAM)) for s in seeds]
        W, U, b = (np.stack(parts) for parts in zip(*arrays))
        cell = cls(W, U, b, batched=True, dtype=dtype, device=device, **opts)
        cell.batched = batched
        return cell

    # -- structure -------------------------------------------------------------------------------------------
    @property
    def bias_rows(self) -> int:
        """Rows of the bias: 2 for GRU with ``reset_after`` (input and recurrent bias), else 1."""
        return self.rows_for(self._options())

    @property
    def units(self) -> int:
        return self.params.recurrent_kernel.shape[1]

    @property
    def input_dim(self) -> int:
        return self.params.kernel.shape[1]

    @property
    def models(self) -> int:
        """Number of independent models ``M`` (1 for a single cell)."""
        return self.params.kernel.shape[0]

    @property
    def state_dim(self) -> int:
        """Length of the flattened state (``units`` times the number of state parts; LSTM: 2 units)."""
        return len(self.state_names) * self.units

    @property
    def dtype(self) -> torch.dtype:
        return self.params.kernel.dtype

    @property
    def device(self) -> torch.device:
        return self.params.kernel.device

    def _options(self) -> dict[str, Any]:
        """Constructor keywords other than the arrays (GRU adds ``reset_after``)."""
        return {"recurrent_activation": self.recurrent_activation}

    def options(self) -> dict[str, Any]:
        """The constructor options of this cell (gate function; GRU: ``reset_after``)."""
        return dict(self._options())

    def kernel_code(self) -> int | None:
        """Code of this cell's compiled fast-path kernel in :mod:`dynlatch._fastpath`; None if it has none (then
        it trains and evaluates on the torch backend)."""
        return None

    # -- names -----------------------------------------------------------------------------------------------
    def _name_table(self) -> dict[str, tuple[int, int, slice]]:
        """name -> (which array: 0 kernel, 1 recurrent, 2 bias; bias row; column slice)."""
        n, single = self.units, self.n_gates == 1
        table: dict[str, tuple[int, int, slice]] = {}
        for which, prefix, row in ((0, "W", 0), (1, "U", 0), (2, "b", 0), (2, "br", 1)):
            if row >= self.bias_rows:
                continue
            for j, g in enumerate(self.gate_names):
                table[prefix if single else f"{prefix}_{g}"] = (which, row, slice(j * n, (j + 1) * n))
        return table

    def param_names(self) -> tuple[str, ...]:
        """Keras names of the parameter blocks: ``W_g`` (input_dim, units), ``U_g`` (units, units), ``b_g``
        (units,) for every gate ``g`` (``W, U, b`` for a one-block cell), and ``br_g`` for GRU reset_after's
        recurrent bias row."""
        return tuple(self._name_table())

    def block_shape(self, name: str) -> tuple[int, ...]:
        """Shape of one model's block ``name`` (see :meth:`param_names`)."""
        which, _, _ = self._lookup(name)
        return ((self.input_dim, self.units), (self.units, self.units), (self.units,))[which]

    def _lookup(self, name: str) -> tuple[int, int, slice]:
        table = self._name_table()
        if name not in table:
            raise ValueError(f"{self.kind} has no parameter {name!r}; its parameters are {', '.join(table)}")
        return table[name]

    def name_blocks(self, params: Sequence[Any]) -> dict[str, Any]:
        """Split arrays in this cell's layout, model dimension first -- ``(kernel (M, D, K), recurrent_kernel
        (M, n, K), bias (M, nb, K))``, tensors or numpy arrays, e.g. gradients -- into the named blocks of
        :meth:`param_names` (views, model dimension first)."""
        out = {}
        for name, (which, row, cols) in self._name_table().items():
            out[name] = params[2][:, row, cols] if which == 2 else params[which][..., cols]
        return out

    def named_params(self) -> dict[str, Tensor]:
        """Every parameter block by its Keras name, with the model dimension first for a batched cell (without
        it for a single cell). The blocks are views of the cell's tensors."""
        out = self.name_blocks(self.params)
        return out if self.batched else {k: v[0] for k, v in out.items()}

    def with_params(self, **values: Any) -> "Cell":
        """A cell whose named blocks are replaced by ``values``, the others kept.

        Each value is one block (shared by all models), or a stack of blocks with the model dimension first; a
        block of one element also takes a 1-D array of values, one per model. Per-model values make a batched cell
        of that many models (a single or one-model cell is repeated): ``cell.with_params(U_c=torch.linspace(-3, 3,
        512))`` gives 512 models that differ only in ``U_c``. Tensors keep their autograd graph, so gradients with
        respect to the values flow through the new cell.

        Raises:
            ValueError: for an unknown name, a shape that fits neither form, inconsistent model counts, or NaN/inf.
        """
        blocks: dict[str, Tensor] = {}
        counts: set[int] = set()
        for name, value in values.items():
            shape = self.block_shape(name)
            t = value if isinstance(value, torch.Tensor) else torch.as_tensor(float_array(value))
            t = t.to(dtype=self.dtype, device=self.device)
            if not torch.isfinite(t.detach()).all():
                raise ValueError(f"{name} contains NaN or inf values")
            if tuple(t.shape) == shape:
                blocks[name] = t
                continue
            if tuple(t.shape[1:]) != shape:
                if t.ndim == 1 and int(np.prod(shape)) == 1:
                    t = t.reshape(-1, *shape)
                else:
                    raise ValueError(f"{name} must have shape {shape} (one block) or (models, *{shape}); "
                                     f"got {tuple(t.shape)}")
            blocks[name] = t
            counts.add(t.shape[0])
        if len(counts) > 1:
            raise ValueError(f"values give different model counts {sorted(counts)}")
        M = counts.pop() if counts else self.models
        if M != self.models and self.models != 1:
            raise ValueError(f"values give {M} models; the cell has {self.models}")
        arrays = [p.expand(M, *p.shape[1:]).clone() for p in self.params]
        for name, t in blocks.items():
            which, row, cols = self._lookup(name)
            t = t.expand(M, *self.block_shape(name))
            if which == 2:
                arrays[2][:, row, cols] = t
            else:
                arrays[which][..., cols] = t
        new = copy.copy(self)
        new.params = CellParams(*arrays)
        new.batched = self.batched or bool(counts) or M != self.models
        return new

    # -- copies and selections ---------------------------------------------------------------------------------
    def replace(self, params: CellParams) -> "Cell":
        """A copy of this cell that uses ``params`` (same shapes, model dimension first) as they are.

        The tensors are not copied or detached, so gradients flow to them: this is how training and analyses
        differentiate a cell with respect to its parameters.

        Raises:
            ValueError: if a shape differs from the cell's.
        """
        params = CellParams(*params)
        for name, old, new in zip(CellParams._fields, self.params, params):
            if old.shape != new.shape:
                raise ValueError(f"{name} must keep shape {tuple(old.shape)}; got {tuple(new.shape)}")
        new_cell = copy.copy(self)
        new_cell.params = params
        return new_cell

    def to(self, dtype: torch.dtype | None = None, device: Any = None) -> "Cell":
        """A copy with parameters cast to ``dtype`` and/or moved to ``device`` (one that exists here: else a
        :class:`ValueError` naming it)."""
        device = _checks.device("device", device) if device is not None else None
        p = CellParams(*(t.to(dtype=dtype or t.dtype, device=device or t.device) for t in self.params))
        return self.replace(p)

    def __getitem__(self, index: int | slice | Sequence[int]) -> "Cell":
        """Select models: an integer gives a single cell, a slice or index list a batched one."""
        if isinstance(index, (int, np.integer)):
            p = CellParams(*(t[int(index)] for t in self.params))
            return type(self)(*p, batched=False, **self._options())
        idx = torch.as_tensor(range(self.models)[index] if isinstance(index, slice) else list(index))
        p = CellParams(*(t[idx] for t in self.params))
        return type(self)(*p, batched=True, **self._options())

    def numpy(self) -> dict[str, np.ndarray]:
        """Keras-layout arrays (without the model dimension for a single cell)."""
        arrays = {k: v.detach().cpu().numpy() for k, v in self.params._asdict().items()}
        if self.bias_rows == 1:
            arrays["bias"] = arrays["bias"][:, 0]
        if not self.batched:
            arrays = {k: v[0] for k, v in arrays.items()}
        return arrays

    def __repr__(self) -> str:
        m = f"models={self.models}, " if self.batched else ""
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items() if self.n_gates > 1)
        return f"{type(self).__name__}({m}units={self.units}, input_dim={self.input_dim}{', ' if opts else ''}{opts})"

    # -- dynamics ----------------------------------------------------------------------------------------------
    @property
    def gate(self) -> Callable[[Tensor], Tensor]:
        return gate_function(self.recurrent_activation)

    def step_function(self) -> StepFunction:
        """The kind's single-model step ``f(params, state, x) -> state`` with this cell's options bound.

        ``params`` are one model's :class:`CellParams`; ``state`` (..., units) (a tuple of such for several state
        parts) and ``x`` (..., input_dim); every axis is counted from the end, so ``torch.func.vmap`` and
        ``jacrev`` compose with it.
        """
        raise NotImplementedError

    def batched_params(self) -> CellParams:
        """The parameters laid out for :meth:`step_function` on model-first states (M, B, ...): the bias gets a
        broadcast axis, (M, 1, nb, K), so it broadcasts over the batch."""
        W, U, b = self.params
        return CellParams(W, U, b.unsqueeze(-3))

    def step_batched(self, state: State, x: Tensor) -> State:
        """One step with explicit model dimension: state (M, B, n) (several parts: a tuple), x (M, B, D) or (B, D)."""
        return self.step_function()(self.batched_params(), state, x)

    def hidden(self, state: State) -> Tensor:
        """The hidden output ``h`` of a state (the state itself, or the first part of a tuple state)."""
        return state[0] if isinstance(state, tuple) else state

    def zero_state(self, batch: int) -> State:
        """The zero state, with model dimension: (M, batch, units) (a tuple for several state parts)."""
        parts = tuple(torch.zeros(self.models, batch, self.units, dtype=self.dtype, device=self.device)
                      for _ in self.state_names)
        return parts if len(parts) > 1 else parts[0]

    def flatten_state(self, state: State) -> Tensor:
        """A state as one vector (..., state_dim): its parts concatenated in :attr:`state_names` order (h first)."""
        return torch.cat(state, dim=-1) if isinstance(state, tuple) else state

    def unflatten_state(self, s: Tensor) -> State:
        """Inverse of :meth:`flatten_state`."""
        if len(self.state_names) == 1:
            return s
        return tuple(s.split(self.units, dim=-1))

    def _in(self, x: Any, ndim: int) -> Tensor:
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.ndim not in (ndim, ndim + 1) or (not self.batched and x.ndim != ndim):
            what = "(batch, T, input_dim)" if ndim == 3 else "(batch, input_dim)"
            lead = f"{what} or (M, ...)" if self.batched else what
            raise ValueError(f"input must have shape {lead}; got {tuple(x.shape)}")
        if x.shape[-1] != self.input_dim:
            raise ValueError(f"input has {x.shape[-1]} features; the cell expects input_dim={self.input_dim}")
        if x.ndim == ndim + 1 and x.shape[0] != self.models:
            raise ValueError(f"input has {x.shape[0]} models along dim 0; the cell has {self.models}")
        return x

    def _state_in(self, state: State) -> State:
        if self.batched:
            return state
        return tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state.unsqueeze(0)

    def _state_out(self, state: State) -> State:
        if self.batched:
            return state
        return tuple(s.squeeze(0) for s in state) if isinstance(state, tuple) else state.squeeze(0)

    def step(self, state: State | None, x_t: Any) -> State:
        """Advance one step.

        Args:
            state: (batch, units) for a single cell, (M, batch, units) for a batched one; several state parts (LSTM
                ``(h, c)``) as a tuple. ``None`` means the zero state.
            x_t: inputs (batch, input_dim); a batched cell also takes per-model inputs (M, batch, input_dim).

        Returns:
            The next state, in the layout of ``state``.
        """
        x = self._in(x_t, 2)
        s = self.zero_state(x.shape[-2]) if state is None else self._state_in(state)
        return self._state_out(self.step_batched(s, x))

    def run(self, x: Any, state: State | None = None, *, return_state: bool = False):
        """Run the cell over a sequence from the zero state (or ``state``).

        Args:
            x: inputs (batch, T, input_dim); a batched cell also takes per-model inputs (M, batch, T, input_dim).
            state: initial state as for :meth:`step`; default zero.
            return_state: also return the final state (LSTM: ``(h, c)``).

        Returns:
            Hidden states (batch, T, units), or (M, batch, T, units) for a batched cell; with ``return_state``, a
            pair (hidden states, final state).
        """
        x = self._in(x, 3)
        if x.shape[-2] == 0:
            raise ValueError("input sequence has length T = 0")
        s = self.zero_state(x.shape[-3]) if state is None else self._state_in(state)
        step, params = self.step_function(), self.batched_params()
        hs = []
        for t in range(x.shape[-2]):
            s = step(params, s, x[..., t, :])
            hs.append(self.hidden(s))
        h = torch.stack(hs, dim=-2)
        if not self.batched:
            h = h.squeeze(0)
        return (h, self._state_out(s)) if return_state else h


def stack(cells: Sequence[Cell]) -> Cell:
    """A batched cell whose models are those of ``cells`` (all of one kind, size and options).

    Raises:
        ValueError: for an empty list or cells that differ in kind, size or options.
    """
    if not cells:
        raise ValueError("stack needs at least one cell")
    first = cells[0]
    for c in cells[1:]:
        if type(c) is not type(first) or c._options() != first._options() or (c.units, c.input_dim) != (
                first.units, first.input_dim):
            raise ValueError("stack needs cells of one kind, size and gate options")
    params = CellParams(*(torch.cat(parts) for parts in zip(*(c.params for c in cells))))
    return type(first)(*params, batched=True, **first._options())
