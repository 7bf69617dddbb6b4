"""A sequential plan's verdicts (issue 24 on issue 25's plans; `analysis.sequential`
`sequential_verdicts`, docs/ANALYSIS.md "Sequential plans"): the verdict its design reached, on
the models its looks used; the `verdicts` step of a study uses them for a plan with a
`sequential:` section and the fixed-n verdicts otherwise; the power of a whole plan adds the
sequential design's at the plan's n."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import claims_tables
from analysis.plan import COLUMNS, parse_plan, verdicts
from analysis.power_analysis import plan_power, plan_sample_size
from analysis.sequential import (
    SEQUENTIAL_COLUMNS,
    decisions,
    design_bounds,
    first_models,
    judge,
    sequential_verdicts,
)
from analysis.study import Data, StudyConfig
from analysis.study_tables import study_verdicts, verdict_table

ROOT = Path(__file__).resolve().parents[1]
N = 48  # models per space; looks at 12, 24, 36, 48
LOOKS = {"looks": [0.25, 0.5, 0.75, 1], "spending": "obf", "futility": "nonbinding",
         "power": 0.8}
BETTER = {"id": "y_better_x", "text": "y better than x", "kind": "better", "a": "y", "b": "x"}
EQUIV = {"id": "y_eq_z", "text": "y same as z", "kind": "equivalent", "a": "y", "b": "z",
         "margin": 0.10}


def _plan(*hyps: dict, sequential: dict | None = LOOKS, n: int = N) -> object:
    spec = {"name": "t", "n_boot": 200, "n_per_space": n, "hypotheses": list(hyps)}
    if sequential is not None:
        spec["sequential"] = sequential
    return parse_plan(spec)


def _frame(scale: dict[str, float], extra: dict[str, int] | None = None,
           seed: int = 0) -> pd.DataFrame:
    """Spaces of N models (N + `extra[space]` where given: a shared population another plan
    kept training), errors lognormal around 10 times `scale[space]`, rows in shuffled order so
    that only the sample index says which models come first."""
    rng = np.random.default_rng(seed)
    parts = []
    for space, factor in scale.items():
        m = N + (extra or {}).get(space, 0)
        parts.append(pd.DataFrame({"design_space": space, "index": np.arange(m),
                                   "error": 10.0 * factor * rng.lognormal(0.0, 0.15, m),
                                   "status": "ok"}))
    df = pd.concat(parts, ignore_index=True)
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def test_a_large_effect_is_supported_at_an_early_look_on_that_looks_models():
    df = _frame({"y": 0.6, "x": 1.0}, extra={"x": 30})
    df.loc[(df["design_space"] == "x") & (df["index"] >= N), "error"] = 1.0  # never judged
    plan = _plan(BETTER)
    out = sequential_verdicts(df, plan)
    assert out.columns.tolist() == [*COLUMNS, *SEQUENTIAL_COLUMNS]
    row = out.iloc[0]
    assert row["verdict"] == "supported" and row["stop"] == "efficacy"
    look = int(row["look"])
    assert look in (1, 2)
    n_k = (12, 24)[look - 1]
    assert row["n_look"] == n_k and (row["n_a"], row["n_b"]) == (n_k, n_k)
    fixed = verdicts(first_models(df, n_k), plan).iloc[0]
    for col in ("estimand", "estimate", "low", "high", "p", "p_contra"):
        assert row[col] == fixed[col], col
    # no Holm-corrected p: the local level and the bound the p crossed instead
    assert math.isnan(row["p_corrected"]) and math.isnan(row["p_contra_corrected"])
    assert row["level"] == pytest.approx(0.05)
    assert row["p"] <= row["efficacy_p"] < 0.05
    # the same decision as the look-by-look judgement, and the same as judging only the
    # first 48 models of each space (the 30 extra models of x are never read)
    assert judge(df, plan, plan.sequential, N).decided == {"y_better_x": look}
    again = sequential_verdicts(first_models(df, N), plan)
    pd.testing.assert_frame_equal(out, again)


def test_a_rejection_reports_the_holm_level_it_was_rejected_at():
    """Two claims in one family: the first rejected held α/2, not the α it passed on."""
    df = _frame({"y": 0.6, "w": 0.7, "x": 1.0})
    other = dict(BETTER, id="w_better_x", a="w")
    plan = _plan(BETTER, other)
    out = sequential_verdicts(df, plan).set_index("id")
    assert (out["verdict"] == "supported").all()
    assert out["level"].min() == pytest.approx(0.025)
    assert set(out["level"].round(6)) <= {0.025, 0.05}
    for _, row in out.iterrows():
        bound = design_bounds(plan.sequential, row["level"])[0].nominal_p[row["look"] - 1]
        assert row["efficacy_p"] == pytest.approx(bound) and row["p"] <= bound


def test_no_difference_is_not_resolved_at_the_last_look():
    df = _frame({"y": 1.0, "x": 1.0})
    df.loc[df["design_space"] == "y", "error"] = df.loc[df["design_space"] == "x", "error"
                                                        ].to_numpy()[::-1]
    plan = _plan(BETTER, sequential={**LOOKS, "futility": "none"})
    row = sequential_verdicts(df, plan).iloc[0]
    assert (row["verdict"], row["look"], row["n_look"], row["stop"]) == (
        "not resolved", 4, 48, "last look")
    assert row["estimate"] == verdicts(df, plan).iloc[0]["estimate"]
    assert row["p"] > row["efficacy_p"] and row["p_contra"] > row["efficacy_p_contra"]


def test_the_verdict_words_follow_the_kind_and_the_direction_rejected():
    def r(look, direction, decision):
        return {"id": "h", "look": look, "n": 12 * look, "direction": direction,
                "decision": decision}

    contra = decisions([r(1, "claim", "futile"), r(1, "contra", "continue"),
                        r(2, "contra", "continue"), r(3, "contra", "rejected")], True)["h"]
    assert (contra.look, contra.n, contra.verdict("better")) == (3, 36, "contradicted")
    both = decisions([r(1, "claim", "continue"), r(1, "contra", "futile"),
                      r(2, "claim", "futile")], True)["h"]
    assert (both.look, both.stop, both.verdict("equivalent")) == (2, "futility",
                                                                   "not resolved")
    tie = decisions([r(2, "contra", "rejected"), r(2, "claim", "rejected")], True)["h"]
    assert tie.verdict("equivalent") == "equivalent" and tie.rejected == "claim"
    assert decisions([r(1, "claim", "continue"), r(1, "contra", "continue")], False) == {
        "h": None}


def test_a_space_not_trained_up_to_the_deciding_look_is_one_line():
    df = _frame({"y": 1.0, "x": 1.0, "z": 1.0})
    df = df[~((df["design_space"] == "z") & (df["index"] >= 10))]  # z stopped at 10 models
    plan = _plan(BETTER, EQUIV)
    with pytest.raises(ValueError, match=r"^sequential: hypothesis 'y_eq_z' is decided at look "
                                         r"\d on \d\d models per space, but 'z' has 10 in the "
                                         "sweep table; train"):
        sequential_verdicts(df, plan)


def _study(tmp_path: Path, plan: dict, df: pd.DataFrame) -> StudyConfig:
    """A study of `plan` on `df` written as a models export (one spec for every model)."""
    shape = {f"{k}{i}": v for k, v in (("d", 1), ("w", 8), ("b", 1), ("g", 8))
             for i in range(1, 5)}
    df.assign(**shape).to_csv(tmp_path / "models.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    return StudyConfig(name="t", plan=str(tmp_path / "plan.yaml"), models="models.csv",
                       verdicts="verdicts.csv", data=Data(28, 1, 10, 32))


def test_the_verdicts_step_is_sequential_only_for_a_sequential_plan(tmp_path):
    df = _frame({"y": 0.6, "x": 1.0})
    spec = {"name": "t", "n_boot": 200, "n_per_space": N, "hypotheses": [BETTER]}
    fixed = parse_plan(spec)
    pd.testing.assert_frame_equal(study_verdicts(df, fixed), verdicts(df, fixed))
    text = verdict_table(_study(tmp_path, spec, df), tmp_path)
    assert text == verdicts(df, fixed).to_csv(index=False, float_format="%.4g")
    spec["sequential"] = LOOKS
    text = verdict_table(_study(tmp_path, spec, df), tmp_path)
    (tmp_path / "v.csv").write_text(text)
    back = pd.read_csv(tmp_path / "v.csv")
    assert back.columns.tolist() == [*COLUMNS, *SEQUENTIAL_COLUMNS]
    assert back["verdict"].tolist() == ["supported"] and back["n_look"].iloc[0] < N
    assert back["p_corrected"].isna().all()
    # the claims catalogue prints the look and the bound, not a Holm-corrected p
    cell = claims_tables._verdict(back.iloc[0].to_dict())
    assert cell.startswith("**supported** (p ") and "≤ bound" in cell
    assert cell.endswith(f"look {back['look'].iloc[0]}, {back['n_look'].iloc[0]} models per "
                         "space)")


@pytest.fixture(scope="module")
def regnetx() -> pd.DataFrame:
    d = pd.read_csv(ROOT / "results" / "confirmatory.csv").assign(num_classes=10)
    return d[d["design_space"] == "regnetx"]


def test_the_plans_power_adds_the_sequential_designs_at_its_n(regnetx):
    plan = _plan(BETTER, n=24)
    pilots = {"y": regnetx, "x": regnetx}
    at_n = plan_power(plan, pilots, {"y": 0.7}, n=24, reps=12, seed=1, n_boot=100)
    row = at_n.iloc[0]
    fixed_only = plan_power(_plan(BETTER, sequential=None, n=24), pilots, {"y": 0.7}, n=24,
                            reps=12, seed=1, n_boot=100)
    assert row["power"] == fixed_only["power"].iloc[0] == 1.0  # the same simulated studies
    assert fixed_only.columns.tolist()[-2:] == ["power", "contradicted"]
    assert row["power_sequential"] == 1.0 and row["contradicted_sequential"] == 0.0
    assert 6 <= row["models_sequential"] < 24  # stops before the last look
    table = plan_sample_size(plan, pilots, {"y": 0.7}, [12, 16], reps=8, seed=2,
                             n_boot=100)
    assert sorted(set(table["n"])) == [12, 16, 24]  # walked on up to the plan's n
    assert table.loc[table["n"] < 24, "power_sequential"].isna().all()
    assert table.loc[table["n"] == 24, "power_sequential"].notna().all()


def test_the_walk_goes_on_until_the_sequential_design_is_powered_too(regnetx):
    """A 10 % effect: the fixed design reaches 0.8 at 32 models per space, the sequential one
    (judged at every n from the plan's on, its looks placed on that n) only at 48, so the table
    says what n the sequential design needs."""
    plan = _plan(BETTER, n=24)
    table = plan_sample_size(plan, {"y": regnetx, "x": regnetx}, {"y": 0.9}, [24, 32, 48, 64],
                             reps=40, seed=3, n_boot=200).set_index("n")
    assert table["power_sequential"].notna().all()
    assert table.loc[32, "power"] >= 0.8 > table.loc[32, "power_sequential"]
    assert table.index.max() == 48 and table.loc[48, "power_sequential"] >= 0.8
    assert table.loc[48, "models_sequential"] < 48


def test_a_look_before_a_subgroup_has_two_models_judges_it_later():
    """A rare subgroup (here g == 1 only from index 20 on) cannot be judged at look 1 (12
    models): its p-values there are NaN, neither a rejection nor a futility stop, and the
    hypothesis is judged from the look that holds 2 of its models; the fixed-n verdicts on
    such a table are still an error."""
    df = _frame({"y": 1.0})
    df["g"] = np.where(df["index"] >= 20, 1, 4)
    df.loc[df["g"] == 1, "error"] *= 2.0                      # g = 1 clearly worse
    hyp = {"id": "g_gt1", "text": "g > 1 better", "kind": "better",
           "a": {"space": "y", "where": "g > 1"}, "b": {"space": "y", "where": "g == 1"}}
    plan = _plan(hyp)
    early = first_models(df, 12)
    with pytest.raises(ValueError, match=r"^hypothesis 'g_gt1': .*0 usable models"):
        verdicts(early, plan)
    skipped = verdicts(early, plan, too_few="skip").iloc[0]
    assert skipped["verdict"] == "not resolved" and math.isnan(skipped["p"])
    assert math.isnan(skipped["p_contra"]) and math.isnan(skipped["estimate"])
    with pytest.raises(ValueError, match=r"^too_few: 'maybe' is not allowed"):
        verdicts(early, plan, too_few="maybe")
    judged = judge(df, plan, plan.sequential, N)
    first = [r for r in judged.rows if r["look"] == 1]
    assert len(first) == 2 and all(math.isnan(r["p"]) and r["decision"] == "continue"
                                   for r in first)
    assert judged.decided["g_gt1"] is not None and judged.decided["g_gt1"] >= 2
    row = sequential_verdicts(df, plan).iloc[0]
    assert row["verdict"] == "supported" and int(row["look"]) == judged.decided["g_gt1"]
