"""The generated blocks of docs/RESULTS.md's issue-25 section (``dse-study paper docs``): the
populations the sequential sweeps have trained so far (``paper-populations``, the same table as
the confirmatory study's, from ``results/paper/models.csv``), how error goes with depth in each
(``paper-depth``: Spearman's ρ, descriptive, no plan judges it) and what each study cost
(``paper-cost``, `analysis.study_costs`, from ``results/paper/cost.csv``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy import stats

from .docblocks import table
from .results_tables import population_table
from .study import StudyConfig, load_study
from .study_costs import cost_block
from .study_costs import load as load_costs
from .study_export import study_frame

PAPER = "paper"  # conf/study/paper.yaml: the export every issue-25 plan judges


@dataclass(frozen=True)
class Inputs:
    config: StudyConfig
    models: pd.DataFrame | None  # results/paper/models.csv, None before its export
    costs: pd.DataFrame | None   # results/paper/cost.csv, None before `dse-study paper cost`


def load(results: Path) -> Inputs:
    config = load_study(PAPER)
    path = results / config.models
    return Inputs(config, study_frame(path, config.data) if path.is_file() else None,
                  load_costs(results))


def _populations(inp: Inputs) -> str:
    if inp.models is None:
        return (f"*Not run yet: results/{inp.config.models} does not exist "
                "(dse-study paper export).*")
    return population_table(inp.models, inp.config)


def depth_rows(models: pd.DataFrame, config: StudyConfig) -> list[list[str]]:
    """Per population of `config`'s order with at least three finished models: n, the median
    depth, and Spearman's ρ between depth and error with its two-sided p (descriptive: a
    population's models are drawn at random, so depth varies with width and the rest)."""
    ok = models[models["status"] == "ok"]
    rows = []
    for space in config.order:
        g = ok[ok["design_space"] == space]
        if len(g) < 3 or g["depth"].nunique() < 2:
            continue
        rho = stats.spearmanr(g["depth"], g["error"])
        p = rho.pvalue
        rows.append([config.name_of(space), str(len(g)), f"{g['depth'].median():.0f}",
                     f"{rho.statistic:.2f}".replace("-", "−"),
                     f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"])
    return rows


def _depth(inp: Inputs) -> str:
    if inp.models is None:
        return _populations(inp)
    return table(["population", "finished models", "median depth", "Spearman ρ(depth, error)",
                  "p (two-sided)"], depth_rows(inp.models, inp.config))


BLOCKS: Mapping[str, Callable[[Inputs], str]] = {
    "paper-populations": _populations,
    "paper-depth": _depth,
    "paper-cost": lambda inp: cost_block(inp.costs),
}
