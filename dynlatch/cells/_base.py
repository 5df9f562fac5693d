"""The shared machinery of every cell: parameters with a leading model dimension, running, indexing.

A cell is a small explicit single-step function of (parameters, state, input) -- see the ``*_step`` functions in
the sibling modules -- wrapped by a class that owns its parameters. Parameters always carry a leading *model*
dimension ``M``: ``M`` independent replicate models advance in one tensor program. A *single* cell (built from
Keras or PyTorch weights, or with one integer seed) is the ``M = 1`` case of the same code; its ``run`` and ``step``
accept and return tensors without the model dimension.

Parameter layout (Keras layout with a model dimension; ``K = n_gates * units``)::

    kernel            (M, input_dim, K)   input weights, gate blocks in Keras order
    recurrent_kernel  (M, units, K)       recurrent weights
    bias              (M, 1, K)           bias, or (M, 2, K) = (input bias, recurrent bias) for GRU reset_after
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, NamedTuple, Sequence, Union

import numpy as np
import torch

from .._activations import check_gate_activation, gate_function
from ._init import INIT_STREAM, check_scheme, default_options, initial_arrays, model_rng

Tensor = torch.Tensor
State = Union[Tensor, tuple[Tensor, Tensor]]


class CellParams(NamedTuple):
    """The parameters of a batch of cells (see the module docstring for shapes)."""

    kernel: Tensor
    recurrent_kernel: Tensor
    bias: Tensor


def affine(params: CellParams, x: Tensor, h: Tensor) -> Tensor:
    """Pre-activations ``x W + h U + b`` of all gate blocks, shape (M, B, K).

    ``x`` is (M, B, D) or, shared by every model, (B, D); ``h`` is (M, B, n). Both bias rows are added, which is right
    for every cell except GRU with reset_after (it handles its candidate block itself).
    """
    return torch.matmul(x, params.kernel) + torch.matmul(h, params.recurrent_kernel) + params.bias.sum(1, keepdim=True)


def float_array(value: Any) -> np.ndarray:
    """``value`` as a numpy array: a floating array keeps its dtype, anything else (lists, integers) is float64."""
    a = np.asarray(value)
    return a if a.dtype.kind == "f" else np.asarray(value, dtype=np.float64)


def _as_param(value: Any, name: str, dtype: torch.dtype | None, device: Any) -> Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        t = torch.as_tensor(float_array(value))
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if device is not None:
        t = t.to(device)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t.clone()


class Cell:
    """Base class of :class:`SRNN`, :class:`LSTM` and :class:`GRU`; not instantiated directly.

    Args:
        kernel: input weights, (M, input_dim, K) if ``batched`` else (input_dim, K).
        recurrent_kernel: recurrent weights, (M, units, K) or (units, K).
        bias: (M, nb, K), (M, K), (nb, K) or (K,); ``nb`` is 2 only for GRU with ``reset_after=True``.
        recurrent_activation: gate nonlinearity, one of :data:`dynlatch.GATE_ACTIVATIONS` (ignored by SRNN).
        batched: whether the arrays carry a leading model dimension.
        dtype, device: where the parameters live (default: the arrays' own dtype, float64 for lists).

    Raises:
        ValueError: wrong shapes, an unknown gate nonlinearity, or NaN/inf weights, with the offending name.
    """

    kind: ClassVar[str] = ""
    n_gates: ClassVar[int] = 1
    gate_names: ClassVar[tuple[str, ...]] = ()

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
        W = _as_param(kernel, "kernel", dtype, device)
        U = _as_param(recurrent_kernel, "recurrent_kernel", W.dtype, W.device)
        b = _as_param(bias, "bias", W.dtype, W.device)
        if not batched:
            W, U, b = W.unsqueeze(0), U.unsqueeze(0), b.unsqueeze(0)
        if W.ndim != 3 or U.ndim != 3:
            lead = "(M, " if batched else "("
            raise ValueError(
                f"{self.kind} kernel and recurrent_kernel must be {lead}input_dim, K) and {lead}units, K); "
                f"got {tuple(kernel_shape(kernel))} and {tuple(kernel_shape(recurrent_kernel))}"
            )
        M, D, K = W.shape
        n = U.shape[1]
        if K != self.n_gates * n or U.shape != (M, n, K):
            raise ValueError(
                f"{self.kind} with {n} units needs kernel (input_dim, {self.n_gates * n}) and recurrent_kernel "
                f"({n}, {self.n_gates * n}); got {tuple(W.shape[1:])} and {tuple(U.shape[1:])}"
            )
        if b.ndim == 2:
            b = b.unsqueeze(1)
        nb = self.bias_rows
        if b.shape != (M, nb, K):
            want = f"({K},)" if nb == 1 else f"({nb}, {K})"
            raise ValueError(f"{self.kind} bias must have shape {want}; got {tuple(b.shape[1:])}")
        self.recurrent_activation = check_gate_activation(recurrent_activation)
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
        reset_after: bool | None = None,
        dtype: torch.dtype | None = None,
        device: Any = None,
    ) -> "Cell":
        """A single cell from Keras weight arrays.

        Args:
            kernel: (input_dim, G*units), gate blocks in Keras order (LSTM i, f, c, o; GRU z, r, h).
            recurrent_kernel: (units, G*units).
            bias: (G*units,), or (2, G*units) for GRU with ``reset_after=True``; default zeros.
            recurrent_activation: gate nonlinearity; default ``"sigmoid"`` (Keras >= 2.3). Models from Keras < 2.3
                used ``"hard_sigmoid"``.
            reset_after: GRU only; inferred from the bias shape, checked if given.
            dtype, device: where the parameters live.

        Raises:
            ValueError: for shapes that do not fit the cell.
        """
        shape_U = np.shape(recurrent_kernel)
        if len(shape_U) != 2:
            raise ValueError(f"Keras recurrent_kernel must be 2-D (units, {cls.n_gates}*units); got shape {shape_U}")
        if bias is None:
            bias = np.zeros((2, shape_U[1]) if cls.kind == "gru" and reset_after else shape_U[1])
        kw: dict[str, Any] = {"recurrent_activation": recurrent_activation, "dtype": dtype, "device": device}
        if cls.kind == "gru":
            inferred = np.ndim(bias) == 2
            if reset_after is not None and bool(reset_after) != inferred:
                raise ValueError(
                    f"GRU reset_after={reset_after} needs bias of shape "
                    f"{'(2, 3*units)' if reset_after else '(3*units,)'}; got {np.shape(bias)}"
                )
            kw["reset_after"] = inferred
        elif reset_after is not None:
            raise ValueError(f"reset_after applies to GRU only, not {cls.kind}")
        return cls(kernel, recurrent_kernel, bias, batched=False, **kw)

    @classmethod
    def from_torch(cls, module: torch.nn.Module, *, dtype: torch.dtype | None = None, device: Any = None) -> "Cell":
        """A single cell with the weights of a one-layer ``torch.nn.RNN(tanh)/LSTM/GRU`` (or ``*Cell``).

        Raises:
            TypeError: for a module of another kind than ``cls``.
            ValueError: for multi-layer, bidirectional or projected modules.
        """
        from ._convert import from_torch

        cell = from_torch(module, dtype=dtype, device=device)
        if cls is not Cell and not isinstance(cell, cls):
            raise TypeError(f"{cls.__name__}.from_torch got a torch module for {cell.kind}")
        return cell

    @classmethod
    def init(
        cls,
        *,
        units: int = 1,
        input_dim: int = 1,
        seed: int | Sequence[int] = 0,
        scheme: str = "keras2",
        recurrent_activation: str | None = None,
        reset_after: bool | None = None,
        dtype: torch.dtype = torch.float32,
        device: Any = None,
    ) -> "Cell":
        """A cell drawn from an initialisation scheme.

        Args:
            units: hidden size.
            input_dim: input size.
            seed: an integer gives a single cell; a sequence of integers a batched one, model ``m`` drawn from
                ``seed[m]`` exactly as it would be alone.
            scheme: ``"keras2"`` or ``"torch"`` (see :data:`dynlatch.cells.INIT_SCHEMES`).
            recurrent_activation, reset_after: override the scheme's defaults.
            dtype, device: where the parameters live.
        """
        check_scheme(scheme)
        if units < 1 or input_dim < 1:
            raise ValueError(f"units and input_dim must be >= 1; got units={units}, input_dim={input_dim}")
        opts = default_options(cls.kind, scheme)
        if recurrent_activation is not None:
            opts["recurrent_activation"] = recurrent_activation
        if reset_after is not None:
            if cls.kind != "gru":
                raise ValueError(f"reset_after applies to GRU only, not {cls.kind}")
            opts["reset_after"] = bool(reset_after)
        batched = not isinstance(seed, (int, np.integer))
        seeds = [int(s) for s in seed] if batched else [int(seed)]
        if not seeds:
            raise ValueError("seed must be an integer or a non-empty sequence of integers")
        arrays = [
            initial_arrays(cls.kind, cls.n_gates, units=units, input_dim=input_dim, scheme=scheme,
                           reset_after=bool(opts.get("reset_after", False)), rng=model_rng(s, INIT_STREAM))
            for s in seeds
        ]
        W, U, b = (np.stack(parts) for parts in zip(*arrays))
        cell = cls(W, U, b, batched=True, dtype=dtype, device=device, **opts)
        cell.batched = batched
        return cell

    def to_torch(self) -> torch.nn.Module:
        """A ``torch.nn.RNN/LSTM/GRU`` (one layer, ``batch_first=True``) computing the same map (single cells).

        Raises:
            ValueError: for batched cells, hard-sigmoid gates, or GRU with ``reset_after=False``.
        """
        from ._convert import to_torch

        return to_torch(self)

    def save(self, path: Any):
        """Write the cell in Keras layout to a ``.json`` or ``.npz`` file (see :func:`dynlatch.cells.load`)."""
        from ._io import save

        return save(self, path)

    # -- structure -------------------------------------------------------------------------------------------
    @property
    def bias_rows(self) -> int:
        """Rows of the bias: 2 for GRU with ``reset_after`` (input and recurrent bias), else 1."""
        return 1

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
    def dtype(self) -> torch.dtype:
        return self.params.kernel.dtype

    @property
    def device(self) -> torch.device:
        return self.params.kernel.device

    def _options(self) -> dict[str, Any]:
        """Constructor keywords other than the arrays (overridden by GRU for ``reset_after``)."""
        return {"recurrent_activation": self.recurrent_activation}

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
        """A copy with parameters cast to ``dtype`` and/or moved to ``device``."""
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
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items() if self.kind != "srnn")
        return f"{type(self).__name__}({m}units={self.units}, input_dim={self.input_dim}{', ' if opts else ''}{opts})"

    # -- dynamics ----------------------------------------------------------------------------------------------
    @property
    def gate(self):
        return gate_function(self.recurrent_activation)

    def step_batched(self, state: State, x: Tensor) -> State:
        """One step with explicit model dimension: state (M, B, n) (LSTM: a pair), x (M, B, D) or (B, D)."""
        raise NotImplementedError

    def hidden(self, state: State) -> Tensor:
        """The hidden output ``h`` of a state (the state itself, or ``h`` of LSTM's ``(h, c)``)."""
        return state

    def zero_state(self, batch: int) -> State:
        """The zero state, with model dimension: (M, batch, units) (LSTM: a pair)."""
        return torch.zeros(self.models, batch, self.units, dtype=self.dtype, device=self.device)

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
            state: (batch, units) for a single cell, (M, batch, units) for a batched one; LSTM takes ``(h, c)``.
                ``None`` means the zero state.
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
        hs = []
        for t in range(x.shape[-2]):
            s = self.step_batched(s, x[..., t, :])
            hs.append(self.hidden(s))
        h = torch.stack(hs, dim=-2)
        if not self.batched:
            h = h.squeeze(0)
        return (h, self._state_out(s)) if return_state else h


def kernel_shape(a: Any) -> tuple[int, ...]:
    return tuple(np.shape(a.detach().cpu() if isinstance(a, torch.Tensor) else a))
