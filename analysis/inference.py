"""Confirmatory tests between design spaces (issue 12): one-sided shift tests with estimates
and bootstrap intervals, Holm's step-down correction, equivalence (TOST) and non-inferiority
tests, and parameter-error trend tests within and pooled across spaces. See docs/ANALYSIS.md,
"Confirmatory statistics". Resampling and intervals are `analysis.bootstrap`'s; the shift
tests are the registry `analysis.shift_tests.SHIFT_TESTS`.

Direction convention: a *lower error* is better, and ``alternative="less"`` always means
"a's errors are stochastically lower than b's", whatever the test (scipy's KS convention is
the opposite one and is translated in `analysis.shift_tests`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import bootstrap_distribution, bootstrap_pvalue, check_ci, percentile_interval
from .shift_tests import (
    ALTERNATIVES,
    median_diff,
    median_ratio,
    quantile_ratio,
    relative_median_effect,
    shift_test_named,
)

EQUIVALENCE_METHODS = ("median_ratio", "welch")


def finite(values) -> np.ndarray:
    """The finite entries of `values` as a flat float array."""
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _samples(a, b, need: int = 1, who: str = "samples") -> tuple[np.ndarray, np.ndarray]:
    a, b = finite(a), finite(b)
    if a.size < need or b.size < need:
        raise ValueError(f"{who}: needs at least {need} finite values in each sample "
                         f"(got {a.size} and {b.size})")
    return a, b


def _check(name: str, value, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not allowed; use one of {', '.join(allowed)}")


def _ratio_denominator(b: np.ndarray, who: str) -> None:
    if not np.median(b) > 0:
        raise ValueError(f"{who}: median of b is {np.median(b)!r}; a relative difference "
                         "needs positive errors")


# --- one-sided shift tests ---------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftResult:
    """A two-sample test of a's errors against b's, with effect estimates.

    `relative_median_diff` = median(a)/median(b) − 1 (−0.2: a's median error is 20 % lower;
    NaN unless median(b) > 0),
    `median_diff` = median(a) − median(b), `hodges_lehmann` = median of all a_i − b_j (the
    shift estimate that goes with Mann-Whitney). `low`/`high` and `median_diff_low`/`_high`
    are `ci`% percentile-bootstrap intervals of the relative and absolute median differences.
    """

    test: str
    alternative: str
    statistic: float
    pvalue: float
    n_a: int
    n_b: int
    median_diff: float
    median_diff_low: float
    median_diff_high: float
    relative_median_diff: float
    low: float
    high: float
    hodges_lehmann: float
    mean_diff: float
    ci: float


def shift_pvalue(a: np.ndarray, b: np.ndarray, test: str, alternative: str
                 ) -> tuple[float, float]:
    """(statistic, p-value) of the registered `test` (`analysis.shift_tests.SHIFT_TESTS`: mwu,
    ks, welch) for `alternative` in this module's convention."""
    statistic, p = shift_test_named(test).pvalue(a, b, alternative)
    return float(statistic), float(p)


def shift_test(a, b, alternative: str = "less", test: str = "mwu", ci: float = 95,
               n_boot: int = 10_000, seed: int = 0) -> ShiftResult:
    """Is `a` shifted relative to `b`? One-sided by default: H1 "a's errors are lower".

    A registered test (`shift_pvalue`: Mann-Whitney U by default, KS, Welch's t on the means);
    plus the median differences with percentile-bootstrap intervals (`analysis.bootstrap`: each
    sample resampled at its own size, `n_boot` times, seeded) and the Hodges-Lehmann shift.
    Non-finite values are dropped."""
    a, b = _samples(a, b, 2, "shift_test")
    statistic, p = shift_pvalue(a, b, test, alternative)
    dist = bootstrap_distribution((a, b), median_diff, n_boot, seed)
    rel = relative_median_effect(a, b, ci, n_boot, seed)  # the same resamples
    return ShiftResult(
        test=test, alternative=alternative, statistic=statistic, pvalue=p,
        n_a=int(a.size), n_b=int(b.size),
        median_diff=float(median_diff(a, b)), **_named(percentile_interval(dist, ci),
                                                       "median_diff_"),
        relative_median_diff=rel.estimate, low=rel.low, high=rel.high,
        hodges_lehmann=hodges_lehmann(a, b), mean_diff=float(a.mean() - b.mean()), ci=ci)


