"""Wilson score intervals, Newcombe differences and the rank AUC (dynlatch._stats) against hand-computed values,
published examples and their defining properties."""

import math

import numpy as np
import pytest

from dynlatch._stats import (
    Z95,
    bootstrap_auc_interval,
    difference_interval,
    holm,
    mcnemar_exact,
    paired_difference_interval,
    roc_auc,
    wilson_interval,
)


def test_wilson_8_of_10_by_hand():
    # p = 0.8, z = 1.96: centre = (0.8 + 0.19208) / 1.38416 = 0.716738, half = 1.96 / 1.38416 * sqrt(0.016 + 0.009604)
    # = 1.416021 * 0.160012 = 0.226581  ->  (0.490157, 0.943319)  (the textbook 8/10: 0.4902 to 0.9433)
    assert wilson_interval(8, 10, z=1.96) == pytest.approx((0.490157, 0.943319), abs=1e-6)


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (3, 7), (1, 30), (29, 30), (15, 30)])
def test_wilson_bounds_solve_the_score_equation(k, n):
    """The Wilson bounds are the p with |k/n - p| = z sqrt(p (1 - p) / n) (an independent characterisation)."""
    lo, hi = wilson_interval(k, n)
    for p in (lo, hi):
        if 1e-9 < p < 1 - 1e-9:  # (at k = 0 or n one bound is 0 or 1 itself)
            assert abs(k / n - p) == pytest.approx(Z95 * math.sqrt(p * (1 - p) / n), rel=1e-9)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_edge_cases_and_bad_counts():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == pytest.approx(1.0)
    for k, n in [(-1, 5), (6, 5), (1, -1)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)


def test_auc_hand_checked():
    # positives 0.35, 0.8; negatives 0.1, 0.4: pairs (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4) -> 3/4
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # ties count 1/2: positives 1, 2; negative 1 -> (1/2 + 1) / 2
    assert roc_auc([1.0, 1.0, 2.0], [0, 1, 1]) == 0.75
    assert roc_auc([0.0, 1.0], [0, 1]) == 1.0 and roc_auc([1.0, 0.0], [0, 1]) == 0.0


def test_auc_equals_brute_force_probability_and_flips():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 5, size=40).astype(float)  # many ties
    y = rng.random(40) < 0.4
    pos, neg = s[y], s[~y]
    brute = np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg])
    assert math.isclose(roc_auc(s, y), brute)
    assert math.isclose(roc_auc(-s, y), 1 - brute)


@pytest.mark.parametrize("scores, labels", [([1.0, 2.0], [1, 1]), ([1.0, np.nan], [0, 1]), ([1.0], [0, 1])])
def test_auc_rejects_bad_input(scores, labels):
    with pytest.raises(ValueError):
        roc_auc(scores, labels)


def test_difference_interval_newcombe_example():
    # Newcombe (1998), Stat. Med. 17:873, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339
    d, lo, hi = difference_interval(56, 70, 48, 80)
    assert math.isclose(d, 0.2)
    assert abs(lo - 0.0524) < 5e-4 and abs(hi - 0.3339) < 5e-4


# ---------------------------------------------------------------------------------------------------------------------
# McNemar's exact test, Holm's adjustment, Newcombe's paired interval and the bootstrap AUC interval


def _two_sided_binomial_half(b: int, c: int) -> float:
    """Hand-computed exact McNemar p-value: 2 P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1."""
    m = b + c
    return min(1.0, 2 * sum(math.comb(m, k) for k in range(min(b, c) + 1)) / 2**m)


def test_mcnemar_exact_hand_worked_examples():
    # b = 1, c = 9: P(X <= 1) = (C(10,0) + C(10,1)) / 2^10 = 11/1024, two-sided 22/1024
    assert mcnemar_exact(1, 9) == 0.021484375 == 22 / 1024
    assert mcnemar_exact(2, 8) == pytest.approx(2 * (1 + 10 + 45) / 1024, rel=1e-12)  # 0.109375
    assert mcnemar_exact(7, 0) == pytest.approx(2 / 2**7, rel=1e-12)  # 0.015625: all seven discordant pairs one way
    assert mcnemar_exact(3, 5) == pytest.approx(2 * (1 + 8 + 28 + 56) / 256, rel=1e-12)  # 0.7265625
    assert mcnemar_exact(0, 0) == 1.0  # no discordant pairs: no evidence either way
    for k in (1, 4, 17):
        assert mcnemar_exact(k, k) == 1.0


@pytest.mark.parametrize("b, c", [(b, c) for b in range(0, 13) for c in range(0, 13)] + [(3, 40), (25, 60), (100, 71)])
def test_mcnemar_exact_equals_the_binomial_sum_and_is_symmetric(b, c):
    expected = 1.0 if b + c == 0 else _two_sided_binomial_half(b, c)
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-10, abs=1e-300)
    assert mcnemar_exact(b, c) == mcnemar_exact(c, b)


@pytest.mark.parametrize("b, c", [(-1, 3), (3, -1), (1.5, 2), (True, 2), ("3", 2)])
def test_mcnemar_exact_rejects_bad_counts(b, c):
    with pytest.raises(ValueError):
        mcnemar_exact(b, c)


