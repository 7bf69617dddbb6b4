"""The generated tables and numbers of docs/RESULTS.md, from committed results
(``dse-study ablation docs [--check]`` or ``dse-study confirmatory docs``).

`load` reads, under the results folder, what the two studies of the refinement
(conf/study/ablation.yaml, conf/study/confirmatory.yaml) name: each study's models export, its
verdicts and its tables (`analysis.study_tables`), the confirmatory study's pilot power table,
the candidate instrument's cost (``instrument/timing.csv``), the wall times measured with
``/usr/bin/time`` (``wall_times.csv``: one row per timed run, by ``study``; the last of a study
is reported) and the post hoc comparisons at equal activations (conf/study/acts.yaml). The
confirmatory study's blocks say that it has not run until its export exists.
The per-space and pairwise statistics are computed here with the public analysis API
(`trained_fractions`, `compare_trained_pairs`, `compare_pairs`, seeded bootstrap); the w_m
table (`wm-ties`) reads each study's ``fits.csv`` and judges the plan's w_m hypothesis with the
plan's own `verdicts` at either end of every model's interval of equally good w_m. Each of
`BLOCKS` renders one ``<!-- generated: NAME -->`` block (`analysis.docblocks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .docblocks import read_csv, table
from .pairs import compare_pairs, compare_trained_pairs
from .plan import find_plan, load_plan, verdicts
from .study import StudyConfig, load_study
from .study_tables import models_frame
from .trainability import trained_core, trained_fractions

N_BOOT, SEED = 10_000, 0
ABLATION, CONFIRMATORY = "ablation", "confirmatory"  # conf/study/<name>.yaml
ACTS = "acts"  # conf/study/acts.yaml: the post hoc comparisons at equal activations
WALL_TIMES, TIMING = "wall_times.csv", "instrument/timing.csv"
BEST_PARAMS = ["depth", "b", "g", "fit_wm", "fit_w0", "fit_wa", "w4", "wr3"]  # of best_params.csv
SOURCE = "see docs/RESULTS.md \"How to reproduce\""


@dataclass(frozen=True)
class Tables:
    """What `analysis.study_tables.study_tables` wrote for one study (one folder)."""

    best: pd.DataFrame  # best_params.csv
    efit: pd.DataFrame  # efit.csv
    width_line: pd.DataFrame  # width_line.csv
    proposed: str  # the proposed space's YAML
    fits: Path  # fits.csv (every model's fit; read by the block that needs it)


@dataclass(frozen=True)
class Study:
    """One study's config and committed results."""

    config: StudyConfig
    models: pd.DataFrame  # its models export (`study_export.study_frame`)
    verdicts: pd.DataFrame
    tables: Tables


@dataclass(frozen=True)
class Inputs:
    ablation: Study
    confirmatory: Study | None  # once its export exists
    confirmatory_config: StudyConfig
    power: pd.DataFrame  # the confirmatory study's power.out
    timing: pd.DataFrame  # instrument/timing.csv
    walls: pd.DataFrame  # wall_times.csv: one row per run timed with /usr/bin/time
    acts: pd.DataFrame  # the acts study's verdicts (post hoc, on the confirmatory export)


def _tables(study: StudyConfig, results: Path) -> Tables:
    folder = results / study.tables.folder
    yaml = folder / f"{study.tables.proposed}.yaml"
    source = f"run dse-study {study.name} tables"
    if not yaml.is_file():
        raise ValueError(f"results: {str(yaml)!r} does not exist; {source}")
    return Tables(best=read_csv(folder / "best_params.csv", source),
                  efit=read_csv(folder / "efit.csv", source),
                  width_line=read_csv(folder / "width_line.csv", source),
                  proposed=yaml.read_text().strip(), fits=folder / "fits.csv")


def _study(study: StudyConfig, results: Path) -> Study:
    return Study(config=study, models=models_frame(study, results),
                 verdicts=read_csv(results / study.verdicts, f"run dse-study {study.name} "
                                   "verdicts"),
                 tables=_tables(study, results))


