"""The one way to run a sweep: shards computed here or on a cluster, each checkpointed, resumable, validated and
locked.

A sweep is a list of shard keys (small JSON-able dicts), the settings every shard depends on, and a function
computing a shard's tidy rows. Each finished shard is written atomically (:mod:`dynlatch._atomic`) to
``out_dir/shards/<digest>.json``, where the digest is of its key *and* the full settings (backend and device
included), and the file holds key, settings, rows, compute and compile seconds and a SHA-256 digest of its content.
Rerun with the same settings, a finished shard is read back instead of recomputed; one made with other settings is
never used (its name differs); a damaged one (unreadable, wrong structure, rows edited or removed) is recomputed with
a :class:`DamagedShardWarning` naming the file.

``out_dir/sweep.json`` records the settings; a rerun with different settings is refused rather than mixed into the
folder. While a sweep runs it holds an exclusive ``flock`` on ``out_dir/.lock``: a second run on the same folder is
refused at once with :class:`SweepLockedError` (it does not wait), so two runs never interleave their writes.

Where the missing shards are computed is the ``executor``'s business (:mod:`dynlatch.sweep._executors`: this process
in shard order, or tasks on a Dask cluster); their results come back here and are checkpointed by this process alone,
so a shard file never depends on where it was computed.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import math
import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .. import _atomic
from .._progress import progress_bar
from ._executors import LocalShards, ShardExecutor, compute_shard

Row = dict[str, Any]
SHARD_FORMAT = 2
LOCK_NAME = ".lock"


class SweepSettingsError(ValueError):
    """``folder`` holds a sweep made with other settings."""

    def __init__(self, message: str, folder: Path):
        super().__init__(message)
        self.folder = folder


class SweepLockedError(RuntimeError):
    """Another process is running a sweep in the same ``out_dir``."""


class DamagedShardWarning(UserWarning):
    """A shard file could not be trusted and is recomputed."""


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, allow_nan=True))


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, allow_nan=True, separators=(",", ":")).encode()).hexdigest()


def shard_path(key: dict[str, Any], *, out_dir: str | Path, settings: dict[str, Any]) -> Path:
    """Where the shard ``key`` computed with ``settings`` lives: named by both (so other settings never match)."""
    name = "-".join(f"{k}{v}" if isinstance(v, int) else str(v) for k, v in key.items() if str(v).isalnum())
    digest = _digest({"key": _canonical(dict(key)), "settings": _canonical(settings)})[:20]
    return Path(out_dir) / "shards" / f"{name + '-' if name else ''}{digest}.json"


def _content_digest(shard: dict[str, Any]) -> str:
    return _digest({k: shard[k] for k in ("format", "key", "settings", "rows", "extra", "seconds", "compile_seconds")})


# -- locking ---------------------------------------------------------------------------------------------------
_held: dict[Path, list] = {}  # lock file -> [fd, depth]: re-entrant within this process


@contextlib.contextmanager
def lock_folder(out_dir: str | Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``out_dir`` (created if needed) for the duration of the block.

    Refuses at once if another process holds it (no waiting: a sweep can run for hours). Re-entrant in one process.

    Raises:
        SweepLockedError: another process holds the lock.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = (out / LOCK_NAME).resolve()
    if lock in _held:
        _held[lock][1] += 1
        try:
            yield out
        finally:
            _held[lock][1] -= 1
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SweepLockedError(f"{out} is in use by another dynlatch run (lock {lock}); wait for it to finish or use "
                               "another --out") from None
    _held[lock] = [fd, 1]
    try:
        yield out
    finally:
        del _held[lock]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# -- shards --------------------------------------------------------------------------------------------------
def _damage(shard: Any, key: dict[str, Any], settings: dict[str, Any]) -> str | None:
    """What is wrong with a parsed shard, or None if it is sound."""
    if not isinstance(shard, dict):
        return f"expected a JSON object, found {type(shard).__name__}"
    missing = {"format", "key", "settings", "rows", "extra", "seconds", "compile_seconds", "digest"} - set(shard)
    if missing:
        return f"missing field(s) {', '.join(sorted(missing))}"
    if shard["format"] != SHARD_FORMAT:
        return f"format {shard['format']!r}, expected {SHARD_FORMAT}"
    if shard["key"] != key:
        return f"key {shard['key']!r}, expected {key!r}"
    if shard["settings"] != settings:
        return "its settings differ from this sweep's"
    if not isinstance(shard["rows"], list) or not all(isinstance(r, dict) for r in shard["rows"]):
        return "rows is not a list of objects"
    if not all(isinstance(shard[k], (int, float)) for k in ("seconds", "compile_seconds")):
        return "seconds is not a number"
    if shard["digest"] != _content_digest(shard):
        return "content digest mismatch (rows edited, removed or relabelled)"
    return None


def read_shard(key: dict[str, Any], *, out_dir: str | Path, settings: dict[str, Any],
               warn: bool = True) -> dict[str, Any] | None:
    """The checkpoint of shard ``key`` under ``settings``, or None if it is missing or damaged.

    A checkpoint is ``{"format", "key", "settings", "rows", "extra", "seconds", "compile_seconds", "digest"}``;
    ``extra`` is what ``compute`` returned beside the rows (None if nothing), ``seconds`` the compute time without the
    one-off compile time (``compile_seconds``).

    Warns:
        DamagedShardWarning: naming the file and the problem, if it exists but cannot be trusted.
    """
    key, settings = _canonical(dict(key)), _canonical(settings)
    path = shard_path(key, out_dir=out_dir, settings=settings)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        shard = json.loads(raw.decode("utf-8"))
        problem = _damage(shard, key, settings)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        problem = f"not valid JSON ({e})" if raw else "empty file"
    if problem is None:
        return shard
    if warn:
        warnings.warn(f"damaged shard {path}: {problem}; recomputing it", DamagedShardWarning, stacklevel=2)
    return None


def shard_seconds(keys: Sequence[dict[str, Any]], *, out_dir: str | Path, settings: dict[str, Any],
                  field: str = "seconds") -> float:
    """Total ``seconds`` (compute, compile excluded) or ``compile_seconds`` recorded for ``keys`` (NaN if one is
    missing)."""
    shards = [read_shard(key, out_dir=out_dir, settings=settings, warn=False) for key in keys]
    return float(sum(s[field] if s else math.nan for s in shards))


def _check_manifest(out: Path, settings: dict[str, Any]) -> None:
    manifest = out / "sweep.json"
    try:
        old = json.loads(manifest.read_text())
    except FileNotFoundError:
        old = None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        warnings.warn(f"damaged manifest {manifest}: not valid JSON ({e}); rewriting it (each shard carries its own "
                      "settings, so none from other settings can be used)", DamagedShardWarning, stacklevel=3)
        old = None
    if isinstance(old, dict) and isinstance(old.get("settings"), dict):
        if old["settings"] != settings:
            changed = sorted(k for k in set(old["settings"]) | set(settings)
                             if old["settings"].get(k) != settings.get(k))
            raise SweepSettingsError(
                f"{out} holds a sweep with other settings ({', '.join(changed)}); use another --out or delete it", out)
        return
    if old is not None:
        warnings.warn(f"damaged manifest {manifest}: no settings object; rewriting it", DamagedShardWarning,
                      stacklevel=3)
    _atomic.write_json(manifest, {"settings": settings}, role="sweep.json")


def clear_shards(out_dir: str | Path) -> None:
    """Remove the shard store of ``out_dir`` (``sweep.json`` and ``shards/``), so that a run with other settings can
    start there afresh (``--force`` replacing a finished run). Holds the folder's lock while it removes.

    Raises:
        SweepLockedError: if another process is running a sweep in ``out_dir``.
    """
    out = Path(out_dir)
    with lock_folder(out):
        (out / "sweep.json").unlink(missing_ok=True)
        shutil.rmtree(out / "shards", ignore_errors=True)


def run_shards(
    keys: Sequence[dict[str, Any]],
    compute: Callable[[dict[str, Any]], list[Row]],
    *,
    out_dir: str | Path,
    settings: dict[str, Any],
    warm: Callable[[dict[str, Any]], Any] | None = None,
    progress: bool = True,
    desc: str = "sweep",
    executor: ShardExecutor | None = None,
) -> list[Row]:
    """Compute (or read back) every shard and return all rows in shard order.

    Args:
        keys: one dict per shard (what it computes); also written into its checkpoint.
        compute: the rows of one shard (a row may carry NaN/inf, a diverged run: it is recorded, not raised), or a
            pair ``(rows, extra)`` where ``extra`` is any JSON-able payload kept in the checkpoint (e.g. weights).
            Picklable (a module-level function or a ``functools.partial`` of one) when ``executor`` is a cluster.
        out_dir: where ``sweep.json``, ``.lock`` and ``shards/`` live.
        settings: everything else the results depend on (backend and device included); must match an existing
            ``sweep.json``, and name the shard files. Where the shards run is not part of them.
        warm: called (and timed as ``compile_seconds``) before ``compute`` for each shard computed, to pay one-off
            costs such as JIT compilation outside the recorded compute time.
        progress: show a progress bar on stderr.
        desc: the bar's label.
        executor: where the missing shards are computed (:mod:`dynlatch.sweep._executors`); default this process,
            in shard order. Each result is checkpointed here as it arrives, whichever executor computed it.

    Raises:
        SweepSettingsError: if ``out_dir`` holds a sweep with other settings.
        SweepLockedError: if another process is running a sweep in ``out_dir``.
    """
    out = Path(out_dir)
    settings = _canonical(settings)
    keys = [_canonical(dict(key)) for key in keys]
    executor = executor if executor is not None else LocalShards()
    with lock_folder(out):
        _check_manifest(out, settings)
        (out / "shards").mkdir(exist_ok=True)
        for stale in (out / "shards").glob(f".*{_atomic.TMP_MARK}*"):  # writes of a killed run (we hold the lock)
            stale.unlink(missing_ok=True)
        shards: list[dict[str, Any] | None] = [read_shard(key, out_dir=out, settings=settings) for key in keys]
        missing = [i for i, shard in enumerate(shards) if shard is None]
        with progress_bar(len(keys), desc, enabled=progress) as bar:
            bar.update(len(keys) - len(missing))
            job = functools.partial(compute_shard, compute, warm)
            for j, outcome in executor.outcomes(job, [keys[i] for i in missing]):
                key = keys[missing[j]]
                shard = {"format": SHARD_FORMAT, "key": key, "settings": settings,
                         "rows": _canonical(outcome["rows"]), "extra": _canonical(outcome["extra"]),
                         "seconds": outcome["seconds"], "compile_seconds": outcome["compile_seconds"]}
                shard["digest"] = _content_digest(shard)
                _atomic.write_json(shard_path(key, out_dir=out, settings=settings), shard, role="shard")
                shards[missing[j]] = shard
                bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in key.items()))
                bar.update(1)
    return [row for shard in shards for row in shard["rows"]]