def _named(interval: tuple[float, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}low": interval[0], f"{prefix}high": interval[1]}


def hodges_lehmann(a, b) -> float:
    """Two-sample Hodges-Lehmann shift: the median of all pairwise differences a_i − b_j."""
    a, b = _samples(a, b, 1, "hodges_lehmann")
    return float(np.median(np.subtract.outer(a, b)))


# --- multiplicity ------------------------------------------------------------------------------

def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence): sort
    p ascending, multiply the i-th smallest (0-based) by m − i, take the running maximum,
    cap at 1. Reject hypothesis j at level α iff adjusted p_j < α."""
    p = np.asarray(pvalues, dtype=float).ravel()
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise ValueError(f"pvalues: {p.tolist()!r} is not allowed; use numbers in [0, 1]")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


# --- equivalence and non-inferiority -----------------------------------------------------------

@dataclass(frozen=True)
class EquivalenceResult:
    """TOST of |θ| < margin. `pvalue` = max(p_lower, p_upper) (equivalence shown at α when it
    is < α); `p_beyond` tests the opposite claim, |θ| > margin (the difference exceeds the
    margin), as min(1, 2·min of the two one-sided tests). θ and the margin are relative
    (median(a)/median(b) − 1) for ``median_ratio`` and in error points (mean(a) − mean(b))
    for ``welch``."""

    method: str
    estimand: str
    estimate: float
    low: float
    high: float
    margin: float
    pvalue: float
    p_lower: float
    p_upper: float
    p_beyond: float
    n_a: int
    n_b: int
    ci: float


def _check_margin(margin: float, relative: bool) -> None:
    if not (np.isfinite(margin) and margin > 0 and (margin < 1 or not relative)):
        allowed = "a fraction in (0, 1)" if relative else "a number > 0 (error points)"
        raise ValueError(f"margin: {margin!r} is not allowed; use {allowed}")


def equivalence_test(a, b, margin: float, method: str = "median_ratio", ci: float = 90,
                     n_boot: int = 10_000, seed: int = 0) -> EquivalenceResult:
    """Two one-sided tests (TOST) that a and b differ by less than `margin`.

    ``median_ratio`` (default): θ = median(a)/median(b) − 1, margin relative (0.1 = 10 %),
    p-values from the percentile bootstrap (`bootstrap_pvalue`); robust to the heavy upper tail
    of untrained models. ``welch``: θ = mean(a) − mean(b), margin in error points, p-values of
    Welch's t on a ± margin (`scipy.stats.ttest_ind(equal_var=False)`), interval the Welch
    `ci`% interval. Equivalence at α ⇔ the (1 − 2α) interval lies inside ±margin."""
    _check("method", method, EQUIVALENCE_METHODS)
    a, b = _samples(a, b, 2, "equivalence_test")
    _check_margin(margin, relative=method == "median_ratio")
    m = float(margin)
    if method == "welch":
        def t(x, alt):
            return float(stats.ttest_ind(x, b, equal_var=False, alternative=alt).pvalue)
        p_lower, p_upper = t(a + m, "greater"), t(a - m, "less")
        p_above, p_below = t(a - m, "greater"), t(a + m, "less")
        interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(check_ci(ci))
        estimand, estimate = "mean(a) - mean(b)", float(a.mean() - b.mean())
        low, high = float(interval.low), float(interval.high)
    else:
        _ratio_denominator(b, "equivalence_test")
        dist = bootstrap_distribution((a, b), median_ratio, n_boot, seed)
        p_lower, p_upper = bootstrap_pvalue(dist, dist <= -m), bootstrap_pvalue(dist, dist >= m)
        p_above, p_below = bootstrap_pvalue(dist, dist <= m), bootstrap_pvalue(dist, dist >= -m)
        estimand, estimate = "median(a)/median(b) - 1", float(median_ratio(a, b))
        low, high = percentile_interval(dist, ci)
    return EquivalenceResult(method, estimand, estimate, low, high, m,
                             pvalue=max(p_lower, p_upper), p_lower=p_lower, p_upper=p_upper,
                             p_beyond=min(1.0, 2 * min(p_above, p_below)),
                             n_a=int(a.size), n_b=int(b.size), ci=ci)


@dataclass(frozen=True)
class NonInferiorityResult:
    """a's best models are no worse than b's by more than `margin`: θ = Q_q(a)/Q_q(b) − 1 (the
    relative difference of the q-quantiles of error), H0 θ ≥ margin. `pvalue` < α supports
    non-inferiority; `p_worse` < α shows a is worse by more than the margin (H0 θ ≤ margin)."""

    quantile: float
    estimate: float
    low: float
    high: float
    margin: float
    pvalue: float
    p_worse: float
    n_a: int
    n_b: int
    ci: float


def best_noninferiority(a, b, margin: float, quantile: float = 0.1, ci: float = 90,
                        n_boot: int = 10_000, seed: int = 0) -> NonInferiorityResult:
    """Percentile-bootstrap non-inferiority test of the best models: compares the low
    `quantile` of the error distributions (not the minimum, whose bootstrap is degenerate: it
    can only take the few smallest observed values)."""
    if not 0 < quantile <= 0.5:
        raise ValueError(f"quantile: {quantile!r} is not allowed; use a fraction in (0, 0.5]")
    a, b = _samples(a, b, 2, "best_noninferiority")
    _check_margin(margin, relative=True)
    if not np.quantile(b, quantile) > 0:
        raise ValueError("best_noninferiority: b's quantile is not positive; a relative "
                         "difference needs positive errors")
    stat = quantile_ratio(quantile)
    dist = bootstrap_distribution((a, b), stat, n_boot, seed)
    return NonInferiorityResult(
        quantile, float(stat(a, b)), *percentile_interval(dist, ci), float(margin),
        pvalue=bootstrap_pvalue(dist, dist >= margin),
        p_worse=bootstrap_pvalue(dist, dist <= margin),
        n_a=int(a.size), n_b=int(b.size), ci=ci)


# --- trends ------------------------------------------------------------------------------------

def within_group_ranks(values, groups) -> np.ndarray:
    """Fractional ranks r/(n_g + 1) of `values` within each group (average ranks for ties):
    every group's ranks have mean exactly 1/2, so shifts between groups vanish."""
    v = pd.Series(np.asarray(values, dtype=float))
    g = pd.Series(np.asarray(groups))
    ranks = v.groupby(g).rank(method="average")
    sizes = g.map(g.value_counts())
    return (ranks / (sizes + 1)).to_numpy(float)


