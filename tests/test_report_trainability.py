"""Trainability apart from quality in the report and the EDF notebook (issue 11): per space the
trained fraction with its exact interval, per pair the exact test of the fractions with Holm's
correction, and the verdict, EDFs and pairwise statistics for all models (a model that did not
finish at 100 %) and for the trained core. Known answers on real synthetic sweeps, checked
against scipy."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from scipy import stats

import analysis
from analysis import fmt
from analysis.plots import edf_label
from analysis.population import view_frame
from analysis.testing import random_anynet_spec, synthetic_population, write_record

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SETTINGS = dict(n_boot=300, params=("depth", "w4"), curves=0, fit=False)
# Errors of the models that finished (10 classes: chance 90 %, a model trains below 45 %) and
# how many did not finish. anynetx_a: 12 trained, 4 untrained, 2 failed, 1 diverged.
ERRORS = {
    "anynetx_a": [20.0, 21.0, 22.5, 23.0, 24.0, 25.5, 26.0, 27.0, 28.0, 29.5, 30.0, 31.0,
                  50.0, 60.0, 80.0, 89.0],
    "anynetx_e": [18.0, 19.0, 19.5, 20.5, 21.0, 22.0, 23.5, 24.5, 25.0, 26.0, 27.5, 28.5,
                  29.0, 31.5, 32.0, 70.0],
    "regnetx": [17.0, 18.5, 19.0, 20.0, 21.5, 22.0, 23.0, 24.0, 25.0, 26.5],
}
NOT_FINISHED = {"anynetx_a": ["failed", "failed", "diverged"], "anynetx_e": [], "regnetx": []}
TRAINED = {s: sum(e < 45 for e in v) for s, v in ERRORS.items()}  # 12, 15, 10
N = {s: len(v) + len(NOT_FINISHED[s]) for s, v in ERRORS.items()}  # 19, 16, 10


def _write(d: Path, errors: dict[str, list[float]], not_finished: dict[str, list[str]]
           ) -> None:
    rng = np.random.default_rng(0)
    for space, values in errors.items():
        for i, e in enumerate(values):
            write_record(d, space, i, random_anynet_spec(rng), e)
        for j, status in enumerate(not_finished.get(space, [])):
            write_record(d, space, len(values) + j, random_anynet_spec(rng), 0.0,
                         status=status)


def _view_errors(space: str, view: str) -> np.ndarray:
    """What each view sees of a space, from the chosen numbers (not from the code)."""
    e = ERRORS[space]
    if view == "trained":
        return np.array([x for x in e if x < 45])
    return np.array(e + [100.0] * len(NOT_FINISHED[space]))


def _holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, written out."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        out[i] = min(1.0, running)
    return out


def _section(text: str, key: str) -> str:
    start = text.index(f"<section id='{key}'>")
    return text[start:text.index("</section>", start)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("trainability_sweep")
    _write(d, ERRORS, NOT_FINISHED)
    return d


@pytest.fixture(scope="module")
def df(sweep) -> pd.DataFrame:
    return analysis.load_sweep(sweep)


@pytest.fixture(scope="module")
def report(df, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("trainability_report")
    path = analysis.write_report(df, out, analysis.ReportSettings(**SETTINGS))
    return path, path.read_text()


def test_trainability_table_is_clopper_pearson(report):
    path, text = report
    table = pd.read_csv(path.parent / "trainability.csv").set_index("design_space")
    assert list(table.index) == ["anynetx_a", "anynetx_e", "regnetx"]
    section = _section(text, "trainability")
    assert "status ok and error &lt; 45% (half of chance error, 90% with 10 classes)" in section
    for space in ERRORS:
        n, k = N[space], TRAINED[space]
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        row = table.loc[space]
        assert (row.n, row.n_trained) == (n, k)
        assert row.fraction == pytest.approx(k / n)
        assert (row.low, row.high) == pytest.approx((ci.low, ci.high))
        cells = (f"<td>{space}</td>\n      <td>{n}</td>\n      <td>{k}</td>\n      "
                 f"<td>{100 * k / n:.1f}%</td>\n      "
                 f"<td>{100 * ci.low:.1f}–{100 * ci.high:.1f}%</td>")
        assert cells in section, space
    assert "<td>63.2%</td>" in section  # anynetx_a: 12 of 19


def test_exact_tests_of_trained_fractions_are_fishers_with_holm(report):
    path, text = report
    pairs = pd.read_csv(path.parent / "trained_pairs.csv")
    expected = [("anynetx_a", "anynetx_e"), ("anynetx_a", "regnetx"), ("anynetx_e", "regnetx")]
    assert list(zip(pairs.a, pairs.b, strict=True)) == expected  # the verdict's pairs
    p = []
    for a, b in expected:
        table = [[TRAINED[a], TRAINED[b]], [N[a] - TRAINED[a], N[b] - TRAINED[b]]]
        p.append(stats.fisher_exact(table).pvalue)
    assert pairs.p.tolist() == pytest.approx(p)
    assert pairs.p_holm.tolist() == pytest.approx(_holm(p))
    assert (pairs.method == "fisher").all()
    section = _section(text, "trainability")
    row = pairs.iloc[1]  # anynetx_a 12 of 19 vs regnetx 10 of 10
    ci = {s: stats.binomtest(TRAINED[s], N[s]).proportion_ci(0.95, method="exact")
          for s in ("anynetx_a", "regnetx")}
    assert (f"anynetx_a vs regnetx: trained anynetx_a 12 of 19 (63%, 95% CI "
            f"{100 * ci['anynetx_a'].low:.0f}–{100 * ci['anynetx_a'].high:.0f}%) vs regnetx "
            f"10 of 10 (100%, 95% CI {100 * ci['regnetx'].low:.0f}–100%)") in section
    assert f"Fisher exact test p = {fmt.pvalue(row.p)}, Holm-corrected over 3 pairs: p = " \
           f"{fmt.pvalue(row.p_holm)}." in section


def test_verdict_is_given_for_all_models_and_for_the_trained_core(report):
    """Both views, with their own n, medians and Mann-Whitney p (scipy's on the chosen
    numbers: not finished at 100 % for all models, only errors < 45 % for the core)."""
    path, text = report
    verdict = _section(text, "verdict")
    pairs = pd.read_csv(path.parent / "pairs.csv")
    assert pairs.view.tolist() == ["all"] * 3 + ["trained"] * 3 + ["finished"] * 3
    heads = {}
    for view in ("all", "trained"):
        ea, ee = _view_errors("anynetx_a", view), _view_errors("anynetx_e", view)
        row = pairs[(pairs.view == view) & (pairs.a == "anynetx_a") & (pairs.b == "anynetx_e")]
        row = row.iloc[0]
        p = stats.mannwhitneyu(ea, ee, alternative="two-sided").pvalue
        assert (row.n_a, row.n_b) == (ea.size, ee.size)
        assert row.p == pytest.approx(p)
        assert row.median_diff == pytest.approx(np.median(ea) - np.median(ee))
        assert row.mean_diff == pytest.approx(ea.mean() - ee.mean())
        heads[view] = (f"anynetx_a (n = {ea.size}) vs anynetx_e (n = {ee.size}): median "
                       f"{np.median(ea):.2f} vs {np.median(ee):.2f}")
        assert heads[view] in verdict, view
    assert heads["all"] != heads["trained"]
    assert "anynetx_a (n = 19) vs anynetx_e (n = 16)" in heads["all"]
    assert "anynetx_a (n = 12) vs anynetx_e (n = 15)" in heads["trained"]
    # the two views' blocks, in that order, each after its heading
    assert verdict.index("<h3 id='verdict-all'>") < verdict.index(heads["all"]) < \
        verdict.index("<h3 id='verdict-trained'>") < verdict.index(heads["trained"])
    # Holm within each view: the family is the three pairs of that view
    for view in ("all", "trained"):
        rows = pairs[pairs.view == view]
        assert rows.p_holm.tolist() == pytest.approx(_holm(rows.p.tolist()))


def test_edfs_are_drawn_for_both_views(report):
    _, text = report
    edf = text[text.index("<section id='edf'>"):text.index("<section id='trends'>")]
    for view in ("all", "trained"):
        for space in ERRORS:
            label = edf_label(space, _view_errors(space, view))
            assert html.escape(label) in edf, (view, label)
    assert edf_label("anynetx_a", _view_errors("anynetx_a", "all")).startswith("anynetx_a 19|")
    assert ">all models (not finished: 100%)<" in edf and ">trained core (error &lt; 45%)<" in edf
    # the failed model's marker sits at 100 % with a tooltip that says so
    assert "<title>anynetx_a #16: failed (counted as 100% among all models)" in edf


def test_pairwise_statistics_per_view(report):
    """KS per pair and view: columns of the one pair table (pairs.csv), also shown folded."""
    path, text = report
    table = pd.read_csv(path.parent / "pairs.csv")
    assert not (path.parent / "comparison.csv").exists()
    details = _section(text, "details")
    assert details.count("<td>all</td>") == 3 and details.count("<td>trained</td>") == 3
    assert "<td>finished</td>" not in details and "<th>ks_pvalue</th>" in details
    for view in ("all", "trained"):
        row = table[(table.view == view) & (table.a == "anynetx_a") & (table.b == "regnetx")]
        ks = stats.ks_2samp(_view_errors("anynetx_a", view), _view_errors("regnetx", view))
        assert row.ks.iloc[0] == pytest.approx(ks.statistic)
        assert row.ks_pvalue.iloc[0] == pytest.approx(ks.pvalue)


def test_view_frame(df):
    everything = view_frame(df, "all")
    assert len(everything) == sum(N.values()) and (everything.status == "ok").all()
    a = everything[everything.design_space == "anynetx_a"]
    assert sorted(a.error) == sorted(_view_errors("anynetx_a", "all"))
    assert a.run_status.value_counts().to_dict() == {"ok": 16, "failed": 2, "diverged": 1}
    core = view_frame(df, "trained")
    assert core.groupby("design_space").size().to_dict() == TRAINED
    assert len(view_frame(df, "finished")) == sum(map(len, ERRORS.values()))
    assert view_frame(df, "trained", num_classes=2).error.max() < 25  # chance 50 %
    with pytest.raises(ValueError, match=r"^view: 'best' is not allowed"):
        view_frame(df, "best")


def test_view_figures_share_colours_and_keep_legends_off_the_data(df):
    fig = analysis.plots.plot_view_edfs(df)
    assert [ax.get_title() for ax in fig.axes] == ["all models (not finished: 100%)",
                                                   "trained core (error < 45%)"]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert not any(legend.get_window_extent(r).overlaps(o.get_window_extent(r))
                       for o in fig.axes)
    colours = [{t.get_text().split()[0]: h.get_color() for t, h in
                zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles, strict=True)}
               for ax in fig.axes]
    assert colours[0] == colours[1]
    fig = analysis.plots.plot_view_normalized_edfs(df, ["flops", "params"], bins=2)
    assert len(fig.axes) == 4 and fig.axes[2].get_title() == "trained core (error < 45%)"


def test_a_space_with_no_trained_model(tmp_path):
    """Every model of anynetx_b is at chance or failed: 0 trained, the trained-core sentence
    says there is nothing to compare, its EDF panel leaves the space out; Barnard's test and
    a two-class threshold are settings."""
    errors = {"anynetx_a": [20.0, 22.0, 24.0, 26.0, 28.0],
              "anynetx_b": [88.0, 89.0, 90.0, 91.0]}
    _write(tmp_path / "s", errors, {"anynetx_b": ["failed"]})
    df = analysis.load_sweep(tmp_path / "s")
    path = analysis.write_report(df, tmp_path / "r", analysis.ReportSettings(
        **SETTINGS, trained_test="barnard"))
    text = path.read_text()
    verdict = _section(text, "verdict")
    assert "anynetx_a (n = 5) vs anynetx_b (n = 0): no model of anynetx_b here: nothing to " \
           "compare." in verdict
    assert "anynetx_a (n = 5) vs anynetx_b (n = 5): median 24.00 vs 90.00" in verdict
    pairs = pd.read_csv(path.parent / "trained_pairs.csv")
    barnard = stats.barnard_exact([[5, 0], [0, 5]])
    assert pairs.p.iloc[0] == pytest.approx(barnard.pvalue) and pairs.method.iloc[0] == "barnard"
    assert "Barnard exact test" in _section(text, "trainability")
    edf = _section(text, "edf").split("</figure>")[0]  # the EDFs, not the normalized ones
    assert "anynetx_b 5|88.0|91.6" in edf  # all models (the failed one at 100 %)
    assert re.findall(r"anynetx_b \d+\|", edf) == ["anynetx_b 5|"]  # not in the trained core
    assert re.findall(r"anynetx_a \d+\|", edf) == ["anynetx_a 5|"] * 2
    # two classes: chance 50 %, a model trains below 25 %: anynetx_a 3 of 5
    path = analysis.write_report(df, tmp_path / "r2", analysis.ReportSettings(
        **SETTINGS, num_classes=2))
    table = pd.read_csv(path.parent / "trainability.csv").set_index("design_space")
    assert table.n_trained.to_dict() == {"anynetx_a": 3, "anynetx_b": 0}


def test_settings_refuse_bad_trainability_values():
    with pytest.raises(ValueError, match=r"^trained_test: 'chi2' is not allowed"):
        analysis.ReportSettings(trained_test="chi2")
    with pytest.raises(ValueError, match=r"^num_classes: 1 is not allowed"):
        analysis.ReportSettings(num_classes=1)


def test_a_plan_is_followed_by_trainability(df, tmp_path):
    plan = {"name": "mini", "alpha": 0.05, "correction": "holm", "metric": "trained",
            "column": "error", "ci": 95, "n_boot": 200, "seed": 0,
            "hypotheses": [{"id": "R_better_A", "text": "RegNetX beats AnyNetX_A",
                            "kind": "better", "a": "regnetx", "b": "anynetx_a",
                            "test": "mwu"}]}
    text = analysis.write_report(df, tmp_path / "r", analysis.ReportSettings(**SETTINGS),
                                 plan=plan).read_text()
    ids = re.findall(r"<section id='([a-z]+)'>", text)
    assert ids[:3] == ["verdict", "trainability", "provenance"]
    assert "<td>R_better_A</td>" in _section(text, "verdict")


def test_edf_notebook_shows_fractions_and_both_views(tmp_path, monkeypatch):
    """01_edf.ipynb on a sweep with untrained and failed models: trained fractions with their
    exact intervals, the exact test per pair, and a verdict for each view."""
    d = tmp_path / "sweeps" / "mixed"
    synthetic_population(d, "anynetx_c", 14, seed=1, shift=4.0, sorted_stages=False)
    synthetic_population(d, "anynetx_e", 14, seed=2)
    rng = np.random.default_rng(5)
    write_record(d, "anynetx_c", 50, random_anynet_spec(rng), 0.0, status="failed")
    df = analysis.load_sweep(d)
    fractions = analysis.trained_fractions(df).set_index("design_space")
    c = fractions.loc["anynetx_c"]
    k = int(c.n_trained)
    assert c.n == 15 and 0 < k < 14  # untrained and failed models exist
    assert fractions.loc["anynetx_e", "n_trained"] == 14
    monkeypatch.setenv("DSE_SWEEP_DIR", str(d))
    nb = nbformat.read(NOTEBOOKS / "01_edf.ipynb", as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                  for o in cell.outputs)
    assert (f"anynetx_c: {k} of 15 trained ({100 * c.fraction:.1f}%, 95% CI "
            f"{100 * c.low:.1f}–{100 * c.high:.1f}%)") in out
    p = stats.fisher_exact([[k, 14], [15 - k, 0]]).pvalue
    assert f"Fisher exact test p = {fmt.pvalue(p)}" in out
    assert "all models:\n  anynetx_c (n = 15) vs anynetx_e (n = 14): median" in out
    assert f"trained core:\n  anynetx_c (n = {k}) vs anynetx_e (n = 14): median" in out
