"""A self-contained HTML report of a sweep (inline SVG, no network, no script), after pycls
`sweep_analyze` (docs/PAPER.md, "analysis.html sections"), plus PNG figures and CSV tables.

It leads with its verdict (which space has the lower errors, by how much, how sure; or the
planned hypotheses' verdicts), given for all models (a model that did not finish counts as the
worst) and for the trained core (the models whose error is below half of chance), then how many
models of each space trained at all (trained fractions with exact intervals, exact tests per
pair), then says under which conditions the models were trained (provenance), then shows the
evidence: EDFs of both views, training curves, parameter trends, the quantized linear fits and
the best models. Hovering a model's marker shows its spec and error (SVG
``<title>``). Every file is written atomically (temp file in the same folder, then rename).
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from anynet import record as record_io

from . import fmt, plots
from .pairs import (
    COMPARISON_COLUMNS,
    PAIRINGS,
    compare_trained_pairs,
    fractions_of,
    min_pvalue,
    pair_table,
    sentence,
    trained_sentence,
)
from .population import (
    MIN_BOOTSTRAP_N,
    VIEWS,
    best_rows,
    extremes,
    histories,
    spaces_of,
    view_frame,
    with_fits,
)
from .provenance import VARIANTS, duration, provenance_of
from .sweep import ok_rows
from .trainability import EXACT_TESTS, WORST_ERROR, chance_error, num_classes_of

METRICS = ("error", "min_error")
TREND_PARAMS = ("depth", "d1", "d2", "d3", "d4", "w1", "w2", "w3", "w4", "wr1", "wr2", "wr3",
                "b", "g", "flops", "params", "acts")
CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{padding:3px 8px;
border-bottom:1px solid #ddd;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child,table.left td,table.left th{text-align:left}
figure{margin:1em 0}svg{max-width:100%;height:auto}.note{color:#666;font-size:13px}
.verdict li{margin:.4em 0}.warn{color:#a40}nav a{margin-right:1em}h3{font-size:15px}
svg g.model:hover{opacity:.6}"""
_ANCHOR = re.compile(r'<a xlink:href="#(m[^"]*)"[^>]*>')


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
    pairs: str = "all"  # pairs of spaces in the verdict: all, or consecutive in `order`
    order: tuple[str, ...] | None = None  # spaces in this order (default: sorted names)
    alpha: float = 0.05  # level of the verdict sentences (Holm-corrected)
    curves: int = 3  # best and worst models per space in the training curves
    num_classes: int | None = None  # chance error of the trained core (default: the sweep's)
    trained_test: str = "fisher"  # exact test of trained fractions: fisher, barnard, boschloo

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric: {self.metric!r} is not allowed; use one of "
                             f"{list(METRICS)}")
        for key, low in (("bins", 1), ("top", 1), ("best", 1), ("min_models", 1),
                         ("n_boot", 1), ("curves", 0)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{key}: {v!r} is not allowed; use an integer >= {low}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: {self.seed!r} is not allowed; use an integer >= 0")
        if self.pairs not in PAIRINGS:
            raise ValueError(f"pairs: {self.pairs!r} is not allowed; use one of "
                             f"{list(PAIRINGS)}")
        if not (isinstance(self.alpha, float) and 0 < self.alpha < 1):
            raise ValueError(f"alpha: {self.alpha!r} is not allowed; use a number in (0, 1)")
        if self.num_classes is not None:
            chance_error(self.num_classes)  # ValueError naming num_classes
        if self.trained_test not in EXACT_TESTS:
            raise ValueError(f"trained_test: {self.trained_test!r} is not allowed; use one of "
                             f"{list(EXACT_TESTS)}")


def file_name(label: str) -> str:
    """A population label as a file name: ``regnetx[5 stages]`` -> ``regnetx_5_stages_``;
    a plain space name (letters, digits, ``_.-``) is kept as it is."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", label)


def write_atomic(path: Path, data: bytes | Callable[[Any], None]) -> None:
    """`anynet.record.write_atomic` for bytes or a writer function: `path` is the old file or
    the new one, never a truncated one; an OSError names `path`."""
    record_io.write_atomic(path, data if callable(data) else (lambda f: f.write(data)))


def with_titles(svg: str, titles: dict[str, str]) -> str:
    """Turn each marker link ``<a xlink:href="#m<i>">`` of a matplotlib SVG (see
    `plots.links`) into ``<g class="model"><title>…</title>``: a hover tooltip."""
    def opening(m: re.Match) -> str:
        title = titles.get(m.group(1))
        return "<g class='model'>" + (f"<title>{html.escape(title)}</title>" if title else "")

    svg = _ANCHOR.sub(opening, svg)
    return svg.replace("</a>", "</g>")


def model_title(row: pd.Series, metric: str) -> str:
    """What hovering a model shows: name, error, per-stage spec and complexity."""
    spec = row.get("spec") if isinstance(row.get("spec"), dict) else {}
    name = str(row["design_space"]) if pd.isna(row.get("index")) else \
        f"{row['design_space']} #{row['index']}"
    status = row.get("status", "ok")
    if status == "ok" and fmt.finite(row.get(metric)):
        parts = [f"{name}: {metric} {fmt.number(row.get(metric))}%"]
    else:
        parts = [f"{name}: {status if status != 'ok' else 'no ' + metric} (counted as "
                 f"{WORST_ERROR:g}% among all models)"]
    for key, tag in (("depths", "d"), ("widths", "w"), ("bottleneck_ratios", "b"),
                     ("group_widths", "g")):
        if key in spec:
            parts.append(f"{tag} = {fmt.listing(spec[key])}")
    if spec.get("se_ratio"):
        parts.append(f"se = {fmt.number(spec['se_ratio'])}")
    parts.append(", ".join(f"{fmt.complexity(row.get(c), c)} {c}" for c in fmt.UNITS
                           if c in row))
    if pd.notna(row.get("e_fit")):
        parts.append(f"e_fit = {fmt.number(row['e_fit'], 3)}")
    return " · ".join(parts)


@dataclass
class _Doc:
    """Sections of the HTML page and the files written beside it."""

    out: Path
    titles: dict[str, str] = field(default_factory=dict)  # marker link -> hover text
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, html)
    files: list[Path] = field(default_factory=list)

    def add(self, key: str, title: str, body: str) -> None:
        self.sections.append((key, title, body))

    def figure(self, fig: Figure, name: str, caption: str) -> str:
        png = self.out / "figures" / f"{name}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        with matplotlib.rc_context(plots.STYLE):
            write_atomic(png, lambda f: fig.savefig(f, format="png", dpi=120))
            fig.savefig(buf, format="svg", metadata={"Date": None})
        self.files.append(png)
        svg = buf.getvalue()
        svg = with_titles(svg[svg.index("<svg"):], self.titles)
        return f"<figure>{svg}<figcaption class='note'>{html.escape(caption)}</figcaption>" \
               "</figure>"

    def table(self, df: pd.DataFrame, name: str | None = None) -> str:
        if name:
            self.csv(df, name)
        return _html_table(df)

    def csv(self, df: pd.DataFrame, name: str) -> None:
        path = self.out / f"{name}.csv"
        write_atomic(path, df.to_csv(index=False).encode())
        self.files.append(path)

    def render(self, title: str, intro: str) -> str:
        nav = "".join(f"<a href='#{k}'>{html.escape(t)}</a>" for k, t, _ in self.sections)
        body = "".join(f"<section id='{k}'><h2>{html.escape(t)}</h2>{b}</section>"
                       for k, t, b in self.sections)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
                f"<p class='note'>{intro}</p><nav>{nav}</nav>{body}</body></html>")


_P_COLUMNS = {"p", "p_holm", "ks_pvalue", "min_p", "p_raw", "p_corrected", "pvalue",
              "p_contra", "p_contra_corrected"}


def _cell(column: str) -> Callable[[Any], str]:
    """How a column prints: complexity as 5.8 MF, lists as 1, 2, p-values with two digits,
    other numbers with thousands separators and no exponents."""
    def cell(v: Any) -> str:
        if isinstance(v, (list, tuple, np.ndarray)):
            return fmt.listing(v)
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (int, float, np.integer, np.floating)):
            if column in fmt.UNITS:
                return fmt.complexity(v, column)
            return fmt.pvalue(v) if column in _P_COLUMNS else fmt.number(v)
        return str(v)
    return cell


def _html_table(df: pd.DataFrame, left: bool = False) -> str:
    formatters = {c: _cell(str(c)) for c in df.columns}
    return df.to_html(index=False, formatters=formatters, na_rep="–", border=0,
                      classes="left" if left else None)


@dataclass(frozen=True)
class _Views:
    """The views spaces are compared in (`population.view_frame`), the sampled spaces (every
    space with a record, zoo models left out, in the settings' order) and the classes that set
    the trained core's threshold."""

    frames: dict[str, pd.DataFrame]
    spaces: list[str]
    num_classes: int

    @property
    def threshold(self) -> float:
        return chance_error(self.num_classes) / 2

    def rule(self, metric: str) -> str:
        return (f"status ok and {metric} < {self.threshold:g}% (half of chance error, "
                f"{chance_error(self.num_classes):g}% with {self.num_classes} classes)")


def _views(df: pd.DataFrame, s: ReportSettings) -> _Views | None:
    """None when the sweep holds no record of a sampled design space."""
    sampled = df[df["model"].isna()] if "model" in df.columns else df
    if not len(sampled):
        return None
    k = num_classes_of(sampled, s.num_classes)
    frames = {v: view_frame(df, v, s.metric, k) for v in VIEWS}
    return _Views(frames, spaces_of(frames["all"], s.metric, s.order), k)


_VIEW_NOTES = {
    "all": "every record of a sampled space; a model that did not finish (failed, diverged, "
           f"no error) counts as the worst, {WORST_ERROR:g}%.",
    "trained": "only the models that trained: {rule}; how many did is in Trainability below.",
    "finished": "the models that finished (status ok), whatever their error: the population "
                "of the trends, fits and best models below.",
}


def view_pairs(views: _Views, s: ReportSettings) -> pd.DataFrame | None:
    """The report's one pair table: `pairs.pair_table` of the verdict's pairs in every view,
    one block of rows per view (column ``view``, then `pairs.PAIR_COLUMNS`); None with fewer
    than two sampled spaces."""
    if len(views.spaces) < 2:
        return None
    parts = []
    for v, frame in views.frames.items():
        table = pair_table(frame, views.spaces, s.metric, s.pairs, n_boot=s.n_boot,
                           seed=s.seed, alpha=s.alpha)
        table.insert(0, "view", v)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _verdict(doc: _Doc, df: pd.DataFrame, s: ReportSettings, plan: Any,
             views: _Views | None, table: pd.DataFrame | None) -> None:
    if plan is not None:
        _planned(doc, df, plan)
        return
    best = best_rows(df, 1, s.metric)
    items = []
    if len(best):
        row = best.iloc[0]
        items.append(f"Best model: {html.escape(model_title(row, s.metric))}.")
    names = views.spaces if views is not None else []
    if len(names) == 1:
        items.append(f"Only {html.escape(names[0])} has models: nothing to compare.")
    elif not names:
        items.append("No sampled design space: nothing to compare.")
    body = "<ul class='verdict'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    if table is not None:
        for v in VIEWS:
            rows = table[table["view"] == v]
            lines = []
            for _, row in rows.iterrows():
                cls = "" if row["enough"] and row["n_a"] and row["n_b"] else " class='warn'"
                lines.append(f"<li><span{cls}>{html.escape(sentence(row, len(rows), s.alpha))}"
                             "</span></li>")
            note = _VIEW_NOTES[v].format(rule=views.rule(s.metric))
            block = (f"<p class='note'>{html.escape(note)}</p><ul class='verdict'>"
                     + "".join(lines) + "</ul>")
            title = html.escape(VIEWS[v].capitalize())
            body += (f"<details><summary>{title}</summary>{block}</details>" if v == "finished"
                     else f"<h3 id='verdict-{v}'>{title}</h3>{block}")
    note = (f"Each pair a vs b: difference a − b of median and of mean {s.metric} "
            f"(percentage points) with its 95% percentile-bootstrap interval ({s.n_boot:,} "
            "draws, each space resampled at its own size); two-sided Mann-Whitney U test, "
            f"p Holm-corrected over the pairs compared ({s.pairs} pairs) within each view; "
            f"significance at {s.alpha:g}. A pair is not judged when its sizes cannot give "
            f"p < {s.alpha:g} at all (2 / C(n_a + n_b, n_a) ≥ "
            f"{s.alpha:g}, e.g. 3 and 3: {fmt.pvalue(min_pvalue(3, 3))}). Zoo models are "
            "reference points, not spaces.")
    body += f"<p class='note'>{html.escape(note)}</p>"
    doc.add("verdict", "Verdict", body)


def _trainability(doc: _Doc, df: pd.DataFrame, s: ReportSettings,
                  views: _Views | None) -> None:
    """Per space: models, trained models, the trained fraction with its exact 95% interval;
    per pair of the verdict: the exact test of the trained fractions, Holm-corrected."""
    if views is None or not views.spaces:
        doc.add("trainability", "Trainability",
                "<p class='note'>No sampled design space has a record.</p>")
        return
    fractions = fractions_of(df, views.spaces, views.num_classes, s.metric)
    doc.csv(fractions, "trainability")
    shown = pd.DataFrame({
        "design_space": fractions["design_space"], "n": fractions["n"],
        "trained": fractions["n_trained"],
        "fraction": [f"{100 * f:.1f}%" for f in fractions["fraction"]],
        "95% CI": [f"{100 * lo:.1f}–{100 * hi:.1f}%"
                   for lo, hi in zip(fractions["low"], fractions["high"], strict=True)]})
    body = (f"<p>A model <b>trains</b> when it has {html.escape(views.rule(s.metric))}. "
            "Fraction of each space's models that trained, with its exact (Clopper-Pearson) "
            "95% interval:</p>" + _html_table(shown))
    if len(views.spaces) >= 2:
        pairs = compare_trained_pairs(df, views.spaces, s.pairs, s.trained_test,
                                      views.num_classes, s.metric)
        doc.csv(pairs, "trained_pairs")
        lines = "".join(f"<li>{html.escape(trained_sentence(r, len(pairs), s.alpha, fractions))}"
                        "</li>" for _, r in pairs.iterrows())
        body += (f"<ul class='verdict'>{lines}</ul><p class='note'>"
                 f"{html.escape(_TEST_NAMES[s.trained_test])} exact test of the 2×2 table "
                 "(trained, not trained) × (a, b), two-sided, for the pairs of the verdict "
                 f"({s.pairs} pairs); p Holm-corrected over them; significance at "
                 f"{s.alpha:g}. Numbers in trainability.csv and trained_pairs.csv.</p>")
    doc.add("trainability", "Trainability", body)


_TEST_NAMES = {"fisher": "Fisher's", "barnard": "Barnard's", "boschloo": "Boschloo's"}


def _planned(doc: _Doc, df: pd.DataFrame, plan: Any) -> None:
    """The planned hypotheses' verdicts (`analysis.verdicts`) as the first table."""
    import analysis

    if isinstance(plan, (str, Path)):
        from .plan import load_plan

        plan = load_plan(plan)
    table = analysis.verdicts(df, plan)
    first = [c for c in ("id", "text", "verdict") if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    doc.add("verdict", "Verdict (planned hypotheses)",
            "<p>One row per hypothesis of the analysis plan, each judged as planned "
            "(estimate, interval, raw and corrected p).</p>" + doc.table(table, "verdicts"))


MIXED_MACHINES = ("errors of single runs are comparable across machines only as draws of the "
                  "same distribution")


def machines_of(df: pd.DataFrame) -> list[tuple[str, int]]:
    """The machines (`load_sweep`'s ``machine``) a sweep's records ran on with their record
    counts, most records first; ``""`` counts the records that do not say (written before
    records named their machine)."""
    if "machine" not in df.columns:
        return [("", len(df))] if len(df) else []
    labels = ["" if not isinstance(v, str) else v for v in df["machine"]]
    return sorted(Counter(labels).items(), key=lambda kv: (-kv[1], kv[0]))


def machines_text(machines: list[tuple[str, int]]) -> tuple[str, str]:
    """(the provenance table's ``machine`` value, a warning or ``""``) for `machines_of`'s
    counts: one machine by name, several with their counts; the warning when records ran on
    more than one named machine (the same run id can end with another error on another CPU,
    docs/TRAINING.md "Determinism"). Mixed machines are reported, never refused."""
    named = [(m, n) for m, n in machines if m]
    unnamed = sum(n for m, n in machines if not m)
    if not named:
        return "not recorded", ""
    parts = ([named[0][0]] if len(named) == 1 and not unnamed
             else [f"{m} ({n} records)" for m, n in named])
    if unnamed:
        parts.append(f"not recorded ({unnamed} records)")
    warn = (f"Records ran on {len(named)} machines: {MIXED_MACHINES} (CPU floats differ "
            "across CPUs and kernel paths, so one run id can end with another error on "
            "another machine).") if len(named) > 1 else ""
    return "; ".join(parts), warn


def _provenance(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    p = provenance_of(df, s.metric)
    rows = p.rows()
    where, machines_warn = machines_text(machines_of(df))
    after = [k for k, _ in rows].index("versions") + 1 if "versions" in dict(rows) else len(rows)
    rows.insert(after, ("machine", where))
    table = pd.DataFrame(rows, columns=["field", "value"])
    mixed = [k for k, v in p.values.items() if len(v) > 1 and k not in VARIANTS]
    body = ""
    if mixed:
        body += (f"<p class='warn'>Records differ in {html.escape(', '.join(mixed))}: models "
                 "trained differently are compared below.</p>")
    if machines_warn:
        body += f"<p class='warn'>{html.escape(machines_warn)}</p>"
    body += _html_table(table, left=True)
    shown = [k for k, _ in rows if k in VARIANTS]
    if shown:
        body += (f"<p class='note'>{html.escape(', '.join(shown))}: not the paper's ("
                 + html.escape(", ".join(f"{k} {VARIANTS[k]}" for k in VARIANTS))
                 + "); each population that changes them is its own group, named by its "
                 "label, e.g. regnetx[800MF] (docs/ANALYSIS.md \"Population labels\").</p>")
    summary = p.per_space.copy()
    doc.csv(summary, "summary")
    body += (f"<p>{p.n_records:,} records; total training wall time "
             f"{duration(p.wall_seconds)} (sum over records). Models per space (only ok "
             "models enter the statistics; diverged and failed ones are counted):</p>"
             + _html_table(summary))
    if p.missing:
        body += (f"<p class='note'>Not recorded: {html.escape(', '.join(p.missing))}.</p>")
    doc.add("provenance", "How the models were trained", body)


def _edfs(doc: _Doc, df: pd.DataFrame, s: ReportSettings, names: Sequence[str],
          views: _Views | None) -> None:
    if views is None or not views.spaces:  # zoo models only
        fig = plots.plot_edfs(df, s.metric)
        doc.add("edf", "Error distributions", doc.figure(
            fig, "edf", f"{s.metric} EDFs; legend: name n|min|mean ([DDS] Fig. 2). Hover a "
                        "dot for the model."))
        return
    fig = plots.plot_view_edfs(df, s.metric, spaces=views.spaces, num_classes=views.num_classes)
    body = doc.figure(fig, "edf", f"{s.metric} EDFs of all models (left; a model that did not "
                                  f"finish at {WORST_ERROR:g}%) and of the trained core "
                                  f"(right; {views.rule(s.metric)}); legend: name n|min|mean "
                                  "([DDS] Fig. 2). Hover a dot for the model.")
    fig = plots.plot_view_normalized_edfs(df, s.complexity, s.bins, s.metric,
                                          spaces=views.spaces, num_classes=views.num_classes)
    body += doc.figure(fig, "normalized_edf", f"EDFs re-weighted to a uniform complexity "
                       f"distribution over {s.bins} bins (k in the legend where fewer), on "
                       "the spaces' common range ([NDS]); top: all models, bottom: the "
                       "trained core.")
    doc.add("edf", "Error distributions", body)


def _curves(doc: _Doc, df: pd.DataFrame, s: ReportSettings, names: Sequence[str]) -> None:
    if not s.curves or not names:
        return
    rows = extremes(df[df["design_space"].isin(names)], s.curves, s.metric)
    hist = histories(rows)
    if hist.empty:
        doc.add("curves", "Training curves",
                "<p class='note'>The records hold no per-epoch history.</p>")
        return
    fig = plots.plot_histories(rows, hist, s.metric, spaces=names)
    doc.add("curves", "Training curves", doc.figure(
        fig, "curves", f"Per-epoch test error (solid), train error (dotted) and train loss of "
        f"the best (blue) and worst (red) {s.curves} models of each space; rows share their "
        "y-axis."))


def _trends(doc: _Doc, df: pd.DataFrame, s: ReportSettings, names: Sequence[str]) -> None:
    drawn = [n for n in names
             if len(ok_rows(df[df["design_space"] == n], s.metric)) >= s.min_models]
    colors = plots.space_colors(df["design_space"].unique())
    ylim = plots.metric_limits(df[df["design_space"].isin(drawn)], s.metric)
    parts = []
    for space in drawn:
        g = df[df["design_space"] == space]
        params = [p for p in s.params if p in g.columns and g[p].notna().any()]
        n = len(ok_rows(g, s.metric))
        fig = plots.plot_trends(g, params, s.metric, n_boot=s.n_boot, seed=s.seed,
                                title=f"{space} (n = {n})", ylim=ylim, color=colors[space])
        band = ("band: 95% bootstrap interval of the best model's value, line: its median "
                "([DDS] fn. 4)" if n >= MIN_BOOTSTRAP_N else
                f"no bootstrap band: with n < {MIN_BOOTSTRAP_N} every 25% draw is one model")
        parts.append(doc.figure(fig, f"trends_{file_name(space)}", f"{space}: {s.metric} "
                                f"against each parameter ({n} models; same y-axis for every "
                                "space); "
                                f"{band}."))
    doc.add("trends", "Parameter trends", "".join(parts) or
            f"<p class='note'>No space has {s.min_models} ok models yet.</p>")


def _fits(doc: _Doc, df: pd.DataFrame, s: ReportSettings, names: Sequence[str]) -> None:
    fig = plots.plot_efit(df, s.metric, spaces=names or None, n_boot=s.n_boot, seed=s.seed)
    body = doc.figure(fig, "efit", "e_fit (mean |log ŵ_j/w_j| of the best quantized-linear fit) "
                                   "against error, one shared y-axis ([DDS] Fig. 8 bottom).")
    fig, axes = plots.new_figure(1, 2, size=(5.0, 3.6), bottom=plots.legend_margin(5, 2))
    plots.plot_block_widths(df, s.top, s.metric, ax=axes[0, 0])
    plots.plot_staircases(df, 5, s.metric, ax=axes[0, 1])
    n_top, n_five = len(best_rows(df, s.top, s.metric)), len(best_rows(df, 5, s.metric))
    body += doc.figure(fig, "widths", f"Per-block widths of the best {n_top} models with their "
                                      f"linear trend, and the best {n_five} with their fits "
                                      "([DDS] Fig. 8 top).")
    doc.add("efit", "Quantized linear fits", body)


def _best(doc: _Doc, df: pd.DataFrame, s: ReportSettings) -> None:
    best = best_rows(df, s.best, s.metric).copy()
    for key, col in (("depths", "d"), ("widths", "w"), ("bottleneck_ratios", "b"),
                     ("group_widths", "g")):
        best[col + "_i"] = [list(spec[key]) for spec in best["spec"]]
    cols = ["design_space", "index", s.metric, "flops", "params", "acts", "depth", "d_i", "w_i",
            "b_i", "g_i", "se_ratio", "fit_w0", "fit_wa", "fit_wm", "e_fit"]
    doc.add("best", f"Best {len(best)} models",
            _html_table(best[[c for c in cols if c in best.columns]]))


def _details(doc: _Doc, table: pd.DataFrame | None) -> None:
    """The pair table's descriptive columns (KS, mean difference) for all models and for the
    trained core; the numbers are pairs.csv's."""
    if table is None:
        return
    shown = table["view"].isin(["all", "trained"]) & (table["n_a"] > 0) & (table["n_b"] > 0)
    table = table.loc[shown, ["view", *COMPARISON_COLUMNS]].reset_index(drop=True)
    small = [f"{r.a} vs {r.b} ({VIEWS[r.view]})" for r in table.itertuples()
             if min(r.n_a, r.n_b) < 2]
    warn = (f"<p class='warn'>{html.escape(', '.join(small))}: a space with one model: its EDF "
            "is a single step, KS is 1 or close and its p says nothing.</p>") if small else ""
    doc.add("details", "All pairwise statistics",
            "<details><summary>KS test ([NDS] §4) and mean difference per pair of the verdict, "
            "for all models and for the trained core (spaces with no model in a view are left "
            f"out; numbers in pairs.csv)</summary>{warn}" + _html_table(table) + "</details>")


def _sequential(doc: _Doc, looks: pd.DataFrame) -> None:
    """The decisions of a sequential sweep (``<sweep.dir>/sequential.csv``,
    `analysis.sweeper`): per hypothesis and direction, the look that decided it."""
    decided = looks[looks["decision"] != "continue"]
    keep = [c for c in ("plan", "look", "n", "id", "direction", "p", "level", "efficacy_p",
                        "futility_p", "decision") if c in decided.columns]
    doc.add("sequential", "Sequential looks",
            f"<p>This sweep was trained look by look (hydra/sweeper=sequential) and stopped "
            f"a space once every hypothesis that needs it was decided; {int(looks['look'].max())}"
            " look(s) done. Each row: the look that decided a claim or its opposite, its p, "
            "the level it held and the bounds (as p-values) it was judged against "
            "(docs/ANALYSIS.md, \"Sequential plans\").</p>"
            + doc.table(decided[keep].reset_index(drop=True), "sequential_looks"))


def write_report(df: pd.DataFrame, out: str | Path, settings: ReportSettings | None = None,
                 source: str = "", plan: Any = None,
                 sequential: pd.DataFrame | None = None) -> Path:
    """Write ``report.html``, ``figures/*.png``, ``summary.csv`` (per space), ``pairs.csv``
    (the one pair table, `view_pairs`: every number about a pair of spaces, one block of rows
    per view: ``all``, ``trained``, ``finished``), ``trainability.csv`` (trained fractions per
    space), ``trained_pairs.csv`` (their exact tests per pair) and ``models.csv`` to `out`;
    return the HTML path. Fits the rule to every ok model that lacks
    a fit (`population.with_fits`). With `plan` (an analysis plan, or the path of its YAML)
    the verdict is `analysis.verdicts(df, plan)`; with `sequential` (a sequential sweep's
    ``sequential.csv``) the report shows its decisions after the verdict."""
    s = settings or ReportSettings()
    if s.metric not in df.columns:
        raise ValueError(f"metric: {s.metric!r} is not a column of the sweep")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file; give a folder for the report")
    out.mkdir(parents=True, exist_ok=True)
    ok = ok_rows(df, s.metric) if len(df) else df
    if len(ok) and s.fit:
        df = with_fits(df, s.metric)
    doc = _Doc(out)
    doc.titles = {f"m{i}": model_title(row, s.metric) for i, row in df.iterrows()}
    names = spaces_of(df, s.metric, s.order) if len(ok) else []
    views = _views(df, s) if len(df) else None
    pairs = view_pairs(views, s) if views is not None else None
    if pairs is not None:
        doc.csv(pairs, "pairs")
    _verdict(doc, df, s, plan, views, pairs)
    if sequential is not None and len(sequential):
        _sequential(doc, sequential)
    _trainability(doc, df, s, views)
    _provenance(doc, df, s)
    if len(ok):
        _edfs(doc, df, s, names, views)
        _curves(doc, df, s, names)
        _trends(doc, df, s, names)
        if s.fit:
            _fits(doc, df, s, names)
        _best(doc, df, s)
        _details(doc, pairs)
    models = df.drop(columns=[c for c in ("spec", "fit_widths") if c in df.columns])
    doc.csv(models, "models")
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    intro = html.escape(f"{source or 'sweep'} · {len(df):,} records, {len(ok):,} ok · {stamp}")
    path = out / "report.html"
    write_atomic(path, doc.render("Design-space report", intro).encode())
    return path

