"""Runtime predictors ([DDS] Fig. 12 top, §5.3): how well flops, params, acts and their
combinations predict the measured runtime of a population of networks on one device.

Each predictor is a linear model runtime ≈ c0 + Σ c_k·x_k fitted by least squares with
non-negative slopes (``sklearn.linear_model.LinearRegression(positive=True)``, which calls
``scipy.optimize.nnls``): runtime cannot fall when a count grows, and the constraint keeps a
fitted profile sane outside its data. Features are scaled to GF (flops) and millions (params,
acts). Quality is the k-fold cross-validated R² (out-of-fold predictions of shuffled folds,
pooled, then ``sklearn.metrics.r2_score``); `r2_difference` gives a paired bootstrap interval
for the gap between two predictors on the same models. Torch-free. Device profiles built from
these fits are written by ``dse-speed runtime fit`` (format: `sampling.latency`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import PALETTE, new_figure, styled

FEATURES = ("flops", "params", "acts")
SCALE = {"flops": 1e9, "params": 1e6, "acts": 1e6}
UNIT = {"flops": "GF", "params": "M params", "acts": "M acts"}
FEATURE_SETS: tuple[tuple[str, ...], ...] = (
    ("flops",), ("params",), ("acts",), ("flops", "params"), ("flops", "acts"),
    ("params", "acts"), ("flops", "params", "acts"))


@dataclass(frozen=True)
class RuntimeFit:
    """A fitted predictor of `target` (a runtime column, ms) from `features`."""

    target: str
    features: tuple[str, ...]
    coef: tuple[float, ...]  # target units per SCALE[feature]
    intercept: float
    r2: float  # in-sample
    cv_r2: float  # k-fold, pooled out-of-fold
    folds: int
    n: int
    scale: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, list[float]] = field(default_factory=dict)  # raw [min, max] per feature

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = _design(frame, self.features)
        return self.intercept + x @ np.asarray(self.coef)

    @property
    def label(self) -> str:
        return "+".join(self.features)


def _design(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    return np.column_stack([frame[f].to_numpy(dtype=float) / SCALE[f] for f in features])


def _check(frame: pd.DataFrame, target: str, features: Sequence[str], folds: int) -> None:
    if target not in frame.columns:
        raise ValueError(f"target: {target!r} is not a column; runtime columns are "
                         f"{[c for c in frame.columns if c.endswith('_ms')]}")
    bad = [f for f in features if f not in FEATURES]
    if not features or bad or len(set(features)) != len(features):
        raise ValueError(f"features: {list(features)} is not allowed; use distinct names "
                         f"from {list(FEATURES)}")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"features: {missing} are not columns of the frame")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds: {folds!r} is not allowed; use an integer >= 2")
    if len(frame) < 2 * folds:
        raise ValueError(f"frame: {len(frame)} models are too few for {folds}-fold "
                         f"cross-validation; measure at least {2 * folds}")


def _usable(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    y = pd.to_numeric(frame[target], errors="coerce")
    return frame[np.isfinite(y.to_numpy(dtype=float))]


def oof_predictions(frame: pd.DataFrame, target: str, features: Sequence[str],
                    folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of `target` (shuffled `folds`-fold split, `seed`)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_predict

    _check(frame, target, features, folds)
    x, y = _design(frame, features), frame[target].to_numpy(dtype=float)
    cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(LinearRegression(positive=True), x, y, cv=cv)


def fit_runtime(frame: pd.DataFrame, target: str, features: Sequence[str], folds: int = 5,
                seed: int = 0) -> RuntimeFit:
    """Fit `target` ~ `features` on every usable row; R² in sample and cross-validated."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    features = tuple(features)
    _check(frame, target, features, folds)
    frame = _usable(frame, target)
    _check(frame, target, features, folds)
    x, y = _design(frame, features), frame[target].to_numpy(dtype=float)
    model = LinearRegression(positive=True).fit(x, y)
    oof = oof_predictions(frame, target, features, folds, seed)
    return RuntimeFit(
        target=target, features=features, coef=tuple(float(c) for c in model.coef_),
        intercept=float(model.intercept_), r2=float(r2_score(y, model.predict(x))),
        cv_r2=float(r2_score(y, oof)), folds=folds, n=len(y),
        scale={f: SCALE[f] for f in features},
        ranges={f: [float(frame[f].min()), float(frame[f].max())] for f in features})


