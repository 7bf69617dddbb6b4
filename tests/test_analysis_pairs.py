"""The one pair table (differences of medians and means with the engine's bootstrap intervals,
Mann-Whitney with Holm's correction, KS) and its views, number formatting, and the newest-sweep
default."""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis
from analysis import fmt
from analysis.bootstrap import bootstrap_interval
from analysis.pairs import (
    COLUMNS,
    COMPARISON_COLUMNS,
    PAIR_COLUMNS,
    compare_pairs,
    comparison_table,
    holm,
    min_pvalue,
    pair_table,
    pairs_of,
    sentence,
)
from analysis.shift_tests import mean_diff, median_diff, median_ratio
from analysis.testing import synthetic_population


def _frame(groups: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"design_space": s, "status": "ok", "error": e} for s, v in groups.items()
            for e in v]
    return pd.DataFrame(rows)


def test_holm_matches_the_step_down_definition():
    # sorted 0.01, 0.03, 0.04 -> 3·0.01, max(0.03, 2·0.03), max(0.06, 1·0.04)
    assert holm([0.04, 0.01, 0.03]).tolist() == pytest.approx([0.06, 0.03, 0.06])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]
    # pairs whose test could not run (NaN) stay out of the family
    from analysis.pairs import _holm_finite
    out = _holm_finite([0.01, np.nan, 0.02])
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_min_pvalue_is_the_exact_tail_of_a_complete_separation():
    assert min_pvalue(3, 3) == pytest.approx(0.1)
    assert min_pvalue(4, 4) == pytest.approx(2 / 70)
    for na, nb in ((3, 3), (4, 4), (3, 6)):
        p = stats.mannwhitneyu(np.arange(na), np.arange(na, na + nb), method="exact").pvalue
        assert p == pytest.approx(min_pvalue(na, nb))
    assert min_pvalue(1, 50) == pytest.approx(2 / 51)  # one model can be below all 50


def test_compare_pairs_estimates_and_intervals():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(40, 2, 40), rng.normal(35, 2, 30), rng.normal(35.2, 2, 25)
    df = _frame({"a": a, "b": b, "c": c})
    t = compare_pairs(df, ["a", "b", "c"], n_boot=2000, seed=1)
    assert [(r.a, r.b) for r in t.itertuples()] == list(combinations("abc", 2))
    r = t.iloc[0]
    assert r.median_diff == pytest.approx(np.median(a) - np.median(b))
    assert r.mean_diff == pytest.approx(a.mean() - b.mean())
    assert r.median_diff_low < r.median_diff < r.median_diff_high
    assert r.mean_diff_low < 5 < r.mean_diff_high  # the true shift
    assert r.p == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert t.p_holm.tolist() == pytest.approx(holm(t.p).tolist())
    assert r.p_holm < 0.05 and t.iloc[2].p_holm > 0.05  # b vs c: no real difference
    assert "a has" not in sentence(r, 3) and "b has the lower errors" in sentence(r, 3)
    assert "No difference shown at 0.05" in sentence(t.iloc[2], 3)
    again = compare_pairs(df, ["a", "b", "c"], n_boot=2000, seed=1)
    pd.testing.assert_frame_equal(t, again)  # seeded
    consecutive = compare_pairs(df, ["c", "a", "b"], pairing="consecutive", n_boot=500)
    assert [(r.a, r.b) for r in consecutive.itertuples()] == [("c", "a"), ("a", "b")]


def test_compare_pairs_with_one_model():
    t = compare_pairs(_frame({"a": [30.0], "b": [31.0, 32.0, 33.0]}), ["a", "b"], n_boot=100)
    r = t.iloc[0]
    assert not r.enough and np.isnan(r.median_diff_low)
    assert "too few models to say anything" in sentence(r, 1)
    with pytest.raises(ValueError, match="^pairs: 'each'"):
        pairs_of(["a", "b"], "each")


def test_pair_table_is_one_table_with_three_views():
    """compare_pairs and comparison_table are columns of pair_table, to the bit; its KS, U and
    Hodges-Lehmann are scipy's / the definition's."""
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(40, 2, 40), rng.normal(35, 2, 30), rng.normal(35.2, 2, 25)
    df = _frame({"a": a, "b": b, "c": c})
    t = pair_table(df, ["a", "b", "c"], n_boot=1000, seed=2)
    assert list(t.columns) == PAIR_COLUMNS
    pd.testing.assert_frame_equal(compare_pairs(df, ["a", "b", "c"], n_boot=1000, seed=2),
                                  t[COLUMNS], check_exact=True)
    pd.testing.assert_frame_equal(comparison_table(df, n=1000, seed=2),
                                  t[COMPARISON_COLUMNS], check_exact=True)
    r = t.iloc[0]
    ks = stats.ks_2samp(a, b)
    assert (r.ks, r.ks_pvalue) == (ks.statistic, ks.pvalue)
    assert r.u == stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    assert r.hodges_lehmann == np.median(np.subtract.outer(a, b))
    assert (r.min_a, r.min_b) == (a.min(), b.min())
    assert r.relative_median_diff == np.median(a) / np.median(b) - 1


