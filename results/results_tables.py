"""The generated tables and numbers of docs/RESULTS.md, from committed results.

    python results/results_tables.py [--doc docs/RESULTS.md] [--results results] [--check]

Reads the stride-2 study (results/study.csv, one row per model), its verdicts under the
committed plan (results/ablation_verdicts.csv, written by results/ablation.py), and the tables
results/analyze_study.py writes (best_params.csv, efit.csv, width_line.csv,
regnet_proposed_mnist5k.yaml); the per-space and pairwise statistics are computed here with the
public analysis API (`trained_fractions`, `compare_trained_pairs`, `compare_pairs`, seeded
bootstrap). Rewrites only the text between the doc's ``<!-- generated: NAME -->`` markers
(`analysis.docblocks`). It also reads the pilot power table (results/power_pilot.csv, written by
results/power_pilot.py) and the candidate instrument's cost (results/instrument/timing.csv),
and, once it has run, the confirmatory study (results/confirmatory.csv, exported by
``results/export.py study DIR confirmatory``) with its verdicts
(results/confirmatory_verdicts.csv, ``results/ablation.py``), its analyze_study.py tables
(results/confirmatory/, proposed space regnet_proposed_small.yaml). Wall times measured with
``/usr/bin/time`` are rows of results/wall_times.csv (one per timed run, by ``study``; the
last of a study is reported).
``--check`` writes nothing and exits 1 when a block is stale. Bad input
gets one line and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import docblocks
from analysis.pairs import compare_pairs, compare_trained_pairs
from analysis.trainability import trained_core, trained_fractions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
NAMES = {"anynetx_a": "AnyNetX_A", "anynetx_b": "AnyNetX_B", "anynetx_c": "AnyNetX_C",
         "anynetx_d": "AnyNetX_D", "anynetx_e": "AnyNetX_E", "regnetx": "RegNetX"}
SHORT = {"anynetx_a": "A", "anynetx_b": "B", "anynetx_c": "C", "anynetx_d": "D",
         "anynetx_e": "E", "regnetx": "RegNetX"}
N_BOOT, SEED = 10_000, 0
CONFIRMATORY, CONFIRMATORY_VERDICTS = "confirmatory.csv", "confirmatory_verdicts.csv"
CONFIRMATORY_TABLES, WALL_TIMES = "confirmatory", "wall_times.csv"
ABLATION_PROPOSED, CONFIRMATORY_PROPOSED = "regnet_proposed_mnist5k", "regnet_proposed_small"
BUDGET_S = 2 * 3600  # issue 12: the study in at most 2 hours on 2 cores
BEST_PARAMS = ["depth", "b", "g", "fit_wm", "fit_w0", "fit_wa", "w4", "wr3"]


@dataclass(frozen=True)
class Tables:
    """What results/analyze_study.py writes for one study (one folder)."""

    best: pd.DataFrame  # best_params.csv
    efit: pd.DataFrame  # efit.csv
    width_line: pd.DataFrame  # width_line.csv
    proposed: str  # the proposed space's YAML


@dataclass(frozen=True)
class Inputs:
    study: pd.DataFrame  # the analysis frame of results/study.csv (ablation.study_frame)
    verdicts: pd.DataFrame
    tables: Tables  # of the ablation, in results/
    power: pd.DataFrame  # results/power_pilot.csv
    timing: pd.DataFrame  # results/instrument/timing.csv
    confirmatory: pd.DataFrame | None  # results/confirmatory.csv (study_frame), once it has run
    confirmatory_verdicts: pd.DataFrame | None  # results/confirmatory_verdicts.csv
    confirmatory_tables: Tables | None  # results/confirmatory/, analyze_study.py's output
    walls: pd.DataFrame  # results/wall_times.csv: one row per run timed with /usr/bin/time


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"results: {path} is missing; see the module docstring for its source")
    return pd.read_csv(path)


def _tables(folder: Path, proposed: str) -> Tables:
    yaml = folder / f"{proposed}.yaml"
    if not yaml.is_file():
        raise ValueError(f"results: {yaml} is missing; run results/analyze_study.py")
    return Tables(best=_read(folder / "best_params.csv"), efit=_read(folder / "efit.csv"),
                  width_line=_read(folder / "width_line.csv"), proposed=yaml.read_text().strip())


def load(results: Path) -> Inputs:
    from ablation import study_frame

    if not (results / "study.csv").is_file():
        raise ValueError(f"results: {results / 'study.csv'} is missing; see the module "
                         "docstring for its source")
    ran = (results / CONFIRMATORY).is_file()
    return Inputs(study=study_frame(results / "study.csv"),
                  verdicts=_read(results / "ablation_verdicts.csv"),
                  tables=_tables(results, ABLATION_PROPOSED),
                  power=_read(results / "power_pilot.csv"),
                  timing=_read(results / "instrument" / "timing.csv"),
                  confirmatory=study_frame(results / CONFIRMATORY) if ran else None,
                  confirmatory_verdicts=(_read(results / CONFIRMATORY_VERDICTS)
                                         if ran else None),
                  confirmatory_tables=(_tables(results / CONFIRMATORY_TABLES,
                                               CONFIRMATORY_PROPOSED) if ran else None),
                  walls=_read(results / WALL_TIMES))


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def _num(v: float, digits: int = 3) -> str:
    return "–" if pd.isna(v) else f"{v:.{digits}g}".replace("-", "−")


def _p(p: float) -> str:
    return "–" if pd.isna(p) else (f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}")


def _count(v: float) -> str:
    return "–" if pd.isna(v) else str(int(v))


def _iv(v: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{_num(v, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def _verdicts(table: pd.DataFrame) -> str:
    rows = []
    for r in table.itertuples():
        verdict = r.verdict if r.verdict == "not resolved" else f"**{r.verdict}**"
        rows.append([f"`{r.id}`", str(r.text), str(r.estimand), _iv(r.estimate, r.low, r.high),
                     f"{_count(r.n_a)} / {_count(r.n_b)}", _p(r.p), _p(r.p_corrected),
                     _p(r.p_contra_corrected), verdict])
    return _table(["hypothesis", "the paper's claim", "estimand", "estimate [95 %]",
                   "n (a / b)", "p", "p (Holm)", "opposite p (Holm)", "verdict"], rows)


def _population(df: pd.DataFrame) -> str:
    frac = trained_fractions(df).set_index("design_space")
    rows = []
    for space in ORDER:
        g = df[df["design_space"] == space]
        e = g.loc[g["status"] == "ok", "error"].to_numpy(float)
        f = frac.loc[space]
        q1, q3 = np.percentile(e, [25, 75])
        rows.append([NAMES[space], str(len(g)), str(int((g["status"] != "ok").sum())),
                     f"{f['fraction']:.2f} [{f['low']:.2f}, {f['high']:.2f}]",
                     str(int((e > 20).sum())), f"{e.min():.2f}", f"{np.median(e):.2f}",
                     f"{e.mean():.1f}", f"{q1:.1f}–{q3:.1f}",
                     f"{g['wall_seconds'].median():.1f}"])
    return _table(["space", "n", "not finished", "trained (< 45 %) [95 % exact]", "> 20 %",
                   "min", "median", "mean", "IQR", "median s"], rows)


def _trained_pairs(df: pd.DataFrame) -> str:
    t = compare_trained_pairs(df, ORDER, pairing="consecutive")
    rows = [[f"{SHORT[r.a]} → {SHORT[r.b]}", f"{r.trained_a}/{r.n_a}", f"{r.trained_b}/{r.n_b}",
             _p(r.p), _p(r.p_holm)] for r in t.itertuples()]
    return _table(["a → b", "trained a", "trained b", "Fisher p", "p (Holm, 5 pairs)"], rows)


def _comparisons(df: pd.DataFrame) -> str:
    rows = []
    for view, frame in (("all models", df), ("trained core", trained_core(df))):
        t = compare_pairs(frame, ORDER, pairing="consecutive", n_boot=N_BOOT, seed=SEED)
        for r in t.itertuples():
            rows.append([f"{SHORT[r.a]} → {SHORT[r.b]}", view, f"{r.n_a} / {r.n_b}",
                         _iv(r.median_diff, r.median_diff_low, r.median_diff_high),
                         _iv(r.mean_diff, r.mean_diff_low, r.mean_diff_high), _p(r.p),
                         _p(r.p_holm)])
    return _table(["a → b", "models", "n", "median a − b [95 %]", "mean a − b [95 %]",
                   "Mann–Whitney p", "p (Holm, 5 pairs)"], rows)


def _cost(df: pd.DataFrame) -> str:
    med = df.groupby("design_space")["wall_seconds"].median().reindex(ORDER)
    return (f"per model, median {med.min():.1f} s ({NAMES[med.idxmin()]}) to {med.max():.1f} s "
            f"({NAMES[med.idxmax()]}) on one thread; the models' wall times sum to "
            f"{df['wall_seconds'].sum():,.0f} s")


def verdicts(inp: Inputs) -> str:
    return _verdicts(inp.verdicts)


def population(inp: Inputs) -> str:
    return _population(inp.study)


def trained_pairs(inp: Inputs) -> str:
    return _trained_pairs(inp.study)


def comparisons(inp: Inputs) -> str:
    return _comparisons(inp.study)


def cost(inp: Inputs) -> str:
    return _cost(inp.study)


def _confirmatory(render: Callable[[Inputs], str]) -> Callable[[Inputs], str]:
    """A block of the confirmatory study: `render` once the study is exported, else a line
    saying that it has not run."""
    def block(inp: Inputs) -> str:
        if inp.confirmatory is None:
            return (f"*Not run yet: results/{CONFIRMATORY} does not exist (\"How to reproduce\" "
                    "says how it is made).*")
        return render(inp)
    return block


def _best(t: Tables) -> str:
    b = t.best.set_index("design_space")
    rows = [[p, *(str(b.loc[s, p]) for s in ORDER)] for p in BEST_PARAMS]
    return _table(["param", *(SHORT[s] for s in ORDER)], rows)


def _efit(t: Tables) -> str:
    rows = []
    for r in t.efit.set_index("design_space").loc[ORDER].itertuples():
        rows.append([NAMES[r.Index], f"{r.mean_e_fit:.2f}", f"{r.median_e_fit:.2f}",
                     f"{r.mean_e_fit_best_quarter:.2f}",
                     f"{_num(r.spearman_e_fit_error, 2)} (p = {_p(r.p)})"])
    return _table(["space", "mean e_fit", "median e_fit", "mean e_fit, best quarter",
                   "Spearman(e_fit, error)"], rows)


def _width_line(t: Tables) -> str:
    r = t.width_line.iloc[0]
    return (f"the {int(r['top'])} best {NAMES[r['design_space']]} models follow w_j ≈ "
            f"c·(j+1) with c = {r['slope']:.1f} (least squares through the origin; median depth "
            f"{r['median_depth']:.0f} blocks)")


def _proposed(t: Tables) -> str:
    return f"```yaml\n{t.proposed}\n```"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    m, sec = divmod(round(seconds), 60)
    return f"{m} min {sec:02d} s"


def _wall(study: str, budget_s: float | None = None) -> Callable[[Inputs], str]:
    """The last timed run of `study` in results/wall_times.csv, judged against `budget_s`."""
    def block(inp: Inputs) -> str:
        rows = inp.walls[inp.walls["study"] == study]
        if rows.empty:
            return f"not measured (no {study!r} row in results/{WALL_TIMES})"
        r = rows.iloc[-1]
        secs = float(r["wall_seconds"])
        budget = "" if budget_s is None else (
            f", {'within' if secs <= budget_s else 'over'} the {budget_s / 3600:g} h budget")
        return (f"{int(r['models'])} models and the report in {_duration(secs)} ({secs:,.0f} s, "
                f"`/usr/bin/time`){budget}; {r['machine']}")
    return block


def _paper(inp: Inputs) -> str:
    """The plan's hypotheses side by side: the confirmatory study, then the ablation."""
    ablation = inp.verdicts.set_index("id")
    rows = []
    for r in inp.confirmatory_verdicts.itertuples():
        here = r.verdict if r.verdict == "not resolved" else f"**{r.verdict}**"
        abl = ablation.loc[r.id, "verdict"] if r.id in ablation.index else "–"
        p = (f"opposite p (Holm) {_p(r.p_contra_corrected)}" if r.verdict == "contradicted"
             else f"p (Holm) {_p(r.p_corrected)}")
        rows.append([f"`{r.id}`", str(r.text), here, f"{_iv(r.estimate, r.low, r.high)}; {p}",
                     abl])
    return _table(["hypothesis", "the paper's claim", "confirmatory study",
                   "its estimate [95 %]; the p that decides", "geometry ablation"], rows)


