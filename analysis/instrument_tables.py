"""The generated tables and numbers of docs/REGIME.md, from committed results
(``dse-study instrument docs [--check]``).

`load` reads, under the results folder: ``fidelity.csv`` (the AnyNetX_A fidelity check of the
earlier geometry, one row per pairing of runs), ``instrument/small_geometry.csv`` (one row per
run of the instrument study: the proxy and the 4x reference under two training seeds),
``instrument/screen.csv`` (the screened candidate regimes, same columns),
``instrument/timing.csv`` (runs timed on a quiet machine) and ``study.csv`` (the stride-2 study
at the paper's geometry). Each of `BLOCKS` renders one ``<!-- generated: NAME -->`` block
(`analysis.docblocks`) from them with the rules of `analysis.instrument`; the per-space fidelity
table is `analysis.fidelity.fidelity_by_space` (seeded bootstrap), exactly what
``dse-fidelity`` prints for the same runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import fashion_tables
from . import instrument as ins
from .docblocks import read_csv, space_name, table
from .fidelity import Targets
from .trainability import trained_mask

SOURCE = "export it first (docs/REGIME.md)"


@dataclass(frozen=True)
class Inputs:
    """The committed results that docs/REGIME.md is generated from."""

    history: pd.DataFrame  # fidelity.csv
    study: pd.DataFrame  # study.csv: the stride-2 (paper geometry) study
    runs: pd.DataFrame  # instrument/small_geometry.csv
    timing: pd.DataFrame  # instrument/timing.csv
    first: ins.Judged  # the first candidate (the proxy) against the reference
    chosen: ins.Judged | None  # the regime the screen's rule chose, when it is not the proxy
    screen: pd.DataFrame  # `instrument.screen_summary`: one row per regime, the proxy first
    screen_runs: pd.DataFrame  # instrument/screen.csv
    fashion: fashion_tables.Inputs  # fashion/screen.csv: the Fashion-MNIST instrument


def load(results: Path) -> Inputs:
    """The CSVs under `results`, the proxy judged and the screen's choice made (seeded)."""
    runs = read_csv(results / "instrument" / "small_geometry.csv", SOURCE)
    screened = read_csv(results / "instrument" / "screen.csv", SOURCE)
    timing = read_csv(results / "instrument" / "timing.csv", SOURCE)
    summary = ins.screen_summary(runs, screened)
    chosen, _ = ins.screen_choice(summary, ins.regime_seconds(timing, summary["regime"]))
    return Inputs(history=read_csv(results / "fidelity.csv", SOURCE),
                  study=read_csv(results / "study.csv", SOURCE), runs=runs, timing=timing,
                  first=ins.judge(runs, runs, ins.PROXY),
                  chosen=(None if chosen in (None, ins.PROXY)
                          else ins.judge(runs, screened, chosen)),
                  screen=summary, screen_runs=screened,
                  fashion=fashion_tables.load(results))


def _iv(v: float, lo: float, hi: float, digits: int = 2) -> str:
    if pd.isna(v):
        return "–"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


# -- the earlier check (issue 7: AnyNetX_A, paper geometry) -------------------------------------
def history(inp: Inputs) -> str:
    rows = []
    for _, r in inp.history.iterrows():
        ref, other = (s.strip() for s in str(r["comparison"]).split(" vs "))
        rows.append([str(r["candidate"]), f"`{ref}`", f"`{other}`", str(int(r["n"])),
                     f"{r['trained_ref']:.2f}", f"{r['trained_other']:.2f}",
                     _iv(r["spearman"], r["spearman_low"], r["spearman_high"]),
                     f"{r['median_seconds_ref']:.1f}"])
    return table(["candidate", "first runs", "second runs", "N", "trained (first)",
                  "trained (second)", "Spearman ρ [95 %]", "median s (first)"], rows)


# -- the instrument study -----------------------------------------------------------------------
def progress(inp: Inputs) -> str:
    ref = inp.runs[inp.runs["regime_name"] == ins.REFERENCE]
    proxy = inp.runs[inp.runs["regime_name"] == ins.PROXY]
    planned = ins.N_MIN * len(ins.ORDER) * 2  # two training seeds
    return (f"{len(proxy)} proxy runs and {len(ref)} reference runs of {planned} each; "
            f"{ins.models_with_reference(inp.runs)} models per space have both reference "
            "seeds so far")


