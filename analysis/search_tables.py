"""The search-efficiency study (issue 25, claim ``k32_suffices``; ``conf/study/search.yaml``):
its CSVs (`files`, written by ``dse-study search search``) and the generated block of
docs/RESULTS.md ("Search efficiency", [DDS] Fig. 9 right) that reads them back (`load`,
`BLOCKS`).

- ``search.out``: per space of ``search.spaces`` and delta of ``search.deltas``, P_k for
  k = 1..k_max with its bootstrap interval (`analysis.search_efficiency.search_rows`);
- ``search.verdicts``: the claim's row, P_k of its space, delta and k judged by
  `analysis.search_efficiency.likely_verdict`.

Delta ``noise`` is one model's seed-to-seed noise in the instrument's two-seed runs
(`analysis.instrument.seed_noise`, the rule of docs/REGIME.md's block ``instrument-spread``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from .docblocks import read_csv, space_name, table
from .instrument import seed_noise, seed_pairs
from .search_efficiency import Search, SearchRow, likely_verdict, search_rows, smallest_k
from .study import StudyConfig, load_study
from .study_tables import models_frame

STUDY = "search"  # conf/study/search.yaml
COLUMNS = [f.name for f in fields(SearchRow)]  # space, delta_name, delta, n, g, k, p_k, ...
VERDICT_COLUMNS = ["id", "space", "delta_name", "delta", "n", "g", "k", "estimand", "estimate",
                   "low", "high", "likely", "verdict"]
FLOAT = "%.6g"


def noise_delta(cfg: Search, results: Path) -> float:
    """Delta ``noise``: `seed_noise` of the ok two-seed runs of ``search.noise.regime`` of
    ``search.noise.space`` in the exports ``search.noise.runs``."""
    n = cfg.noise
    runs = pd.concat([read_csv(results / f, "export it first (dse-study instrument export)")
                      for f in n.runs], ignore_index=True)
    if not (runs["regime_name"] == n.regime).any():
        raise ValueError(f"search.noise.regime: {n.regime!r} has no runs in "
                         + ", ".join(n.runs) + "; give a regime of "
                         + ", ".join(sorted(set(runs["regime_name"]))))
    pairs = seed_pairs(runs, n.regime)
    pairs = pairs[pairs["design_space"] == n.space]
    if len(pairs) < 1:
        raise ValueError(f"search.noise.space: {n.space!r} has no model with both seeds of "
                         f"{n.regime!r}; give a space of "
                         + ", ".join(sorted(set(runs["design_space"]))))
    return seed_noise(pairs)


def deltas(cfg: Search, results: Path) -> dict[str, float]:
    """Every delta of ``search.deltas`` in error points (``noise`` measured)."""
    measured = {}
    for name, value in cfg.deltas.items():
        measured[name] = noise_delta(cfg, results) if value is None else value
    return measured


def efficiency(study: StudyConfig, results: Path) -> list[SearchRow]:
    """The rows of ``search.out``: each space of ``search.spaces`` (its models in the study's
    export) under each delta."""
    cfg: Search = study.search
    frame = models_frame(study, results)
    measured = deltas(cfg, results)
    rows = []
    for i, space in enumerate(cfg.spaces):
        errors = frame.loc[frame["design_space"] == space, "error"]
        if errors.empty:
            raise ValueError(f"search.spaces[{i}]: {space!r} has no models in "
                             f"{results / study.models}")
        for name, delta in measured.items():
            rows.extend(search_rows(space, name, errors.to_numpy(float), delta, cfg.k_max,
                                    cfg.n_boot, cfg.seed, cfg.ci))
    return rows


def verdict_row(cfg: Search, rows: list[SearchRow]) -> dict[str, object]:
    """The claim's row: P_k of its space and delta at its k, and the verdict of the rule."""
    c = cfg.claim
    r = next(r for r in rows if (r.space, r.delta_name, r.k) == (c.space, c.delta, c.k))
    return {"id": c.id, "space": r.space, "delta_name": r.delta_name, "delta": r.delta,
            "n": r.n, "g": r.g, "k": r.k,
            "estimand": f"P_{r.k}: {r.k} random models contain one within delta of the best",
            "estimate": r.p_k, "low": r.low, "high": r.high, "likely": c.likely,
            "verdict": likely_verdict(r.low, r.high, c.likely)}


