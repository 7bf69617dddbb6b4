"""Plots and the HTML report on small synthetic sweeps: the report leads with its verdict and
provenance, figures are readable (no piled-up tick labels, legends off the data, shared
y-axes, real counts in captions), tables print numbers for people, markers carry tooltips."""

from __future__ import annotations

import html
import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

import analysis
from analysis import plots
from analysis.bootstrap import bootstrap_interval
from analysis.pairs import PAIR_COLUMNS, pair_table
from analysis.population import MIN_BOOTSTRAP_N, view_frame
from analysis.shift_tests import mean_diff, median_diff, median_ratio
from analysis.testing import synthetic_population, write_record
from anynet import zoo

SETTINGS = dict(n_boot=500, params=("depth", "w3", "w4", "wr1", "flops", "params"))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A partial sweep: two spaces of unequal size, a failed run, a zoo model."""
    d = tmp_path_factory.mktemp("sweep")
    synthetic_population(d, "anynetx_a", 30, seed=1, shift=3.0, sorted_stages=False)
    synthetic_population(d, "anynetx_e", 18, seed=2)
    write_record(d, "anynetx_e", 99, zoo.get("RegNetX-200MF", num_classes=10), 0.0,
                 status="failed")
    write_record(d, None, None, zoo.get("RegNetX-200MF", num_classes=10), 29.0,
                 model="RegNetX-200MF")
    return d


@pytest.fixture(scope="module")
def fitted(sweep) -> pd.DataFrame:
    """The sweep with the rule fitted to every ok model (once per module)."""
    return analysis.with_fits(analysis.load_sweep(sweep))


@pytest.fixture(scope="module")
def report(fitted, tmp_path_factory) -> tuple[Path, str, pd.DataFrame]:
    df = fitted
    out = tmp_path_factory.mktemp("report")
    path = analysis.write_report(df, out, analysis.ReportSettings(**SETTINGS), source="synthetic")
    return path, path.read_text(), df


def _tick_overlaps(fig: Figure) -> list[str]:
    """Pairs of visible, non-empty tick labels of one axis whose boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = [t for t in axis.get_ticklabels(which="both")
                      if t.get_visible() and t.get_text()]
            for a, b in combinations(labels, 2):
                if a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer)):
                    bad.append(f"{ax.get_xlabel()} {name}: {a.get_text()!r} / {b.get_text()!r}")
    return bad


def test_plots_return_figures_with_paper_labels(fitted):
    df = fitted
    fig = analysis.plot_edfs(df)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    e = df[(df.design_space == "anynetx_e") & (df.status == "ok")].error
    assert f"anynetx_e {len(e)}|{e.min():.1f}|{e.mean():.1f}" in labels
    assert ax.get_ylabel() == "cumulative prob." and ax.get_xlabel() == "error"
    fig = analysis.plot_normalized_edfs(df, "flops", bins=4)
    assert fig.axes[0].get_xlabel() == "error | flops"
    fig = analysis.plot_trend(df[df.design_space == "anynetx_a"], "depth", n_boot=500)
    ax = fig.axes[0]
    assert len(ax.patches) == 1 and len(ax.lines) == 1  # bootstrap band and median line
    fig = analysis.plot_trends(df, ["depth", "w4", "wr1", "g"], n_boot=200)
    assert [a.get_xlabel() for a in fig.axes[:4]] == ["depth d", "w4", "w2/w1", "group width g"]
    for f in (analysis.plot_block_widths(df, top=10), analysis.plot_efit(df, n_boot=200),
              analysis.plot_staircases(df, top=3)):
        assert isinstance(f, Figure)
    assert "w_j =" in analysis.plot_block_widths(df).axes[0].get_legend().get_texts()[0].get_text()
    assert len(analysis.plot_staircases(df, top=3).axes[0].lines) == 6  # widths + dashed fit


def test_trend_panels_have_readable_ticks(sweep):
    """Log axes and complexity axes: no two tick labels overlap (matplotlib's default labels
    the minor ticks of a log axis spanning ~1.3 decades, w3 = 24..520 here, and they pile up),
    no exponent notation; complexity prints as 5.8 MF."""
    df = analysis.load_sweep(sweep)
    a = df[df.design_space == "anynetx_a"].copy()
    a["w3"] = np.geomspace(24, 520, len(a))
    a["flops"] = np.linspace(5.6e6, 6.2e6, len(a))  # the default prints 1e6 offset text
    fig = analysis.plot_trends(a, ["w1", "w2", "w3", "w4", "wr1", "wr2", "wr3", "flops",
                                   "params", "acts", "g", "b", "depth"], n_boot=200)
    assert _tick_overlaps(fig) == []
    texts = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert not [t for t in texts if re.search(r"e[+-]\d|\\times|\$", t)]
    flops_ax = next(ax for ax in fig.axes if ax.get_xlabel() == "flops")
    fig.canvas.draw()
    assert any(t.get_text().endswith(" MF") for t in flops_ax.get_xticklabels())
    assert flops_ax.xaxis.get_offset_text().get_text() == ""
    w3_ax = next(ax for ax in fig.axes if ax.get_xlabel() == "w3")
    assert w3_ax.get_xscale() == "log"


