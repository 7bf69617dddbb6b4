"""The 7-px comparison of AnyNetX_C, D and E (issue 21, item 4; ``conf/plan/geometry7.yaml``,
``conf/study/geometry7.yaml``): the generated block ``geometry7`` of docs/RESULTS.md, from the
plan's verdicts (``dse-study geometry7 verdicts``) and the two models exports.

Beside the verdicts it gives what the plan fixed as descriptive, never a verdict: the change of
E's gap on D between the small geometry (the confirmatory study, last stage at 2 px) and the 7-px
one, log(median E / median D) at 7 px minus the same at 2 px, on the plan's errors (metric
``all``: a model that did not finish counts as the worst error), with a 95 % percentile-bootstrap
interval resampling the four samples independently (seed 0, 10,000 draws; `analysis.bootstrap`).
It reads "smaller at 7 px" only if the interval lies below 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_interval
from .docblocks import read_csv, space_name, table
from .plan import find_plan, load_plan
from .results_tables import verdict_table
from .study import load_study
from .study_tables import models_frame
from .trainability import metric_frame, trained_mask

STUDY, SMALL = "geometry7", "confirmatory"  # conf/study/<name>.yaml
PAIR = ("anynetx_e", "anynetx_d")  # the gap whose change with the last stage's size is read
SPACES = ("anynetx_c", "anynetx_d", "anynetx_e")
STRICT = 20.0  # the stricter "trained" rule of the confirmatory audit: error below 20 %
N_BOOT, SEED, CI = 10_000, 0, 95


@dataclass(frozen=True)
class Inputs:
    verdicts: pd.DataFrame | None  # the plan's verdicts, once judged
    seven: pd.DataFrame | None  # the 7-px models, once exported (the plan's errors)
    small: pd.DataFrame  # the confirmatory models (the plan's errors)
    command: str  # how the study is run
    num_classes: int = 10


def _errors(frame: pd.DataFrame) -> pd.DataFrame:
    plan = load_plan(find_plan(STUDY))
    return metric_frame(frame, plan.metric, plan.column, plan.num_classes, plan.worst)


def load(results: Path) -> Inputs:
    study, small = load_study(STUDY), load_study(SMALL)
    judged = (results / study.verdicts).is_file()
    return Inputs(
        verdicts=read_csv(results / study.verdicts, "dse-study geometry7 verdicts")
        if judged else None,
        seven=_errors(models_frame(study, results)) if judged else None,
        small=_errors(models_frame(small, results)), command=study.experiment,
        num_classes=study.data.num_classes)


def _log_gap_change(e_small, d_small, e_seven, d_seven, axis=-1):
    """log(median E / median D) at 7 px minus the same at the small geometry."""
    def gap(e, d):
        return np.log(np.median(e, axis=axis)) - np.log(np.median(d, axis=axis))
    return gap(e_seven, d_seven) - gap(e_small, d_small)


def gap_change(small: pd.DataFrame, seven: pd.DataFrame, column: str = "error"
               ) -> tuple[float, float, float]:
    """The change of E's log gap on D from `small` to `seven` with its 95 % interval."""
    e, d = PAIR
    samples = tuple(f.loc[f["design_space"] == s, column].to_numpy(float)
                    for f in (small, seven) for s in (e, d))
    value = float(_log_gap_change(*samples))
    low, high = bootstrap_interval(samples, _log_gap_change, N_BOOT, CI, SEED)
    return value, low, high


def _geometry_rows(name: str, frame: pd.DataFrame, num_classes: int) -> list[list[str]]:
    """Per space of `SPACES`: models, median error, trained (below half of chance) and below
    `STRICT` %, on the plan's errors."""
    rows = []
    for space in SPACES:
        part = frame[frame["design_space"] == space]
        trained = trained_mask(part, num_classes)
        rows.append([name, space_name(space), str(len(part)), f"{part['error'].median():.2f}",
                     f"{trained.mean():.2f}", f"{(trained & (part['error'] < STRICT)).mean():.2f}"])
    return rows


def _ratio(frame: pd.DataFrame) -> float:
    e, d = (frame.loc[frame["design_space"] == s, "error"].median() for s in PAIR)
    return float(e / d)


def block(inp: Inputs) -> str:
    """The plan's verdicts, then per geometry and space the errors and trained fractions, and
    the change of E's gap on D."""
    if inp.verdicts is None:
        return (f"*Not run yet: `{inp.command}`, then `dse-study geometry7 export` and "
                "`dse-study geometry7 verdicts`.*")
    value, low, high = gap_change(inp.small, inp.seven)
    smaller = high < 0
    e, d = (space_name(s) for s in PAIR)
    rows = [*_geometry_rows("small (stages at 14, 7, 4, 2 px)", inp.small, inp.num_classes),
            *_geometry_rows("seven (stages at 28, 28, 14, 7 px)", inp.seven, inp.num_classes)]
    reading = ("smaller at 7 px: the interval lies below 0" if smaller else
               "not shown smaller at 7 px: the interval does not lie below 0")
    return "\n\n".join([
        verdict_table(inp.verdicts),
        table(["geometry", "space", "models", "median error, %",
               "trained (below half of chance)", f"below {STRICT:g} %"], rows),
        f"Median {e} / median {d}: {_ratio(inp.small):.3f} at the small geometry, "
        f"{_ratio(inp.seven):.3f} at 7 px. Change of {e}'s gap on {d}, log(median {e} / median "
        f"{d}) at 7 px minus the same at the small geometry: {value:+.3f} [{low:+.3f}, "
        f"{high:+.3f}] (95 %, {N_BOOT:,} resamples, seed {SEED}); {reading}. Descriptive, as "
        "the plan fixed it: no verdict."])


BLOCKS: dict[str, Callable[[Inputs], str]] = {"geometry7": block}
