"""The sweep benchmark (benchmarks/sweep.py) measures a fair baseline and extrapolates it correctly; no speed is
asserted. Oracles: the baseline network computes the same map as the dynlatch model it is compared with (torch.nn
against dynlatch's cells), the extrapolation recovers a known linear cost model in closed form, and the quick run's
files agree with each other."""

import csv
import importlib
import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import dynlatch
from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error
from dynlatch import cells
from dynlatch._cli import main as cli, script_package, scripts
from dynlatch.studies.latching_sweep import SweepConfig

bench = importlib.import_module(script_package("benchmarks").__name__ + ".sweep")
ab = importlib.import_module(script_package("benchmarks").__name__ + ".ab")
MAKE_PLAN = bench.make_plan


@pytest.mark.parametrize("cell", ["srnn", "lstm", "gru"])
def test_baseline_network_is_the_model_dynlatch_trains(cell):
    """The timed torch.nn classifier and a dynlatch Model with the same weights give the same logits, so the speed
    ratio compares like with like."""
    model = dynlatch.Model.init(cell, seeds=[3], init="torch", dtype=torch.float32)
    net = bench.TorchClassifier(cell)
    with torch.no_grad():
        for name, value in cells.to_torch(model.cell[0]).state_dict().items():
            getattr(net.rnn, name).copy_(value)
        net.out.weight.copy_(model.weight[0].T)
        net.out.bias.copy_(model.bias[0])
    x = torch.randn(7, 12, 1)
    torch.testing.assert_close(net(x), model.logits(x)[0], rtol=1e-5, atol=1e-6)


def test_extrapolation_recovers_a_linear_cost_model():
    a, b = 0.004, 0.0007  # seconds per model-epoch = a + b T, exactly
    rows = [{"cell": "lstm", "T": T, "n_train": 400, "seconds_per_model_epoch": a + b * T} for T in (5, 20, 50)]
    target = SweepConfig(lengths=(2, 10, 100), repeats=7, epochs=3)
    fit = bench.extrapolate(rows, "lstm", target, target_train=8000)
    assert fit["a"] == pytest.approx(a) and fit["b"] == pytest.approx(b)
    closed_form = 7 * 3 * (8000 / 400) * (3 * a + b * (2 + 10 + 100))
    assert fit["grid_seconds"] == pytest.approx(closed_form)


def test_the_quick_plan_times_the_grids_repeats_at_three_lengths_and_extrapolates():
    plan = bench.make_plan(True, 0)
    assert plan.baseline_lengths == (5, 20) and plan.sweep.lengths == (5, 20, 50)
    assert plan.sweep.repeats == plan.target.repeats == 30 and plan.dynlatch_extrapolated
    full = bench.make_plan(False, 0)
    assert full.sweep == full.target and not full.dynlatch_extrapolated


def _small_plan(quick: bool, seed: int, device: str | None = None) -> "bench.Plan":
    """The quick plan at a tenth of its size (the command, files and extrapolation are the same code)."""
    plan = MAKE_PLAN(quick, seed, device)
    return plan._replace(baseline_n=300, sweep=replace(plan.sweep, repeats=4, n=300))


def test_quick_sweep_benchmark_writes_consistent_results(tmp_path, capsys, monkeypatch):
    stale = tmp_path / "dynlatch-sweep"  # a leftover sweep with other settings: must be replaced, not resumed
    stale.mkdir()
    (stale / "sweep.json").write_text(json.dumps({"settings": {"stale": True}}))

    monkeypatch.setattr(bench, "make_plan", _small_plan)
    assert cli(["bench", "sweep", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "goal: full grid <= 30 s and >= 100x the torch.nn loop" in out

    rows = list(csv.DictReader(open(tmp_path / "bench.csv")))
    cells_ = ("srnn", "lstm", "gru")
    measured = {(r["impl"], r["cell"], int(r["T"])) for r in rows}
    assert measured == ({("torch.nn", c, T) for c in cells_ for T in (5, 20)}
                        | {("dynlatch", c, T) for c in cells_ for T in (5, 20, 50)})
    assert all(float(r["seconds"]) > 0 for r in rows)

    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["mode"] == "quick" and s["dynlatch_extrapolated"] and s["baseline_extrapolated"]
    assert s["dynlatch_models_trained"] == 3 * 3 * 4  # the sweep really trained the plan's models
    shards = list((tmp_path / "dynlatch-sweep" / "shards").glob("*.json"))
    assert len(shards) == 9
    assert not (tmp_path / "dynlatch-sweep" / "sweep.json").read_text().count("stale")
    speedups = [c["speedup"] for c in s["cells"].values()]
    assert min(speedups) <= s["speedup"] <= max(speedups)  # the overall ratio lies between the cells' ratios
    assert np.isfinite(s["peak_rss_gib"]) and s["peak_rss_gib"] > 0
    assert {"torch", "cpu_count", "platform", "baseline_torch_threads"} <= set(s["machine"])


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["landscape", "--pascanu-grid", "32", "--latching-grid", "8", "--baseline-points", "5"],
                                  ["evaluate", "--grid", "3", "--length", "5", "--n", "40"]])