def test_pair_intervals_are_the_engines_draws():
    """Every interval of a row is `analysis.bootstrap.bootstrap_interval` of its statistic on
    the same two samples and seed: one engine, one set of draws."""
    rng = np.random.default_rng(4)
    a, b = rng.gamma(3, 2, 33) + 20, rng.gamma(3, 2, 47) + 21
    r = pair_table(_frame({"a": a, "b": b}), ["a", "b"], n_boot=1500, ci=90, seed=7).iloc[0]
    for name, stat in (("median_diff", median_diff), ("mean_diff", mean_diff),
                       ("relative_median_diff", median_ratio)):
        assert (r[f"{name}_low"], r[f"{name}_high"]) == bootstrap_interval(
            (a, b), stat, 1500, 90, 7), name


def test_comparison_table_on_a_sweep(tmp_path):
    synthetic_population(tmp_path, "anynetx_a", 150, seed=4, shift=3.0)
    synthetic_population(tmp_path, "anynetx_e", 150, seed=5)
    df = analysis.load_sweep(tmp_path)
    table = comparison_table(df, n=4000)
    assert list(table.columns) == COMPARISON_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert (row.a, row.b, row.n_a, row.n_b) == ("anynetx_a", "anynetx_e", 150, 150)
    assert row.mean_diff_low < row.mean_diff < row.mean_diff_high
    ea = df[df.design_space == "anynetx_a"].error
    eb = df[df.design_space == "anynetx_e"].error
    assert np.isclose(row.mean_diff, ea.mean() - eb.mean())
    assert (row.ks, row.ks_pvalue) == tuple(stats.ks_2samp(ea, eb))[:2]
    assert row.min_a == ea.min() and row.median_b == eb.median()
    given = comparison_table(df, spaces=["anynetx_e", "regnetx", "anynetx_a"], n=100)
    assert given[["a", "b"]].values.tolist() == [["anynetx_e", "anynetx_a"]]  # no regnetx
    flat = comparison_table(_frame({"a": [1.0] * 10, "b": [1.0] * 10}), n=100).iloc[0]
    assert flat.mean_diff_low == flat.mean_diff_high == 0.0


def test_numbers_for_people():
    assert fmt.complexity(5_815_000, "flops") == "5.8 MF"
    assert fmt.complexity(58_150_000, "flops") == "58 MF"
    assert fmt.complexity(1_234_567, "params") == "1.2 M"
    assert fmt.complexity(3.2e9, "flops") == "3.2 GF"
    assert fmt.number(5_815_000.0) == "5,815,000"
    assert fmt.number(31.23456) == "31.23" and fmt.number(0.00123456) == "0.001235"
    assert fmt.number(float("nan")) == "–"
    assert fmt.listing([1.0, 2.0, 4.0]) == "1, 2, 4" and fmt.listing([1.5, 2]) == "1.5, 2"
    assert fmt.pvalue(0.01234) == "0.012" and fmt.pvalue(3e-7) == "< 0.0001"


def test_newest_sweep_is_the_one_with_the_newest_record(tmp_path):
    root = tmp_path / "sweeps"
    old = synthetic_population(root / "old", "anynetx_a", 2, seed=1)
    new = synthetic_population(root / "new", "anynetx_e", 2, seed=2)
    (root / "empty").mkdir()
    for p in old:
        os.utime(p, (2_000_000_000, 2_000_000_000))  # written later than `new`
    for p in new:
        os.utime(p, (1_000_000_000, 1_000_000_000))
    assert analysis.newest_sweep(root) == root / "old"
    os.utime(new[0], (2_100_000_000, 2_100_000_000))
    assert analysis.newest_sweep(root) == root / "new"
    with pytest.raises(ValueError, match="^sweeps: .* is not a folder"):
        analysis.newest_sweep(tmp_path / "none")
    with pytest.raises(ValueError, match="^sweeps: no record.json"):
        analysis.newest_sweep(root / "empty")
