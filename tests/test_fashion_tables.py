"""The Fashion-MNIST screen's generated stage-1 block (analysis/fashion_tables.py): judged only
when a candidate's 120 runs are recorded, by the rule committed in docs/REGIME.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import fashion_tables as ft


def _screen(candidate: str, noise: float, runs: int = ft.STAGE_ONE_RUNS, seed: int = 0
            ) -> pd.DataFrame:
    """Stage-1 rows: per space 12 models with a true error; each seed adds `noise`."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(ft.STAGE_ONE_INDICES):          # the index varies slowest, as a sweep
        for space in ft.SPACES:
            true = 12.0 + 0.8 * index + rng.normal(0, 0.5)
            for s in ft.SEEDS:
                rows.append({"regime_name": candidate, "train_seed": s, "design_space": space,
                             "index": index, "status": "ok",
                             "error": round(true + rng.normal(0, noise), 2),
                             "wall_seconds": 60.0 + index})
    return pd.DataFrame(rows[:runs])


def test_an_incomplete_candidate_is_not_judged():
    text = ft.stage_one(ft.Inputs(_screen("fm_t10k_e5", 0.1, runs=84)))
    assert text == "`fm_t10k_e5`: 84 of 120 runs recorded; not judged until all are."


def test_a_reproducible_candidate_is_the_reference():
    text = ft.stage_one(ft.Inputs(_screen("fm_t10k_e5", 0.05)))
    assert "**Decision:** `fm_t10k_e5` passes stage 1" in text
    assert "k = 1 seeds per model" in text
    assert text.count("| `fm_t10k_e5` |") == len(ft.SPACES)
    assert "spread/noise" in text                       # the RegNetX row
    assert "`fm_t10k_e5` cost: 120 runs, 2.18 core-hours" in text   # 120 x 65.5 s
    assert "median 65.5 s per run" in text


def test_a_noisy_candidate_fails_and_the_next_one_runs():
    text = ft.stage_one(ft.Inputs(_screen("fm_t10k_e5", 6.0)))
    assert "**Decision so far:** `fm_t10k_e5` fails stage 1" in text
    both = pd.concat([_screen("fm_t10k_e5", 6.0), _screen("fm_t10k_e10", 0.05, seed=1)])
    assert "**Decision:** `fm_t10k_e10` passes stage 1" in ft.stage_one(ft.Inputs(both))


# -- stages 2 and 3 -----------------------------------------------------------------------------

# Median errors per space: C → D +5 and D → E +5 resolve at 24 models; E → RegNetX +2 does
# not (models spread evenly ±4 points about the median).
LEVELS = {"anynetx_a": 20.0, "anynetx_c": 20.0, "anynetx_d": 25.0, "anynetx_e": 30.0,
          "regnetx": 32.0}