def test_other_benchmarks_run_at_small_scale(argv, capsys):
    """The landscape and evaluator benchmarks run end to end and print their side-by-side ratios."""
    assert cli(["bench", *argv]) == 0
    out = capsys.readouterr().out
    assert "x" in out and ("faster" in out or "per-point" in out)


@pytest.mark.parametrize("argv,message", [(["--rounds", "0"], "--rounds"), (["--base", "no-such-revision"], "--base"),
                                          (["--base", "HEAD\x00"], "--base"), (["--base", "--help"], "--base")])
def test_ab_benchmark_refuses_bad_flags_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["bench", "ab", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_ab_benchmark_exports_a_revision_as_a_second_package(tmp_path):
    """The A side is the revision's own files (here HEAD's), under a package name of its own."""
    ab.export_base("HEAD", tmp_path)
    exported = tmp_path / ab.BASE_NAME
    assert (exported / "__init__.py").is_file() and (exported / "_fastpath.py").is_file()
    committed = subprocess.run(["git", "-C", str(ab.ROOT), "show", "HEAD:dynlatch/_fastpath.py"], check=True,
                               capture_output=True, text=True).stdout
    assert (exported / "_fastpath.py").read_text() == committed


def test_the_device_reaches_the_timed_sweep_and_a_missing_one_is_refused(capsys):
    plan = bench.make_plan(True, 0, "cpu")
    assert plan.sweep.device == plan.target.device == "cpu" and plan.sweep.settings()["backend"] == "numba"
    assert bench.machine_info("cpu")["device"].startswith("cpu")
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU: never available
    with pytest.raises(SystemExit) as e:
        bench.parse(["--device", missing])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "--device" in err[0] and "not available" in err[0]


BENCHMARKS = {name: importlib.import_module(module) for name, module in scripts("benchmarks").items()}


@pytest.mark.parametrize("name,argv,message", [
    ("sweep", ["--seed=-1"], "--seed must be an integer >= 0"), ("dynamics", ["--seed=-1"], "--seed must be"),
    ("dynamics", ["--diagram-points", "0"], "--diagram-points must be"),
    ("dynamics", ["--models", str(10**9)], "--models needs about"),
    ("dynamics", ["--cycle-models", str(10**7)], "--cycle-models needs about"),
    ("evaluate", ["--grid", "0"], "--grid must be"),
    ("evaluate", ["--n", "-1"], "--n must be"), ("evaluate", ["--grid", "100000"], "--grid needs about"),
    ("landscape", ["--pascanu-grid", "0"], "--pascanu-grid must be"),
    ("cluster", ["--workers", "100000"], "--workers must be at most"),
    ("cluster", ["--out", "FILE"], "--out names a file"), ("sweep", ["--out", "FILE/x"], "--out lies under"),
    ("scaling", ["--replot", "MISSING"], "--replot: "), ("scaling", ["--figures", "FILE"], "--figures names a file"),
])
def test_benchmark_flags_that_would_crash_later_are_refused_in_one_line(name, argv, message, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = [a.replace("FILE", str(tmp_path / "file")).replace("MISSING", str(tmp_path / "scaling.csv")) for a in argv]
    with pytest.raises(SystemExit) as e:
        BENCHMARKS[name].parse(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith(f"dynlatch bench {name}: error: {message}"), err


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_flags_of_every_benchmark_give_settings_or_one_line_and_exit_2(name, data, tmp_path):
    """Parse and validate only (nothing is timed or written)."""
    module = BENCHMARKS[name]
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk"), "HEAD", "--quick", str(tmp_path / "out")]
    argv = argv_of(data, flags_of(module.parser()), values)
    before = sorted(tmp_path.rglob("*"))
    args = settings_or_usage_error(f"dynlatch bench {name}", module.parse, argv)
    if args is not None:
        assert all(v >= 0 for v in vars(args).values() if isinstance(v, int))
    assert sorted(tmp_path.rglob("*")) == before
