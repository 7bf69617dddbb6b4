"""Which models trained (issue 11): the trained core, per-space trained fractions with exact
intervals, and exact tests between spaces. See docs/ANALYSIS.md, "Trainability".

A model *trains* when its status is ``ok`` and its error is below half of chance error,
chance = 100·(1 − 1/num_classes) percent (45 % on 10 classes). Every comparison can then be
made on all models (`all_models`: a model that diverged or failed counts as the worst, 100 %
error) or on the trained core (`trained_core`), so a space's tail of untrained models and its
ranking of the models that did train are read separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

WORST_ERROR = 100.0  # percent: what a model that did not finish counts as in `all_models`
METRICS = ("all", "trained")
EXACT_TESTS = ("fisher", "barnard", "boschloo")


def chance_error(num_classes: int) -> float:
    """Top-1 error of guessing, in percent: 100·(1 − 1/num_classes)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 2:
        raise ValueError(f"num_classes: {num_classes!r} is not allowed; use an integer >= 2")
    return 100.0 * (1.0 - 1.0 / int(num_classes))


def num_classes_of(df: pd.DataFrame, num_classes: int | None = None) -> int:
    """`num_classes` if given; else the sweep's: a ``num_classes`` column when the table has one,
    else the classes of each record's model head (``spec["num_classes"]``, which the trainer
    sets from the data section). A sweep with several values raises."""
    if num_classes is not None:
        chance_error(num_classes)
        return int(num_classes)
    if "num_classes" in df.columns:
        values = pd.to_numeric(df["num_classes"], errors="coerce").dropna().unique()
    elif "spec" in df.columns:
        values = pd.unique(pd.Series([s.get("num_classes") if isinstance(s, dict) else None
                                      for s in df["spec"]]).dropna())
    else:
        values = []
    if len(values) != 1:
        found = sorted(int(v) for v in values)
        raise ValueError(f"num_classes: the sweep gives {found!r}; pass num_classes= "
                         "(one value for the whole table)")
    return int(values[0])


def _errors(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        raise ValueError(f"column: {column!r} is not in the sweep table")
    return pd.to_numeric(df[column], errors="coerce")


def trained_mask(df: pd.DataFrame, num_classes: int | None = None,
                 column: str = "error") -> pd.Series:
    """True for rows with status ``ok`` and `column` < chance/2."""
    threshold = chance_error(num_classes_of(df, num_classes)) / 2
    e = _errors(df, column)
    return (df["status"] == "ok") & np.isfinite(e) & (e < threshold)


def trained_core(df: pd.DataFrame, num_classes: int | None = None,
                 column: str = "error") -> pd.DataFrame:
    """The rows of the models that trained (`trained_mask`)."""
    return df.loc[trained_mask(df, num_classes, column)]


def all_models(df: pd.DataFrame, column: str = "error",
               worst: float = WORST_ERROR) -> pd.DataFrame:
    """Every row, with `column` set to `worst` where the model did not finish (status not
    ``ok``, or no finite error): ranks and medians then count it as the worst model."""
    out = df.copy()
    e = _errors(df, column)
    out[column] = e.where((df["status"] == "ok") & np.isfinite(e), float(worst))
    return out


def metric_frame(df: pd.DataFrame, metric: str = "all", column: str = "error",
                 num_classes: int | None = None, worst: float = WORST_ERROR) -> pd.DataFrame:
    """`all_models(df)` for ``metric="all"``, `trained_core(df)` for ``"trained"``."""
    if metric == "all":
        return all_models(df, column, worst)
    if metric == "trained":
        return trained_core(df, num_classes, column)
    raise ValueError(f"metric: {metric!r} is not allowed; use one of {', '.join(METRICS)}")


def trained_fractions(df: pd.DataFrame, num_classes: int | None = None, column: str = "error",
                      ci: float = 95) -> pd.DataFrame:
    """Per design space: models, trained models, the trained fraction and its exact
    (Clopper-Pearson) `ci`% interval (`scipy.stats.binomtest(...).proportion_ci`)."""
    if not 0 < ci < 100:
        raise ValueError(f"ci: {ci!r} is not allowed; use a percentage in (0, 100)")
    mask = trained_mask(df, num_classes, column)
    rows = []
    for space, m in mask.groupby(df["design_space"], sort=True):
        n, k = int(m.size), int(m.sum())
        interval = stats.binomtest(k, n).proportion_ci(ci / 100, method="exact")
        rows.append({"design_space": space, "n": n, "n_trained": k, "fraction": k / n,
                     "low": float(interval.low), "high": float(interval.high)})
    return pd.DataFrame(rows, columns=["design_space", "n", "n_trained", "fraction", "low",
                                       "high"])


@dataclass(frozen=True)
class TrainedComparison:
    """Exact test of the 2×2 table (trained, not trained) × (a, b)."""

    a: str
    b: str
    n_a: int
    trained_a: int
    n_b: int
    trained_b: int
    method: str
    alternative: str
    statistic: float
    pvalue: float

    @property
    def fraction_a(self) -> float:
        return self.trained_a / self.n_a

    @property
    def fraction_b(self) -> float:
        return self.trained_b / self.n_b


def compare_trained(df: pd.DataFrame, a: str, b: str, num_classes: int | None = None,
                    method: str = "fisher", alternative: str = "two-sided",
                    column: str = "error") -> TrainedComparison:
    """Do spaces `a` and `b` train different fractions of their models? Exact test of the
    table [[trained_a, trained_b], [untrained_a, untrained_b]] (one column per space, as
    scipy's unconditional tests expect): ``fisher``
    (`scipy.stats.fisher_exact`, statistic the odds ratio), ``barnard`` or ``boschloo``
    (unconditional, usually more powerful). ``alternative="greater"``: a trains more often."""
    if method not in EXACT_TESTS:
        raise ValueError(f"method: {method!r} is not allowed; use one of "
                         f"{', '.join(EXACT_TESTS)}")
    mask = trained_mask(df, num_classes, column)
    counts = []
    for space in (a, b):
        m = mask[df["design_space"] == space]
        if m.empty:
            raise ValueError(f"design_space: {space!r} has no models in the sweep table")
        counts.append((int(m.size), int(m.sum())))
    (n_a, k_a), (n_b, k_b) = counts
    table = np.array([[k_a, k_b], [n_a - k_a, n_b - k_b]])
    test = {"fisher": stats.fisher_exact, "barnard": stats.barnard_exact,
            "boschloo": stats.boschloo_exact}[method]
    r = test(table, alternative=alternative)
    return TrainedComparison(a, b, n_a, k_a, n_b, k_b, method, alternative,
                             float(r.statistic), float(r.pvalue))
