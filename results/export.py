"""Export the committed tables of the study from local sweeps (runs/ is not committed).

    python results/export.py study runs/study                # -> results/study.csv
    python results/export.py fidelity LABEL REF OTHER ...    # -> rows of results/fidelity.csv
                                        # (REF, OTHER: a sweep dir, or comma-separated seeds)

study.csv: one row per model (design_space, index, status, error, min_error, complexity,
spec columns, wall_seconds). fidelity.csv: analysis.fidelity rows (trained fraction and
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
           "depth", *[f"{k}{i}" for k in "dwbg" for i in range(1, 5)], "wall_seconds"]


def study(sweep_dir: str, out: Path = HERE / "study.csv") -> pd.DataFrame:
    df = load_sweep(sweep_dir)
    df = df[[c for c in COLUMNS if c in df.columns]]
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
        print(study(args[0]).groupby("design_space")["error"].describe())
    elif cmd == "fidelity":
        print(fidelity_rows(args[0], args[1], args[2:]).to_string(index=False))
    else:
        raise SystemExit(__doc__)
