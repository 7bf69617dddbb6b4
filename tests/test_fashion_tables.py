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