def _not_yet(j: ins.Judged) -> str | None:
    if j.n >= ins.N_MIN:
        return None
    return (f"*Not shown yet: {j.n} of {ins.N_MIN} models per space have both seeds of "
            f"`{j.name}` and of the reference; intervals over fewer models say nothing.*")


def _spaces(j: ins.Judged) -> str:
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for _, r in j.spaces.iterrows():
        rows.append([space_name(r["design_space"]), str(int(r["n"])),
                     f"{r['trained_s0']:.2f} / {r['trained_s1']:.2f} / {r['trained_ref']:.2f}",
                     _iv(r["rho_ref_s0"], r["rho_ref_s0_low"], r["rho_ref_s0_high"]),
                     _iv(r["rho_ref_s1"], r["rho_ref_s1_low"], r["rho_ref_s1_high"]),
                     _iv(r["rho_seeds"], r["rho_seeds_low"], r["rho_seeds_high"]),
                     _iv(r["rho_ref_seeds"], r["rho_ref_seeds_low"], r["rho_ref_seeds_high"])])
    return table(["space", "N", "trained: s0 / s1 / reference", "ρ(s0, reference) [95 %]",
                  "ρ(s1, reference) [95 %]", "ρ(s0, s1) [95 %]",
                  "ρ(reference s0, reference s1) [95 %]"], rows)


def _pairs(j: ins.Judged) -> str:
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for _, r in j.pairs.iterrows():
        same = "–" if pd.isna(r["same_sign"]) or r["same_sign"] is None else (
            "yes" if bool(r["same_sign"]) else "**no**")
        rows.append([f"{space_name(r['a'])} → {space_name(r['b'])}",
                     _iv(r["diff_proxy"], r["diff_proxy_low"], r["diff_proxy_high"]),
                     _iv(r["diff_ref"], r["diff_ref_low"], r["diff_ref_high"]),
                     "yes" if r["resolved"] else "no", same])
    return table(["pair (a → b)", f"median error b − a, `{j.name}` s0 [95 %]",
                  "the same, reference [95 %]", "reference resolves", "same sign"], rows)


def _targets(j: ins.Judged, seconds: pd.Series) -> str:
    """`instrument.check` of `j` and its quiet-machine cost, one row per criterion."""
    rows = []
    for r in ins.check(j, seconds).itertuples():
        if r.holds is None:
            rows.append([r.criterion, r.target, "–",
                         f"not yet judged (N = {j.n} of {ins.N_MIN})", "–"])
            continue
        space = None if pd.isna(r.worst_space) else r.worst_space
        where = "" if space is None else f" ({space_name(space)})"
        value = f"{r.worst:.0f}" if space is None else f"{r.worst:.2f}"
        rows.append([r.criterion, r.target, value + where, "yes" if r.holds else "**no**",
                     _missed(r.missed_by, r.criterion)])
    return table(["criterion (worst space)", "target", "measured", "holds?", "missed by"], rows)


def _missed(gap: float, criterion: str) -> str:
    """`check_targets`' ``missed_by`` as the table shows it."""
    if pd.isna(gap):
        return "–"
    if criterion.startswith("median seconds"):
        return f"{gap:.2f} ({100 * gap / Targets().seconds:.0f} % over)"
    return f"{gap:.0f} pairs" if criterion.startswith("consecutive") else f"{gap:.2f}"


def spaces(inp: Inputs) -> str:
    return _spaces(inp.first)


def pairs(inp: Inputs) -> str:
    return _pairs(inp.first)


def targets(inp: Inputs) -> str:
    return _targets(inp.first, ins.median_seconds(inp.timing, "input"))


def _chosen(render: Callable[[Inputs, ins.Judged], str]) -> Callable[[Inputs], str]:
    """A block about the regime the screen chose: `render` of it, or why there is none."""
    def block(inp: Inputs) -> str:
        if inp.chosen is not None:
            return render(inp, inp.chosen)
        if "score" not in inp.screen:
            return "*Not chosen yet: the screen is still running.*"
        return f"*The screen kept `{ins.PROXY}`: its tables are the ones above.*"
    return block


