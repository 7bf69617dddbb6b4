"""Regime fidelity: does a cheap training regime rank models like another run does?

The paper's method rests on a short regime ranking architectures like a long one ([DDS] §3,
fn. 5; [NDS] §3). Given two sweeps of the *same* sampled models (paired by design space and
index), this measures (a) the fraction of models that train at all (error below half of
chance) and (b) Spearman's ρ between the two runs' errors, each with a percentile bootstrap
interval over models. Run it on two training seeds (noise floor) and on the proxy against a
4× longer regime (fidelity). `mean_over_seeds` averages each model's error over several training
seeds of one regime first, which estimates the regime's expected ranking with less noise.
`fidelity_by_space` measures it in every design space at once, with the single-run ρ a study
relies on and whether the proxy orders consecutive spaces as the reference does. Command:
``dse-fidelity proxy=[DIR,DIR] reference=[DIR,DIR]`` (analysis/fidelity_cli.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import bootstrap_interval


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class Fidelity:
    """Paired comparison of two runs of the same n models."""

    n: int
    trained_ref: Interval  # fraction of models with error < chance / 2, first run
    trained_other: Interval
    spearman: Interval  # Spearman rho between the two runs' errors, 95% bootstrap interval
    median_seconds_ref: float  # median wall time per model, first run

    def as_row(self, label: str) -> dict[str, object]:
        row = {"comparison": label, "n": self.n}
        for key, value in asdict(self).items():
            if isinstance(value, dict):
                row[key] = value["value"]
                row[f"{key}_low"], row[f"{key}_high"] = value["low"], value["high"]
        row["median_seconds_ref"] = self.median_seconds_ref
        return row


KEYS = ["design_space", "index"]
VALUES = ["status", "error", "wall_seconds"]


def _finished_errors(df: pd.DataFrame) -> pd.DataFrame:
    """The key and value columns of a `load_sweep` frame; the error of a model that did not
    finish (status not ``ok``) is NaN, i.e. it did not train."""
    df = df.loc[df["index"].notna(), [*KEYS, *VALUES]].copy()
    df["error"] = pd.to_numeric(df["error"], errors="coerce").where(df["status"] == "ok")
    return df


def pair_runs(ref: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Inner-join two `load_sweep` frames on (design_space, index), whatever the status; the
    error of a model that did not finish (status not ``ok``) is NaN, i.e. it did not train."""
    paired = _finished_errors(ref).merge(_finished_errors(other), on=KEYS,
                                         suffixes=("_ref", "_other"))
    if paired.empty:
        raise ValueError("runs: no model appears in both sweeps; pair the same design spaces "
                         "and sample indices")
    return paired


def mean_over_seeds(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame from `load_sweep` frames of the same models under different training seeds:
    per (design_space, index), the mean final error over the runs. A model counts as finished
    (status ``ok``) only if it finished in every run; otherwise it takes the first other status
    and no error. ``wall_seconds`` is the mean. Models missing from a run are dropped."""
    if not runs:
        raise ValueError("runs: need at least one sweep to average")
    merged = None
    for k, df in enumerate(runs):
        part = _finished_errors(df).rename(columns={c: f"{c}_{k}" for c in VALUES})
        merged = part if merged is None else merged.merge(part, on=KEYS)
    n = len(runs)
    statuses = merged[[f"status_{k}" for k in range(n)]]
    all_ok = (statuses == "ok").all(axis=1)
    first_bad = statuses.where(statuses != "ok").bfill(axis=1).iloc[:, 0]
    return pd.DataFrame({
        "design_space": merged["design_space"], "index": merged["index"],
        "status": np.where(all_ok, "ok", first_bad),
        "error": merged[[f"error_{k}" for k in range(n)]].mean(axis=1).where(all_ok),
        "wall_seconds": merged[[f"wall_seconds_{k}" for k in range(n)]].astype(float)
        .mean(axis=1),
    }).reset_index(drop=True)


def _bootstrap(data: tuple[np.ndarray, ...], stat, n_boot: int, seed: int, ci: float
               ) -> tuple[float, float]:
    """`analysis.bootstrap`'s `ci`% percentile interval of a vectorized `stat(*data, axis=-1)`
    over models, ``paired``: the samples are resampled jointly, model by model. Resamples where
    the statistic is undefined (e.g. a constant resample) are dropped."""
    return bootstrap_interval(data, stat, n_boot, ci, seed, paired=True)


def spearman_rho(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along `axis` (Pearson's r of average ranks), NaN for a constant sample."""
    ra, rb = stats.rankdata(a, axis=axis), stats.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ra * rb).sum(axis=axis) / np.sqrt((ra**2).sum(axis=axis)
                                                  * (rb**2).sum(axis=axis))


