"""Paper-style figures (matplotlib, Agg canvas, no pyplot state). Plots only draw: what they
show is computed in `population`, `stats` and `edf`.

Each public function draws on a given Axes or on a new figure and returns the Figure:
EDFs ([DDS] Fig. 2 left, legend ``name n|min|mean``), normalized EDFs ([NDS]), both side by
side for all models and for the trained core (`population.view_frame`), error against a
parameter with the bootstrap band and median of the best models ([DDS] Figs. 2, 5, 11), widths
against block index with the population's linear trend ([DDS] Fig. 8 top-left), e_fit against
error ([DDS] Fig. 8 bottom), per-block width staircases (pycls `plot_models`) and training
curves of the best and worst models.

Every marker of a model links to ``#m<row index>`` (matplotlib's per-point urls): in SVG each
marker is wrapped in ``<a href="#m…">``, which the report turns into a hover title naming the
model, its spec and its error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import fmt
from .edf import edf, normalized_edf
from .fit import block_widths_of
from .population import (
    MIN_BOOTSTRAP_N,
    VIEWS,
    best_interval,
    best_rows,
    view_frame,
    width_trend,
)
from .sweep import ok_rows
from .trainability import chance_error, num_classes_of

STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "lines.linewidth": 1.5, "svg.fonttype": "none", "svg.hashsalt": "dse",
}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
LABELS = {"error": "error", "min_error": "min error", "depth": "depth d", "flops": "flops",
          "params": "params", "acts": "acts", "b": "bottleneck ratio b", "g": "group width g",
          "e_fit": "e_fit", "fit_wm": "w_m (fit)", "fit_w0": "w_0 (fit)", "fit_wa": "w_a (fit)"}
MARKER_SIZE = 16  # points² (scatter `s`): visible at the report's size
COMPLEXITY = tuple(fmt.UNITS)


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


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.2, 3.2),
               sharey: bool | str = False, bottom: float = 0.5) -> tuple[Figure, np.ndarray]:
    """A Figure on an Agg canvas with a grid of Axes (always a 2-D array); `bottom` is the
    margin under the axes in inches (room for a legend below them)."""
    width, height = size[0] * ncols, size[1] * nrows + bottom - 0.5
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    # fixed margins in inches (cheaper than a layout engine at every save)
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=bottom / height,
                        top=1 - 0.45 / height, wspace=0.35, hspace=0.55)
    return fig, axes


def _axes(ax: Axes | None, size: tuple[float, float] = (4.2, 3.2), bottom: float = 0.5
          ) -> Axes:
    return new_figure(size=size, bottom=bottom)[1][0, 0] if ax is None else ax


def space_colors(spaces: Sequence[str]) -> dict[str, str]:
    """A fixed colour per design space (sorted names), so every figure agrees."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(spaces))}


def _spaces(df: pd.DataFrame, spaces: Sequence[str] | None, metric: str) -> list[str]:
    ok = ok_rows(df, metric)
    present = sorted(ok["design_space"].unique())
    return [s for s in (spaces or present) if s in present]


def links(index: Sequence[Any]) -> list[str]:
    """The per-marker urls of rows with these index labels (see the module docstring)."""
    return [f"#m{i}" for i in index]


def edf_label(name: str, errors: np.ndarray) -> str:
    """pycls legend: ``name n|min|mean`` (the mean is the area above the EDF)."""
    return f"{name} {errors.size}|{errors.min():.1f}|{errors.mean():.1f}"


def _tick(v: float, name: str) -> str:
    """A tick label: complexity as ``5.8 MF``; powers of two below 1 as ``1/8``; other numbers
    plainly, separators from 10,000."""
    if name in COMPLEXITY:
        return fmt.complexity(v, name)
    if 0 < v < 1 and float(np.log2(1 / v)).is_integer():
        return f"1/{round(1 / v)}"
    return fmt.number(v, 3) if abs(v) >= 1e4 else fmt.number(v, 3).replace(",", "")