def load(results: Path) -> Inputs:
    ablation, confirmatory, acts = (load_study(n) for n in (ABLATION, CONFIRMATORY, ACTS))
    ran = (results / confirmatory.models).is_file()
    return Inputs(ablation=_study(ablation, results),
                  confirmatory=_study(confirmatory, results) if ran else None,
                  confirmatory_config=confirmatory,
                  power=read_csv(results / confirmatory.power.out, "run dse-study "
                                 "confirmatory power"),
                  timing=read_csv(results / TIMING, "run dse-study instrument export timing"),
                  walls=read_csv(results / WALL_TIMES, SOURCE),
                  acts=read_csv(results / acts.verdicts, f"run dse-study {ACTS} verdicts"))


def _num(v: float, digits: int = 3) -> str:
    return "–" if pd.isna(v) else f"{v:.{digits}g}".replace("-", "−")


def _p(p: float) -> str:
    return "–" if pd.isna(p) else (f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}")


def _count(v: float) -> str:
    return "–" if pd.isna(v) else str(int(v))


def _iv(v: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{_num(v, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


# -- the blocks of one study --------------------------------------------------------------------
def _verdicts(s: Study) -> str:
    return verdict_table(s.verdicts)


def verdict_table(verdicts_: pd.DataFrame) -> str:
    """A plan's verdicts (`analysis.plan.verdicts`' columns), one row per hypothesis."""
    rows = []
    for r in verdicts_.itertuples():
        verdict = r.verdict if r.verdict == "not resolved" else f"**{r.verdict}**"
        rows.append([f"`{r.id}`", str(r.text), str(r.estimand), _iv(r.estimate, r.low, r.high),
                     f"{_count(r.n_a)} / {_count(r.n_b)}", _p(r.p), _p(r.p_corrected),
                     _p(r.p_contra_corrected), verdict])
    return table(["hypothesis", "the paper's claim", "estimand", "estimate [95 %]",
                  "n (a / b)", "p", "p (Holm)", "opposite p (Holm)", "verdict"], rows)


def _population(s: Study) -> str:
    return population_table(s.models, s.config)


def population_table(df: pd.DataFrame, cfg: StudyConfig) -> str:
    """Per population of `cfg`'s order that `df` (a models export) has: its models, those not
    finished, the trained fraction (error below half of chance) with its exact interval, those
    above 20 %, the finished models' error summary and the median seconds per model."""
    frac = trained_fractions(df).set_index("design_space")
    rows = []
    for space in (x for x in cfg.order if (df["design_space"] == x).any()):
        g = df[df["design_space"] == space]
        e = g.loc[g["status"] == "ok", "error"].to_numpy(float)
        f = frac.loc[space]
        summary = ["–"] * 4
        if len(e):
            q1, q3 = np.percentile(e, [25, 75])
            summary = [f"{e.min():.2f}", f"{np.median(e):.2f}", f"{e.mean():.1f}",
                       f"{q1:.1f}–{q3:.1f}"]
        rows.append([cfg.name_of(space), str(len(g)), str(int((g["status"] != "ok").sum())),
                     f"{f['fraction']:.2f} [{f['low']:.2f}, {f['high']:.2f}]",
                     str(int((e > 20).sum())), *summary, f"{g['wall_seconds'].median():.1f}"])
    return table(["space", "n", "not finished", "trained (< 45 %) [95 % exact]", "> 20 %",
                  "min", "median", "mean", "IQR", "median s"], rows)


def _pair(cfg: StudyConfig, a: str, b: str) -> str:
    return f"{cfg.short_of(a)} → {cfg.short_of(b)}"


def _trained_pairs(s: Study) -> str:
    cfg = s.config
    t = compare_trained_pairs(s.models, list(cfg.order), pairing="consecutive")
    rows = [[_pair(cfg, r.a, r.b), f"{r.trained_a}/{r.n_a}", f"{r.trained_b}/{r.n_b}", _p(r.p),
             _p(r.p_holm)] for r in t.itertuples()]
    return table(["a → b", "trained a", "trained b", "Fisher p", "p (Holm, 5 pairs)"], rows)


def _comparisons(s: Study) -> str:
    cfg, rows = s.config, []
    for view, frame in (("all models", s.models), ("trained core", trained_core(s.models))):
        t = compare_pairs(frame, list(cfg.order), pairing="consecutive", n_boot=N_BOOT,
                          seed=SEED)
        for r in t.itertuples():
            rows.append([_pair(cfg, r.a, r.b), view, f"{r.n_a} / {r.n_b}",
                         _iv(r.median_diff, r.median_diff_low, r.median_diff_high),
                         _iv(r.mean_diff, r.mean_diff_low, r.mean_diff_high), _p(r.p),
                         _p(r.p_holm)])
    return table(["a → b", "models", "n", "median a − b [95 %]", "mean a − b [95 %]",
                  "Mann–Whitney p", "p (Holm, 5 pairs)"], rows)


def _cost(s: Study) -> str:
    df, cfg = s.models, s.config
    med = df.groupby("design_space")["wall_seconds"].median().reindex(list(cfg.order))
    return (f"per model, median {med.min():.1f} s ({cfg.name_of(med.idxmin())}) to "
            f"{med.max():.1f} s ({cfg.name_of(med.idxmax())}) on one thread; the models' wall "
            f"times sum to {df['wall_seconds'].sum():,.0f} s")


def _best(s: Study) -> str:
    cfg, b = s.config, s.tables.best.set_index("design_space")
    rows = [[p, *(str(b.loc[sp, p]) for sp in cfg.order)] for p in BEST_PARAMS]
    return table(["param", *(cfg.short_of(sp) for sp in cfg.order)], rows)


def _efit(s: Study) -> str:
    rows = []
    for r in s.tables.efit.set_index("design_space").loc[list(s.config.order)].itertuples():
        rows.append([s.config.name_of(r.Index), f"{r.mean_e_fit:.2f}", f"{r.median_e_fit:.2f}",
                     f"{r.mean_e_fit_best_quarter:.2f}",
                     f"{_num(r.spearman_e_fit_error, 2)} (p = {_p(r.p)})"])
    return table(["space", "mean e_fit", "median e_fit", "mean e_fit, best quarter",
                  "Spearman(e_fit, error)"], rows)


def _width_line(s: Study) -> str:
    r = s.tables.width_line.iloc[0]
    return (f"the {int(r['top'])} best {s.config.name_of(r['design_space'])} models follow "
            f"w_j ≈ c·(j+1) with c = {r['slope']:.1f} (least squares through the origin; median "
            f"depth {r['median_depth']:.0f} blocks)")


def _proposed(s: Study) -> str:
    return f"```yaml\n{s.tables.proposed}\n```"


def _wm_ties(s: Study) -> str:
    """Per best-value hypothesis of the plan on fit_wm (`wm_2p5`): the judged models whose
    equally good w_m (`analysis.fit`, docs/ANALYSIS.md "Ties in w_m") reach across an end of
    its range, so that the tie rule decides on which side they count, and its estimate with
    every model's fit_wm at the tie rule's choice, at the low end and at the high end of its
    interval of equally good w_m."""
    if s.config.plan is None:
        return "The study has no plan."
    plan = load_plan(find_plan(s.config.plan))
    hyps = [h for h in plan.hypotheses
            if h.kind == "best_value" and h.params["parameter"] == "fit_wm"]
    if not hyps:
        return "The plan judges no w_m."
    fits = read_csv(s.tables.fits, f"run dse-study {s.config.name} tables")
    rows, ambiguous = [], []
    for h in hyps:
        lo, hi = h.params["range"]
        fitted = s.models[s.models["design_space"] == h.params["space"]].merge(
            fits, on=["design_space", "index"], how="left", validate="one_to_one")
        if fitted["fit_wm"].isna().any():
            raise ValueError(f"results: {str(s.tables.fits)!r} lacks models of "
                             f"{h.params['space']!r}; run dse-study {s.config.name} tables")
        low, high = fitted["fit_wm_low"], fitted["fit_wm_high"]
        across = fitted[((low < lo) & (high >= lo)) | ((low <= hi) & (high > hi))]
        est = {}
        for col in ("fit_wm", "fit_wm_low", "fit_wm_high"):
            v = verdicts(fitted.assign(fit_wm=fitted[col]), replace(plan, hypotheses=(h,)))
            est[col] = v.iloc[0]
        rows.append([f"`{h.id}`", f"[{lo:g}, {hi:g}]", _count(est["fit_wm"]["n_a"]),
                     f"{(high - low).median():.3f}", str(len(across)),
                     *(_iv(r.estimate, r.low, r.high) for r in est.values())])
        ambiguous += [[f"`{h.id}`", str(int(r["index"])), f"{r['error']:.2f}",
                       f"{r['fit_wm']:.3f}", f"[{r['fit_wm_low']:.3f}, {r['fit_wm_high']:.3f}]",
                       f"{r['e_fit']:.3f}"] for _, r in across.sort_values("index").iterrows()]
    head = table(["hypothesis", "range", "models judged", "median width of the equally good "
                  "w_m", "models whose equally good w_m cross an end of the range",
                  "best fit_wm [95 %]: tie rule", "every w_m at its low end",
                  "every w_m at its high end"], rows)
    if not ambiguous:
        return head
    return head + "\n\n" + table(["hypothesis", "model (index)", "error %", "fit_wm (tie rule)",
                                   "equally good w_m", "e_fit"], ambiguous)


STUDY_BLOCKS: dict[str, Callable[[Study], str]] = {
    "verdicts": _verdicts, "population": _population, "trained-pairs": _trained_pairs,
    "comparisons": _comparisons, "cost": _cost, "best": _best, "efit": _efit,
    "width-line": _width_line, "proposed": _proposed, "wm-ties": _wm_ties}


def duration(seconds: float) -> str:
    """A wall time as the docs write it: ``1 h 50 min``, or ``20 min 18 s`` under an hour."""
    minutes = round(seconds / 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    m, sec = divmod(round(seconds), 60)
    return f"{m} min {sec:02d} s"


def _wall(inp: Inputs, study: StudyConfig) -> str:
    """The last timed run of `study` in wall_times.csv, judged against its budget."""
    rows = inp.walls[inp.walls["study"] == study.name]
    if rows.empty:
        return f"not measured (no {study.name!r} row in results/{WALL_TIMES})"
    r = rows.iloc[-1]
    secs = float(r["wall_seconds"])
    budget = "" if study.budget_hours is None else (
        f", {'within' if secs <= study.budget_hours * 3600 else 'over'} the "
        f"{study.budget_hours:g} h budget")
    return (f"{int(r['models'])} models and the report in {duration(secs)} ({secs:,.0f} s, "
            f"`/usr/bin/time`){budget}; {r['machine']}")


# -- across the studies -------------------------------------------------------------------------
def _paper(inp: Inputs) -> str:
    """The plan's hypotheses side by side: the confirmatory study, then the ablation."""
    ablation = inp.ablation.verdicts.set_index("id")
    rows = []
    for r in inp.confirmatory.verdicts.itertuples():
        here = r.verdict if r.verdict == "not resolved" else f"**{r.verdict}**"
        abl = ablation.loc[r.id, "verdict"] if r.id in ablation.index else "–"
        p = (f"opposite p (Holm) {_p(r.p_contra_corrected)}" if r.verdict == "contradicted"
             else f"p (Holm) {_p(r.p_corrected)}")
        rows.append([f"`{r.id}`", str(r.text), here, f"{_iv(r.estimate, r.low, r.high)}; {p}",
                     abl])
    return table(["hypothesis", "the paper's claim", "confirmatory study",
                  "its estimate [95 %]; the p that decides", "geometry ablation"], rows)


def power_pilot(inp: Inputs) -> str:
    cfg, rows = inp.confirmatory_config, []
    for r in inp.power.to_dict("records"):
        n = r["n"]
        at = "–" if pd.isna(n) else f"{r[f'power_{int(n)}']:.2f}"
        rows.append([cfg.name_of(r["design_space"]), str(int(r["pilot_n"])), _count(n), at])
    return table(["space (pilot)", "pilot models", "n per space for power ≥ 0.8", "power at n"],
                 rows)


def budget(inp: Inputs) -> str:
    n = int(inp.power["n"].max())
    regime = inp.power["regime"].iloc[0]
    t = inp.timing[(inp.timing["scale"] == "input")
                   & (inp.timing["regime_name"] == regime)]["wall_seconds"].median()
    spaces = len(inp.confirmatory_config.order)
    hours = n * spaces * t / 2 / 3600
    return (f"n = {n} per space (the largest above) × {spaces} spaces at the candidate's median "
            f"{t:.1f} s per model on one thread, two jobs on two cores: about {hours:.1f} h")


STRICT = 20.0  # a stricter "trained" rule than half of chance: error below 20 %


def _audit(s: Study) -> str:
    """What the issue-21 audit asked to report beside the verdicts, within RegNetX: the depth
    signal over all its models, b = 1 against b = 2 and b = 4 (two-sided Mann–Whitney), and per
    space the models above `STRICT` % error."""
    from scipy import stats

    df = s.models
    r = df[(df["design_space"] == "regnetx") & (df["status"] == "ok")]
    rho = stats.spearmanr(r["depth"], r["error"])
    rows = [["depth vs error, all RegNetX models", str(len(r)),
             f"Spearman ρ {rho.statistic:.2f}", _p(rho.pvalue)]]
    by_b = {b: r.loc[r["b"] == b, "error"] for b in sorted(r["b"].unique())}
    for x, y in ((1, 2), (1, 4)):
        if x in by_b and y in by_b:
            p = stats.mannwhitneyu(by_b[x], by_b[y], alternative="two-sided").pvalue
            rows.append([f"b = {x} vs b = {y}", f"{len(by_b[x])} / {len(by_b[y])}",
                         f"median {by_b[x].median():.2f} vs {by_b[y].median():.2f} %",
                         _p(p)])
    head = table(["within RegNetX", "models", "estimate", "p (two-sided)"], rows)
    cfg = s.config
    half = 45.0  # half of chance for 10 classes: the trained rule of the population table
    strict = [[cfg.name_of(sp), str(int(((d["status"] == "ok") & (d["error"] < half)).sum())),
               str(int(((d["status"] != "ok") | (d["error"] >= STRICT)).sum()))]
              for sp in cfg.order if len(d := df[df["design_space"] == sp])]
    return head + "\n\n" + table(["space", "trained (< 45 %)", f"at or above {STRICT:g} % "
                                   "(or not finished)"], strict)


def _ablation(render: Callable[[Study], str]) -> Callable[[Inputs], str]:
    return lambda inp: render(inp.ablation)


def _confirmatory(render: Callable[[Inputs], str]) -> Callable[[Inputs], str]:
    """A block of the confirmatory study: `render` once it is exported, else a line saying that
    it has not run."""
    def block(inp: Inputs) -> str:
        if inp.confirmatory is None:
            return (f"*Not run yet: results/{inp.confirmatory_config.models} does not exist "
                    "(\"How to reproduce\" says how it is made).*")
        return render(inp)
    return block


BLOCKS: dict[str, Callable[[Inputs], str]] = {
    **{name: _ablation(render) for name, render in STUDY_BLOCKS.items()},
    "ablation-wall": lambda inp: _wall(inp, inp.ablation.config),
    "power-pilot": power_pilot, "budget": budget,
    **{f"confirmatory-{name}": _confirmatory(lambda inp, r=render: r(inp.confirmatory))
       for name, render in STUDY_BLOCKS.items()},
    "confirmatory-wall": _confirmatory(lambda inp: _wall(inp, inp.confirmatory_config)),
    "confirmatory-audit": _confirmatory(lambda inp: _audit(inp.confirmatory)),
    "confirmatory-acts": lambda inp: verdict_table(inp.acts),
    "paper-comparison": _confirmatory(_paper)}
