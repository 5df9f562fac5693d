"""Training many replicate models at once: one batched program, independent models.

Each model has its own initialisation, data order and optimizer state, all fixed by its seed, so model ``m`` trained
alone gives the same result as inside a batch. Two backends compute the same thing:

* ``"numba"`` (CPU): compiled forward, hand-derived backward through time and Adam, one model per thread, float64
  (:mod:`dynlatch._fastpath`). Orders of magnitude faster than per-model ``torch.nn`` for small cells.
* ``"torch"``: the :mod:`dynlatch.cells` reference implementation with autograd and ``torch.optim.Adam``, on any
  device and dtype. It is the oracle the numba backend is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import torch

from . import _checks
from . import _fastpath as fp
from ._activations import gate_code
from ._data_checks import check_dataset
from ._model import Model
from ._progress import progress_bar
from .cells import CellParams
from .cells._init import ORDER_STREAM, model_rng
from .tasks import Dataset

BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
"""``"adam"``: ``torch.optim.Adam`` (Keras' epsilon 1e-7 by default); ``"sgd"``: ``torch.optim.SGD`` without momentum,
p <- p - lr g, the update whose step is the gradient itself (no per-parameter rescaling)."""
METRICS: tuple[str, ...] = ("train_loss", "train_acc", "val_loss", "val_acc")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the final models (diverged ones keep the parameters that produced the non-finite value).
        history: ``train_loss``, ``train_acc`` (running means over the epoch's batches, as Keras reports them),
            ``val_loss``, ``val_acc`` (after the epoch), each (M, epochs); NaN once a model has diverged.
        diverged: (M,) whether the model's loss or gradient became NaN/inf.
        epochs_run: (M,) number of completed epochs.
        backend: the backend that ran.
        epoch_models: with ``record_epochs``, the models after each epoch (``epoch_models[-1]`` is ``model``).
    """

    model: Model
    history: dict[str, np.ndarray]
    diverged: np.ndarray
    epochs_run: np.ndarray
    backend: str
    settings: dict[str, Any] = field(default_factory=dict)
    epoch_models: list[Model] | None = None

    def final(self, metric: str) -> np.ndarray:
        """The last epoch's value of ``metric`` per model (NaN for diverged models)."""
        return self.history[metric][:, -1]


def _check(model: Model, data: Dataset, *, epochs: int, batch_size: int, lr: float, clip_norm: float | None,
           backend: str, optimizer: str) -> None:
    """The trainer's settings, checked with the one shared set of checks (:mod:`dynlatch._checks`)."""
    _checks.instance("model", model, Model, "a dynlatch.Model (see Model.init)")
    _checks.integer("epochs", epochs, minimum=1)
    _checks.integer("batch_size", batch_size, minimum=1)
    _checks.number("lr", lr, above=0)
    if clip_norm is not None:
        _checks.number("clip_norm", clip_norm, above=0)
    _checks.choice("backend", backend, BACKENDS)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)


PARAMETER_GROUPS: tuple[str, ...] = ("cell", "readout")
"""What :func:`train` can train or freeze: the cell's kernel, recurrent kernel and bias; the read-out's W_out, b_out."""


def _trainable_groups(trainable: Sequence[str]) -> tuple[str, ...]:
    if isinstance(trainable, str):
        trainable = (trainable,)
    groups = tuple(dict.fromkeys(trainable))
    for g in groups:
        _checks.choice("trainable", g, PARAMETER_GROUPS)
    if not groups:
        raise _checks.CheckError("trainable", f"needs at least one of {', '.join(PARAMETER_GROUPS)}")
    return groups


def group_mask(model: Model, trainable: Sequence[str]) -> list[bool]:
    """Per tensor of :meth:`Model.parameters` (kernel, recurrent kernel, bias, W_out, b_out): is it trained."""
    return [group in trainable for group in ("cell",) * 3 + ("readout",) * 2]


