"""analysis.speed_tables and docs/SPEED.md: the committed page's generated blocks are what
`BLOCKS` renders from the committed CSVs (``dse-study speed docs --check``; a hand edit or a
stale table fails here), text outside the markers is never touched, the shipped profiles are
found beside the results folder, and stale or missing inputs get one line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import docblocks
from analysis import speed_tables as tables
from analysis.docblocks import MARKER
from sampling.latency import SHIPPED_PROFILE_DIR

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "SPEED.md"
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def committed() -> tables.Inputs:
    return tables.load(RESULTS)


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in MARKER.finditer(DOC.read_text())}


@pytest.fixture
def results(tmp_path) -> Path:
    """A writable copy of the committed inputs, in a checkout-like folder with the profiles."""
    out = tmp_path / "results"
    out.mkdir()
    for name in tables.CSVS:
        shutil.copy(RESULTS / f"{name}.csv", out / f"{name}.csv")
    shutil.copytree(SHIPPED_PROFILE_DIR, tmp_path / tables.PROFILES)
    return out


def _fill(inp: tables.Inputs) -> dict:
    return docblocks.bind(tables.BLOCKS, inp)


def test_committed_doc_is_up_to_date(committed):
    assert docblocks.check(DOC.read_text(), tables.BLOCKS, committed) == []


def test_the_profiles_are_the_shipped_ones():
    """`analysis` may not import `sampling`: the folder it reads is the one `sampling` ships."""
    assert tables.profile_dir(RESULTS) == SHIPPED_PROFILE_DIR


def test_every_block_is_present_and_filled(blocks):
    assert set(blocks) == set(tables.BLOCKS)
    assert all(text.strip() for text in blocks.values())


def test_hand_edit_is_caught_and_undone_outside_text_kept(committed):
    text = DOC.read_text()
    r = pd.read_csv(RESULTS / "speed_ratio.csv").iloc[0]
    cell = f"**{r.speedup:.2f}** [{r.speedup_low:.2f}, {r.speedup_high:.2f}]"
    assert text.count(cell) == 1
    edited = text.replace(cell, f"**{r.speedup + 1:.2f}** [{r.speedup_low:.2f}, "
                                f"{r.speedup_high:.2f}]")
    edited = edited.replace("## Latency-aware design spaces",
                            "## Latency-aware design spaces\n\nA hand-written line.")
    assert docblocks.check(edited, tables.BLOCKS, committed) == ["ratio"]
    assert docblocks.render(edited, _fill(committed)) == text.replace(
        "## Latency-aware design spaces",
        "## Latency-aware design spaces\n\nA hand-written line.")


def test_zoo_table_has_every_csv_row_with_its_numbers(blocks):
    zoo = pd.read_csv(RESULTS / "speed_zoo.csv")
    rows = [line for line in blocks["zoo"].strip().splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(zoo)  # header + one row per model, in the CSV's order
    for line, r in zip(rows[1:], zoo.itertuples(), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == r.model and cells[1] == str(r.resolution)
        assert cells[2] == f"{r.flops / 1e9:.2f}" and cells[4] == f"{r.acts / 1e6:.1f}"
        assert float(cells[5].split(" [")[0].replace(",", "")) == pytest.approx(
            r.infer_b1_ms, rel=0.01)
        err = "" if pd.isna(r.published_top1_err) else f"{r.published_top1_err:.1f}"
        assert cells[-2] == err


def test_ratio_and_predictor_blocks_carry_the_csv_values(blocks):
    ratio = pd.read_csv(RESULTS / "speed_ratio.csv")
    for r in ratio.itertuples():
        assert f"**{r.speedup:.2f}** [{r.speedup_low:.2f}, {r.speedup_high:.2f}]" in blocks["ratio"]
    eager = ratio[ratio.runtime.isin(["infer", "train"])]
    assert f"from {eager.speedup.min():.2f} to {eager.speedup.max():.2f}" in blocks[
        "ratio-summary"]
    fits = pd.read_csv(RESULTS / "runtime_fits.csv")
    for f in fits.itertuples():
        row = next(line for line in blocks["predictors"].splitlines()
                   if f"| {f.features.replace('+', ' + ')} |" in line)
        assert f"{f.cv_r2:.3f}" in row and f"{f.r2:.3f}" in row
    best = fits.loc[fits.cv_r2.idxmax()]
    assert f"**{best.cv_r2:.3f}**" in blocks["predictors"]


def test_r2_difference_lies_in_its_interval_and_matches_the_fits(blocks):
    fits = pd.read_csv(RESULTS / "runtime_fits.csv").set_index("features")
    line = blocks["r2-summary"]
    assert f"CV R² flops {fits.loc['flops', 'cv_r2']:.3f}, acts {fits.loc['acts', 'cv_r2']:.3f}" \
        in line
    diff, lo, hi = (float(v.replace("−", "-")) for v in re.search(
        r"acts − flops = \*\*([−+][\d.]+)\*\* \[([−+][\d.]+), ([−+][\d.]+)\]", line).groups())
    assert lo <= diff <= hi
    assert diff == pytest.approx(fits.loc["acts", "cv_r2"] - fits.loc["flops", "cv_r2"],
                                 abs=1e-3)


def test_profile_formula_is_the_profile_json(blocks):
    for path, p in tables.load(RESULTS).profiles:
        line = next(ln for ln in blocks["profile"].splitlines() if path in ln)
        assert all(f"{c:.3g}·" in line for c in p["coef"])
        assert f"CV R² {p['cv_r2']:.3f}" in line


def test_effnet_counts_flag_a_difference(results):
    zoo = pd.read_csv(results / "speed_zoo.csv")
    zoo.loc[zoo.model == "EfficientNet-B0", "flops"] += 1
    zoo.to_csv(results / "speed_zoo.csv", index=False)
    block = tables.effnet_counts(tables.load(results))
    assert "385,825,093 flops" in block and "**not equal**" in block


def test_stale_fits_get_one_line(results):
    fits = pd.read_csv(results / "runtime_fits.csv")
    fits.loc[fits.features == "acts", "cv_r2"] += 0.01
    fits.to_csv(results / "runtime_fits.csv", index=False)
    inp = tables.load(results)
    with pytest.raises(ValueError) as err:
        docblocks.check(DOC.read_text(), tables.BLOCKS, inp)
    msg = str(err.value)
    assert "\n" not in msg and "runtime_fits.csv: cv_r2 of 'acts'" in msg
    assert "rerun the runtime study's fit step" in msg


def test_missing_input_and_bad_markers_get_one_line(committed, results):
    shutil.rmtree(results.parent / tables.PROFILES)
    with pytest.raises(ValueError, match=r"profiles: .* holds no \*\.json"):
        tables.load(results)
    (results / "speed_ratio.csv").unlink()
    with pytest.raises(ValueError, match="speed_ratio.csv' does not exist"):
        tables.load(results)
    text = DOC.read_text()
    fill = _fill(committed)
    no_zoo = re.sub(r"<!-- generated: zoo -->.*?<!-- /generated -->", "", text, count=1,
                    flags=re.DOTALL)
    with pytest.raises(ValueError, match="has no generated block 'zoo'"):
        docblocks.render(no_zoo, fill)
    with pytest.raises(ValueError, match="block 'tabel' is not known"):
        docblocks.render(text + "\n<!-- generated: tabel --><!-- /generated -->\n", fill)
    with pytest.raises(ValueError, match="inline block 'zoo' got several lines"):
        docblocks.render(re.sub(r"<!-- generated: zoo -->.*?<!-- /generated -->",
                                "<!-- generated: zoo --><!-- /generated -->", text, count=1,
                                flags=re.DOTALL), fill)
