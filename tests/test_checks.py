"""The shared input checks (dynlatch._checks): one wording naming the argument, against independent predicates."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from dynlatch import _checks
from dynlatch._checks import CheckError

ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(),
                st.lists(st.integers(), max_size=3))


@settings(max_examples=600, deadline=None)
@given(ANY, st.integers(-5, 5))
def test_integer_accepts_exactly_the_integers_at_least_minimum(value, minimum):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    try:
        assert _checks.integer("k", value, minimum=minimum) == value and ok
    except CheckError as e:
        assert not ok and str(e).startswith("k must be an integer") and e.name == "k"


def _as_float(value):
    try:
        return float(value)
    except OverflowError:
        return math.inf


@settings(max_examples=600, deadline=None)
@given(ANY, st.sampled_from([None, 0.0, 1.0]), st.sampled_from([None, 0.0, 0.5]), st.sampled_from([None, 1.0]))
def test_number_accepts_exactly_the_finite_numbers_within_bounds(value, above, at_least, at_most):
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = (real and math.isfinite(_as_float(value)) and (above is None or value > above)
          and (at_least is None or value >= at_least) and (at_most is None or value <= at_most))
    try:
        assert _checks.number("lr", value, above=above, at_least=at_least, at_most=at_most) == _as_float(value) and ok
    except CheckError as e:
        assert not ok and str(e).startswith("lr must be a") and "got" in str(e)


def test_an_integer_beyond_the_float_range_is_rejected_not_overflowed():
    with pytest.raises(CheckError, match="lr must be a finite number"):
        _checks.number("lr", 10**400, above=0)


def test_messages_name_the_argument_and_can_be_relabelled_as_a_flag():
    with pytest.raises(CheckError) as e:
        _checks.number("noise", math.inf, at_least=0)
    assert str(e.value) == "noise must be a finite number >= 0; got inf"
    assert str(e.value.relabel("--noise")) == "--noise must be a finite number >= 0; got inf"
    assert isinstance(e.value, ValueError)


def test_seed_choice_distinct_device_and_out_dir(tmp_path):
    with pytest.raises(CheckError, match="seed must be an integer >= 0; got -1"):
        _checks.seed("seed", -1)
    with pytest.raises(CheckError, match="must be one of a, b; got 'c'"):
        _checks.choice("x", "c", ("a", "b"))
    with pytest.raises(CheckError, match="must not repeat"):
        _checks.distinct("lens", (5, 5))
    assert _checks.device("device", None) is None and _checks.device("device", "cpu") == "cpu"
    with pytest.raises(CheckError, match="must be a torch device"):
        _checks.device("device", "nonsense")
    f = tmp_path / "file"
    f.write_text("")
    for bad in (f, f / "sub", "/proc/dynlatch-x"):
        with pytest.raises(CheckError, match="^out "):
            _checks.out_dir("out", bad)
    assert _checks.out_dir("out", tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing created, the probe removed


@given(st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_one_line_keeps_any_text_on_one_line(text):
    assert len(_checks.one_line(text).splitlines()) <= 1