def resolve_backend(backend: str, device: Any, cell: Any = None) -> str:
    """``"auto"`` means numba on the CPU (for cells with a compiled kernel) and torch otherwise.

    Raises:
        ValueError: for numba off the CPU, or for a cell kind without a kernel.
    """
    on_cpu = device is None or torch.device(device).type == "cpu"
    has_kernel = cell is None or cell.kernel_code() is not None
    if backend == "auto":
        return "numba" if on_cpu and has_kernel else "torch"
    if backend == "numba" and not on_cpu:
        raise ValueError("the numba backend runs on the CPU; use backend='torch' for device " + str(device))
    if backend == "numba" and not has_kernel:
        raise ValueError(f"{cell.kind} has no compiled kernel; use backend='torch'")
    return backend


def train(
    model: Model,
    data: Dataset,
    *,
    epochs: int = 5,
    batch_size: int = 16,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-7,
    clip_norm: float | None = None,
    optimizer: str = "adam",
    trainable: Sequence[str] = PARAMETER_GROUPS,
    record_epochs: bool = False,
    backend: str = "auto",
    device: Any = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``model.models`` independent models on ``data`` with minibatch Adam (or SGD).

    The defaults are the question's: batch 16, 5 epochs, Adam lr 1e-3 with Keras' epsilon 1e-7, training data
    reshuffled every epoch (per model, from the model seed's order stream).

    Args:
        model: the initial models (:meth:`Model.init`).
        data: a task split (:mod:`dynlatch.tasks`).
        epochs: passes over the training set.
        batch_size: sequences per update.
        lr: the learning rate (the update is ``torch.optim.Adam``'s, or plain gradient steps for SGD).
        betas: Adam's moment decay rates (unused by SGD).
        eps: Adam's denominator offset (unused by SGD).
        optimizer: ``"adam"`` or ``"sgd"`` (:data:`OPTIMIZERS`).
        clip_norm: rescale a model's gradient to this norm when it is larger (Pascanu et al. 2013); None disables.
        trainable: the parameter groups trained (:data:`PARAMETER_GROUPS`): ``"cell"`` (kernel, recurrent kernel,
            bias) and ``"readout"`` (W_out, b_out). The others are frozen: their gradient is zeroed before the norm
            and the update, so they end bit-identical to their initial values; ``("readout",)`` trains the read-out
            on the initial cell's states (the read-out-only baseline of "it learned"). The numba backend then
            runs the cell once and trains the read-out on its stored final states, with the same arithmetic.
        record_epochs: keep the models after every epoch (:attr:`TrainResult.epoch_models`).
        backend: ``"auto"``, ``"numba"`` or ``"torch"`` (see the module docstring).
        device: torch device for the torch backend (default CPU).
        progress: show a progress bar on stderr.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: for inconsistent data or settings.
    """
    _check(model, data, epochs=epochs, batch_size=batch_size, lr=lr, clip_norm=clip_norm, backend=backend,
           optimizer=optimizer)
    trainable = _trainable_groups(trainable)
    if model.seeds is None:
        raise ValueError("model has no seeds; train needs them (they fix each model's data order)")
    x_train, y_train, x_val, y_val = check_dataset(data, input_dim=model.cell.input_dim, readout=model.readout,
                                                   classes=model.weight.shape[-1])
    data = replace(data, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
    backend = resolve_backend(backend, device, model.cell)
    rngs = [model_rng(s, ORDER_STREAM) for s in model.seeds]
    orders = lambda: np.stack([rng.permutation(len(data.y_train)) for rng in rngs])  # noqa: E731
    settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, betas=betas, eps=eps, clip_norm=clip_norm,
                    optimizer=optimizer, trainable=trainable)
    run = _train_numba if backend == "numba" else _train_torch
    snapshots: list[Model] | None = [] if record_epochs else None
    with progress_bar(epochs, f"train {model.cell.kind} x{model.models}", enabled=progress) as bar:
        final, history, active = run(model, data, orders, bar=bar, device=device, snapshots=snapshots, **settings)
    diverged = ~active
    epochs_run = np.isfinite(history["val_acc"]).sum(1)
    return TrainResult(final, history, diverged, epochs_run, backend, settings, snapshots)


# -- numba ---------------------------------------------------------------------------------------------------
def pack(model: Model) -> np.ndarray:
    """The flat float64 parameter matrix (M, P) of :mod:`dynlatch._fastpath`'s layout."""
    W, U, b = (t.detach().cpu().double().numpy() for t in model.cell.params)
    M = W.shape[0]
    b2 = np.zeros((M, 2, b.shape[-1]))
    b2[:, : b.shape[1]] = b
    parts = [W, U, b2, model.weight.detach().cpu().double().numpy(), model.bias.detach().cpu().double().numpy()]
    return np.ascontiguousarray(np.concatenate([p.reshape(M, -1) for p in parts], axis=1))


def trainable_vector(model: Model, trainable: Sequence[str]) -> np.ndarray:
    """(P,) 1.0 where :func:`pack`'s flat layout holds a trained parameter, 0.0 where it holds a frozen one."""
    W, U, _ = model.cell.params
    K = W.shape[-1]
    sizes = [W[0].numel(), U[0].numel(), 2 * K, model.weight[0].numel(), model.bias[0].numel()]
    return np.repeat(np.array(group_mask(model, trainable), dtype=np.float64), sizes)


def unpack(model: Model, theta: np.ndarray) -> Model:
    """A copy of ``model`` with parameters from the flat matrix ``theta`` (inverse of :func:`pack`)."""
    shapes = [tuple(t.shape) for t in model.parameters()]
    W, U, b = model.cell.params
    M, K = W.shape[0], W.shape[-1]
    sizes = [int(np.prod(s[1:])) for s in shapes]
    sizes[2] = 2 * K  # two bias rows in the flat layout
    pieces = np.split(theta, np.cumsum(sizes)[:-1], axis=1)
    pieces[2] = pieces[2].reshape(M, 2, K)[:, : b.shape[1]]
    like = model.weight
    tensors = [torch.as_tensor(p.reshape(s).copy(), dtype=like.dtype, device=like.device) for p, s in zip(pieces, shapes)]
    cell = model.cell.replace(CellParams(*tensors[:3]))
    return Model(cell, tensors[3], tensors[4], model.seeds, model.readout)


def kernel_codes(model: Model) -> tuple[int, int, bool, int, int]:
    """(kind, gate, softmax, units, classes) codes of a model for the kernels."""
    cell = model.cell
    kind = cell.kernel_code()
    return kind, gate_code(cell.recurrent_activation), model.readout == "softmax", cell.units, model.weight.shape[-1]


def _train_numba(model, data, orders, *, bar, device, snapshots, epochs, batch_size, lr, betas, eps, clip_norm,
                 optimizer, trainable):
    kind, act, softmax, n, C = kernel_codes(model)
    theta = pack(model)
    mask = trainable_vector(model, trainable)
    readout_only = trainable == ("readout",)
    M = theta.shape[0]
    adam_m, adam_v = np.zeros_like(theta), np.zeros_like(theta)
    steps = np.zeros(M, dtype=np.int64)
    active = np.ones(M, dtype=np.bool_)
    X, Xv = (np.ascontiguousarray(a, dtype=np.float64) for a in (data.x_train, data.x_val))
    Y, Yv = (np.ascontiguousarray(a, dtype=np.int64) for a in (data.y_train, data.y_val))
    history = np.full((M, epochs, 4), np.nan)
    active &= np.isfinite(theta).all(1)
    row = np.empty((M, 4))  # contiguous, whatever the epoch count: one kernel signature (history[:, e] is not)
    step = (float(lr), float(betas[0]), float(betas[1]), float(eps), optimizer == "sgd", float(clip_norm or 0.0))
    path = fp.path_for(int(kind), int(n), X.shape[2])
    if readout_only:  # the cell is frozen: run it once, train the read-out on its final states
        HT, HTv = (fp.final_states(path, int(kind), int(act), theta, a, int(n), fp.EVAL_CHUNK) for a in (X, Xv))
        o_readout = fp.layout(int(kind), int(n), X.shape[2], int(C))[4]
    for e in range(epochs):
        perms = np.ascontiguousarray(orders(), dtype=np.int64)
        if readout_only:
            fp.train_readout_epoch(bool(softmax), int(n), int(C), o_readout, theta, adam_m, adam_v, steps, active,
                                   HT, Y, perms, int(batch_size), *step, HTv, Yv, row)
        else:
            fp.train_epoch(path, int(kind), int(act), bool(softmax), int(n), int(C), theta, adam_m, adam_v, steps,
                           active, X, Y, perms, int(batch_size), *step, mask, Xv, Yv, row)
        history[:, e] = row
        if snapshots is not None:
            snapshots.append(unpack(model, theta.copy()))
        bar.update(1)
    return unpack(model, theta), {k: history[:, :, i] for i, k in enumerate(METRICS)}, active


# -- torch ---------------------------------------------------------------------------------------------------
def _train_torch(model, data, orders, *, bar, device, snapshots, epochs, batch_size, lr, betas, eps, clip_norm,
                 optimizer, trainable):
    model = model.to(device=device)
    dev, dtype = model.weight.device, model.weight.dtype
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    opt = (torch.optim.SGD(params, lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr, betas=betas, eps=eps))
    trained = group_mask(model, trainable)
    X, Xv = (torch.as_tensor(a, dtype=dtype, device=dev) for a in (data.x_train, data.x_val))
    Y, Yv = (torch.as_tensor(a, device=dev) for a in (data.y_train, data.y_val))
    M, N = model.models, len(Y)
    active = torch.stack([torch.isfinite(p.detach()).flatten(1).all(1) for p in params]).all(0)
    history = np.full((M, epochs, 4), np.nan)

    def current() -> Model:
        return Model(model.cell.replace(CellParams(*params[:3])), params[3], params[4], model.seeds, model.readout)

    for e in range(epochs):
        perms = torch.as_tensor(orders(), device=dev)
        total_loss = torch.zeros(M, dtype=torch.float64, device=dev)
        total_correct = torch.zeros(M, dtype=torch.long, device=dev)
        for start in range(0, N, batch_size):
            idx = perms[:, start : start + batch_size]
            loss, correct = current().losses(X[idx], Y[idx])
            opt.zero_grad(set_to_none=False)
            torch.where(active, loss, torch.zeros_like(loss)).sum().backward()
            for p, on in zip(params, trained):
                if not on:
                    p.grad.zero_()
            norm2 = sum(p.grad.flatten(1).pow(2).sum(1) for p in params)
            active &= torch.isfinite(loss.detach()) & torch.isfinite(norm2)
            scale = torch.ones_like(norm2)
            if clip_norm is not None:
                scale = torch.where(norm2 > clip_norm**2, clip_norm / norm2.sqrt(), scale)
            scale = torch.where(active, scale, torch.zeros_like(scale))
            frozen = [p.detach().clone() for p in params]
            for p in params:
                p.grad.mul_(scale.view(-1, *[1] * (p.ndim - 1)))
                p.grad.nan_to_num_(0.0)
            opt.step()
            with torch.no_grad():
                for p, f in zip(params, frozen):
                    p[~active] = f[~active]
            total_loss += loss.detach().double() * idx.shape[1]
            total_correct += correct
        with torch.no_grad():
            val_loss, val_correct = current().losses(Xv, Yv)
        rows = torch.stack([total_loss / N, total_correct.double() / N, val_loss.double(),
                            val_correct.double() / len(Yv)], 1).cpu().numpy()
        rows[~active.cpu().numpy()] = np.nan
        history[:, e] = rows
        if snapshots is not None:
            snapshots.append(_detached(model, params))
        bar.update(1)
    return _detached(model, params), {k: history[:, :, i] for i, k in enumerate(METRICS)}, active.cpu().numpy()


def _detached(model: Model, params: Sequence[torch.Tensor]) -> Model:
    """``model`` with a detached copy of the trained tensors ``params``."""
    copies = [p.detach().clone() for p in params]
    return Model(model.cell.replace(CellParams(*copies[:3])), copies[3], copies[4], model.seeds, model.readout)
