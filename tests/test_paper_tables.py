"""The issue-25 section's blocks (`analysis.paper_tables`, ``dse-study paper docs``): the
populations trained so far and how error goes with depth in each, from the committed export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from analysis import paper_tables
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[1]


def test_depth_rows_are_spearman_per_population_in_the_studys_order():
    config = load_study("paper")
    models = pd.DataFrame({
        "design_space": ["regnety"] * 4 + ["regnetx"] * 5 + ["regnetx_dw"] * 2,
        "status": ["ok"] * 4 + ["ok"] * 4 + ["failed"] + ["ok"] * 2,
        "depth": [10, 20, 30, 40, 12, 24, 36, 48, 60, 10, 20],
        "error": [5.0, 4.0, 4.5, 3.0, 9.0, 12.0, 30.0, 60.0, float("nan"), 5.0, 6.0]})
    rows = paper_tables.depth_rows(models, config)
    assert [r[0] for r in rows] == ["RegNetX", "RegNetY"]  # order; dw has < 3 finished models
    assert rows[0][1:4] == ["4", "30", "1.00"]  # the failed run is left out
    rho = stats.spearmanr([10, 20, 30, 40], [5.0, 4.0, 4.5, 3.0])
    assert rows[1][3] == f"{rho.statistic:.2f}".replace("-", "−") == "−0.80"


def test_the_blocks_say_not_run_before_the_export(tmp_path):
    inputs = paper_tables.load(tmp_path)
    assert inputs.models is None and inputs.costs is None
    for name in ("paper-populations", "paper-depth", "paper-long-populations",
                 "paper-long-depth"):
        assert paper_tables.BLOCKS[name](inputs).startswith("*Not run yet: results/paper/")
    assert paper_tables.BLOCKS["paper-cost"](inputs).startswith("Not costed yet")


def test_the_committed_blocks_read_the_committed_export():
    inputs = paper_tables.load(ROOT / "results")
    block = paper_tables.BLOCKS["paper-populations"](inputs)
    counts = inputs.models["design_space"].value_counts()
    assert f"| RegNetY | {counts['regnety']} | 0 |" in block
    page = (ROOT / "docs" / "RESULTS.md").read_text()
    for name, render in paper_tables.BLOCKS.items():
        assert f"<!-- generated: {name} -->\n\n{render(inputs)}\n\n<!-- /generated -->" in page


@pytest.mark.parametrize("space", ["regnetx", "regnety"])
def test_the_populations_block_counts_each_populations_models(space):
    inputs = paper_tables.load(ROOT / "results")
    name = inputs.config.name_of(space)
    line = next(ln for ln in paper_tables.BLOCKS["paper-populations"](inputs).splitlines()
                if ln.startswith(f"| {name} |"))
    assert line.split(" | ")[1] == str(int((inputs.models["design_space"] == space).sum()))


def test_the_long_schedules_blocks_hold_both_of_its_studies_populations():
    """results/paper/epochs.csv holds the epochs study's populations and activation_long's
    Swish RegNetX: the blocks name each under its display name, in the studies' order."""
    inputs = paper_tables.load(ROOT / "results")
    block = paper_tables.BLOCKS["paper-long-populations"](inputs)
    counts = inputs.long_models["design_space"].value_counts()
    names = [ln.split(" | ")[0].lstrip("| ") for ln in block.splitlines()[2:]]
    order = [s for s in inputs.long_config.order if s in counts]
    assert names == [inputs.long_config.name_of(s) for s in order]
    assert "RegNetX (Swish)" in names
    for space in order:
        assert f"| {inputs.long_config.name_of(space)} | {counts[space]} |" in block