def test_holm_hand_worked_example():
    # m = 4; sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04
    # -> running max 0.02, 0.03, 0.06, 0.06, back in input order
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    # capped at 1: sorted 0.2, 0.5 times 2, 1 -> 0.4, 0.5
    np.testing.assert_allclose(holm([0.5, 0.2]), [0.5, 0.4], rtol=1e-12)
    np.testing.assert_allclose(holm([0.6, 0.7, 0.01]), [1.0, 1.0, 0.03], rtol=1e-12)


def test_holm_nan_entries_are_not_family_members():
    out = holm([0.01, np.nan, 0.04, np.nan, 0.03])
    assert np.isnan(out[1]) and np.isnan(out[3])
    np.testing.assert_allclose(out[[0, 2, 4]], holm([0.01, 0.04, 0.03]), rtol=1e-12)  # m = 3, not 5
    np.testing.assert_allclose(out[[0, 2, 4]], [0.03, 0.06, 0.06], rtol=1e-12)
    assert np.isnan(holm([np.nan, np.nan])).all()
    assert holm([]).shape == (0,)


def test_holm_single_test_is_bonferroni_and_never_below_the_raw_p():
    for p in (0.0, 0.003, 0.5, 1.0):
        assert holm([p])[0] == p  # m = 1: Bonferroni, p * 1
    rng = np.random.default_rng(11)
    for m in (2, 5, 30):
        p = rng.random(m) ** 3
        adj = holm(p)
        assert (adj >= p).all() and (adj <= 1).all()
        assert (adj <= np.minimum(1, m * p) + 1e-15).all()  # never more conservative than Bonferroni
        order = np.argsort(p)
        assert (np.diff(adj[order]) >= 0).all()  # monotone in the raw p-values


def test_holm_rejects_bad_input():
    for bad in ([0.5, 1.2], [-0.1], [[0.1, 0.2]]):
        with pytest.raises(ValueError):
            holm(bad)


# Newcombe (1998), "Improved confidence intervals for the difference between binomial proportions based on paired
# data", Statistics in Medicine 17:2635-2650, the table of 95% limits for theta = (f - g)/n, method 10 column, cells
# (e, f, g, h) = (both, first only, second only, neither), as transcribed (four decimals) in the public fixture
# JoshSandhu/proofpack fixtures/newcombe1998_paired.json. Independently, R's ratesci tests match (20, 12, 2, 16) to
# Newcombe's method 10 (0.0562, 0.3292). Several rows (e.g. 30/0/0/24, +-0.0358) would read far narrower with an
# uncorrected phi (+-0.0074), so they pin the continuity-corrected phi numerator max(eh - fg - n/2, 0) of method 10.
NEWCOMBE_1998_PAIRED_METHOD_10 = [
    ((36, 12, 2, 0), 0.0569, 0.3404),
    ((20, 12, 2, 16), 0.0562, 0.3292),
    ((18, 12, 2, 18), 0.0562, 0.3290),
    ((36, 14, 0, 0), 0.1528, 0.4167),
    ((35, 14, 0, 1), 0.1461, 0.4175),
    ((18, 14, 0, 18), 0.1441, 0.3963),
    ((2, 97, 1, 0), 0.8721, 0.9854),
    ((1, 97, 1, 1), None, 0.9850),  # lower printed 0.8736 (method 8's 0.8737 by the paper's own definition): not used
    ((0, 29, 1, 0), 0.6666, 0.9882),
    ((2, 98, 0, 0), 0.9178, 0.9945),
    ((1, 98, 0, 1), 0.9171, 0.9916),
    ((0, 30, 0, 0), 0.8395, 1.0),
    ((54, 0, 0, 0), -0.0664, 0.0664),
    ((53, 0, 0, 1), -0.0729, 0.0729),
    ((30, 0, 0, 24), -0.0358, 0.0358),
    ((29, 0, 0, 25), -0.0354, 0.0354),
    ((28, 0, 0, 26), -0.0352, 0.0352),
    ((27, 0, 0, 27), -0.0351, 0.0351),
]


@pytest.mark.parametrize("cells, low, high", NEWCOMBE_1998_PAIRED_METHOD_10)
def test_paired_interval_matches_newcombe_1998_method_10(cells, low, high):
    e, f, g, h = cells
    d, lo, hi = paired_difference_interval(e, f, g, h)
    assert d == pytest.approx((f - g) / (e + f + g + h), abs=1e-15)
    if low is not None:
        assert abs(lo - low) <= 0.5e-4 + 1e-12
    assert abs(hi - high) <= 0.5e-4 + 1e-12
    assert -1 <= lo <= d <= hi <= 1


def test_paired_interval_fagerland_2014_example():
    # Fagerland, Lydersen & Laake (2014, Stat. Med. 33:2850), airway hyper-responsiveness (Bentur et al. 2009), cells
    # 1, 1, 7, 12: Newcombe square-and-add (method 10) -0.507 to -0.026, difference -6/21
    d, lo, hi = paired_difference_interval(1, 1, 7, 12)
    assert d == pytest.approx(-6 / 21)
    assert round(lo, 3) == -0.507 and round(hi, 3) == -0.026


