"""The one width-trend estimator (analysis.population.width_trend, [DDS] Fig. 8 top left):
w_j = c·(j+1) by least squares through the origin over the best models' blocks; known answers
and the committed study's width line (results/width_line.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import WidthTrend, plot_block_widths, width_trend
from anynet import AnyNetSpec

ROOT = Path(__file__).resolve().parents[1]


def _frame(widths: list[list[int]], errors: list[float]) -> pd.DataFrame:
    """One stage per block, so a spec's block widths are exactly `widths`."""
    specs = [AnyNetSpec(depths=[1] * len(w), widths=w, bottleneck_ratios=[1] * len(w),
                        group_widths=[8] * len(w), strides=[2] * len(w)).to_dict()
             for w in widths]
    return pd.DataFrame({"design_space": "s", "status": "ok", "error": errors, "spec": specs})


def test_widths_on_the_line_give_its_slope():
    df = _frame([[48, 96, 144], [48, 96, 144, 192], [48, 96]], [30.0, 31.0, 32.0])
    t = width_trend(df)
    assert t == WidthTrend(slope=48.0, models=3, median_depth=3.0)
    assert t.line(4).tolist() == [48.0, 96.0, 144.0, 192.0]


def test_least_squares_through_the_origin_of_the_best_models():
    df = _frame([[16, 40, 64], [24, 32, 64, 96], [8, 8]], [31.0, 30.0, 99.0])
    df.loc[2, "status"] = "failed"  # only ok models count
    j = np.array([1, 2, 3, 1, 2, 3, 4], float)
    w = np.array([16, 40, 64, 24, 32, 64, 96], float)
    assert width_trend(df).slope == pytest.approx((j @ w) / (j @ j))
    best = width_trend(df, top=1)  # the lowest error: the four-block model
    assert best.models == 1 and best.median_depth == 4
    assert best.slope == pytest.approx((j[3:] @ w[3:]) / (j[3:] @ j[3:]))
    with pytest.raises(ValueError, match="^width_trend: no ok model"):
        width_trend(df[df.status == "failed"])


def test_the_plot_draws_the_same_line():
    df = _frame([[16, 40, 64], [24, 32, 64, 96]], [31.0, 30.0])
    t = width_trend(df)
    ax = plot_block_widths(df).axes[0]
    line = [x for x in ax.get_lines() if x.get_label().startswith("trend")][0]
    assert line.get_label() == f"trend w_j = {t.slope:.1f}·(j+1)"
    assert np.allclose(line.get_ydata(), t.line(4))


def test_the_committed_width_line_is_this_estimator():
    """results/width_line.csv (the 20 best AnyNetX_E models of results/study.csv) is
    width_trend of that study, to its four printed digits."""
    study = pd.read_csv(ROOT / "results" / "study.csv")
    e = study[(study.design_space == "anynetx_e")].copy()
    e["spec"] = [{"depths": [int(r[f"d{i}"]) for i in range(1, 5)],
                  "widths": [int(r[f"w{i}"]) for i in range(1, 5)],
                  "bottleneck_ratios": [float(r[f"b{i}"]) for i in range(1, 5)],
                  "group_widths": [int(r[f"g{i}"]) for i in range(1, 5)]}
                 for _, r in e.iterrows()]
    line = pd.read_csv(ROOT / "results" / "width_line.csv").iloc[0]
    t = width_trend(e, int(line.top))
    assert f"{t.slope:.4g}" == f"{line.slope:.4g}" and t.median_depth == line.median_depth
