"""The one way to run a sweep: shards computed in order, each checkpointed, resumable after interruption.

A sweep is a list of shard keys (small JSON-able dicts) and a function computing a shard's tidy rows. Each finished
shard is written atomically to ``out_dir/shards/<digest of its key>.json`` (with its key and compute time); rerun with the
same settings, finished shards are read back instead of recomputed, so an interrupted sweep (Ctrl-C, kill) ends with
the same results as an uninterrupted one, and a sweep extended with new keys computes only those.
``out_dir/sweep.json`` records the settings; a rerun with different settings is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ._progress import progress_bar

Row = dict[str, Any]


class SweepSettingsError(ValueError):
    """``out_dir`` holds a sweep made with other settings."""


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, allow_nan=True))
    os.replace(tmp, path)


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, allow_nan=True))


def _shard_path(out_dir: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return out_dir / "shards" / f"{digest}.json"


def read_shard(key: dict[str, Any], *, out_dir: str | Path) -> dict[str, Any] | None:
    """The checkpoint of shard ``key`` (``{"key", "rows", "seconds"}``), or None if it is not finished."""
    key = _canonical(dict(key))
    path = _shard_path(Path(out_dir), key)
    shard = json.loads(path.read_text()) if path.exists() else None
    return shard if shard is not None and shard.get("key") == key else None


def shard_seconds(keys: Sequence[dict[str, Any]], *, out_dir: str | Path) -> float:
    """Total compute time recorded in the checkpoints of ``keys`` (NaN if one is missing)."""
    shards = [read_shard(key, out_dir=out_dir) for key in keys]
    return float(sum(s.get("seconds", math.nan) if s else math.nan for s in shards))


def run_shards(
    keys: Sequence[dict[str, Any]],
    compute: Callable[[dict[str, Any]], list[Row]],
    *,
    out_dir: str | Path,
    settings: dict[str, Any],
    progress: bool = True,
    desc: str = "sweep",
) -> list[Row]:
    """Compute (or read back) every shard and return all rows in shard order.

    Args:
        keys: one dict per shard (what it computes); also written into its checkpoint.
        compute: the rows of one shard; a row may carry NaN/inf (a diverged run) -- it is recorded, not raised.
        out_dir: where ``sweep.json`` and ``shards/`` live.
        settings: everything else the results depend on; must match an existing ``sweep.json``.
        progress: show a progress bar on stderr.
        desc: the bar's label.

    Raises:
        SweepSettingsError: if ``out_dir`` holds a sweep with other settings.
    """
    out = Path(out_dir)
    shard_dir = out / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    manifest = out / "sweep.json"
    settings = _canonical(settings)
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old.get("settings") != settings:
            changed = sorted(k for k in set(old.get("settings", {})) | set(settings)
                             if old.get("settings", {}).get(k) != settings.get(k))
            raise SweepSettingsError(
                f"{out} holds a sweep with other settings ({', '.join(changed)}); use another --out or delete it"
            )
    else:
        _write_json_atomic(manifest, {"settings": settings})
    rows: list[Row] = []
    with progress_bar(len(keys), desc, enabled=progress) as bar:
        for key in keys:
            key = _canonical(dict(key))
            shard = read_shard(key, out_dir=out)
            if shard is None:
                t0 = time.perf_counter()
                shard_rows = _canonical(compute(key))
                shard = {"key": key, "rows": shard_rows, "seconds": time.perf_counter() - t0}
                _write_json_atomic(_shard_path(out, key), shard)
            rows.extend(shard["rows"])
            bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in key.items()))
            bar.update(1)
    return rows
