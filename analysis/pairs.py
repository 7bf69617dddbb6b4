"""The one pair table: which design space has the lower errors, by how much, and how sure.

`pair_table` gives one row per pair of spaces with every number the analysis reports about a
pair (docs/ANALYSIS.md, "Distributions and statistics"): sizes, min / median / mean of each
space, the differences of medians and of means and the relative difference of medians, each
with a percentile-bootstrap interval (`analysis.bootstrap`: each space resampled independently
at its own size, one set of draws for the three), the Hodges-Lehmann shift, a two-sided
Mann-Whitney U test whose p-values are Holm-corrected over the family of pairs compared, the
smallest p the sizes allow, and the two-sided KS test ([NDS] §4). `compare_pairs` (the
verdict's columns) and `comparison_table` (the descriptive KS columns) are views of it, so
they agree to the bit.

The paper compares spaces by their EDFs ([DDS] §3.1, [NDS] §4); these numbers say in one line
what an EDF figure shows, and whether a sweep of this size can tell at all. Which fraction of
each space's models trains at all is compared apart (`compare_trained_pairs`: an exact test of
the trained fractions per pair, Holm-corrected over the same pairs; docs/ANALYSIS.md,
"Trainability").
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise
from math import comb

import numpy as np
import pandas as pd

from . import fmt
from .bootstrap import bootstrap_distribution, percentile_interval
from .inference import holm
from .shift_tests import SHIFT_TESTS, mean_diff, median_ratio
from .sweep import ok_rows
from .trainability import compare_trained, trained_fractions

PAIRINGS = ("all", "consecutive")
# Every column of the pair table, in order.
PAIR_COLUMNS = ["a", "b", "n_a", "n_b", "min_a", "min_b", "median_a", "median_b",
                "median_diff", "median_diff_low", "median_diff_high", "relative_median_diff",
                "relative_median_diff_low", "relative_median_diff_high", "hodges_lehmann",
                "mean_a", "mean_b", "mean_diff", "mean_diff_low", "mean_diff_high", "u", "p",
                "p_holm", "min_p", "enough", "ks", "ks_pvalue"]
# The verdict's view (`compare_pairs`) and the descriptive view (`comparison_table`).
COLUMNS = ["a", "b", "n_a", "n_b", "median_a", "median_b", "median_diff", "median_diff_low",
           "median_diff_high", "mean_a", "mean_b", "mean_diff", "mean_diff_low",
           "mean_diff_high", "u", "p", "p_holm", "min_p", "enough"]
COMPARISON_COLUMNS = ["a", "b", "n_a", "n_b", "min_a", "min_b", "mean_a", "mean_b", "median_a",
                      "median_b", "ks", "ks_pvalue", "mean_diff", "mean_diff_low",
                      "mean_diff_high"]
TRAINED_COLUMNS = ["a", "b", "n_a", "trained_a", "fraction_a", "n_b", "trained_b", "fraction_b",
                   "method", "statistic", "p", "p_holm"]


def _holm_finite(pvalues: Sequence[float]) -> np.ndarray:
    """`analysis.inference.holm` over the finite entries (the family); NaN entries stay NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    keep = np.flatnonzero(np.isfinite(p))
    if keep.size:
        out[keep] = holm(p[keep])
    return out


