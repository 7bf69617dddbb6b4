"""The Fashion-MNIST reference screen's rules (analysis.reference_screen) on synthetic runs whose
seed agreement, pair differences and proxy orderings are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import reference_screen as rs
from analysis.instrument import spearman_brown
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


def test_spread_to_noise_over_three_seeds():
    """Seed-to-seed gaps of one model over every pair of seeds: 0.5, 1.0, 0.5 per model."""
    runs = pd.DataFrame({"design_space": "regnetx", "index": [0, 1, 2, 3] * 3,
                         "train_seed": [0] * 4 + [1] * 4 + [2] * 4, "status": "ok",
                         "error": [10.0, 11.0, 12.0, 13.0, 10.5, 11.5, 12.5, 13.5,
                                   11.0, 12.0, 13.0, 14.0]})
    out = spread_to_noise(runs, "regnetx", seeds=(0, 1, 2))
    assert out["noise"] == pytest.approx(0.5) and out["iqr"] == pytest.approx(1.5)
    assert out["models"] == 4 and out["ratio"] == pytest.approx(3.0)


# -- stage 2 ------------------------------------------------------------------------------------

def _seeds_runs(errors: np.ndarray, space: str = "anynetx_a") -> pd.DataFrame:
    """Runs of one space from an array (seeds, models) of errors."""
    k, n = errors.shape
    return pd.DataFrame({"design_space": space, "index": np.tile(np.arange(n), k),
                         "train_seed": np.repeat(np.arange(k), n), "status": "ok",
                         "error": errors.ravel(), "wall_seconds": 60.0})


def test_reliability_is_spearman_brown_of_the_mean_pairwise_rho():
    rng = np.random.default_rng(3)
    true = np.linspace(10, 30, 24)
    errors = true + rng.normal(0, 4.0, (3, 24))
    out = rs.reproducibility(_seeds_runs(errors), "anynetx_a", (0, 1, 2))
    pairwise = [stats.spearmanr(errors[i], errors[j])[0] for i, j in ((0, 1), (0, 2), (1, 2))]
    assert out.rho == pytest.approx(np.mean(pairwise))
    assert out.reliability == pytest.approx(spearman_brown(np.mean(pairwise), 3))
    assert out.models == out.trained == 24
    assert out.low < out.reliability
    assert out.reproduces == (out.reliability >= 0.85)


def test_quiet_seeds_reproduce_and_noisy_ones_do_not():
    rng = np.random.default_rng(0)
    true = np.linspace(10, 30, 24)
    quiet = rs.reproducibility(_seeds_runs(true + rng.normal(0, 0.5, (2, 24))), "anynetx_a",
                               (0, 1))
    noisy = rs.reproducibility(_seeds_runs(true + rng.normal(0, 10.0, (2, 24))), "anynetx_a",
                               (0, 1))
    assert quiet.reproduces and quiet.reliability > 0.95 and quiet.low > 0.85
    assert not noisy.reproduces and noisy.reliability < 0.85


def test_an_untrained_model_leaves_the_reliability_but_counts_in_the_medians():
    errors = np.tile(np.linspace(10, 30, 24), (2, 1))
    errors[1, 0] = 80.0                      # above half of chance (45 %) under seed 1
    runs = _seeds_runs(errors)
    out = rs.reproducibility(runs, "anynetx_a", (0, 1))
    assert (out.models, out.trained, out.rho) == (24, 23, pytest.approx(1.0))
    means = rs.seed_means(runs.assign(status=np.where(np.arange(48) == 1, "failed", "ok")),
                          (0, 1))
    assert means.loc[means["index"] == 1, "error"].item() == 100.0   # did not finish: 100 %
    assert means.loc[means["index"] == 0, "error"].item() == pytest.approx(45.0)


def test_a_big_difference_resolves_and_none_does_not():
    a = np.linspace(10, 20, 24)
    big = rs.median_difference(a, a + 5.0)
    none = rs.median_difference(a, a[::-1].copy())
    assert big.value == pytest.approx(5.0) and rs.resolved(big) and big.low > 0
    assert none.value == pytest.approx(0.0) and not rs.resolved(none)
    assert none.low < 0 < none.high


def test_the_n_that_resolves_grows_as_the_difference_shrinks():
    a = np.linspace(10, 20, 24)
    kw = {"reps": 100, "n_boot": 300}
    large = rs.resolving_n(a, a + 4.0, **kw)              # 32 models per space (seeded)
    small = rs.resolving_n(a, a + 2.0, **kw)              # 96
    zero = rs.resolving_n(a, a.copy(), grid=(24, 64), **kw)
    assert large.n is not None and small.n is not None and large.n < small.n
    powers = list(small.powers.values())
    assert powers[-1] >= 0.8 > powers[0]                 # searched up from 24
    assert zero.n is None and max(zero.powers.values()) < 0.2   # the test's size, about 0.05


def test_the_cost_of_a_reference_study():
    hours = rs.study_core_hours(96, 5, 2, 60.0)          # 96 x 5 x 2 runs of a minute
    assert hours == pytest.approx(16.0)
    assert not rs.affordable(hours) and rs.affordable(rs.study_core_hours(64, 5, 2, 60.0))


# -- stage 3 ------------------------------------------------------------------------------------

SPACES3 = ["anynetx_c", "anynetx_d", "anynetx_e"]


def _regime(base: dict[str, float], seeds, noise: float, seed: int, n: int = 24
            ) -> pd.DataFrame:
    """Runs of the spaces of `base` (its median error) under `seeds`: models evenly spread
    ±4 points about it, each seed adding `noise`."""
    rng = np.random.default_rng(seed)
    rows = []
    for space, level in base.items():
        true = level + np.linspace(-4, 4, n)
        for s in seeds:
            for i, e in enumerate(true + rng.normal(0, noise, n)):
                rows.append({"design_space": space, "index": i, "train_seed": s,
                             "status": "ok", "error": e, "wall_seconds": 10.0 + s})
    return pd.DataFrame(rows)


def test_a_proxy_that_inflates_one_gap_and_reverses_another():
    """Reference: C 20, D 25, E 30 (both pairs +5). Proxy: C 20, D 30, E 28: C → D +10
    (inflated twice), D → E −2 (the other way: a contradiction)."""
    pairs = (("anynetx_c", "anynetx_d"), ("anynetx_d", "anynetx_e"))
    reference = _regime({"anynetx_c": 20.0, "anynetx_d": 25.0, "anynetx_e": 30.0}, (0, 1),
                        0.2, 0)
    proxy = _regime({"anynetx_c": 20.0, "anynetx_d": 30.0, "anynetx_e": 28.0}, (0, 1), 0.2, 1)
    j = rs.judge_proxy("fm_proxy", proxy, reference, (0, 1), SPACES3, pairs)
    p = j.pairs.set_index("a")
    assert p.loc["anynetx_c", "ref"] == pytest.approx(5.0, abs=0.2)
    assert p.loc["anynetx_c", "inflation"] == pytest.approx(2.0, abs=0.1)
    assert p["resolved"].all()
    assert list(p["order"]) == ["alike", "other way"]
    assert rs.contradictions(j) == [("anynetx_d", "anynetx_e")]
    assert j.score > 0.9 and j.trained_min == 1.0
    assert list(j.spaces["median_seconds"]) == [10.5] * 3


def test_a_proxy_that_orders_like_the_reference_has_no_contradiction():
    base = {"anynetx_c": 20.0, "anynetx_d": 25.0, "anynetx_e": 30.0}
    j = rs.judge_proxy("fm_proxy", _regime(base, (0, 1), 0.2, 1), _regime(base, (0, 1, 2),
                       0.2, 0), (0, 1, 2), SPACES3, (("anynetx_c", "anynetx_d"),))
    assert rs.contradictions(j) == [] and j.pairs["order"].tolist() == ["alike"]
    assert j.pairs["inflation"].item() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(("proxy", "order"), [(1.0, "alike"), (-1.0, "other way"),
                                              (0.0, "tied")])
def test_ordering_of_a_resolved_pair(proxy, order):
    assert rs.ordering(proxy, 2.5) == order


def _judged(name: str, score: float, trained_min: float) -> rs.ProxyJudged:
    return rs.ProxyJudged(name, pd.DataFrame(), pd.DataFrame(), score, trained_min)


@pytest.mark.parametrize(("t5k_score", "t5k_trained", "chosen"),
                         [(0.76, 1.0, "fm_proxy_t5k"),     # 0.06 higher, trains
                          (0.75, 1.0, "fm_proxy"),         # exactly 0.05 higher: not more
                          (0.72, 1.0, "fm_proxy"),
                          (0.90, 0.95, "fm_proxy_t5k"),    # trains exactly 0.95: enough
                          (0.90, 0.94, "fm_proxy")])       # a space trains < 0.95
def test_the_stage_three_choice(t5k_score, t5k_trained, chosen):
    judged = {"fm_proxy": _judged("fm_proxy", 0.70, 1.0),
              "fm_proxy_t5k": _judged("fm_proxy_t5k", t5k_score, t5k_trained)}
    assert rs.choose_proxy(judged) == chosen
