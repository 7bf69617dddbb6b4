"""Known answers for analysis.power_analysis: size at no shift, Welch power against the
noncentral t, the sample-size search, and pilots read from synthetic sweeps."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from analysis import load_sweep, pilot_errors, power, sample_size
from analysis.testing import synthetic_population


def test_no_shift_gives_the_tests_size():
    pilot = np.random.default_rng(0).gamma(2, 3, 5000) + 5
    for test in ("mwu", "welch"):
        size = power(pilot, 0.0, 50, alpha=0.05, test=test, n_sim=4000)
        assert 0.035 <= size <= 0.065, (test, size)
    # KS on continuous data is conservative: never above its level
    assert power(pilot, 0.0, 50, test="ks", n_sim=1000) <= 0.065


def test_welch_power_matches_the_noncentral_t():
    """Normal pilot N(30, 5²): a = 0.9·draws is N(27, 4.5²). The power of one-sided Welch at
    n = 20 is P(T < −t_crit) with T noncentral t (df Welch-Satterthwaite, ncp = 3/se)."""
    pilot = np.random.default_rng(1).normal(30, 5, 200_000)
    n, va, vb = 20, 4.5**2 / 20, 5.0**2 / 20
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1))
    expected = stats.nct.cdf(-stats.t.ppf(0.95, df), df, -3.0 / se)
    got = power(pilot, 0.1, n, test="welch", n_sim=6000, seed=2)
    assert got == pytest.approx(expected, abs=0.025)
    assert 0.55 < expected < 0.7


def test_power_grows_with_n_and_shift_and_falls_with_family_size():
    pilot = np.random.default_rng(3).gamma(2, 3, 2000) + 5
    assert power(pilot, 0.2, 16, n_sim=1000) < power(pilot, 0.2, 64, n_sim=1000)
    assert power(pilot, 0.1, 64, n_sim=1000) < power(pilot, 0.3, 64, n_sim=1000)
    assert power(pilot, 0.2, 64, n_sim=1000, family_size=10) < power(pilot, 0.2, 64,
                                                                     n_sim=1000)
    assert power(pilot, 0.2, 32, seed=7, n_sim=500) == power(pilot, 0.2, 32, seed=7, n_sim=500)


def test_sample_size_is_the_smallest_grid_point_reaching_the_target():
    pilot = np.random.default_rng(4).gamma(2, 3, 2000) + 5
    grid = (8, 16, 32, 64, 128, 256)
    s = sample_size(pilot, 0.2, target=0.8, grid=grid, n_sim=1000)
    assert s.n in grid and s.powers[s.n] >= 0.8
    assert all(p < 0.8 for n, p in s.powers.items() if n < s.n)
    assert list(s.powers) == [n for n in grid if n <= s.n]
    assert s.powers[s.n] == power(pilot, 0.2, s.n, n_sim=1000)
    none = sample_size(pilot, 0.01, target=0.9, grid=(8, 16), n_sim=200)
    assert none.n is None and list(none.powers) == [8, 16]


def test_pilot_errors_from_a_sweep(tmp_path):
    paths = synthetic_population(tmp_path, "anynetx_e", 40, seed=5)
    record = json.loads(paths[0].read_text())
    record.update(status="failed", error=None)
    paths[0].write_text(json.dumps(record))
    df = load_sweep(tmp_path)
    every = pilot_errors(df, "anynetx_e")
    assert every.size == 40 and every.max() == 100.0  # the failed model counts as the worst
    trained = pilot_errors(df, "anynetx_e", metric="trained")  # ok and below 45 % (10 classes)
    assert trained.size == ((df["status"] == "ok") & (df["error"] < 45)).sum() < 40
    assert trained.max() < 45
    with pytest.raises(ValueError, match="space: 'regnetx' has 0 usable errors"):
        pilot_errors(df, "regnetx")


@pytest.mark.parametrize("kw, message", [
    ({"shift": 1.0}, "shift: 1.0 is not allowed"),
    ({"n": 1}, "n: 1 is not allowed"),
    ({"alpha": 0.0}, "alpha: 0.0 is not allowed"),
    ({"test": "t"}, "test: 't' is not allowed"),
])
def test_power_rejects_bad_input(kw, message):
    args = {"shift": 0.2, "n": 10, **kw}
    with pytest.raises(ValueError, match=message):
        power(np.arange(1.0, 20.0), **args)