def power_pilot(inp: Inputs) -> str:
    rows = []
    for r in inp.power.to_dict("records"):
        n = r["n"]
        at = "–" if pd.isna(n) else f"{r[f'power_{int(n)}']:.2f}"
        rows.append([NAMES[r["design_space"]], str(int(r["pilot_n"])), _count(n), at])
    return _table(["space (pilot)", "pilot models", "n per space for power ≥ 0.8", "power at n"],
                  rows)


def budget(inp: Inputs) -> str:
    n = int(inp.power["n"].max())
    regime = inp.power["regime"].iloc[0]
    t = inp.timing[(inp.timing["scale"] == "input")
                   & (inp.timing["regime_name"] == regime)]["wall_seconds"].median()
    spaces = len(ORDER)
    hours = n * spaces * t / 2 / 3600
    return (f"n = {n} per space (the largest above) × {spaces} spaces at the candidate's median "
            f"{t:.1f} s per model on one thread, two jobs on two cores: about {hours:.1f} h")


BLOCKS: dict[str, Callable[[Inputs], str]] = {
    "verdicts": verdicts, "population": population, "trained-pairs": trained_pairs,
    "comparisons": comparisons, "best": lambda inp: _best(inp.tables),
    "efit": lambda inp: _efit(inp.tables), "width-line": lambda inp: _width_line(inp.tables),
    "proposed": lambda inp: _proposed(inp.tables), "cost": cost, "power-pilot": power_pilot,
    "budget": budget,
    "confirmatory-verdicts": _confirmatory(lambda inp: _verdicts(inp.confirmatory_verdicts)),
    "confirmatory-population": _confirmatory(lambda inp: _population(inp.confirmatory)),
    "confirmatory-trained-pairs": _confirmatory(lambda inp: _trained_pairs(inp.confirmatory)),
    "confirmatory-comparisons": _confirmatory(lambda inp: _comparisons(inp.confirmatory)),
    "confirmatory-cost": _confirmatory(lambda inp: _cost(inp.confirmatory)),
    "confirmatory-wall": _confirmatory(_wall("confirmatory", BUDGET_S)),
    "ablation-wall": _wall("ablation"),
    "confirmatory-best": _confirmatory(lambda inp: _best(inp.confirmatory_tables)),
    "confirmatory-efit": _confirmatory(lambda inp: _efit(inp.confirmatory_tables)),
    "confirmatory-width-line": _confirmatory(lambda inp: _width_line(inp.confirmatory_tables)),
    "confirmatory-proposed": _confirmatory(lambda inp: _proposed(inp.confirmatory_tables)),
    "paper-comparison": _confirmatory(_paper)}


def main(argv: list[str] | None = None) -> int:
    return docblocks.cli(argv, prog="results_tables.py", description=__doc__.split("\n\n")[0],
                         doc=ROOT / "docs" / "RESULTS.md", results=HERE, load=load,
                         blocks=BLOCKS)


if __name__ == "__main__":
    sys.exit(main())
