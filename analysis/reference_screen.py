"""The Fashion-MNIST reference screen's rules (docs/REGIME.md, "The Fashion-MNIST instrument";
issue 21), as committed before its runs: a reference reproduces itself in a space when the
Spearman–Brown reliability of the mean of its k seeds is at least `TARGET`, k at most `K_MAX`.

Stage 1 (`stage_one`): per space, ρ₁ = Spearman ρ between seeds 0 and 1 over the models that
trained under both, the trained fraction, and k = `seeds_needed(ρ₁)`; a candidate passes when
every refereed AnyNetX space trains (≥ 0.95 under both seeds) and has a k. `choose` takes the
first passing candidate (cheapest first), else the one with the largest smallest ρ₁.
`spread_to_noise` is the RegNetX report: the models' spread against one model's seed noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .instrument import spearman_brown
from .trainability import chance_error

TARGET = 0.85          # reliability of the reference's k-seed mean
K_MAX = 4              # at most 4 seeds per model
TRAINED_MIN = 0.95     # fraction of models below half of chance under each seed
REFEREED = ("anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e")
COLUMNS = ["space", "models", "trained_s0", "trained_s1", "rho1", "k", "reliability_k"]


def seeds_needed(rho1: float, target: float = TARGET, k_max: int = K_MAX) -> int | None:
    """The smallest k ≤ `k_max` whose Spearman–Brown reliability k ρ₁ / (1 + (k − 1) ρ₁)
    reaches `target`; None when no such k (or ρ₁ is not positive)."""
    if not np.isfinite(rho1) or rho1 <= 0:
        return None
    for k in range(1, k_max + 1):
        if spearman_brown(rho1, k) >= target - 1e-12:
            return k
    return None


def _by_seed(runs: pd.DataFrame, space: str, seed: int) -> pd.DataFrame:
    rows = runs[(runs["design_space"] == space) & (runs["train_seed"] == seed)]
    return rows.set_index("index")


def stage_one(runs: pd.DataFrame, spaces: Sequence[str], num_classes: int = 10
              ) -> pd.DataFrame:
    """Per space: models with a run under both seeds, the trained fraction under each seed (a
    failed run counts as untrained), ρ₁ over the models trained under both, k and the
    reliability of the k-seed mean."""
    half = chance_error(num_classes) / 2
    out = []
    for space in spaces:
        s0, s1 = _by_seed(runs, space, 0), _by_seed(runs, space, 1)
        both = s0.index.intersection(s1.index)
        ok = [(s0.loc[i, "status"] == "ok") & (s0.loc[i, "error"] < half)
              & (s1.loc[i, "status"] == "ok") & (s1.loc[i, "error"] < half) for i in both]
        trained = [both[j] for j, flag in enumerate(ok) if flag]

        def frac(s: pd.DataFrame, both=both) -> float:
            rows = s.loc[both]
            return float(((rows["status"] == "ok") & (rows["error"] < half)).mean()) \
                if len(rows) else np.nan

        rho1 = (float(stats.spearmanr(s0.loc[trained, "error"], s1.loc[trained, "error"])[0])
                if len(trained) >= 3 else np.nan)
        k = seeds_needed(rho1)
        out.append({"space": space, "models": len(both), "trained_s0": frac(s0),
                    "trained_s1": frac(s1), "rho1": rho1, "k": k,
                    "reliability_k": spearman_brown(rho1, k) if k else np.nan})
    return pd.DataFrame(out, columns=COLUMNS)


def passes(table: pd.DataFrame, refereed: Sequence[str] = REFEREED) -> bool:
    """Stage 1's rule: every refereed space trains ≥ `TRAINED_MIN` under both seeds and has a
    k ≤ `K_MAX`."""
    rows = table.set_index("space").loc[list(refereed)]
    return bool((rows[["trained_s0", "trained_s1"]] >= TRAINED_MIN).all().all()
                and rows["k"].notna().all())


def choose(tables: Mapping[str, pd.DataFrame], refereed: Sequence[str] = REFEREED
           ) -> tuple[str, int | None, bool]:
    """(candidate, k, passed): the first candidate of `tables` (in the screen's cost order)
    that `passes`, with k the largest over the refereed spaces; else the candidate whose
    smallest refereed ρ₁ is largest, with k None."""
    for name, table in tables.items():
        if passes(table, refereed):
            rows = table.set_index("space").loc[list(refereed)]
            return name, int(rows["k"].max()), True
    worst = {name: float(t.set_index("space").loc[list(refereed), "rho1"].min())
             for name, t in tables.items()}
    return max(worst, key=lambda n: (np.nan_to_num(worst[n], nan=-np.inf))), None, False


def spread_to_noise(runs: pd.DataFrame, space: str) -> dict[str, float]:
    """The IQR across models of their seed-mean error, the median absolute seed 0 − seed 1
    difference of one model, and their ratio (what bounds ρ between seeds)."""
    s0, s1 = _by_seed(runs, space, 0), _by_seed(runs, space, 1)
    both = s0.index.intersection(s1.index)
    e0 = s0.loc[both, "error"].to_numpy(float)
    e1 = s1.loc[both, "error"].to_numpy(float)
    mean = (e0 + e1) / 2
    iqr = float(np.subtract(*np.percentile(mean, [75, 25]))) if len(both) else np.nan
    noise = float(np.median(np.abs(e0 - e1))) if len(both) else np.nan
    return {"models": float(len(both)), "iqr": iqr, "noise": noise,
            "ratio": iqr / noise if noise else np.nan}