def test_legends_sit_off_the_data(fitted):
    df = fitted
    for fig in (analysis.plot_block_widths(df, top=20), analysis.plot_staircases(df, top=5),
                analysis.plot_edfs(df)):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent(r)
        assert not legend.overlaps(ax.get_window_extent(r))
        assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1,
                                                                              legend.y1)


def test_small_populations(sweep, tmp_path):
    """n < 8: no bootstrap band (every 25% draw is one model); n = 1: the EDF is a visible
    rise from 0 to 1, not an empty step."""
    df = analysis.load_sweep(sweep)
    few = df[df.design_space == "anynetx_e"].iloc[:MIN_BOOTSTRAP_N - 1]
    assert analysis.population.best_interval(few, "depth") is None
    enough = df[df.design_space == "anynetx_e"].iloc[:MIN_BOOTSTRAP_N + 1]
    assert analysis.population.best_interval(enough, "depth", n_boot=200) is not None
    ax = analysis.plot_trend(few, "depth", n_boot=200).axes[0]
    assert len(ax.patches) == 0 and len(ax.lines) == 0
    assert f"n < {MIN_BOOTSTRAP_N}" in " ".join(t.get_text() for t in ax.texts)
    one = df[df.design_space == "RegNetX-200MF"]
    ax = analysis.plot_edfs(one).axes[0]
    x, y = ax.lines[0].get_data()
    assert list(x) == [29.0, 29.0] and list(y) == [0.0, 1.0]


def test_report_leads_with_verdict_then_provenance(report):
    """The verdict (here its finished-models block: status ok, any error), then trainability
    (tests/test_report_trainability.py), then provenance."""
    path, text, df = report
    ids = re.findall(r"<section id='([a-z]+)'>", text)
    assert ids[:3] == ["verdict", "trainability", "provenance"]
    assert ids[3:] == ["edf", "curves", "trends", "efit", "best", "details"]
    verdict = text[text.index("<section id='verdict'>"):text.index("<section id='provenance'>")]
    ok = analysis.ok_rows(df)
    ea = ok[ok.design_space == "anynetx_a"].error.to_numpy()
    ee = ok[ok.design_space == "anynetx_e"].error.to_numpy()
    d_med = np.median(ea) - np.median(ee)
    p = stats.mannwhitneyu(ea, ee, alternative="two-sided").pvalue
    assert f"anynetx_a (n = 30) vs anynetx_e (n = 18): median {np.median(ea):.2f} vs " \
           f"{np.median(ee):.2f}, difference {d_med:+.2f} points (95% CI [" in verdict
    assert f"difference {ea.mean() - ee.mean():+.2f} points" in verdict
    assert "Holm-corrected over 1 pair" in verdict and p < 0.05  # the zoo model is no space
    assert "anynetx_e has the lower errors (significant at 0.05)" in verdict
    pairs = pd.read_csv(path.parent / "pairs.csv")
    row = pairs[pairs.view == "finished"].iloc[0]
    assert row.median_diff_low < d_med < row.median_diff_high and row.p == pytest.approx(p)
    prov = text[text.index("<section id='provenance'>"):text.index("<section id='edf'>")]
    for field in ("name=proxy", "epochs=3", "lr=0.05", "name=synthetic", "resolution=32",
                  "2, 2, 2, 2", "train_seed", "versions", "torch=synthetic"):
        assert field in prov, field
    assert "50 records; total training wall time 50 s" in prov  # 1 s per synthetic record
    # synthetic records name no machine (as records written before the field): said, no warning
    assert re.search(r"<td>machine</td>\s*<td>not recorded</td>", prov)
    assert "Records ran on" not in prov
    summary = pd.read_csv(path.parent / "summary.csv").set_index("design_space")
    assert tuple(summary.loc["anynetx_e", ["n", "n_records", "n_failed"]]) == (18, 19, 1)


