"""Known answers for analysis.inference: shift tests, Holm, TOST, non-inferiority, trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import (
    best_noninferiority,
    equivalence_test,
    hodges_lehmann,
    holm,
    load_sweep,
    shift_test,
    trend_test,
    within_group_ranks,
)
from analysis.testing import synthetic_population


def test_shift_test_estimates_an_exact_shift_and_matches_scipy():
    """a = b − 2 exactly: both median differences and the Hodges-Lehmann shift are −2 (the
    pairwise differences b_i − b_j are symmetric about 0), and the p-values are scipy's."""
    b = np.random.default_rng(0).normal(30, 3, 80)
    a = b - 2.0
    r = shift_test(a, b, n_boot=2000)
    assert r.median_diff == pytest.approx(-2.0) and r.hodges_lehmann == pytest.approx(-2.0)
    assert r.relative_median_diff == pytest.approx(-2.0 / np.median(b))
    assert r.low < r.relative_median_diff < r.high < 0
    assert r.median_diff_low < -2.0 < r.median_diff_high
    assert r.pvalue == stats.mannwhitneyu(a, b, alternative="less").pvalue
    assert r.mean_diff == pytest.approx(-2.0) and (r.n_a, r.n_b, r.ci) == (80, 80, 95)
    assert hodges_lehmann([1.0, 2.0], [0.0]) == 1.5


def test_ks_direction_follows_lower_error_is_less():
    """scipy's KS 'greater' (first CDF above) is this module's 'less' (a's errors lower)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 150), rng.normal(1, 1, 150)
    less = shift_test(a, b, "less", "ks", n_boot=200)
    greater = shift_test(a, b, "greater", "ks", n_boot=200)
    assert less.pvalue == stats.ks_2samp(a, b, alternative="greater").pvalue
    assert less.pvalue < 1e-6 < 0.5 < greater.pvalue
    for test in ("mwu", "welch"):
        assert shift_test(a, b, "less", test, n_boot=200).pvalue < 1e-6
        assert shift_test(a, b, "greater", test, n_boot=200).pvalue > 0.99
    with pytest.raises(ValueError, match="test: 'ttest' is not allowed"):
        shift_test(a, b, test="ttest")
    with pytest.raises(ValueError, match="at least 2 finite values"):
        shift_test([1.0, np.nan], b)


def test_median_difference_interval_covers_the_truth():
    """The 95 % percentile interval of median(a) − median(b) for two normals 1 apart covers
    1 in at least 88 of 100 independent trials (nominal 95)."""
    covered = 0
    for s in range(100):
        rng = np.random.default_rng(100 + s)
        r = shift_test(rng.normal(1, 1, 60), rng.normal(0, 1, 60), n_boot=1000, seed=s)
        covered += r.median_diff_low <= 1.0 <= r.median_diff_high
    assert covered >= 88


def test_shift_test_is_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 40), rng.normal(0.5, 1, 40)
    assert shift_test(a, b, seed=3, n_boot=500) == shift_test(a, b, seed=3, n_boot=500)
    assert shift_test(a, b, seed=3, n_boot=500).low != shift_test(a, b, seed=4, n_boot=500).low


def test_holm_textbook_and_definition():
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> running max 0.06
    assert np.allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.uniform(0, 0.2, rng.integers(1, 12)) ** 2
        order = np.argsort(p)
        m = p.size
        ref = np.empty(m)
        for i, j in enumerate(order):  # max over the steps so far of min(1, (m - k) p_(k))
            ref[j] = max(min(1.0, (m - k) * p[order[k]]) for k in range(i + 1))
        assert np.allclose(holm(p), ref)
    assert holm([]).size == 0 and holm([0.7]).tolist() == [0.7]
    with pytest.raises(ValueError, match="pvalues"):
        holm([0.1, np.nan])


def test_holm_controls_the_family_wise_error():
    """10 true null hypotheses, 4,000 families: any rejection at 0.05 in <= 6 %."""
    p = np.random.default_rng(4).uniform(size=(4000, 10))
    fwer = np.mean([np.any(holm(row) < 0.05) for row in p])
    assert fwer <= 0.06


def _welch_t_p(x, y, shift, tail):
    """Welch's t of mean(x) − mean(y) − shift by hand (Welch-Satterthwaite df)."""
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    t = (x.mean() - y.mean() - shift) / np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    return stats.t.sf(t, df) if tail == "upper" else stats.t.cdf(t, df)


