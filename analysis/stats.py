"""Statistics that compare design spaces: KS test ([NDS] §4), the empirical bootstrap of the
best model ([DDS] fn. 4) and the per-space summary table (docs/PAPER.md §4.3-4.4). Per-pair
numbers are the one pair table's (`analysis.pairs`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import check_ci, percentile_interval
from .sweep import ok_rows

# Index draws are processed in chunks of at most this many entries (memory bound, still
# vectorized: one numpy call per chunk).
_CHUNK = 4_000_000


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov-Smirnov test: D = sup_e |F1(e) - F2(e)| and its p-value."""

    statistic: float
    pvalue: float
    n_a: int
    n_b: int


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def ks_test(a, b) -> KSResult:
    """KS statistic and p-value of two error samples, exactly `scipy.stats.ks_2samp`
    (two-sided, default method), as in the [NDS] notebooks. Non-finite values are dropped."""
    a, b = _finite(a), _finite(b)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"ks_test: needs values in both samples (got {a.size} and {b.size})")
    r = stats.ks_2samp(a, b)
    return KSResult(float(r.statistic), float(r.pvalue), int(a.size), int(b.size))


def bootstrap_best(df: pd.DataFrame, metric: str, frac: float = 0.25, n: int = 10_000,
                   ci: float = 95, seed: int = 0, error: str = "error"
                   ) -> tuple[float, float, float]:
    """Where the best models lie along `metric` ([DDS] fn. 4; Figs. 2, 5, 8, 11).

    Draw ``frac`` of the (metric, error) pairs with replacement, keep the pair with the lowest
    `error`, repeat `n` times (`best_values`), and return the winners' median and their `ci`%
    percentile interval (`analysis.bootstrap.percentile_interval`) as (low, median, high).
    Only ``ok`` rows with finite metric and error take part; the sample size is
    max(1, int(frac·N)) as in pycls.
    """
    check_ci(ci)
    rows = ok_rows(df, error)
    x = pd.to_numeric(rows[metric], errors="coerce").to_numpy(float)
    e = rows[error].to_numpy(float)
    keep = np.isfinite(x)
    if not keep.any():
        raise ValueError(f"bootstrap_best: no ok model has a finite {metric!r} and {error!r}")
    winners = best_values(x[keep], e[keep], frac, n, seed)
    low, high = percentile_interval(winners, ci)
    return low, float(np.median(winners)), high


def best_values(x, e, frac: float = 0.25, n: int = 10_000, seed: int = 0) -> np.ndarray:
    """The `n` bootstrap winners' values of `x` ([DDS] fn. 4): each draw takes
    max(1, int(frac·N)) of the (x, e) pairs with replacement (``int(frac)`` pairs when
    frac > 1, as pycls) and keeps the `x` of the lowest `e`. Seeded, vectorized."""
    x, e = np.asarray(x, dtype=float), np.asarray(e, dtype=float)
    if x.shape != e.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(f"best_values: needs two equal-length 1-D arrays of values (got "
                         f"shapes {x.shape} and {e.shape})")
    if not frac > 0:
        raise ValueError(f"frac: {frac!r} is not allowed; use a fraction in (0, 1] (or a "
                         "sample size > 1, as pycls)")
    if n < 1:
        raise ValueError(f"n: {n!r} is not allowed; use at least one draw")
    m = int(frac) if frac > 1 else max(1, int(x.size * frac))
    return x[_bootstrap_winners(e, m, n, np.random.default_rng(seed))]


def _bootstrap_winners(e: np.ndarray, m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the lowest-error member of each of `n` draws of size `m` with replacement."""
    out = np.empty(n, dtype=np.int64)
    per_chunk = max(1, _CHUNK // m)
    for start in range(0, n, per_chunk):
        k = min(per_chunk, n - start)
        idx = rng.integers(0, e.size, size=(k, m))
        best = np.argmin(e[idx], axis=1)
        out[start:start + k] = idx[np.arange(k), best]
    return out


def space_summary(df: pd.DataFrame, metric: str = "error") -> pd.DataFrame:
    """One row per design space: counts by status and min / mean / median of `metric` over the
    ok models (the EDF legend's n|min|mean, [DDS] Fig. 2)."""
    out = []
    for space, g in df.groupby("design_space", sort=True):
        ok = ok_rows(g, metric)[metric].to_numpy(float)
        row = {"design_space": space, "n": len(ok), "n_records": len(g),
               "n_diverged": int((g["status"] == "diverged").sum()),
               "n_failed": int((g["status"] == "failed").sum())}
        row.update(_moments(ok))
        out.append(row)
    return pd.DataFrame(out)


def _moments(v: np.ndarray) -> dict[str, float]:
    if v.size == 0:
        return {"min": np.nan, "mean": np.nan, "median": np.nan}
    return {"min": float(v.min()), "mean": float(v.mean()), "median": float(np.median(v))}
