"""The Fashion-MNIST reference screen's rules (docs/REGIME.md, "The Fashion-MNIST instrument";
issue 21), as committed before its runs: a reference reproduces itself in a space when the
Spearman–Brown reliability of the mean of its k seeds is at least `TARGET`, k at most `K_MAX`.

Stage 1 (`stage_one`): per space, ρ₁ = Spearman ρ between seeds 0 and 1 over the models that
trained under both, the trained fraction, and k = `seeds_needed(ρ₁)`; a candidate passes when
every refereed AnyNetX space trains (≥ 0.95 under both seeds) and has a k. `choose` takes the
first passing candidate (cheapest first), else the one with the largest smallest ρ₁.
`spread_to_noise` is the RegNetX report: the models' spread against one model's seed noise.

Stage 2 (`stage_two`, `pair_table`, `resolving_n`): the reference's k seeds on 24 models per
space. Per space, the mean pairwise seed ρ, the Spearman–Brown reliability of the k-seed mean
and the lower end of its 95 % percentile-bootstrap interval (models resampled); per consecutive
refereed pair (`PAIRS`), the difference of median k-seed-mean errors with its interval, resolved
when the interval excludes 0; for an unresolved pair, the models per space that would resolve it
(`resolving_n`) and the cost of a reference study of that size (`study_core_hours`, judged
against `AFFORDABLE_CORE_HOURS`).

Stage 3 (`judge_proxy`, `choose_proxy`): each proxy candidate against the reference's k-seed
mean on the same models (`analysis.fidelity.fidelity_by_space`: trained fractions, single-run
ρ(proxy seed, reference), ρ between proxy seeds), its score (mean single-run ρ over five spaces
and two seeds), the pairs under the proxy's two-seed mean beside the reference's, their ratio
(gap inflation) and whether each pair the reference resolves is ordered alike (`ordering`).

Every interval is a 95 % percentile interval from `analysis.bootstrap` with `N_BOOT` resamples
and seed `SEED` (the mnist5k instrument's, `analysis.instrument`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import bootstrap_distribution, bootstrap_interval, percentile_interval
from .fidelity import (
    KEYS,
    Interval,
    fidelity_by_space,
    mean_over_seeds,
    median_gap,
    spearman_rho,
)
from .instrument import N_BOOT, SEED, spearman_brown
from .power_analysis import SampleSize, first_powered
from .trainability import all_models, chance_error

TARGET = 0.85          # reliability of the reference's k-seed mean
K_MAX = 4              # at most 4 seeds per model
TRAINED_MIN = 0.95     # fraction of models below half of chance under each seed
REFEREED = ("anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e")
COLUMNS = ["space", "models", "trained_s0", "trained_s1", "rho1", "k", "reliability_k"]
CLASSES = 10           # Fashion-MNIST
CI = 95                # every interval: the central 95 % (two-sided 5 %)

# Stage 2 (docs/REGIME.md, "Stage 2").
PAIRS = (("anynetx_c", "anynetx_d"), ("anynetx_d", "anynetx_e"), ("anynetx_e", "regnetx"))
K_REPORT_MAX = 10
"""RegNetX's report: the k that would reach `TARGET` is searched up to this many seeds, and
stated as "none ≤ 10" beyond (ten seeds per model is more than the screen could run)."""
POWER_TARGET = 0.8     # the power at which N resolves a pair
POWER_GRID = (24, 32, 48, 64, 96, 128, 192, 256)
"""Models per space tried, ascending, for an unresolved pair; none reaching `POWER_TARGET` is
stated as "> 256"."""
POWER_REPS = 200       # simulated studies per N
POWER_BOOT = 500       # bootstrap resamples of each simulated study's interval
AFFORDABLE_CORE_HOURS = 12.0
"""A reference study is affordable when N models × 5 spaces × k seeds × the reference's median
seconds per run is at most 12 core-hours: six hours of this 2-core machine with both cores
busy; beyond it a pair is left unresolved rather than bought."""

# Stage 3 (docs/REGIME.md, "Stage 3").
PROXY, PROXY_T5K = "fm_proxy", "fm_proxy_t5k"
PROXY_SEEDS = (0, 1)
SCORE_MARGIN = 0.05    # fm_proxy_t5k must score more than this above fm_proxy
_EPS = 1e-12           # float tolerance of the rules' comparisons


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


def seed_errors(runs: pd.DataFrame, space: str, seeds: Sequence[int]) -> pd.DataFrame:
    """One row per model of `space` with a run under every one of `seeds` (sorted by index),
    one column per seed: its error, NaN where the run did not finish (status not ok)."""
    cols = {}
    for s in seeds:
        rows = _by_seed(runs, space, s)
        cols[s] = pd.to_numeric(rows["error"], errors="coerce").where(rows["status"] == "ok")
    return pd.concat(cols, axis=1, join="inner").sort_index()


def spread_to_noise(runs: pd.DataFrame, space: str, seeds: Sequence[int] = (0, 1)
                    ) -> dict[str, float]:
    """The IQR across models of their mean error over `seeds`, the median absolute difference
    between two seeds' errors of one model (over every model and pair of seeds), and their ratio
    (what bounds ρ between seeds); on the models that finished under every seed."""
    e = seed_errors(runs, space, seeds).dropna().to_numpy(float)
    if not len(e):
        return {"models": 0.0, "iqr": np.nan, "noise": np.nan, "ratio": np.nan}
    iqr = float(np.subtract(*np.percentile(e.mean(axis=1), [75, 25])))
    gaps = [np.abs(e[:, i] - e[:, j]) for i, j in itertools.combinations(range(e.shape[1]), 2)]
    noise = float(np.median(np.concatenate(gaps)))
    return {"models": float(len(e)), "iqr": iqr, "noise": noise,
            "ratio": iqr / noise if noise else np.nan}


# -- stage 2: the reference's k seeds on 24 models ---------------------------------------------

def _mean_pairwise_rho(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean over every pair of seeds of their Spearman ρ (vectorized along `axis`)."""
    return np.mean([spearman_rho(a, b, axis=axis)
                    for a, b in itertools.combinations(samples, 2)], axis=0)


