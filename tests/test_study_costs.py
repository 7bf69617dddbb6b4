"""Issue 25 item 4: each study's models and machine time (`analysis.study_costs`,
``dse-study paper cost``): a decided sequential study counts its populations' first models up to
the looks that decided it, an undecided one what is trained so far, and the sum every run once;
bad input is one line."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analysis import study_cli, study_costs
from analysis.study import load_study, parse_study
from analysis.study_costs import DECIDED, NOT_RUN, TOTAL, UNDECIDED, cost_block, cost_frame

HOUR = 3600.0


def _export(path, spaces: dict[str, int]) -> pd.DataFrame:
    """A models export: `spaces` -> models, sample index i trained in 10 + i seconds."""
    rows = [{"design_space": s, "index": i, "status": "ok", "error": 5.0 + i / 100,
             "wall_seconds": 10.0 + i} for s, k in spaces.items() for i in range(k)]
    frame = pd.DataFrame(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


def _costs(results, studies=("se", "activation", "epochs")):
    return cost_frame(parse_study("paper", {"cost": {"out": "paper/cost.csv",
                                                      "studies": list(studies)}}).cost, results)


def test_a_decided_sequential_study_counts_its_models_up_to_the_deciding_look(tmp_path):
    """se decided at look 2 (24 of 48 models per space): 48 models, not the 80 trained; the
    activation plan, not decided, counts the RegNetX models so far; epochs has no export."""
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 40, "regnety": 40,
                                                "regnetx[silu]": 12})
    pd.DataFrame([{"id": "y_better_x", "verdict": "not resolved", "look": 2}]).to_csv(
        tmp_path / "paper" / "se_verdicts.csv", index=False)
    table = _costs(tmp_path).set_index("study")
    se = table.loc["se"]
    assert se["status"] == DECIDED and se["design"] == "sequential, looks at 12/24/36/48"
    assert (se["populations"], se["runs"], se["fixed_runs"]) == (2, 48, 96)
    assert se["core_hours"] == pytest.approx(2 * sum(10.0 + i for i in range(24)) / HOUR)
    assert se["median_seconds"] == pytest.approx(21.5)
    act = table.loc["activation"]
    assert act["status"] == UNDECIDED and act["runs"] == 40 + 12  # regnetx and Swish so far
    assert table.loc["epochs", "status"] == NOT_RUN and table.loc["epochs", "runs"] == 0
    total = table.loc[TOTAL]
    assert total["runs"] == 92  # every run of the export once, though two studies judge regnetx
    assert total["core_hours"] == pytest.approx(
        (2 * sum(10.0 + i for i in range(40)) + sum(10.0 + i for i in range(12))) / HOUR)
    assert total["runs_csv"] == "results/paper/models.csv"


def test_a_label_is_shared_only_within_one_export(tmp_path):
    """regnetx[silu] of the proxy sweep (activation) and of the proxy_long sweep
    (activation_long) are two populations: activation_long's own Swish runs make it started."""
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 12, "regnetx[silu]": 12})
    _export(tmp_path / "paper" / "epochs.csv", {"regnetx": 6, "regnetx[silu]": 3})
    table = _costs(tmp_path, ("activation", "epochs", "activation_long")).set_index("study")
    assert table.loc["activation_long", "status"] == UNDECIDED
    assert table.loc["activation_long", "runs"] == 9
    assert table.loc["epochs", "status"] == NOT_RUN  # only regnetx, shared with activation_long
    assert table.loc[TOTAL, "runs"] == 24 + 9


def test_the_block_states_the_sum_and_what_the_sequential_design_saved(tmp_path):
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 48, "regnety": 48})
    pd.DataFrame([{"id": "y_better_x", "verdict": "not resolved", "look": 1}]).to_csv(
        tmp_path / "paper" / "se_verdicts.csv", index=False)
    frame = pd.read_csv(io.StringIO(_costs(tmp_path).to_csv(index=False)))  # as committed
    block = cost_block(frame)
    assert "| se | decided | sequential, looks at 12/24/36/48 | 2 | 24 of 96 |" in block
    hours = 2 * sum(10.0 + i for i in range(48)) / HOUR
    assert f"**In all:** 96 runs, {hours:.2f} core-hours" in block
    assert "judged 24 models where their fixed-n designs would have trained 96 (75% fewer)" \
        in block
    assert "activation (not run yet; 48 runs of populations it shares)" in block  # regnetx
    assert "epochs (not run yet)" in block
    assert cost_block(None) == "Not costed yet: run `dse-study paper cost`."


