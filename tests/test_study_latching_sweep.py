"""The latching sweep end to end (dynlatch.studies.latching_sweep, run by dynlatch run latching-sweep): the --quick grid, the bug
split, resume after an interruption, after SIGKILL mid-sweep and after a kill in every phase, two runs racing on one
folder, and validation of every flag before anything is written."""

import csv
import json
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import dynlatch
from dynlatch._cli import main as cli
from dynlatch.studies.latching_sweep import SweepConfig, shard_keys, summarise_success, sweep_data, train_shard
from dynlatch.sweep import read_shard

# tiny and on the torch backend (no numba compile): 2 cells x 2 lengths x 2 repeats, 100 sequences, 1 epoch
TINY = ["--cells", "srnn,lstm", "--lens", "3,5", "--repeats", "2", "--n", "100", "--epochs", "1", "--quiet",
        "--backend", "torch"]
FORK = multiprocessing.get_context("fork")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def shard_files(out):
    return sorted((out / "shards").glob("*.json"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The uninterrupted tiny run every fault test is compared with."""
    out = tmp_path_factory.mktemp("clean")
    assert cli(["run", "latching-sweep", *TINY, "--out", str(out)]) == 0
    return out


def _child(argv, env):
    os.environ.update(env)
    torch.set_num_threads(1)
    raise SystemExit(cli(argv))


def run_forked(argv, **env):
    """Run the CLI in a forked child (torch already imported: no start-up cost); returns its exit code (-9: SIGKILL)."""
    p = FORK.Process(target=_child, args=(argv, env))
    p.start()
    p.join(120)
    return p.exitcode


@pytest.mark.slow
def test_quick_grid_end_to_end(tmp_path, capsys):
    assert cli(["run", "latching-sweep", "--quick", "--backend", "torch", "--lens", "5", "--repeats", "3",
                "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    rows = read_csv(tmp_path / "runs.csv")
    assert len(rows) == 3 * 1 * 3  # three cells x one length x three repeats, --quick's n
    assert {r["cell"] for r in rows} == {"srnn", "lstm", "gru"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["n"] == 2000 and summary["config"]["lengths"] == [5]  # --quick n; given flags win
    assert {"dynlatch", "git_commit", "torch", "numba", "numpy", "python", "machine"} <= set(summary["provenance"])
    for g in summary["groups"]:
        for T, s, (lo, hi) in zip(g["T"], g["success_frequency"], g["success_ci95"]):
            accs = [float(r["val_acc"]) for r in rows if r["cell"] == g["cell"] and int(r["T"]) == T]
            assert s == pytest.approx(np.mean(np.array(accs) >= 0.9))  # recomputed from runs.csv
            assert lo <= s <= hi
    for ext in ("pdf", "png"):
        assert (tmp_path / f"success_vs_length.{ext}").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "figure:" in out and "of compilation" in out


def test_keras_tail_split_reproduces_the_bug(tmp_path):
    """With the question's split (Keras' validation_split takes the last 20% of data ordered positives first) every
    validation label is 0 and training holds 5/8 positives; a model's val accuracy is then exactly the fraction of
    validation sequences it assigns to class 0 -- checked against the trained torch models' own predictions."""
    data = dynlatch.tasks.latching(length=5, n=100, split="keras-tail")
    assert set(data.y_val.tolist()) == {0} and len(data.y_val) == 20
    assert data.y_train.sum() == 50 and len(data.y_train) == 80
    model = dynlatch.Model.init("srnn", seeds=[0, 1, 2], dtype=torch.float64)
    result = dynlatch.train(model, data, epochs=1, backend="torch")
    with torch.no_grad():
        predicted_zero = (result.model.logits(torch.as_tensor(data.x_val)).argmax(-1) == 0).double().mean(-1)
    np.testing.assert_allclose(result.final("val_acc"), predicted_zero.numpy(), rtol=0, atol=1e-12)
    cfg = SweepConfig(cells=("srnn",), lengths=(5,), repeats=3, n=100, epochs=1, split="keras-tail", backend="torch")
    rows = train_shard(cfg, "srnn", 5)
    assert all(r["split"] == "keras-tail" for r in rows)


def test_interrupt_after_first_shard_then_resume(tmp_path, monkeypatch, clean):
    import dynlatch.studies.latching_sweep as sweep

    real = sweep.train_shard
    calls = []

    def interrupted(config, cell, T, data=None, **kw):
        if calls:
            raise KeyboardInterrupt
        calls.append((cell, T))
        return real(config, cell, T, data, **kw)

    monkeypatch.setattr(sweep, "train_shard", interrupted)
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path)]) == 130
    assert len(shard_files(tmp_path)) == 1
    recomputed = []

    def counting(config, cell, T, data=None, **kw):
        recomputed.append((cell, T))
        return real(config, cell, T, data, **kw)

    monkeypatch.setattr(sweep, "train_shard", counting)
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path)]) == 0
    assert calls[0] not in recomputed and len(recomputed) == 3
    assert (tmp_path / "runs.csv").read_bytes() == (clean / "runs.csv").read_bytes()