def _regime(regime: str, levels: dict[str, float], noise: float, seed: int,
            seeds=ft.SEEDS, wall: float = 60.0) -> pd.DataFrame:
    """24 models per space about `levels`, each seed adding `noise`; index slowest."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(ft.STAGE_TWO_INDICES):
        for space in ft.SPACES:
            true = levels[space] - 4.0 + 8.0 * index / (ft.STAGE_TWO_INDICES - 1)
            for s in seeds:
                rows.append({"regime_name": regime, "train_seed": s, "design_space": space,
                             "index": index, "status": "ok",
                             "error": round(true + rng.normal(0, noise), 2),
                             "wall_seconds": wall})
    return pd.DataFrame(rows)


def test_stage_two_waits_for_stage_one_and_then_for_its_runs():
    assert ft.stage_two(ft.Inputs(_screen("fm_t10k_e5", 6.0))) == \
        "Stage 1 has not chosen a reference yet."
    reference = _regime("fm_t10k_e5", LEVELS, 0.2, 0)
    text = ft.stage_two(ft.Inputs(reference.iloc[:200]))
    assert ft.reference(reference.iloc[:200]) == ft.Reference("fm_t10k_e5", 2, True)
    assert text.startswith("`fm_t10k_e5` (the reference, k = 2): 200 of 240 stage-2 runs "
                           "recorded (5 spaces × 24 indices × 2 seeds); not judged")


def test_stage_two_judges_reliability_pairs_and_the_n_of_an_unresolved_pair():
    text = ft.stage_two(ft.Inputs(_regime("fm_t10k_e5", LEVELS, 0.2, 0)))
    assert ("`fm_t10k_e5` is the reference, k = 2 seeds per model: 240 runs, median 60.0 s per "
            "run, so about 120 s per model; 4.00 core-hours in all") in text
    assert "**Reproduces itself** in every refereed space" in text
    assert text.count("| yes |  |") == 4                       # four refereed spaces reproduce
    assert "k for 0.85: 1" in text                              # RegNetX: one seed would do
    lines = {line.split(" | ")[0]: line for line in text.splitlines()}
    assert "| yes | – | – | – |" in lines["| AnyNetX_C → AnyNetX_D"]
    assert "| yes | – | – | – |" in lines["| AnyNetX_D → AnyNetX_E"]
    e_reg = lines["| AnyNetX_E → RegNetX"].split(" | ")
    assert e_reg[1].startswith("+1.97 [-") and e_reg[2] == "no"
    assert e_reg[3] == "64"                                     # the seeded search's N
    assert e_reg[4] == f"{64 * 5 * 2 * 60 / 3600:.1f}" == "10.7"   # core-hours at N
    assert e_reg[5] == "yes |"                                  # within 12 core-hours
    assert "not resolved: AnyNetX_E → RegNetX (never counted as agreement)" in text


def test_stage_three_says_what_is_missing():
    reference = _regime("fm_t10k_e5", LEVELS, 0.2, 0)
    proxy = _regime("fm_proxy", LEVELS, 0.5, 1, wall=10.0)
    text = ft.stage_three(ft.Inputs(pd.concat([reference.iloc[:200], proxy])))
    assert text == ("Stage 2 is not complete: `fm_t10k_e5` (the reference, k = 2): 200 of 240 "
                    "stage-2 runs recorded (5 spaces × 24 indices × 2 seeds); not judged until "
                    "all are. `fm_proxy_t5k`: 0 of 240 runs recorded. Stage 3 is not judged "
                    "until both candidates' runs and stage 2 are all recorded.")
    assert ft.stage_three(ft.Inputs(_screen("fm_t10k_e5", 6.0))).startswith(
        "Stage 1 has not chosen a reference yet. `fm_proxy`: 0 of 240 runs recorded.")


def test_stage_three_chooses_and_reports_a_contradiction():
    """fm_proxy reverses D → E (E 2 points better than D); fm_proxy_t5k is as faithful but
    scores too little higher to replace it, so the contradiction stands."""
    reference = _regime("fm_t10k_e5", LEVELS, 0.2, 0)
    proxy = _regime("fm_proxy", {**LEVELS, "anynetx_e": 23.0}, 0.3, 1, wall=10.0)
    t5k = _regime("fm_proxy_t5k", LEVELS, 0.3, 2, wall=20.0)
    text = ft.stage_three(ft.Inputs(pd.concat([reference, proxy, t5k])))
    assert "**Chosen proxy: `fm_proxy`**" in text
    assert ("**Contradiction between the instruments:** `fm_proxy` orders AnyNetX_D → "
            "AnyNetX_E the other way from the reference.") in text
    assert text.count("| `fm_proxy` |") == 5 + 3 and text.count("| `fm_proxy_t5k` |") == 5 + 3
    assert "| `fm_proxy_t5k` | AnyNetX_D → AnyNetX_E |" in text
    assert "**the other way: contradiction**" in text and "– (not resolved)" in text


def test_a_reference_that_missed_stage_one_runs_the_most_seeds_the_rule_allows():
    noisy = pd.concat([_screen(c, 6.0, seed=i) for i, c in enumerate(ft.CANDIDATES)])
    assert ft.reference(noisy.iloc[:-1]) is None               # the last one is not complete
    ref = ft.reference(noisy)
    assert ref is not None and (ref.k, ref.passed) == (4, False) and ref.runs == 480
    assert ft.stage_two(ft.Inputs(noisy)).startswith(
        f"`{ref.name}` (the reference, k = 4): 120 of 480 stage-2 runs recorded")
