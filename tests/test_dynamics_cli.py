"""``dynlatch fixed-points``: table and JSON output for single and batched weight files, one-line errors, exit 2."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error
from dynlatch import SRNN, cells
from dynlatch._cli import main as dynlatch_main
from dynlatch.dynamics._cli import PROG, main, parse, parser


def test_json_for_a_single_cell(tmp_path, capsys):
    path = tmp_path / "latch.json"
    cells.save(SRNN([[0.0]], [[2.0]], [0.0], dtype=torch.float64), path)
    assert dynlatch_main(["fixed-points", "--weights", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["guaranteed_complete"] is True
    data = data["points"]
    assert [round(p["state"][0], 3) for p in data] == [-0.958, 0.0, 0.958]
    assert [p["stable"] for p in data] == [True, False, True]
    assert data[0]["eigenvalues"][0][1] == 0.0 and abs(data[0]["eigenvalues"][0][0] - 0.166) < 1e-3
    assert {"state", "period", "orbit", "kind", "eigenvalues", "stable"} <= set(data[0])


def test_batched_file_gives_one_list_per_model_and_text_table(tmp_path, capsys):
    path = tmp_path / "two.npz"
    cell = SRNN(np.zeros((2, 1, 1)), np.array([[[2.0]], [[-2.0]]]), np.zeros((2, 1)), batched=True)
    cells.save(cell, path)
    assert main(["--weights", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 2 and [p["period"] for p in data[1]["points"]] == [1, 2, 2]
    assert main(["--weights", str(path), "--x", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "model 1 (guaranteed complete):" in out


def test_guaranteed_is_printed_only_where_the_certificate_holds(tmp_path, capsys):
    """A hard-gate LSTM whose search runs over its budget (U_c = 4, b_f = -3): the library marks it uncertified, and
    so must the table; the same cell with logistic gates is certified."""
    from dynlatch.cells import LSTM

    U = np.zeros((1, 4))
    U[0, 2] = 4.0
    b = np.zeros(4)
    b[1] = -3.0
    for gate, certified in (("hard_sigmoid", False), ("sigmoid", True)):
        path = tmp_path / f"{gate}.npz"
        cells.save(LSTM(np.zeros((1, 4)), U, b, recurrent_activation=gate, dtype=torch.float64), path)
        assert main(["--weights", str(path)]) == 0
        out = capsys.readouterr()
        first = out.out.splitlines()[0]
        assert first.endswith("(guaranteed complete)") == certified and ("NOT certified" in first) != certified
        assert out.err == ""  # the status is in the output, not a stray Python warning
        assert main(["--weights", str(path), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["guaranteed_complete"] == certified
        assert all(p["guaranteed_complete"] == certified for p in data["points"])


def test_an_empty_uncertified_list_is_not_called_complete(tmp_path, capsys):
    """Weights so large (U = b = 1e300) that the subdivision cannot certify the SRNN's root at h = 1: the finder
    returns no point, and the empty list must not be reported as complete (text and JSON)."""
    path = tmp_path / "huge.json"
    cells.save(SRNN([[0.0]], [[1e300]], [1e300], dtype=torch.float64), path)
    assert main(["--weights", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "NOT certified" in first and "guaranteed complete)" not in first
    assert main(["--weights", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"guaranteed_complete": False, "points": []}


@pytest.mark.parametrize("argv", [["--weights", "missing.json"], ["--weights", "BAD"], ["--x", "1"],
                                  ["--weights", "W", "--x", "abc"], ["--weights", "W", "--x", "nan"]])
def test_bad_file_or_flag_is_one_line_and_exit_2(tmp_path, capsys, argv):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    argv = [str(bad) if a == "BAD" else str(tmp_path / "w.json") if a == "W" else a for a in argv]
    (tmp_path / "w.json").write_text(json.dumps({"cell": "srnn", "kernel": [[0.0]], "recurrent_kernel": [[1.0]],
                                                 "bias": [0.0]}))
    with pytest.raises(SystemExit) as e:
        code = main(argv)
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("dynlatch fixed-points: error:")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_flags_give_settings_or_one_line_and_exit_2(data, tmp_path):
    """Parse and validate only (the weight file is read, no fixed point is sought)."""
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"cell": "srnn", "kernel": [[0.0]], "recurrent_kernel": [[1.0]], "bias": [0.0]}))
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk"), str(weights)]
    argv = argv_of(data, flags_of(parser()), values)
    parsed = settings_or_usage_error(PROG, parse, argv)
    if parsed is not None:
        assert math.isfinite(parsed.x) and parsed.cell.kind == "srnn"
