"""The dynlatch command: list, run, bench, and one-line errors with exit code 2."""

import subprocess
import sys

import pytest

from dynlatch._cli import main as cli, scripts


def test_list_names_every_analysis_with_a_line(capsys):
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    for name in scripts("analyses"):
        line = next(l for l in out.splitlines() if f" {name} " in l)
        assert len(line.split(None, 2)) == 3  # verb, name, description


@pytest.mark.parametrize("argv", [["frobnicate"], ["run"], ["run", "no-such-analysis"], ["bench", "no-such"], []])
def test_errors_are_one_line_with_exit_code_2(argv, capsys):
    assert cli(argv) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) <= 1


def test_installed_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "dynlatch._cli", "list"], capture_output=True, text=True)
    assert done.returncode == 0 and "latching-sweep" in done.stdout