def test_paired_interval_by_hand_where_corrected_phi_is_zero():
    # e, f, g, h = 2, 3, 1, 4 (n = 10): eh - fg = 5 <= n/2, so the corrected phi is 0 and the interval is the
    # unpaired hybrid interval of 5/10 vs 3/10 on the same n
    _, lo, hi = paired_difference_interval(2, 3, 1, 4)
    l1, u1 = wilson_interval(5, 10)
    l2, u2 = wilson_interval(3, 10)
    assert lo == pytest.approx(0.2 - math.hypot(0.5 - l1, u2 - 0.3), abs=1e-14)
    assert hi == pytest.approx(0.2 + math.hypot(u1 - 0.5, 0.3 - l2), abs=1e-14)


def test_paired_interval_edge_cases():
    # all pairs concordant: difference 0, interval symmetric about it
    for cells in [(54, 0, 0, 0), (0, 0, 0, 9), (5, 0, 0, 5)]:
        d, lo, hi = paired_difference_interval(*cells)
        assert d == 0.0 and lo == pytest.approx(-hi) and lo < 0 < hi
    # arms swapped: the interval is reflected
    d, lo, hi = paired_difference_interval(20, 12, 2, 16)
    d2, lo2, hi2 = paired_difference_interval(20, 2, 12, 16)
    assert d2 == -d and lo2 == pytest.approx(-hi) and hi2 == pytest.approx(-lo)
    # a wider z gives a wider interval
    _, wlo, whi = paired_difference_interval(20, 12, 2, 16, z=2.576)
    assert wlo < lo and whi > hi
    with pytest.raises(ValueError):
        paired_difference_interval(0, 0, 0, 0)
    for cells in [(-1, 2, 3, 4), (1, 2.5, 3, 4)]:
        with pytest.raises(ValueError):
            paired_difference_interval(*cells)
    with pytest.raises(ValueError):
        paired_difference_interval(1, 2, 3, 4, z=0.0)


def _binormal(rng, n_pos, n_neg, delta):
    scores = np.concatenate([rng.normal(delta, 1.0, n_pos), rng.normal(0.0, 1.0, n_neg)])
    labels = np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])
    return scores, labels


def test_bootstrap_auc_interval_covers_the_binormal_auc():
    """Positives N(delta, 1), negatives N(0, 1): AUC = P(X > Y) = Phi(delta / sqrt 2) = (1 + erf(delta / 2)) / 2.
    Over 300 independent 40 + 40 datasets the 95% interval must cover it at a rate near 0.95 (binomial s.d. 0.013;
    the percentile interval undercovers slightly at small n, hence the lower bound 0.90)."""
    delta = 1.0
    true_auc = 0.5 * (1 + math.erf(delta / 2))  # 0.7602
    covered = 0
    for i in range(300):
        scores, labels = _binormal(np.random.default_rng([2024, i]), 40, 40, delta)
        lo, hi = bootstrap_auc_interval(scores, labels, resamples=1000, seed=i)
        covered += lo <= true_auc <= hi
    assert 0.90 <= covered / 300 <= 0.985


def test_bootstrap_auc_interval_contains_the_estimate_and_is_deterministic():
    for i in range(5):
        scores, labels = _binormal(np.random.default_rng([7, i]), 30 + 10 * i, 50, 0.8)
        lo, hi = bootstrap_auc_interval(scores, labels)
        assert 0 <= lo <= roc_auc(scores, labels) <= hi <= 1 and lo < hi
        assert bootstrap_auc_interval(scores, labels) == (lo, hi)  # seed 0 both times
        assert bootstrap_auc_interval(scores, labels, seed=1) != (lo, hi)
        narrow = bootstrap_auc_interval(scores, labels, level=0.5)
        assert lo <= narrow[0] <= narrow[1] <= hi


def test_bootstrap_auc_interval_ties_and_separation():
    # all scores tied: every resample's AUC is 1/2 by mid-ranks
    assert bootstrap_auc_interval([0.3] * 8, [0, 1] * 4) == (0.5, 0.5)
    # perfectly separated classes stay separated in every stratified resample, even with one positive
    assert bootstrap_auc_interval([0.1, 0.2, 0.9], [0, 0, 1]) == (1.0, 1.0)
    assert bootstrap_auc_interval([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == (0.0, 0.0)


@pytest.mark.parametrize(
    "scores, labels, options",
    [
        ([1.0, 2.0, 3.0], [1, 1, 1], {}),
        ([1.0, 2.0, 3.0], [0, 0, 0], {}),
        ([1.0, np.nan], [0, 1], {}),
        ([1.0, 2.0], [0, 1, 1], {}),
        ([1.0, 2.0], [0, 1], {"resamples": 0}),
        ([1.0, 2.0], [0, 1], {"level": 1.0}),
        ([1.0, 2.0], [0, 1], {"level": 0.0}),
    ],
)
def test_bootstrap_auc_interval_rejects_bad_input(scores, labels, options):
    with pytest.raises(ValueError):
        bootstrap_auc_interval(scores, labels, **options)
