"""The generated blocks of docs/RESULTS.md's issue-25 section (``dse-study paper docs``): the
populations the sequential sweeps have trained so far (``paper-populations``, the same table as
the confirmatory study's, from ``results/paper/models.csv``), how error goes with depth in each
(``paper-depth``: Spearman's ρ, descriptive, no plan judges it), the same two for the 4×
schedule's sweep (``paper-long-populations``, ``paper-long-depth``: ``results/paper/epochs.csv``,
the populations of conf/study/epochs.yaml and activation_long.yaml) and what each study cost
(``paper-cost``, `analysis.study_costs`, from ``results/paper/cost.csv``)."""

from __future__ import annotations

import dataclasses
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
LONG = ("epochs", "activation_long")  # the studies of the 4x schedule's export, epochs.csv


@dataclass(frozen=True)
class Inputs:
    config: StudyConfig
    models: pd.DataFrame | None  # results/paper/models.csv, None before its export
    costs: pd.DataFrame | None   # results/paper/cost.csv, None before `dse-study paper cost`
    long_config: StudyConfig     # LONG's populations, in their studies' order
    long_models: pd.DataFrame | None  # results/paper/epochs.csv, None before its export


def _long_config() -> StudyConfig:
    """The epochs study's config with the other LONG studies' populations and names after its
    own (the export holds them all)."""
    first, *rest = (load_study(n) for n in LONG)
    order = list(first.order)
    order += [s for c in rest for s in c.order if s not in order]
    names = {k: v for c in (first, *rest) for k, v in c.names.items()}
    return dataclasses.replace(first, order=tuple(order), names=names)


def _frame(path: Path, config: StudyConfig) -> pd.DataFrame | None:
    return study_frame(path, config.data) if path.is_file() else None


def load(results: Path) -> Inputs:
    config, long_config = load_study(PAPER), _long_config()
    return Inputs(config, _frame(results / config.models, config), load_costs(results),
                  long_config, _frame(results / long_config.models, long_config))


def _not_run(config: StudyConfig) -> str:
    return (f"*Not run yet: results/{config.models} does not exist "
            f"(dse-study {config.name} export).*")


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


def _depth_table(models: pd.DataFrame, config: StudyConfig) -> str:
    return table(["population", "finished models", "median depth", "Spearman ρ(depth, error)",
                  "p (two-sided)"], depth_rows(models, config))


def _on(long: bool, render: Callable[[pd.DataFrame, StudyConfig], str]
        ) -> Callable[[Inputs], str]:
    """A block that renders the paper's export (or, `long`, the 4x schedule's) with its
    config, or says it is not run yet."""
    def block(inp: Inputs) -> str:
        config, models = ((inp.long_config, inp.long_models) if long
                          else (inp.config, inp.models))
        return _not_run(config) if models is None else render(models, config)
    return block


BLOCKS: Mapping[str, Callable[[Inputs], str]] = {
    "paper-populations": _on(False, population_table),
    "paper-depth": _on(False, _depth_table),
    "paper-long-populations": _on(True, population_table),
    "paper-long-depth": _on(True, _depth_table),
    "paper-cost": lambda inp: cost_block(inp.costs),
}