def trend_test(df: pd.DataFrame, parameter: str, column: str = "error",
               spaces: Sequence[str] | None = None, alternative: str = "two-sided",
               ci: float = 95) -> pd.DataFrame:
    """Rank correlation of `parameter` with `column` (error), per design space and pooled.

    Per space: Spearman's ρ and its p-value (`scipy.stats.spearmanr`, `alternative`). Pooled
    (last row, ``design_space == "pooled"``): Pearson's r of the fractional within-space ranks
    (`within_group_ranks`) of both variables over all spaces, p-value and Fisher-z `ci`%
    interval from `scipy.stats.pearsonr` — a space-stratified Spearman: a space with lower
    errors *and* larger parameter values creates no trend. Rows with a non-finite parameter
    or `column` are dropped (pass `all_models(df)` or `trained_core(df)` to choose the models);
    spaces where the parameter is constant get NaN and do not enter the pooled test."""
    _check("alternative", alternative, ALTERNATIVES)
    for c in (parameter, column):
        if c not in df.columns:
            raise ValueError(f"trend_test: column {c!r} is not in the sweep table")
    x = pd.to_numeric(df[parameter], errors="coerce")
    y = pd.to_numeric(df[column], errors="coerce")
    keep = np.isfinite(x) & np.isfinite(y)
    if spaces is not None:
        keep &= df["design_space"].isin(list(spaces))
    sub = pd.DataFrame({"s": df["design_space"], "x": x, "y": y}).loc[keep]
    rows, pooled = [], []
    for space, g in sub.groupby("s", sort=True):
        row = {"design_space": space, "n": len(g), "rho": np.nan, "pvalue": np.nan}
        if len(g) >= 3 and g["x"].nunique() > 1 and g["y"].nunique() > 1:
            r = stats.spearmanr(g["x"], g["y"], alternative=alternative)
            row.update(rho=float(r.statistic), pvalue=float(r.pvalue))
            pooled.append(g)
        rows.append(row)
    out = {"design_space": "pooled", "n": 0, "rho": np.nan, "pvalue": np.nan,
           "low": np.nan, "high": np.nan}
    if pooled:
        p = pd.concat(pooled)
        u, v = within_group_ranks(p["x"], p["s"]), within_group_ranks(p["y"], p["s"])
        r = stats.pearsonr(u, v, alternative=alternative)
        interval = stats.pearsonr(u, v).confidence_interval(check_ci(ci))  # two-sided
        out.update(n=len(p), rho=float(r.statistic), pvalue=float(r.pvalue),
                   low=float(interval.low), high=float(interval.high))
    rows.append(out)
    return pd.DataFrame(rows, columns=["design_space", "n", "rho", "pvalue", "low", "high"])