def test_the_committed_cost_table_and_block_are_up_to_date(capsys):
    assert study_cli.run(["paper", "cost", "--check"]) == 0
    assert study_cli.run(["paper", "docs", "--check"]) == 0


@pytest.mark.parametrize(("cost", "message"), [
    ({"out": "paper/cost.csv", "studies": ["nope"]}, "cost.studies[0]: 'nope'"),
    ({"out": "paper/cost.csv", "studies": ["se", "se"]}, "cost.studies: ['se', 'se']"),
    ({"out": "paper/cost.csv", "studies": ["se"], "extra": 1}, "cost.extra"),
    ({"studies": ["se"]}, "cost.out"),
])
def test_a_bad_cost_section_is_one_line_naming_the_field(cost, message):
    with pytest.raises(ValueError, match=None) as err:
        parse_study("paper", {"cost": cost})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_study_without_a_plan_or_an_export_without_times_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"cost.studies\[0\]: study 'speed' has no plan"):
        _costs(tmp_path, ["speed"])
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "models.csv").write_text("design_space,index\nregnetx,0\n")
    with pytest.raises(ValueError, match="has no column wall_seconds"):
        _costs(tmp_path, ["se"])
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 12, "regnety": 12})
    (tmp_path / "paper" / "se_verdicts.csv").write_text("id,verdict\ny_better_x,supported\n")
    with pytest.raises(ValueError, match="se_verdicts.csv' has no column look"):
        _costs(tmp_path, ["se"])
    (tmp_path / "paper" / "se_verdicts.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="se_verdicts.csv' is not a sequential plan's verdicts"):
        _costs(tmp_path, ["se"])


@pytest.mark.parametrize("looks", [[0], [5], [2.5], ["x"], [2, 2], []])
def test_a_verdicts_look_that_is_not_one_of_the_plans_is_one_line(tmp_path, looks):
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 48, "regnety": 48})
    pd.DataFrame({"id": ["y_better_x"] * len(looks) or ["other"], "look": looks or [1]}).to_csv(
        tmp_path / "paper" / "se_verdicts.csv", index=False)
    with pytest.raises(ValueError, match=r"gives hypothesis y_better_x the look\(s\) .*; want "
                       r"one look of 1 to 4") as err:
        _costs(tmp_path, ["se"])
    assert "\n" not in str(err.value)


def test_verdicts_that_judged_more_models_than_the_export_holds_are_one_line(tmp_path):
    """se's verdicts say look 2 (24 models per space), but the export holds 12 of RegNetY."""
    _export(tmp_path / "paper" / "models.csv", {"regnetx": 24, "regnety": 12})
    pd.DataFrame([{"id": "y_better_x", "look": 2}]).to_csv(
        tmp_path / "paper" / "se_verdicts.csv", index=False)
    with pytest.raises(ValueError, match="has 12 models of regnety, but the plan's verdicts "
                       "judged its first 24; export the sweep again"):
        _costs(tmp_path, ["se"])


def test_a_cost_table_without_its_total_or_unreadable_is_one_line(tmp_path):
    path = tmp_path / "paper" / "cost.csv"
    path.parent.mkdir()
    path.write_text("")
    with pytest.raises(ValueError, match="is not a cost table"):
        study_costs.load(tmp_path)
    _costs(tmp_path, ["se"]).iloc[:-1].to_csv(path, index=False)
    with pytest.raises(ValueError, match="has no single 'all runs' row"):
        study_costs.load(tmp_path)
    assert study_costs.load(tmp_path / "nowhere") is None
    assert load_study("paper").cost.studies[0] == "se"
