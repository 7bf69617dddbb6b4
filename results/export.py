"""Export the committed tables of the study from local sweeps (runs/ is not committed).

    python results/export.py study runs/study [NAME]         # -> results/study.csv (NAME.csv)
    python results/export.py fidelity LABEL REF OTHER ...    # -> rows of results/fidelity.csv
                                        # (REF, OTHER: a sweep dir, or comma-separated seeds)
    python results/export.py runs NAME DIR [DIR ...]         # -> results/instrument/NAME.csv
                                        # (one row per run: regime, seed, geometry, error, …)
    python results/export.py timing RULE=DIR [RULE=DIR ...]  # -> results/instrument/timing.csv
                                        # (runs timed on a quiet machine, by window rule)

study.csv: one row per model (design_space, index, status, error, min_error, complexity,
spec columns, wall_seconds, and, since the instrument study, regime, training seed and
geometry). fidelity.csv: analysis.fidelity rows (trained fraction and
Spearman rho with 95% percentile-bootstrap intervals over models).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from analysis import load_sweep
from analysis.fidelity import fidelity, load_runs

HERE = Path(__file__).resolve().parent
COLUMNS = ["design_space", "index", "status", "error", "min_error", "flops", "params", "acts",
           "depth", *[f"{k}{i}" for k in "dwbg" for i in range(1, 5)], "wall_seconds",
           "regime_name", "train_seed", "stem_stride", "strides"]


def study(sweep_dir: str, out: Path = HERE / "study.csv") -> pd.DataFrame:
    df = load_sweep(sweep_dir)
    df = df[[c for c in COLUMNS if c in df.columns]]
    df.to_csv(out, index=False, float_format="%.6g")
    return df


RUN_COLUMNS = ["regime_name", "train_seed", "design_space", "index", "status", "error",
               "wall_seconds", "stem_stride", "strides", "resolution", "flops", "params", "acts",
               "depth", *[f"{k}{i}" for k in "dwbg" for i in range(1, 5)], "threads",
               "precision", "images_per_second"]


def runs(name: str, dirs: list[str], out_dir: Path = HERE / "instrument") -> pd.DataFrame:
    """One row per run of the sweep folders `dirs` (e.g. the proxy and reference regimes under
    two seeds each), so that the instrument study's numbers live in a committed table while its
    sweeps go on; rewritten whole each time."""
    frames = [load_sweep(d, allow_mixed=True) for d in dirs]
    df = pd.concat(frames, ignore_index=True)
    df = df[[c for c in RUN_COLUMNS if c in df.columns]].sort_values(
        ["regime_name", "train_seed", "design_space", "index"])
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / f"{name}.csv", index=False, float_format="%.6g")
    return df


def timing(sources: list[str], out: Path = HERE / "instrument" / "timing.csv") -> pd.DataFrame:
    """The runs of each ``RULE=DIR`` (the window rule, complexity.reference.scale, that the
    sweep in DIR used), one row per run with a ``scale`` column; rewritten whole."""
    frames = []
    for item in sources:
        scale, _, folder = item.partition("=")
        if not folder:
            raise SystemExit(f"timing: {item!r} is not RULE=DIR")
        df = load_sweep(folder, allow_mixed=True)
        frames.append(df[[c for c in RUN_COLUMNS if c in df.columns]].assign(scale=scale))
    df = pd.concat(frames, ignore_index=True).sort_values(
        ["regime_name", "scale", "design_space", "index"])
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False, float_format="%.6g")
    return df


def fidelity_rows(label: str, ref: str, others: list[str], out: Path = HERE / "fidelity.csv",
                  chance: float = 90.0) -> pd.DataFrame:
    r = load_runs(ref)
    rows = []
    for o in others:
        row = fidelity(r, load_runs(o), chance).as_row(f"{ref} vs {o}")
        rows.append({"candidate": label, **row})
    new = pd.DataFrame(rows)
    if out.exists():
        old = pd.read_csv(out)
        old = old[~old["comparison"].isin(new["comparison"])]
        new = pd.concat([old, new], ignore_index=True)
    new.to_csv(out, index=False, float_format="%.4f")
    return new


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    cmd, *args = sys.argv[1:]
    if cmd == "study":
        out = HERE / f"{args[1] if len(args) > 1 else 'study'}.csv"
        print(study(args[0], out).groupby("design_space")["error"].describe())
    elif cmd == "fidelity":
        print(fidelity_rows(args[0], args[1], args[2:]).to_string(index=False))
    elif cmd == "runs":
        table = runs(args[0], args[1:])
        print(table.groupby(["regime_name", "train_seed", "design_space"])["error"].describe())
    elif cmd == "timing":
        table = timing(args)
        print(table.groupby(["regime_name", "scale", "design_space"])["wall_seconds"].describe())
    else:
        raise SystemExit(__doc__)
