"""The public batched evaluator: loss, accuracy, parameter gradients and state-gradient norms of M models at once.

Two backends compute the same numbers:

* ``"numba"`` (CPU, float64): the compiled forward and hand-derived backward kernels of :mod:`dynlatch._fastpath`
  (the ones training uses), one model per thread, sequences in chunks.
* ``"torch"``: autograd through the cells' step functions (:mod:`dynlatch.cells`) in the model's dtype, on any device;
  it is the oracle the numba backend is tested against (equal to 1e-12 in float64).

Losses (per model, the mean over the N sequences):

* ``"readout"``: the model's dense read-out on h_T: softmax + cross-entropy with labels ``y`` in {0, .., C-1}, or
  sigmoid + binary cross-entropy with labels in {0, 1}, exactly as :meth:`dynlatch.Model.losses`.
* ``"squared_error"``: Bengio, Simard & Frasconi (1994), eq. (1): C_p = 1/2 sum_j (h_T^j - d_p^j)^2 for sequence p with
  target d_p, here *averaged* over the N sequences (L = 1/N sum_p C_p), so that it is on the scale of the read-out
  losses and independent of N; both backends use this mean. No read-out is involved, so ``model`` may be a bare cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np
import torch

from . import _fastpath as fp
from . import _tangents
from ._activations import gate_code
from ._data_checks import check_arrays, check_target
from ._losses import LOSS_SIGMOID, LOSS_SOFTMAX, LOSS_SQUARED_ERROR
from ._model import Model
from ._train import BACKENDS, resolve_backend
from .cells import Cell, CellParams

LOSSES: tuple[str, ...] = ("readout", "squared_error")
DEFAULT_CHUNK: tuple[int, int] = (1024, 64)
"""(models, sequences) per chunk: the torch backend holds ~chunk[0] * chunk[1] * T states (plus autograd's graph) at
once; the numba backend converts chunk[0] models per kernel call and runs chunk[1] sequences per forward pass."""
TANGENT_CHUNK: tuple[int, int] = (1024, 256)
"""The default chunk of the forward-mode (``wrt=``) numba path, which stores no trajectory: longer passes over the
sequences amortise the per-step loop overhead (16% faster than 64 sequences on a 64 x 64 latching surface)."""

ArrayLike = Any
State = Union[ArrayLike, tuple[ArrayLike, ArrayLike]]


@dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` returns (M = number of models, T = sequence length).

    Attributes:
        loss: (M,) mean loss over the sequences.
        accuracy: (M,) fraction classified correctly by the read-out; None for the squared error.
        grads: dLoss/dparameter keyed by Keras names (``W``, ``U``, ``b``; LSTM ``W_i`` ... ``b_o``; GRU ``W_z`` ...
            ``b_h`` and ``br_*`` for reset_after; ``W_out``, ``b_out`` for a read-out loss), each with the model
            dimension first, e.g. ``grads["U_f"]`` (M, n, n); every parameter for ``grad=True``, the named ones only
            for ``wrt=``; None unless asked for. NaN where the loss is not finite.
        state_grad_norms: (M, T + 1) ||dLoss/ds_t|| for t = 0..T, s_t the full state of all N sequences at step t
            ((h_t, c_t) for the LSTM; s_0 the initial state), i.e. the Frobenius norm of the (N, state) gradient
            matrix; None unless asked for. The state parts are the coordinates of the dynamical system
            s_t = F(s_{t-1}, x_t): dLoss/dc_t holds h_t fixed (it is not the total derivative through h_t = o_t
            tanh(c_t)), and as the loss reads h_T only, dLoss/dc_T = 0.
        backend: the backend that ran.
    """

    loss: np.ndarray
    accuracy: np.ndarray | None
    grads: dict[str, np.ndarray] | None
    state_grad_norms: np.ndarray | None
    backend: str


# -- inputs ----------------------------------------------------------------------------------------------------------
def _split(model: Model | Cell) -> tuple[Cell, Model | None]:
    if isinstance(model, Model):
        return model.cell, model
    if isinstance(model, Cell):
        return model, None
    raise ValueError(f"model must be a dynlatch.Model or a cell; got {type(model).__name__}")


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _initial_state(h0: State | None, cell: Cell) -> np.ndarray:
    """(M, 2, n) float64: row 0 h_0, row 1 c_0 (LSTM), from None, (n,) or (M, n) per part.

    Raises:
        ValueError: naming ``h0``.
    """
    M, n = cell.models, cell.units
    out = np.zeros((M, 2, n))
    if h0 is None:
        return out
    lstm = len(cell.state_names) == 2  # (h, c)
    if lstm:
        if not (isinstance(h0, (tuple, list)) and len(h0) == 2):
            raise ValueError("h0 of an LSTM must be a pair (h0, c0), each (units,) or (models, units)")
        parts = [("h0[0]", h0[0]), ("h0[1]", h0[1])]
    else:
        parts = [("h0", h0)]
    for row, (name, part) in enumerate(parts):
        a = _as_numpy(part)
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be a real numeric array; got dtype {a.dtype}")
        if a.shape not in ((n,), (M, n)) and not (M == 1 and a.shape == (1, n)):
            raise ValueError(f"{name} must have shape ({n},) or ({M}, {n}); got {a.shape}")
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf values")
        out[:, row] = a
    return out


def _check_settings(loss: str, grad: bool, state_grads: bool, chunk: Any) -> tuple[int, int]:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    for name, v in (("grad", grad), ("state_grads", state_grads)):
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {v!r}")
    if isinstance(chunk, (int, np.integer)) and not isinstance(chunk, bool):
        chunk = (DEFAULT_CHUNK[0], int(chunk))
    if not (isinstance(chunk, (tuple, list)) and len(chunk) == 2
            and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 1 for c in chunk)):
        raise ValueError(f"chunk must be (models, sequences) per chunk, two integers >= 1 (or one for sequences); "
                         f"got {chunk!r}")
    return int(chunk[0]), int(chunk[1])