def fidelity(ref: pd.DataFrame, other: pd.DataFrame, chance_error: float = 90.0,
             n_boot: int = 2000, ci: float = 95, seed: int = 0) -> Fidelity:
    """Trained fractions and Spearman ρ (with percentile-bootstrap intervals over models) of
    two sweeps of the same models. `chance_error` is 100·(1 − 1/classes) percent.

    A model trains when its final error is below ``chance_error / 2``; one that diverged or
    failed counts as not trained. ρ is over the models that finished (status ok) in both."""
    p = pair_runs(ref, other)
    e_ref, e_oth = p["error_ref"].to_numpy(float), p["error_other"].to_numpy(float)
    threshold = chance_error / 2

    def frac(e: np.ndarray) -> Interval:
        ok = (np.nan_to_num(e, nan=np.inf) < threshold).astype(float)
        return Interval(float(ok.mean()), *_bootstrap((ok,), np.mean, n_boot, seed, ci))

    both = np.isfinite(e_ref) & np.isfinite(e_oth)
    a, b = e_ref[both], e_oth[both]
    if len(a) < 3:
        raise ValueError(f"runs: only {len(a)} models finished in both sweeps; need >= 3")

    return Fidelity(
        n=len(p),
        trained_ref=frac(e_ref),
        trained_other=frac(e_oth),
        spearman=Interval(float(stats.spearmanr(a, b).statistic),
                          *_bootstrap((a, b), spearman_rho, n_boot, seed, ci)),
        median_seconds_ref=float(np.median(pd.to_numeric(p["wall_seconds_ref"]))),
    )