def min_pvalue(n_a: int, n_b: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney test can give for sample sizes
    (n_a, n_b) without ties: 2 / C(n_a + n_b, n_a) (all of one sample below the other).
    If it is not below the level, no data of this size can show a difference."""
    if n_a < 1 or n_b < 1:
        return 1.0
    return min(1.0, 2.0 / comb(n_a + n_b, n_a))


def _differences(a, b, axis=-1):
    """The median, mean and relative median differences of a and b (`median_diff`,
    `mean_diff`, `median_ratio`), stacked: one set of draws, each median taken once."""
    ma, mb = np.median(a, axis=axis), np.median(b, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ma / mb - 1.0
    return np.stack([ma - mb, mean_diff(a, b, axis), ratio])


def _intervals(a: np.ndarray, b: np.ndarray, n_boot: int, ci: float, seed: int
               ) -> dict[str, float]:
    """The `ci`% intervals of the median, mean and relative median differences a − b from one
    set of the engine's draws; NaN when a sample has fewer than 2 values (and, for the
    relative one, unless median(b) > 0)."""
    keys = ("median_diff", "mean_diff", "relative_median_diff")
    if a.size < 2 or b.size < 2:
        return {f"{k}_{end}": np.nan for k in keys for end in ("low", "high")}
    dist = bootstrap_distribution((a, b), _differences, n_boot, seed)
    out = {}
    for k, d in zip(keys, dist, strict=True):
        low, high = percentile_interval(d, ci)
        if k == "relative_median_diff" and not np.median(b) > 0:
            low, high = np.nan, np.nan
        out[f"{k}_low"], out[f"{k}_high"] = low, high
    return out


def pairs_of(names: Sequence[str], pairing: str = "all") -> list[tuple[str, str]]:
    """All pairs of `names` (in their order), or consecutive ones (first vs second, second vs
    third, ...)."""
    if pairing not in PAIRINGS:
        raise ValueError(f"pairs: {pairing!r} is not allowed; use one of {list(PAIRINGS)}")
    names = list(names)
    return list(combinations(names, 2) if pairing == "all" else pairwise(names))


def _pair(a: str, b: str, ea: np.ndarray, eb: np.ndarray, n_boot: int, ci: float, seed: int,
          alpha: float) -> dict[str, object]:
    row: dict[str, object] = {"a": a, "b": b, "n_a": ea.size, "n_b": eb.size,
                              "min_p": min_pvalue(ea.size, eb.size)}
    row["enough"] = bool(row["min_p"] < alpha)
    if not (ea.size and eb.size):
        return row
    ma, mb = float(np.median(ea)), float(np.median(eb))
    u, p = SHIFT_TESTS["mwu"].pvalue(ea, eb, "two-sided")
    ks, ks_p = SHIFT_TESTS["ks"].pvalue(ea, eb, "two-sided")
    row.update(min_a=float(ea.min()), min_b=float(eb.min()), median_a=ma, median_b=mb,
               median_diff=float(np.median(ea) - np.median(eb)),
               relative_median_diff=float(median_ratio(ea, eb)) if mb > 0 else np.nan,
               hodges_lehmann=float(np.median(np.subtract.outer(ea, eb))),
               mean_a=float(ea.mean()), mean_b=float(eb.mean()),
               mean_diff=float(ea.mean() - eb.mean()), u=float(u), p=float(p), ks=float(ks),
               ks_pvalue=float(ks_p), **_intervals(ea, eb, n_boot, ci, seed))
    return row


def pair_table(df: pd.DataFrame, spaces: Sequence[str], metric: str = "error",
               pairing: str = "all", n_boot: int = 10_000, ci: float = 95, seed: int = 0,
               alpha: float = 0.05) -> pd.DataFrame:
    """The one pair table (`PAIR_COLUMNS`): one row per pair (a, b) of `spaces` (see
    `pairs_of`) over the ok models' `metric`. Differences are a − b with `ci`% intervals of the
    bootstrap engine (`n_boot` draws, `seed`); ``p`` is the two-sided Mann-Whitney p,
    ``p_holm`` its Holm correction over all pairs compared, ``min_p`` the smallest p these
    sample sizes allow and ``enough`` whether ``min_p < alpha``; ``ks``/``ks_pvalue`` the
    two-sided KS test. A space with no model gives its pairs sizes only."""
    if n_boot < 1:
        raise ValueError(f"n_boot: {n_boot!r} is not allowed; use at least one draw")
    groups = {s: ok_rows(g, metric)[metric].to_numpy(float)
              for s, g in df.groupby("design_space", sort=True)}
    rows = [_pair(a, b, groups.get(a, np.empty(0)), groups.get(b, np.empty(0)), n_boot, ci,
                  seed, alpha) for a, b in pairs_of(spaces, pairing)]
    out = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    out["p_holm"] = _holm_finite(out["p"].to_numpy(float)) if len(out) else []
    return out


def compare_pairs(df: pd.DataFrame, spaces: Sequence[str], metric: str = "error",
                  pairing: str = "all", n_boot: int = 10_000, ci: float = 95, seed: int = 0,
                  alpha: float = 0.05) -> pd.DataFrame:
    """The verdict's columns (`COLUMNS`) of `pair_table`: medians, means, their differences
    a − b with `ci`% bootstrap intervals, the Mann-Whitney U of a, its two-sided p, the
    Holm-corrected p over all pairs compared (``p_holm``), the smallest p these sample sizes
    allow (``min_p``) and ``enough``: whether ``min_p < alpha``."""
    return pair_table(df, spaces, metric, pairing, n_boot, ci, seed, alpha)[COLUMNS]


def comparison_table(df: pd.DataFrame, metric: str = "error", spaces: list[str] | None = None,
                     n: int = 10_000, ci: float = 95, seed: int = 0) -> pd.DataFrame:
    """The descriptive columns (`COMPARISON_COLUMNS`) of `pair_table` over all pairs of the
    spaces with an ok model (`spaces` in their order, default sorted): n, min, mean and median
    `metric` of each, the KS statistic and p-value ([NDS] §4), and mean(a) − mean(b) with its
    `ci`% interval (`n` draws)."""
    present = sorted(s for s, g in df.groupby("design_space", sort=True)
                     if len(ok_rows(g, metric)))
    names = [s for s in (spaces or present) if s in present]
    return pair_table(df, names, metric, "all", n, ci, seed)[COMPARISON_COLUMNS] \
        .reset_index(drop=True)


def sentence(row: pd.Series, family: int, alpha: float = 0.05, unit: str = " points") -> str:
    """One plain sentence for one row of `compare_pairs`: which space is lower, by how much
    (medians and means with their intervals), the Holm-corrected p over `family` pairs, and a
    warning where the sample sizes cannot show anything."""
    a, b, na, nb = row["a"], row["b"], int(row["n_a"]), int(row["n_b"])
    head = f"{a} (n = {na}) vs {b} (n = {nb}): "
    if not na or not nb:
        empty = " and ".join(x for x, n in ((a, na), (b, nb)) if not n)
        return head + f"no model of {empty} here: nothing to compare."
    if not row["enough"]:
        return (head + f"too few models to say anything: with n = {na} and {nb} the smallest "
                f"p a two-sided Mann-Whitney test can give is {fmt.pvalue(row['min_p'])}, "
                f"not below {alpha:g} (a pair needs 2 / C(n_a + n_b, n_a) < {alpha:g}, "
                "e.g. 4 and 4 models).")
    lower = a if row["median_diff"] <= 0 else b
    text = (head + f"median {row['median_a']:.2f} vs {row['median_b']:.2f}, difference "
            f"{row['median_diff']:+.2f}{unit} (95% CI "
            f"{_ci(row['median_diff_low'], row['median_diff_high'])}); mean "
            f"{row['mean_a']:.2f} vs {row['mean_b']:.2f}, difference "
            f"{row['mean_diff']:+.2f}{unit} (95% CI "
            f"{_ci(row['mean_diff_low'], row['mean_diff_high'])}); Mann-Whitney "
            f"{_p(row['p'])}, Holm-corrected over {family} pair{'s' if family != 1 else ''}: "
            f"{_p(row['p_holm'])}. ")
    if row["p_holm"] < alpha:
        return text + f"{lower} has the lower errors (significant at {alpha:g})."
    return text + (f"No difference shown at {alpha:g}: the errors of {a} and {b} "
                   "could come from one distribution.")


def _p(p: float) -> str:
    text = fmt.pvalue(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _ci(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not computed: a space has one model"
    return f"[{lo:+.2f}, {hi:+.2f}]"


def compare_trained_pairs(df: pd.DataFrame, spaces: Sequence[str], pairing: str = "all",
                          method: str = "fisher", num_classes: int | None = None,
                          column: str = "error") -> pd.DataFrame:
    """One row per pair (a, b) of `spaces` (see `pairs_of`): models and trained models of each
    (`trainability.trained_mask`), the exact test of the trained fractions
    (`trainability.compare_trained`, two-sided; ``statistic`` is Fisher's odds ratio, or the
    unconditional test's statistic) and its p Holm-corrected over the pairs (``p_holm``)."""
    rows = []
    for a, b in pairs_of(spaces, pairing):
        r = compare_trained(df, a, b, num_classes=num_classes, method=method, column=column)
        rows.append({"a": a, "b": b, "n_a": r.n_a, "trained_a": r.trained_a,
                     "fraction_a": r.fraction_a, "n_b": r.n_b, "trained_b": r.trained_b,
                     "fraction_b": r.fraction_b, "method": method, "statistic": r.statistic,
                     "p": r.pvalue})
    out = pd.DataFrame(rows, columns=TRAINED_COLUMNS)
    out["p_holm"] = _holm_finite(out["p"].to_numpy(float)) if len(out) else []
    return out


def trained_sentence(row: pd.Series, family: int, alpha: float = 0.05,
                     fractions: pd.DataFrame | None = None) -> str:
    """One plain sentence for one row of `compare_trained_pairs`: how many models of each space
    trained (with the exact 95% interval of the fraction when `fractions`, a
    `trainability.trained_fractions` table, is given), the exact test's p, its Holm correction
    over `family` pairs, and which space trains more often at `alpha`."""
    ci = {} if fractions is None else {
        r.design_space: f", 95% CI {100 * r.low:.0f}–{100 * r.high:.0f}%"
        for r in fractions.itertuples()}
    a, b = row["a"], row["b"]
    parts = [f"{s} {int(row[f'trained_{t}'])} of {int(row[f'n_{t}'])} "
             f"({100 * row[f'fraction_{t}']:.0f}%{ci.get(s, '')})"
             for s, t in ((a, "a"), (b, "b"))]
    name = {"fisher": "Fisher", "barnard": "Barnard", "boschloo": "Boschloo"}.get(
        str(row["method"]), str(row["method"]))
    text = (f"{a} vs {b}: trained {parts[0]} vs {parts[1]}; {name} exact test {_p(row['p'])}, "
            f"Holm-corrected over {family} pair{'s' if family != 1 else ''}: "
            f"{_p(row['p_holm'])}. ")
    if row["p_holm"] < alpha:
        more = a if row["fraction_a"] > row["fraction_b"] else b
        return text + f"{more} trains more of its models (significant at {alpha:g})."
    return text + f"No difference in trainability shown at {alpha:g}."


def fractions_of(df: pd.DataFrame, spaces: Sequence[str], num_classes: int | None = None,
                 column: str = "error", ci: float = 95) -> pd.DataFrame:
    """`trainability.trained_fractions` of `spaces`, in their order."""
    table = trained_fractions(df[df["design_space"].isin(list(spaces))], num_classes, column,
                              ci)
    return table.set_index("design_space").loc[list(spaces)].reset_index()