# -- the evaluator ----------------------------------------------------------------------------------------------------
def evaluate(
    model: Model | Cell,
    x: ArrayLike,
    y: ArrayLike | None = None,
    *,
    loss: str = "readout",
    target: ArrayLike | None = None,
    grad: bool = False,
    wrt: Sequence[str] | None = None,
    state_grads: bool = False,
    h0: State | None = None,
    backend: str = "auto",
    device: Any = None,
    chunk: int | tuple[int, int] | None = None,
) -> EvalResult:
    """Loss, accuracy and optionally gradients of every model of ``model`` on the sequences ``x``.

    Args:
        model: a :class:`dynlatch.Model` (M models: cell plus read-out) or, for ``loss="squared_error"``, a bare cell
            (batched or single). No seeds are needed.
        x: inputs (N, T, D) shared by all models, D = the cell's input_dim.
        y: labels (N,) for ``loss="readout"`` (0..C-1 for softmax, {0, 1} for sigmoid); must be None otherwise.
        loss: ``"readout"`` or ``"squared_error"`` (see the module docstring; the latter is averaged over sequences).
        target: the squared error's target d: (n,) for every sequence or (N, n) per sequence.
        grad: also return dLoss/dparameter by Keras name (see :class:`EvalResult`), for every parameter (reverse
            mode: one backward pass through time over the stored trajectory).
        wrt: Keras names of the parameters whose gradient is wanted (implies ``grad``); ``grads`` then holds these
            only. The numba backend computes them in forward (tangent) mode (:mod:`dynlatch._tangents`): no stored
            trajectory and no backward pass, one cheap tangent pass per parameter element, so a few one-element
            parameters (a surface's two axes) cost little more than the loss. Same numbers as ``grad=True`` (to
            rounding). With ``state_grads`` the reverse pass runs anyway and the named blocks are read off it.
        state_grads: also return ||dLoss/ds_t|| for t = 0..T.
        h0: initial state, (n,) shared by all models or (M, n) per model (LSTM: a pair (h0, c0)); default zeros. It
            is the same for every sequence.
        backend: ``"auto"`` (numba on the CPU, torch elsewhere), ``"numba"`` (float64) or ``"torch"``.
        device: torch device of the torch backend (default: the model's).
        chunk: (models, sequences) per chunk, or an integer (sequences); bounds memory. Default: :data:`DEFAULT_CHUNK`,
            or :data:`TANGENT_CHUNK` on the forward-mode path.

    Returns:
        An :class:`EvalResult`.

    Raises:
        ValueError: for bad data (see :func:`dynlatch._data_checks.check_arrays`), a bad ``h0``/``target``, an unknown
            loss or backend, or a read-out loss asked of a bare cell; the message names the argument.
    """
    cell, with_readout = _split(model)
    chunk_models, chunk_seqs = _check_settings(loss, grad, state_grads, DEFAULT_CHUNK if chunk is None else chunk)
    names = _check_wrt(wrt, cell, loss)
    grad = grad or names is not None
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if loss == "readout":
        if with_readout is None:
            raise ValueError("loss='readout' needs a Model (cell plus read-out); a bare cell takes loss='squared_error'")
        if target is not None:
            raise ValueError("target applies to loss='squared_error' only")
        X, Y = check_arrays(x, y, input_dim=cell.input_dim, readout=with_readout.readout,
                            classes=with_readout.weight.shape[-1])
        tgt = np.zeros((X.shape[0], 0))
    else:
        if y is not None:
            raise ValueError("y applies to loss='readout' only; the squared error takes target=")
        X, _ = check_arrays(x, None, input_dim=cell.input_dim)
        tgt = check_target(target, n=cell.units, N=X.shape[0])
        Y = np.zeros(X.shape[0], dtype=np.int64)
    S0 = _initial_state(h0, cell)
    backend = resolve_backend(backend, device, cell)
    tangents = names is not None and backend == "numba" and not state_grads
    if tangents and chunk is None:
        chunk_models, chunk_seqs = TANGENT_CHUNK
    parts = []
    for m0 in range(0, cell.models, chunk_models):
        m1 = min(m0 + chunk_models, cell.models)
        if tangents:
            parts.append(_evaluate_tangents(cell, with_readout, loss, X, Y, tgt, S0, m0, m1, names, chunk_seqs))
            continue
        run = _evaluate_numba if backend == "numba" else _evaluate_torch
        parts.append(run(cell, with_readout, loss, X, Y, tgt, S0, m0, m1, grad, state_grads, chunk_seqs, device))
    losses = np.concatenate([p[0] for p in parts])
    acc = np.concatenate([p[1] for p in parts]) if loss == "readout" else None
    grads = None
    if grad:
        flat = {k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]}
        if not tangents:
            W, U, b = flat.pop("kernel"), flat.pop("recurrent_kernel"), flat.pop("bias")
            flat.update(cell.name_blocks((W, U, b)))
        grads = flat if names is None else {k: flat[k] for k in names}
    norms = np.concatenate([p[3] for p in parts]) if state_grads else None
    return EvalResult(losses, acc, grads, norms, backend)


