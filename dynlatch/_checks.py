"""The one set of input checks, with one wording, shared by the tasks, the trainer's callers and the analysis configs.

Each check returns the (normalised) value or raises :class:`CheckError`, a ``ValueError`` whose message names the
argument (``"noise must be a finite number >= 0; got inf"``). A command line reports the same problem under the flag's
name (``"--noise must be ..."``) by re-labelling ``err.name`` (see :mod:`dynlatch._config`).
"""

from __future__ import annotations

import math
import numbers
import os
import secrets
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

NPZ_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error)
"""What ``np.load`` of a damaged or foreign ``.npz`` raises (a truncated archive, a flipped compression method, a
corrupt stream); readers catch these and name the file."""


class CheckError(ValueError):
    """An impossible value: ``name`` is the argument, ``problem`` what is wrong with it (``"must be >= 1; got 0"``)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name, self.problem = name, problem

    def relabel(self, name: str) -> "CheckError":
        """The same problem reported under another name (e.g. the command-line flag)."""
        return CheckError(name, self.problem)


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (not a bool, not a float) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CheckError(name, f"must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise CheckError(name, f"must be an integer >= {minimum}; got {value}")
    return int(value)


def seed(name: str, value: Any) -> int:
    """A seed: an integer >= 0 (negative seeds are rejected, as numpy's SeedSequence rejects them)."""
    return integer(name, value, minimum=0)


def number(name: str, value: Any, *, above: float | None = None, at_least: float | None = None,
           at_most: float | None = None, below: float | None = None) -> float:
    """A finite real number within the given bounds (NaN and +-inf are always rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CheckError(name, f"must be a number; got {value!r}")
    bounds = [f"> {above:g}" if above is not None else "", f">= {at_least:g}" if at_least is not None else "",
              f"<= {at_most:g}" if at_most is not None else "", f"< {below:g}" if below is not None else ""]
    wanted = "a finite number" + "".join(f" {b}" if i == 0 else f" and {b}"
                                         for i, b in enumerate(b for b in bounds if b))
    try:
        v = float(value)
    except OverflowError:  # an integer beyond the float range
        v = math.inf
    if (not math.isfinite(v) or (above is not None and not v > above) or (at_least is not None and not v >= at_least)
            or (at_most is not None and not v <= at_most) or (below is not None and not v < below)):
        raise CheckError(name, f"must be {wanted}; got {value!r}")
    return v


def seeds(name: str, values: Any) -> tuple[int, ...]:
    """A non-empty sequence of seeds (each an integer >= 0)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, torch.Tensor, range)):
        raise CheckError(name, f"must be a non-empty sequence of integers >= 0; got {values!r}")
    values = tuple(seed(name, v.item() if isinstance(v, (np.generic, torch.Tensor)) else v) for v in values)
    if not values:
        raise CheckError(name, "must be a non-empty sequence of integers >= 0; got none")
    return values