def predictor_table(frame: pd.DataFrame, targets: Sequence[str],
                    feature_sets: Sequence[Sequence[str]] = FEATURE_SETS, folds: int = 5,
                    seed: int = 0) -> pd.DataFrame:
    """One row per (runtime, feature set): CV R², in-sample R², coefficients, n."""
    rows = []
    for t in targets:
        for fs in feature_sets:
            f = fit_runtime(frame, t, fs, folds, seed)
            rows.append({"runtime": t, "features": f.label, "cv_r2": f.cv_r2, "r2": f.r2,
                         "intercept_ms": f.intercept, "n": f.n, "folds": folds,
                         **{f"ms_per_{UNIT[k].replace(' ', '_')}": c
                            for k, c in zip(f.features, f.coef, strict=True)}})
    return pd.DataFrame(rows)


def best_fit(frame: pd.DataFrame, target: str,
             feature_sets: Sequence[Sequence[str]] = FEATURE_SETS, folds: int = 5,
             seed: int = 0) -> RuntimeFit:
    """The feature set with the highest CV R² (ties: the fewer features, listed first)."""
    fits = [fit_runtime(frame, target, fs, folds, seed) for fs in feature_sets]
    return max(fits, key=lambda f: (round(f.cv_r2, 12), -len(f.features)))


@dataclass(frozen=True)
class R2Difference:
    """CV R² of predictor a minus predictor b on the same models, paired bootstrap interval."""

    target: str
    a: str
    b: str
    r2_a: float
    r2_b: float
    diff: float
    low: float
    high: float
    n: int


def r2_difference(frame: pd.DataFrame, target: str, a: Sequence[str] = ("acts",),
                  b: Sequence[str] = ("flops",), folds: int = 5, seed: int = 0,
                  n_boot: int = 5000, confidence: float = 0.95) -> R2Difference:
    """CV R²(a) − CV R²(b) and a percentile interval from resampling models (with their
    out-of-fold predictions of both predictors) with replacement."""
    from sklearn.metrics import r2_score

    frame = _usable(frame, target)
    y = frame[target].to_numpy(dtype=float)
    pa = oof_predictions(frame, target, a, folds, seed)
    pb = oof_predictions(frame, target, b, folds, seed)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    ys = y[idx]
    ss_tot = ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    # R² of each resample, vectorized (the r2_score formula, 1 - SS_res / SS_tot)
    diffs = (((ys - pb[idx]) ** 2).sum(axis=1) - ((ys - pa[idx]) ** 2).sum(axis=1)) / ss_tot
    lo, hi = np.percentile(diffs, [50 * (1 - confidence), 50 * (1 + confidence)])
    ra, rb = float(r2_score(y, pa)), float(r2_score(y, pb))
    return R2Difference(target, "+".join(a), "+".join(b), ra, rb, ra - rb, float(lo),
                        float(hi), len(y))


@styled
def plot_runtime(frame: pd.DataFrame, targets: Sequence[str],
                 labels: Sequence[str] | None = None, folds: int = 5, seed: int = 0,
                 hue: str | None = None) -> Figure:
    """[DDS] Fig. 12 (top) in the paper's style: one row per runtime, runtime against flops,
    params and acts with the one-feature fit; each panel names its CV R² and Pearson r.
    `hue` (a column, e.g. the sampling window) colours the points."""
    labels = list(labels or targets)
    fig, axes = new_figure(len(targets), len(FEATURES), size=(3.2, 2.8))
    groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=True))
    for i, (t, lab) in enumerate(zip(targets, labels, strict=True)):
        data = _usable(frame, t)
        for j, feat in enumerate(FEATURES):
            ax = axes[i, j]
            for k, (g, part) in enumerate(groups):
                part = _usable(part, t)
                ax.scatter(part[feat] / SCALE[feat], part[t], s=9, alpha=0.75,
                           color=PALETTE[k % len(PALETTE)], label=None if g is None else str(g),
                           linewidths=0)
            fit = fit_runtime(data, t, (feat,), folds, seed)
            xs = np.linspace(0, data[feat].max() / SCALE[feat], 50)
            ax.plot(xs, fit.intercept + fit.coef[0] * xs, color="k", lw=1)
            r = np.corrcoef(data[feat], data[t])[0, 1]
            ax.set_title(f"r={r:.3f}  CV R²={fit.cv_r2:.3f}")
            ax.set_xlabel(UNIT[feat] if feat != "flops" else "flops (GF)")
            if j == 0:
                ax.set_ylabel(f"{lab} (ms)")
            ax.set_xlim(left=0)
            ax.set_ylim(bottom=0)
    if hue is not None:
        axes[0, 0].legend(title=hue, loc="upper left", frameon=False, markerscale=1.5)
    fig.subplots_adjust(wspace=0.3, hspace=0.45, top=0.9)
    return fig
