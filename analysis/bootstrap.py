"""The one bootstrap engine of `analysis` (docs/ANALYSIS.md, "Distributions and statistics").

Every interval of a statistic over resampled models is drawn here and read here: the pair
table's differences (`analysis.pairs`), the shift, equivalence and non-inferiority tests
(`analysis.inference`), the plans' tests (`analysis.plan`), regime fidelity
(`analysis.fidelity`) and the percentiles of the bootstrap of the best (`analysis.stats`).

- Resampling is `scipy.stats.bootstrap`'s: each sample drawn with replacement at its own size
  (independently; jointly, model by model, when ``paired``), seeded by
  ``numpy.random.default_rng(seed)``. The same data and seed give the same resamples whatever
  statistic is asked for, so two statistics of one call site share their draws.
- The interval is the percentile interval exactly as
  ``scipy.stats.bootstrap(method="percentile")`` reports it: the α and 1 − α quantiles
  (`scipy.stats.quantile`, linear) with α = (1 − ci/100)/2, over the resamples where the
  statistic is defined (finite).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats


def check_ci(ci: float) -> float:
    """The level ci/100 of a `ci`% interval; ValueError unless 0 < ci < 100."""
    if not 0 < ci < 100:
        raise ValueError(f"ci: {ci!r} is not allowed; use a percentage in (0, 100)")
    return ci / 100


def bootstrap_distribution(data: tuple[np.ndarray, ...], statistic: Callable, n_boot: int,
                           seed: int, paired: bool = False) -> np.ndarray:
    """`n_boot` resampled values of a vectorized `statistic(*samples, axis=-1)` (the last axis
    holds the resamples; a statistic may return several values stacked on the first axis)."""
    if n_boot < 1:
        raise ValueError(f"n_boot: {n_boot!r} is not allowed; use at least one resample")
    with warnings.catch_warnings():  # scipy's own interval, unused here, warns on undefined draws
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(data, statistic, n_resamples=n_boot, paired=paired,
                              vectorized=True, method="percentile",
                              rng=np.random.default_rng(seed))
    return np.asarray(res.bootstrap_distribution, dtype=float)


def percentile_interval(dist: np.ndarray, ci: float) -> tuple[float, float]:
    """The central `ci`% of a bootstrap distribution (1-D), as `scipy.stats.bootstrap`'s
    percentile method reports it; resamples where the statistic is undefined are dropped,
    (NaN, NaN) when none is left."""
    alpha = (1 - check_ci(ci)) / 2
    d = np.asarray(dist, dtype=float).ravel()
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    low, high = stats.quantile(d, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_interval(data: tuple[np.ndarray, ...], statistic: Callable, n_boot: int,
                       ci: float, seed: int, paired: bool = False) -> tuple[float, float]:
    """`percentile_interval` of `bootstrap_distribution`: the `ci`% interval of a scalar
    statistic."""
    return percentile_interval(bootstrap_distribution(data, statistic, n_boot, seed, paired),
                               ci)


def bootstrap_pvalue(dist: np.ndarray, exceeds: np.ndarray) -> float:
    """One-sided bootstrap p-value (1 + #resamples at or beyond the null boundary) / (1 + B)
    over the defined resamples; rejecting at α is the same as the percentile interval's α-tail
    excluding the boundary."""
    ok = np.isfinite(dist)
    return float((1 + np.count_nonzero(exceeds[ok])) / (1 + np.count_nonzero(ok)))
