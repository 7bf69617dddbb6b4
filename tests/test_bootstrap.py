"""The one bootstrap engine (analysis.bootstrap): scipy's resamples and scipy's percentile
interval to the bit, shared draws for a given seed, undefined resamples dropped, p-values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.bootstrap import (
    bootstrap_distribution,
    bootstrap_interval,
    bootstrap_pvalue,
    check_ci,
    percentile_interval,
)


def _mean_diff(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _median_diff(a, b, axis=-1):
    return np.median(a, axis=axis) - np.median(b, axis=axis)


@pytest.mark.parametrize("ci", [95, 90, 99, 68.3])
@pytest.mark.parametrize("paired", [False, True])
def test_interval_is_scipys_percentile_bootstrap(ci, paired):
    rng = np.random.default_rng(int(ci))
    a, b = rng.gamma(2, 3, 40) + 20, rng.gamma(2, 3, 40) + 21
    ref = stats.bootstrap((a, b), _median_diff, n_resamples=2000, paired=paired,
                          vectorized=True, method="percentile", confidence_level=ci / 100,
                          rng=np.random.default_rng(5))
    dist = bootstrap_distribution((a, b), _median_diff, 2000, 5, paired=paired)
    assert np.array_equal(dist, ref.bootstrap_distribution)
    assert percentile_interval(dist, ci) == (ref.confidence_interval.low,
                                             ref.confidence_interval.high)
    assert bootstrap_interval((a, b), _median_diff, 2000, ci, 5, paired) == \
        percentile_interval(dist, ci)


def test_one_seed_one_set_of_draws():
    """Two statistics asked of the same samples and seed see the same resamples, whether asked
    one by one or stacked in one call."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(30, 2, 25), rng.normal(31, 2, 35)

    def both(x, y, axis=-1):
        return np.stack([_median_diff(x, y, axis), _mean_diff(x, y, axis)])

    stacked = bootstrap_distribution((a, b), both, 800, 3)
    assert np.array_equal(stacked[0], bootstrap_distribution((a, b), _median_diff, 800, 3))
    assert np.array_equal(stacked[1], bootstrap_distribution((a, b), _mean_diff, 800, 3))
    assert not np.array_equal(stacked[1], bootstrap_distribution((a, b), _mean_diff, 800, 4))


def test_undefined_resamples_are_dropped():
    d = np.array([np.nan, 1.0, 2.0, np.inf, 3.0, 4.0, -np.inf])
    assert percentile_interval(d, 50) == percentile_interval(np.array([1.0, 2.0, 3.0, 4.0]), 50)
    low, high = percentile_interval(np.full(5, np.nan), 95)
    assert np.isnan(low) and np.isnan(high)


def test_pvalue_counts_the_boundary_and_the_plus_one():
    dist = np.array([-1.0, 0.0, 1.0, 2.0, np.nan])
    assert bootstrap_pvalue(dist, dist <= 0) == (1 + 2) / (1 + 4)
    assert bootstrap_pvalue(dist, dist > 5) == 1 / 5


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match=r"^ci: 100 is not allowed; use a percentage"):
        check_ci(100)
    with pytest.raises(ValueError, match=r"^ci: 0 is not allowed"):
        percentile_interval(np.arange(3.0), 0)
    with pytest.raises(ValueError, match=r"^n_boot: 0 is not allowed"):
        bootstrap_distribution((np.arange(3.0),), np.mean, 0, 0)
