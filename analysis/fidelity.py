"""Regime fidelity: does a cheap training regime rank models like another run does?

The paper's method rests on a short regime ranking architectures like a long one ([DDS] §3,
fn. 5; [NDS] §3). Given two sweeps of the *same* sampled models (paired by design space and
index), this measures (a) the fraction of models that train at all (error below half of
chance) and (b) Spearman's ρ between the two runs' errors, each with a percentile bootstrap
interval over models. Run it on two training seeds (noise floor) and on the proxy against a
4× longer regime (fidelity). `mean_over_seeds` averages each model's error over several training
seeds of one regime first, which estimates the regime's expected ranking with less noise.
Command: ``python -m analysis.fidelity REF OTHER [OTHER …]``, where each argument is a sweep dir
or several comma-separated sweep dirs (seeds) to average.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats


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
    """Percentile-bootstrap `ci`% interval of a vectorized `stat(*data, axis=-1)` over models
    (`scipy.stats.bootstrap`, ``paired=True``: the samples are resampled jointly, model by
    model). Resamples where the statistic is undefined (e.g. a constant resample) are dropped."""
    res = stats.bootstrap(data, stat, n_resamples=n_boot, paired=True, vectorized=True,
                          method="percentile", rng=np.random.default_rng(seed))
    values = np.asarray(res.bootstrap_distribution, dtype=float)
    values = values[np.isfinite(values)]
    half = (100 - ci) / 2
    return float(np.percentile(values, half)), float(np.percentile(values, 100 - half))


def _spearman(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
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
                          *_bootstrap((a, b), _spearman, n_boot, seed, ci)),
        median_seconds_ref=float(np.median(pd.to_numeric(p["wall_seconds_ref"]))),
    )


def load_runs(dirs: str) -> pd.DataFrame:
    """`load_sweep` of one sweep dir, or `mean_over_seeds` of several comma-separated ones
    (runs of the same models under different training seeds). Mixed regimes are allowed:
    comparing regimes is the point here."""
    from .sweep import load_sweep

    frames = [load_sweep(d, allow_mixed=True) for d in dirs.split(",") if d]
    if not frames:
        raise ValueError(f"runs: {dirs!r} names no sweep dir")
    return frames[0] if len(frames) == 1 else mean_over_seeds(frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ref", help="sweep dir of the reference run (e.g. proxy, seed 0); "
                        "comma-separated dirs (seeds) are averaged per model")
    parser.add_argument("other", nargs="+", help="sweep dirs of runs to compare with it "
                        "(each may be comma-separated seeds to average)")
    parser.add_argument("--chance", type=float, default=90.0, help="chance error, percent")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    ref = load_runs(args.ref)
    rows = [fidelity(ref, load_runs(o), args.chance, n_boot=args.n_boot)
            .as_row(f"{args.ref} vs {o}") for o in args.other]
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.4f")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