def chosen_name(inp: Inputs) -> str:
    if inp.chosen is not None:
        return f"`{inp.chosen.name}`"
    return "not chosen yet" if "score" not in inp.screen else f"`{ins.PROXY}`"


def timing(inp: Inputs) -> str:
    rows = []
    for (regime, scale), t in inp.timing.groupby(["regime_name", "scale"], sort=False):
        by = t.groupby("design_space")
        cells = []
        for space in ins.ORDER:
            if space not in by.groups:
                cells.append("–")
                continue
            g = by.get_group(space)
            cells.append(f"{g['wall_seconds'].median():.1f} (n={len(g)}, "
                         f"{g['flops'].median() / 1e6:.1f} MF)")
        rows.append([f"`{regime}`", f"`{scale}`", *cells, f"{t['wall_seconds'].median():.1f}"])
    return table(["regime", "window rule", *(space_name(s) for s in ins.ORDER), "all"], rows)


def seed_spread(inp: Inputs) -> str:
    """Per space: the spread of the seed-averaged proxy errors across models (interquartile
    range) against one model's seed-to-seed difference (median absolute), robust to the few
    models that train slowly; what bounds ρ between seeds."""
    both = ins.seed_pairs(inp.runs, ins.PROXY)
    rho = inp.first.spaces.set_index("design_space")
    rows = []
    for space in ins.ORDER:
        g = both[both["design_space"] == space]
        mean = (g["error_0"] + g["error_1"]) / 2
        spread = float(np.subtract(*np.percentile(mean, [75, 25])))
        noise = ins.seed_noise(g)
        r = rho.loc[space]
        rows.append([space_name(space), str(len(g)), f"{spread:.2f}", f"{noise:.2f}",
                     f"{spread / noise:.1f}",
                     _iv(r["rho_seeds"], r["rho_seeds_low"], r["rho_seeds_high"])])
    return table(["space", "N", "IQR across models of the seed-mean error (points)",
                  "median absolute seed 0 − seed 1 difference of one model (points)", "ratio",
                  "ρ(proxy s0, proxy s1) [95 %]"], rows)


def _space_order(space: str) -> tuple[bool, str]:
    return space == "regnetx", space


def geometry(inp: Inputs) -> str:
    """Per space, the trained fraction under the proxy at the paper's geometry (the stride-2
    study, one seed) and at the small-image geometry (the instrument study, each seed)."""
    paper = inp.study.assign(trained=trained_mask(inp.study, ins.CLASSES)).groupby(
        "design_space")["trained"]
    small = inp.runs[inp.runs["regime_name"] == ins.PROXY]
    small = small.assign(trained=trained_mask(small, ins.CLASSES)).groupby(
        ["design_space", "train_seed"])["trained"]
    rows = []
    for space in sorted(set(ins.ORDER) | set(inp.study["design_space"]), key=_space_order):
        p = paper.get_group(space) if space in paper.groups else pd.Series(dtype=bool)
        cells = [f"{p.mean():.2f} (n={len(p)})" if len(p) else "–"]
        for seed in (0, 1):
            key = (space, seed)
            g = small.get_group(key) if key in small.groups else pd.Series(dtype=bool)
            cells.append(f"{g.mean():.2f} (n={len(g)})" if len(g) else "–")
        rows.append([space_name(space), *cells])
    return table(["space", "paper geometry (stride-2 stem), seed 0",
                  "small geometry (stride-1 stem), seed 0", "small geometry, seed 1"], rows)


