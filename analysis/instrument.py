"""The rules that chose the laptop instrument (docs/REGIME.md, "The laptop instrument"): a
regime judged against the seed-averaged 4× reference in every design space, the screen's
decision rule with its `MARGIN`, the targets it is checked against, and the attenuation
ceiling that the reference's own reproducibility puts on ρ(proxy, reference).

Inputs are the exported run tables (``results/instrument/small_geometry.csv``, ``screen.csv``,
``timing.csv``: one row per run with ``regime_name``, ``design_space``, ``index``,
``train_seed``, ``status``, ``error``, ``wall_seconds``). The tables of docs/REGIME.md are
rendered from these functions by `analysis.instrument_tables`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .fidelity import Targets, check_targets, fidelity_by_space, split_by_seed
from .trainability import chance_error

# The instrument study's spaces, in the order the docs list them (AnyNetX_B is not in it).
ORDER = ["anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
PROXY, REFERENCE = "proxy", "proxy_long"
CLASSES = 10
CHANCE = chance_error(CLASSES)  # 90 %: "trained" below 45 %
N_BOOT, SEED = 2000, 0
N_MIN = Targets().min_models  # models per space with both reference seeds
KEYS = ["design_space", "index"]

# The screen (docs/REGIME.md, "The screen"): one knob at a time away from the proxy.
SCREEN = {"proxy_e4": "`regime.epochs=4`", "proxy_lr0.2": "`regime.lr=0.2`",
          "proxy_wu0": "`regime.warmup_epochs=0`"}
SCREEN_MODELS = 12  # indices 0-11 of each space
MARGIN = 0.05  # the rule's tolerance on the score and on ρ between seeds


@dataclass(frozen=True)
class Judged:
    """A regime's runs against the complete reference: `fidelity_by_space`'s tables and the
    fewest models per space with both of its seeds and both reference seeds."""

    name: str
    spaces: pd.DataFrame
    pairs: pd.DataFrame
    n: int


def regime_runs(runs: pd.DataFrame, name: str) -> list[pd.DataFrame]:
    """The runs of regime `name`, one table per training seed; none is a ValueError."""
    part = runs[runs["regime_name"] == name]
    if part.empty:
        raise ValueError(f"results: small_geometry.csv has no runs of regime {name!r}")
    return split_by_seed([part.reset_index(drop=True)])


def complete_reference(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """The reference runs of the models that have both seeds (the average needs both)."""
    seeds = regime_runs(runs, REFERENCE)
    common = seeds[0][KEYS]
    for s in seeds[1:]:
        common = common.merge(s[KEYS], on=KEYS)
    return [s.merge(common, on=KEYS) for s in seeds]


def models_with_reference(runs: pd.DataFrame) -> int:
    """The fewest models with both reference seeds in any space of `ORDER`."""
    per_space = complete_reference(runs)[0].groupby("design_space").size()
    return int(per_space.reindex(ORDER).fillna(0).min())


def seed_pairs(runs: pd.DataFrame, regime: str = PROXY) -> pd.DataFrame:
    """The models with an ok run of `regime` under both of the first two training seeds, one
    row each (the runs' columns suffixed ``_0`` and ``_1``, `KEYS` shared)."""
    p = regime_runs(runs, regime)
    if len(p) < 2:
        raise ValueError(f"results: the runs of regime {regime!r} have one training seed; "
                         "one model's noise needs two")
    both = p[0].merge(p[1], on=KEYS, suffixes=("_0", "_1"))
    return both[(both["status_0"] == "ok") & (both["status_1"] == "ok")]


def seed_noise(pairs: pd.DataFrame) -> float:
    """One model's seed-to-seed noise (docs/REGIME.md, block ``instrument-spread``): the median
    absolute difference between the seed-0 and the seed-1 error of the models of `pairs`
    (`seed_pairs`), in error points."""
    return float(np.median(np.abs(pairs["error_0"] - pairs["error_1"])))


def _fidelity(seeds: list[pd.DataFrame], reference: list[pd.DataFrame],
              order: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    with warnings.catch_warnings():  # intervals over the few models of a partial reference
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        return fidelity_by_space(seeds, reference, order, chance_error=CHANCE, n_boot=N_BOOT,
                                 seed=SEED)


def judge(runs: pd.DataFrame, source: pd.DataFrame, name: str) -> Judged:
    """Regime `name`'s runs in `source` against the complete reference of `runs`
    (`fidelity_by_space`, seeded)."""
    seeds = regime_runs(source, name)
    reference = complete_reference(runs)
    both = reference[0][KEYS]
    for s in seeds:
        both = both.merge(s[KEYS], on=KEYS)
    n = int(both.groupby("design_space").size().reindex(ORDER).fillna(0).min())
    spaces, pairs = _fidelity(seeds, reference, ORDER)
    return Judged(name=name, spaces=spaces, pairs=pairs, n=n)


def median_seconds(timing: pd.DataFrame, scale: str, regime: str = PROXY) -> pd.Series:
    """Per space of `ORDER`, the median quiet-machine seconds per model of `regime` under
    window rule `scale` (NaN where it was not timed)."""
    t = timing[(timing["scale"] == scale) & (timing["regime_name"] == regime)]
    return t.groupby("design_space")["wall_seconds"].median().reindex(ORDER)


def regime_seconds(timing: pd.DataFrame, names: Iterable[str]) -> dict[str, float]:
    """Per regime, the cost the target judges: the largest per-space median of quiet-machine
    seconds per model (window rule `input`), NaN when it was not timed."""
    return {name: float(median_seconds(timing, "input", name).max()) for name in names}


def check(judged: Judged, seconds: pd.Series) -> pd.DataFrame:
    """`check_targets` of a judged regime and its per-space cost: the criteria that need the
    reference wait until every space has `N_MIN` models with it (docs/REGIME.md targets)."""
    return check_targets(judged.spaces, judged.pairs, seconds, Targets(min_models=N_MIN))


def screen_summary(runs: pd.DataFrame, screened: pd.DataFrame) -> pd.DataFrame:
    """One row per regime (the proxy, then each of `SCREEN`), all on the same models: the first
    `SCREEN_MODELS` of each space, under both seeds of every regime and of the reference (until
    all are there, only each regime's count of them). Per space, ρ(regime, reference)
    averaged over the regime's two seeds (``rho_<space>``) and ρ between its seeds
    (``seeds_<space>``); ``score`` and ``seeds_mean`` average those over the spaces
    (docs/REGIME.md, "The screen"); ``trained_min`` is the least trained fraction of any
    space and seed."""
    regimes = {PROXY: regime_runs(runs, PROXY)}
    for name in SCREEN:
        part = screened[screened["regime_name"] == name].reset_index(drop=True)
        regimes[name] = split_by_seed([part]) if len(part) else []
    reference = complete_reference(runs)
    screened_models = reference[0][KEYS]
    screened_models = screened_models[screened_models["index"] < SCREEN_MODELS]
    done = {}  # per regime, the screened models it has under both seeds
    for name, seeds in regimes.items():
        have = screened_models if len(seeds) >= 2 else screened_models.iloc[:0]
        for s in seeds:
            have = have.merge(s[KEYS], on=KEYS)
        done[name] = have
    common = screened_models
    for have in done.values():
        common = common.merge(have, on=KEYS)
    if len(common) < SCREEN_MODELS * len(ORDER):  # shown once every regime has every model
        return pd.DataFrame({"regime": list(done), "models": [len(h) for h in done.values()]})
    reference = [r.merge(common, on=KEYS) for r in reference]
    rows = []
    for name, seeds in regimes.items():
        table, _ = _fidelity([s.merge(common, on=KEYS) for s in seeds], reference, None)
        per = table[table["design_space"] != "pooled"].set_index("design_space")
        row: dict[str, object] = {"regime": name, "models": len(common)}
        for space in ORDER:
            row[f"rho_{space}"] = float(per.loc[space, ["rho_ref_s0", "rho_ref_s1"]].mean())
            row[f"seeds_{space}"] = float(per.loc[space, "rho_seeds"])
        row["score"] = float(np.mean([row[f"rho_{sp}"] for sp in ORDER]))
        row["seeds_mean"] = float(np.mean([row[f"seeds_{sp}"] for sp in ORDER]))
        row["trained_min"] = float(per[["trained_s0", "trained_s1"]].min().min())
        rows.append(row)
    return pd.DataFrame(rows)


def screen_choice(summary: pd.DataFrame, seconds: dict[str, float],
                  target_seconds: float = Targets().seconds, margin: float = MARGIN
                  ) -> tuple[str | None, dict[str, str]]:
    """The rule of docs/REGIME.md, "The screen", on `screen_summary` and each regime's cost
    (`regime_seconds`): the chosen regime (None until every regime has all its screened models)
    and, per candidate, why it does or does not qualify. A candidate replaces the proxy only if
    every space trains, its ρ between seeds is at most `margin` below the proxy's, and its score
    exceeds the proxy's by more than `margin`, or is within `margin` and it meets the cost
    target the proxy misses; the highest qualifying score wins."""
    if "score" not in summary:
        return None, {}
    rows = summary.set_index("regime")
    base = rows.loc[PROXY]
    base_slow = not seconds.get(PROXY, np.inf) <= target_seconds
    reasons, qualified = {}, {}
    for name in SCREEN:
        r = rows.loc[name]
        fast = seconds.get(name, np.inf) <= target_seconds
        if r["trained_min"] < Targets().trained:
            reasons[name] = f"a space trains {r['trained_min']:.2f} < {Targets().trained}"
        elif r["seeds_mean"] < base["seeds_mean"] - margin:
            reasons[name] = (f"ρ between seeds {r['seeds_mean']:.2f}, more than {margin} below "
                             f"the proxy's {base['seeds_mean']:.2f}")
        elif r["score"] > base["score"] + margin:
            reasons[name], qualified[name] = "qualifies: a higher score", r["score"]
        elif r["score"] >= base["score"] - margin and fast and base_slow:
            reasons[name] = "qualifies: as good a score, and meets the cost target"
            qualified[name] = r["score"]
        elif r["score"] >= base["score"] - margin:
            reasons[name] = ("a score within the margin, without the cost target that would "
                             "break the tie" + ("" if np.isfinite(seconds.get(name, np.nan))
                                                else " (not timed)"))
        else:
            reasons[name] = (f"score {r['score']:.2f}, more than {margin} below the proxy's "
                             f"{base['score']:.2f}")
    chosen = max(qualified, key=qualified.get) if qualified else PROXY
    return chosen, reasons


def spearman_brown(r: float, k: int = 2) -> float:
    """The reliability of the mean of `k` runs whose pairs agree at `r`: k·r / (1 + (k − 1)·r)
    (the Spearman–Brown prophecy formula)."""
    return k * r / (1 + (k - 1) * r)


def attenuation_bound(proxy_rel: float, ref_r: float) -> tuple[float, float]:
    """(reliability of the two-seed reference mean, ceiling of ρ(proxy run, reference mean))
    for proxy seeds agreeing at `proxy_rel` and reference seeds at `ref_r`: a run correlates
    with another measurement of the same ranking at most about √(reliability × reliability)
    (Spearman's correction for attenuation, applied to rank correlations as an approximation);
    the reference mean's reliability is `spearman_brown` of `ref_r`. NaN where a reliability is
    not positive."""
    ref_rel = spearman_brown(ref_r) if ref_r > 0 else float("nan")
    ok = proxy_rel > 0 and ref_rel > 0
    return ref_rel, float(np.sqrt(proxy_rel * ref_rel)) if ok else float("nan")


def ceilings(judged: Judged) -> pd.Series:
    """Per space (not pooled), the ceiling of `attenuation_bound` from its seed agreements."""
    per = judged.spaces[judged.spaces["design_space"] != "pooled"].set_index("design_space")
    return pd.Series({sp: attenuation_bound(r["rho_seeds"], r["rho_ref_seeds"])[1]
                      for sp, r in per.iterrows()})


def below_ceiling(judged: Judged) -> list[str]:
    """The spaces of `ORDER` whose ceiling lies below the ρ(proxy, reference) target (or has
    no ceiling): there the target cannot be met whatever the proxy does."""
    bound = ceilings(judged)
    return [sp for sp in ORDER if not bound.get(sp, np.nan) >= Targets().rho_ref]
