"""Known answers for analysis.trainability on synthetic sweeps (real records, chosen errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from analysis import (
    all_models,
    chance_error,
    compare_trained,
    load_sweep,
    metric_frame,
    num_classes_of,
    trained_core,
    trained_fractions,
    trained_mask,
)
from analysis.testing import random_anynet_spec, write_sweep


def _specs(n: int, seed: int = 0, classes: int = 10):
    rng = np.random.default_rng(seed)
    return [random_anynet_spec(rng, resolution_classes=(3, classes)) for _ in range(n)]


def _diverge(path) -> None:
    record = json.loads(path.read_text())
    record.update(status="diverged", error=None)
    path.write_text(json.dumps(record))


@pytest.fixture
def sweep(tmp_path):
    """anynetx_a: 10 models, 7 trained (< 45 %), 2 at chance-ish error, 1 diverged.
    anynetx_b: 4 models, 1 trained. 10 classes: chance 90 %, threshold 45 %."""
    errors_a = [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 44.9, 45.0, 88.0, 7.5]
    paths = write_sweep(tmp_path, "anynetx_a", _specs(10), errors_a)
    _diverge(paths[9])
    write_sweep(tmp_path, "anynetx_b", _specs(4, 1), [12.0, 60.0, 89.0, 90.0])
    return load_sweep(tmp_path)


def test_chance_and_num_classes(sweep, tmp_path):
    assert chance_error(10) == 90.0 and chance_error(2) == 50.0
    assert num_classes_of(sweep) == 10  # from the records' model heads
    assert num_classes_of(sweep, 100) == 100
    assert num_classes_of(sweep.assign(num_classes=7)) == 7  # a column wins over the specs
    for bad in (1, 2.5, True):
        with pytest.raises(ValueError, match="num_classes: .* is not allowed"):
            chance_error(bad)
    write_sweep(tmp_path / "mixed", "anynetx_a", _specs(2), [5.0, 6.0])
    write_sweep(tmp_path / "mixed", "anynetx_b", _specs(2, 1, classes=100), [5.0, 6.0],
                data={"name": "synthetic", "resolution": 32, "channels": 3,
                      "num_classes": 10})
    with pytest.raises(ValueError, match=r"num_classes: the sweep gives \[10, 100\]"):
        num_classes_of(load_sweep(tmp_path / "mixed"))


def test_trained_mask_core_and_all_models(sweep):
    a = sweep[sweep["design_space"] == "anynetx_a"]
    assert trained_mask(a).tolist() == [True] * 7 + [False, False, False]
    core = trained_core(sweep)
    assert len(core) == 8 and core["error"].max() == 44.9
    # two classes: chance 50 %, threshold 25 %
    assert trained_mask(a, num_classes=2).sum() == 6
    everything = all_models(sweep)
    assert len(everything) == 14 and everything["error"].iloc[9] == 100.0
    assert everything["error"].iloc[:9].tolist() == a["error"].iloc[:9].tolist()
    assert metric_frame(sweep, "trained").equals(core)
    with pytest.raises(ValueError, match="metric: 'best' is not allowed"):
        metric_frame(sweep, "best")


def test_trained_fractions_are_clopper_pearson(sweep):
    t = trained_fractions(sweep).set_index("design_space")
    assert t.loc["anynetx_a", ["n", "n_trained"]].tolist() == [10, 7]
    assert t.loc["anynetx_b", "fraction"] == 0.25
    # Clopper-Pearson: the beta quantiles (Clopper & Pearson 1934)
    lo = stats.beta.ppf(0.025, 7, 4)
    hi = stats.beta.ppf(0.975, 8, 3)
    assert t.loc["anynetx_a", "low"] == pytest.approx(lo)
    assert t.loc["anynetx_a", "high"] == pytest.approx(hi)


def test_exact_interval_edges(tmp_path):
    """0 of 10 trained: upper bound 1 − 0.025^(1/10) = 0.3085; 10 of 10: lower 0.025^(1/10)."""
    write_sweep(tmp_path, "anynetx_a", _specs(10), [80.0] * 10)
    write_sweep(tmp_path, "anynetx_b", _specs(10, 1), [5.0] * 10)
    t = trained_fractions(load_sweep(tmp_path)).set_index("design_space")
    assert t.loc["anynetx_a", "low"] == 0.0
    assert t.loc["anynetx_a", "high"] == pytest.approx(1 - 0.025 ** 0.1)
    assert t.loc["anynetx_b", "low"] == pytest.approx(0.025 ** 0.1)
    assert t.loc["anynetx_b", "high"] == 1.0


def test_exact_tests_between_spaces(tmp_path):
    """Fisher's tea tasting table: 3 of 4 against 1 of 4; one-sided p = 17/70."""
    write_sweep(tmp_path, "anynetx_a", _specs(4), [5.0, 6.0, 7.0, 80.0])
    write_sweep(tmp_path, "anynetx_b", _specs(4, 1), [5.0, 80.0, 81.0, 82.0])
    df = load_sweep(tmp_path)
    r = compare_trained(df, "anynetx_a", "anynetx_b", alternative="greater")
    assert (r.trained_a, r.n_a, r.trained_b, r.n_b) == (3, 4, 1, 4)
    assert r.fraction_a == 0.75 and r.statistic == pytest.approx(9.0)  # odds ratio
    assert r.pvalue == pytest.approx(17 / 70)
    assert compare_trained(df, "anynetx_a", "anynetx_b").pvalue == pytest.approx(34 / 70)
    assert compare_trained(df, "anynetx_b", "anynetx_a",
                           alternative="greater").pvalue == pytest.approx(69 / 70)
    # Boschloo's test is uniformly more powerful than Fisher's
    bos = compare_trained(df, "anynetx_a", "anynetx_b", method="boschloo",
                          alternative="greater")
    assert bos.pvalue <= r.pvalue
    bar = compare_trained(df, "anynetx_a", "anynetx_b", method="barnard",
                          alternative="greater")
    assert 0 < bar.pvalue < 0.5
    with pytest.raises(ValueError, match="method: 'chi2' is not allowed"):
        compare_trained(df, "anynetx_a", "anynetx_b", method="chi2")
    with pytest.raises(ValueError, match="design_space: 'regnetx' has no models"):
        compare_trained(df, "anynetx_a", "regnetx")
