"""The generated blocks of docs/RESULTS.md's issue-25 section (``dse-study paper docs``): the
populations the sequential sweeps have trained so far (``paper-populations``, the same table as
the confirmatory study's, from ``results/paper/models.csv``) and what each study cost
(``paper-cost``, `analysis.study_costs`, from ``results/paper/cost.csv``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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


BLOCKS: Mapping[str, Callable[[Inputs], str]] = {
    "paper-populations": _populations,
    "paper-cost": lambda inp: cost_block(inp.costs),
}
