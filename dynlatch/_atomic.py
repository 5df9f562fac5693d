"""Atomic file writes: a temporary file in the target's folder, unique per writer, then ``os.replace``.

A reader (or a rerun after a kill) sees either the old file or the complete new one, never a truncated one. Two
writers never share a temporary name (pid plus a random suffix). Imports nothing heavy, so every module (weight files,
shard store, analysis outputs) can use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterator

from . import _faults

TMP_MARK = ".tmp-"
"""Temporary files are named ``.<name>.tmp-<pid>-<random>``; anything with this mark is an unfinished write."""


def temp_path(path: str | Path) -> Path:
    """A fresh temporary path in ``path``'s folder, unique to this writer (pid + 64 random bits)."""
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(8)}")


@contextlib.contextmanager
def atomic_path(path: str | Path, *, fsync: bool = True, role: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left as it was. Use it for writers that want a file
    name (``fig.savefig(tmp, format="png")``, ``np.savez(tmp_file_object, ...)``). ``role`` names the write for
    fault injection (:mod:`dynlatch._faults`; default the file name).

    Raises:
        OSError: if the folder does not exist or is not writable.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        if fsync and tmp.exists():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _faults.point(role or path.name)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes, *, role: str | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path, role=role) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)
    return path


def write_text(path: str | Path, text: str, *, role: str | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"), role=role)


def write_json(path: str | Path, obj: Any, *, indent: int | None = 1, role: str | None = None) -> Path:
    """Write ``obj`` as JSON (NaN and inf allowed, as Python's json writes them) to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=True) + "\n", role=role)