def instance(name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it is one of ``types`` (``what`` names them in the message, e.g. "a dynlatch.Model")."""
    if not isinstance(value, types):
        raise CheckError(name, f"must be {what}; got {type(value).__name__}")
    return value


def numeric_array(name: str, value: Any, *, convert_objects: bool = False) -> np.ndarray:
    """``value`` (a number, nested lists, a numpy array or a torch tensor) as a numpy array of real numbers in its own
    dtype (integers stay integers). None, strings, bools, complex numbers and ragged lists are refused, and so are
    object arrays unless ``convert_objects`` (then numbers of other types, sympy's or Fraction, become float64)."""
    if value is None:
        raise CheckError(name, "is missing (None)")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_complex() or value.dtype == torch.bool:
            raise CheckError(name, f"must be a real numeric array; got dtype {value.dtype}")
        value = value.numpy()
    try:
        a = np.asarray(value)
        if a.dtype.kind == "O" and convert_objects:  # None and strings do not convert
            a = np.array([float(v) for v in a.ravel()], dtype=np.float64).reshape(a.shape)
    except (TypeError, ValueError, OverflowError) as e:  # ragged nested lists, objects that are not numbers
        raise CheckError(name, f"is not a rectangular numeric array ({e})") from None
    if a.dtype.kind not in "iuf":
        what = {"b": "bool", "c": "complex", "O": "object (ragged or mixed)", "U": "string", "S": "bytes"}.get(
            a.dtype.kind, str(a.dtype))
        raise CheckError(name, f"must be a real numeric array; got dtype {a.dtype} ({what})")
    return a


def real_array(name: str, value: Any, *, finite: bool = True) -> np.ndarray:
    """:func:`numeric_array` as floating point: a floating array keeps its dtype, anything else becomes float64; NaN
    or +-inf are refused unless ``finite`` is False."""
    a = numeric_array(name, value, convert_objects=True)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if finite and not np.all(np.isfinite(a)):
        raise CheckError(name, "must hold finite numbers; got NaN or inf")
    return a


def path(name: str, value: Any) -> Path:
    """A file path: a non-empty ``str`` or ``os.PathLike`` without NUL characters (nothing is opened here)."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(os.fspath(value), bytes):
        raise CheckError(name, f"must be a path (str or os.PathLike); got {type(value).__name__}")
    text = os.fspath(value)
    if text.strip() == "" or "\0" in text:
        raise CheckError(name, f"must name a file; got {text!r}")
    return Path(text)


def integer_at_least(minimum: int) -> Callable[[str, Any], int]:
    """The check "an integer >= ``minimum``", for config fields: ``option(30, ..., check=integer_at_least(1))``."""
    return lambda name, value: integer(name, value, minimum=minimum)


def number_in(*, above: float | None = None, at_least: float | None = None, at_most: float | None = None,
              below: float | None = None) -> Callable[[str, Any], float]:
    """The check "a finite number within these bounds", for config fields: ``check=number_in(above=0)``."""
    return lambda name, value: number(name, value, above=above, at_least=at_least, at_most=at_most, below=below)


def choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise CheckError(name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def distinct(name: str, values: Sequence[Any]) -> tuple:
    """A non-empty sequence without repeated values."""
    values = tuple(values)
    if not values:
        raise CheckError(name, "must hold at least one value; got none")
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise CheckError(name, f"must not repeat a value; {', '.join(map(str, repeated))} appear(s) twice")
    return values


def lengths(name: str, values: Sequence[Any], *, different: int = 1, purpose: str = "") -> tuple[int, ...]:
    """Sequence lengths: integers >= 1, at least ``different`` of them different (``purpose`` says why, e.g. "to
    fit a rate")."""
    for v in values:
        integer(name, v, minimum=1)
    if len(set(values)) < different:
        why = f" {purpose}" if purpose else ""
        raise CheckError(name, f"needs at least {different} different lengths{why}; got {list(values)}")
    return tuple(values)


MEMORY_LIMIT_BYTES = 4 * 2**30
"""The largest array a run may ask for before it starts (a 24 GiB, 2-core machine; larger runs belong on a
cluster)."""


def fits_in_memory(name: str, values: float, *, what: str, limit: int = MEMORY_LIMIT_BYTES,
                   advice: str = "fewer or shorter sequences") -> None:
    """Refuse up front a setting whose largest float64 array (``values`` numbers, ``what`` says of what) exceeds
    ``limit`` bytes, naming the estimate (``advice`` says what to lower)."""
    need = 8.0 * float(values)
    if need > limit:
        raise CheckError(name, f"needs about {need / 2**30:,.1f} GiB for {what}; at most {limit / 2**30:g} GiB is "
                               f"allowed ({advice})")


def device(name: str, value: Any) -> str | None:
    """A torch device that exists on this machine (None = the CPU); returned as its canonical string."""
    if value is None:
        return None
    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise CheckError(name, f"must be a torch device such as cpu or cuda:0; got {value!r}") from None
    available = {"cpu": lambda: True, "cuda": torch.cuda.is_available,
                 "mps": lambda: getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(dev.type, lambda: False)():
        raise CheckError(name, f"{value} is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise CheckError(name, f"{value} is not available on this machine ({torch.cuda.device_count()} CUDA devices)")
    return str(dev)


SCHEDULER_LOCAL = "local"
"""The ``--scheduler`` value that computes shards in this process (no cluster)."""


def scheduler(name: str, value: Any) -> str:
    """Where shards run: ``local`` or a Dask scheduler's address ``tcp://HOST:PORT`` (syntax only; nothing is
    contacted here)."""
    text = str(value).strip()
    if text == SCHEDULER_LOCAL:
        return text
    wanted = f"must be {SCHEDULER_LOCAL} or a Dask scheduler address tcp://HOST:PORT; got {value!r}"
    if not text.startswith("tcp://"):
        raise CheckError(name, wanted)
    host, sep, port = text[len("tcp://"):].rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]:8786
    if (not sep or not host or not (host + port).isascii() or not all(c.isalnum() or c in "-._:" for c in host)
            or not port.isdigit()):
        raise CheckError(name, wanted)
    if not 1 <= int(port) <= 65535:
        raise CheckError(name, f"port must be 1..65535; got {value!r}")
    return text


def out_dir(name: str, value: Any) -> Path:
    """A folder that is, or can be created as, a writable directory; nothing is created here."""
    if str(value).strip() == "":
        raise CheckError(name, "must name a folder; got an empty path")
    path = Path(value)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "names" if probe == path else f"lies under {str(probe)!r}, which is"
        raise CheckError(name, f"{what} a file, not a folder: {str(path)!r}" if probe == path
                         else f"{what} a file, not a folder")
    if not _writable(probe):
        raise CheckError(name, f"cannot be written: {str(probe)!r} is read-only")
    return path


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, then removed: os.access says yes to root everywhere)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    trial = folder / f".dynlatch-write-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        trial.touch(exist_ok=False)
    except OSError:
        return False
    trial.unlink()
    return True


def one_line(text: str) -> str:
    """``text`` with every non-printable character (newlines, control bytes) escaped, so a message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