def format_axis(ax: Axes, which: str, name: str, log: bool = False, integer: bool = False
                ) -> None:
    """Readable ticks: complexity as ``5.8 MF``, other numbers plainly (no ``1e6`` offset
    text, no exponents). Log axes: base 2 with at most 6 labelled ticks, or for complexity
    base 10 at 1-2-5 where only the powers of ten are labelled once the axis spans more than
    1.2 decades; minor ticks are never labelled. So labels never pile up. `integer`: ticks
    only at integers (depths, widths, b, g)."""
    axis = ax.xaxis if which == "x" else ax.yaxis

    def label(v: float, _pos: int | None = None) -> str:
        if log and name in COMPLEXITY and v > 0:
            lo, hi = sorted(axis.get_view_interval())
            mantissa = v / 10 ** np.floor(np.log10(v) + 1e-9)
            if lo > 0 and np.log10(hi / lo) > 1.2 and not np.isclose(mantissa, 1):
                return ""
        return _tick(v, name)

    if log:
        if name in COMPLEXITY:
            axis.set_major_locator(ticker.LogLocator(10, subs=(1.0, 2.0, 5.0), numticks=12))
        else:
            axis.set_major_locator(ticker.LogLocator(2, numticks=5))
        axis.set_minor_locator(ticker.NullLocator())
    else:
        axis.set_major_locator(ticker.MaxNLocator(nbins=4 if name in COMPLEXITY else 5,
                                                  integer=integer))
    axis.set_major_formatter(ticker.FuncFormatter(label))
    axis.set_minor_formatter(ticker.NullFormatter())


