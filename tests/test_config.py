"""Configs as the single source of flags (dynlatch._config, dynlatch._checks): the generic builder, one wording for
checks, --quick, provenance, and hypothesis fuzzing of the latching sweep's flag parser (parse and validate only)."""

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dynlatch import _checks
from dynlatch._config import Config, build_parser, config_from_args, option, provenance
from dynlatch.scripting import parse_config
from dynlatch.studies.latching_sweep import SweepConfig


@dataclass(frozen=True)
class Toy(Config):
    size: int = option(3, help="a size", check=lambda k, v: _checks.integer(k, v, minimum=1), quick=1)
    rate: float = option(0.5, flag="--r", help="a rate", check=lambda k, v: _checks.number(k, v, above=0))
    names: tuple[str, ...] = option(("a",), help="names", choices=("a", "b"))
    cap: float | None = option(None, help="optional cap")
    verbose: bool = option(False, help="talk")
    hidden: int = option(7, help="not a flag", cli=False)


def parse(argv, quick=False):
    args = build_parser(Toy, prog="toy", description="").parse_args(argv)
    return config_from_args(Toy, args, quick=quick)


def test_each_field_is_a_flag_with_its_type_default_and_quick_value():
    assert parse([]) == Toy()
    assert parse(["--size", "5", "--r", "2.5", "--names", "b,a", "--cap", "1e3", "--verbose"]) == Toy(
        size=5, rate=2.5, names=("b", "a"), cap=1000.0, verbose=True)
    assert parse(["--cap", "none"]).cap is None
    assert parse([], quick=True).size == 1 and parse(["--size", "4"], quick=True).size == 4  # a given flag wins
    with pytest.raises(SystemExit):
        parse(["--hidden", "1"])


@pytest.mark.parametrize("argv, flag", [(["--size", "0"], "--size"), (["--r", "nan"], "--r"),
                                        (["--names", "c"], "--names")])
def test_check_errors_name_the_flag_on_the_command_line_and_the_field_in_the_library(argv, flag):
    with pytest.raises(_checks.CheckError) as e:
        parse(argv)
    assert str(e.value).startswith(flag + " ")
    field = {"--size": "size", "--r": "rate", "--names": "names"}[flag]
    with pytest.raises(ValueError, match=f"^{field} "):
        Toy(**{field: {"--size": 0, "--r": math.nan, "--names": ("c",)}[flag]})


def test_sweep_config_keeps_every_flag_name_and_default():
    p = build_parser(SweepConfig, prog="x", description="")
    flags = {a.option_strings[0]: a.dest for a in p._actions if a.option_strings and a.dest != "help"}
    assert set(flags) == {"--cells", "--lens", "--repeats", "--epochs", "--n", "--batch", "--lr", "--init", "--split",
                          "--hidden", "--task", "--noise", "--clip", "--readout", "--threshold", "--backend", "--seed",
                          "--device"}
    assert SweepConfig().as_dict() == {
        "cells": ["srnn", "lstm", "gru"], "lengths": [2, 5, 8, 10, 15, 20, 25, 30] + list(range(40, 210, 10)),
        "repeats": 30, "epochs": 5, "n": 10000, "batch_size": 16, "lr": 1e-3, "init": "keras2", "split": "correct",
        "hidden": 1, "task": "latching", "noise": 0.1, "val_fraction": 0.2, "clip_norm": None, "readout": "softmax",
        "seed": 0, "backend": "auto", "device": None, "threshold": 0.9}


def test_quick_means_lengths_5_20_50_eight_repeats_and_2000_sequences(tmp_path):
    config, args = parse_config(SweepConfig, "latching-sweep", "", ["--quick", "--out", str(tmp_path / "o")])
    assert (config.lengths, config.repeats, config.n, args.quick) == ((5, 20, 50), 8, 2000, True)
    assert config.epochs == 5 and not (tmp_path / "o").exists()


def test_provenance_names_versions_and_the_machine():
    p = provenance()
    import numpy
    import torch

    assert p["torch"] == torch.__version__ and p["numpy"] == numpy.__version__
    assert p["dynlatch"] and p["python"].count(".") == 2 and p["machine"]
    assert p["git_commit"] is None or len(p["git_commit"].split("-")[0]) == 40


# -- fuzzing the latching sweep's flags -----------------------------------------------------------------------
OUT = str(Path(tempfile.gettempdir()) / "dynlatch-fuzz-never-created")
JUNK = st.sampled_from(["", "x", "1e", "--", "0x10", "1,,2", "nan", "inf", "-inf", "-1", "0", "1.5", " ", "None",
                        "srnn,", ",", "1e400", "é"])


def _int_ok(text, minimum):
    try:
        return int(text) >= minimum
    except ValueError:
        return False


def _float_ok(text, test):
    try:
        v = float(text)
    except ValueError:
        return False
    return math.isfinite(v) and test(v)