def _check_wrt(wrt: Any, cell: Cell, loss: str) -> tuple[str, ...] | None:
    """The parameter names of ``wrt`` (None stays None).

    Raises:
        ValueError: naming ``wrt``: not a sequence of names, empty, repeated or unknown names, or a read-out name
            without a read-out loss.
    """
    if wrt is None:
        return None
    if isinstance(wrt, str) or not isinstance(wrt, (tuple, list)) or not all(isinstance(w, str) for w in wrt):
        raise ValueError(f"wrt must be a list of parameter names, e.g. ['b_f', 'U_c']; got {wrt!r}")
    if not wrt:
        raise ValueError("wrt must name at least one parameter")
    if len(set(wrt)) != len(wrt):
        raise ValueError(f"wrt names a parameter twice: {list(wrt)}")
    readout = ("W_out", "b_out") if loss == "readout" else ()
    for name in wrt:
        if name not in readout:
            try:
                cell.block_shape(name)
            except ValueError as e:
                raise ValueError(f"wrt: {e}") from None
    return tuple(wrt)


def _flat_indices(cell: Cell, names: tuple[str, ...], C: int) -> tuple[np.ndarray, dict[str, tuple[int, ...]]]:
    """Indices into the flat parameter vector of :mod:`dynlatch._fastpath` of every element of the named blocks (in
    order, each block row-major), and each block's shape."""
    n, D, K = cell.units, cell.input_dim, cell.params.kernel.shape[-1]
    oW, oU, ob0, ob1, oWo, obo, P = fp.layout(cell.kernel_code(), n, D, C)
    nb = cell.params.bias.shape[1]
    blocks = cell.name_blocks((np.arange(oU).reshape(1, D, K), (oU + np.arange(n * K)).reshape(1, n, K),
                               (ob0 + np.arange(nb * K)).reshape(1, nb, K)))
    blocks["W_out"] = (oWo + np.arange(n * C)).reshape(1, n, C)
    blocks["b_out"] = (obo + np.arange(C)).reshape(1, C)
    idx = [np.asarray(blocks[k][0]) for k in names]
    return np.concatenate([i.reshape(-1) for i in idx]).astype(np.int64), {k: i.shape for k, i in zip(names, idx)}