def legend_margin(n_entries: int, ncol: int = 1) -> float:
    """Inches under an axes that a legend of `n_entries` below it needs (see `legend_below`)."""
    return 0.75 + 0.17 * -(-n_entries // ncol)


def legend_below(ax: Axes, ncol: int = 1, fontsize: float | None = None) -> None:
    """A legend under the axes (below the x label), never over the data; make room with
    ``new_figure(bottom=legend_margin(...))``."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False,
                  fontsize=fontsize, borderaxespad=0)


def _edf_axes(ax: Axes, xlabel: str, title: str | None) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    legend_below(ax)


def _draw_edf(ax: Axes, x: np.ndarray, F: np.ndarray, color: str, label: str,
              index: Sequence[Any] | None) -> None:
    """One EDF: a step from 0 (so one model is a visible rise, not an empty plot) and a marker
    per model at its step, linked to its row."""
    ax.step(np.concatenate([x[:1], x]), np.concatenate([[0.0], F]), where="post",
            color=color, label=label)
    dots = ax.scatter(x, F, s=MARKER_SIZE * 0.6, color=color, linewidths=0, zorder=3)
    if index is not None:
        dots.set_urls(links(index))


@styled
def plot_edfs(df: pd.DataFrame, metric: str = "error", spaces: Sequence[str] | None = None,
              ax: Axes | None = None, title: str | None = None) -> Figure:
    """Error EDFs of several design spaces on one axes ([DDS] Eq. 1, Fig. 2 left); the legend
    (``name n|min|mean``) sits under the axes."""
    names = _spaces(df, spaces, metric)
    ax = _axes(ax, bottom=legend_margin(len(names)))
    _edfs_on(ax, df, names, metric, space_colors(df["design_space"].unique()), title)
    return ax.figure


def _edfs_on(ax: Axes, df: pd.DataFrame, names: Sequence[str], metric: str,
             colors: dict[str, str], title: str | None) -> None:
    for s in names:
        rows = ok_rows(df[df["design_space"] == s], metric)
        e = rows[metric].to_numpy(float)
        x, F = edf(e)
        order = np.argsort(e, kind="stable")  # edf's order: its x is e[order]
        _draw_edf(ax, x, F, colors[s], edf_label(s, e), rows.index[order])
    _edf_axes(ax, _label(metric), title)
    format_axis(ax, "x", metric)


@styled
def plot_normalized_edfs(df: pd.DataFrame, complexity: str = "flops", bins: int = 10,
                         range: tuple[float, float] | None = None, metric: str = "error",
                         spaces: Sequence[str] | None = None, ax: Axes | None = None,
                         title: str | None = None, colors: dict[str, str] | None = None
                         ) -> Figure:
    """Complexity-normalized EDFs ([NDS] §4): every space re-weighted to a uniform `complexity`
    distribution over `bins` bins (fewer when a small space leaves a bin empty; the legend
    gives k). The common range defaults to the overlap of the spaces' complexity ranges.
    `colors`: a colour per space (default `space_colors` of the spaces in `df`)."""
    names = _spaces(df, spaces, metric)
    ax = _axes(ax, bottom=legend_margin(len(names)))
    colors = colors or space_colors(df["design_space"].unique())
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
        _draw_edf(ax, np.asarray(x), np.asarray(F), colors[s],
                  f"{edf_label(s, np.asarray(x))} k={k}", None)
    _edf_axes(ax, f"{_label(metric)} | {complexity}", title)
    format_axis(ax, "x", metric)
    return ax.figure


def view_title(df: pd.DataFrame, view: str, metric: str = "error",
               num_classes: int | None = None) -> str:
    """A panel title naming the view and its rule: ``all models (not finished: 100%)``,
    ``trained core (error < 45%)``, ``finished models``."""
    if view == "trained":
        threshold = chance_error(num_classes_of(df, num_classes)) / 2
        return f"{VIEWS[view]} ({_label(metric)} < {threshold:g}%)"
    if view == "all":
        return f"{VIEWS[view]} (not finished: 100%)"
    return VIEWS[view]


def _view_names(frames: dict[str, pd.DataFrame], spaces: Sequence[str] | None, metric: str
                ) -> dict[str, list[str]]:
    return {v: _spaces(f, spaces, metric) for v, f in frames.items()}


@styled
def plot_view_edfs(df: pd.DataFrame, metric: str = "error", spaces: Sequence[str] | None = None,
                   views: Sequence[str] = ("all", "trained"), num_classes: int | None = None
                   ) -> Figure:
    """`plot_edfs` once per view, side by side (`population.view_frame`): by default all
    models (a model that did not finish at 100 %) and the trained core (error below half of
    chance). Spaces keep their colours across panels; a space with no model in a view is left
    out of that panel."""
    frames = {v: view_frame(df, v, metric, num_classes) for v in views}
    names = _view_names(frames, spaces, metric)
    fig, axes = new_figure(1, len(views), bottom=legend_margin(max(map(len, names.values()),
                                                                   default=1)))
    colors = space_colors(df["design_space"].unique())
    for ax, v in zip(axes.ravel(), views, strict=True):
        _edfs_on(ax, frames[v], names[v], metric, colors, view_title(df, v, metric,
                                                                     num_classes))
    return fig


@styled
def plot_view_normalized_edfs(df: pd.DataFrame, complexity: Sequence[str] = COMPLEXITY,
                              bins: int = 10, metric: str = "error",
                              spaces: Sequence[str] | None = None,
                              views: Sequence[str] = ("all", "trained"),
                              num_classes: int | None = None) -> Figure:
    """`plot_normalized_edfs`, one row per view and one column per complexity measure, each
    view on its spaces' common complexity range."""
    frames = {v: view_frame(df, v, metric, num_classes) for v in views}
    names = _view_names(frames, spaces, metric)
    margin = legend_margin(max(map(len, names.values()), default=1))
    gap = margin + 0.35  # inches between rows: a row's legend, then the next row's title
    fig, axes = new_figure(len(views), len(complexity), size=(4.2, 2.3 + gap), bottom=margin)
    if len(views) > 1:
        params = fig.subplotpars
        region = fig.get_figheight() * (params.top - params.bottom)
        height = (region - gap * (len(views) - 1)) / len(views)
        fig.subplots_adjust(hspace=gap / height)
    colors = space_colors(df["design_space"].unique())
    for row, v in zip(axes, views, strict=True):
        title = view_title(df, v, metric, num_classes)
        for ax, c in zip(row, complexity, strict=True):
            if names[v]:
                plot_normalized_edfs(frames[v], c, bins, metric=metric, spaces=names[v], ax=ax,
                                     title=title, colors=colors)
            else:
                _edf_axes(ax, f"{_label(metric)} | {c}", title)
                ax.text(0.5, 0.5, "no model", transform=ax.transAxes, ha="center",
                        color="0.4")
    return fig


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
               title: str | None = None, ylim: tuple[float, float] | None = None) -> Figure:
    """Error against one parameter, each model a dot, with the 95% bootstrap band (shaded) and
    median (black line) of where the best models lie ([DDS] fn. 4, Figs. 2, 5, 8, 11). With
    fewer than `population.MIN_BOOTSTRAP_N` models the band is not drawn and the panel says
    so. `ylim` fixes the y-range (to share it across panels and spaces)."""
    ax = _axes(ax)
    rows = ok_rows(df, metric)
    x = pd.to_numeric(rows[param], errors="coerce").to_numpy(float)
    finite = np.isfinite(x)
    y = rows[metric].to_numpy(float)
    dots = ax.scatter(x[finite], y[finite], s=MARKER_SIZE, alpha=0.7, color=color,
                      edgecolors="white", linewidths=0.3, zorder=3)
    dots.set_urls(links(rows.index[finite]))
    log = _use_log(x)
    if finite.any():
        interval = best_interval(rows, param, metric, n_boot=n_boot, seed=seed)
        if interval is None:
            ax.text(0.98, 0.97, f"n < {MIN_BOOTSTRAP_N}: no bootstrap", transform=ax.transAxes,
                    ha="right", va="top", fontsize=7, color="0.4")
        else:
            low, med, high = interval
            ax.axvspan(low, high, color=color, alpha=0.2, lw=0)
            ax.axvline(med, color="k", lw=1.2)
        if log:
            ax.set_xscale("log")
    integral = bool(finite.any()) and bool(np.all(np.mod(x[finite], 1) == 0))
    format_axis(ax, "x", param, log, integer=integral)
    format_axis(ax, "y", metric)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(_label(param))
    ax.set_ylabel(_label(metric))
    if title:
        ax.set_title(title)
    return ax.figure


