"""The shard store (dynlatch.sweep._store): checkpointing, resume, settings in every shard, validation of damaged
shards, the folder lock and compile time kept apart from compute time."""

import json
import math
import multiprocessing
import os
import warnings

import pytest

from dynlatch.sweep import (
    DamagedShardWarning, SweepLockedError, SweepSettingsError, lock_folder, read_shard, run_shards, shard_path,
    shard_seconds,
)

KEYS = [{"k": i} for i in range(4)]
SETTINGS = {"a": 1, "backend": "numba", "device": "cpu"}


def square(calls):
    def compute(key):
        calls.append(key["k"])
        return [{"k": key["k"], "value": key["k"] ** 2}]

    return compute


def run(out, compute, keys=KEYS, settings=SETTINGS, **kw):
    return run_shards(keys, compute, out_dir=out, settings=settings, progress=False, **kw)


def test_rows_in_shard_order_and_checkpointed_with_key_settings_and_digest(tmp_path):
    calls = []
    rows = run(tmp_path, square(calls))
    assert [r["value"] for r in rows] == [0, 1, 4, 9] and calls == [0, 1, 2, 3]
    shards = sorted((tmp_path / "shards").glob("*.json"))
    assert len(shards) == 4
    for p in shards:
        s = json.loads(p.read_text())
        assert s["settings"] == SETTINGS and p == shard_path(s["key"], out_dir=tmp_path, settings=SETTINGS)
        assert len(s["digest"]) == 64
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]  # no temporary file left


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    calls = []

    def flaky(key):
        if key["k"] == 2:
            raise KeyboardInterrupt
        return square(calls)(key)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, flaky)
    assert calls == [0, 1]
    calls.clear()
    rows = run(tmp_path, square(calls))
    assert calls == [2, 3]
    assert rows == run(tmp_path / "fresh", square([]))


def test_extended_sweep_computes_only_new_keys(tmp_path):
    calls = []
    run(tmp_path, square(calls), keys=KEYS[:2])
    run(tmp_path, square(calls))
    assert calls == [0, 1, 2, 3]


def test_other_settings_are_refused(tmp_path):
    run(tmp_path, square([]), keys=KEYS[:1])
    with pytest.raises(SweepSettingsError, match="a"):
        run(tmp_path, square([]), keys=KEYS[:1], settings={**SETTINGS, "a": 2})


@pytest.mark.parametrize("change", [{"a": 2}, {"backend": "torch"}, {"device": "cuda:0"}])
def test_shards_of_other_settings_are_never_reused_after_the_manifest_is_deleted(tmp_path, change):
    """Deleting sweep.json and rerunning with other settings (backend, device included) recomputes."""
    run(tmp_path, square([]))
    (tmp_path / "sweep.json").unlink()
    calls = []
    rows = run(tmp_path, lambda key: [{"k": key["k"], "value": -1}], settings={**SETTINGS, **change})
    assert [r["value"] for r in rows] == [-1] * 4
    assert len(list((tmp_path / "shards").glob("*.json"))) == 8  # old ones untouched, new ones beside them
    assert read_shard(KEYS[0], out_dir=tmp_path, settings=SETTINGS)["rows"] == [{"k": 0, "value": 0}]
    assert calls == []


def test_non_finite_rows_are_recorded_and_the_sweep_goes_on(tmp_path):
    def compute(key):
        return [{"k": key["k"], "loss": math.nan if key["k"] == 1 else 1.0, "diverged": key["k"] == 1}]

    rows = run(tmp_path, compute)
    assert len(rows) == 4 and math.isnan(rows[1]["loss"]) and rows[1]["diverged"]
    again = run(tmp_path, lambda key: pytest.fail("recomputed"))
    assert math.isnan(again[1]["loss"]) and again[2] == rows[2]


def _edit(field, value):
    def damage(path):
        s = json.loads(path.read_text())
        s[field] = value
        path.write_text(json.dumps(s))
    return damage


def _edit_row(path):
    s = json.loads(path.read_text())
    s["rows"][0]["value"] = 123
    path.write_text(json.dumps(s))


DAMAGE = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "stray byte": lambda p: p.write_bytes(p.read_bytes() + b"x"),
    "binary": lambda p: p.write_bytes(bytes(range(256))),
    "a list": lambda p: p.write_text("[1, 2, 3]"),
    "no rows": lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "rows"})),
    "rows removed": _edit("rows", []),
    "rows not objects": _edit("rows", [1, 2]),
    "row edited": _edit_row,
    "relabelled key": _edit("key", {"k": 99}),
    "other settings": _edit("settings", {"a": 2}),
    "old format": _edit("format", 1),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_shard_is_recomputed_with_a_warning_naming_it(tmp_path, kind):
    clean = run(tmp_path, square([]))
    victim = shard_path(KEYS[1], out_dir=tmp_path, settings=SETTINGS)
    DAMAGE[kind](victim)
    calls = []
    with pytest.warns(DamagedShardWarning, match=str(victim.name)):
        rows = run(tmp_path, square(calls))
    assert calls == [1] and rows == clean
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: no warning the next time
        assert run(tmp_path, lambda key: pytest.fail("recomputed")) == clean


def test_a_damaged_manifest_is_named_and_rewritten(tmp_path):
    run(tmp_path, square([]))
    (tmp_path / "sweep.json").write_text('{"settings": ')
    with pytest.warns(DamagedShardWarning, match="sweep.json"):
        run(tmp_path, lambda key: pytest.fail("recomputed"))
    assert json.loads((tmp_path / "sweep.json").read_text()) == {"settings": SETTINGS}


def test_compile_time_is_recorded_apart_from_compute_time(tmp_path, monkeypatch):
    """warm() runs before each computed shard; its time is compile_seconds, not seconds."""
    import dynlatch.sweep._executors as executors

    clock = iter(range(100))
    monkeypatch.setattr(executors.time, "perf_counter", lambda: float(next(clock)))  # t0, t1, t_end per shard
    run(tmp_path, square([]), keys=KEYS[:2], warm=lambda key: None)
    shards = [read_shard(k, out_dir=tmp_path, settings=SETTINGS) for k in KEYS[:2]]
    assert [s["compile_seconds"] for s in shards] == [1.0, 1.0] and [s["seconds"] for s in shards] == [1.0, 1.0]
    assert shard_seconds(KEYS[:2], out_dir=tmp_path, settings=SETTINGS) == 2.0
    assert math.isnan(shard_seconds(KEYS, out_dir=tmp_path, settings=SETTINGS, field="compile_seconds"))  # missing


def _hold_lock(folder, ready, release):
    with lock_folder(folder):
        ready.set()
        release.wait(30)


def test_a_second_process_on_a_locked_folder_is_refused(tmp_path):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(SweepLockedError, match="in use by another dynlatch run"):
            run(tmp_path, square([]))
        assert not (tmp_path / "shards").exists() and not (tmp_path / "sweep.json").exists()
    finally:
        release.set()
        holder.join(30)
    assert len(run(tmp_path, square([]))) == 4  # free again


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    with lock_folder(tmp_path):
        assert len(run(tmp_path, square([]))) == 4
    assert os.path.exists(tmp_path / ".lock")
