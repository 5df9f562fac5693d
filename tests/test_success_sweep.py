"""The latching sweep end to end: the --quick grid, the bug split, resume after interruption and after a kill."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import dynlatch
from dynlatch import SweepConfig, summarise_success
from dynlatch._cli import main as cli

TINY = ["--cells", "srnn,lstm", "--lens", "3,6", "--repeats", "3", "--n", "200", "--epochs", "2", "--quiet"]


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_quick_grid_end_to_end(tmp_path, capsys):
    assert cli(["run", "latching-sweep", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    rows = read_csv(tmp_path / "runs.csv")
    cfg = SweepConfig()
    assert len(rows) == len(cfg.cells) * 3 * 8  # three cells x three lengths x eight repeats
    assert {r["cell"] for r in rows} == {"srnn", "lstm", "gru"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    for g in summary["groups"]:
        assert g["T"] == [5, 20, 50]
        assert all(0.0 <= s <= 1.0 for s in g["success_frequency"])
        # success frequency recomputed independently from runs.csv
        for T, s in zip(g["T"], g["success_frequency"]):
            accs = [float(r["val_acc"]) for r in rows if r["cell"] == g["cell"] and int(r["T"]) == T]
            assert s == pytest.approx(np.mean(np.array(accs) >= 0.9))
    for ext in ("pdf", "png"):
        assert (tmp_path / f"success_vs_length.{ext}").stat().st_size > 1000
    assert "figure:" in capsys.readouterr().out


def test_keras_tail_split_reproduces_the_bug(tmp_path):
    """With the question's split every validation label is 0, so a model predicting one class scores 0 or 1."""
    data = dynlatch.tasks.latching(length=5, n=200, split="keras-tail")
    assert set(data.y_val.tolist()) == {0}
    assert cli(["run", "latching-sweep", *TINY, "--split", "keras-tail", "--out", str(tmp_path)]) == 0
    assert {r["split"] for r in read_csv(tmp_path / "runs.csv")} == {"keras-tail"}


def test_interrupt_after_first_shard_then_resume(tmp_path, monkeypatch):
    import dynlatch._success_sweep as sweep

    real = sweep.train_shard
    calls = []

    def interrupted(config, cell, T, data=None):
        if calls:
            raise KeyboardInterrupt
        calls.append((cell, T))
        return real(config, cell, T, data)

    monkeypatch.setattr(sweep, "train_shard", interrupted)
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path / "a")]) == 130
    assert len(list((tmp_path / "a" / "shards").glob("*.json"))) == 1

    recomputed = []

    def counting(config, cell, T, data=None):
        recomputed.append((cell, T))
        return real(config, cell, T, data)

    monkeypatch.setattr(sweep, "train_shard", counting)
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path / "a")]) == 0
    assert calls[0] not in recomputed and len(recomputed) == 3
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path / "b")]) == 0
    assert read_csv(tmp_path / "a" / "runs.csv") == read_csv(tmp_path / "b" / "runs.csv")


def test_killed_run_resumes_to_the_same_results(tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "dynlatch._cli", "run", "latching-sweep", *TINY, "--lens", "3,6,9,12,15,18",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list((out / "shards").glob("*.json")):
        time.sleep(0.05)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert subprocess.run(cmd).returncode == 0
    assert cli(["run", "latching-sweep", *TINY, "--lens", "3,6,9,12,15,18", "--out", str(tmp_path / "clean")]) == 0
    assert read_csv(out / "runs.csv") == read_csv(tmp_path / "clean" / "runs.csv")


def test_other_settings_in_the_same_folder_exit_2(tmp_path, capsys):
    assert cli(["run", "latching-sweep", *TINY, "--out", str(tmp_path)]) == 0
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *TINY, "--lr", "0.01", "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lr" in err


@pytest.mark.parametrize("flags", [["--lens", "0,5"], ["--repeats", "0"], ["--cells", "lstm,xyz"], ["--task", "copy"],
                                   ["--lens", "five"], ["--bogus"], ["--task", "bit-relay", "--lens", "1"],
                                   ["--clip", "-1"], ["--threshold", "2"]])
def test_bad_flags_get_one_line_and_exit_2(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "latching-sweep", *flags, "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


def test_summary_counts_diverged_runs_as_failures():
    rows = [{"task": "latching", "cell": "lstm", "init": "keras2", "split": "correct", "hidden": 1, "T": 5,
             "val_acc": a, "diverged": d} for a, d in [(1.0, False), (0.95, False), (float("nan"), True), (0.5, False)]]
    (g,) = summarise_success(rows, threshold=0.9)
    assert g["success_frequency"] == [0.5] and g["n_diverged"] == [1] and g["n"] == [4]
    assert g["val_acc_mean"][0] == pytest.approx(np.mean([1.0, 0.95, 0.5]))


def test_cells_share_data_and_seeds_per_length():
    """Paired design: every cell at (T, repeat) gets the same model seed and data."""
    from dynlatch import train_shard

    cfg = SweepConfig(lengths=(4,), repeats=2, n=40, epochs=1)
    a, b = train_shard(cfg, "srnn", 4), train_shard(cfg, "gru", 4)
    assert [r["seed"] for r in a] == [r["seed"] for r in b] and a[0]["data_seed"] == b[0]["data_seed"]
    assert a[0]["seed"] != a[1]["seed"]