def files(study: StudyConfig, results: Path) -> dict[str, str]:
    """The study's two CSVs by path under the results folder (``search.out``,
    ``search.verdicts``)."""
    cfg: Search = study.search
    rows = efficiency(study, results)
    if all(r.k != cfg.claim.k for r in rows if r.space == cfg.claim.space):
        raise ValueError(f"search.claim.k: {cfg.claim.k!r} is more than the models of "
                         f"{cfg.claim.space!r}; give k <= n")
    table_ = pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)
    verdict = pd.DataFrame([verdict_row(cfg, rows)], columns=VERDICT_COLUMNS)
    return {cfg.out: table_.to_csv(index=False, float_format=FLOAT),
            cfg.verdicts: verdict.to_csv(index=False, float_format=FLOAT)}


# -- docs/RESULTS.md ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    search: Search
    rows: pd.DataFrame  # search.out
    verdict: pd.DataFrame  # search.verdicts


def load(results: Path) -> Inputs:
    cfg: Search = load_study(STUDY).search
    made = [read_csv(results / f, f"dse-study {STUDY} search") for f in (cfg.out, cfg.verdicts)]
    return Inputs(cfg, *made)


def _p(v: float) -> str:
    return f"{v:.3f}"


def efficiency_block(inp: Inputs) -> str:
    """Per space and delta: n, g, P_k at a few k, P at the claim's k with its interval, the
    smallest k with P_k >= ``search.sure``, and the claim's verdict on its row."""
    cfg, v = inp.search, inp.verdict.iloc[0]
    shown = [k for k in (1, 8, 16) if k < cfg.claim.k]
    head = ["space", "good: error ≤ best + δ (points)", "n", "g",
            *(f"P_{k}" for k in shown), f"P_{cfg.claim.k} [95 %]",
            f"smallest k with P_k ≥ {cfg.sure:g}", "verdict"]
    rows = []
    for (space, name), part in inp.rows.groupby(["space", "delta_name"], sort=False):
        by_k = part.set_index("k")
        at = by_k.loc[cfg.claim.k] if cfg.claim.k in by_k.index else None
        k_sure = smallest_k(part["k"], part["p_k"], cfg.sure)
        judged = (space, name) == (v["space"], v["delta_name"])
        rows.append([space_name(space), f"{part['delta'].iloc[0]:.2f} ({name})",
                     str(int(part["n"].iloc[0])), str(int(part["g"].iloc[0])),
                     *(_p(by_k.loc[k, "p_k"]) if k in by_k.index else "–" for k in shown),
                     "–" if at is None else f"{_p(at['p_k'])} [{_p(at['low'])}, "
                                            f"{_p(at['high'])}]",
                     f"> {int(part['k'].max())}" if k_sure is None else str(k_sure),
                     f"**{v['verdict']}** (`{v['id']}`)" if judged else "described only"])
    rule = (f"`{v['id']}`: P_{int(v['k'])} = {_p(v['estimate'])} [{_p(v['low'])}, "
            f"{_p(v['high'])}] for {space_name(v['space'])} with δ = {v['delta']:.2f} "
            f"({v['delta_name']}), g = {int(v['g'])} of {int(v['n'])}: **{v['verdict']}** "
            f"(supported when the lower bound is at least {v['likely']:g}, contradicted when "
            "the upper bound is below it)")
    return table(head, rows) + "\n\n" + rule


BLOCKS: dict[str, Callable[[Inputs], str]] = {"search-efficiency": efficiency_block}