def test_report_files_and_self_containment(report):
    path, text, _ = report
    out = path.parent
    assert text.count("<svg") >= 6 and "<img" not in text and "<script" not in text
    assert "<link" not in text and "http://" not in text.replace(
        "http://www.w3.org", "").replace("http://purl.org", "").replace(
        "http://creativecommons.org", "")
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {"edf.png", "normalized_edf.png", "curves.png", "efit.png", "widths.png"} <= set(pngs)
    assert "trends_anynetx_a.png" in pngs and "trends_RegNetX-200MF.png" not in pngs
    pairs = pd.read_csv(out / "pairs.csv")  # the one pair table: sampled spaces, one row a view
    assert pairs.view.tolist() == ["all", "trained", "finished"]
    assert list(pairs.columns) == ["view", *PAIR_COLUMNS]
    assert not (out / "comparison.csv").exists()
    assert not list(out.rglob("*.tmp"))


def test_report_pair_numbers_are_the_engines(report):
    """pairs.csv holds, for every view and pair, exactly what the pair table and the bootstrap
    engine give for the same models, n_boot and seed (issue 23: one statistics core)."""
    path, _, df = report
    pairs = pd.read_csv(path.parent / "pairs.csv", dtype=str)  # repr of each float: exact
    for view in ("all", "trained", "finished"):
        frame = view_frame(df, view)
        expected = pair_table(frame, ["anynetx_a", "anynetx_e"], n_boot=SETTINGS["n_boot"])
        row = pairs[pairs.view == view].iloc[0]
        for column in PAIR_COLUMNS[2:]:
            want = expected.iloc[0][column]
            got = row[column]
            assert (got == str(want)) if isinstance(want, (bool, np.bool_)) else (
                float(got) == want or (np.isnan(float(got)) and np.isnan(want))), (view, column)
        ea, ee = (analysis.ok_rows(frame[frame.design_space == s]).error.to_numpy(float)
                  for s in ("anynetx_a", "anynetx_e"))
        for name, stat in (("median_diff", median_diff), ("mean_diff", mean_diff),
                           ("relative_median_diff", median_ratio)):
            low, high = bootstrap_interval((ea, ee), stat, SETTINGS["n_boot"], 95, 0)
            assert (float(row[f"{name}_low"]), float(row[f"{name}_high"])) == (low, high)


def test_report_prints_numbers_for_people(report):
    _, text, df = report
    best = text[text.index("<section id='best'>"):text.index("<section id='details'>")]
    assert not re.search(r"\d\.\d+e[+-]\d", text.split("<svg")[0] + best)
    assert "[1.0" not in best and "MF</td>" in best
    row = analysis.best_rows(df, 1).iloc[0]
    assert f"<td>{', '.join(str(w) for w in row.spec['widths'])}</td>" in best


def test_captions_count_what_is_drawn(sweep, tmp_path):
    """Fewer ok models than `top`: the width panel and its caption give the real count."""
    d = tmp_path / "small"
    synthetic_population(d, "anynetx_e", 12, seed=4)
    df = analysis.load_sweep(d)
    path = analysis.write_report(df, tmp_path / "r", analysis.ReportSettings(**SETTINGS))
    text = path.read_text()
    assert "Per-block widths of the best 12 models" in text and "best 20" not in text
    assert ">best 12 models<" in text  # the panel title in the SVG


def test_axes_are_shared_across_spaces(report):
    path, text, df = report
    fig = analysis.plot_efit(df, n_boot=200, spaces=["anynetx_a", "anynetx_e"])
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()
    ylim = plots.metric_limits(df[df.design_space.isin(["anynetx_a", "anynetx_e"])])
    a = analysis.plot_trends(df[df.design_space == "anynetx_a"], ["depth"], ylim=ylim)
    e = analysis.plot_trends(df[df.design_space == "anynetx_e"], ["depth"], ylim=ylim)
    assert a.axes[0].get_ylim() == e.axes[0].get_ylim() == pytest.approx(ylim)
    ok = analysis.ok_rows(df)
    assert ylim[0] < ok.error[ok.design_space != "RegNetX-200MF"].min()


def test_markers_carry_model_tooltips(report):
    """Every EDF step and trend point is a <g class='model'> with a <title> naming the model,
    its error and its spec (no script, works offline)."""
    _, text, df = report
    row = analysis.best_rows(df[df.design_space == "anynetx_e"], 1).iloc[0]
    title = analysis.report.model_title(row, "error")
    assert f"e_fit = {analysis.fmt.number(row.e_fit, 3)}" in title
    assert f"anynetx_e #{row['index']}: error {analysis.fmt.number(row.error)}%" in title
    assert "w = " + ", ".join(str(w) for w in row.spec["widths"]) in title
    edf = text[text.index("<section id='edf'>"):text.index("<section id='curves'>")]
    n_ok = len(analysis.ok_rows(df))
    assert edf.count("<g class='model'><title>") >= n_ok  # one per EDF step
    import html as _html
    assert f"<title>{_html.escape(title)}</title>" in edf
    trends = text[text.index("<section id='trends'>"):text.index("<section id='efit'>")]
    assert trends.count(f"<title>{html.escape(title)}</title>") == len(SETTINGS["params"])
    assert "<a xlink:href" not in text


