"""Plots, the HTML report and the dse-analyze command on small synthetic sweeps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import analysis
from analysis.testing import synthetic_population, write_record
from anynet import zoo

REPO = Path(__file__).resolve().parents[1]


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


def test_plots_return_figures_with_paper_labels(sweep):
    df = analysis.fit_models(analysis.ok_rows(analysis.load_sweep(sweep)))
    fig = analysis.plot_edfs(df)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    e = df[df.design_space == "anynetx_e"].error
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


def test_report_on_a_partial_sweep(sweep, tmp_path):
    df = analysis.load_sweep(sweep)
    settings = analysis.ReportSettings(n_boot=500, params=("depth", "w4", "flops"))
    path = analysis.write_report(df, tmp_path / "r", settings)
    text = path.read_text()
    for section in ("Population", "Comparison of design spaces", "Error EDFs",
                    "Normalized EDFs", "Parameter trends", "Quantized linear fits", "Best 10"):
        assert section in text
    assert "anynetx_e: 18 ok of 19" in text and "anynetx_a: 30 ok of 30" in text
    assert text.count("<svg") >= 5 and "<img" not in text and "<script" not in text
    assert "<link" not in text
    summary = pd.read_csv(tmp_path / "r" / "summary.csv")
    row = summary.set_index("design_space").loc["anynetx_e"]
    assert (row.n, row.n_records, row.n_failed) == (18, 19, 1)
    assert len(pd.read_csv(tmp_path / "r" / "comparison.csv")) == 3
    pngs = sorted(p.name for p in (tmp_path / "r" / "figures").glob("*.png"))
    assert {"edf.png", "normalized_edf.png", "efit.png", "widths.png"} <= set(pngs)
    assert "trends_anynetx_a.png" in pngs and "trends_RegNetX-200MF.png" not in pngs


def test_dse_analyze_command(sweep, tmp_path):
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "analysis.cli", f"sweep.dir={sweep}",
                        f"out={out}", "n_boot=300", "propose=true", "propose_top=30",
                        f"propose_path={tmp_path / 'proposed.yaml'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == f"report: {out / 'report.html'}"
    assert any("anynetx_e: 1 failed, 18 ok" in x or "anynetx_e: 18 ok, 1 failed" in x
               for x in lines)
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()
    assert "defaults:" in (tmp_path / "proposed.yaml").read_text()
    assert not (tmp_path / "outputs").exists()  # no Hydra output folders
