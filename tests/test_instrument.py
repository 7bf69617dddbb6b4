"""analysis.instrument: the rules that chose the laptop instrument (docs/REGIME.md): the screen's
decision rule and its margin, the targets check, and the attenuation ceiling, on the committed
runs and on small tables built to state each rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import instrument as ins
from analysis.fidelity import Targets

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return pd.read_csv(RESULTS / "instrument" / "small_geometry.csv")


def _summary(**candidates) -> pd.DataFrame:
    """A screen summary: the proxy at score 0.60, ρ between seeds 0.80, everything trained;
    each candidate overrides some of that."""
    rows = []
    for name in [ins.PROXY, *ins.SCREEN]:
        row = {"regime": name, "models": 60, "score": 0.60, "seeds_mean": 0.80,
               "trained_min": 1.0}
        row.update(candidates.get(name.replace(".", "_"), {}))
        rows.append(row)
    return pd.DataFrame(rows)


def test_screen_rule_as_docs_regime_states_it():
    """docs/REGIME.md, "The screen": a clearly higher score wins; a score within the margin
    wins only by meeting the cost target the proxy misses; a candidate that leaves a space
    untrained or loses reproducibility never does."""
    slow = {"proxy": 23.4, "proxy_e4": 18.7, "proxy_lr0.2": 23.0, "proxy_wu0": 23.0}
    choose = ins.screen_choice
    assert choose(_summary(), {**slow, "proxy_e4": 21.0})[0] == "proxy"  # all tied
    tie = _summary(proxy_e4={"score": 0.56})  # within 0.05, and e4 is fast
    chosen, why = choose(tie, slow)
    assert chosen == "proxy_e4" and why["proxy_e4"].startswith("qualifies")
    assert choose(tie, {**slow, "proxy": 19.0})[0] == "proxy"  # no cost gap to break the tie
    assert choose(tie, {k: v for k, v in slow.items() if k != "proxy_e4"})[0] == "proxy"
    assert choose(_summary(proxy_e4={"score": 0.54}), slow)[0] == "proxy"
    even = dict.fromkeys(slow, 23.0)  # no candidate meets the cost target
    better = _summary(proxy_lr0_2={"score": 0.70}, proxy_wu0={"score": 0.66})
    assert choose(better, even)[0] == "proxy_lr0.2"
    assert choose(better, slow)[0] == "proxy_lr0.2"  # the higher score beats the cheaper tie
    untrained = _summary(proxy_lr0_2={"score": 0.70, "trained_min": 0.9})
    chosen, why = choose(untrained, even)
    assert chosen == "proxy" and "trains 0.90" in why["proxy_lr0.2"]
    noisy = _summary(proxy_lr0_2={"score": 0.70, "seeds_mean": 0.74})
    assert choose(noisy, even)[0] == "proxy"
    partial = pd.DataFrame({"regime": ["proxy", "proxy_e4"], "models": [60, 4]})
    assert choose(partial, slow) == (None, {})


def test_the_margin_is_inclusive_on_the_tie_and_exclusive_on_the_win():
    """A score exactly `margin` above the proxy's is a tie, not a win, and exactly `margin` below
    still ties; ρ between seeds exactly `margin` below the proxy's is allowed (a margin and
    values exact in binary, so the boundaries are exact)."""
    slow = dict.fromkeys(["proxy", *ins.SCREEN], 30.0)
    m = 0.0625

    def choose(**e4):
        base = {"score": 0.5, "seeds_mean": 0.75}
        rows = _summary(proxy=base, proxy_lr0_2=base, proxy_wu0=base, proxy_e4={**base, **e4})
        return ins.screen_choice(rows, slow, margin=m)

    assert ins.MARGIN == 0.05  # docs/REGIME.md, "The screen"
    assert choose(score=0.5 + m)[1]["proxy_e4"].startswith("a score within the margin")
    assert choose(score=0.5 - m)[1]["proxy_e4"].startswith("a score within the margin")
    assert choose(score=0.5 - 2 * m)[1]["proxy_e4"] == ("score 0.38, more than 0.0625 below "
                                                        "the proxy's 0.50")
    assert choose(score=0.5 + 2 * m)[0] == "proxy_e4"
    assert choose(score=0.5 + 2 * m, seeds_mean=0.75 - m)[0] == "proxy_e4"
    assert choose(score=0.5 + 2 * m, seeds_mean=0.75 - 2 * m)[0] == "proxy"


def test_spearman_brown_and_the_attenuation_bound():
    """Proxy seeds agreeing at 0.81 and reference seeds at 0.5 (a two-seed mean's reliability
    2·0.5/1.5 = 2/3) bound ρ(proxy, reference) by √(0.81 · 2/3) ≈ 0.73; a reference whose seeds
    disagree has no bound to give; k = 3 seeds at 0.5 give 0.75."""
    assert ins.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert ins.spearman_brown(0.5, k=3) == pytest.approx(0.75)
    assert ins.spearman_brown(0.74) >= 0.85 > ins.spearman_brown(0.73)  # docs/REGIME.md
    rel, bound = ins.attenuation_bound(0.81, 0.5)
    assert rel == pytest.approx(2 / 3) and bound == pytest.approx(np.sqrt(0.81 * 2 / 3))
    assert all(np.isnan(ins.attenuation_bound(0.81, -0.1)))
    assert np.isnan(ins.attenuation_bound(-0.2, 0.5)[1])


def test_spaces_below_the_ceiling():
    row = {"n": 24, "rho_seeds": 0.81, "rho_ref_seeds": 0.5}
    spaces = pd.DataFrame([{**row, "design_space": "regnetx"},  # ceiling 0.73 < 0.75
                           {**row, "design_space": "anynetx_a", "rho_ref_seeds": 0.9},
                           {**row, "design_space": "pooled", "rho_ref_seeds": 0.1}])
    judged = ins.Judged("proxy", spaces, pd.DataFrame(), 24)
    assert set(ins.ceilings(judged).index) == {"regnetx", "anynetx_a"}
    assert Targets().rho_ref == 0.75
    # anynetx_c/d/e have no row, hence no ceiling: they count as below, never as met
    assert ins.below_ceiling(judged) == ["anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")
def test_screen_summary_on_the_same_models_as_fidelity_by_space(runs):
    """With the proxy's own runs standing in for a candidate, the candidate's row equals the
    proxy's: the same models, the same reference, the same ρ."""
    stand_in = runs[runs.regime_name == "proxy"]
    screened = pd.concat([stand_in.assign(regime_name=name) for name in ins.SCREEN])
    summary = ins.screen_summary(runs, screened)
    ref = ins.complete_reference(runs)[0][ins.KEYS]
    assert (ref[ref["index"] < ins.SCREEN_MODELS].groupby("design_space").size()
            .reindex(ins.ORDER) == ins.SCREEN_MODELS).all()
    rows = summary.set_index("regime")
    assert (rows["models"] == ins.SCREEN_MODELS * len(ins.ORDER)).all()
    for name in ins.SCREEN:
        assert rows.loc[name, "score"] == pytest.approx(rows.loc["proxy", "score"])
    assert -1 <= rows.loc["proxy", "score"] <= 1