def assert_same_weights(a, b):
    with np.load(a / "weights.npz", allow_pickle=False) as za, np.load(b / "weights.npz", allow_pickle=False) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k], err_msg=k)


def _stat(paths):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_recomputes_only_the_unfinished(tmp_path):
    out = tmp_path / "killed"
    argv = ["run", "latching-sweep", *TINY, "--lens", "3,4,5", "--out", str(out)]
    proc = FORK.Process(target=_child, args=(argv, {}))
    proc.start()
    deadline = time.time() + 120
    while time.time() < deadline and proc.exitcode is None and not shard_files(out):
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL  # it was killed, not finished
    done = shard_files(out)
    assert 1 <= len(done) < 6 and not (out / "runs.csv").exists()  # mid-sweep
    before = _stat(done)
    assert cli(argv) == 0
    assert {k: v for k, v in _stat(shard_files(out)).items() if k in before} == before  # finished ones not rewritten
    assert len(shard_files(out)) == 6
    assert cli([*argv[:-1], str(tmp_path / "clean")]) == 0
    assert (out / "runs.csv").read_bytes() == (tmp_path / "clean" / "runs.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["train#2", "shard#3", "runs.csv", "weights.npz", "figure#2", "summary.json"])
def test_kill_in_every_phase_then_rerun_gives_the_same_runs_csv(tmp_path, clean, phase):
    out = tmp_path / "out"
    assert run_forked(["run", "latching-sweep", *TINY, "--out", str(out)], DYNLATCH_KILL_AT=phase) == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    if phase.startswith("train") or phase.startswith("shard"):
        assert 1 <= len(shard_files(out)) < 4 and not (out / "runs.csv").exists()
    before = _stat(shard_files(out))
    assert cli(["run", "latching-sweep", *TINY, "--out", str(out)]) == 0
    assert {k: v for k, v in _stat(shard_files(out)).items() if k in before} == before
    assert (out / "runs.csv").read_bytes() == (clean / "runs.csv").read_bytes()
    assert_same_weights(out, clean)
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name and p.parent.name == "shards"]


