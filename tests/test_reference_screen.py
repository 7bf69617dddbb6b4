"""The Fashion-MNIST reference screen's rule (analysis.reference_screen) on synthetic runs whose
seed agreement is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.reference_screen import choose, passes, seeds_needed, spread_to_noise, stage_one

SPACES = ["anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]


@pytest.mark.parametrize(("rho1", "k"), [(0.85, 1), (0.74, 2), (0.73, 3), (0.654, 3),
                                         (0.65, 4), (0.59, 4), (0.58, None), (0.0, None),
                                         (-0.2, None), (float("nan"), None)])
def test_seeds_needed_is_the_smallest_spearman_brown_k(rho1, k):
    """k ρ / (1 + (k − 1) ρ) ≥ 0.85: ρ ≥ 0.739 for k = 2, 0.654 for 3, 0.586 for 4."""
    assert seeds_needed(rho1) == k


def _runs(noise: float, n: int = 12, seed: int = 0, fail: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for space in SPACES:
        true = rng.uniform(10, 30, n)
        for s in (0, 1):
            err = true + rng.normal(0, noise, n)
            for i in range(n):
                bad = s == 1 and i < fail
                rows.append({"design_space": space, "index": i, "train_seed": s,
                             "status": "failed" if bad else "ok",
                             "error": np.nan if bad else err[i]})
    return pd.DataFrame(rows)


def test_quiet_seeds_pass_and_noisy_seeds_fail():
    quiet, noisy = stage_one(_runs(0.5), SPACES), stage_one(_runs(20.0), SPACES)
    assert passes(quiet) and (quiet["k"] == 1).all()
    assert not passes(noisy)
    assert choose({"noisy": noisy, "quiet": quiet}) == ("quiet", 1, True)
    name, k, ok = choose({"noisy": noisy, "noisier": stage_one(_runs(60.0), SPACES)})
    assert (k, ok) == (None, False) and name in ("noisy", "noisier")


def test_a_space_that_does_not_train_fails_the_stage():
    table = stage_one(_runs(0.5, fail=2), SPACES)
    assert table.set_index("space").loc["anynetx_a", "trained_s1"] == pytest.approx(10 / 12)
    assert not passes(table)


def test_spread_to_noise_of_known_runs():
    runs = pd.DataFrame({"design_space": "regnetx", "index": [0, 1, 2, 3] * 2,
                         "train_seed": [0] * 4 + [1] * 4, "status": "ok",
                         "error": [10.0, 11.0, 12.0, 13.0, 10.5, 11.5, 12.5, 13.5]})
    out = spread_to_noise(runs, "regnetx")
    assert out["noise"] == pytest.approx(0.5) and out["iqr"] == pytest.approx(1.5)
    assert out["ratio"] == pytest.approx(3.0)
