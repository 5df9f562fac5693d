"""Maps: batched functions state -> next state, the one object every dynamics tool works on.

A map advances ``M`` independent models at once: ``f(state (M, B, d), x (M, B, D) or None) -> (M, B, d)``, with the
state flattened to a vector (an LSTM's state is ``[h, c]``, h first). Cells, Bengio's neuron, Pascanu's neuron and any
user function are maps. Everything is float64.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from .._checks import CheckError, integer, real_array

Tensor = torch.Tensor
StepFunction = Callable[[dict[str, Tensor], Tensor, "Tensor | None"], Tensor]

DTYPE = torch.float64


class Map:
    """A batched map ``s_{t+1} = F(s_t, x_t)`` over ``models`` independent models.

    Args:
        step: ``step(params, state, x)`` with ``params`` a dict of (M,) tensors, ``state`` (M, B, d) and ``x``
            (M, B, input_dim) or None (autonomous maps have ``input_dim = 0``); returns (M, B, d).
        state_dim: d.
        input_dim: D (0 for an autonomous map).
        models: M.
        params: named parameters, one value per model (broadcast from scalars).
        name: a label.
        cell: the cell a map was built from (so that one-unit finders can read its parameters), else None.
        device: where tensors live.

    Raises:
        ValueError: for non-positive sizes or parameters that are not one value per model.
    """

    def __init__(
        self,
        step: StepFunction,
        *,
        state_dim: int,
        input_dim: int = 0,
        models: int = 1,
        params: Mapping[str, Any] | None = None,
        name: str = "map",
        cell: Any = None,
        device: Any = None,
    ) -> None:
        if int(state_dim) < 1 or int(input_dim) < 0 or int(models) < 1:
            raise ValueError(
                f"a map needs state_dim >= 1, input_dim >= 0 and models >= 1; got {state_dim}, {input_dim}, {models}"
            )
        self.step = step
        self.state_dim = int(state_dim)
        self.input_dim = int(input_dim)
        self.models = int(models)
        self.name = name
        self.cell = cell
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.params: dict[str, Tensor] = {}
        for key, value in (params or {}).items():
            t = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=DTYPE, device=self.device).reshape(-1)
            if t.numel() == 1:
                t = t.expand(self.models).clone()
            if t.shape != (self.models,):
                raise ValueError(f"parameter {key!r} must be a scalar or one value per model ({self.models}); got {tuple(t.shape)}")
            if not torch.isfinite(t).all():
                raise ValueError(f"parameter {key!r} contains NaN or inf")
            self.params[key] = t

    def __call__(self, state: Tensor, x: Tensor | None = None) -> Tensor:
        """One step: state (M, B, d), x (M, B, D) or None (zeros for a driven map) -> (M, B, d)."""
        if x is None and self.input_dim > 0:
            x = torch.zeros(*state.shape[:-1], self.input_dim, dtype=state.dtype, device=state.device)
        return self.step(self.params, state, x)

    def with_params(self, **values: Any) -> "Map":
        """A copy with some named parameters replaced (scalars or one value per model).

        Raises:
            ValueError: for a name the map does not have.
        """
        unknown = set(values) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name} has no parameter {sorted(unknown)[0]!r}; it has {sorted(self.params)}")
        params = {**{k: v.cpu().numpy() for k, v in self.params.items()}, **values}
        return Map(self.step, state_dim=self.state_dim, input_dim=self.input_dim, models=self.models, params=params,
                   name=self.name, cell=self.cell, device=self.device)

    def __getitem__(self, index: int) -> "Map":
        """The map of model ``index`` alone (M = 1)."""
        index = int(index)
        if not -self.models <= index < self.models:
            raise ValueError(f"model index {index} out of range for {self.models} models")
        if self.cell is not None:
            return cell_map(self.cell[[index % self.models]])
        params = {k: v[index].cpu().numpy() for k, v in self.params.items()}
        return Map(self.step, state_dim=self.state_dim, input_dim=self.input_dim, models=1, params=params,
                   name=self.name, device=self.device)

    def __repr__(self) -> str:
        return f"Map({self.name}, models={self.models}, state_dim={self.state_dim}, input_dim={self.input_dim})"


def cell_map(cell: Any) -> Map:
    """The map of a cell, built from its own ``step_batched`` (no second copy of the gate equations).

    The state is the cell's flattened state (:meth:`dynlatch.cells.Cell.flatten_state`): ``h`` (SRNN, GRU) or the
    vector ``[h, c]`` (LSTM, h first), so ``state_dim`` is n or 2n. The cell is cast to float64.
    """
    cell = cell.to(dtype=DTYPE)

    def step(params: dict[str, Tensor], state: Tensor, x: Tensor | None) -> Tensor:
        return cell.flatten_state(cell.step_batched(cell.unflatten_state(state), x))

    return Map(step, state_dim=cell.state_dim, input_dim=cell.input_dim, models=cell.models,
               name=cell.kind, cell=cell, device=cell.device)


def bengio_neuron(w: Any, *, device: Any = None) -> Map:
    r"""Bengio, Simard & Frasconi (1994)'s latching neuron :math:`a_t = w \tanh(a_{t-1}) + h_t`, input ``h_t`` (D = 1).

    Args:
        w: recurrent weight, a scalar or one per model.
    """
    w_arr = np.atleast_1d(np.asarray(w, dtype=np.float64))

    def step(params: dict[str, Tensor], a: Tensor, h: Tensor | None) -> Tensor:
        return params["w"][:, None, None] * torch.tanh(a) + h

    return Map(step, state_dim=1, input_dim=1, models=w_arr.size, params={"w": w_arr}, name="bengio", device=device)


def pascanu_neuron(w: Any, b: Any, *, device: Any = None) -> Map:
    r"""Pascanu, Mikolov & Bengio (2013, Fig. 6)'s autonomous unit :math:`x_t = w\,\sigma(x_{t-1}) + b`.

    Args:
        w, b: scalars or one value per model (broadcast against each other).
    """
    w_arr, b_arr = np.broadcast_arrays(np.atleast_1d(np.asarray(w, dtype=np.float64)),
                                       np.atleast_1d(np.asarray(b, dtype=np.float64)))

    def step(params: dict[str, Tensor], s: Tensor, x: Tensor | None) -> Tensor:
        return params["w"][:, None, None] * torch.sigmoid(s) + params["b"][:, None, None]

    return Map(step, state_dim=1, input_dim=0, models=w_arr.size, params={"w": w_arr.copy(), "b": b_arr.copy()},
               name="pascanu", device=device)


def function_map(fn: Callable[[Tensor, "Tensor | None"], Tensor], *, state_dim: int, input_dim: int = 0,
                 models: int = 1, name: str = "function", device: Any = None) -> Map:
    """A map from any callable ``fn(state, x)`` on tensors whose last axis is the state (x None if autonomous).

    Example (the Henon map): ``function_map(lambda s, x: torch.stack([1 - 1.4 * s[..., 0]**2 + s[..., 1],
    0.3 * s[..., 0]], -1), state_dim=2)``.
    """
    return Map(lambda params, s, x: fn(s, x), state_dim=state_dim, input_dim=input_dim, models=models, name=name,
               device=device)


def as_map(obj: Any, name: str = "map_or_cell") -> Map:
    """``obj`` (the argument ``name``) as a :class:`Map`: a map is returned as is, a cell converted by
    :func:`cell_map`.

    Raises:
        ValueError: naming ``name`` for anything else (wrap a plain callable with :func:`function_map`).
    """
    if isinstance(obj, Map):
        return obj
    if hasattr(obj, "step_batched") and hasattr(obj, "params"):
        return cell_map(obj)
    raise CheckError(name, f"must be a dynlatch cell or dynamics.Map; got {type(obj).__name__} (wrap callables with "
                           "function_map)")


def state_tensor(m: Map, state: Any, *, name: str = "state") -> Tensor:
    """``state`` as a float64 (M, B, d) tensor: accepts (d,) (shared), (M, d) or (M, B, d).

    Raises:
        ValueError: naming ``name`` for a wrong shape or non-finite values.
    """
    s = torch.as_tensor(real_array(name, state, finite=False), dtype=DTYPE, device=m.device)
    if s.ndim == 0 and m.state_dim == 1:
        s = s.reshape(1)
    if s.ndim == 1:
        s = s.expand(m.models, s.shape[0])
    if s.ndim == 2:
        s = s.unsqueeze(1)
    if s.ndim != 3 or s.shape[0] != m.models or s.shape[-1] != m.state_dim:
        raise ValueError(f"{name} must have shape (d,), (M, d) or (M, B, d) with M={m.models}, d={m.state_dim}; "
                         f"got {tuple(np.shape(state))}")
    if not torch.isfinite(s).all():
        raise ValueError(f"{name} contains NaN or inf")
    return s.contiguous()


def input_tensor(m: Map, x: Any, batch: int, *, name: str = "x") -> Tensor | None:
    """One step's input as (M, B, D): a scalar fills every input, (D,) is shared, (M, D) or (M, B, D) per model.

    Returns None for an autonomous map (``x`` must then be None).

    Raises:
        ValueError: naming ``name`` for a wrong shape.
    """
    if m.input_dim == 0:
        if x is not None and not (np.isscalar(x) and float(x) == 0.0):
            raise ValueError(f"{name} must be None for an autonomous map")
        return None
    if x is None:
        x = 0.0
    t = torch.as_tensor(real_array(name, x, finite=False), dtype=DTYPE, device=m.device)
    if t.ndim == 0:
        t = t.expand(m.input_dim)
    if t.ndim == 1:
        t = t.expand(m.models, t.shape[0])
    if t.ndim == 2:
        t = t.unsqueeze(1)
    if t.ndim != 3 or t.shape[0] != m.models or t.shape[-1] != m.input_dim or t.shape[1] not in (1, batch):
        raise ValueError(f"{name} must be a scalar, (D,), (M, D) or (M, B, D) with M={m.models}, D={m.input_dim}; "
                         f"got {tuple(np.shape(x))}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
    return t.expand(m.models, batch, m.input_dim).contiguous()


def input_sequence(m: Map, inputs: Any, steps: int | None) -> tuple[Tensor | None, int]:
    """A driving sequence as (M, T, D) and its length T.

    ``inputs`` (T, D) is shared by all models, (M, T, D) is one sequence per model; an autonomous map takes
    ``steps`` instead (and a driven map with ``inputs=None`` is run with zero input for ``steps`` steps).

    Raises:
        ValueError: for wrong shapes or when neither or both of ``inputs`` and ``steps`` are usable.
    """
    if inputs is None:
        if steps is None:
            raise ValueError("steps must be a positive integer when inputs is None")
        T = integer("steps", steps, minimum=1)
        if m.input_dim == 0:
            return None, T
        return torch.zeros(m.models, T, m.input_dim, dtype=DTYPE, device=m.device), T
    if m.input_dim == 0:
        raise ValueError("inputs must be None for an autonomous map (give steps)")
    u = torch.as_tensor(np.asarray(inputs.detach().cpu() if isinstance(inputs, Tensor) else inputs, dtype=np.float64),
                        dtype=DTYPE, device=m.device)
    if u.ndim == 2:
        u = u.unsqueeze(0).expand(m.models, *u.shape)
    if u.ndim != 3 or u.shape[0] != m.models or u.shape[-1] != m.input_dim or u.shape[1] < 1:
        raise ValueError(f"inputs must be (T, {m.input_dim}) or ({m.models}, T, {m.input_dim}); got {tuple(np.shape(inputs))}")
    if steps is not None and int(steps) != u.shape[1]:
        raise ValueError(f"steps={steps} disagrees with the {u.shape[1]} input steps")
    if not torch.isfinite(u).all():
        raise ValueError("inputs contains NaN or inf")
    return u.contiguous(), u.shape[1]