def split_by_seed(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """One frame per training seed from `load_sweep` frames of one regime: sweep folders that
    each hold one seed, or one folder holding several (``train.seed=0,1`` into one
    ``sweep.dir``). Frames whose runs do not all record a seed are kept as given."""
    both = pd.concat(frames, ignore_index=True)
    if "train_seed" not in both or both["train_seed"].isna().any():
        return frames
    twice = both.duplicated(subset=[*KEYS, "train_seed"])
    if twice.any():
        row = both[twice].iloc[0]
        raise ValueError(f"runs: {row['design_space']}#{row['index']} seed "
                         f"{int(row['train_seed'])} appears twice; give each seed's runs once")
    return [both[both["train_seed"] == s].reset_index(drop=True)
            for s in sorted(both["train_seed"].unique())]


def load_runs(dirs: str) -> pd.DataFrame:
    """`load_sweep` of one sweep dir, or `mean_over_seeds` of several comma-separated ones
    (runs of the same models under different training seeds). Mixed regimes are allowed:
    comparing regimes is the point here."""
    from .sweep import load_sweep

    frames = [load_sweep(d, allow_mixed=True) for d in dirs.split(",") if d]
    if not frames:
        raise ValueError(f"runs: {dirs!r} names no sweep dir")
    return frames[0] if len(frames) == 1 else mean_over_seeds(frames)


def median_gap(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """median(b) − median(a) along `axis`: a pair's difference in error points."""
    return np.median(b, axis=axis) - np.median(a, axis=axis)


def _errors_all(df: pd.DataFrame, worst: float = 100.0) -> pd.DataFrame:
    """(design_space, index, error) with every model that did not finish at `worst` error (the
    all-models view of analysis.trainability)."""
    out = _finished_errors(df)[KEYS + ["error"]]
    out["error"] = out["error"].fillna(worst)
    return out


def fidelity_by_space(proxy: list[pd.DataFrame], reference: list[pd.DataFrame],
                      order: list[str] | None = None, chance_error: float = 90.0,
                      n_boot: int = 2000, ci: float = 95, seed: int = 0
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regime fidelity in every design space (issue: the laptop instrument).

    `proxy` holds one `load_sweep` frame per training seed of the proxy (two), `reference`
    one per seed of the longer reference regime (averaged per model, `mean_over_seeds`).
    Returns (per-space table, pair table). Per space and pooled: models paired, trained
    fraction of each proxy run and of the reference, the **single-run** Spearman ρ between each
    proxy seed and the reference (a study trains each model once), ρ between the two proxy
    seeds and, with two reference seeds, ρ between them (``rho_ref_seeds``: the reference's
    own reproducibility, which bounds how well any proxy can track it), each with a
    percentile-bootstrap interval over models. Per consecutive pair of
    spaces in `order`: the difference of median errors (b − a, all models, a model that did not
    finish counting as 100 %) with its bootstrap interval under proxy seed 0 and under the
    reference, on the same models; ``resolved`` when the reference interval excludes 0 and
    ``same_sign`` whether the proxy's difference then has the reference's sign."""
    if len(proxy) < 1 or len(reference) < 1:
        raise ValueError("proxy/reference: give at least one sweep folder each")
    ref = mean_over_seeds(reference) if len(reference) > 1 else _finished_errors(reference[0])
    threshold = chance_error / 2
    spaces = sorted(set(ref["design_space"]))
    proxy_runs = [_finished_errors(p) for p in proxy]
    ref_runs = [_finished_errors(r) for r in reference]
    rows = []
    for space in [*spaces, "pooled"]:
        pick = (lambda d: d) if space == "pooled" else \
            (lambda d, s=space: d[d["design_space"] == s])
        r = pick(ref)
        row: dict[str, object] = {"design_space": space}
        runs = [pick(p) for p in proxy_runs]
        for k, run in enumerate(runs):
            paired = run.merge(r, on=KEYS, suffixes=("", "_ref"))
            row["n"] = len(paired)
            e = paired["error"].to_numpy(float)
            row[f"trained_s{k}"] = float(np.mean(np.nan_to_num(e, nan=np.inf) < threshold))
            both = np.isfinite(e) & np.isfinite(paired["error_ref"].to_numpy(float))
            _rho_into(row, f"rho_ref_s{k}", e[both], paired["error_ref"].to_numpy(float)[both],
                      n_boot, seed, ci)
        e_ref = r["error"].to_numpy(float)
        row["trained_ref"] = float(np.mean(np.nan_to_num(e_ref, nan=np.inf) < threshold))
        if len(runs) > 1:
            _rho_into(row, "rho_seeds", *_seed_pair(runs[0], runs[1]), n_boot, seed, ci)
        if len(reference) > 1:
            _rho_into(row, "rho_ref_seeds", *_seed_pair(pick(ref_runs[0]), pick(ref_runs[1])),
                      n_boot, seed, ci)
        rows.append(row)
    table = pd.DataFrame(rows)
    pairs = []
    order = list(order) if order else spaces
    ref_all, proxy_all = _errors_all(ref), _errors_all(proxy[0])
    common = ref_all.merge(proxy_all, on=KEYS)[KEYS]  # the same models under both regimes
    for a, b in zip(order, order[1:], strict=False):
        entry: dict[str, object] = {"a": a, "b": b}
        for tag, frame in (("proxy", proxy_all), ("ref", ref_all)):
            ea = frame.merge(common[common["design_space"] == a], on=KEYS)["error"].to_numpy()
            eb = frame.merge(common[common["design_space"] == b], on=KEYS)["error"].to_numpy()
            if len(ea) < 2 or len(eb) < 2:
                raise ValueError(f"order: {a!r} and {b!r} need >= 2 paired models each; found "
                                 f"{len(ea)} and {len(eb)}")
            entry[f"diff_{tag}"] = float(np.median(eb) - np.median(ea))
            entry[f"diff_{tag}_low"], entry[f"diff_{tag}_high"] = bootstrap_interval(
                (ea, eb), median_gap, n_boot, ci, seed)
        resolved = entry["diff_ref_low"] > 0 or entry["diff_ref_high"] < 0
        entry["resolved"] = bool(resolved)
        entry["same_sign"] = (bool(np.sign(entry["diff_proxy"]) == np.sign(entry["diff_ref"]))
                              if resolved else None)
        pairs.append(entry)
    return table, pd.DataFrame(pairs)


def _seed_pair(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The errors of the models that finished in both of two runs, paired by model."""
    pair = a.merge(b, on=KEYS, suffixes=("", "_1"))
    x, y = pair["error"].to_numpy(float), pair["error_1"].to_numpy(float)
    both = np.isfinite(x) & np.isfinite(y)
    return x[both], y[both]


def _rho_into(row: dict[str, object], key: str, a: np.ndarray, b: np.ndarray, n_boot: int,
              seed: int, ci: float) -> None:
    if len(a) < 3:
        row[key], row[f"{key}_low"], row[f"{key}_high"] = np.nan, np.nan, np.nan
        return
    row[key] = float(stats.spearmanr(a, b).statistic)
    row[f"{key}_low"], row[f"{key}_high"] = _bootstrap((a, b), spearman_rho, n_boot, seed, ci)




@dataclass(frozen=True)
class Targets:
    """The instrument's targets (issue 11; docs/REGIME.md), fixed before the design spaces
    are compared with the paper: per design space, the trained fraction of each proxy seed,
    the single-run ρ(proxy, reference) of each seed, ρ between the proxy seeds and the median
    seconds per model; and every consecutive pair the reference resolves ordered alike by the
    proxy. Criteria that need the reference are judged once every space has `min_models`
    models with it."""

    trained: float = 0.95
    rho_ref: float = 0.75
    rho_seeds: float = 0.85
    seconds: float = 20.0
    min_models: int = 24


def check_targets(spaces: pd.DataFrame, pairs: pd.DataFrame,
                  seconds: pd.Series | None = None, targets: Targets = Targets()
                  ) -> pd.DataFrame:
    """One row per criterion from `fidelity_by_space`'s tables (and, optionally, the median
    seconds per model of each space, measured where the timing is meaningful): the target,
    the worst space and its value, ``holds`` (True, False, or None while fewer than
    ``targets.min_models`` models per space have the reference) and, where it does not hold,
    ``missed_by``: how far the worst space is from the target."""
    per = spaces[spaces["design_space"] != "pooled"].set_index("design_space")
    judged = bool(len(per)) and int(per["n"].min()) >= targets.min_models
    seeds = [c for c in per.columns if c.startswith("trained_s")]
    rhos = [c for c in per.columns if re.fullmatch(r"rho_ref_s\d+", c)]  # not rho_ref_seeds
    rows = []

    def add(criterion: str, bound: float, values: pd.Series | None,
            needs_reference: bool = True, at_least: bool = True) -> None:
        target = f"{'>=' if at_least else '<='} {bound:g}"
        v = None if values is None else values.dropna()
        if v is None or v.empty:
            rows.append({"criterion": criterion, "target": target, "worst_space": None,
                         "worst": np.nan, "holds": None, "missed_by": np.nan})
            return
        space = v.idxmin() if at_least else v.idxmax()
        worst = float(v[space])
        gap = bound - worst if at_least else worst - bound
        holds = (gap <= 0) if (judged or not needs_reference) else None
        rows.append({"criterion": criterion, "target": target, "worst_space": space,
                     "worst": worst, "holds": holds,
                     "missed_by": gap if holds is False else np.nan})

    add("trained fraction, each proxy seed", targets.trained, per[seeds].min(axis=1))
    add("single-run rho(proxy, reference), each proxy seed", targets.rho_ref,
        per[rhos].min(axis=1))
    add("rho(proxy seed 0, proxy seed 1)", targets.rho_seeds,
        per["rho_seeds"] if "rho_seeds" in per else None, needs_reference=False)
    add("median seconds per model", targets.seconds, seconds, needs_reference=False,
        at_least=False)
    resolved = pairs[pairs["resolved"]] if len(pairs) else pairs
    other = int((~resolved["same_sign"].astype(bool)).sum()) if len(resolved) else 0
    holds = (other == 0) if judged else None
    rows.append({"criterion": "consecutive pairs the reference resolves, ordered otherwise "
                              "by the proxy", "target": "0", "worst_space": None,
                 "worst": float(other), "holds": holds,
                 "missed_by": float(other) if holds is False else np.nan})
    return pd.DataFrame(rows)
