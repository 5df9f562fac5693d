"""Weight files: JSON or ``.npz`` in Keras layout or PyTorch layout, and the weights of Keras ``.keras`` / ``.h5``
model files. No pickles are ever read; every file that cannot be read as a cell is a :class:`WeightFileError` naming
the file and the problem. Files are written atomically (a temporary file unique to the writer, then a rename).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._activations import GATE_ACTIVATIONS
from .._atomic import atomic_path
from .._checks import NPZ_READ_ERRORS, instance
from .._checks import path as check_path
from ._base import Cell
from ._convert import from_torch_arrays
from ._registry import CELL_CLASSES, classes_with_gates

KERAS_KEYS = ("kernel", "recurrent_kernel", "bias")
TORCH_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
MAX_ARRAY_BYTES = 1 << 30
"""Largest array a weight file may hold (1 GiB); a larger (or larger-claimed) one is refused before allocation."""


def _keras_layers() -> dict[str, str]:
    """Keras layer class name -> registered kind (each cell class names its ``keras_layer``)."""
    return {cls.keras_layer: kind for kind, cls in CELL_CLASSES.items() if cls.keras_layer}


def _kind_for_gates(n_gates: int) -> str | None:
    """The one registered kind with ``n_gates`` blocks and a torch/Keras counterpart (None if none or several)."""
    fits = [cls.kind for cls in classes_with_gates(n_gates) if cls.torch_modules or cls.keras_layer]
    return fits[0] if len(fits) == 1 else None


def _extra_options(kind: str) -> tuple[str, ...]:
    """The kind's constructor options besides the gate function (GRU: reset_after)."""
    return tuple(k for k in CELL_CLASSES[kind].scheme_options("keras2") if k != "recurrent_activation")


class WeightFileError(ValueError):
    """A weight file that cannot be read as a cell; the message names the file and the problem."""


# -- writing ---------------------------------------------------------------------------------------------------------
def atomic_write(path: str | Path, write: Callable[[Any], None]) -> Path:
    """Write a file atomically (:mod:`dynlatch._atomic`): ``write(binary file object)`` fills a temporary file unique
    to this writer in the target's folder, which then replaces ``path``; readers see the old file or the whole new
    one, and the temporary file is removed if ``write`` fails.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as f:
            write(f)
    return path


def write_record(path: str | Path, record: dict[str, Any]) -> Path:
    """Write named arrays and scalars atomically as ``.json`` (lists; float64 round-trips exactly) or ``.npz``.

    Raises:
        ValueError: for another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in record.items()})
        return atomic_write(path, lambda f: f.write(text.encode()))
    if suffix == ".npz":
        return atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in record.items()}))
    raise ValueError(f"unknown weight-file type {suffix!r}; use .json or .npz")


