"""Verdicts across two datasets (issue 21, item 4; analysis.robustness, ``dse-study robustness``):
the robustness rule on hand-made verdicts (every branch), a reference's pilot built from a small
runs table (seed means, models without every seed dropped, a hypothesis on a missing space kept
as a row that says why, the rest one Holm family), a study not run yet reads "not run yet" and
fills in once its verdicts exist, and the committed files and block regenerate byte for byte."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import plan as plan_module
from analysis import robustness_tables as rt
from analysis import study_cli
from analysis.robustness import (
    NOT_JUDGED,
    VERDICTS,
    Cell,
    Reading,
    Reference,
    opposite,
    parse_robustness,
    pilot_models,
    pilot_runs,
    reading,
    reference_verdicts,
)
from analysis.study import Data, StudyConfig, load_study
from analysis.study_export import study_frame

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DOC = ROOT / "docs" / "RESULTS.md"
DATA = Data(resolution=28, in_channels=1, num_classes=10, stem_width=32)
M, F, R1, R2 = "mnist5k", "Fashion-MNIST", "mnist5k reference", "Fashion-MNIST reference"


# -- the rule -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("m", "f", "r1", "r2", "robust", "why"), [
    ("supported", "supported", None, None, True, "supported"),
    ("contradicted", "contradicted", "contradicted", "not resolved", True, "contradicted"),
    ("equivalent", "equivalent", "supported", None, True, "equivalent"),  # not opposite
    ("supported", "supported", "not resolved", None, True, "supported"),  # no veto
    ("supported", "supported", "contradicted", None, False, f"{R1} contradicts"),
    ("equivalent", "equivalent", None, "contradicted", False, f"{R2} contradicts"),
    ("contradicted", "contradicted", "supported", "equivalent", False,
     f"{R1} and {R2} contradict"),
    ("supported", "contradicted", None, None, False, "datasets disagree"),
    ("supported", "equivalent", None, None, False, "datasets disagree"),
    ("supported", "not resolved", None, None, False, f"unresolved on {F}"),
    ("not resolved", "not resolved", None, None, False, f"unresolved on {M} and {F}"),
    ("supported", None, None, None, False, f"{F} not run yet"),
    (None, None, None, None, False, f"{M} and {F} not run yet"),
    ("contradicted", None, "supported", None, False, f"{F} not run yet; {R1} contradicts"),
    ("not resolved", "supported", "contradicted", None, False,
     f"unresolved on {M}; {R1} contradicts"),
])
def test_the_rule_reads_every_branch(m, f, r1, r2, robust, why):
    got = reading({M: m, F: f}, {R1: r1, R2: r2})
    assert got.robust is robust
    if robust:
        assert got == Reading(True, why, ())
        assert str(got) == f"**robust**: {why} on both"
    else:
        assert "; ".join(got.reasons) == why and got.verdict is None
        assert str(got) == f"not robust: {why}"


def test_a_dataset_with_no_plan_reads_not_planned_not_not_run():
    got = reading({M: "not resolved", F: None}, {R1: None}, unplanned=[F])
    assert not got.robust and got.reasons == (f"not planned on {F}", f"unresolved on {M}")
    # a decided verdict on the one dataset that has a plan is still not robust
    got = reading({M: "supported", F: None}, {}, unplanned=[F])
    assert str(got) == f"not robust: not planned on {F}"


def test_opposites_and_verdict_words():
    assert VERDICTS == plan_module.VERDICTS  # the plan's words, kept without importing scipy
    assert opposite("contradicted", "supported") and opposite("equivalent", "contradicted")
    assert not opposite("supported", "equivalent") and not opposite("supported", "supported")
    assert not opposite("not resolved", "contradicted")
    with pytest.raises(ValueError, match=f"{M}: 'maybe' is not allowed"):
        reading({M: "maybe", F: None}, {})


# -- a reference's pilot --------------------------------------------------------------------------
def _runs() -> pd.DataFrame:
    """8 models each of AnyNetX_A, C and D under seeds 0 and 1 of `long` (and a decoy regime);
    D's errors far below C's, A's between; D's model 7 has no seed-1 run."""
    rows = []
    base = {"anynetx_a": 8.0, "anynetx_c": 12.0, "anynetx_d": 4.0}
    for regime in ("long", "short"):
        for seed in (0, 1):
            for space, level in base.items():
                for i in range(8):
                    if (space, i, seed) == ("anynetx_d", 7, 1):
                        continue
                    rows.append({
                        "regime_name": regime, "train_seed": seed, "design_space": space,
                        "index": i, "status": "ok",
                        "error": level + 0.1 * i + (0.5 if seed else 0.0)
                        + (50.0 if regime == "short" else 0.0),
                        "wall_seconds": 10.0 + seed, "stem_stride": 1, "strides": "2,2,2,2",
                        "resolution": 28, "flops": 1e6 * (i + 1), "params": 1000 + i,
                        "acts": 5000 * (i + 1), "depth": 4,
                        **{f"d{k}": 1 for k in range(1, 5)},
                        **{f"w{k}": 8 * 2 ** k for k in range(1, 5)},
                        **{f"b{k}": 1 for k in range(1, 5)},
                        **{f"g{k}": 8 for k in range(1, 5)}})
    return pd.DataFrame(rows)


def test_pilot_models_are_seed_means_of_models_with_every_seed():
    spaces = ["anynetx_a", "anynetx_c", "anynetx_d"]
    runs = pilot_runs(_runs(), "long", (0, 1), spaces, 8)
    assert len(runs) == 3 * 8 * 2 - 1 and set(runs["regime_name"]) == {"long"}
    models = pilot_models(runs, (0, 1), spaces)
    assert models.groupby("design_space").size().to_dict() == {
        "anynetx_a": 8, "anynetx_c": 8, "anynetx_d": 7}  # D's model 7 lacks seed 1
    assert list(models["design_space"].unique()) == spaces  # the spaces' order
    c3 = models[(models["design_space"] == "anynetx_c") & (models["index"] == 3)].iloc[0]
    assert c3["error"] == pytest.approx(12.0 + 0.3 + 0.25)  # mean of 12.3 and 12.8
    assert c3["acts"] == 20_000 and c3["flops"] == 4e6 and c3["wall_seconds"] == 10.5
    assert c3["seeds"] == "0,1" and c3["regime_name"] == "long" and c3["status"] == "ok"
    assert len(pilot_runs(_runs(), "long", (0, 1), spaces, 4)) == 3 * 4 * 2


PLAN = {"name": "tiny", "n_boot": 200, "hypotheses": [
    {"id": "A_eq_B", "text": "A ≈ B", "kind": "equivalent", "a": "anynetx_a", "b": "anynetx_b",
     "margin": 0.1},
    {"id": "D_better_C", "text": "D < C", "kind": "better", "a": "anynetx_d", "b": "anynetx_c"},
    {"id": "A_better_C", "text": "A < C", "kind": "better", "a": "anynetx_a", "b": "anynetx_c"},
    {"id": "cov", "text": "at equal nothing", "kind": "adjusted", "a": "anynetx_d",
     "b": "anynetx_c", "covariate": "nonesuch"},
]}


def test_reference_verdicts_judge_what_the_pilot_has_as_one_holm_family(tmp_path):
    spaces = ["anynetx_a", "anynetx_c", "anynetx_d"]
    models = pilot_models(pilot_runs(_runs(), "long", (0, 1), spaces, 8), (0, 1), spaces)
    path = tmp_path / "pilot.csv"
    models.to_csv(path, index=False)
    frame = study_frame(path, DATA)
    plan = plan_module.parse_plan(PLAN)
    got = reference_verdicts(frame, {"tiny": plan}).set_index("id")
    assert list(got.index) == ["A_eq_B", "D_better_C", "A_better_C", "cov"]
    assert set(got["plan"]) == {"tiny"}
    assert got.loc["A_eq_B", "verdict"] == NOT_JUDGED
    assert got.loc["A_eq_B", "note"] == "no AnyNetX_B models in the pilot"
    assert got.loc["cov", "verdict"] == NOT_JUDGED
    assert got.loc["cov", "note"] == "no column nonesuch in the pilot's export"
    assert got.loc["D_better_C", "verdict"] == got.loc["A_better_C", "verdict"] == "supported"
    assert (got.loc["D_better_C", "n_a"], got.loc["D_better_C", "n_b"]) == (7, 8)
    # Holm over the two judged hypotheses only: the smaller p doubled
    p = got.loc[["D_better_C", "A_better_C"], "p"].astype(float)
    assert got.loc[p.idxmin(), "p_corrected"] == pytest.approx(min(1.0, 2 * p.min()))
    alone = plan_module.verdicts(frame, plan_module.parse_plan(
        {**PLAN, "hypotheses": PLAN["hypotheses"][1:3]})).set_index("id")
    assert got.loc["D_better_C", "p_corrected"] == alone.loc["D_better_C", "p_corrected"]


def test_a_reference_is_judged_once_its_pilot_is_complete():
    ref = Reference(name="r", title="r", runs="x.csv", spaces=("anynetx_a", "anynetx_c"),
                    indices=8, data=DATA, regime="long", seeds=(0, 1))
    st = rt.state(ref, _runs())
    assert (st.recorded, st.expected, st.complete) == (32, 32, True)
    st = rt.state(Reference(**{**ref.__dict__, "spaces": ("anynetx_d",)}), _runs())
    assert (st.recorded, st.expected, st.complete) == (15, 16, False)
    assert st.status() == "`long` under seeds 0, 1: 15 of 16 runs recorded"


def _screen(candidate: str, agree: bool) -> pd.DataFrame:
    """Stage 1 of one candidate: 12 models of each of the five spaces under seeds 0, 1, the
    seeds ranking the models alike (`agree`) or in reverse."""
    rows = []
    for space in ("anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"):
        for seed in (0, 1):
            for i in range(12):
                e = 10 + (i if agree or seed == 0 else 11 - i)
                rows.append({"regime_name": candidate, "train_seed": seed,
                             "design_space": space, "index": i, "status": "ok", "error": e})
    return pd.DataFrame(rows)


def test_the_fashion_reference_waits_for_stage_one():
    cfg = load_study("robustness").robustness
    st = rt.state(cfg.references["fashion_reference"], _screen("fm_t10k_e5", agree=True))
    assert (st.regime, st.seeds) == ("fm_t10k_e5", (0, 1))  # k = 1, at least 2 seeds
    st = rt.state(cfg.references["fashion_reference"], _screen("fm_t10k_e5", agree=False))
    assert st.regime is None and st.status().startswith("not chosen yet")  # the next one runs


# -- the cells ------------------------------------------------------------------------------------
def test_a_study_not_run_yet_reads_so_and_fills_in_from_its_verdicts(tmp_path):
    # as before the Fashion-MNIST study's config existed: a placeholder, not yet a study
    cfg = dataclasses.replace(load_study("robustness").robustness,
                              placeholders=("fashion_study",))
    studies = {"confirmatory": load_study("confirmatory")}
    fashion = Cell("fashion_study", "D_better_C")
    assert rt.dataset_cell(fashion, cfg, studies, RESULTS, "x") == rt.Judged(None, "not run yet")
    with pytest.raises(ValueError, match="x.study: 'nonesuch' is not allowed"):
        rt.dataset_cell(Cell("nonesuch", "D_better_C"), cfg, studies, RESULTS, "x")
    with pytest.raises(ValueError, match="x.id: 'nope' is not allowed"):
        rt.dataset_cell(Cell("confirmatory", "nope"), cfg, studies, RESULTS, "x")
    assert rt.dataset_cell(Cell("confirmatory", "D_better_C"), cfg, studies, tmp_path,
                           "x").text == "not run yet"  # a results folder without its CSV
    # once the Fashion-MNIST study exists with its verdicts, its cell is their row
    studies["fashion_study"] = StudyConfig(name="fashion_study", plan="refinement",
                                           verdicts="fashion_verdicts.csv")
    assert rt.dataset_cell(fashion, cfg, studies, tmp_path, "x").text == "not run yet"
    committed = pd.read_csv(RESULTS / "confirmatory_verdicts.csv").set_index("id")
    shutil.copy(RESULTS / "confirmatory_verdicts.csv", tmp_path / "fashion_verdicts.csv")
    got = rt.dataset_cell(fashion, cfg, studies, tmp_path, "x")
    assert got.verdict == committed.loc["D_better_C", "verdict"] == "supported"
    assert got.text.startswith("**supported**: −0.32 [")
    post = rt.dataset_cell(Cell("confirmatory", "A_eq_B", posthoc=True), cfg, studies,
                           RESULTS, "x")
    assert post.verdict == "not resolved" and post.text.endswith("(post hoc)")


def test_the_block_renders_the_fashion_columns_as_not_run_yet_or_not_planned(tmp_path):
    """A results folder with the Fashion screen empty: its study and its reference have no
    verdicts, so no claim is robust and each row says Fashion-MNIST has not run."""
    results = tmp_path / "results"
    for name in ("instrument/small_geometry.csv", "confirmatory_verdicts.csv",
                 "acts_posthoc_verdicts.csv", "robustness/mnist5k_reference_models.csv",
                 "robustness/mnist5k_reference_verdicts.csv", "fashion/screen.csv"):
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RESULTS / name, results / name)
    screen = pd.read_csv(results / "fashion/screen.csv")
    screen.iloc[:0].to_csv(results / "fashion/screen.csv", index=False)
    block = rt.robustness_block(rt.load(results))
    rows = [ln for ln in block.splitlines() if ln.startswith("| `")]
    cfg = load_study("robustness").robustness
    assert len(rows) == len(cfg.rows)
    unplanned = {r.id for r in cfg.rows if r.cells["fashion"] is None}
    assert unplanned == {"E_better_D_7px", "E_noworse_D_7px", "D_better_C_7px",
                         "E_better_D_7px_acts"}  # conf/plan/fashion.yaml says why
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        planned = cells[0].strip("`") not in unplanned
        assert cells[3] == ("not run yet" if planned else "not planned")
        assert cells[5] in ("not chosen yet", "–")
        assert cells[6].startswith("not robust:")
        assert ("Fashion-MNIST not run yet" if planned else "not planned on Fashion-MNIST") \
            in cells[6]
    assert "- Fashion-MNIST reference: not chosen yet" in block
    assert f"0 of {len(cfg.rows)} claims robust." in block
    d = next(ln for ln in rows if ln.startswith("| `A_eq_B` |"))
    assert "not judged on the pilot (no AnyNetX_B models in the pilot)" in d


def test_an_unresolved_claim_says_whether_its_n_could_have_resolved_it(tmp_path):
    """`robustness.power`: beside a "not resolved" cell, the plan power at the study's n (and
    the n that reaches the target); a decided cell is left as it is."""
    shutil.copy(RESULTS / "confirmatory_verdicts.csv", tmp_path / "v.csv")
    rows = [("A_eq_B", 64, 0.9), ("A_eq_B", 96, 0.5), ("A_eq_B", 128, 0.7),   # 64: below n
            ("A_eq_B", 192, 0.85), ("g_gt1_best", 96, 0.3), ("g_gt1_best", 128, 0.4),
            ("depth_20", 96, 0.9), ("depth_20", 128, 0.95),
            ("wm_2p5", 96, 0.0), ("wm_2p5", 128, 0.05)]
    pd.DataFrame([{"id": h, "n": n, "power": p, "target": 0.8} for h, n, p in rows]).to_csv(
        tmp_path / "power.csv", index=False)
    cfg = dataclasses.replace(load_study("robustness").robustness, power={"x": "power.csv"})
    studies = {"x": StudyConfig(name="x", plan="refinement", verdicts="v.csv")}  # n 96

    def text(hypothesis: str) -> str:
        return rt.dataset_cell(Cell("x", hypothesis), cfg, studies, tmp_path, "w").text

    assert text("A_eq_B").endswith("(not powered: 0.50 at n = 96, needs 192)")
    assert text("g_gt1_best").endswith("(not powered: 0.30 at n = 96, needs > 128)")
    assert text("depth_20").endswith("(power 0.90 at n = 96)")
    assert text("wm_2p5").endswith("(not powered: 0.00 at n = 96; the pilot shows no such "
                                    "effect (power ≤ 0.05 up to n = 128))")
    assert "power" not in text("D_better_C")                    # supported: no note
    with pytest.raises(ValueError, match=r"has no row for B_eq_C at n = 96; robustness.power.x"):
        text("B_eq_C")
    pd.DataFrame({"id": ["A_eq_B"], "n": [96], "power": [float("nan")], "target": [0.8]}
                 ).to_csv(tmp_path / "power.csv", index=False)
    with pytest.raises(ValueError, match=r"gives A_eq_B at n = 96 power nan and target 0.8"):
        text("A_eq_B")
    pd.DataFrame({"id": ["A_eq_B"], "n": [96]}).to_csv(tmp_path / "power.csv", index=False)
    with pytest.raises(ValueError, match=r"power.csv' has no column power; give the CSV"):
        text("A_eq_B")
    (tmp_path / "power.csv").unlink()
    rt.check_power_keys(cfg, {"x", "confirmatory"})
    with pytest.raises(ValueError, match=r"^robustness.power.x: 'x' is not allowed; give a "
                                         r"study a dataset's cell names \(confirmatory\)$"):
        rt.check_power_keys(cfg, {"confirmatory"})
    with pytest.raises(ValueError, match=r"power.csv' does not exist; robustness.power.x: write"):
        text("A_eq_B")


def test_bad_config_is_one_line():
    cfg = load_study("robustness")
    good = {"folder": "r", "datasets": {"m": "M"}, "references": {
        "ref": {"title": "t", "runs": "x.csv", "regime": "long", "seeds": [0, 1],
                "spaces": ["anynetx_a"], "indices": 4,
                "data": {"resolution": 28, "in_channels": 1, "num_classes": 10,
                         "stem_width": 32}}},
        "plans": [{"plan": "refinement"}],
        "rows": [{"id": "x", "text": "t", "source": "s", "m": {"study": "a", "id": "b"}}]}
    assert parse_robustness(good).rows[0].cells["m"] == Cell("a", "b")
    assert parse_robustness(good).power == {}
    assert parse_robustness({**good, "power": {"a": "p.csv"}}).power == {"a": "p.csv"}
    assert cfg.robustness.references["fashion_reference"].chosen_by == "stage1"
    bad = [({"rows": [{"id": "x", "text": "t", "source": "s"}]}, "robustness.rows[0].m"),
           ({"folder": "/abs"}, "robustness.folder"),
           ({"bogus": 1}, "bogus"),
           ({"references": {"ref": {**good["references"]["ref"], "chosen_by": "stage1"}}},
            "robustness.references.ref.regime"),
           ({"references": {"ref": {**good["references"]["ref"], "seeds": [0, 0]}}},
            "robustness.references.ref.seeds"),
           ({"rows": [{**good["rows"][0], "m": {"study": "a", "id": "b", "posthoc": "yes"}}]},
            "robustness.rows[0].m.posthoc"),
           ({"power": ["x.csv"]}, "robustness.power"),
           ({"power": {"a": "../x.csv"}}, "robustness.power.a")]
    for change, field in bad:
        with pytest.raises(ValueError) as err:
            parse_robustness({**good, **change})
        assert field in str(err.value) and "\n" not in str(err.value)


# -- the committed files --------------------------------------------------------------------------
def test_the_committed_references_and_block_regenerate_byte_for_byte():
    """`dse-study robustness check`: the references' CSVs, and the block as docs/RESULTS.md has
    it (the page's other blocks are checked by `dse-study claims check`)."""
    study = load_study("robustness")
    files = study_cli.outputs(study, "references", RESULTS)
    assert {p.name for p in files} >= {"mnist5k_reference_models.csv",
                                       "mnist5k_reference_verdicts.csv"}
    for path, text in files.items():
        assert path.read_bytes() == text.encode(), path
    models = pd.read_csv(RESULTS / "robustness" / "mnist5k_reference_models.csv")
    runs = pd.read_csv(RESULTS / "instrument" / "small_geometry.csv")
    long = runs[runs["regime_name"] == "proxy_long"]
    means = long.groupby(["design_space", "index"])["error"].mean()
    assert np.allclose(models.set_index(["design_space", "index"])["error"],
                       means.loc[list(zip(models["design_space"], models["index"],
                                          strict=True))], atol=1e-9)
    page = DOC.read_text()
    block = page.split("<!-- generated: robustness -->\n\n", 1)[1].split(
        "\n\n<!-- /generated -->", 1)[0]
    assert block == rt.robustness_block(rt.load(RESULTS))