def _list_ok(text, item_ok):
    items = [t.strip() for t in text.split(",") if t.strip()]
    return bool(items) and all(item_ok(t) for t in items) and len(set(items)) == len(items) and \
        len({t for t in items}) == len(items)


VALID = {  # flag -> (independent predicate on the text, strategy of mostly-sensible texts)
    "--repeats": (lambda t: _int_ok(t, 1), st.integers(-3, 50).map(str)),
    "--epochs": (lambda t: _int_ok(t, 1), st.integers(-3, 9).map(str)),
    "--batch": (lambda t: _int_ok(t, 1), st.integers(-3, 64).map(str)),
    "--hidden": (lambda t: _int_ok(t, 1), st.integers(-3, 8).map(str)),
    "--seed": (lambda t: _int_ok(t, 0), st.integers(-5, 2**40).map(str)),
    "--n": (lambda t: _int_ok(t, 10), st.one_of(st.integers(10, 10**6), st.integers(-5, 3)).map(str)),
    "--lr": (lambda t: _float_ok(t, lambda v: v > 0), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    "--noise": (lambda t: _float_ok(t, lambda v: v >= 0), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    "--threshold": (lambda t: _float_ok(t, lambda v: 0 < v <= 1), st.floats(-0.5, 1.5).map(repr)),
    "--clip": (lambda t: t.strip().lower() == "none" or _float_ok(t, lambda v: v > 0),
               st.one_of(st.just("none"), st.floats(allow_nan=True, allow_infinity=True).map(repr))),
    "--cells": (lambda t: _list_ok(t, lambda c: c in ("srnn", "lstm", "gru")),
                st.lists(st.sampled_from(["srnn", "lstm", "gru", "rnn"]), min_size=1, max_size=4).map(",".join)),
    "--lens": (lambda t: _list_ok(t, lambda c: _int_ok(c, 1)),
               st.lists(st.integers(-1, 300), min_size=1, max_size=5).map(lambda v: ",".join(map(str, v)))),
    "--init": (lambda t: t in ("keras2", "torch"), st.sampled_from(["keras2", "torch", "keras3"])),
    "--split": (lambda t: t in ("correct", "keras-tail"), st.sampled_from(["correct", "keras-tail", "random"])),
    "--readout": (lambda t: t in ("softmax", "sigmoid"), st.sampled_from(["softmax", "sigmoid", "tanh"])),
    "--backend": (lambda t: t in ("auto", "torch", "numba"), st.sampled_from(["auto", "torch", "numba", "jax"])),
    "--device": (lambda t: t in ("cpu", "cpu:0") or t.strip().lower() == "none",
                 st.sampled_from(["cpu", "none", "cpu:0", "nonsense", "gpu"])),
}


@st.composite
def argvs(draw):
    chosen = draw(st.lists(st.sampled_from(sorted(VALID)), unique=True, max_size=8))
    pairs = [(f, draw(st.one_of(VALID[f][1], JUNK) if draw(st.booleans()) else VALID[f][1])) for f in chosen]
    return pairs


def _expect_ok(pairs):
    d = dict(pairs)
    if not all(VALID[f][0](t) for f, t in pairs):
        return False
    if d.get("--task") == "bit-relay":
        return False
    return True


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argvs())
def test_fuzzed_flags_either_give_the_config_they_say_or_one_line_and_exit_2(pairs):
    argv = [f"{f}={t}" for f, t in pairs] + ["--out", OUT]
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            config, _ = parse_config(SweepConfig, "latching-sweep", "", argv)
    except SystemExit as e:
        assert e.code == 2
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dynlatch run latching-sweep: error: "), lines
        assert not _expect_ok(pairs), (pairs, lines)
        return
    assert _expect_ok(pairs), (pairs, config)
    d = dict(pairs)
    by_flag = {"--batch": "batch_size", "--lens": "lengths", "--clip": "clip_norm"}
    for f, t in d.items():
        value = getattr(config, by_flag.get(f, f[2:]))
        if f in ("--cells", "--lens"):
            assert [str(v) for v in value] == [s.strip() for s in t.split(",") if s.strip()]
        elif f == "--device":
            assert value == (None if t.strip().lower() == "none" else t)
        elif f == "--clip" and t.strip().lower() == "none":
            assert value is None
        else:
            assert value == type(value)(t)
    assert not Path(OUT).exists()


@settings(max_examples=800, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=6))
def test_arbitrary_argv_never_raises_anything_but_exit_2(argv):
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parse_config(SweepConfig, "latching-sweep", "", [*argv, "--out", OUT])
    except SystemExit as e:
        assert e.code in (0, 2)  # 0: --help
        if e.code == 2:
            assert len(err.getvalue().strip().splitlines()) == 1
    assert not Path(OUT).exists()
