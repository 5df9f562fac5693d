"""run_shards: checkpointing, resume without recomputation, refusing mixed settings, recording non-finite rows."""

import json
import math

import pytest

from dynlatch import SweepSettingsError, run_shards

KEYS = [{"k": i} for i in range(4)]


def square(calls):
    def compute(key):
        calls.append(key["k"])
        return [{"k": key["k"], "value": key["k"] ** 2}]

    return compute


def test_rows_in_shard_order_and_checkpointed(tmp_path):
    calls = []
    rows = run_shards(KEYS, square(calls), out_dir=tmp_path, settings={"a": 1}, progress=False)
    assert [r["value"] for r in rows] == [0, 1, 4, 9]
    assert calls == [0, 1, 2, 3]
    shards = sorted((tmp_path / "shards").glob("*.json"))
    assert len(shards) == 4
    assert {json.loads(p.read_text())["key"]["k"] for p in shards} == {0, 1, 2, 3}


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    calls = []

    def flaky(key):
        if key["k"] == 2:
            raise KeyboardInterrupt
        return square(calls)(key)

    with pytest.raises(KeyboardInterrupt):
        run_shards(KEYS, flaky, out_dir=tmp_path, settings={"a": 1}, progress=False)
    assert calls == [0, 1]
    calls.clear()
    rows = run_shards(KEYS, square(calls), out_dir=tmp_path, settings={"a": 1}, progress=False)
    assert calls == [2, 3]
    fresh = run_shards(KEYS, square([]), out_dir=tmp_path / "fresh", settings={"a": 1}, progress=False)
    assert rows == fresh


def test_extended_sweep_computes_only_new_keys(tmp_path):
    calls = []
    run_shards(KEYS[:2], square(calls), out_dir=tmp_path, settings={}, progress=False)
    run_shards(KEYS, square(calls), out_dir=tmp_path, settings={}, progress=False)
    assert calls == [0, 1, 2, 3]


def test_other_settings_are_refused(tmp_path):
    run_shards(KEYS[:1], square([]), out_dir=tmp_path, settings={"lr": 0.001}, progress=False)
    with pytest.raises(SweepSettingsError, match="lr"):
        run_shards(KEYS[:1], square([]), out_dir=tmp_path, settings={"lr": 0.01}, progress=False)


def test_non_finite_rows_are_recorded_and_the_sweep_goes_on(tmp_path):
    def compute(key):
        return [{"k": key["k"], "loss": math.nan if key["k"] == 1 else 1.0, "diverged": key["k"] == 1}]

    rows = run_shards(KEYS, compute, out_dir=tmp_path, settings={}, progress=False)
    assert len(rows) == 4 and math.isnan(rows[1]["loss"]) and rows[1]["diverged"]
    again = run_shards(KEYS, lambda key: pytest.fail("recomputed"), out_dir=tmp_path, settings={}, progress=False)
    assert math.isnan(again[1]["loss"]) and again[2] == rows[2]
