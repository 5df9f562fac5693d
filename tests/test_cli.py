"""The dynlatch command (dynlatch._cli): list, run, bench, one-line errors with exit code 2, studies from the registry,
benchmark scripts found by import, both shipped in the wheel; one analyses/ entry point per study."""

import importlib
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dynlatch
from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error
from dynlatch import _explore_cli, _paper
from dynlatch._cli import PROG, main as cli, route, script_package, scripts
from dynlatch.dynamics import _cli as fixed_points_cli
from dynlatch.studies import STUDIES
from dynlatch.symbolic import _cli as derive_cli

ROOT = Path(__file__).resolve().parent.parent


def test_list_names_every_study_and_benchmark_with_its_first_line(capsys):
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    expected = {("run", p.stem.replace("_", "-")) for p in (ROOT / "analyses").glob("[!_]*.py")}
    expected |= {("bench", p.stem.replace("_", "-")) for p in (ROOT / "benchmarks").glob("[!_]*.py")}
    listed = {tuple(line.split(None, 2)[:2]) for line in out.splitlines()}
    assert listed == expected
    for name, study in STUDIES.items():
        assert f"run   {name:24} {study.headline}" in out.splitlines()


def test_each_study_has_one_analyses_entry_point_with_its_first_line():
    scripts_on_disk = {p.stem.replace("_", "-"): p for p in (ROOT / "analyses").glob("[!_]*.py")}
    assert set(scripts_on_disk) == set(STUDIES)
    for name, path in scripts_on_disk.items():
        assert path.read_text().split('"""')[1].splitlines()[0] == STUDIES[name].headline, name
        assert STUDIES[name].run.__module__ == f"dynlatch.studies.{path.stem}"


def test_an_analyses_script_runs_its_study_from_the_checkout():
    done = subprocess.run([sys.executable, "analyses/latching_sweep.py", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: dynlatch run latching-sweep") and "--lens" in done.stdout


def test_benchmark_scripts_are_found_by_import_not_by_path():
    assert scripts("benchmarks")["sweep"].endswith("benchmarks.sweep")
    assert script_package("benchmarks").__name__ in ("dynlatch._benchmarks", "benchmarks")


@pytest.mark.parametrize("argv", [["frobnicate"], ["run"], ["run", "no-such-analysis"], ["bench", "no-such"], []])
def test_errors_are_one_line_with_exit_code_2(argv, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err  # a message, not silence


COMMANDS = ["list", "run", "bench", "derive", "fixed-points", "paper", "explore", "frobnicate", "", "-x", "--quick"]
NAMES = [*STUDIES, *scripts("benchmarks"), "no-such", "lstm", "bengio", ""]
FLAGS = sorted({flag for module in [derive_cli, fixed_points_cli, _paper, _explore_cli,
                                    *(importlib.import_module(m) for m in scripts("benchmarks").values())]
                for flag in flags_of(module.parser())} | {"--quick", "--out", "--seed", "--lens", "--scheduler"})
"""Flags of every entry point (those of the studies' runner among them), each fuzzed under every command."""


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_command_lines_give_settings_or_one_line_and_exit_2(data, tmp_path, monkeypatch):
    """The command is routed and its entry point parses and validates the rest (nothing runs, nothing is written)."""
    monkeypatch.chdir(tmp_path)
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk")]
    head = data.draw(st.lists(st.sampled_from(COMMANDS), min_size=0, max_size=1), label="command")
    name = data.draw(st.lists(st.sampled_from(NAMES), max_size=1), label="name")
    argv = [*head, *name, *argv_of(data, FLAGS, values)]
    before = sorted(tmp_path.rglob("*"))

    def parse(argv: list[str]):
        command = route(argv)
        return command.parse(command.argv)

    settings_or_usage_error(PROG, parse, argv, subcommand=True)
    assert sorted(tmp_path.rglob("*")) == before


def test_list_takes_no_arguments(capsys):
    assert cli(["list", "--quick"]) == 2
    assert capsys.readouterr().err.strip() == "dynlatch: error: 'list' takes no arguments; got '--quick'"


def test_ctrl_c_in_any_command_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(derive_cli, "derive", interrupted)  # Ctrl-C while the derivation is computed
    assert cli(["derive", "bengio"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().splitlines() == ["dynlatch: interrupted (Ctrl-C)"]


def test_the_module_entry_point_lists_from_a_checkout():
    done = subprocess.run([sys.executable, "-m", "dynlatch._cli", "list"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "latching-sweep" in done.stdout


def test_every_subpackage_is_declared_in_pyproject():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dynlatch").rglob("__init__.py")}
    assert on_disk | {"dynlatch._benchmarks"} == set(setup["packages"])
    assert setup["package-dir"] == {"dynlatch._benchmarks": "benchmarks"}


@pytest.mark.slow
def test_a_built_wheel_lists_and_runs_studies_without_the_checkout(tmp_path):
    """Build the wheel from a copy of the sources, unpack it as pip would into a target folder, and run the console
    entry point from elsewhere: studies and benchmarks come from the wheel, not from any folder on disk."""
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    for name in ("pyproject.toml", "README.md", "dynlatch", "benchmarks"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip(f"cannot build wheels here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("dynlatch-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"dynlatch/studies/latching_sweep.py", "dynlatch/_benchmarks/sweep.py"} <= names
        z.extractall(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import sys, dynlatch, dynlatch._cli as c\n"
            "assert dynlatch.__file__.startswith(sys.argv[1]), dynlatch.__file__\n"
            "assert c.main(['list']) == 0\n"
            "c.main(['run', 'latching-sweep', '--help'])\n")
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True,
                          cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    assert "run   latching-sweep" in done.stdout and "bench sweep" in done.stdout and "--lens" in done.stdout