def _reliability(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """`spearman_brown` of `_mean_pairwise_rho` with k = the number of samples (seeds)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return spearman_brown(_mean_pairwise_rho(*samples, axis=axis), len(samples))


@dataclass(frozen=True)
class Reproducibility:
    """Stage 2 in one space: `models` with a run under every seed, `trained` of them trained
    under every seed (error below half of chance, as stage 1), on which `rho` (the mean pairwise
    seed ρ) and `reliability` (Spearman–Brown of the k-seed mean) are computed; `low` is the
    lower end of the reliability's 95 % percentile-bootstrap interval (models resampled)."""

    space: str
    models: int
    trained: int
    rho: float
    reliability: float
    low: float
    reproduces: bool


def reproducibility(runs: pd.DataFrame, space: str, seeds: Sequence[int],
                    n_boot: int = N_BOOT, seed: int = SEED) -> Reproducibility:
    """`Reproducibility` of `space` under `seeds` (at least two); NaN under three models."""
    if len(seeds) < 2:
        raise ValueError(f"seeds: {list(seeds)!r} is not allowed; reproducibility needs at "
                         "least two training seeds")
    e = seed_errors(runs, space, seeds)
    trained = e[(e < chance_error(CLASSES) / 2).all(axis=1)]  # NaN (did not finish) is not
    x = tuple(trained[s].to_numpy(float) for s in seeds)
    if len(trained) < 3:
        return Reproducibility(space, len(e), len(trained), np.nan, np.nan, np.nan, False)
    rho = float(_mean_pairwise_rho(*x))
    rel = float(spearman_brown(rho, len(seeds)))
    low, _ = bootstrap_interval(x, _reliability, n_boot, CI, seed, paired=True)
    return Reproducibility(space, len(e), len(trained), rho, rel, low, rel >= TARGET - _EPS)


def stage_two(runs: pd.DataFrame, spaces: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    """One `Reproducibility` row per space (columns named as its fields)."""
    return pd.DataFrame([asdict(reproducibility(runs, sp, seeds)) for sp in spaces])


def seed_means(runs: pd.DataFrame, seeds: Sequence[int]) -> pd.DataFrame:
    """Per model (design_space, index) with a run under every one of `seeds`: its mean error
    over them (`fidelity.mean_over_seeds`), a model that did not finish under some seed
    counting as 100 % (`trainability.all_models`, as the mnist5k instrument's pairs); sorted."""
    frames = [runs[runs["train_seed"] == s] for s in seeds]
    means = all_models(mean_over_seeds(frames))
    return means[[*KEYS, "error"]].sort_values(KEYS).reset_index(drop=True)


def _space_errors(means: pd.DataFrame, space: str) -> np.ndarray:
    return means.loc[means["design_space"] == space, "error"].to_numpy(float)


def median_difference(a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED
                      ) -> Interval:
    """median(b) − median(a), in error points, with its 95 % percentile-bootstrap interval
    (each space's models resampled independently; `analysis.bootstrap`)."""
    low, high = bootstrap_interval((a, b), median_gap, n_boot, CI, seed)
    return Interval(float(np.median(b) - np.median(a)), low, high)


def resolved(iv: Interval) -> bool:
    """A pair is resolved when the interval of its difference excludes 0."""
    return bool(iv.low > 0 or iv.high < 0)


def resolving_power(a: np.ndarray, b: np.ndarray, n: int, reps: int = POWER_REPS,
                    n_boot: int = POWER_BOOT, seed: int = SEED) -> float:
    """The fraction of `reps` simulated studies of `n` models per space whose 95 % interval of
    median(b) − median(a) excludes 0: each study draws n of a's and n of b's values with
    replacement (so the true difference is the observed one), its interval as
    `median_difference`'s. Seeded by (`seed`, `n`); studies are drawn in chunks of 25."""
    rng = np.random.default_rng([seed, n])
    hits = 0
    for start in range(0, reps, 25):
        m = min(25, reps - start)
        xa = a[rng.integers(0, a.size, (n, m))]  # models on axis 0: one study per column
        xb = b[rng.integers(0, b.size, (n, m))]
        dist = bootstrap_distribution((xa, xb), median_gap, n_boot,
                                      int(rng.integers(2**32)))
        for row in dist.reshape(m, -1):
            hits += resolved(Interval(np.nan, *percentile_interval(row, CI)))
    return hits / reps


def resolving_n(a: np.ndarray, b: np.ndarray, grid: Sequence[int] = POWER_GRID,
                target: float = POWER_TARGET, **kw) -> SampleSize:
    """The first n of the ascending `grid` whose `resolving_power` (keywords reps, n_boot,
    seed) reaches `target` (None when none does), with the power at every n tried."""
    return first_powered(grid, target, lambda n: resolving_power(a, b, n, **kw))


def study_core_hours(n: int, spaces: int, k: int, seconds: float) -> float:
    """Core-hours of a reference study: n models × `spaces` × k seeds × `seconds` per run."""
    return n * spaces * k * seconds / 3600


def affordable(hours: float) -> bool:
    return bool(hours <= AFFORDABLE_CORE_HOURS)


def pair_table(means: pd.DataFrame, pairs: Sequence[tuple[str, str]] = PAIRS,
               n_boot: int = N_BOOT, seed: int = SEED) -> pd.DataFrame:
    """Per pair (a, b) of `seed_means`: models of each, median(b) − median(a) with interval
    (``diff``, ``low``, ``high``) and ``resolved``."""
    rows = []
    for a, b in pairs:
        ea, eb = _space_errors(means, a), _space_errors(means, b)
        iv = median_difference(ea, eb, n_boot, seed)
        rows.append({"a": a, "b": b, "n_a": len(ea), "n_b": len(eb), "diff": iv.value,
                     "low": iv.low, "high": iv.high, "resolved": resolved(iv)})
    return pd.DataFrame(rows)


# -- stage 3: the proxy against the reference ---------------------------------------------------

def ordering(proxy: float, reference: float) -> str:
    """How the proxy orders a pair the reference resolves: ``alike`` (same sign of the
    difference), ``other way`` (opposite sign: a contradiction between the instruments) or
    ``tied`` (no difference under the proxy: not ordered alike, not the other way either)."""
    if np.sign(proxy) == np.sign(reference):
        return "alike"
    return "tied" if proxy == 0 else "other way"


@dataclass(frozen=True)
class ProxyJudged:
    """A stage-3 candidate against the reference: `spaces`, `fidelity_by_space`'s per-space
    rows (no pooled row) with ``median_seconds`` per model; `pairs`, per refereed pair the
    median difference under the proxy's two-seed mean (``proxy``, ``proxy_low``,
    ``proxy_high``) and under the reference's k-seed mean (``ref``, …) on the same models,
    their ratio (``inflation``), ``resolved`` by the reference and ``order`` (`ordering`, None
    where the reference does not resolve the pair); `score`, the mean single-run ρ(proxy seed,
    reference) over the spaces and both seeds; `trained_min`, the least trained fraction of
    any space and seed."""

    name: str
    spaces: pd.DataFrame
    pairs: pd.DataFrame
    score: float
    trained_min: float


def judge_proxy(name: str, proxy: pd.DataFrame, reference: pd.DataFrame,
                ref_seeds: Sequence[int], spaces: Sequence[str],
                pairs: Sequence[tuple[str, str]] = PAIRS, n_boot: int = N_BOOT,
                seed: int = SEED) -> ProxyJudged:
    """`ProxyJudged` of the runs `proxy` (seeds `PROXY_SEEDS`) against the runs `reference`
    (seeds `ref_seeds`), both one row per run as the screen's export."""
    seeds = [proxy[proxy["train_seed"] == s] for s in PROXY_SEEDS]
    refs = [reference[reference["train_seed"] == s] for s in ref_seeds]
    with warnings.catch_warnings():  # a constant resample of few models
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        table, _ = fidelity_by_space(seeds, refs, list(spaces), chance_error(CLASSES),
                                     n_boot, CI, seed)
    per = table[table["design_space"] != "pooled"].set_index("design_space")
    per = per.reindex(list(spaces))
    per["median_seconds"] = proxy.groupby("design_space")["wall_seconds"].median()
    rho = per[[f"rho_ref_s{s}" for s in range(len(PROXY_SEEDS))]].to_numpy(float)
    trained = per[[f"trained_s{s}" for s in range(len(PROXY_SEEDS))]].to_numpy(float)
    p_means, r_means = seed_means(proxy, PROXY_SEEDS), seed_means(reference, ref_seeds)
    common = p_means[KEYS].merge(r_means[KEYS], on=KEYS)
    p_means, r_means = (m.merge(common, on=KEYS).sort_values(KEYS) for m in (p_means, r_means))
    rows = []
    for a, b in pairs:
        p = median_difference(_space_errors(p_means, a), _space_errors(p_means, b), n_boot, seed)
        r = median_difference(_space_errors(r_means, a), _space_errors(r_means, b), n_boot, seed)
        ok = resolved(r)
        rows.append({"a": a, "b": b, "proxy": p.value, "proxy_low": p.low,
                     "proxy_high": p.high, "ref": r.value, "ref_low": r.low,
                     "ref_high": r.high,
                     "inflation": p.value / r.value if r.value else np.nan,
                     "resolved": ok, "order": ordering(p.value, r.value) if ok else None})
    return ProxyJudged(name, per.reset_index(), pd.DataFrame(rows), float(np.mean(rho)),
                       float(np.min(trained)))


def choose_proxy(judged: Mapping[str, ProxyJudged]) -> str:
    """Stage 3's rule: `PROXY` unless `PROXY_T5K` trains ≥ `TRAINED_MIN` in every space under
    both seeds and scores more than `SCORE_MARGIN` higher."""
    base, alt = judged[PROXY], judged[PROXY_T5K]
    if alt.trained_min >= TRAINED_MIN - _EPS and alt.score > base.score + SCORE_MARGIN + _EPS:
        return PROXY_T5K
    return PROXY


def contradictions(judged: ProxyJudged) -> list[tuple[str, str]]:
    """The pairs the reference resolves that `judged` orders the other way."""
    p = judged.pairs
    return [(r.a, r.b) for r in p.itertuples() if r.resolved and r.order == "other way"]
