"""The verdict's numbers (differences of medians and means with bootstrap intervals,
Mann-Whitney with Holm's correction), number formatting, and the newest-sweep default."""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis
from analysis import fmt
from analysis.pairs import compare_pairs, holm, min_pvalue, pairs_of, sentence
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
