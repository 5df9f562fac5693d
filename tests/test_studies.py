"""The studies package (dynlatch.studies): the one runner, on a toy study whose output is known exactly (tables,
files, figures, summary last with config and provenance, the folder lock, one-line errors, Ctrl-C), and each study's
quick run writing its tables, figures and the summary keys named as a contract."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import io
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from matplotlib.figure import Figure

from _cli_fuzz import TRICKY
from dynlatch import _checks
from dynlatch._config import Config, flag_name, option
from dynlatch.scripting import UsageError, parse_config
from dynlatch.studies import STUDIES, Result, RunContext, Study, run_study
from dynlatch.studies._runner import FILES as FILES_LISTING
from dynlatch.sweep import lock_folder

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ToyConfig(Config):
    count: int = option(3, help="rows", check=_checks.integer_at_least(1), quick=2)
    fail_with: str = option("", help="raise this in the run: usage, interrupt or figure")
    extra: bool = option(False, help="also write extra.txt")
    seed: int = option(0, help="seed", check=_checks.seed)


def toy_run(config: ToyConfig, context: RunContext) -> Result:
    if config.fail_with == "usage":
        raise UsageError("--count: the toy refuses")
    if config.fail_with == "interrupt":
        raise KeyboardInterrupt
    rows = [{"k": k, "square": k * k} for k in range(config.count)]
    fig = Figure()
    fig.subplots().plot([r["k"] for r in rows], [r["square"] for r in rows])
    if config.fail_with == "figure":
        fig.savefig = None  # saving it fails: the summary must not be written
    files = {"raw.bin": b"\x00\x01", "note.txt": "n\n", "arr.npy": lambda f: np.save(f, np.arange(config.count)),
             **({"extra.txt": "x"} if config.extra else {})}
    return Result(summary={"total": sum(r["square"] for r in rows)}, tables={"runs": rows},
                  figures={"squares": fig}, files=files,
                  report=[f"total {sum(r['square'] for r in rows)}"])


TOY = Study(name="toy", config=ToyConfig, run=toy_run, description="A toy study.\n\nIts rows are squares.")


def test_the_runner_writes_tables_files_figures_and_the_summary_with_config_and_provenance(tmp_path, capsys):
    out = tmp_path / "toy"
    assert run_study(TOY, ["--quick", "--out", str(out)]) == 0
    assert list(csv.DictReader(open(out / "runs.csv"))) == [{"k": "0", "square": "0"}, {"k": "1", "square": "1"}]
    assert (out / "raw.bin").read_bytes() == b"\x00\x01" and (out / "note.txt").read_text() == "n\n"
    np.testing.assert_array_equal(np.load(out / "arr.npy", allow_pickle=False), [0, 1])
    assert (out / "squares.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "squares.pdf").read_bytes()[:5] == b"%PDF-"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] == 1 and summary["config"] == {"count": 2, "fail_with": "", "extra": False, "seed": 0}
    assert {"dynlatch", "git_commit", "torch", "numpy", "python"} <= set(summary["provenance"])
    assert list(summary)[:2] == ["config", "provenance"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "total 1" and lines[-1].startswith(f"results: {out}/summary.json; figure: ")
    assert not [p for p in out.iterdir() if ".tmp-" in p.name] and not (out / ".staging").exists()


def test_a_failed_write_leaves_no_summary(tmp_path):
    out = tmp_path / "toy"
    with pytest.raises(TypeError):
        run_study(TOY, ["--fail-with", "figure", "--out", str(out)])
    assert not (out / "summary.json").exists() and not (out / "runs.csv").exists()  # nothing was published


def _published(out):
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name not in (".lock",)}


def test_a_finished_run_with_other_settings_is_refused_unless_forced(tmp_path, capsys):
    out = tmp_path / "toy"
    assert run_study(TOY, ["--count", "2", "--out", str(out)]) == 0
    before = _published(out)
    with pytest.raises(SystemExit) as e:
        run_study(TOY, ["--count", "3", "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "count: 2 there, 3 now" in err[0] and "--force" in err[0]
    assert _published(out) == before
    assert run_study(TOY, ["--count", "2", "--out", str(out)]) == 0  # the same settings: recomputed
    assert run_study(TOY, ["--count", "3", "--force", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["total"] == 5


def test_files_of_the_previous_run_are_replaced_together(tmp_path):
    out = tmp_path / "toy"
    assert run_study(TOY, ["--extra", "--out", str(out)]) == 0
    assert (out / "extra.txt").exists()
    (out / "runs.csv.tmp-999-0").write_text("a killed write")
    assert run_study(TOY, ["--count", "4", "--force", "--out", str(out)]) == 0
    assert not (out / "extra.txt").exists() and not list(out.glob("*.tmp-*"))  # nothing of the earlier run is left
    assert set(json.loads((out / ".files.json").read_text())) == {
        "runs.csv", "raw.bin", "note.txt", "arr.npy", "squares.pdf", "squares.png", "summary.json"}
    assert np.load(out / "arr.npy", allow_pickle=False).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("kill_at", [0, 1, 3, 6])
def test_a_run_killed_while_publishing_leaves_no_finished_run_and_the_rerun_completes(kill_at, tmp_path,
                                                                                       monkeypatch, capsys):
    """A kill at the k-th rename of the publication: the folder then holds no summary.json (never a mixture of two
    runs under one), and the same command afterwards gives the uninterrupted result."""
    out, reference = tmp_path / "toy", tmp_path / "reference"
    assert run_study(TOY, ["--count", "5", "--out", str(reference)]) == 0
    assert run_study(TOY, ["--count", "5", "--extra", "--out", str(out)]) == 0
    real_replace, calls = type(out).replace, []

    def replace(self, target):
        calls.append(target)
        if len(calls) > kill_at:
            raise KeyboardInterrupt
        return real_replace(self, target)

    monkeypatch.setattr(type(out), "replace", replace)
    assert run_study(TOY, ["--count", "5", "--force", "--out", str(out)]) == 130
    assert not (out / "summary.json").exists()
    monkeypatch.undo()
    assert run_study(TOY, ["--count", "5", "--out", str(out)]) == 0
    done, ref = _published(out), _published(reference)
    assert set(done) == set(ref) and not (out / ".staging").exists()
    for name in ("runs.csv", "raw.bin", "note.txt", "arr.npy"):
        assert done[name] == ref[name], name


def test_a_run_killed_before_publishing_leaves_the_previous_result(tmp_path):
    out = tmp_path / "toy"
    assert run_study(TOY, ["--out", str(out)]) == 0
    before = _published(out)
    assert run_study(TOY, ["--fail-with", "interrupt", "--force", "--out", str(out)]) == 130
    assert _published(out) == before


@pytest.mark.parametrize("argv,code", [(["--fail-with", "usage"], 2), (["--count", "0"], 2)])
def test_usage_errors_are_one_line_and_exit_2(argv, code, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run_study(TOY, [*argv, "--out", str(tmp_path / "toy")])
    assert e.value.code == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dynlatch run toy: error: --count")


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, capsys):
    assert run_study(TOY, ["--fail-with", "interrupt", "--out", str(tmp_path / "toy")]) == 130
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_folder_locked_by_another_run_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "toy"
    with lock_folder(out):
        pass  # creates the folder and its lock file
    with open(out / ".lock", "a") as other:  # another open file: flock treats it as another holder
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SystemExit) as e:
            run_study(TOY, ["--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in use by another dynlatch run" in err[0]
    assert not (out / "summary.json").exists()


def test_every_study_is_named_as_its_module_and_describes_itself():
    for name, study in STUDIES.items():
        assert study.run.__module__ == "dynlatch.studies." + name.replace("-", "_")
        assert study.headline and not study.headline.endswith(",")
        assert issubclass(study.config, Config)


CONTRACT = {
    "pascanu-cliff": ["wall", "max_distance_to_basin_boundary", "median_distance_to_fold", "grad_norm_on_wall",
                      "final_loss", "clipping"],
    "cliff-vs-length": ["growth"],
    "handmade-latches": ["latches"],
    "bifurcations": ["events", "srnn_fold_b", "passage_time", "border_collisions"],
    "latching-landscape": ["planes"],
}
"""Summary keys outside readers rely on, for the studies whose own test module does not run them end to end
(lstm-failure, bit-relay and the sweep check theirs in their own modules)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONTRACT))
def test_quick_run_writes_its_results(name, quick_run):
    out = quick_run(name)
    summary = json.loads((out / "summary.json").read_text())
    for key in CONTRACT[name]:
        assert key in summary, key
    assert summary["config"] == STUDIES[name].config(**{
        k: tuple(v) if isinstance(v, list) else v for k, v in summary["config"].items()}).as_dict()
    assert list(csv.DictReader(open(out / "runs.csv")))
    assert len(list(out.glob("*.png"))) >= 1 and len(list(out.glob("*.pdf"))) >= 1
    if name == "pascanu-cliff":
        assert summary["max_distance_to_basin_boundary_in_widths"] < 2 and summary["median_distance_to_fold"] > 0.1
        assert summary["wall_points_by_kind"].get("neither", 0) == 0
        assert set(summary["final_loss"]) == {"unclipped", "clipped"}
        for T, k in summary["clipping"].items():  # the contract of clipping[T]
            assert {"thrown_fraction_unclipped", "thrown_fraction_clipped", "median_final_loss_unclipped",
                    "median_final_loss_clipped", "starts"} <= set(k) and k["starts"] > 0, T
        assert len(summary["wall"]["w"]) == len(summary["wall"]["b"]) > 0
    if name == "cliff-vs-length":
        g = summary["growth"]
        assert math.isclose(g["measured_rate"], g["predicted_rate"], rel_tol=0.05)


