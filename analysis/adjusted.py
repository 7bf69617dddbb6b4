"""Two design spaces compared at equal complexity (issue 21, item 4; docs/ANALYSIS.md, "Plans
and verdicts", kind `adjusted`).

Within AnyNetX_D and E a model's error falls with its activations, and the two spaces sample
different activations, so a difference of medians mixes the space with where its models sit.
The adjusted comparison fits one log-log line per pair of spaces (an ANCOVA with a common
slope):

    log(error) = α + β · log(covariate) + δ · [model in a]

and reads exp(δ) − 1, a's error relative to b's at equal covariate. δ has the closed form of
ordinary least squares, δ = (ȳ_a − ȳ_b) − β (x̄_a − x̄_b) with the pooled within-space slope
β = (S_xy,a + S_xy,b) / (S_xx,a + S_xx,b). Its interval and p-values come from the one
bootstrap engine (`analysis.bootstrap`), models resampled within each space; a resample in which
the covariate varies within neither space is undefined and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import bootstrap_distribution, bootstrap_pvalue, percentile_interval


@dataclass(frozen=True)
class AdjustedResult:
    """exp(δ) − 1 with its percentile interval, the pooled slope β, the sample sizes, the
    one-sided bootstrap p of "a lower" (δ < 0) and of its opposite (δ > 0)."""

    covariate: str
    estimate: float
    low: float
    high: float
    slope: float
    n_a: int
    n_b: int
    pvalue: float
    p_contra: float

    @property
    def estimand(self) -> str:
        return f"exp(delta) - 1: a's error relative to b's at equal log({self.covariate})"


def _delta(ya, xa, yb, xb) -> tuple[np.ndarray, np.ndarray]:
    """δ and β of the common-slope fit, over the last axis (NaN where x does not vary)."""
    mxa, mxb = xa.mean(-1), xb.mean(-1)
    mya, myb = ya.mean(-1), yb.mean(-1)
    sxx = ((xa - mxa[..., None]) ** 2).sum(-1) + ((xb - mxb[..., None]) ** 2).sum(-1)
    sxy = (((xa - mxa[..., None]) * (ya - mya[..., None])).sum(-1)
           + ((xb - mxb[..., None]) * (yb - myb[..., None])).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(sxx > 1e-12, sxy / np.where(sxx > 1e-12, sxx, 1.0), np.nan)
    return (mya - myb) - slope * (mxa - mxb), slope


def _positive(values, who: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if not np.all(v > 0):
        raise ValueError(f"{who}: needs positive values for its logarithm")
    return np.log(v)


def adjusted_comparison(err_a, cov_a, err_b, cov_b, covariate: str = "acts", ci: float = 95,
                        n_boot: int = 10_000, seed: int = 0) -> AdjustedResult:
    """a's error relative to b's at equal `covariate` (the module's fit); each side's errors
    and covariate are paired model by model."""
    ya, xa = _positive(err_a, "error of a"), _positive(cov_a, f"{covariate} of a")
    yb, xb = _positive(err_b, "error of b"), _positive(cov_b, f"{covariate} of b")
    if ya.size != xa.size or yb.size != xb.size:
        raise ValueError("each side needs one covariate value per error")
    if min(ya.size, yb.size) < 2:
        raise ValueError(f"adjusted comparison: {ya.size} and {yb.size} models; need >= 2 each")
    delta, slope = _delta(ya, xa, yb, xb)
    if not np.isfinite(delta):
        raise ValueError(f"adjusted comparison: {covariate} does not vary within the spaces")

    def statistic(ia, ib, axis=-1):
        ia, ib = ia.astype(np.intp), ib.astype(np.intp)
        return _delta(ya[ia], xa[ia], yb[ib], xb[ib])[0]

    dist = bootstrap_distribution((np.arange(ya.size, dtype=float),
                                   np.arange(yb.size, dtype=float)), statistic, n_boot, seed)
    low, high = percentile_interval(dist, ci)
    return AdjustedResult(covariate, float(np.expm1(delta)), float(np.expm1(low)),
                          float(np.expm1(high)), float(slope), int(ya.size), int(yb.size),
                          bootstrap_pvalue(dist, dist >= 0), bootstrap_pvalue(dist, dist <= 0))
