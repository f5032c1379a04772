"""Statistics on hand-made inputs with answers worked out by hand."""

import numpy as np
import pytest

from claims import stats


def test_sign_flip_all_positive_reaches_the_floor():
    assert stats.sign_flip_test([1.0, 2.0, 3.0], "greater") == pytest.approx(1 / 8)
    assert stats.sign_flip_test([1.0, 2.0, 3.0], "less") == pytest.approx(1.0)
    assert stats.smallest_p_value(5) == pytest.approx(1 / 32)


def test_sign_flip_counts_patterns_by_hand():
    # |d| = (1, 2, 0.5); observed sum 2.5; patterns with sum >= 2.5: (+,+,+) and (+,+,-)
    assert stats.sign_flip_test([1.0, 2.0, -0.5], "greater") == pytest.approx(2 / 8)


def test_sign_flip_shift_tests_against_a_margin():
    assert stats.sign_flip_test([1.1, 1.2, 1.3], "greater", shift=1.0) == pytest.approx(1 / 8)
    assert stats.sign_flip_test([0.1, 0.2, 0.3], "greater", shift=1.0) == pytest.approx(1.0)


def test_wilcoxon_exact():
    assert stats.wilcoxon_signed_rank([1, 2, 3, 4, 5], "greater") == pytest.approx(1 / 32)
    assert stats.wilcoxon_signed_rank([0, 0, 0], "greater") == 1.0


def test_page_trend_perfect_order():
    blocks = np.array([[1.0, 2.0, 3.0]] * 3)
    assert stats.page_trend(blocks, increasing=True) == pytest.approx(1 / 216)
    assert stats.page_trend(blocks, increasing=False) == pytest.approx(1.0)
    assert stats.page_trend(blocks[:, ::-1], increasing=False) == pytest.approx(1 / 216)


def test_tost_equivalence():
    assert stats.tost_equivalence([0.01, -0.02, 0.0, 0.015, -0.01], margin=0.5) < 0.001
    assert stats.tost_equivalence([5.0, 5.2, 4.9, 5.1], margin=0.5) > 0.99


@pytest.mark.parametrize("seed", range(20))
def test_holm_equals_statsmodels(seed):
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(seed).uniform(0, 0.2, size=1 + seed % 7)
    np.testing.assert_allclose(stats.holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


def test_holm_by_hand():
    # sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.03, 0.06, 0.06
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    assert np.isnan(stats.holm([np.nan, 0.01])[0])


def test_bootstrap_interval():
    assert stats.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    rng = np.random.default_rng(1)
    low, high = stats.bootstrap_ci(rng.normal(5.0, 1.0, 200))
    assert low < 5.0 < high and high - low < 0.5


def test_binomial():
    assert stats.binomial_p(0, 8, 0.5, "less") == pytest.approx(1 / 256)
    assert stats.binomial_p(8, 8, 0.5, "greater") == pytest.approx(1 / 256)


def test_seeds_needed():
    assert stats.seeds_needed([5.0, 5.1, 4.9, 5.0], alpha=0.01) == 7  # the exact test's floor: 2^-7 < 0.01
    assert stats.seeds_needed([0.1, -0.1, 0.1, -0.1], alpha=0.05) == 10_000
    small = stats.seeds_needed([0.2, -0.1, 0.3, 0.0, 0.1], alpha=0.05)
    assert 7 < small < 100
    assert stats.seeds_needed([-0.2, -0.1, -0.3, 0.0, -0.1], alpha=0.05) == 10_000  # the other direction: no size supports it