@pytest.mark.parametrize("name,argv", [("pascanu-cliff", ["--w-max", "3"]), ("pascanu-cliff", ["--resolution", "x"]),
                                       ("cliff-vs-length", ["--w", "2"]), ("cliff-vs-length", ["--lens", "5"]),
                                       ("handmade-latches", ["--sigmas", "nan"]),
                                       ("bifurcations", ["--bogus"])])
def test_bad_flags_are_one_line_and_exit_2(name, argv, usage_error):
    usage_error(name, argv)


@pytest.mark.parametrize("name,argv,says", [
    ("bengio94", ["--seed=-1"], "--seed"), ("random-guessing", ["--seed=-1"], "--seed"),
    ("bengio94", ["--quick", "--lens", "5,100000000"], "GiB"),  # refused up front with the estimate
    ("random-guessing", ["--quick", "--lens", "5,100000000"], "GiB"),
    ("cliff-vs-length", ["--quick", "--lens", "5,100000000"], "at most"),
    ("pascanu-cliff", ["--clip-lens", "500"], "at most"),
])
def test_settings_that_would_crash_or_never_end_are_refused_before_anything_runs(name, argv, says, usage_error):
    assert says in usage_error(name, argv)


@pytest.mark.parametrize("name", ["pascanu-cliff", "latching-sweep", "toy"])
def test_an_empty_out_is_refused(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        run_study(TOY if name == "toy" else STUDIES[name], ["--quick", "--out="])
    assert e.value.code == 2 and "--out must name a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _flags(study):
    return ([flag_name(f) for f in dataclasses.fields(study.config) if f.metadata.get("dynlatch", {}).get("cli")]
            + (["--scheduler"] if study.sharded else []))


@pytest.mark.parametrize("name", sorted(STUDIES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_flags_of_every_study_give_a_config_or_one_line_and_exit_2(name, data, tmp_path):
    """Parse and validate only (nothing runs): any mixture of the study's flags with odd values either gives a config
    or one error line and exit code 2, never another exception."""
    study = STUDIES[name]
    flags = data.draw(st.lists(st.sampled_from(_flags(study)), max_size=4, unique=True))
    argv = [f"{f}={data.draw(st.sampled_from(TRICKY))}" for f in flags]
    argv += data.draw(st.sampled_from([[], ["--quick"]])) + ["--out", str(tmp_path / "out")]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            config, _ = parse_config(study.config, study.name, study.description, argv, sharded=study.sharded)
    except SystemExit as e:
        assert e.code == 2, argv
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"dynlatch run {name}: error: "), (argv, lines)
    else:
        assert isinstance(config, study.config)
    assert not (tmp_path / "out").exists()


# -- a kill at a random moment, then the same command: the uninterrupted result ------------------------------------
def _soak_run(name: str, out, *, kill_after: float | None = None) -> tuple[int, float]:
    """``dynlatch run NAME --quick --quiet --out OUT`` in a fresh process (SIGKILLed after ``kill_after`` seconds
    if given); returns its exit code and wall time."""
    argv = [sys.executable, "-m", "dynlatch", "run", name, "--quick", "--quiet", "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_soak_env())
    try:
        proc.wait(timeout=kill_after) if kill_after is not None else proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode, time.perf_counter() - start


def _soak_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _comparable(out) -> dict[str, Any]:
    """What a run published, without what depends on the clock or the machine: every CSV (timing columns dropped),
    every array file, the summary without provenance and timings, and the names of the figures."""
    seen: dict[str, Any] = {}
    for path in sorted(out.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".csv":
            rows = list(csv.DictReader(open(path)))
            seen[path.name] = [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]
        elif path.name == "summary.json":
            seen[path.name] = _timeless(json.loads(path.read_text()))
        elif path.suffix in (".npz", ".npy"):
            seen[path.name] = path.read_bytes() if path.suffix == ".npy" else {
                k: v.tolist() for k, v in np.load(path, allow_pickle=False).items()}
        else:
            seen[path.name] = None  # figures, text: present
    return seen


def _timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()
                if k not in ("provenance", "out", "sweep") and "seconds" not in k and "rss" not in k}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


@pytest.mark.soak
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_a_kill_at_a_random_moment_then_the_same_command_gives_the_uninterrupted_result(name, tmp_path):
    """Each study's --quick run is SIGKILLed at a moment drawn (seeded by the study's name) from its own
    uninterrupted duration; the folder then holds no published run or a complete one, never a summary beside files
    of another run; the same command run again publishes what the uninterrupted run did."""
    reference, out = tmp_path / "reference", tmp_path / "out"
    code, duration = _soak_run(name, reference)
    assert code == 0
    moments = random.Random(name).sample([0.2, 0.4, 0.55, 0.7, 0.85, 0.95], 2)
    for fraction in moments:
        _soak_run(name, out, kill_after=fraction * duration)
        if (out / "summary.json").exists():
            listed = json.loads((out / FILES_LISTING).read_text())
            assert all((out / f).is_file() for f in listed), f"killed at {fraction:.2f}: a summary without its files"
    code, _ = _soak_run(name, out)
    assert code == 0
    assert not (out / ".staging").exists() and not list(out.glob("*.tmp-*"))
    assert _comparable(out) == _comparable(reference)