def _theta(cell, with_readout, loss, m0, m1):
    """(codes, theta (M, P), C): the flat parameters of models m0..m1 in the kernels' layout."""
    W, U, b = (t[m0:m1].detach().cpu().double().numpy() for t in cell.params)
    M, D, K = W.shape
    b2 = np.zeros((M, 2, K))
    b2[:, : b.shape[1]] = b
    parts = [W, U, b2]
    if loss == "readout":
        C = with_readout.weight.shape[-1]
        parts += [t[m0:m1].detach().cpu().double().numpy() for t in (with_readout.weight, with_readout.bias)]
        code = LOSS_SOFTMAX if with_readout.readout == "softmax" else LOSS_SIGMOID
    else:
        C, code = 0, LOSS_SQUARED_ERROR
    theta = np.ascontiguousarray(np.concatenate([p.reshape(M, -1) for p in parts], axis=1))
    return code, theta, C


def _evaluate_tangents(cell, with_readout, loss, X, Y, tgt, S0, m0, m1, names, chunk):
    code, theta, C = _theta(cell, with_readout, loss, m0, m1)
    wrt, shapes = _flat_indices(cell, names, C)
    out, partials = _tangents.evaluate_tangents(
        int(cell.kernel_code()), int(gate_code(cell.recurrent_activation)), int(code), theta,
        np.ascontiguousarray(S0[m0:m1]), X, Y, np.ascontiguousarray(tgt, dtype=np.float64), int(cell.units), int(C),
        wrt, int(chunk))
    M = m1 - m0
    grads, start = {}, 0
    for name in names:
        size = int(np.prod(shapes[name]))
        grads[name] = partials[:, start : start + size].reshape(M, *shapes[name])
        start += size
    return out[:, 0], out[:, 1], grads, None


def _evaluate_numba(cell, with_readout, loss, X, Y, tgt, S0, m0, m1, grad, state_grads, chunk, device):
    kind = cell.kernel_code()
    act = gate_code(cell.recurrent_activation)
    n, D, K = cell.units, cell.input_dim, cell.params.kernel.shape[-1]
    nb = cell.params.bias.shape[1]
    M = m1 - m0
    code, theta, C = _theta(cell, with_readout, loss, m0, m1)
    out, g, norms = fp.evaluate(fp.path_for(kind, n, D), int(kind), int(act), int(code), theta,
                                np.ascontiguousarray(S0[m0:m1]), X, Y,
                                np.ascontiguousarray(tgt, dtype=np.float64), int(n), int(C), bool(grad),
                                bool(state_grads), int(chunk))
    grads = {}
    if grad:
        oW, oU, ob0, ob1, oWo, obo, P = fp.layout(kind, n, D, C)
        grads = {"kernel": g[:, oW:oU].reshape(M, D, K), "recurrent_kernel": g[:, oU:ob0].reshape(M, n, K),
                 "bias": g[:, ob0:oWo].reshape(M, 2, K)[:, :nb]}
        if loss == "readout":
            grads["W_out"] = g[:, oWo:obo].reshape(M, n, C)
            grads["b_out"] = g[:, obo:P]
    return out[:, 0], out[:, 1], grads, norms


