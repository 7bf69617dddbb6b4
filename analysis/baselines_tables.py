"""The generated block of docs/RESULTS.md "The best random RegNetX against scaled ResNe(X)t"
(issue 25; [DDS] §5, Table 3, Fig. 17; ``conf/study/baselines.yaml``, ``conf/plan/baselines.yaml``):
one row per model of the study's run export (its complexity, its error under each training
seed, their mean and SD), then the plan's verdicts as the study wrote them. Nothing is computed
here but the per-model mean and SD of the committed errors (``dse-study baselines docs``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .docblocks import read_csv, table
from .study import StudyConfig, load_study

STUDY = "baselines"


@dataclass(frozen=True)
class Inputs:
    """The study's config, its run export and its verdicts."""

    study: StudyConfig
    runs: pd.DataFrame
    verdicts: pd.DataFrame


def load(results: Path) -> Inputs:
    study = load_study(STUDY)
    runs = read_csv(results / study.models, f"dse-study {STUDY} export")
    verdicts = read_csv(results / study.verdicts, f"dse-study {STUDY} verdicts")
    return Inputs(study, runs, verdicts)


def _int(x: float) -> str:
    return f"{int(round(float(x))):,}"


def models_block(inp: Inputs) -> str:
    """Per model, in the study's order: label, flops (millions: the export keeps 6 significant
    digits), params, acts, the errors by training seed, their mean and SD (percent)."""
    ok = inp.runs[inp.runs["status"] == "ok"]
    seeds = sorted(int(s) for s in ok["train_seed"].unique())
    rows = []
    for label in inp.study.order:
        m = ok[ok["design_space"] == label].set_index("train_seed")
        if m.empty:
            continue
        first = m.iloc[0]
        name = inp.study.name_of(label)
        if label == "regnetx" and "index" in m.columns:
            name += f" (index {int(first['index'])})"
        errors = [f"{m.loc[s, 'error']:.2f}" if s in m.index else "–" for s in seeds]
        rows.append([name, f"{first['flops'] / 1e6:.2f}M", _int(first["params"]),
                     _int(first["acts"]),
                     " / ".join(errors), f"{m['error'].mean():.2f}",
                     f"{m['error'].std(ddof=1):.2f}" if len(m) > 1 else "–"])
    head = ["model", "flops", "params", "acts",
            "error (%) under seeds " + ", ".join(map(str, seeds)), "mean", "SD"]
    return table(head, rows)


def verdicts_block(inp: Inputs) -> str:
    """One line per hypothesis: the estimate with its interval, the Holm-corrected p of the
    claim and of its opposite, and the verdict."""
    lines = []
    for _, v in inp.verdicts.iterrows():
        lines.append(f"- `{v['id']}`: {v['estimand']} = {v['estimate']:.2f} "
                     f"[{v['low']:.2f}, {v['high']:.2f}]; p (Holm) {v['p_corrected']:.3g}, "
                     f"opposite p (Holm) {v['p_contra_corrected']:.3g}: **{v['verdict']}**")
    return "\n".join(lines)


def baselines_block(inp: Inputs) -> str:
    return models_block(inp) + "\n\n" + verdicts_block(inp)


BLOCKS: dict[str, Callable[[Inputs], str]] = {"baselines": baselines_block}