def test_a_partial_screen_reports_counts_and_chooses_nothing(runs):
    stand_in = runs[(runs.regime_name == "proxy") & (runs["index"] < 3)]
    summary = ins.screen_summary(runs, stand_in.assign(regime_name="proxy_e4"))
    assert "score" not in summary
    assert dict(zip(summary.regime, summary.models, strict=True)) == {
        "proxy": ins.SCREEN_MODELS * len(ins.ORDER), "proxy_e4": 3 * len(ins.ORDER),
        "proxy_lr0.2": 0, "proxy_wu0": 0}
    assert ins.screen_choice(summary, {}) == (None, {})


def test_regime_seconds_is_the_worst_space_median():
    timing = pd.DataFrame({"scale": ["input"] * 4 + ["stem"],
                           "regime_name": ["proxy"] * 3 + ["proxy_e4", "proxy"],
                           "design_space": ["anynetx_a", "anynetx_a", "regnetx", "regnetx",
                                            "regnetx"],
                           "wall_seconds": [10.0, 14.0, 11.0, 9.0, 99.0]})
    assert ins.median_seconds(timing, "input").dropna().to_dict() == {
        "anynetx_a": 12.0, "regnetx": 11.0}
    got = ins.regime_seconds(timing, ["proxy", "proxy_e4", "proxy_wu0"])
    assert got["proxy"] == 12.0 and got["proxy_e4"] == 9.0 and np.isnan(got["proxy_wu0"])


def test_a_regime_without_runs_is_one_line(runs):
    with pytest.raises(ValueError, match="has no runs of regime 'proxy_x'"):
        ins.regime_runs(runs, "proxy_x")


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")
def test_check_judges_the_committed_proxy_on_every_target(runs):
    judged = ins.judge(runs, runs, ins.PROXY)
    assert judged.n == ins.models_with_reference(runs) == ins.N_MIN
    timing = pd.read_csv(RESULTS / "instrument" / "timing.csv")
    table = ins.check(judged, ins.median_seconds(timing, "input"))
    assert len(table) == 5 and table["holds"].notna().all()
    trained = table.set_index("criterion").loc["trained fraction, each proxy seed"]
    assert trained["holds"] and trained["worst"] >= Targets().trained
