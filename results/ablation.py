"""The committed stride-2 study (results/study.csv: the paper's geometry at 28 px, 32 models per
space, before the instrument issue) judged by the committed refinement plan
(conf/plan/refinement.yaml) with `analysis.verdicts`: the geometry ablation of the confirmatory
study. Writes results/ablation_verdicts.csv.

    python results/ablation.py
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

import conf
from analysis import verdicts
from analysis.plan import load_plan

HERE = Path(__file__).resolve().parent


def study_frame(path: Path = HERE / "study.csv") -> pd.DataFrame:
    """study.csv with what load_sweep derives from a record: shared b and g (the max over
    stages, pycls's anynet_b / anynet_g), the stage width ratios, the spec's stage lists, and the
    classes (10 digits)."""
    df = pd.read_csv(path)
    df["b"] = df[[f"b{i}" for i in range(1, 5)]].max(axis=1)
    df["g"] = df[[f"g{i}" for i in range(1, 5)]].max(axis=1)
    df["spec"] = [{"depths": [int(r[f"d{i}"]) for i in range(1, 5)],
                   "widths": [int(r[f"w{i}"]) for i in range(1, 5)],
                   "bottleneck_ratios": [float(r[f"b{i}"]) for i in range(1, 5)],
                   "group_widths": [int(r[f"g{i}"]) for i in range(1, 5)],
                   "strides": [2, 2, 2, 2], "stem_stride": 2, "stem_width": 32,
                   "in_channels": 1, "num_classes": 10} for _, r in df.iterrows()]
    for i in range(1, 4):
        df[f"wr{i}"] = df[f"w{i + 1}"] / df[f"w{i}"]
    df["se_ratio"], df["stem_width"], df["stem_stride"] = 0.0, 32, 2
    df["strides"], df["resolution"] = "2,2,2,2", 28
    df["num_classes"] = 10
    return df


def main() -> pd.DataFrame:
    warnings.simplefilter("ignore")
    table = verdicts(study_frame(), load_plan(conf.path() / "plan" / "refinement.yaml"))
    table.to_csv(HERE / "ablation_verdicts.csv", index=False, float_format="%.4g")
    return table


if __name__ == "__main__":
    print(main().to_string(index=False))
