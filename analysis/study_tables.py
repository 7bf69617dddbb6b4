"""The tables a study's config asks for (`dse-study NAME verdicts|tables|power`), each returned as
the text of its committed file so that `dse-study` writes or checks them byte for byte.

- `verdict_table`: the plan's verdicts on the study's models export (`analysis.verdicts`; a
  plan with a ``sequential:`` section: `analysis.sequential.sequential_verdicts`).
- `study_tables`: per space, the population summary, the comparisons of consecutive (and
  configured) pairs (KS and a bootstrap interval of the mean difference), the best model's
  parameter ranges ([DDS] fn. 4), e_fit ([DDS] §3.3), every model's fit with its interval of
  equally good w_m (``fits.csv``, `analysis.fit`), the best models' width line
  (`analysis.width_trend`, [DDS] Fig. 8) and the proposed RegNet space, plus all of them as
  Markdown (``tables.md``).
- `power_table`: models per space from a pilot (docs/ANALYSIS.md "Power and sample size").
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import (
    bootstrap_best,
    comparison_table,
    fit_models,
    load_plan,
    median_effects,
    ok_rows,
    pilot_errors,
    plan_sample_size,
    propose_regnet,
    sample_size,
    space_summary,
    verdicts,
    width_trend,
)
from .docblocks import read_csv, table
from .plan import Plan, find_plan
from .sequential import sequential_verdicts
from .study import StudyConfig, load_study, study_names
from .study_export import study_frame

N_BOOT, SEED = 10_000, 0
# fits.csv: every model's quantized-linear fit (docs/ANALYSIS.md "Ties in w_m")
FITS = ["design_space", "index", "fit_w0", "fit_wa", "fit_wm", "fit_wm_low", "fit_wm_high",
        "e_fit"]
# best_params.csv: the best model's value of each (docs/RESULTS.md shows some of them)
PARAMS = ["depth", "d1", "d2", "d3", "d4", "w1", "w2", "w3", "w4", "wr1", "wr2", "wr3", "b", "g",
          "fit_wm", "fit_w0", "fit_wa", "params", "acts"]


def _csv(df: pd.DataFrame, float_format: str | None = "%.4g") -> str:
    return df.to_csv(index=False, float_format=float_format)


def markdown(df: pd.DataFrame, fmt: str = "{:.3g}") -> str:
    """`df` as a Markdown table, floats as `fmt`."""
    rows = [[fmt.format(v) if isinstance(v, float | np.floating) else str(v) for v in r]
            for _, r in df.iterrows()]
    return table([str(c) for c in df.columns], rows)


def models_frame(study: StudyConfig, results: Path) -> pd.DataFrame:
    """The study's models export as `study_export.study_frame` reads it."""
    path = results / study.models
    if not path.is_file():
        raise ValueError(f"results: {str(path)!r} does not exist; run dse-study "
                         f"{_exporter(study)} export")
    return study_frame(path, study.data)


def _exporter(study: StudyConfig) -> str:
    """The study whose export writes `study`'s models file (itself where it has one)."""
    if any(e.out == study.models for e in study.exports.values()):
        return study.name
    for name in study_names():
        other = load_study(name)
        if any(e.out == study.models for e in other.exports.values()):
            return name
    return study.name