def test_training_curves_come_from_the_records(sweep):
    df = analysis.load_sweep(sweep)
    rows = analysis.extremes(df[df.design_space == "anynetx_e"], 2)
    assert list(rows["rank"]) == ["best", "best", "worst", "worst"]
    ok = analysis.ok_rows(df[df.design_space == "anynetx_e"])
    assert rows.error.iloc[0] == ok.error.min() and rows.error.iloc[2] == ok.error.max()
    hist = analysis.histories(rows)
    assert len(hist) == 4 * 3  # write_record writes 3 epochs
    first = hist[hist.model == rows.index[0]].sort_values("epoch")
    # write_record: test error of epoch e = error·(1 + 0.5·(n-1-e)/n), train error + 1
    e = rows.error.iloc[0]
    assert first.test_error.tolist() == pytest.approx([e * (1 + 0.5 * (2 - k) / 3)
                                                        for k in range(3)])
    assert (first.train_error - first.test_error).tolist() == pytest.approx([1.0] * 3)
    fig = analysis.plot_histories(rows, hist)
    assert len(fig.axes[0].lines) == 2 * 4  # test + train error per model
    assert fig.axes[0].get_title() == "anynetx_e"


def test_provenance_prefers_columns_and_reads_records_otherwise(sweep):
    df = analysis.load_sweep(sweep)
    p = analysis.provenance_of(df)
    assert p.values["regime"][0][0]["epochs"] == 3 and p.values["regime"][0][1] == len(df)
    assert dict(p.rows())["strides"] == "2, 2, 2, 2"  # a list, or load_sweep's "2,2,2,2"
    assert p.wall_seconds == pytest.approx(len(df))
    df = df.assign(train_seed=[7] * (len(df) - 1) + [8])  # as load_sweep's identity column
    p = analysis.provenance_of(df)
    assert p.values["train_seed"] == [(7, len(df) - 1), (8, 1)]
    assert dict(p.rows())["train_seed"] == f"7 ({len(df) - 1} records); 8 (1 records)"


def test_verdict_warns_when_n_is_too_small(tmp_path):
    d = tmp_path / "tiny"
    synthetic_population(d, "anynetx_a", 3, seed=1, shift=5)
    synthetic_population(d, "anynetx_e", 3, seed=2)
    df = analysis.load_sweep(d)
    text = analysis.write_report(df, tmp_path / "r", analysis.ReportSettings(
        **SETTINGS, fit=False)).read_text()
    verdict = text[text.index("<section id='verdict'>"):text.index("<section id='provenance'>")]
    assert "too few models to say anything: with n = 3 and 3 the smallest p a two-sided " \
           "Mann-Whitney test can give is 0.1, not below 0.05" in verdict
    assert "has the lower errors" not in verdict


def test_settings_refuse_bad_values():
    for kw, field in ((dict(metric="acc"), "metric"), (dict(n_boot=0), "n_boot"),
                      (dict(bins=0), "bins"), (dict(top=0), "top"),
                      (dict(pairs="some"), "pairs"), (dict(alpha=1.5), "alpha")):
        with pytest.raises(ValueError, match=f"^{field}: "):
            analysis.ReportSettings(**kw)


def test_a_plan_puts_its_verdicts_first(fitted, tmp_path):
    """With an analysis plan the first table is analysis.verdicts(df, plan): one row per
    hypothesis, its verdict beside its text."""
    pytest.importorskip("analysis.plan")  # the plans module (issue 12)
    plan = {"name": "mini", "alpha": 0.05, "correction": "holm", "metric": "all",
            "column": "error", "ci": 95, "n_boot": 300, "seed": 0,
            "hypotheses": [{"id": "E_better_A", "text": "AnyNetX_E beats AnyNetX_A",
                            "kind": "better", "a": "anynetx_e", "b": "anynetx_a",
                            "test": "mwu"}]}
    expected = analysis.verdicts(fitted, plan)
    path = analysis.write_report(fitted, tmp_path / "r",
                                 analysis.ReportSettings(**SETTINGS, curves=0), plan=plan)
    text = path.read_text()
    verdict = text[text.index("<section id='verdict'>"):text.index("<section id='provenance'>")]
    assert "<th>id</th>" in verdict and "<td>E_better_A</td>" in verdict
    assert f"<td>{expected.verdict.iloc[0]}</td>" in verdict
    assert pd.read_csv(path.parent / "verdicts.csv").id.tolist() == ["E_better_A"]
