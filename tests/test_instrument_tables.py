"""analysis.instrument_tables and docs/REGIME.md: the committed page's generated blocks are what
`BLOCKS` renders from the committed CSVs (``dse-study instrument docs --check``), its fidelity
table is exactly `fidelity_by_space` on the exported runs, the blocks of the attenuation ceiling
follow `analysis.instrument`, and a missing input is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import docblocks
from analysis import instrument as ins
from analysis import instrument_tables as tables
from analysis.docblocks import MARKER, SPACE_NAMES
from analysis.fidelity import Targets

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "REGIME.md"
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def committed() -> tables.Inputs:
    return tables.load(RESULTS)


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in MARKER.finditer(DOC.read_text())}


def test_committed_doc_is_up_to_date(committed):
    """Every generated block of docs/REGIME.md is what `BLOCKS` renders, byte for byte; a hand
    edit is caught and rewritten, the text outside the markers kept."""
    text = DOC.read_text()
    assert docblocks.check(text, tables.BLOCKS, committed) == []
    edited = text.replace("<!-- generated: history -->\n\n| candidate",
                          "<!-- generated: history -->\n\n| a hand edit")
    assert edited != text
    assert docblocks.check(edited, tables.BLOCKS, committed) == ["history"]
    assert docblocks.render(edited, docblocks.bind(tables.BLOCKS, committed)) == text


def test_every_block_is_present_and_filled(blocks):
    assert set(blocks) == set(tables.BLOCKS)
    assert all(text.strip() for text in blocks.values())


def test_history_has_every_row_of_fidelity_csv(blocks):
    rows = [ln for ln in blocks["history"].strip().splitlines() if ln.startswith("| ")]
    hist = pd.read_csv(RESULTS / "fidelity.csv")
    assert len(rows) == 1 + len(hist)
    for line, r in zip(rows[1:], hist.itertuples(), strict=True):
        assert f"{r.spearman:.2f} [{r.spearman_low:.2f}, {r.spearman_high:.2f}]" in line


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")  # a partial reference
def test_space_table_is_fidelity_by_space_on_the_exported_runs(blocks):
    """Recomputed here from the CSV the doc names: the same ρ for every space, and the tables
    that need the reference wait until every space has N_MIN models with both its seeds."""
    from analysis.fidelity import fidelity_by_space, split_by_seed

    runs = pd.read_csv(RESULTS / "instrument" / "small_geometry.csv")
    proxy = split_by_seed([runs[runs.regime_name == "proxy"].reset_index(drop=True)])
    ref = split_by_seed([runs[runs.regime_name == "proxy_long"].reset_index(drop=True)])
    keys = ["design_space", "index"]
    both = ref[0][keys].merge(ref[1][keys], on=keys)
    table, _ = fidelity_by_space(proxy, [r.merge(both, on=keys) for r in ref],
                                 ins.ORDER, n_boot=ins.N_BOOT, seed=ins.SEED)
    n = int(both.groupby("design_space").size().reindex(ins.ORDER).fillna(0).min())
    for r in table[table.design_space != "pooled"].itertuples():
        line = next(ln for ln in blocks["instrument-spread"].splitlines()
                    if ln.startswith(f"| {SPACE_NAMES[r.design_space]} |"))
        assert f"{r.rho_seeds:.2f} [{r.rho_seeds_low:.2f}, {r.rho_seeds_high:.2f}]" in line
        if n < ins.N_MIN:
            continue
        line = next(ln for ln in blocks["instrument-spaces"].splitlines()
                    if ln.startswith(f"| {SPACE_NAMES[r.design_space]} |"))
        assert f"| {r.n} |" in line
        assert f"{r.rho_ref_s0:.2f} [{r.rho_ref_s0_low:.2f}, {r.rho_ref_s0_high:.2f}]" in line
    if n < ins.N_MIN:
        for name in ("instrument-spaces", "instrument-pairs"):
            assert f"{n} of {ins.N_MIN} models per space" in blocks[name]
        assert f"not yet judged (N = {n} of {ins.N_MIN})" in blocks[
            "instrument-targets"]


def test_spread_block_matches_the_proxy_runs(blocks):
    runs = pd.read_csv(RESULTS / "instrument" / "small_geometry.csv")
    p = runs[(runs.regime_name == "proxy") & (runs.design_space == "regnetx")]
    w = p.pivot_table(index="index", columns="train_seed", values="error")
    noise = np.median(np.abs(w[0] - w[1]))
    line = next(ln for ln in blocks["instrument-spread"].splitlines()
                if ln.startswith("| RegNetX |"))
    assert f"| {noise:.2f} |" in line


def test_missing_input_is_one_line(tmp_path):
    (tmp_path / "instrument").mkdir()
    shutil.copy(RESULTS / "fidelity.csv", tmp_path / "fidelity.csv")
    with pytest.raises(ValueError) as err:
        tables.load(tmp_path)
    assert str(err.value).startswith("results: ") and "small_geometry.csv" in str(err.value)
    assert "\n" not in str(err.value)


def test_ceiling_block_is_the_attenuation_bound():
    """The ceiling table prints `instrument.attenuation_bound` per space beside the measured
    ρ, and waits while a space has fewer than N_MIN models with the reference."""
    row = {"design_space": "regnetx", "n": 24, "rho_seeds": 0.81, "rho_ref_seeds": 0.5,
           "rho_ref_s0": 0.6, "rho_ref_s1": 0.7}
    judged = ins.Judged("proxy", pd.DataFrame([row, {**row, "design_space": "anynetx_a",
                                                        "rho_ref_seeds": -0.1}]),
                        pd.DataFrame(), 24)
    lines = tables._ceiling(judged).splitlines()
    assert lines[2] == "| RegNetX | 0.81 | 0.50 | 0.67 | 0.73 | 0.65 |"
    assert lines[3] == "| AnyNetX_A | 0.81 | -0.10 | – | – | 0.65 |"
    assert tables._ceiling(ins.Judged("proxy", pd.DataFrame([row]), pd.DataFrame(), 23)
                           ).startswith("*Not shown yet: 23 of 24")


def test_ceiling_below_names_the_spaces_of_the_rule(committed, blocks):
    below = [SPACE_NAMES[sp] for sp in ins.below_ceiling(committed.first)]
    assert blocks["ceiling-below"] == (", ".join(below) or "none")


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")
def test_the_chosen_regime_is_judged_like_the_first(tmp_path):
    """With the proxy's runs standing in for every screened regime, the scores tie and only
    proxy_e4 has a quiet timing under the cost target, so the rule picks it, and its tables are
    the proxy's (the same runs against the same reference)."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    runs = pd.read_csv(results / "instrument" / "small_geometry.csv")
    stand_in = runs[runs.regime_name == "proxy"]
    pd.concat([stand_in.assign(regime_name=name) for name in ins.SCREEN]).to_csv(
        results / "instrument" / "screen.csv", index=False)
    timing = pd.read_csv(results / "instrument" / "timing.csv")
    assert (timing[timing.regime_name == "proxy_e4"].groupby("design_space")["wall_seconds"]
            .median().max() <= Targets().seconds)
    inp = tables.load(results)
    assert inp.chosen is not None and inp.chosen.name == "proxy_e4"
    pd.testing.assert_frame_equal(inp.chosen.spaces, inp.first.spaces)
    assert tables.BLOCKS["chosen-name"](inp) == "`proxy_e4`"
    assert tables.BLOCKS["chosen-spaces"](inp) == tables.BLOCKS["instrument-spaces"](inp)
    assert "`proxy_e4` s0" in tables.BLOCKS["chosen-pairs"](inp)


@pytest.mark.parametrize("name", ["quickstart", "refinement", "confirmatory"])
def test_the_experiments_run_on_the_instrument_the_rule_chose(committed, name):
    """The geometry and regime of the presets are the ones docs/REGIME.md's rule chose from the
    committed screen, so the two cannot drift apart."""
    from hydra import compose, initialize_config_dir

    chosen = committed.chosen.name if committed.chosen is not None else ins.PROXY
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"+experiment={name}"])
    assert cfg.regime.name == chosen and cfg.design_space.stem_stride == 1
