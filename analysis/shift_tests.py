"""The registry of two-sample shift tests (docs/ANALYSIS.md, "Shift tests"), and the effect
sizes that go with them.

One `ShiftTest` entry per test is all that `analysis.inference.shift_test`, the plans' kind
``better`` (its key ``test``) and `analysis.power_analysis.power` read: adding a test is one
entry of `SHIFT_TESTS`, its test in tests/test_shift_tests.py and its row in docs/ANALYSIS.md.
A name not in the registry is a ValueError naming it and the allowed ones (`shift_test_named`).

Direction convention: a *lower error* is better, and ``alternative="less"`` always means "a's
errors are stochastically lower than b's", whatever the test (scipy's KS convention is the
opposite one and is translated here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats

from .bootstrap import bootstrap_distribution, check_ci, percentile_interval

ALTERNATIVES = ("less", "greater", "two-sided")
# scipy.stats.ks_2samp's alternative names the CDF of the first sample relative to the second:
# a stochastically lower (better) sample has the *greater* CDF.
_KS_ALTERNATIVE = {"less": "greater", "greater": "less", "two-sided": "two-sided"}


# --- effects: vectorized statistics of (a, b) along `axis` -------------------------------------

def median_diff(a, b, axis=-1):
    """median(a) − median(b)."""
    return np.median(a, axis=axis) - np.median(b, axis=axis)


def mean_diff(a, b, axis=-1):
    """mean(a) − mean(b)."""
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def median_ratio(a, b, axis=-1):
    """median(a)/median(b) − 1 (−0.2: a's median error is 20 % lower); inf or NaN where
    median(b) is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.median(a, axis=axis) / np.median(b, axis=axis) - 1.0


def quantile_ratio(q: float) -> Callable:
    """Q_q(a)/Q_q(b) − 1: the relative difference of the q-quantiles."""
    def stat(a, b, axis=-1):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.quantile(a, q, axis=axis) / np.quantile(b, q, axis=axis) - 1.0
    return stat


@dataclass(frozen=True)
class Effect:
    """What a test's verdict reports: the estimand's name, its estimate and `ci`% interval."""

    estimand: str
    estimate: float
    low: float
    high: float


def relative_median_effect(a: np.ndarray, b: np.ndarray, ci: float, n_boot: int,
                           seed: int) -> Effect:
    """median(a)/median(b) − 1 with its percentile-bootstrap interval (the engine's draws of
    (a, b) with `seed`); NaN unless median(b) > 0 (a relative difference needs positive
    errors)."""
    name = "median(a)/median(b) - 1"
    if not np.median(b) > 0:
        return Effect(name, np.nan, np.nan, np.nan)
    rel = bootstrap_distribution((a, b), median_ratio, n_boot, seed)
    return Effect(name, float(median_ratio(a, b)), *percentile_interval(rel, ci))


def mean_difference_effect(a: np.ndarray, b: np.ndarray, ci: float, n_boot: int,
                           seed: int) -> Effect:
    """mean(a) − mean(b) with Welch's t interval (`scipy.stats.ttest_ind(equal_var=False)`);
    `n_boot` and `seed` are not used."""
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(check_ci(ci))
    return Effect("mean(a) - mean(b)", float(a.mean() - b.mean()), float(interval.low),
                  float(interval.high))


# --- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftTest:
    """One two-sample test of a's errors against b's.

    `run(a, b, alternative, axis, **options)` calls scipy with `alternative` in this module's
    convention and returns its result (``.statistic``, ``.pvalue``), row-wise along `axis`;
    `batch_options` are its options for many tests at once (the power's Monte Carlo); `effect`
    is the estimate a plan's ``better`` verdict reports with this test."""

    name: str
    summary: str
    run: Callable[..., Any]
    effect: Callable[[np.ndarray, np.ndarray, float, int, int], Effect]
    batch_options: Mapping[str, Any] = field(default_factory=dict)

    def pvalue(self, a, b, alternative: str, axis: int = -1, batch: bool = False
               ) -> tuple[Any, Any]:
        """(statistic, p-value) of the test of a against b for `alternative` (less: a's errors
        lower), row-wise along `axis`; with `batch`, under `batch_options`."""
        if alternative not in ALTERNATIVES:
            raise ValueError(f"alternative: {alternative!r} is not allowed; use one of "
                             f"{', '.join(ALTERNATIVES)}")
        r = self.run(a, b, alternative, axis, **(self.batch_options if batch else {}))
        return r.statistic, r.pvalue


def _mwu(a, b, alternative, axis, **options):
    return stats.mannwhitneyu(a, b, alternative=alternative, axis=axis, **options)


def _ks(a, b, alternative, axis, **options):
    return stats.ks_2samp(a, b, alternative=_KS_ALTERNATIVE[alternative], axis=axis, **options)


def _welch(a, b, alternative, axis, **options):
    return stats.ttest_ind(a, b, equal_var=False, alternative=alternative, axis=axis, **options)


SHIFT_TESTS: Mapping[str, ShiftTest] = MappingProxyType({t.name: t for t in (
    ShiftTest("mwu", "Mann-Whitney U (scipy.stats.mannwhitneyu; Monte Carlo: asymptotic p)",
              _mwu, relative_median_effect, MappingProxyType({"method": "asymptotic"})),
    ShiftTest("ks", "two-sample Kolmogorov-Smirnov (scipy.stats.ks_2samp)", _ks,
              relative_median_effect),
    ShiftTest("welch", "Welch's t on the means (scipy.stats.ttest_ind, equal_var=False)",
              _welch, mean_difference_effect),
)})


def shift_test_named(name: Any) -> ShiftTest:
    """The registry's entry for `name`; ValueError naming it and the allowed tests."""
    if not isinstance(name, str) or name not in SHIFT_TESTS:
        raise ValueError(f"test: {name!r} is not allowed; use one of "
                         f"{', '.join(SHIFT_TESTS)}")
    return SHIFT_TESTS[name]