def metric_limits(df: pd.DataFrame, metric: str = "error", column: str | None = None,
                  pad: float = 0.05) -> tuple[float, float] | None:
    """A common axis range for `column` (default `metric`) over the ok rows of `df`, padded by
    `pad` of its span: pass it as ``ylim`` so that panels of different spaces compare."""
    v = pd.to_numeric(ok_rows(df, metric)[column or metric], errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - pad * span, hi + pad * span


@styled
def plot_trends(df: pd.DataFrame, params: Sequence[str], metric: str = "error",
                ncols: int = 4, n_boot: int = 10_000, seed: int = 0,
                title: str | None = None, ylim: tuple[float, float] | None = None,
                color: str = "#1f77b4") -> Figure:
    """A grid of `plot_trend` panels, one per parameter, for one population; every panel has
    the same y-range (`ylim`, default the population's)."""
    nrows = -(-len(params) // ncols)
    fig, axes = new_figure(nrows, min(ncols, len(params)), size=(3.0, 2.5))
    ylim = ylim or metric_limits(df, metric)
    for ax, p in zip(axes.ravel(), params, strict=False):
        plot_trend(df, p, metric, ax=ax, n_boot=n_boot, seed=seed, ylim=ylim, color=color)
    for ax in axes.ravel()[len(params):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


@styled
def plot_block_widths(df: pd.DataFrame, top: int = 20, metric: str = "error",
                      ax: Axes | None = None, title: str | None = None) -> Figure:
    """Per-block widths against block index of the best `top` models (gray) and their trend
    w_j = c·(j+1) (black, `population.width_trend`), log y-axis ([DDS] Fig. 8 top-left). The
    title gives the real count."""
    ax = _axes(ax, bottom=legend_margin(1))
    best = best_rows(df, top, metric)
    depth = 1
    for i, s in zip(best.index, best["spec"], strict=True):
        w = block_widths_of(s)
        depth = max(depth, len(w))
        line, = ax.plot(np.arange(len(w)), w, color="0.6", lw=0.8)
        line.set_url(f"#m{i}")
    if len(best):
        trend = width_trend(df, top, metric)
        ax.plot(np.arange(depth), np.maximum(trend.line(depth), 1), color="k", lw=2,
                label=f"trend w_j = {trend.slope:.1f}·(j+1)")
        legend_below(ax)
    ax.set_yscale("log", base=2)
    format_axis(ax, "y", "width", log=True)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("block index j")
    ax.set_ylabel("width w_j")
    ax.set_title(title or f"best {len(best)} models")
    return ax.figure


@styled
def plot_efit(df: pd.DataFrame, metric: str = "error", spaces: Sequence[str] | None = None,
              n_boot: int = 10_000, seed: int = 0) -> Figure:
    """e_fit against error, one panel per space on one shared y-range, with the bootstrap band
    of the best models' e_fit ([DDS] Fig. 8 bottom). Needs the ``e_fit`` column of
    `population.with_fits` / `fit.fit_models`."""
    names = _spaces(df, spaces, metric)
    colors = space_colors(df["design_space"].unique())
    fig, axes = new_figure(1, max(1, len(names)), size=(3.2, 2.8))
    ylim = metric_limits(df[df["design_space"].isin(names)], metric)
    for ax, s in zip(axes.ravel(), names, strict=False):
        plot_trend(df[df["design_space"] == s], "e_fit", metric, ax=ax, n_boot=n_boot,
                   seed=seed, color=colors[s], title=s, ylim=ylim)
    return fig


@styled
def plot_staircases(df: pd.DataFrame, top: int = 5, metric: str = "error",
                    ax: Axes | None = None, title: str | None = None) -> Figure:
    """Per-block width staircases ("o-", log2 y) of the best models; with fitted widths
    (``fit_widths`` column) the rule's fit is drawn dashed ([DDS] Fig. 8 top-right). The
    legend sits under the axes."""
    ax = _axes(ax, size=(5.0, 3.6), bottom=legend_margin(min(top, 10), 2))
    best = best_rows(df, top, metric)
    for k, (i, row) in enumerate(best.iterrows()):
        color = PALETTE[k % len(PALETTE)]
        w = block_widths_of(row["spec"])
        name = row["design_space"] if pd.isna(row.get("index")) else \
            f"{row['design_space']}#{row['index']}"
        line, = ax.plot(np.arange(len(w)), w, "o-", ms=3, color=color,
                        label=f"{name} {row[metric]:.1f}")
        line.set_url(f"#m{i}")
        fit = row.get("fit_widths") if "fit_widths" in row else None
        if isinstance(fit, (list, tuple, np.ndarray)) and len(fit):
            ax.plot(np.arange(len(fit)), fit, "--", color=color, lw=1)
    ax.set_yscale("log", base=2)
    format_axis(ax, "y", "width", log=True)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("block index")
    ax.set_ylabel("width")
    ax.set_title(title or f"best {len(best)} models (dashed: quantized linear fit)")
    if len(best):
        legend_below(ax, ncol=2, fontsize=7)
    return ax.figure


@styled
def plot_histories(df: pd.DataFrame, history: pd.DataFrame, metric: str = "error",
                   spaces: Sequence[str] | None = None) -> Figure:
    """Training curves of the models in `df` (e.g. `population.extremes`: a ``rank`` column
    ``best``/``worst``): per space, test error (solid) and train error (dotted) per epoch on
    top, train loss below; best models blue, worst red; every panel of a row on one y-range.
    `history` is `population.histories` of those rows."""
    names = [s for s in (spaces or sorted(df["design_space"].unique()))
             if s in set(df["design_space"])]
    fig, axes = new_figure(2, max(1, len(names)), size=(3.2, 2.4), sharey="row", bottom=0.9)
    tone = {"best": "#1f77b4", "worst": "#d62728"}
    curves = dict(tuple(history.groupby("model"))) if len(history) else {}
    for col, s in enumerate(names):
        top, bottom = axes[0, col], axes[1, col]
        for i, row in df[df["design_space"] == s].iterrows():
            h = curves.get(i)
            if h is None:
                continue
            color = tone.get(str(row.get("rank")), "0.5")
            for ax, field, style in ((top, "test_error", "-"), (top, "train_error", ":"),
                                     (bottom, "train_loss", "-")):
                line, = ax.plot(h["epoch"], h[field], style, color=color, lw=1.2, alpha=0.8)
                line.set_url(f"#m{i}")
        top.set_title(s)
        top.set_ylabel("error")
        bottom.set_ylabel("train loss")
        bottom.set_xlabel("epoch")
        for ax in (top, bottom):
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, nbins=5))
            format_axis(ax, "y", "error")
    handles = [Line2D([], [], color=tone["best"], label="best"),
               Line2D([], [], color=tone["worst"], label="worst"),
               Line2D([], [], color="0.3", label="test error"),
               Line2D([], [], color="0.3", ls=":", label="train error")]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False)
    return fig

