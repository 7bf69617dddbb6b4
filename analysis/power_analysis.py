"""Power and sample size for comparing two design spaces, from a pilot sweep (issue 12).

The pilot's errors stand in for the population of one space. Each Monte Carlo trial draws
n errors for b and n for a from the pilot with replacement, and multiplies a's by
(1 − shift): a space whose every quantile, its median included, is `shift` (e.g. 20 %) lower.
The power is the fraction of trials in which the one-sided test (a lower) rejects at `alpha`;
with ``shift=0`` it is the test's size. For a plan of k hypotheses under Holm, pass
``family_size=k`` (tests at alpha/k, Holm's first and strictest step: a safe estimate). See
docs/ANALYSIS.md, "Power and sample size".

Usage from a pilot sweep::

    from analysis import load_sweep, pilot_errors, sample_size
    e = pilot_errors(load_sweep("runs/pilot"), "anynetx_e")
    print(sample_size(e, shift=0.2, target=0.8, family_size=10))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inference import finite
from .shift_tests import shift_test_named
from .trainability import WORST_ERROR, metric_frame

DEFAULT_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 500, 750, 1000)


def pilot_errors(df: pd.DataFrame, space: str | None = None, metric: str = "all",
                 column: str = "error", num_classes: int | None = None,
                 worst: float = WORST_ERROR) -> np.ndarray:
    """The errors of one space (or of every row when `space` is None) as the plan's `metric`
    sees them: ``all`` (did-not-finish = `worst`) or ``trained`` (the trained core)."""
    rows = metric_frame(df, metric, column, num_classes, worst)
    if space is not None:
        rows = rows[rows["design_space"] == space]
    e = finite(rows[column])
    if e.size < 2:
        raise ValueError(f"space: {space!r} has {e.size} usable errors in the pilot; need >= 2")
    return e


def _rejections(a: np.ndarray, b: np.ndarray, test: str, alpha: float) -> np.ndarray:
    """Row-wise one-sided tests (a lower) of (trials, n) arrays with the registered `test`
    under its Monte Carlo options; True where p < alpha."""
    _, p = shift_test_named(test).pvalue(a, b, "less", axis=1, batch=True)
    return np.nan_to_num(np.asarray(p, dtype=float), nan=1.0) < alpha


def power(pilot, shift: float, n: int, alpha: float = 0.05, test: str = "mwu",
          n_sim: int = 2000, seed: int = 0, family_size: int = 1) -> float:
    """Monte Carlo power of the one-sided `test` (a name of `analysis.shift_tests.SHIFT_TESTS`:
    mwu, ks, welch) to find that a space with errors (1 − `shift`) times the `pilot`'s is
    better, with `n` models per space, at level ``alpha / family_size``; `n_sim` seeded
    trials."""
    e = finite(pilot)
    if e.size < 2:
        raise ValueError(f"pilot: {e.size} finite errors; need >= 2")
    if not 0 <= shift < 1:
        raise ValueError(f"shift: {shift!r} is not allowed; use a relative shift in [0, 1)")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: {n!r} is not allowed; use an integer >= 2 models per space")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: {alpha!r} is not allowed; use a level in (0, 1)")
    shift_test_named(test)  # ValueError naming an unknown test
    if n_sim < 1 or family_size < 1:
        raise ValueError(f"n_sim, family_size: {n_sim!r}, {family_size!r} are not allowed; "
                         "use integers >= 1")
    rng = np.random.default_rng(seed)
    hits = 0
    per_chunk = max(1, 2_000_000 // n)
    for start in range(0, n_sim, per_chunk):
        k = min(per_chunk, n_sim - start)
        b = e[rng.integers(0, e.size, size=(k, n))]
        a = (1.0 - shift) * e[rng.integers(0, e.size, size=(k, n))]
        hits += int(_rejections(a, b, test, alpha / family_size).sum())
    return hits / n_sim


@dataclass(frozen=True)
class SampleSize:
    """The smallest `n` of the grid whose power reaches `target` (None if none does), and
    the power at every n tried."""

    n: int | None
    target: float
    powers: dict[int, float]


def sample_size(pilot, shift: float, target: float = 0.8, grid: Sequence[int] = DEFAULT_GRID,
                **kw) -> SampleSize:
    """Walk the ascending `grid` of models per space and stop at the first n whose `power`
    (same keywords: alpha, test, n_sim, seed, family_size) reaches `target`."""
    if not 0 < target < 1:
        raise ValueError(f"target: {target!r} is not allowed; use a power in (0, 1)")
    powers: dict[int, float] = {}
    for n in sorted(int(x) for x in grid):
        powers[n] = power(pilot, shift, n, **kw)
        if powers[n] >= target:
            return SampleSize(n, target, powers)
    return SampleSize(None, target, powers)