def test_welch_tost_matches_the_formula():
    rng = np.random.default_rng(5)
    a, b = rng.normal(10.2, 1, 70), rng.normal(10.0, 1.5, 90)
    r = equivalence_test(a, b, margin=0.8, method="welch")
    p_lower = _welch_t_p(a, b, -0.8, "upper")  # H0: diff <= -0.8
    p_upper = _welch_t_p(a, b, 0.8, "lower")  # H0: diff >= +0.8
    assert r.p_lower == pytest.approx(p_lower) and r.p_upper == pytest.approx(p_upper)
    assert r.pvalue == pytest.approx(max(p_lower, p_upper)) and r.pvalue < 0.05
    assert r.estimate == pytest.approx(a.mean() - b.mean())
    # TOST at 0.05 <=> the 90 % Welch interval inside the margin
    assert -0.8 < r.low < r.high < 0.8
    assert r.p_beyond == pytest.approx(min(1, 2 * min(_welch_t_p(a, b, 0.8, "upper"),
                                                      _welch_t_p(a, b, -0.8, "lower"))))


def test_median_ratio_tost_equivalent_beyond_and_undecided():
    rng = np.random.default_rng(6)
    a, b = 30 + rng.gamma(2, 3, 400), 30 + rng.gamma(2, 3, 400)
    same = equivalence_test(a, b, 0.1, n_boot=4000)
    assert same.pvalue < 0.001 and same.p_beyond == 1.0
    assert -0.1 < same.low < same.estimate < same.high < 0.1
    far = equivalence_test(1.3 * a, b, 0.1, n_boot=4000)
    assert far.pvalue > 0.9 and far.p_beyond < 0.001 and far.low > 0.1
    small = equivalence_test(a[:5], b[:5], 0.1, n_boot=4000)
    assert small.pvalue > 0.05 and small.p_beyond > 0.05  # neither equivalent nor beyond
    with pytest.raises(ValueError, match="margin: 1.5 is not allowed"):
        equivalence_test(a, b, 1.5)
    with pytest.raises(ValueError, match="margin: -1 is not allowed"):
        equivalence_test(a, b, -1, method="welch")


def test_tost_p_value_agrees_with_the_interval():
    """Bootstrap TOST p < 0.05 exactly when the 90 % percentile interval is inside ±margin
    (same resamples; the +1 in the p-value is the only slack)."""
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.04, 0.08, 0.12):
        a, b = (1 + shift) * (20 + rng.gamma(2, 2, 150)), 20 + rng.gamma(2, 2, 150)
        r = equivalence_test(a, b, 0.1, ci=90, n_boot=4000, seed=1)
        inside = -0.1 < r.low and r.high < 0.1
        assert (r.pvalue < 0.05) == inside or abs(r.pvalue - 0.05) < 0.002


def test_best_noninferiority():
    rng = np.random.default_rng(8)
    b = 5 + rng.gamma(2, 3, 300)
    same = best_noninferiority(b.copy(), b, margin=0.1, n_boot=3000)
    assert same.estimate == 0.0 and same.pvalue < 0.01 and same.p_worse > 0.5
    worse = best_noninferiority(1.5 * b, b, margin=0.1, n_boot=3000)
    assert worse.estimate == pytest.approx(0.5) and worse.p_worse < 0.01 and worse.pvalue > 0.9
    with pytest.raises(ValueError, match="quantile"):
        best_noninferiority(b, b, 0.1, quantile=0.7)


