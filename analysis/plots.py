"""Paper-style figures (matplotlib, Agg canvas, no pyplot state).

Each public function draws on a given Axes or on a new figure and returns the Figure:
EDFs ([DDS] Fig. 2 left, legend ``name n|min|mean``), normalized EDFs ([NDS]), error against a
parameter with the bootstrap band and median of the best models ([DDS] Figs. 2, 5, 11), widths
against block index with the population's linear trend ([DDS] Fig. 8 top-left), e_fit against
error ([DDS] Fig. 8 bottom) and per-block width staircases (pycls `plot_models`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .edf import edf, normalized_edf
from .fit import block_widths_of
from .stats import bootstrap_best
from .sweep import ok_rows

STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "lines.linewidth": 1.5, "svg.fonttype": "none",
}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
LABELS = {"error": "error", "min_error": "min error", "depth": "depth d", "flops": "flops",
          "params": "params", "acts": "acts", "b": "bottleneck ratio b", "g": "group width g",
          "e_fit": "e_fit", "fit_wm": "w_m (fit)", "fit_w0": "w_0 (fit)", "fit_wa": "w_a (fit)"}


def _label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    if name.startswith("wr") and name[2:].isdigit():
        i = int(name[2:])
        return f"w{i + 1}/w{i}"
    return name


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plot function under the paper style (a temporary rc context, nothing global)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)
    return wrapper


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.2, 3.2)
               ) -> tuple[Figure, np.ndarray]:
    """A Figure on an Agg canvas with a grid of Axes (always a 2-D array)."""
    width, height = size[0] * ncols, size[1] * nrows
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    # fixed margins in inches (cheaper than a layout engine at every save)
    fig.subplots_adjust(left=0.65 / width, right=1 - 0.15 / width, bottom=0.5 / height,
                        top=1 - 0.45 / height, wspace=0.35, hspace=0.55)
    return fig, axes


def _axes(ax: Axes | None, size: tuple[float, float] = (4.2, 3.2)) -> Axes:
    return new_figure(size=size)[1][0, 0] if ax is None else ax


def space_colors(spaces: Sequence[str]) -> dict[str, str]:
    """A fixed colour per design space (sorted names), so every figure agrees."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(spaces))}


def _spaces(df: pd.DataFrame, spaces: Sequence[str] | None, metric: str) -> list[str]:
    ok = ok_rows(df, metric)
    present = sorted(ok["design_space"].unique())
    return [s for s in (spaces or present) if s in present]


def edf_label(name: str, errors: np.ndarray) -> str:
    """pycls legend: ``name n|min|mean`` (the mean is the area above the EDF)."""
    return f"{name} {errors.size}|{errors.min():.1f}|{errors.mean():.1f}"


def _edf_axes(ax: Axes, xlabel: str, title: str | None) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", frameon=False)


@styled
def plot_edfs(df: pd.DataFrame, metric: str = "error", spaces: Sequence[str] | None = None,
              ax: Axes | None = None, title: str | None = None) -> Figure:
    """Error EDFs of several design spaces on one axes ([DDS] Eq. 1, Fig. 2 left)."""
    ax = _axes(ax)
    names = _spaces(df, spaces, metric)
    colors = space_colors(df["design_space"].unique())
    for s in names:
        e = ok_rows(df[df["design_space"] == s], metric)[metric].to_numpy(float)
        x, F = edf(e)
        ax.step(x, F, where="post", color=colors[s], label=edf_label(s, e))
    _edf_axes(ax, _label(metric), title)
    return ax.figure


@styled
def plot_normalized_edfs(df: pd.DataFrame, complexity: str = "flops", bins: int = 10,
                         range: tuple[float, float] | None = None, metric: str = "error",
                         spaces: Sequence[str] | None = None, ax: Axes | None = None,
                         title: str | None = None) -> Figure:
    """Complexity-normalized EDFs ([NDS] §4): every space re-weighted to a uniform `complexity`
    distribution over `bins` bins (fewer when a small space leaves a bin empty; the legend
    gives k). The common range defaults to the overlap of the spaces' complexity ranges."""
    ax = _axes(ax)
    names = _spaces(df, spaces, metric)
    colors = space_colors(df["design_space"].unique())
    groups = {s: ok_rows(df[df["design_space"] == s], metric) for s in names}
    if range is None and names:
        lo = max(float(g[complexity].min()) for g in groups.values())
        hi = min(float(g[complexity].max()) for g in groups.values())
        range = (lo, hi) if lo < hi else None
    for s in names:
        g = groups[s]
        result, k = _fewer_bins_until_full(g[metric], g[complexity], bins, range)
        if result is None:
            continue
        x, F = result
        ax.step(x, F, where="post", color=colors[s],
                label=f"{edf_label(s, np.asarray(x))} k={k}")
    _edf_axes(ax, f"{_label(metric)} | {complexity}", title)
    return ax.figure


def _fewer_bins_until_full(errors, cx, bins: int, range):
    """normalized_edf with `bins` halved until no bin is empty (None if even 1 bin fails)."""
    k = bins
    while k >= 1:
        try:
            return normalized_edf(np.asarray(errors, float), np.asarray(cx, float), k, range), k
        except ValueError:
            k //= 2
    return None, 0


