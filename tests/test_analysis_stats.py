"""EDFs, KS, bootstrap: conventions, equivalences and known answers on synthetic sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import (
    best_values,
    bootstrap_best,
    edf,
    ks_test,
    load_sweep,
    normalized_edf,
)
from analysis.bootstrap import percentile_interval
from analysis.testing import synthetic_population


def test_edf_convention_and_weights():
    x, F = edf([3.0, 1.0, 2.0, np.nan])
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert np.allclose(F, [1 / 3, 2 / 3, 1.0])  # F[i] = (i+1)/n
    r = edf([3.0, 1.0, 2.0], weights=[2.0, 1.0, 1.0])
    assert np.allclose(r.F, [0.25, 0.5, 1.0]) and np.isclose(r.weights.sum(), 1.0)
    assert np.allclose(r.at([0.5, 1.0, 2.5, 9.0]), [0, 0.25, 0.5, 1.0])
    with pytest.raises(ValueError, match="finite"):
        edf([np.nan])


def test_normalized_edf_weights_bins_and_range():
    c = np.array([0.0, 0.1, 0.2, 0.9, 1.0])  # 3 models in bin 0, 2 in bin 1 (k = 2)
    e = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    res = normalized_edf(e, c, bins=2)
    assert np.allclose(res.weights, [1 / 4, 1 / 4, 1 / 6, 1 / 6, 1 / 6])  # sorted by error
    assert np.isclose(res.F[-1], 1.0) and res.dropped == 0
    with pytest.raises(ValueError, match=r"bin 2 \[0\.4"):
        normalized_edf(e, c, bins=5)  # [0.2, 0.4) is empty
    res = normalized_edf(e, c, bins=2, range=(0.0, 0.4))
    assert res.dropped == 2 and res.x.tolist() == [3.0, 4.0, 5.0]


def test_normalized_edf_undoes_a_complexity_imbalance():
    """Two spaces with the same error-vs-flops law, one sampled mostly at high flops: the raw
    EDFs differ, the normalized ones agree ([NDS] §4)."""
    rng = np.random.default_rng(0)
    c_a, c_b = rng.beta(2, 1, 4000), rng.uniform(0, 1, 4000)
    e_a = 50 - 20 * c_a + rng.normal(0, 1, c_a.size)
    e_b = 50 - 20 * c_b + rng.normal(0, 1, c_b.size)
    grid = np.linspace(25, 55, 301)
    raw = np.abs(edf(e_a).at(grid) - edf(e_b).at(grid)).max()
    norm = np.abs(normalized_edf(e_a, c_a, 10, (0, 1)).at(grid)
                  - normalized_edf(e_b, c_b, 10, (0, 1)).at(grid)).max()
    assert raw > 0.2 and norm < 0.05


def test_ks_equals_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 57), rng.normal(0.3, 1, 91)
    r, ref = ks_test(a, b), stats.ks_2samp(a, b)
    assert (r.statistic, r.pvalue) == (ref.statistic, ref.pvalue) and (r.n_a, r.n_b) == (57, 91)


def test_ks_separates_shifted_populations_and_not_identical_ones():
    """Over 40 seeds at n = 200 per space: a shift of one noise s.d. is detected (p < 0.05) in
    every trial; two draws of the same space are flagged in at most 10% (nominal 5%)."""
    def errors(seed: int, shift: float) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return 30 + shift + 3 * np.abs(rng.normal(0, 1, 200)) + rng.normal(0, 1, 200)

    shifted = [ks_test(errors(s, 0), errors(1000 + s, 1.0)).pvalue for s in range(40)]
    same = [ks_test(errors(s, 0), errors(1000 + s, 0)).pvalue for s in range(40)]
    assert np.mean(np.array(shifted) < 0.05) == 1.0
    assert np.mean(np.array(same) < 0.05) <= 0.10


def _reference_bootstrap(x, e, frac, n, seed):
    """The paper's procedure written as a plain loop over the same draws."""
    rng = np.random.default_rng(seed)
    m = max(1, int(len(x) * frac))
    idx = rng.integers(0, len(x), size=(n, m))
    return np.array([x[row[np.argmin(e[row])]] for row in idx])


def test_bootstrap_best_matches_a_loop_and_is_seeded():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"error": rng.normal(30, 2, 80), "depth": rng.integers(1, 40, 80),
                       "status": "ok"})
    got = bootstrap_best(df, "depth", n=2000, seed=5)
    winners = _reference_bootstrap(df.depth.to_numpy(float), df.error.to_numpy(), 0.25, 2000, 5)
    ref = np.percentile(winners, [2.5, 50, 97.5])
    assert np.allclose(got, ref)
    # the interval is the engine's (analysis.bootstrap), the centre the winners' median
    low, high = percentile_interval(winners, 95)
    assert got == (low, float(np.median(winners)), high)
    assert bootstrap_best(df, "depth", n=2000, seed=5) == got
    with pytest.raises(ValueError, match=r"^ci: 100 is not allowed"):
        bootstrap_best(df, "depth", ci=100)


def test_best_values_are_the_winners_of_each_draw():
    rng = np.random.default_rng(6)
    x, e = rng.integers(1, 40, 50).astype(float), rng.normal(30, 2, 50)
    assert np.array_equal(best_values(x, e, 0.25, 300, 2),
                          _reference_bootstrap(x, e, 0.25, 300, 2))
    assert np.array_equal(best_values(x, e, 1e-9, 5, 0), _reference_bootstrap(x, e, 1e-9, 5, 0))
    with pytest.raises(ValueError, match="equal-length"):
        best_values(x, e[:10])
    with pytest.raises(ValueError, match="frac: 0 is not allowed"):
        best_values(x, e, 0)


def test_bootstrap_best_recovers_the_optimum(tmp_path):
    """Synthetic sweep (real records) whose error is minimal at total depth 20 and w4 = 512."""
    synthetic_population(tmp_path, "anynetx_e", 400, seed=3, noise=0.5)
    df = load_sweep(tmp_path)
    low, med, high = bootstrap_best(df, "depth")
    assert low <= 20 <= high and 14 <= med <= 28
    low, med, high = bootstrap_best(df, "w4")
    assert low <= 512 <= high and 350 <= med <= 750
    # a parameter the error does not depend on gets a wide interval
    lo_b, _, hi_b = bootstrap_best(df, "g")
    assert hi_b / lo_b >= 4
