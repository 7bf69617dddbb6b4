"""analysis.runtime: runtime predictors recover known coefficients, cross-validated R², the
paired R² difference, the Fig. 12 figure and one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.runtime import (
    FEATURE_SETS,
    best_fit,
    fit_runtime,
    plot_runtime,
    predictor_table,
    r2_difference,
)


def synthetic(n: int = 120, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """RegNet-like counts (acts ~ sqrt(flops), params loosely tied to flops) and a runtime
    t = 1.5 ms + 4 ms/GF + 0.8 ms/M acts (+ Gaussian noise)."""
    rng = np.random.default_rng(seed)
    flops = rng.uniform(0.2e9, 4e9, n)
    acts = 3e6 * np.sqrt(flops / 1e9) * rng.uniform(0.6, 1.6, n)
    params = flops / 1e9 * 5e6 * rng.uniform(0.4, 2.0, n)
    t = 1.5 + 4.0 * flops / 1e9 + 0.8 * acts / 1e6 + noise * rng.standard_normal(n)
    window = np.where(flops < 1e9, "low", "high")
    return pd.DataFrame({"flops": flops, "params": params, "acts": acts, "t_ms": t,
                         "window": window})


def test_fit_recovers_known_coefficients():
    f = fit_runtime(synthetic(), "t_ms", ["flops", "acts"])
    assert f.coef == pytest.approx((4.0, 0.8), rel=1e-9)
    assert f.intercept == pytest.approx(1.5, abs=1e-8)
    assert f.r2 == pytest.approx(1.0) and f.cv_r2 == pytest.approx(1.0)
    assert (f.n, f.folds, f.label) == (120, 5, "flops+acts")
    assert f.scale == {"flops": 1e9, "acts": 1e6}
    frame = synthetic()
    np.testing.assert_allclose(f.predict(frame), frame["t_ms"], rtol=1e-9)
    assert f.ranges["flops"] == [frame.flops.min(), frame.flops.max()]


def test_cross_validated_r2_ranks_predictors():
    frame = synthetic(noise=0.3)
    table = predictor_table(frame, ["t_ms"])
    assert len(table) == len(FEATURE_SETS)
    r2 = dict(zip(table["features"], table["cv_r2"], strict=True))
    assert r2["flops+acts"] > 0.99
    assert r2["flops+acts"] > r2["flops"] > r2["params"]
    assert (table["cv_r2"] <= table["r2"] + 1e-9).all()  # out-of-fold never beats in-sample
    best = best_fit(frame, "t_ms")
    assert best.cv_r2 == pytest.approx(table["cv_r2"].max())
    assert set(best.features) >= {"flops", "acts"}


def test_slopes_are_non_negative():
    """A runtime that falls with params (a confounded sample) gets slope 0, not a negative."""
    frame = synthetic()
    frame["t_ms"] = 5.0 + 3.0 * frame.flops / 1e9 - 0.2 * frame.params / 1e6
    f = fit_runtime(frame, "t_ms", ["flops", "params"])
    assert min(f.coef) >= 0.0 and f.coef[1] == 0.0


def test_r2_difference_interval():
    frame = synthetic(noise=0.2)
    frame["acts_only_ms"] = 2.0 + 1.1 * frame.acts / 1e6 + 0.2 * np.random.default_rng(1) \
        .standard_normal(len(frame))
    d = r2_difference(frame, "acts_only_ms", n_boot=500)
    assert (d.a, d.b, d.n) == ("acts", "flops", 120)
    assert d.diff == pytest.approx(d.r2_a - d.r2_b) and d.low <= d.diff <= d.high
    assert d.low > 0  # acts predict it better, and the interval says so


def test_plot_runtime_figure():
    frame = synthetic(noise=0.3)
    frame["u_ms"] = 2 * frame["t_ms"]
    fig = plot_runtime(frame, ["t_ms", "u_ms"], ["runtime t", "runtime u"], hue="window")
    axes = fig.get_axes()
    assert len(axes) == 6
    assert all("CV R²" in ax.get_title() for ax in axes)
    assert axes[0].get_ylabel() == "runtime t (ms)" and axes[2].get_xlabel() == "M acts"


@pytest.mark.parametrize("kw, message", [
    (dict(target="nope_ms", features=["flops"]), "^target: 'nope_ms' is not a column"),
    (dict(target="t_ms", features=["macs"]), r"^features: \['macs'\] is not allowed"),
    (dict(target="t_ms", features=[]), r"^features: \[\] is not allowed"),
    (dict(target="t_ms", features=["flops"], folds=1), "^folds: 1 is not allowed"),
])
def test_bad_input_one_line(kw, message):
    with pytest.raises(ValueError, match=message):
        fit_runtime(synthetic(), **kw)


def test_too_few_models():
    with pytest.raises(ValueError, match="^frame: 6 models are too few for 5-fold"):
        fit_runtime(synthetic(6), "t_ms", ["flops"])
