"""Regime fidelity: does a cheap training regime rank models like another run does?

The paper's method rests on a short regime ranking architectures like a long one ([DDS] §3,
fn. 5; [NDS] §3). Given two sweeps of the *same* sampled models (paired by design space and
index), this measures (a) the fraction of models that train at all (error below half of
chance) and (b) Spearman's ρ between the two runs' errors, each with a percentile bootstrap
interval over models. Run it on two training seeds (noise floor) and on the proxy against a
4× longer regime (fidelity). Command: ``python -m analysis.fidelity REF OTHER [--label …]``.
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


def pair_runs(ref: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Inner-join two `load_sweep` frames on (design_space, index); only status-ok rows."""
    keys = ["design_space", "index"]
    cols = [*keys, "error", "wall_seconds"]
    a = ref.loc[ref["status"] == "ok", cols]
    b = other.loc[other["status"] == "ok", cols]
    paired = a.merge(b, on=keys, suffixes=("_ref", "_other"))
    if paired.empty:
        raise ValueError("runs: no model appears (status ok) in both sweeps; pair the same "
                         "design spaces and sample indices")
    return paired


def _bootstrap(stat, n: int, n_boot: int, seed: int, ci: float) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    values = np.array([stat(i) for i in idx])
    values = values[np.isfinite(values)]
    half = (100 - ci) / 2
    return float(np.percentile(values, half)), float(np.percentile(values, 100 - half))


def fidelity(ref: pd.DataFrame, other: pd.DataFrame, chance_error: float = 90.0,
             n_boot: int = 2000, ci: float = 95, seed: int = 0) -> Fidelity:
    """Trained fractions and Spearman ρ (with percentile-bootstrap intervals over models) of
    two sweeps of the same models. `chance_error` is 100·(1 − 1/classes) percent."""
    p = pair_runs(ref, other)
    e_ref, e_oth = p["error_ref"].to_numpy(float), p["error_other"].to_numpy(float)
    threshold = chance_error / 2

    def frac(e: np.ndarray) -> Interval:
        ok = (e < threshold).astype(float)
        return Interval(float(ok.mean()), *_bootstrap(lambda i: ok[i].mean(), len(ok),
                                                      n_boot, seed, ci))

    def rho(i: np.ndarray) -> float:
        return float(stats.spearmanr(e_ref[i], e_oth[i]).statistic)

    everyone = np.arange(len(p))
    return Fidelity(
        n=len(p),
        trained_ref=frac(e_ref),
        trained_other=frac(e_oth),
        spearman=Interval(rho(everyone), *_bootstrap(rho, len(p), n_boot, seed, ci)),
        median_seconds_ref=float(np.median(p["wall_seconds_ref"])),
    )


def main(argv: list[str] | None = None) -> None:
    from .sweep import load_sweep

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ref", help="sweep dir of the reference run (e.g. proxy, seed 0)")
    parser.add_argument("other", nargs="+", help="sweep dirs of runs to compare with it")
    parser.add_argument("--chance", type=float, default=90.0, help="chance error, percent")
    args = parser.parse_args(argv)
    ref = load_sweep(args.ref, allow_mixed=True)
    rows = [fidelity(ref, load_sweep(o, allow_mixed=True), args.chance).as_row(f"{args.ref} vs {o}")
            for o in args.other]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