def study_verdicts(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The verdicts a study reports on its models `frame`: for a plan with a ``sequential:``
    section, those its design reached at the plan's n_per_space on the models its looks used
    (`analysis.sequential.sequential_verdicts`: `analysis.verdicts`' columns, the look's, and
    the local levels and bounds instead of Holm-corrected p); the fixed-n `analysis.verdicts`
    otherwise."""
    if plan.sequential is None:
        return verdicts(frame, plan)
    return sequential_verdicts(frame, plan, plan.sequential, plan.n_per_space)


def verdict_table(study: StudyConfig, results: Path) -> str:
    """``verdicts``: the plan's verdicts on the models export (`study_verdicts`, ``%.4g``)."""
    plan = load_plan(find_plan(study.plan))
    return _csv(study_verdicts(models_frame(study, results), plan))


# -- the study's tables -------------------------------------------------------------------------
def summary(df: pd.DataFrame, spaces: list[str]) -> pd.DataFrame:
    """`space_summary` with the median wall time and the error quartiles of the ok models."""
    ok = ok_rows(df)
    summ = space_summary(df).set_index("design_space").loc[spaces].reset_index()
    secs = df.groupby("design_space")["wall_seconds"].median()
    summ["median_s"] = [secs[s] for s in summ["design_space"]]
    summ["q25"] = [np.percentile(ok.loc[ok.design_space == s, "error"], 25) for s in spaces]
    summ["q75"] = [np.percentile(ok.loc[ok.design_space == s, "error"], 75) for s in spaces]
    return summ


def comparisons(df: pd.DataFrame, spaces: list[str],
                pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """`comparison_table` rows of consecutive spaces, then of `pairs` (a before b in
    `spaces`); a pair with a space that has no ok model is left out."""
    t = comparison_table(df, spaces=spaces, n=N_BOOT, seed=SEED)
    keyed = t.set_index(["a", "b"], drop=False)
    wanted = [*zip(spaces, spaces[1:], strict=False), *pairs]
    return keyed.loc[[p for p in wanted if p in keyed.index], list(t.columns)].reset_index(
        drop=True)


def best_params(fitted: pd.DataFrame, spaces: list[str]) -> pd.DataFrame:
    """Per space, ``median [low, high]`` of each of `PARAMS` among bootstrap winners."""
    rows = []
    for s in spaces:
        g = fitted[fitted.design_space == s]
        row = {"design_space": s}
        for p in PARAMS:
            if p in g.columns and pd.to_numeric(g[p], errors="coerce").notna().all():
                lo, med, hi = bootstrap_best(g, p, n=N_BOOT, seed=SEED)
                row[p] = f"{med:.3g} [{lo:.3g}, {hi:.3g}]"
        rows.append(row)
    return pd.DataFrame(rows)


def efit(fitted: pd.DataFrame, spaces: list[str]) -> pd.DataFrame:
    """Per space, e_fit's mean, median, mean over the best quarter, and its Spearman ρ with
    the error."""
    rows = []
    for s in spaces:
        g = fitted[fitted.design_space == s]
        top = g.nsmallest(max(1, len(g) // 4), "error")
        rho = stats.spearmanr(g["e_fit"], g["error"])
        rows.append({"design_space": s, "n": len(g), "mean_e_fit": g["e_fit"].mean(),
                     "median_e_fit": g["e_fit"].median(),
                     "mean_e_fit_best_quarter": top["e_fit"].mean(),
                     "spearman_e_fit_error": rho.statistic, "p": rho.pvalue})
    return pd.DataFrame(rows)


def study_tables(study: StudyConfig, results: Path) -> dict[str, str]:
    """The files of ``tables.folder`` (summary, comparison, best_params, efit, fits and
    width_line CSVs, the proposed space's YAML and ``tables.md``), by name."""
    cfg = study.tables
    df = models_frame(study, results)
    every = fit_models(df)
    fitted = ok_rows(every)
    spaces = [s for s in study.order if s in set(df["design_space"])]
    shown = study.name_of(cfg.best_of)
    summ = summary(df, spaces)
    comp = comparisons(df, spaces, list(cfg.pairs))
    ranges = best_params(fitted, spaces)
    fits = efit(fitted, spaces)
    files = {"summary.csv": _csv(summ), "comparison.csv": _csv(comp),
             "best_params.csv": _csv(ranges, None), "efit.csv": _csv(fits),
             "fits.csv": _csv(every[FITS], "%.6g")}
    md = io.StringIO()
    md.write(f"## Population\n\n{markdown(summ)}\n")
    md.write("\n## Consecutive comparisons (KS, mean difference with 95% bootstrap interval)"
             f"\n\n{markdown(comp)}\n")
    params = ranges.set_index("design_space").T.reset_index().rename(columns={"index": "param"})
    md.write("\n## Best-model parameter ranges: 95% bootstrap (low, median, high), frac 0.25\n"
             f"\n{markdown(params)}\n")
    md.write(f"\n## e_fit\n\n{markdown(fits)}\n")
    pool = fitted[fitted.design_space == cfg.best_of]
    if len(pool):
        trend = width_trend(pool, top=cfg.top)
        files["width_line.csv"] = _csv(pd.DataFrame([{
            "design_space": cfg.best_of, "top": trend.models, "slope": trend.slope,
            "median_depth": trend.median_depth}]))
        md.write(f"\nTop-{cfg.top} {shown} per-block widths, least-squares w_j = c·(j+1): "
                 f"c = {trend.slope:.2f} (paper at 224 px: 48); median depth "
                 f"{trend.median_depth:.0f}\n")
    proposed = propose_regnet(fitted, top=None, name=cfg.proposed, spaces=[cfg.best_of],
                              write=False)
    files[f"{cfg.proposed}.yaml"] = proposed.yaml()
    md.write(f"\n## Proposed RegNet space (propose_regnet over {shown} models)\n\n"
             f"```yaml\n{proposed.yaml()}```\n")
    files["tables.md"] = md.getvalue()
    return files


# -- the pilot's sample size --------------------------------------------------------------------
def power_table(study: StudyConfig, results: Path) -> str:
    """``power.out``: per space of the study that the pilot has, the smallest n per space at
    which the one-sided Mann-Whitney U test finds a space `power.shift` lower in error with
    power >= `power.target` over `power.family_size` hypotheses (`analysis.sample_size`,
    seeded), and the power at each n tried; ``power.kind: seeds``: the seeds per model of
    `analysis.baselines.power_csv`."""
    cfg = study.power
    if cfg.kind == "seeds":
        from .baselines import power_csv

        return power_csv(results)
    sources = [results / f for f in cfg.pilot]
    # a plan's power resamples whole models, specs included (fit columns, `scaled_pilots`)
    runs = pd.concat([study_frame(p, study.data) if cfg.pilots is not None
                      else read_csv(p, "export it first (dse-study instrument export)")
                      for p in sources], ignore_index=True)
    pilot = runs[(runs["regime_name"] == cfg.regime) & (runs["train_seed"] == cfg.seed)]
    if pilot.empty:
        raise ValueError(f"power.regime: no seed-{cfg.seed} runs of {cfg.regime!r} in "
                         + ", ".join(str(s) for s in sources))
    pilot = pilot.assign(num_classes=study.data.num_classes)
    if cfg.pilots is not None:
        return _plan_power_table(study, pilot)
    rows = []
    for space in [s for s in study.order if s in set(pilot["design_space"])]:
        e = pilot_errors(pilot, space)
        r = sample_size(e, shift=cfg.shift, target=cfg.target, family_size=cfg.family_size,
                        **({"grid": cfg.grid} if cfg.grid else {}))
        rows.append({"regime": cfg.regime, "design_space": space, "pilot_n": e.size,
                     "shift": cfg.shift, "target": cfg.target, "family_size": cfg.family_size,
                     "n": r.n, **{f"power_{n}": p for n, p in r.powers.items()}})
    return _csv(pd.DataFrame(rows))


def _plan_power_table(study: StudyConfig, pilot: pd.DataFrame) -> str:
    """``power.out`` of a study with ``power.pilots``: the power of each hypothesis of its plan
    at each n of ``power.grid`` until all reach the target (`analysis.plan_sample_size`)."""
    cfg = study.power
    if study.plan is None:
        raise ValueError("power.pilots: the study has no plan; name one (plan: NAME)")
    pilots = {}
    for space, source in cfg.pilots.items():
        rows = pilot[pilot["design_space"] == source]
        if len(rows) < 2:
            raise ValueError(f"power.pilots.{space}: {source!r} has {len(rows)} pilot runs; "
                             "need >= 2")
        pilots[space] = rows
    plan = load_plan(find_plan(study.plan))
    effects = (cfg.effects or {}) if cfg.medians is None else \
        median_effects(plan, pilots, cfg.medians)
    table = plan_sample_size(plan, pilots, effects, cfg.grid, cfg.target,
                             reps=cfg.reps, seed=cfg.seed, n_boot=cfg.n_boot, scale=cfg.scale)
    return _csv(table.assign(target=cfg.target))
