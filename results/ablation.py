"""A committed study judged by the committed refinement plan (conf/plan/refinement.yaml) with
`analysis.verdicts`. By default the stride-2 study (results/study.csv: the paper's geometry at
28 px, 32 models per space, before the instrument issue), the geometry ablation of the
confirmatory study, into results/ablation_verdicts.csv; with two arguments, another study export
(the confirmatory study) into the second file.

    python results/ablation.py [STUDY.csv VERDICTS.csv]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

import conf
from analysis import verdicts
from analysis.plan import load_plan

HERE = Path(__file__).resolve().parent


def study_frame(path: Path = HERE / "study.csv") -> pd.DataFrame:
    """A study export (``results/export.py study``) with what load_sweep derives from a record:
    shared b and g (the max over stages, pycls's anynet_b / anynet_g), the stage width ratios,
    the spec's stage lists, and the classes (10 digits). The geometry is the export's
    ``stem_stride`` and ``strides`` columns; study.csv, which predates them, is the paper's
    (stride-2 stem and stages)."""
    df = pd.read_csv(path)
    if "stem_stride" not in df:
        df["stem_stride"], df["strides"] = 2, "2,2,2,2"
    df["b"] = df[[f"b{i}" for i in range(1, 5)]].max(axis=1)
    df["g"] = df[[f"g{i}" for i in range(1, 5)]].max(axis=1)
    df["spec"] = [{"depths": [int(r[f"d{i}"]) for i in range(1, 5)],
                   "widths": [int(r[f"w{i}"]) for i in range(1, 5)],
                   "bottleneck_ratios": [float(r[f"b{i}"]) for i in range(1, 5)],
                   "group_widths": [int(r[f"g{i}"]) for i in range(1, 5)],
                   "strides": [int(v) for v in str(r["strides"]).split(",")],
                   "stem_stride": int(r["stem_stride"]), "stem_width": 32,
                   "in_channels": 1, "num_classes": 10} for _, r in df.iterrows()]
    for i in range(1, 4):
        df[f"wr{i}"] = df[f"w{i + 1}"] / df[f"w{i}"]
    df["se_ratio"], df["stem_width"], df["resolution"] = 0.0, 32, 28
    df["num_classes"] = 10
    return df


def main(study: Path = HERE / "study.csv", out: Path = HERE / "ablation_verdicts.csv"
         ) -> pd.DataFrame:
    warnings.simplefilter("ignore")
    table = verdicts(study_frame(study), load_plan(conf.path() / "plan" / "refinement.yaml"))
    table.to_csv(out, index=False, float_format="%.4g")
    return table


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    if len(args) not in (0, 2):
        raise SystemExit(__doc__)
    print(main(*args).to_string(index=False))
