"""The best random RegNetX against ResNe(X)t baselines at the same flops ([DDS] §5, Table 3,
Fig. 17), shortened to the confirmatory instrument (conf/plan/baselines.yaml,
conf/study/baselines.yaml, docs/DESIGN_SPACES.md "Scaled ResNe(X)t baselines").

- `best_of`: [DDS] §5's choice of a model, the best of the first `BEST_OF` sampled settings of
  a space by their committed single-run proxy errors (``results/confirmatory.csv``). The
  chosen model is then retrained under training seeds the selection never saw, so its new
  errors carry no selection bias.
- `seed_pilot`, `power_rows`: the power of the plan's Welch tests from one model's
  seed-to-seed noise (the instrument study's two-seed proxy runs of a space,
  ``results/instrument/small_geometry.csv``), with `analysis.power_analysis.power`.

``dse-study baselines power`` writes ``results/paper/baselines_power.csv`` (`power_csv`;
conf/study/baselines.yaml, ``power.kind: seeds``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .docblocks import read_csv
from .instrument import PROXY, seed_pairs
from .power_analysis import sample_size

BEST_OF = 25  # [DDS] §5: the best of 25 random settings per flop regime
SPACE = "regnetx"
FIRST_INDEX = 24  # the confirmatory study's population starts at index 24 (0-23: the pilot)
SHIFTS = (0.1, 0.2, 0.3)  # RegNetX's mean error this much lower than the baseline's
FAMILY_SIZE = 2  # the plan's two hypotheses under Holm: its first step tests at alpha / 2
ALPHA, TARGET, N_MAX, N_SIM, SEED = 0.05, 0.8, 30, 2000, 0
POWER_CSV = "paper/baselines_power.csv"
MODELS_CSV, RUNS_CSV = "confirmatory.csv", "instrument/small_geometry.csv"
_EXPORT = "export it first (dse-study {} export)"


def best_of(models: pd.DataFrame, space: str = SPACE, first: int = FIRST_INDEX,
            count: int = BEST_OF) -> pd.Series:
    """The row of the lowest-error ok model among indices first … first + count − 1 of `space`
    (ties: the lower index); fewer than `count` such models is a ValueError."""
    rows = models[(models["design_space"] == space) & (models["index"] >= first)
                  & (models["index"] < first + count) & (models["status"] == "ok")]
    if len(rows) < count:
        raise ValueError(f"models: {space} has {len(rows)} ok models at indices {first}-"
                         f"{first + count - 1}; the best of {count} needs all of them")
    return rows.sort_values(["error", "index"]).iloc[0]


def seed_pilot(runs: pd.DataFrame, space: str, center: float) -> np.ndarray:
    """One model's errors over training seeds, as a pilot for `power`: `center` plus each
    model's seed-0 − seed-1 difference of `space`'s proxy runs over √2, with both signs (mean
    `center`, variance one run's seed-to-seed variance)."""
    pairs = seed_pairs(runs, PROXY)
    pairs = pairs[pairs["design_space"] == space]
    if len(pairs) < 2:
        raise ValueError(f"runs: {space} has {len(pairs)} models with both proxy seeds; need "
                         ">= 2")
    half = (pairs["error_0"] - pairs["error_1"]).to_numpy(float) / np.sqrt(2)
    return np.concatenate([center + half, center - half])


def power_rows(runs: pd.DataFrame, best_error: float, space: str = SPACE,
               shifts: Sequence[float] = SHIFTS) -> pd.DataFrame:
    """Per relative effect in `shifts` (the baseline's mean error e / (1 − shift), RegNetX's
    `best_error`), the Monte Carlo power of the one-sided Welch t test at alpha / `FAMILY_SIZE`
    with n seeds per model, n = 2, 3, … up to the first n reaching `TARGET` (or `N_MAX`)."""
    rows = []
    for shift in shifts:
        center = best_error / (1 - shift)
        pilot = seed_pilot(runs, space, center)
        sd = float(np.sqrt(np.mean((pilot - center) ** 2)))
        with warnings.catch_warnings():  # scipy: draws of n = 2 that happen to be equal
            warnings.simplefilter("ignore", RuntimeWarning)
            r = sample_size(pilot, shift, TARGET, grid=range(2, N_MAX + 1), alpha=ALPHA,
                            test="welch", n_sim=N_SIM, seed=SEED, family_size=FAMILY_SIZE)
        for n, p in r.powers.items():
            rows.append({"space": space, "pilot_models": len(pilot) // 2, "seed_sd": sd,
                         "best_error": best_error, "baseline_error": center, "shift": shift,
                         "alpha": ALPHA, "family_size": FAMILY_SIZE, "n": n, "power": p,
                         "target": TARGET, "n_needed": r.n})
    return pd.DataFrame(rows)


def power_csv(results: Path) -> str:
    """The text of `POWER_CSV` from the committed confirmatory and instrument exports."""
    models = read_csv(results / MODELS_CSV, _EXPORT.format("confirmatory"))
    runs = read_csv(results / RUNS_CSV, _EXPORT.format("instrument"))
    best = best_of(models)
    table = power_rows(runs, float(best["error"])).assign(best_index=int(best["index"]))
    return table.to_csv(index=False, float_format="%.4g")
