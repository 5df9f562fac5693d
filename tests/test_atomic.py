"""Atomic writes (dynlatch._atomic): all or nothing, unique temporary names, nothing left behind on failure."""

import json
import multiprocessing
import os
import signal

import pytest

from dynlatch import _atomic


def test_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("old content that is longer than the new one")
    _atomic.write_json(p, {"x": float("nan")})
    assert p.read_text() == '{\n "x": NaN\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_an_error_midway_keeps_the_old_file(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text("complete old file\n")
    with pytest.raises(RuntimeError):
        with _atomic.atomic_path(p) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert p.read_text() == "complete old file\n" and os.listdir(tmp_path) == ["runs.csv"]


def test_temporary_names_are_unique_per_writer_and_in_the_same_folder(tmp_path):
    names = {_atomic.temp_path(tmp_path / "x.json") for _ in range(1000)}
    assert len(names) == 1000 and {n.parent for n in names} == {tmp_path}
    assert all(str(os.getpid()) in n.name and _atomic.TMP_MARK in n.name for n in names)


def _write_then_die(path):
    os.environ["DYNLATCH_KILL_AT"] = "x.json"
    _atomic.write_json(path, {"new": True})


def test_a_writer_killed_before_the_rename_leaves_the_old_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"old": true}')
    proc = multiprocessing.get_context("fork").Process(target=_write_then_die, args=(p,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    assert json.loads(p.read_text()) == {"old": True}