@pytest.mark.slow
def test_two_runs_racing_on_one_folder_both_finish_or_one_is_refused(tmp_path, clean):
    out = tmp_path / "out"
    argv = ["run", "latching-sweep", *TINY, "--out", str(out)]
    procs = [FORK.Process(target=_child, args=(argv, {})) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    codes = sorted(p.exitcode for p in procs)
    assert codes in ([0, 0], [0, 2]), codes
    assert (out / "runs.csv").read_bytes() == (clean / "runs.csv").read_bytes()
    cfg = SweepConfig(cells=("srnn", "lstm"), lengths=(3, 5), repeats=2, n=100, epochs=1, backend="torch")
    for key in shard_keys(cfg):
        assert read_shard(key, out_dir=out, settings=cfg.settings()) is not None  # every shard sound


def test_other_settings_in_the_same_folder_exit_2(clean, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *TINY, "--lr", "0.01", "--out", str(clean)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lr" in err


BAD = [
    (["--lens", "0,5"], "--lens"), (["--repeats", "0"], "--repeats"), (["--cells", "lstm,xyz"], "--cells"),
    (["--task", "copy"], "--task"), (["--lens", "five"], "--lens"), (["--bogus"], "--bogus"),
    (["--task", "bit-relay", "--lens", "1"], "--lens"), (["--clip", "-1"], "--clip"),
    (["--threshold", "2"], "--threshold"), (["--noise", "inf"], "--noise"), (["--noise", "nan"], "--noise"),
    (["--noise", "-0.1"], "--noise"), (["--seed", "-1"], "--seed"), (["--lr", "inf"], "--lr"), (["--lr", "0"], "--lr"),
    (["--device", "nonsense"], "--device"), (["--backend", "numba", "--device", "meta"], "--device"),
    (["--n", "3"], "--n"), (["--cells", "srnn,srnn"], "--cells"),
    (["--lens", "5,5"], "--lens"), (["--epochs", "1.5"], "--epochs"),
]


@pytest.mark.parametrize("flags, flag", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_flags_get_one_line_naming_the_flag_exit_2_and_write_nothing(flags, flag, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *flags, "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err and flag in err, err
    assert not out.exists() and os.listdir(tmp_path) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", "--device", "cuda", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "--device" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["file", "under a file", "read-only"])
def test_an_unusable_out_is_refused(where, tmp_path, capsys):
    f = tmp_path / "f"
    f.write_text("keep me")
    out = {"file": f, "under a file": f / "sub", "read-only": "/proc/dynlatch-out"}[where]
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "--out" in err
    assert f.read_text() == "keep me" and os.listdir(tmp_path) == ["f"]


def test_summary_counts_diverged_runs_as_failures_with_a_wilson_interval():
    rows = [{"task": "latching", "cell": "lstm", "init": "keras2", "split": "correct", "hidden": 1, "T": 5,
             "val_acc": a, "diverged": d} for a, d in [(1.0, False), (0.95, False), (float("nan"), True), (0.5, False)]]
    (g,) = summarise_success(rows, threshold=0.9)
    assert g["success_frequency"] == [0.5] and g["n_diverged"] == [1] and g["n"] == [4] and g["n_success"] == [2]
    assert g["val_acc_mean"][0] == pytest.approx(np.mean([1.0, 0.95, 0.5]))
    lo, hi = g["success_ci95"][0]  # Wilson 2/4 by hand: 0.5 -+ 1.96/1.9604 * sqrt(0.0625 + 0.0600) = (0.150, 0.850)
    assert (lo, hi) == pytest.approx((0.15003, 0.84997), abs=1e-4)


def test_cells_share_data_and_seeds_per_length():
    """Paired design: every cell at (T, repeat) gets the same model seed and data."""
    cfg = SweepConfig(lengths=(4,), repeats=2, n=40, epochs=1, backend="torch")
    a, b = train_shard(cfg, "srnn", 4), train_shard(cfg, "gru", 4)
    assert [r["seed"] for r in a] == [r["seed"] for r in b] and a[0]["data_seed"] == b[0]["data_seed"]
    assert a[0]["seed"] != a[1]["seed"]


def test_settings_carry_the_resolved_backend_and_device():
    assert SweepConfig().settings()["backend"] == "numba" and SweepConfig().settings()["device"] == "cpu"
    assert SweepConfig(backend="torch", device="cpu").settings()["backend"] == "torch"
    assert "threshold" not in SweepConfig().settings()


# -- the trained models: weights.npz and read_sweep ------------------------------------------------------------
TINY_CONFIG = SweepConfig(cells=("srnn", "lstm"), lengths=(3, 5), repeats=2, n=100, epochs=1, backend="torch")


def test_weights_are_matched_to_runs_csv_and_rebuild_models_that_score_the_recorded_accuracy(clean):
    res = dynlatch.read_sweep(clean)
    assert [(r["cell"], r["T"], r["repeat"]) for r in res.rows] == [
        (r["cell"], int(r["T"]), int(r["repeat"])) for r in read_csv(clean / "runs.csv")]
    for cell in TINY_CONFIG.cells:
        for T in TINY_CONFIG.lengths:
            rows, final = res.models(cell, T=T, dtype=torch.float32)
            assert len(rows) == 2 and final.cell.kind == cell and final.models == 2
            # oracle: the rebuilt final models, evaluated afresh on the sweep's validation data, score as runs.csv says
            data = sweep_data(TINY_CONFIG, T)
            loss, correct = final.losses(data.x_val, data.y_val)
            np.testing.assert_array_equal(correct.numpy() / len(data.y_val), [r["val_acc"] for r in rows])
            np.testing.assert_allclose(loss.numpy(), [r["val_loss"] for r in rows], rtol=1e-5)
            # and the initial models are the seeds' fresh initialisation
            _, initial = res.models(cell, T=T, stage="initial")
            fresh = dynlatch.Model.init(cell, seeds=[r["seed"] for r in rows], dtype=torch.float64)
            for p, q in zip(initial.parameters(), fresh.parameters()):
                torch.testing.assert_close(p, q.float().double(), rtol=0, atol=0)


def test_read_sweep_selects_failed_or_succeeded_models(clean):
    res = dynlatch.read_sweep(clean)
    for succeeded in (True, False):
        rows, model = res.models("lstm", succeeded=succeeded)
        expected = [r for r in res.rows if r["cell"] == "lstm" and (r["val_acc"] >= 0.9) == succeeded]
        assert rows == expected and (model is None) == (not rows)
        if rows:
            assert model.models == len(rows) and model.cell.models == len(rows)
    assert res.models("gru") == ([], None)


def test_keeping_weights_does_not_change_the_numbers():
    plain = train_shard(TINY_CONFIG, "lstm", 3)
    rows, weights = train_shard(TINY_CONFIG, "lstm", 3, with_weights=True)
    assert rows == plain and set(weights) == {"initial", "final"}
    assert np.array(weights["final"]["kernel"]).shape == (2, 1, 4)  # (M, D, 4 gates x 1 unit)


def test_read_sweep_names_a_missing_or_damaged_file(clean, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(clean, copy)
    (copy / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="weights.npz"):
        dynlatch.read_sweep(copy)
    (copy / "weights.npz").unlink()
    with pytest.raises(ValueError, match="weights.npz is missing"):
        dynlatch.read_sweep(copy)


def _damaged(clean, tmp_path, damage):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(clean, copy)
    runs, summary = copy / "runs.csv", copy / "summary.json"
    if damage == "no summary":
        summary.unlink()
    elif damage == "nan threshold":
        summary.write_text(summary.read_text().replace('"threshold": 0.9', '"threshold": NaN'))
    elif damage == "list summary":
        summary.write_text("[1, 2]")
    elif damage == "no cell column":
        lines = runs.read_text().splitlines()
        runs.write_text("\n".join([lines[0].replace("cell", "kind", 1)] + lines[1:]) + "\n")
    elif damage == "truncated runs":
        text = runs.read_text()
        runs.write_text(text[: text.rindex(",")] + "\n")
    elif damage == "nan weight":
        with np.load(copy / "weights.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        key = next(k for k, v in arrays.items() if v.dtype.kind == "f")
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = np.nan
        np.savez(copy / "weights.npz", **arrays)
    elif damage == "no repeat array":
        with np.load(copy / "weights.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "repeat"}
        np.savez(copy / "weights.npz", **arrays)
    return copy


@pytest.mark.parametrize("damage,names", [
    ("no summary", "summary.json is missing"), ("nan threshold", "threshold must be a number"),
    ("list summary", "not a sweep summary"), ("no cell column", "runs.csv lacks the column"),
    ("truncated runs", "runs.csv has a row with too many or too few"), ("nan weight", "non-finite"),
    ("no repeat array", "lacks the array"),
])
def test_read_sweep_refuses_an_unfinished_or_damaged_sweep_naming_the_file(clean, tmp_path, damage, names):
    copy = _damaged(clean, tmp_path, damage)
    with pytest.raises(ValueError, match=names):
        dynlatch.read_sweep(copy)


# -- read_sweep fuzzed: a damaged folder is read as it is or refused naming the file ---------------------------------
SWEEP_FILES = ("runs.csv", "sweep.json", "summary.json", "weights.npz")
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=6)


def _mutate_json(path, key_path, value):
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return
    node = data
    for key in key_path[:-1]:
        if not isinstance(node, dict) or key not in node:
            break
        node = node[key]
    if isinstance(node, dict):
        node[key_path[-1]] = value
    path.write_text(json.dumps(data, allow_nan=True))


def _mutate_npz(path, name_index, change):
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception:  # already damaged or deleted
        return
    name = sorted(arrays)[name_index % len(arrays)]
    a = arrays[name]
    if change == "drop":
        del arrays[name]
    elif change == "shorter":
        arrays[name] = a[:-1]
    elif change == "nan" and a.dtype.kind == "f" and a.size:
        a = a.copy()
        a.flat[0] = np.nan
        arrays[name] = a
    elif change == "strings":
        arrays[name] = np.array(["x"] * max(a.shape[0] if a.ndim else 1, 1))
    np.savez(path, **arrays)


mutations = st.one_of(
    st.tuples(st.just("truncate"), st.sampled_from(SWEEP_FILES), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.sampled_from(SWEEP_FILES), st.floats(0, 1)),
    st.tuples(st.just("delete"), st.sampled_from(SWEEP_FILES), st.just(0.0)),
    st.tuples(st.just("json"), st.sampled_from([("threshold",), ("settings", "hidden"), ("settings", "init"),
                                                ("settings", "readout"), ("settings",)]), JSON_VALUES),
    st.tuples(st.just("npz"), st.integers(0, 30), st.sampled_from(["drop", "shorter", "nan", "strings"])),
)


def _damage(folder, mutation):
    what, target, amount = mutation
    if what == "json":
        _mutate_json(folder / ("summary.json" if target == ("threshold",) else "sweep.json"), target, amount)
    elif what == "npz":
        _mutate_npz(folder / "weights.npz", target, amount)
    else:
        path = folder / target
        if not path.exists():
            return
        data = path.read_bytes()
        if not data:
            return
        k = min(int(amount * len(data)), len(data) - 1)
        if what == "delete":
            path.unlink()
        elif what == "truncate":
            path.write_bytes(data[:k])
        else:
            path.write_bytes(data[:k] + bytes([data[k] ^ 0x5A]) + data[k + 1:])


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(mutations, min_size=1, max_size=2))
def test_fuzz_a_damaged_sweep_is_read_as_it_is_or_refused_naming_the_file(clean, tmp_path_factory, damage):
    """Oracle: the damage itself. Whatever was done to the folder, read_sweep and the models it builds either work,
    with finite weights, a threshold in (0, 1] and every row keyed by cell, T and repeat, or raise ValueError naming
    one of the sweep's files; never another exception, never NaN weights."""
    import shutil

    folder = tmp_path_factory.mktemp("damaged") / "sweep"
    shutil.copytree(clean, folder)
    for mutation in damage:
        _damage(folder, mutation)
    try:
        res = dynlatch.read_sweep(folder)
        for cell in sorted({str(r["cell"]) for r in res.rows}):
            res.models(cell)
    except ValueError as e:
        assert any(name in str(e) for name in SWEEP_FILES), str(e)
        return
    assert 0 < res.threshold <= 1
    assert all(np.isfinite(v).all() for v in res.arrays.values() if v.dtype.kind == "f")
    assert all({"cell", "T", "repeat"} <= set(r) for r in res.rows)