def test_within_group_ranks():
    u = within_group_ranks([3.0, 1.0, 2.0, 10.0, 20.0, 20.0], ["x", "x", "x", "y", "y", "y"])
    assert np.allclose(u, [3 / 4, 1 / 4, 2 / 4, 1 / 4, 2.5 / 4, 2.5 / 4])


def _frame(spaces: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"design_space": s, "status": "ok", "p": x, "error": e})
                      for s, (x, e) in spaces.items()], ignore_index=True)


def test_trend_single_space_is_spearman():
    rng = np.random.default_rng(9)
    x = rng.integers(1, 5, 60).astype(float)  # ties, as in b or g
    e = x + rng.normal(0, 2, 60)
    t = trend_test(_frame({"s": (x, e)}), "p", alternative="greater")
    ref = stats.spearmanr(x, e, alternative="greater")
    assert t["design_space"].tolist() == ["s", "pooled"]
    for row in (0, 1):
        assert t.loc[row, "rho"] == pytest.approx(ref.statistic)
        assert t.loc[row, "pvalue"] == pytest.approx(ref.pvalue)
    assert t.loc[1, "low"] < ref.statistic < t.loc[1, "high"]


def test_pooled_trend_ignores_space_shifts_and_finds_within_space_trends():
    """Space 2 has larger parameter values and higher errors but no trend inside either
    space: a naive pooled Spearman sees a strong trend, the within-space one does not. With a
    real within-space trend hidden under an opposite space shift, only the latter finds it."""
    rng = np.random.default_rng(10)
    x1, x2 = rng.uniform(0, 1, 100), rng.uniform(2, 3, 100)
    flat = _frame({"s1": (x1, rng.normal(20, 1, 100)), "s2": (x2, rng.normal(30, 1, 100))})
    naive = stats.spearmanr(flat["p"], flat["error"]).statistic
    pooled = trend_test(flat, "p").iloc[-1]
    assert naive > 0.6 and abs(pooled["rho"]) < 0.15 and pooled["pvalue"] > 0.05
    hidden = _frame({"s1": (x1, 30 + 3 * x1 + rng.normal(0, 1, 100)),
                     "s2": (x2, 10 + 3 * x2 + rng.normal(0, 1, 100))})
    assert stats.spearmanr(hidden["p"], hidden["error"]).statistic < -0.5
    t = trend_test(hidden, "p", alternative="greater")
    assert t.iloc[-1]["rho"] > 0.5 and t.iloc[-1]["pvalue"] < 1e-10
    assert (t.iloc[:2]["rho"] > 0.5).all()


def test_pooled_trend_false_positive_rate():
    """No trend in 3 spaces of 30 models: pooled p < 0.05 in at most 9 % of 300 draws."""
    hits = 0
    for s in range(300):
        rng = np.random.default_rng(1000 + s)
        df = _frame({f"s{k}": (rng.integers(1, 4, 30).astype(float),
                               rng.normal(10 * k, 1, 30)) for k in range(3)})
        hits += trend_test(df, "p").iloc[-1]["pvalue"] < 0.05
    assert hits / 300 <= 0.09


def test_trend_on_a_synthetic_sweep(tmp_path):
    """Real records: error grows with |log2(depth/20)| ([analysis.testing]), so among the
    shallow models (depth < 20) error falls with depth in both spaces, whatever their shift."""
    synthetic_population(tmp_path, "anynetx_a", 300, seed=11, shift=5.0, noise=0.5)
    synthetic_population(tmp_path, "anynetx_e", 300, seed=12, noise=0.5)
    df = load_sweep(tmp_path)
    shallow = df[df["depth"] < 20]
    t = trend_test(shallow, "depth", alternative="less")
    assert (t["rho"] < -0.3).all() and t.iloc[-1]["pvalue"] < 1e-6
    assert t.iloc[-1]["n"] == len(shallow)
    constant = trend_test(shallow.assign(c=1.0), "c")
    assert constant["rho"].isna().all() and constant.iloc[-1]["n"] == 0
    with pytest.raises(ValueError, match="column 'nope'"):
        trend_test(df, "nope")
