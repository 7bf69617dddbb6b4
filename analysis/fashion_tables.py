"""The Fashion-MNIST instrument's generated blocks of docs/REGIME.md (issue 21; ``conf/study/
fashion.yaml``, ``dse-study fashion docs``): the reference screen's stage 1, judged by the rule
committed before its runs (`analysis.reference_screen`), from its export
``results/fashion/screen.csv`` (one row per run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import reference_screen as rs
from .docblocks import read_csv, space_name, table

SCREEN = "fashion/screen.csv"
# Stage 1's candidates in cost order, and its runs per candidate (docs/REGIME.md, "Stage 1").
CANDIDATES = ("fm_t10k_e5", "fm_t10k_e10", "fm_t30k_e5")
SPACES = (*rs.REFEREED, "regnetx")
STAGE_ONE_INDICES = 12
SEEDS = (0, 1)
STAGE_ONE_RUNS = len(SPACES) * STAGE_ONE_INDICES * len(SEEDS)


@dataclass(frozen=True)
class Inputs:
    screen: pd.DataFrame


def load(results: Path) -> Inputs:
    return Inputs(read_csv(results / SCREEN, "dse-study fashion export screen"))


def stage_one_runs(screen: pd.DataFrame, candidate: str) -> pd.DataFrame:
    """The candidate's stage-1 runs: indices below 12 of the five spaces under seeds 0, 1."""
    rows = screen[(screen["regime_name"] == candidate) & screen["design_space"].isin(SPACES)
                  & (screen["index"] < STAGE_ONE_INDICES) & screen["train_seed"].isin(SEEDS)]
    return rows


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if np.isfinite(x) else "–"


def _cost(candidate: str, runs: pd.DataFrame) -> str:
    """The candidate's machine time: the sum of its runs' own wall seconds (one core each), and
    the median run."""
    wall = pd.to_numeric(runs["wall_seconds"], errors="coerce")
    return (f"`{candidate}` cost: {len(runs)} runs, {wall.sum() / 3600:.2f} core-hours (the sum "
            f"of the runs' own wall times), median {wall.median():.1f} s per run.")


def stage_one(inp: Inputs) -> str:
    """Per candidate and space: models, trained fractions, ρ₁, k and the k-seed reliability;
    for RegNetX the spread-to-noise ratio; then the rule's decision."""
    rows, lines = [], []
    tables: dict[str, pd.DataFrame] = {}  # the complete candidates' stage-1 tables, cost order
    for candidate in CANDIDATES:
        runs = stage_one_runs(inp.screen, candidate)
        if runs.empty:
            continue
        if len(runs) < STAGE_ONE_RUNS:
            lines.append(f"`{candidate}`: {len(runs)} of {STAGE_ONE_RUNS} runs recorded; "
                         "not judged until all are.")
            continue
        tables[candidate] = rs.stage_one(runs, SPACES)
        lines.append(_cost(candidate, runs))
        for r in tables[candidate].itertuples():
            extra = ""
            if r.space not in rs.REFEREED:
                s = rs.spread_to_noise(runs, r.space)
                extra = f"spread/noise {_num(s['ratio'])} (IQR {_num(s['iqr'])}, noise " \
                        f"{_num(s['noise'])} points)"
            rows.append([f"`{candidate}`", space_name(r.space), str(r.models),
                         _num(r.trained_s0), _num(r.trained_s1), _num(r.rho1),
                         str(int(r.k)) if pd.notna(r.k) else "> 4",
                         _num(r.reliability_k), extra])
    if tables:
        name, k, passed = rs.choose(tables)
        if passed:
            lines.append(f"**Decision:** `{name}` passes stage 1 (every refereed space trains "
                         f"≥ {rs.TRAINED_MIN:g} under both seeds and reaches "
                         f"{rs.TARGET:g} with k ≤ {rs.K_MAX}): it is the reference, with "
                         f"k = {k} seeds per model.")
        elif len(tables) == len(CANDIDATES):
            lines.append(f"**Decision:** no candidate passes; the reference is `{name}`, the "
                         "one whose smallest refereed ρ₁ is largest, and it misses the "
                         f"{rs.TARGET:g} target.")
        else:
            failed = ", ".join(f"`{c}`" for c in tables)
            lines.append(f"**Decision so far:** {failed} fails stage 1; the next candidate "
                         "in cost order runs.")
    head = ["candidate", "space", "models", "trained s0", "trained s1", "ρ₁", "k",
            "reliability (k seeds)", "RegNetX"]
    parts = [table(head, rows)] if rows else []
    return "\n\n".join([*parts, *lines]) or "No stage-1 candidate has runs yet."


BLOCKS: dict[str, Callable[[Inputs], str]] = {"fashion-stage1": stage_one}