# -- the screen ----------------------------------------------------------------------------------
def screen(inp: Inputs) -> str:
    """The screen's table and the verdict of its rule (`instrument.screen_choice`)."""
    summary = inp.screen
    planned = ins.SCREEN_MODELS * len(ins.ORDER)
    seconds = ins.regime_seconds(inp.timing, summary["regime"])
    chosen, reasons = ins.screen_choice(summary, seconds)
    rows = []
    for r in summary.to_dict("records"):
        name = r["regime"]
        if "score" not in summary:
            rows.append([f"`{name}`", ins.SCREEN.get(name, "–"), f"{r['models']} of {planned}",
                         *["–"] * (len(ins.ORDER) + 5)])
            continue
        secs = seconds[name]
        rows.append([f"`{name}`", ins.SCREEN.get(name, "(the proxy)"), str(r["models"]),
                     *(f"{r[f'rho_{sp}']:.2f}" for sp in ins.ORDER), f"**{r['score']:.2f}**",
                     f"{r['seeds_mean']:.2f}", f"{r['trained_min']:.2f}",
                     "not timed" if np.isnan(secs) else f"{secs:.1f}",
                     "–" if name == ins.PROXY else reasons.get(name, "–")])
    out = table(["regime", "change", "models",
                 *(f"ρ(·, ref.) {space_name(sp)}" for sp in ins.ORDER), "score",
                 "mean ρ(s0, s1)", "trained (least)", "median s, idle (worst space)", "rule"],
                rows)
    verdict = ("*Not decided yet: the screen is still running.*" if chosen is None else
               f"**Chosen by the rule: `{chosen}`.**")
    return f"{out}\n\n{verdict}"


# -- the attenuation ceiling --------------------------------------------------------------------
def _ceiling(j: ins.Judged) -> str:
    """Per space, how far the reproducibility of the two regimes bounds ρ(proxy, reference)
    (`instrument.attenuation_bound`), beside the measured ρ."""
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for r in j.spaces.to_dict("records"):
        proxy_rel, ref_r = r["rho_seeds"], r["rho_ref_seeds"]
        ref_rel, bound = ins.attenuation_bound(proxy_rel, ref_r)
        seen = (r["rho_ref_s0"] + r["rho_ref_s1"]) / 2
        rows.append([space_name(r["design_space"]), f"{proxy_rel:.2f}", f"{ref_r:.2f}",
                     "–" if np.isnan(ref_rel) else f"{ref_rel:.2f}",
                     "–" if np.isnan(bound) else f"{bound:.2f}", f"{seen:.2f}"])
    return table(["space", "ρ(proxy s0, s1)", "ρ(reference s0, s1)",
                  "reliability of the two-seed reference mean", "ceiling of ρ(proxy, reference)",
                  "measured ρ(proxy, reference), mean of the two proxy seeds"], rows)


def ceiling(inp: Inputs) -> str:
    return _ceiling(inp.first)


def ceiling_below(inp: Inputs) -> str:
    """The spaces whose ceiling is below the ρ(proxy, reference) target
    (`instrument.below_ceiling`)."""
    if (wait := _not_yet(inp.first)) is not None:
        return wait.strip("*")
    low = [space_name(sp) for sp in ins.below_ceiling(inp.first)]
    return ", ".join(low) if low else "none"


def determinism(inp: Inputs) -> str:
    """The quiet timing runs repeat runs of the instrument study and of the screen under
    training seed 0 (same config and seeds, other code version, other load): how many errors
    agree exactly."""
    t = inp.timing[inp.timing["scale"] == "input"]
    r = pd.concat([inp.runs, inp.screen_runs], ignore_index=True)
    r = r[r["train_seed"] == 0]
    m = t.merge(r, on=["regime_name", *ins.KEYS], suffixes=("_t", "_r"))
    return (f"{int((m['error_t'] == m['error_r']).sum())} of {len(m)} errors are identical "
            "to the digit")


BLOCKS: dict[str, Callable[[Inputs], str]] = {
    "history": history, "instrument-progress": progress, "instrument-spaces": spaces,
    "instrument-pairs": pairs, "instrument-targets": targets, "instrument-timing": timing,
    "instrument-spread": seed_spread, "determinism": determinism, "screen": screen,
    "geometry": geometry,
    "chosen-spaces": _chosen(lambda inp, j: _spaces(j)),
    "chosen-pairs": _chosen(lambda inp, j: _pairs(j)),
    "chosen-targets": _chosen(
        lambda inp, j: _targets(j, ins.median_seconds(inp.timing, "input", j.name))),
    "chosen-name": chosen_name, "instrument-ceiling": ceiling,
    "ceiling-below": ceiling_below,
    # the Fashion-MNIST instrument, on the same page (analysis/fashion_tables.py)
    **{name: (lambda inp, f=f: f(inp.fashion)) for name, f in fashion_tables.BLOCKS.items()}}