def _use_log(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return v.size > 1 and v.min() > 0 and v.max() / v.min() > 20


@styled
def plot_trend(df: pd.DataFrame, param: str, metric: str = "error", ax: Axes | None = None,
               n_boot: int = 10_000, seed: int = 0, color: str = "#1f77b4",
               title: str | None = None) -> Figure:
    """Error against one parameter, each model a dot, with the 95% bootstrap band (shaded) and
    median (black line) of where the best models lie ([DDS] fn. 4, Figs. 2, 5, 8, 11)."""
    ax = _axes(ax)
    rows = ok_rows(df, metric)
    x = pd.to_numeric(rows[param], errors="coerce").to_numpy(float)
    y = rows[metric].to_numpy(float)
    ax.scatter(x, y, s=6, alpha=0.5, color=color, linewidths=0)
    if np.isfinite(x).any():
        low, med, high = bootstrap_best(rows, param, n=n_boot, seed=seed, error=metric)
        ax.axvspan(low, high, color=color, alpha=0.2, lw=0)
        ax.axvline(med, color="k", lw=1.2)
        if _use_log(x):
            ax.set_xscale("log")
    ax.set_xlabel(_label(param))
    ax.set_ylabel(_label(metric))
    if title:
        ax.set_title(title)
    return ax.figure


@styled
def plot_trends(df: pd.DataFrame, params: Sequence[str], metric: str = "error",
                ncols: int = 4, n_boot: int = 10_000, seed: int = 0,
                title: str | None = None) -> Figure:
    """A grid of `plot_trend` panels, one per parameter, for one population."""
    nrows = -(-len(params) // ncols)
    fig, axes = new_figure(nrows, min(ncols, len(params)), size=(3.0, 2.5))
    for ax, p in zip(axes.ravel(), params, strict=False):
        plot_trend(df, p, metric, ax=ax, n_boot=n_boot, seed=seed)
    for ax in axes.ravel()[len(params):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def best_rows(df: pd.DataFrame, top: int, metric: str = "error") -> pd.DataFrame:
    """The `top` lowest-`metric` ok rows, best first."""
    return ok_rows(df, metric).nsmallest(top, metric)


def population_trend(df: pd.DataFrame, top: int = 20, metric: str = "error"
                     ) -> tuple[float, float]:
    """Least-squares line w_j = a + b·j through the per-block widths of the best `top` models
    ([DDS] Fig. 8 top-left, where the paper finds w_j ≈ 48·(j+1))."""
    pts = [(j, w) for s in best_rows(df, top, metric)["spec"]
           for j, w in enumerate(block_widths_of(s))]
    j, w = np.array(pts, dtype=float).T
    if np.ptp(j) == 0:
        return float(w.mean()), 0.0
    slope, intercept = np.polyfit(j, w, 1)
    return float(intercept), float(slope)


@styled
def plot_block_widths(df: pd.DataFrame, top: int = 20, metric: str = "error",
                      ax: Axes | None = None, title: str | None = None) -> Figure:
    """Per-block widths against block index of the best `top` models (gray) and their linear
    trend (black), log y-axis ([DDS] Fig. 8 top-left)."""
    ax = _axes(ax)
    best = best_rows(df, top, metric)
    depth = 1
    for s in best["spec"]:
        w = block_widths_of(s)
        depth = max(depth, len(w))
        ax.plot(np.arange(len(w)), w, color="0.6", lw=0.8)
    if len(best):
        a, b = population_trend(df, top, metric)
        j = np.arange(depth)
        ax.plot(j, a + b * j, color="k", lw=2, label=f"w_j = {a:.0f} + {b:.1f}·j")
        ax.legend(loc="upper left", frameon=False)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("block index j")
    ax.set_ylabel("width w_j")
    ax.set_title(title or f"best {len(best)} models")
    return ax.figure


@styled
def plot_efit(df: pd.DataFrame, metric: str = "error", spaces: Sequence[str] | None = None,
              n_boot: int = 10_000, seed: int = 0) -> Figure:
    """e_fit against error, one panel per space, with the bootstrap band of the best models'
    e_fit ([DDS] Fig. 8 bottom). Needs the ``e_fit`` column of `fit.fit_models`."""
    names = _spaces(df, spaces, metric)
    colors = space_colors(df["design_space"].unique())
    fig, axes = new_figure(1, max(1, len(names)), size=(3.2, 2.8))
    for ax, s in zip(axes.ravel(), names, strict=False):
        plot_trend(df[df["design_space"] == s], "e_fit", metric, ax=ax, n_boot=n_boot,
                   seed=seed, color=colors[s], title=s)
    return fig


@styled
def plot_staircases(df: pd.DataFrame, top: int = 5, metric: str = "error",
                    ax: Axes | None = None, title: str | None = None) -> Figure:
    """Per-block width staircases ("o-", log2 y) of the best models; with fitted widths
    (``fit_widths`` column) the rule's fit is drawn dashed ([DDS] Fig. 8 top-right)."""
    ax = _axes(ax, size=(5.0, 3.6))
    best = best_rows(df, top, metric)
    for i, (_, row) in enumerate(best.iterrows()):
        color = PALETTE[i % len(PALETTE)]
        w = block_widths_of(row["spec"])
        ax.plot(np.arange(len(w)), w, "o-", ms=3, color=color,
                label=f"{row['design_space']}#{row['index']} {row[metric]:.1f}")
        fit = row.get("fit_widths") if "fit_widths" in row else None
        if fit is not None and not (isinstance(fit, float) and np.isnan(fit)):
            ax.plot(np.arange(len(fit)), fit, "--", color=color, lw=1)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("block index")
    ax.set_ylabel("width")
    ax.set_title(title or f"best {len(best)} models (dashed: quantized linear fit)")
    if len(best):
        ax.legend(loc="upper left", frameon=False, fontsize=7)
    return ax.figure
