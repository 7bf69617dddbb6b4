"""A self-contained HTML report of a sweep (inline SVG, no network), after pycls
`sweep_analyze` (PAPER.md §5, "analysis.html sections"), plus PNG figures and CSV tables.

Sections: population (models per space, by status), comparison table, EDFs, normalized EDFs,
parameter trends, e_fit and the widths of the best models, and the best models' specs.
"""

from __future__ import annotations

import datetime as _dt
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .fit import fit_models
from .stats import comparison_table, space_summary
from .sweep import ok_rows

TREND_PARAMS = ("depth", "d1", "d2", "d3", "d4", "w1", "w2", "w3", "w4", "wr1", "wr2", "wr3",
                "b", "g", "flops", "params", "acts")
CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{padding:3px 8px;
border-bottom:1px solid #ddd;text-align:right}th{background:#f4f4f4}
figure{margin:1em 0}svg{max-width:100%;height:auto}.note{color:#666;font-size:13px}
nav a{margin-right:1em}"""


@dataclass(frozen=True)
class ReportSettings:
    """What the report computes; defaults follow the paper."""

    metric: str = "error"
    bins: int = 10  # normalized-EDF bins (fewer where a small space leaves one empty)
    complexity: tuple[str, ...] = ("flops", "params", "acts")
    params: tuple[str, ...] = TREND_PARAMS
    top: int = 20  # models in the width plots ([DDS] Fig. 8 uses the best 20)
    best: int = 10  # rows of the best-models table
    min_models: int = 5  # fewer ok models: the space gets no trend panels
    n_boot: int = 10_000
    seed: int = 0
    fit: bool = True


@dataclass
class _Doc:
    """Sections of the HTML page and the files written beside it."""

    out: Path
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, html)
    files: list[Path] = field(default_factory=list)

    def add(self, key: str, title: str, body: str) -> None:
        self.sections.append((key, title, body))

    def figure(self, fig: Figure, name: str, caption: str) -> str:
        png = self.out / "figures" / f"{name}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        with matplotlib.rc_context(plots.STYLE):
            fig.savefig(png, dpi=120)
            fig.savefig(buf, format="svg")
        self.files.append(png)
        svg = buf.getvalue()
        svg = svg[svg.index("<svg"):]
        return f"<figure>{svg}<figcaption class='note'>{html.escape(caption)}</figcaption>" \
               "</figure>"

    def table(self, df: pd.DataFrame, name: str | None = None) -> str:
        if name:
            path = self.out / f"{name}.csv"
            df.to_csv(path, index=False)
            self.files.append(path)
        return df.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="–",
                          border=0)

    def render(self, title: str, intro: str) -> str:
        nav = "".join(f"<a href='#{k}'>{html.escape(t)}</a>" for k, t, _ in self.sections)
        body = "".join(f"<section id='{k}'><h2>{html.escape(t)}</h2>{b}</section>"
                       for k, t, b in self.sections)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
                f"<p class='note'>{intro}</p><nav>{nav}</nav>{body}</body></html>")


def _population(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> pd.DataFrame:
    summary = space_summary(df, s.metric)
    lines = "; ".join(f"{r.design_space}: {r.n} ok of {r.n_records}"
                      for r in summary.itertuples())
    doc.add("population", "Population",
            f"<p>Models per space (status ok / records): {html.escape(lines)}. Diverged and "
            f"failed models are counted but left out of every statistic.</p>"
            + doc.table(summary, "summary"))
    return summary


def _comparison(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    table = comparison_table(df, s.metric, n=s.n_boot, seed=s.seed)
    if table.empty:
        body = "<p class='note'>Only one space with ok models: nothing to compare.</p>"
    else:
        body = ("<p class='note'>KS: two-sample Kolmogorov-Smirnov ([NDS] §4). mean_diff: "
                "mean(a) − mean(b) with its 95% percentile-bootstrap interval (each space "
                f"resampled with replacement, {s.n_boot} draws).</p>"
                + doc.table(table, "comparison"))
    doc.add("comparison", "Comparison of design spaces", body)


def _edfs(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    fig = plots.plot_edfs(df, s.metric)
    doc.add("edf", "Error EDFs", doc.figure(fig, "edf", "Error EDFs; legend: name n|min|mean "
                                                       "([DDS] Fig. 2)."))
    fig, axes = plots.new_figure(1, len(s.complexity), size=(4.2, 3.2))
    for ax, c in zip(axes.ravel(), s.complexity, strict=True):
        plots.plot_normalized_edfs(df, c, s.bins, metric=s.metric, ax=ax)
    doc.add("nedf", "Normalized EDFs", doc.figure(
        fig, "normalized_edf", f"Error EDFs re-weighted to a uniform complexity distribution "
        f"over {s.bins} bins (k in the legend where fewer), on the spaces' common range ([NDS])."))


def _trends(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    parts = []
    for space, g in df.groupby("design_space", sort=True):
        if len(ok_rows(g, s.metric)) < s.min_models:
            continue
        params = [p for p in s.params if p in g.columns and g[p].notna().any()]
        fig = plots.plot_trends(g, params, s.metric, n_boot=s.n_boot, seed=s.seed,
                                title=str(space))
        parts.append(doc.figure(fig, f"trends_{space}", f"{space}: error against each "
                                "parameter; band: 95% bootstrap interval of the best model's "
                                "value, line: its median ([DDS] fn. 4)."))
    doc.add("trends", "Parameter trends", "".join(parts) or
            f"<p class='note'>No space has {s.min_models} ok models yet.</p>")


def _fits(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    fig = plots.plot_efit(df, s.metric, n_boot=s.n_boot, seed=s.seed)
    body = doc.figure(fig, "efit", "e_fit (mean |log ŵ_j/w_j| of the best quantized-linear fit) "
                                   "against error ([DDS] Fig. 8 bottom).")
    fig, axes = plots.new_figure(1, 2, size=(5.0, 3.6))
    plots.plot_block_widths(df, s.top, s.metric, ax=axes[0, 0])
    plots.plot_staircases(df, 5, s.metric, ax=axes[0, 1])
    body += doc.figure(fig, "widths", f"Per-block widths of the best {s.top} models with their "
                                      "linear trend, and the best 5 with their fits "
                                      "([DDS] Fig. 8 top).")
    doc.add("efit", "Quantized linear fits", body)


def _best(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    best = plots.best_rows(df, s.best, s.metric).copy()
    for key, col in (("depths", "d"), ("widths", "w"), ("bottleneck_ratios", "b"),
                     ("group_widths", "g")):
        best[col + "_i"] = [str(list(spec[key])) for spec in best["spec"]]
    cols = ["design_space", "index", s.metric, "flops", "params", "acts", "depth", "d_i", "w_i",
            "b_i", "g_i", "se_ratio", "fit_w0", "fit_wa", "fit_wm", "e_fit"]
    doc.add("best", f"Best {len(best)} models", doc.table(best[[c for c in cols
                                                                 if c in best.columns]]))


def write_report(df: pd.DataFrame, out: str | Path, settings: ReportSettings | None = None,
                 source: str = "") -> Path:
    """Write ``report.html``, ``figures/*.png``, ``summary.csv`` (per space),
    ``comparison.csv`` and ``models.csv`` to `out`; return the HTML path. Fits the rule to
    every ok model unless `df` already has an ``e_fit`` column (`fit.fit_models`)."""
    s = settings or ReportSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = _Doc(out)
    ok = ok_rows(df, s.metric) if len(df) else df
    if len(ok) and s.fit and "e_fit" not in df.columns:
        df = df.merge(fit_models(ok)[["path", "fit_w0", "fit_wa", "fit_wm", "e_fit",
                                      "fit_widths"]], on="path", how="left")
    _population(doc, df, s)
    if len(ok):
        _comparison(doc, df, s)
        _edfs(doc, df, s)
        _trends(doc, df, s)
        if s.fit:
            _fits(doc, df, s)
        _best(doc, df, s)
    models = df.drop(columns=[c for c in ("spec", "fit_widths") if c in df.columns])
    models.to_csv(out / "models.csv", index=False)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    intro = html.escape(f"{source or 'sweep'} · {len(df)} records, {len(ok)} ok · {stamp}")
    path = out / "report.html"
    path.write_text(doc.render("Design-space report", intro))
    return path