def _evaluate_torch(cell, with_readout, loss, X, Y, tgt, S0, m0, m1, grad, state_grads, chunk, device):
    dev = torch.device(device) if device is not None else cell.device
    dtype = cell.dtype
    leaves = [t[m0:m1].detach().to(device=dev).clone().requires_grad_(grad) for t in cell.params]
    sub = cell[m0:m1].replace(CellParams(*leaves))
    if loss == "readout":
        leaves += [t[m0:m1].detach().to(device=dev).clone().requires_grad_(grad)
                   for t in (with_readout.weight, with_readout.bias)]
    M, n = m1 - m0, cell.units
    N, T = X.shape[:2]
    lstm = len(cell.state_names) == 2  # (h, c)
    s0 = torch.as_tensor(S0[m0:m1], dtype=dtype, device=dev)
    Xt = torch.as_tensor(X, dtype=dtype, device=dev)
    Yt = torch.as_tensor(Y, device=dev)
    Tt = torch.as_tensor(tgt, dtype=dtype, device=dev)
    total = torch.zeros(M, dtype=torch.float64, device=dev)
    correct = torch.zeros(M, dtype=torch.float64, device=dev)
    g_sum = [torch.zeros_like(p) for p in leaves]
    sq = torch.zeros(M, T + 1, dtype=torch.float64, device=dev)
    for start in range(0, N, chunk):
        xb = Xt[start : start + chunk]
        B = xb.shape[0]
        h = s0[:, 0:1].expand(M, B, n).clone().requires_grad_(state_grads)
        if lstm:
            c = s0[:, 1:2].expand(M, B, n).clone().requires_grad_(state_grads)
            s: Any = (h, c)
        else:
            s = h
        states = [s]
        with torch.set_grad_enabled(grad or state_grads):
            for t in range(T):
                s = sub.step_batched(s, xb[:, t])
                if state_grads:  # zero probes added to each state part: their gradients are the partial derivatives
                    probes = tuple(torch.zeros_like(p, requires_grad=True) for p in (s if lstm else (s,)))
                    s = tuple(p + z for p, z in zip(s, probes)) if lstm else s + probes[0]
                    states.append(probes if lstm else probes[0])
                else:
                    states.append(s)
            hT = sub.hidden(s)
            if loss == "readout":
                logits = torch.matmul(hT, leaves[3]) + leaves[4].unsqueeze(1)
                yb = Yt[start : start + B].expand(M, B)
                if with_readout.readout == "softmax":
                    per_seq = -torch.log_softmax(logits, dim=-1).gather(-1, yb.unsqueeze(-1)).squeeze(-1)
                    pred = logits.argmax(-1)
                else:
                    z = logits.squeeze(-1)
                    per_seq = torch.nn.functional.binary_cross_entropy_with_logits(z, yb.to(z.dtype), reduction="none")
                    pred = (z > 0).long()
                correct += (pred == yb).sum(-1).double()
            else:
                per_seq = 0.5 * (hT - Tt[start : start + B]).pow(2).sum(-1)
            chunk_loss = per_seq.sum(-1)  # (M,)
            total += chunk_loss.detach().double()
        if grad or state_grads:
            inputs = list(leaves) if grad else []
            flat_states = [p for st in states for p in (st if lstm else (st,))] if state_grads else []
            got = torch.autograd.grad((chunk_loss / N).sum(), inputs + flat_states, allow_unused=True)
            for acc, gi in zip(g_sum, got[: len(inputs)]):
                if gi is not None:
                    acc += gi
            if state_grads:
                per = [torch.zeros(M, dtype=torch.float64, device=dev) if gi is None else
                       gi.double().pow(2).sum((1, 2)) for gi in got[len(inputs):]]
                if lstm:
                    per = [a + b for a, b in zip(per[0::2], per[1::2])]
                sq += torch.stack(per, 1)
    mean = (total / N).cpu().numpy()
    finite = np.isfinite(mean)
    grads = {}
    if grad:
        names = ["kernel", "recurrent_kernel", "bias"] + (["W_out", "b_out"] if loss == "readout" else [])
        for name, gi in zip(names, g_sum):
            a = gi.detach().cpu().double().numpy()
            a[~finite] = np.nan
            grads[name] = a
    norms = None
    if state_grads:
        norms = sq.sqrt().cpu().numpy()
        norms[~finite] = np.nan
    return mean, (correct / N).cpu().numpy(), grads, norms