# -- reading records -------------------------------------------------------------------------------------------------
def _fail(path: Path, problem: str) -> WeightFileError:
    return WeightFileError(f"{path}: {problem}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None


def _read_json(path: Path) -> dict[str, Any]:
    raw = _read_bytes(path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(path, "not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise _fail(path, f"not valid JSON ({e})") from None
    except RecursionError:
        raise _fail(path, "not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise _fail(path, f"expected a JSON object of named arrays; got a JSON {type(data).__name__}")
    return data


def _npy_member(path: Path, zf: zipfile.ZipFile, name: str) -> np.ndarray:
    """One ``.npy`` member of an ``.npz``, its header checked (no object dtype, size within the member) first."""
    info = zf.getinfo(name)
    if info.file_size > MAX_ARRAY_BYTES:
        raise _fail(path, f"array {name[:-4]!r} is larger than {MAX_ARRAY_BYTES} bytes")
    with zf.open(name) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _fail(path, f"array {name[:-4]!r} has unsupported .npy format version {version}")
        if dtype.hasobject:
            raise _fail(path, f"array {name[:-4]!r} holds Python objects; cannot read without unpickling")
        count = math.prod(shape)
        if count * dtype.itemsize > info.file_size:
            raise _fail(path, f"array {name[:-4]!r} is truncated: its header claims shape {shape} of {dtype}")
    with zf.open(name) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _read_npz(path: Path) -> dict[str, Any]:
    raw = _read_bytes(path)
    if raw[:6] == b"\x93NUMPY":
        raise _fail(path, "is a single .npy array, not an .npz archive of named arrays")
    if not raw:
        raise _fail(path, "is empty (not an .npz archive)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except NPZ_READ_ERRORS:
        raise _fail(path, "not an .npz (zip) archive; cannot read without unpickling") from None
    out: dict[str, Any] = {}
    try:
        with zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    raise _fail(path, f"archive member {name!r} is not a .npy array")
                out[name[:-4]] = _npy_member(path, zf, name)
    except WeightFileError:
        raise
    except Exception as e:  # damaged members: bad CRC, bad headers, truncated data (zlib, zipfile, numpy errors)
        raise _fail(path, f"damaged .npz archive ({type(e).__name__}: {e})") from None
    return out


def read_record(path: Path) -> dict[str, Any]:
    """The record of a weight file (.json or .npz; Keras .keras/.h5 files are read by :func:`load`), by its suffix."""
    if path.is_dir():
        raise _fail(path, "is a folder, not a weight file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".npz":
        return _read_npz(path)
    raise _fail(path, f"unknown weight-file type {suffix!r}; use .json, .npz, .keras or .h5")


def _numeric_leaves(value: Any, depth: int = 0) -> None:
    """Raise TypeError unless ``value`` is a number or nested lists of numbers (no bools, strings, objects)."""
    if depth > 32:
        raise TypeError("nested too deeply")
    if isinstance(value, list):
        for v in value:
            _numeric_leaves(v, depth + 1)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"holds a {type(value).__name__}")


def record_array(path: Path, data: dict[str, Any], key: str) -> np.ndarray:
    """``data[key]`` as a finite real array (floating arrays keep their dtype, anything else becomes float64).

    Raises:
        WeightFileError: missing, not numeric (bools, strings, objects, complex, ragged), too large, NaN or inf.
    """
    if key not in data:
        raise _fail(path, f"{key} is missing")
    value = data[key]
    try:
        if isinstance(value, np.ndarray):
            a = value
        else:
            _numeric_leaves(value)
            a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as e:
        raise _fail(path, f"{key} is not a rectangular numeric array ({e})") from None
    if a.dtype.kind not in "iuf":
        raise _fail(path, f"{key} is not a numeric array (dtype {a.dtype})")
    if a.nbytes > MAX_ARRAY_BYTES:
        raise _fail(path, f"{key} is larger than {MAX_ARRAY_BYTES} bytes")
    if a.dtype.kind != "f" or a.dtype.itemsize < 4:
        a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise _fail(path, f"{key} contains NaN or inf values")
    return a


def record_string(path: Path, data: dict[str, Any], key: str, default: str | None = None) -> str | None:
    """``data[key]`` as a string (a JSON string or a 0-d numpy string array); ``default`` when absent."""
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "U":
        value = str(value)
    if not isinstance(value, str):
        shown = repr(value) if not isinstance(value, np.ndarray) else f"an array of shape {value.shape}"
        raise _fail(path, f"{key} must be a string; got {shown[:60]}")
    return value


def record_bool(path: Path, data: dict[str, Any], key: str, default: bool) -> bool:
    """``data[key]`` as a bool (a JSON bool or a 0-d numpy bool array); ``default`` when absent."""
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "b":
        value = bool(value)
    if not isinstance(value, bool):
        raise _fail(path, f"{key} must be true or false; got {str(value)[:60]}")
    return value


def _check_size(path: Path, cell: Cell) -> Cell:
    if cell.units < 1 or cell.input_dim < 1 or cell.models < 1:
        raise _fail(path, f"empty weights (units={cell.units}, input_dim={cell.input_dim}, models={cell.models})")
    return cell


def cell_from_record(path: Path, data: dict[str, Any], *, dtype=None, device=None) -> Cell:
    """A cell from a record read by :func:`read_record` (Keras or PyTorch layout; see :func:`load`).

    Raises:
        WeightFileError: naming ``path`` and the problem.
    """
    kind = record_string(path, data, "cell")
    if kind is not None and kind not in CELL_CLASSES:
        raise _fail(path, f"'cell' must be one of {', '.join(CELL_CLASSES)}; got {kind!r}")
    try:
        if any(k in data for k in KERAS_KEYS):
            if kind is None:
                raise _fail(path, f"a Keras-layout record needs 'cell' (one of {', '.join(CELL_CLASSES)})")
            W, U, b = (record_array(path, data, k) for k in KERAS_KEYS)
            batched = W.ndim == 3
            act = record_string(path, data, "recurrent_activation", "sigmoid")
            if act not in GATE_ACTIVATIONS:
                raise _fail(path, f"recurrent_activation must be one of {', '.join(GATE_ACTIVATIONS)}; got {act!r}")
            stored = {k: record_bool(path, data, k, False) for k in _extra_options(kind) if k in data}
            stray = [k for k in ("reset_after",) if k in data and k not in _extra_options(kind)]
            if stray:
                raise _fail(path, f"{kind} takes no option {stray[0]!r}")
            opts: dict[str, Any] = {"recurrent_activation": act,
                                    **CELL_CLASSES[kind].keras_options(b[0] if batched else b, b.shape[-1], **stored)}
            return _check_size(path, CELL_CLASSES[kind](W, U, b, batched=batched, dtype=dtype, device=device, **opts))
        if all(k in data for k in TORCH_KEYS[:2]):
            W_hh = record_array(path, data, "weight_hh_l0")
            if W_hh.ndim != 2 or W_hh.shape[1] == 0 or W_hh.shape[0] % W_hh.shape[1]:
                raise _fail(path, f"weight_hh_l0 must be (gates*units, units); got {W_hh.shape}")
            inferred = _kind_for_gates(W_hh.shape[0] // W_hh.shape[1])
            if kind is None:
                kind = inferred
            if kind not in CELL_CLASSES or kind != inferred:
                raise _fail(path, f"weight_hh_l0 of shape {W_hh.shape} does not fit cell {kind!r}")
            biases = [record_array(path, data, k) if k in data else None for k in TORCH_KEYS[2:]]
            cell = from_torch_arrays(kind, record_array(path, data, "weight_ih_l0"), W_hh, *biases, dtype=dtype,
                                     device=device)
            return _check_size(path, cell)
    except WeightFileError:
        raise
    except (ValueError, TypeError, IndexError, RuntimeError) as e:
        raise _fail(path, str(e)) from None
    raise _fail(
        path,
        f"expected Keras keys {', '.join(KERAS_KEYS)} (with 'cell') or PyTorch keys {', '.join(TORCH_KEYS)}; "
        f"found {', '.join(sorted(map(str, data)))[:200] or 'nothing'}",
    )


# -- Keras model files -----------------------------------------------------------------------------------------------
def _layer_configs(config: Any) -> list[dict[str, Any]]:
    """The layer entries ({class_name, config}) of a Keras model config (Sequential or Functional, Keras 2 or 3)."""
    if isinstance(config, dict) and "config" in config:
        inner = config["config"]
        layers = inner.get("layers", []) if isinstance(inner, dict) else inner  # Keras 2.0-2.1 Sequential: a list
    elif isinstance(config, list):
        layers = config
    else:
        return []
    return [entry for entry in layers if isinstance(entry, dict) and isinstance(entry.get("config"), dict)]


def _rnn_config(configs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first SimpleRNN/LSTM/GRU layer entry, looking inside Bidirectional/RNN wrappers' ``layer``/``cell`` too."""
    for entry in configs:
        if entry.get("class_name") in _keras_layers():
            return entry
    return None


def _decode(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _keras_options(path: Path, entry: dict[str, Any] | None, kind: str, keras3: bool) -> dict[str, Any]:
    """recurrent_activation (and reset_after) from a stored layer config; defaults documented in :func:`load`."""
    opts: dict[str, Any] = {}
    cfg = entry["config"] if entry else {}
    act = cfg.get("recurrent_activation", "sigmoid") if kind != "srnn" else "sigmoid"
    if isinstance(act, dict):  # Keras 3 may serialise an activation as {"class_name": ..., "config": ...}
        act = act.get("config", {}).get("name", act.get("class_name"))
    if act == "hard_sigmoid" and keras3:
        act = "hard_sigmoid_keras3"
    if act not in GATE_ACTIVATIONS:
        raise _fail(path, f"the recurrent layer's recurrent_activation {act!r} is not one of "
                          f"{', '.join(GATE_ACTIVATIONS)}")
    opts["recurrent_activation"] = act
    if cfg.get("activation", "tanh") != "tanh":
        raise _fail(path, f"the recurrent layer's activation {cfg.get('activation')!r} is not tanh")
    return opts


def _h5_datasets(group: Any) -> dict[str, np.ndarray]:
    """All datasets under an h5py group, keyed by their path relative to it."""
    import h5py  # lazy: only Keras .h5/.keras files need it, and it costs a tenth of a second to import

    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    group.visititems(visit)
    return found


def _keras_arrays(path: Path, datasets: dict[str, Any], order: list[str] | None) -> tuple[str, list[Any]] | None:
    """(layer name, [kernel, recurrent_kernel, (bias)]) of the first recurrent layer among ``datasets``.

    Keras 2 stores ``<layer>/.../kernel:0``, ``recurrent_kernel:0``, ``bias:0``; Keras 3 ``layers/<layer>/cell/vars/0,
    1, 2``. ``order`` lists the layer names in model order when the file says so.
    """
    layers: dict[str, dict[str, Any]] = {}
    for name, ds in datasets.items():
        parts = name.split("/")
        if "vars" in parts and "cell" in parts:  # Keras 3: layers/<layer>/cell/vars/<i>
            i = parts.index("cell")
            layer = parts[i - 1]
            key = {"0": "kernel", "1": "recurrent_kernel", "2": "bias"}.get(parts[-1])
        else:  # Keras 2: <layer>/<layer>[/<cell>]/<weight>:0
            layer = parts[0]
            key = parts[-1].split(":")[0]
        if key in KERAS_KEYS:
            layers.setdefault(layer, {})[key] = ds
    names = [n for n in (order or sorted(layers)) if n in layers]
    for name in names:
        got = layers[name]
        if "kernel" in got and "recurrent_kernel" in got:
            return name, [got["kernel"], got["recurrent_kernel"], got.get("bias")]
    return None


def _dataset_array(path: Path, ds: Any, what: str) -> np.ndarray:
    if ds.dtype.kind not in "iuf":
        raise _fail(path, f"{what} is not a numeric array (dtype {ds.dtype})")
    if ds.size * ds.dtype.itemsize > MAX_ARRAY_BYTES:
        raise _fail(path, f"{what} is larger than {MAX_ARRAY_BYTES} bytes")
    return np.asarray(ds[()])


def _load_h5(path: Path, source: Any, config: Any, keras3: bool, *, dtype=None, device=None) -> Cell:
    """The first recurrent layer of an open Keras weight file (``source``: an h5py File) as a cell."""
    root = source["model_weights"] if "model_weights" in source else source
    order = None
    if "layer_names" in root.attrs:
        order = [str(_decode(n)) for n in np.asarray(root.attrs["layer_names"]).ravel()]
    entries = _layer_configs(config)
    entry = _rnn_config(entries)
    if entry is not None:
        order = [entry["config"].get("name")] + (order or [])
    found = _keras_arrays(path, _h5_datasets(root), order)
    if found is None:
        raise _fail(path, "no SimpleRNN, LSTM or GRU layer weights (kernel, recurrent_kernel) found")
    layer, (Wd, Ud, bd) = found
    W, U = _dataset_array(path, Wd, f"{layer} kernel"), _dataset_array(path, Ud, f"{layer} recurrent_kernel")
    b = None if bd is None else _dataset_array(path, bd, f"{layer} bias")
    if U.ndim != 2 or U.shape[0] == 0 or U.shape[1] % U.shape[0]:
        raise _fail(path, f"layer {layer!r}: recurrent_kernel of shape {U.shape} is not (units, gates*units)")
    kind = _kind_for_gates(U.shape[1] // U.shape[0])
    if kind is None:
        raise _fail(path, f"layer {layer!r}: {U.shape[1] // U.shape[0]} gates fit no SimpleRNN, LSTM or GRU")
    if entry is not None and entry["config"].get("name") == layer:
        declared = _keras_layers()[entry["class_name"]]
        if declared != kind:
            raise _fail(path, f"layer {layer!r} is a {entry['class_name']} but its weights have {kind}'s gate count")
    else:
        entry = next((e for e in entries if e["config"].get("name") == layer), None)
    opts = _keras_options(path, entry, kind, keras3)
    for key in _extra_options(kind):
        if entry is not None and key in entry["config"]:
            opts[key] = bool(entry["config"][key])
    for what, a in (("kernel", W), ("recurrent_kernel", U), ("bias", b)):
        if a is not None and not np.isfinite(a).all():
            raise _fail(path, f"layer {layer!r}: {what} contains NaN or inf values")
    try:
        cell = CELL_CLASSES[kind].from_keras(W, U, b, dtype=dtype, device=device, **opts)
    except ValueError as e:
        raise _fail(path, f"layer {layer!r}: {e}") from None
    return _check_size(path, cell)


def _json_attr(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(_decode(value))
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError, RecursionError):
        return None


def _load_keras(path: Path, *, dtype=None, device=None) -> Cell:
    import h5py  # lazy: only Keras .h5/.keras files need it, and it costs a tenth of a second to import

    raw = _read_bytes(path)
    try:
        if path.suffix.lower() == ".keras":
            try:
                zf = zipfile.ZipFile(io.BytesIO(raw))
            except NPZ_READ_ERRORS:
                raise _fail(path, "not a .keras (zip) archive") from None
            with zf:
                names = zf.namelist()
                if "model.weights.h5" not in names:
                    raise _fail(path, "the .keras archive holds no model.weights.h5")
                if zf.getinfo("model.weights.h5").file_size > 4 * MAX_ARRAY_BYTES:
                    raise _fail(path, "model.weights.h5 is too large")
                weights = zf.read("model.weights.h5")
                config = _json_attr(zf.read("config.json")) if "config.json" in names else None
            keras3 = True
        else:
            weights, config, keras3 = raw, None, None
        if weights[:8] != b"\x89HDF\r\n\x1a\n":
            raise _fail(path, "not an HDF5 file")
        with h5py.File(io.BytesIO(weights), "r") as f:
            if keras3 is None:  # .h5: Keras 2 (model_config attribute) or a Keras 3 .weights.h5 (layers/.../vars)
                config = _json_attr(f.attrs.get("model_config"))
                version = str(_decode(f.attrs.get("keras_version", "")))
                keras3 = version.startswith("3") or ("layers" in f and "model_weights" not in f)
            return _load_h5(path, f, config, keras3, dtype=dtype, device=device)
    except WeightFileError:
        raise
    except Exception as e:  # h5py/zip errors on damaged files
        raise _fail(path, f"damaged Keras file ({type(e).__name__}: {e})") from None


# -- public ----------------------------------------------------------------------------------------------------------
def load(path: str | Path, *, dtype=None, device=None) -> Cell:
    """Read a cell from a weight file.

    * ``.json`` / ``.npz``, Keras layout: ``cell`` (srnn|lstm|gru), ``kernel``, ``recurrent_kernel``, ``bias`` and
      optional ``recurrent_activation`` (default ``"sigmoid"``) and ``reset_after`` (GRU; inferred from the bias
      shape). PyTorch layout: ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` and optional ``cell``
      (inferred from the gate count otherwise). Arrays with a leading model dimension give a batched cell.
    * ``.keras`` (Keras 3: a zip with ``model.weights.h5``, weights under ``layers/<layer>/cell/vars/0,1,2``, config
      in ``config.json``) or ``.h5`` (Keras 2 ``model.save``/``save_weights``: ``[model_weights/]<layer>/.../
      kernel:0, recurrent_kernel:0, bias:0`` listed by the ``layer_names``/``weight_names`` attributes, config in
      the ``model_config`` attribute; or a Keras 3 ``.weights.h5``): the first SimpleRNN/LSTM/GRU layer (by the
      stored config, else the first layer with a kernel and a recurrent kernel). The kind follows from the gate count
      (recurrent_kernel (n, G n): G = 1, 4, 3) and is checked against the config's class. ``recurrent_activation``
      comes from the config; without one it is ``"sigmoid"`` (the Keras >= 2.3 default: Keras 2.0-2.2 files without a
      config that used the then-default hard sigmoid need ``recurrent_activation`` set by hand). Keras 3's
      ``"hard_sigmoid"`` is read as ``"hard_sigmoid_keras3"``. GRU ``reset_after`` follows from the bias shape.
      h5py reads these; TensorFlow is not needed.

    Args:
        path: a ``.json``, ``.npz``, ``.keras`` or ``.h5`` file.
        dtype, device: where the parameters should live (default float64 from JSON, the stored dtype otherwise).

    Returns:
        The cell.

    Raises:
        WeightFileError: (a ``ValueError``) for any file that cannot be read as a cell -- not the format its suffix
            says, damaged, wrong structure, wrong shapes, unknown cell, non-numeric or NaN arrays -- naming the file and
            the problem; a ``path`` that is not a path (str or os.PathLike, not empty) is a ``ValueError`` naming it.
        FileNotFoundError: if ``path`` does not exist.
    """
    path = check_path("path", path)
    if path.suffix.lower() in (".keras", ".h5", ".hdf5"):
        if path.is_dir():
            raise _fail(path, "is a folder, not a weight file")
        return _load_keras(path, dtype=dtype, device=device)
    return cell_from_record(path, read_record(path), dtype=dtype, device=device)


def cell_record(cell: Cell) -> dict[str, Any]:
    """The Keras-layout record of ``cell`` that :func:`save` writes and :func:`load` reads."""
    return {"cell": cell.kind, **cell.numpy(), **cell.options()}


def save(cell: Cell, path: str | Path) -> Path:
    """Write ``cell`` in Keras layout to ``path`` (``.json`` or ``.npz``) atomically; :func:`load` reads it back
    exactly.

    Raises:
        ValueError: for a ``cell`` that is not a dynlatch cell (a :class:`dynlatch.Model`'s is ``model.cell``), a
            ``path`` that is not a path, or another suffix.
    """
    instance("cell", cell, Cell, "a dynlatch cell (a Model's is model.cell)")
    return write_record(check_path("path", path), cell_record(cell))
