"""The dynlatch command (dynlatch._cli): list, run, bench, one-line errors with exit code 2, studies from the registry,
benchmark scripts found by import, both shipped in the wheel; one analyses/ entry point per study."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import dynlatch
from dynlatch._cli import main as cli, script_package, scripts
from dynlatch.studies import STUDIES

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
